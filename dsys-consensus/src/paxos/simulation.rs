//! Paxos in the simulator: a cluster over stable storage that survives
//! crashes, the checks after every event and at the end, the message
//! counts beside their formulas, and `dsys sim paxos`.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use dsys_core::model::{Model, ModelOptions, ModelVerdict, Property as ModelProperty};
use dsys_core::scenario::{
    run_scenario, Algorithm, Check, DefectInfo, Outcome, Property, SimOptions, Verdict,
};
use dsys_core::sim::Simulation;
use dsys_core::NodeId;

use super::message::PaxosEvent;
use super::node::{Defect, Durable, Paxos, PaxosConfig};
use super::properties::{OnlyChosenLearned, OnlyProposedChosen, OnlySingleChosen};
use crate::properties::{self as consensus, Decision};
use crate::stable::Stable;

/// The node type of the simulated cluster: Paxos over `u64` values.
pub type SimPaxos = Paxos<u64>;

/// What node `id` proposes in `dsys sim paxos`: `100 + id`, so a decision
/// names its proposer at a glance.
pub fn value_of(id: NodeId) -> u64 {
    100 + u64::from(id.0)
}

/// A factory for a simulated cluster: each node gets a [`Stable`] kept by
/// the factory, so a restarted node finds what it stored before its crash;
/// the nodes in `proposers` propose [`value_of`] themselves at every start.
pub fn cluster(
    config: PaxosConfig,
    proposers: Vec<NodeId>,
) -> impl FnMut(NodeId) -> SimPaxos + 'static {
    let mut disks: HashMap<NodeId, Stable<Durable<u64>>> = HashMap::new();
    move |id| {
        let disk = disks.entry(id).or_default().clone();
        let node = Paxos::new(config.clone(), disk).expect("the configuration was validated");
        if proposers.contains(&id) {
            node.proposing(value_of(id))
        } else {
            node
        }
    }
}

/// Every `Decided` event of the run, as the shared checkers read them.
pub fn decisions(sim: &Simulation<SimPaxos>) -> Vec<Decision<u64>> {
    consensus::decisions(sim, |e| match e {
        PaxosEvent::Decided { value, .. } => Some(*value),
        _ => None,
    })
}

/// How many times each proposer phase ran: (phase-1 ballots started,
/// phase-2 ballots started, proposers that saw a majority accept).
pub fn phases(sim: &Simulation<SimPaxos>) -> (u64, u64, u64) {
    let (mut prepared, mut proposed, mut won) = (0, 0, 0);
    for (_, e) in sim.all_events() {
        match e.event {
            PaxosEvent::Preparing { .. } => prepared += 1,
            PaxosEvent::Proposing { .. } => proposed += 1,
            PaxosEvent::Decided {
                learned_from: None, ..
            } => won += 1,
            _ => {}
        }
    }
    (prepared, proposed, won)
}

/// The message counts of a run beside what the protocol predicts, one
/// line per message kind. With `n` nodes, `P` phase-1 ballots, `A` phase-2
/// ballots and `W` proposers that saw their own majority: `n·P` Prepare,
/// `n·A` Accept, one answer (Promise, Accepted or Reject) to each of
/// those, `(n − 1)·W` Chosen, plus one Chosen per Inquire a decided node
/// answers. One uncontended ballot on a quiet network: `5n − 1` messages.
pub fn message_counts(sim: &Simulation<SimPaxos>) -> Vec<(String, u64, u64)> {
    let n = sim.len() as u64;
    let (p, a, w) = phases(sim);
    let sent = |kind: &str| sim.metrics().kind(kind).map_or(0, |k| k.sent);
    let answers = sent("Promise") + sent("Accepted") + sent("Reject");
    vec![
        (format!("Prepare = n·P = {n}·{p}"), sent("Prepare"), n * p),
        (format!("Accept = n·A = {n}·{a}"), sent("Accept"), n * a),
        (
            format!("Promise + Accepted + Reject = n·(P + A) = {n}·{}", p + a),
            answers,
            n * (p + a),
        ),
        (
            format!("Chosen = (n − 1)·W = {}·{w} (+ answers to Inquire)", n - 1),
            sent("Chosen"),
            (n - 1) * w,
        ),
    ]
}

/// How long after the last fault the cluster is given to decide before
/// Termination is judged.
pub const SETTLE: Duration = Duration::from_secs(1);

/// Why Termination cannot be judged on this run, if it cannot.
fn termination_unjudged(options: &SimOptions) -> Option<String> {
    if options.partitions.iter().any(|p| p.to.is_none()) {
        return Some("a partition never heals".into());
    }
    let restarted = |c: &dsys_core::scenario::NodeAt| {
        options
            .restarts
            .iter()
            .any(|r| r.node == c.node && r.at >= c.at)
    };
    let down_for_good = options.crashes.iter().filter(|c| !restarted(c)).count();
    if down_for_good * 2 >= options.nodes {
        return Some("a majority crashes for good".into());
    }
    let last = options
        .crashes
        .iter()
        .chain(&options.restarts)
        .map(|c| c.at)
        .chain(options.partitions.iter().filter_map(|p| p.to))
        .max()
        .unwrap_or_default();
    if options.until < last + SETTLE {
        return Some(format!(
            "the run ends less than {SETTLE:?} after the last fault"
        ));
    }
    None
}

/// A shared consensus checker, as [`shared`] calls it: decisions,
/// proposals, correct nodes.
type SharedCheck = fn(&[Decision<u64>], &[u64], &BTreeSet<NodeId>) -> Result<(), String>;

fn shared(sim: &Simulation<SimPaxos>, property: SharedCheck) -> Verdict {
    let proposed: Vec<u64> = (0..sim.len() as u32).map(|i| value_of(NodeId(i))).collect();
    property(
        &decisions(sim),
        &proposed,
        &consensus::correct_nodes(sim, &[]),
    )
    .into()
}

/// `dsys sim paxos`: n0 and n1 propose 100 and 101 at the same instant
/// (dueling proposers, settled by randomised back-off); the three safety
/// requirements are checked after every event, the consensus properties at
/// the end, and the message counts printed beside their formulas.
/// Tolerates loss, duplication, reordering, partitions that heal and the
/// crash and restart of a minority.
pub const ALGORITHM: Algorithm = Algorithm {
    name: "paxos",
    summary: "single-decree Paxos (prepare/promise, accept/accepted) with dueling proposers; one value chosen, checked after every event",
    run: simulate,
    settings: &[],
    model: Some(check_model),
    defects: &[
        DefectInfo {
            name: "ignores-accepted-values",
            breaks: "a proposer sends its own value in phase 2 even when a promise reported an accepted one (only a single value is chosen)",
        },
        DefectInfo {
            name: "forgets-promise-at-restart",
            breaks: "an acceptor reads back only what it accepted after a restart, not its promise (only a single value is chosen)",
        },
    ],
};

/// The defect `name` asks for.
fn defect(name: Option<&str>) -> dsys_core::Result<Option<Defect>> {
    Ok(match ALGORITHM.defect_named(name)? {
        Some("ignores-accepted-values") => Some(Defect::IgnoresAcceptedValues),
        Some(_) => Some(Defect::ForgetsPromiseAtRestart),
        None => None,
    })
}

fn simulate(options: &SimOptions) -> dsys_core::Result<Outcome> {
    let proposers: Vec<NodeId> = (0..options.nodes.min(2) as u32).map(NodeId).collect();
    let config = PaxosConfig {
        defect: defect(options.defect.as_deref())?,
        ..PaxosConfig::default()
    };
    run_scenario(
        ALGORITHM.name,
        options,
        cluster(config, proposers),
        &properties(),
    )
}

/// How many times timers may fire in a run of [`model`] unless `dsys check
/// --timers` says otherwise: none, every timeout outlasting the exchange
/// (the runs where a proposer retries need `--timers 1` and more: the
/// states grow fast).
pub const MODEL_TIMERS_MAX: u32 = 0;

/// The model `dsys check paxos` explores: `nodes` nodes, n0 and n1
/// proposing 100 and 101 from the start, every interleaving of their
/// messages (reordered freely), timers firing at most [`MODEL_TIMERS_MAX`]
/// times in a run. Agreement and validity are judged in every state over
/// what the nodes decided (a decision is never taken back, so a state
/// shows every value decided so far), and some state must decide.
///
/// A crashed node restarts over a disk holding what it had written
/// ([`Paxos::durable`]), and a proposer proposes again, as in `dsys sim
/// paxos --crash … --restart …`; crashes are allowed by
/// [`Model::crashes_max`] (`dsys check --crashes K`).
pub fn model(nodes: usize, defect: Option<Defect>) -> Model<SimPaxos> {
    let config = PaxosConfig {
        defect,
        ..PaxosConfig::default()
    };
    let proposers = nodes.min(2) as u32;
    let build = move |id: NodeId, disk: Durable<u64>| {
        let node = Paxos::new(config.clone(), Stable::new(disk))
            .expect("the default configuration is valid");
        if id.0 < proposers {
            node.proposing(value_of(id))
        } else {
            node
        }
    };
    let restart = build.clone();
    Model::new(nodes, move |id| build(id, Durable::default()))
        .restart_from(move |id, old: &SimPaxos| restart(id, old.durable().clone()))
        .timers_max(MODEL_TIMERS_MAX)
        .property(ModelProperty::always(
            "Agreement (decided values)",
            |nodes: &[Option<SimPaxos>]| {
                let mut decided = nodes
                    .iter()
                    .enumerate()
                    .filter_map(|(i, n)| Some((i, *n.as_ref()?.decided()?)));
                let Some((first, value)) = decided.next() else {
                    return Ok(());
                };
                match decided.find(|(_, v)| *v != value) {
                    Some((other, v)) => {
                        Err(format!("n{first} decided {value}, n{other} decided {v}"))
                    }
                    None => Ok(()),
                }
            },
        ))
        .property(ModelProperty::always(
            "Validity (decided values)",
            move |nodes: &[Option<SimPaxos>]| {
                let proposed: Vec<u64> = (0..proposers).map(|i| value_of(NodeId(i))).collect();
                for (i, node) in nodes.iter().enumerate() {
                    if let Some(v) = node.as_ref().and_then(|n| n.decided())
                        && !proposed.contains(v)
                    {
                        return Err(format!("n{i} decided {v}, which nobody proposed"));
                    }
                }
                Ok(())
            },
        ))
        .property(ModelProperty::always(
            "P2b: once a value is chosen, every higher proposal has it (§2.2)",
            chosen_value_proposed_again,
        ))
        .property(ModelProperty::sometimes(
            "a value is decided",
            |nodes: &[Option<SimPaxos>]| nodes.iter().flatten().any(|n| n.decided().is_some()),
        ))
}

/// Paxos Made Simple, P2b, in one state: when a majority of acceptors
/// hold the same accepted ballot and value (the value is chosen), no
/// proposer is in phase 2 of a higher ballot with another value.
pub fn chosen_value_proposed_again(nodes: &[Option<SimPaxos>]) -> Result<(), String> {
    let majority = nodes.len() / 2 + 1;
    let mut counts: HashMap<(super::Ballot, u64), usize> = HashMap::new();
    for accepted in nodes.iter().flatten().filter_map(|n| n.accepted()) {
        *counts.entry(*accepted).or_default() += 1;
    }
    for (&(chosen_ballot, chosen), _) in counts.iter().filter(|&(_, &c)| c >= majority) {
        for (i, node) in nodes.iter().enumerate() {
            if let Some((ballot, &value)) = node.as_ref().and_then(|n| n.accepting())
                && ballot > chosen_ballot
                && value != chosen
            {
                return Err(format!(
                    "{chosen} is chosen at {chosen_ballot:?}, but n{i} proposes {value} at the \
                         higher {ballot:?}"
                ));
            }
        }
    }
    Ok(())
}

fn check_model(options: &ModelOptions) -> dsys_core::Result<ModelVerdict> {
    let defect = defect(options.defect.as_deref())?;
    let mut options = options.clone();
    if defect == Some(Defect::ForgetsPromiseAtRestart) {
        // The bug is in what a restart reads back: it needs one.
        options.crashes_max = options.crashes_max.max(1);
    }
    Ok(model(options.nodes, defect).options(&options).verdict())
}

/// The properties `dsys sim paxos` judges, and its figures.
pub fn properties() -> Vec<Property<SimPaxos>> {
    vec![
        Property {
            name: "only a proposed value is chosen (§2.1)",
            check: Check::history(|| {
                let mut c = OnlyProposedChosen::new();
                Box::new(move |nodes| c.check(nodes))
            }),
        },
        Property {
            name: "only a single value is chosen (§2.1)",
            check: Check::history(|| {
                let mut c = OnlySingleChosen::new();
                Box::new(move |nodes| c.check(nodes))
            }),
        },
        Property {
            name: "only a chosen value is learned (§2.1)",
            check: Check::history(|| {
                let mut c = OnlyChosenLearned::new();
                Box::new(move |nodes| c.check(nodes))
            }),
        },
        Property {
            name: "Termination",
            check: Check::at_end(|sim, options| match termination_unjudged(options) {
                Some(why) => Verdict::Skipped(why),
                None => shared(sim, |d, _, c| consensus::termination(d, c)),
            }),
        },
        Property {
            name: "Agreement",
            check: Check::at_end(|sim, _| shared(sim, |d, _, c| consensus::agreement(d, c))),
        },
        Property {
            name: "Integrity",
            check: Check::at_end(|sim, _| shared(sim, |d, _, c| consensus::integrity(d, c))),
        },
        Property {
            name: "Validity",
            check: Check::at_end(|sim, _| shared(sim, consensus::validity)),
        },
        Property {
            name: "decided",
            check: Check::figure(|sim: &Simulation<SimPaxos>, _| {
                let values: Vec<String> = sim
                    .ids()
                    .map(|id| match sim.node(id) {
                        Some(n) => match n.decided() {
                            Some(v) => format!("{id}:{v}"),
                            None => format!("{id}:-"),
                        },
                        None => format!("{id}:down"),
                    })
                    .collect();
                let (p, a, _) = phases(sim);
                format!(
                    "{} after {p} phase-1 and {a} phase-2 ballots",
                    values.join(" ")
                )
            }),
        },
        Property {
            name: "Prepare",
            check: Check::figure(|sim, _| count_line(sim, 0)),
        },
        Property {
            name: "Accept",
            check: Check::figure(|sim, _| count_line(sim, 1)),
        },
        Property {
            name: "answers",
            check: Check::figure(|sim, _| count_line(sim, 2)),
        },
        Property {
            name: "Chosen",
            check: Check::figure(|sim, _| count_line(sim, 3)),
        },
        Property {
            name: "messages",
            check: Check::figure(|sim, _| {
                let n = sim.len() as u64;
                format!(
                    "{} sent; one uncontended ballot costs 5n − 1 = {}; loss, duplication, crashes and Inquire make the only differences from the formulas above",
                    sim.metrics().sent,
                    5 * n - 1
                )
            }),
        },
    ]
}

/// Line `i` of [`message_counts`], as the report prints it.
fn count_line(sim: &Simulation<SimPaxos>, i: usize) -> String {
    versus(message_counts(sim).swap_remove(i))
}

/// A measured count beside its formula, as a report prints it: `measured
/// = predicted  (formula)`, or `≠` when they differ.
pub(crate) fn versus((formula, measured, predicted): (String, u64, u64)) -> String {
    let mark = if measured == predicted { "=" } else { "≠" };
    format!("{measured} {mark} {predicted}  ({formula})")
}
