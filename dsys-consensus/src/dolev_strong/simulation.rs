//! Dolev–Strong in the simulator: a [`Cluster`] description that builds
//! every node's configuration, the scripted traitor [`plans`], the cost
//! formulas, and `dsys sim dolev-strong`.

use std::time::Duration;

use dsys_core::model::{ModelOptions, ModelVerdict};
use dsys_core::scenario::{
    run_scenario, Algorithm, Check, DefectInfo, Outcome, Property, SimOptions, Verdict,
};
use dsys_core::sim::Simulation;
use dsys_core::NodeId;

use super::chain::{Keyring, NodeKey, Value};
use super::node::{Defect, DolevStrong, DolevStrongConfig, Traitor};
use super::properties::{agreement, records, termination, validity};
use crate::Result;

/// One whole broadcast: how many nodes, how many traitors tolerated, who
/// sends what, and which nodes are traitors. Builds every node's
/// configuration, with keys derived from [`Cluster::key_seed`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    /// N.
    pub nodes: usize,
    /// f, below N.
    pub faults: u32,
    /// The sender.
    pub sender: NodeId,
    /// The sender's value.
    pub value: Value,
    /// The length of a round.
    pub round_length: Duration,
    /// The seed every key is derived from.
    pub key_seed: u64,
    /// The broadcast's instance number.
    pub instance: u64,
    /// The traitors and their strategies.
    pub traitors: Vec<(NodeId, Traitor)>,
    /// A deliberate bug in every correct node, if any.
    pub defect: Option<Defect>,
}

impl Cluster {
    /// `nodes` correct nodes tolerating `faults` traitors: n0 sends 1,
    /// rounds of [`ROUND_LENGTH`], keys from seed 0.
    pub fn new(nodes: usize, faults: u32) -> Self {
        Cluster {
            nodes,
            faults,
            sender: NodeId(0),
            value: 1,
            round_length: ROUND_LENGTH,
            key_seed: 0,
            instance: 0,
            traitors: Vec::new(),
            defect: None,
        }
    }

    /// This cluster with `plan`'s traitors.
    pub fn with_plan(mut self, plan: &Plan) -> Self {
        self.traitors = plan.traitors.clone();
        self
    }

    /// Node `id`'s key.
    pub fn key(&self, id: NodeId) -> NodeKey {
        NodeKey::derived(self.key_seed, id)
    }

    /// Node `id`'s traitor strategy, if it is a traitor.
    pub fn traitor(&self, id: NodeId) -> Option<&Traitor> {
        self.traitors
            .iter()
            .find(|(t, _)| *t == id)
            .map(|(_, strategy)| strategy)
    }

    /// Node `id`'s configuration.
    pub fn config(&self, id: NodeId) -> DolevStrongConfig {
        self.config_with(id, Keyring::derived(self.key_seed, self.nodes))
    }

    fn config_with(&self, id: NodeId, keyring: Keyring) -> DolevStrongConfig {
        let traitor = self.traitor(id).cloned();
        DolevStrongConfig {
            value: self.value,
            round_length: self.round_length,
            instance: self.instance,
            defect: if traitor.is_none() { self.defect } else { None },
            traitor,
            ..DolevStrongConfig::new(self.key(id), keyring, self.sender, self.faults)
        }
    }

    /// A node factory for the simulator, every configuration checked first.
    pub fn factory(&self) -> Result<impl FnMut(NodeId) -> DolevStrong + 'static + use<>> {
        let keyring = Keyring::derived(self.key_seed, self.nodes);
        let nodes: Vec<DolevStrong> = (0..self.nodes as u32)
            .map(|i| DolevStrong::new(self.config_with(NodeId(i), keyring.clone())))
            .collect::<Result<_>>()?;
        Ok(move |id: NodeId| nodes[id.index()].clone())
    }

    /// The end of round f + 1: when every correct node has decided.
    pub fn deadline(&self) -> Duration {
        self.round_length * (self.faults + 1)
    }

    /// Agreement, Validity and Termination over a finished run.
    pub fn judge(&self, sim: &Simulation<DolevStrong>) -> [(&'static str, Result<(), String>); 3] {
        let records = records(sim);
        [
            (AGREEMENT, agreement(&records)),
            (VALIDITY, validity(self.sender, self.value, &records)),
            (TERMINATION, termination(self.deadline(), &records)),
        ]
    }

    /// Messages sent by correct nodes (traitors' are their own business).
    pub fn correct_messages(&self, sim: &Simulation<DolevStrong>) -> u64 {
        sim.ids()
            .filter(|&id| self.traitor(id).is_none())
            .filter_map(|id| sim.metrics().node(id))
            .map(|m| m.sent)
            .sum()
    }
}

/// The round length `dsys sim dolev-strong` uses: twice the simulator's
/// default maximum latency (10 ms).
pub const ROUND_LENGTH: Duration = Duration::from_millis(20);

/// The name of the Agreement property in reports.
pub const AGREEMENT: &str = "Agreement";
/// The name of the Validity property in reports.
pub const VALIDITY: &str = "Validity";
/// The name of the termination property in reports.
pub const TERMINATION: &str = "Termination in f + 1 rounds";

/// Messages of a run with a correct sender and no traitor: N − 1 in round
/// 1, and for f ≥ 1 (N − 1)(N − 2) relays in round 2: (N − 1)².
pub fn messages_all_correct(nodes: usize, faults: u32) -> u64 {
    let n = nodes as u64;
    if n == 0 {
        0
    } else if faults == 0 {
        n - 1
    } else {
        (n - 1) * (n - 1)
    }
}

/// The most messages correct nodes send in any run: the sender's N − 1,
/// and at most two relays of at most N − 2 messages per other node.
pub fn messages_bound(nodes: usize, faults: u32) -> u64 {
    let n = nodes as u64;
    if n == 0 {
        0
    } else if faults == 0 {
        n - 1
    } else {
        (n - 1) + 2 * (n - 1) * n.saturating_sub(2)
    }
}

/// A scripted cast of traitors: which nodes, doing what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// What it is, in a few words.
    pub name: String,
    /// The traitors and their strategies.
    pub traitors: Vec<(NodeId, Traitor)>,
}

/// Every scripted Byzantine strategy for `cluster`'s N and f, each with at
/// most f traitors: the sender alone (silent, equivocating, reaching n1
/// only, forging, delaying, double-signing), the sender and f − 1 relays
/// revealing a second value late (in round f, and in round f + 1), f
/// relays behind a correct sender (silent, forging, delaying,
/// double-signing), and an equivocating sender with f − 1 mixed relays.
/// Relay traitors are the highest-numbered nodes; n1 stays correct
/// whenever a plan needs a correct target. The sender must be n0.
///
/// ```
/// use dsys_consensus::dolev_strong::simulation::{plans, Cluster};
/// assert_eq!(plans(&Cluster::new(4, 0)).len(), 1, "f = 0: no traitor at all");
/// assert!(plans(&Cluster::new(3, 1)).iter().all(|p| p.traitors.len() <= 1));
/// ```
pub fn plans(cluster: &Cluster) -> Vec<Plan> {
    assert_eq!(
        cluster.sender,
        NodeId(0),
        "the scripted plans assume n0 sends"
    );
    let (nodes, faults, value) = (cluster.nodes, cluster.faults, cluster.value);
    let plan = |name: String, traitors: Vec<(NodeId, Traitor)>| Plan { name, traitors };
    let mut plans = vec![plan("no traitors".into(), Vec::new())];
    let f = faults as usize;
    if f == 0 || nodes < 2 {
        return plans;
    }
    let sender = NodeId(0);
    let other = value.wrapping_add(1);
    // The last k nodes (never n0).
    let last = |k: usize| {
        (nodes - k..nodes)
            .map(|i| NodeId(i as u32))
            .collect::<Vec<_>>()
    };
    let relay_names = |k: usize| {
        last(k)
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    for (what, strategy) in [
        ("silent", Traitor::Silent),
        ("equivocating", Traitor::Equivocate { other }),
        ("n1-only", Traitor::OnlyTo(vec![NodeId(1)])),
        ("forging", Traitor::Forge),
        ("delaying", Traitor::Delay),
        ("double-signing", Traitor::RepeatSigner),
    ] {
        plans.push(plan(format!("{what} sender"), vec![(sender, strategy)]));
    }
    // A coalition of the sender and f − 1 relays reveals a second value to
    // n1 alone, in round f (in time) and in round f + 1 (too late).
    let coalition: Vec<NodeId> = last(f - 1);
    for (when, round) in [("in round f", faults), ("in round f + 1", faults + 1)] {
        let mut traitors = vec![(
            sender,
            Traitor::LateReveal {
                other,
                coalition: coalition.iter().map(|&id| cluster.key(id)).collect(),
                to: NodeId(1),
                round,
            },
        )];
        traitors.extend(coalition.iter().map(|&id| (id, Traitor::Silent)));
        plans.push(plan(
            format!(
                "sender and {} traitor relay(s) reveal a second value {when}",
                f - 1
            ),
            traitors,
        ));
    }
    let relays = f.min(nodes - 1);
    for (what, strategy) in [
        ("silent", Traitor::Silent),
        ("forging", Traitor::Forge),
        ("delaying", Traitor::Delay),
        ("double-signing", Traitor::RepeatSigner),
    ] {
        plans.push(plan(
            format!("correct sender, {what} relays {}", relay_names(relays)),
            last(relays)
                .into_iter()
                .map(|id| (id, strategy.clone()))
                .collect(),
        ));
    }
    if f >= 2 {
        let mixed = [
            Traitor::Silent,
            Traitor::Forge,
            Traitor::Delay,
            Traitor::RepeatSigner,
        ];
        let mut traitors = vec![(sender, Traitor::Equivocate { other })];
        traitors.extend(
            last(f - 1)
                .into_iter()
                .zip(mixed.iter().cycle())
                .map(|(id, t)| (id, t.clone())),
        );
        plans.push(plan(
            format!(
                "equivocating sender, relays {} silent/forging/delaying/double-signing",
                relay_names(f - 1)
            ),
            traitors,
        ));
    }
    plans
}

/// `dsys sim dolev-strong`: N from `--nodes`; the seed picks f = seed mod N
/// and a traitor plan from [`plans`] (the ((seed / N) mod count)-th);
/// Agreement, Validity and Termination are judged at the end.
pub const ALGORITHM: Algorithm = Algorithm {
    name: "dolev-strong",
    summary: "authenticated Byzantine broadcast: ed25519 signature chains over f + 1 synchronous rounds, any f < N",
    run: simulate,
    settings: &[],
    model: Some(check_model),
    defects: &[
        DefectInfo {
            name: "no-relay",
            breaks: "correct nodes never relay what they accept: what a traitorous sender told one node stays with it (Agreement; dsys check dolev-strong finds it in 8 steps)",
        },
        DefectInfo {
            name: "accepts-short-chains",
            breaks: "a chain with one signature is accepted in any round: a traitor's late chain reaches one correct node in the last round, too late to relay (Agreement; dsys check dolev-strong finds it in 8 steps)",
        },
    ],
};

/// The defect `name` asks for.
fn defect(name: Option<&str>) -> dsys_core::Result<Option<Defect>> {
    Ok(match ALGORITHM.defect_named(name)? {
        Some("no-relay") => Some(Defect::NoRelay),
        Some(_) => Some(Defect::AcceptsShortChains),
        None => None,
    })
}

/// `dsys check dolev-strong`.
fn check_model(options: &ModelOptions) -> dsys_core::Result<ModelVerdict> {
    super::model::check_model(options, defect(options.defect.as_deref())?)
}

/// The cluster `dsys sim dolev-strong` runs for `options`.
pub fn scenario_cluster(options: &SimOptions) -> (Cluster, Plan) {
    let n = options.nodes.max(1);
    let faults = (options.seed % n as u64) as u32;
    let all = plans(&Cluster::new(n, faults));
    let plan = all[((options.seed / n as u64) % all.len() as u64) as usize].clone();
    (Cluster::new(n, faults).with_plan(&plan), plan)
}

/// Why `options` break the algorithm's assumptions, if they do.
fn broken_assumption(cluster: &Cluster, options: &SimOptions) -> Option<String> {
    let faulty = cluster.traitors.len()
        + options
            .crashes
            .iter()
            .chain(&options.restarts)
            .map(|c| c.node)
            .filter(|&n| cluster.traitor(n).is_none())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
    if options.loss > 0.0 {
        Some("loss breaks synchrony: a lost message is an omission fault".into())
    } else if !options.partitions.is_empty() {
        Some("a partition breaks synchrony".into())
    } else if options.latency.max >= cluster.round_length {
        Some(format!(
            "latency up to {:?} is not below the round length {:?}: synchrony is broken",
            options.latency.max, cluster.round_length
        ))
    } else if faulty > cluster.faults as usize {
        Some(format!(
            "{faulty} faulty nodes (traitors, crashed or restarted) but f = {}",
            cluster.faults
        ))
    } else {
        None
    }
}

/// Judges one property at the end of a `dsys sim` run: holds, violated,
/// or, when the options break an assumption, skipped with what happened.
fn verdict(sim: &Simulation<DolevStrong>, options: &SimOptions, property: usize) -> Verdict {
    let (cluster, _) = scenario_cluster(options);
    let (_, result) = cluster.judge(sim)[property].clone();
    match (result, broken_assumption(&cluster, options)) {
        (Ok(()), _) => Verdict::Holds,
        (Err(why), None) => Verdict::Violated(why),
        (Err(why), Some(assumption)) => {
            Verdict::Skipped(format!("outside the assumptions, {assumption}: {why}"))
        }
    }
}

fn decisions(sim: &Simulation<DolevStrong>, options: &SimOptions) -> String {
    let (cluster, _) = scenario_cluster(options);
    let decisions: Vec<String> = records(sim)
        .iter()
        .map(|r| {
            let d = r.decision.map_or("-".to_string(), |(d, _)| d.to_string());
            let who = if cluster.traitor(r.node).is_some() {
                " (traitor)"
            } else if !r.correct {
                " (crashed)"
            } else {
                ""
            };
            format!("{}:{d}{who}", r.node)
        })
        .collect();
    decisions.join(" ")
}

fn message_count(sim: &Simulation<DolevStrong>, options: &SimOptions) -> String {
    let (cluster, plan) = scenario_cluster(options);
    let (n, f) = (cluster.nodes, cluster.faults);
    let measured = cluster.correct_messages(sim);
    let faults = if options.has_faults() {
        " (crashes and network faults change the count)"
    } else {
        ""
    };
    if plan.traitors.is_empty() {
        let name = if f == 0 { "N − 1" } else { "(N − 1)²" };
        let formula = messages_all_correct(n, f);
        let relation = if measured == formula { "=" } else { "≠" };
        format!("{measured} {relation} {name} = {formula} with no traitor{faults}")
    } else {
        let bound = messages_bound(n, f);
        let relation = if measured <= bound { "≤" } else { ">" };
        format!("{measured} {relation} (N − 1) + 2(N − 1)(N − 2) = {bound}{faults}")
    }
}

fn simulate(options: &SimOptions) -> dsys_core::Result<Outcome> {
    let (mut cluster, _) = scenario_cluster(options);
    cluster.defect = defect(options.defect.as_deref())?;
    let factory = cluster
        .factory()
        .map_err(|e| dsys_core::Error::InvalidConfig(e.to_string()))?;
    run_scenario(
        ALGORITHM.name,
        options,
        factory,
        &[
            Property {
                name: "f",
                check: Check::figure(|_, o| scenario_cluster(o).0.faults.to_string()),
            },
            Property {
                name: "traitors",
                check: Check::figure(|_, o| scenario_cluster(o).1.name),
            },
            Property {
                name: "rounds",
                check: Check::figure(|_, o| {
                    let c = scenario_cluster(o).0;
                    format!("{} of {:?}", c.faults + 1, c.round_length)
                }),
            },
            Property {
                name: "decisions",
                check: Check::figure(decisions),
            },
            Property {
                name: "messages from correct nodes",
                check: Check::figure(message_count),
            },
            Property {
                name: "signatures",
                check: Check::figure(|sim: &Simulation<DolevStrong>, _| {
                    let (made, verified) = sim.nodes().fold((0, 0), |(m, v), (_, node)| {
                        (m + node.signatures_made(), v + node.signatures_verified())
                    });
                    format!("{made} made, {verified} verified")
                }),
            },
            Property {
                name: AGREEMENT,
                check: Check::at_end(|sim, o| verdict(sim, o, 0)),
            },
            Property {
                name: VALIDITY,
                check: Check::at_end(|sim, o| verdict(sim, o, 1)),
            },
            Property {
                name: TERMINATION,
                check: Check::at_end(|sim, o| verdict(sim, o, 2)),
            },
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_plan_stays_within_f_and_keeps_n1_correct_when_it_is_a_target() {
        for n in 1..=7 {
            for f in 0..n as u32 {
                for plan in plans(&Cluster::new(n, f)) {
                    assert!(plan.traitors.len() <= f as usize, "{n}/{f}: {plan:?}");
                    let cluster = Cluster::new(n, f).with_plan(&plan);
                    assert!(cluster.factory().is_ok(), "{n}/{f}: {}", plan.name);
                    if let Some(Traitor::LateReveal { to, .. }) = cluster.traitor(NodeId(0)) {
                        assert!(cluster.traitor(*to).is_none());
                    }
                }
            }
        }
    }

    #[test]
    fn the_formulas() {
        assert_eq!(messages_all_correct(7, 6), 36);
        assert_eq!(messages_all_correct(7, 0), 6);
        assert_eq!(messages_bound(7, 6), 6 + 2 * 6 * 5);
        assert_eq!(messages_bound(1, 0), 0);
    }
}
