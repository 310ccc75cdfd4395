//! The Byzantine generals in the simulator: traitors as Byzantine
//! strategies (a table of lies, or random ones), every table of lies a
//! traitor can tell, one-call runs, and `dsys sim byzantine-generals`.

use std::collections::BTreeMap;
use std::time::Duration;

use dsys_core::model::{ModelOptions, ModelVerdict};
use dsys_core::rand::RngExt;
use dsys_core::scenario::{
    run_scenario_lying, Algorithm, Check, DefectInfo, Lies, Outcome, Property, SimOptions, Verdict,
};
use dsys_core::sim::{Simulation, Strategy};
use dsys_core::NodeId;

use super::properties::{commander_of, decisions, ic1, ic2, termination};
use super::{message_count, Defect, General, GeneralsConfig, Msg, Order};

/// What a traitor does with one of its messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lie {
    /// Send it, saying this order (the truth or not).
    Say(Order),
    /// Do not send it.
    Silent,
}

impl Lie {
    /// Every lie a traitor can tell about one message: attack, retreat, nothing.
    pub const ALL: [Lie; 3] = [
        Lie::Say(Order::Attack),
        Lie::Say(Order::Retreat),
        Lie::Silent,
    ];
}

/// A traitor's script: for a message its loyal code sends to a destination
/// with a path, what it does instead. Messages not in the table go out
/// unchanged.
pub type LieTable = BTreeMap<(NodeId, Vec<NodeId>), Lie>;

/// A traitor that follows `table` (a [`Strategy::Custom`] over its
/// outgoing messages).
pub fn traitor(table: LieTable) -> Strategy<Msg> {
    Strategy::custom(
        move |_, to, msg: Msg| match table.get(&(to, msg.path().to_vec())) {
            None => vec![(to, msg, Duration::ZERO)],
            Some(Lie::Say(order)) => vec![(to, msg.with_order(*order), Duration::ZERO)],
            Some(Lie::Silent) => Vec::new(),
        },
    )
}

/// A traitor that, for each message, tells one of [`Lie::ALL`] at random
/// (from the simulation's seed).
pub fn random_traitor() -> Strategy<Msg> {
    Strategy::custom(|ctx, to, msg: Msg| {
        match Lie::ALL[ctx.rng().random_range(0..Lie::ALL.len())] {
            Lie::Say(order) => vec![(to, msg.with_order(order), Duration::ZERO)],
            Lie::Silent => Vec::new(),
        }
    })
}

/// Every message general `general` sends in OM(`m`) among `n` generals
/// when everyone relays, as (destination, path): the keys a [`LieTable`]
/// for it can have.
pub fn outgoing(
    n: usize,
    m: usize,
    commander: NodeId,
    general: NodeId,
) -> Vec<(NodeId, Vec<NodeId>)> {
    let generals: Vec<NodeId> = (0..n as u32).map(NodeId).collect();
    let mut paths = Vec::new();
    // Every path from the commander through distinct generals, of length
    // at most m + 1, that ends with `general`.
    fn extend(
        path: &mut Vec<NodeId>,
        generals: &[NodeId],
        m: usize,
        general: NodeId,
        out: &mut Vec<Vec<NodeId>>,
    ) {
        if path.last() == Some(&general) {
            out.push(path.clone());
            return;
        }
        if path.len() > m {
            return;
        }
        for &g in generals {
            if !path.contains(&g) {
                path.push(g);
                extend(path, generals, m, general, out);
                path.pop();
            }
        }
    }
    extend(&mut vec![commander], &generals, m, general, &mut paths);
    let mut messages = Vec::new();
    for path in paths {
        for &to in &generals {
            if !path.contains(&to) {
                messages.push((to, path.clone()));
            }
        }
    }
    messages
}

/// Every [`LieTable`] that assigns one of `choices` to each message of
/// `general` in OM(`m`) among `n` generals: `choices.len()` to the power of
/// the number of its messages.
pub fn every_lie_table(
    n: usize,
    m: usize,
    commander: NodeId,
    general: NodeId,
    choices: &[Lie],
) -> Vec<LieTable> {
    let keys = outgoing(n, m, commander, general);
    let mut tables = vec![LieTable::new()];
    for key in keys {
        tables = tables
            .into_iter()
            .flat_map(|table| {
                let key = key.clone();
                choices.iter().map(move |&lie| {
                    let mut table = table.clone();
                    table.insert(key.clone(), lie);
                    table
                })
            })
            .collect();
    }
    tables
}

/// Runs OM(m) among `n` generals configured by `config`, with `traitors`
/// made Byzantine from the start, until every loyal lieutenant has decided
/// (the deadline, plus a round). Tracing is on.
pub fn run(
    n: usize,
    seed: u64,
    config: GeneralsConfig,
    traitors: Vec<(NodeId, Strategy<Msg>)>,
) -> dsys_core::Result<Simulation<General>> {
    let mut sim = Simulation::new(n, seed, move |_| General::new(config));
    sim.enable_trace();
    for (id, strategy) in traitors {
        sim.byzantine(id, strategy)?;
    }
    sim.run_until(config.deadline() + config.round)?;
    Ok(sim)
}

/// How many relaying rounds `dsys sim byzantine-generals` runs: m = the
/// number of traitors (`--byzantine` nodes), and at least the number the
/// cluster can tolerate, ⌊(n − 1) / 3⌋, and 1; at most n − 2 (a path
/// cannot be longer than the generals).
pub fn rounds_for(options: &SimOptions) -> usize {
    let tolerated = options.nodes.saturating_sub(1) / 3;
    options
        .byzantine
        .len()
        .max(tolerated)
        .max(1)
        .min(options.nodes.saturating_sub(2))
}

/// The configuration `dsys sim byzantine-generals` runs: commander n0,
/// attack on even seeds and retreat on odd ones, OM([`rounds_for`]), a
/// round 1 ms longer than the longest latency.
pub fn config_for(options: &SimOptions) -> GeneralsConfig {
    let order = if options.seed.is_multiple_of(2) {
        Order::Attack
    } else {
        Order::Retreat
    };
    GeneralsConfig {
        round: options.latency.max + Duration::from_millis(1),
        ..GeneralsConfig::new(order, rounds_for(options))
    }
}

/// How a general lies on `--byzantine K:equivocate`: odd-numbered
/// generals are told to attack, even-numbered ones to retreat, whatever
/// the message said.
pub fn equivocate(to: NodeId, msg: &Msg) -> Msg {
    let order = if to.0 % 2 == 1 {
        Order::Attack
    } else {
        Order::Retreat
    };
    msg.with_order(order)
}

/// How a general lies on `--byzantine K:tamper`: it says the opposite of
/// what it should, to everyone.
pub fn tamper(msg: &Msg) -> Msg {
    msg.with_order(msg.order().flipped())
}

/// The lies `--byzantine K:equivocate` and `K:tamper` tell.
pub const LIES: Lies<Msg> = Lies {
    equivocate: Some(equivocate),
    tamper: Some(tamper),
};

fn judge(
    sim: &Simulation<General>,
    check: impl FnOnce(&BTreeMap<NodeId, Order>, NodeId, Order, &[NodeId]) -> Result<(), String>,
) -> Verdict {
    let Some((commander, order)) = commander_of(sim) else {
        return Verdict::Skipped("every general crashed".to_string());
    };
    check(&decisions(sim), commander, order, &sim.byzantine_nodes()).into()
}

fn properties() -> Vec<Property<General>> {
    vec![
        Property {
            name: "IC1 (loyal lieutenants agree)",
            check: Check::at_end(|sim, _| judge(sim, |d, c, _, t| ic1(d, c, t))),
        },
        Property {
            name: "IC2 (they obey a loyal commander)",
            check: Check::at_end(|sim, _| judge(sim, ic2)),
        },
        Property {
            name: "Termination (by (m + 1) rounds)",
            check: Check::at_end(|sim, _| {
                judge(sim, |d, c, _, t| {
                    termination(d, sim.nodes().map(|(id, _)| id), c, t)
                })
            }),
        },
        Property {
            name: "OM(m)",
            check: Check::figure(|_, options| {
                let (n, m) = (options.nodes, rounds_for(options));
                let bound = if n > 3 * m {
                    "n > 3m: Theorem 1 promises IC1 and IC2 with up to m traitors"
                } else {
                    "n <= 3m: too few generals, IC1 or IC2 can fail"
                };
                format!(
                    "m = {m}, n = {n}, {} traitor(s); {bound}",
                    options.byzantine.len()
                )
            }),
        },
        Property {
            name: "messages",
            check: Check::figure(|sim, options| {
                let (n, m) = (options.nodes, rounds_for(options));
                let formula = message_count(n, m);
                let sent = sim.metrics().sent;
                let terms: Vec<String> = (1..=m + 1)
                    .map(|k| {
                        (1..=k)
                            .map(|j| format!("{}", n.saturating_sub(j)))
                            .collect::<Vec<_>>()
                            .join("·")
                    })
                    .collect();
                let note = if sent == formula {
                    "equal".to_string()
                } else {
                    format!(
                        "differs by {}: Byzantine strategies and network faults change what is sent",
                        sent.abs_diff(formula)
                    )
                };
                format!(
                    "measured {sent}, formula {formula} = {} ({note})",
                    terms.join(" + ")
                )
            }),
        },
    ]
}

/// `dsys sim byzantine-generals`: the commander n0 orders attack (even
/// seeds) or retreat (odd seeds); OM(m) with m as [`rounds_for`] says;
/// IC1, IC2 and termination judged on the loyal generals; the message
/// count printed beside its formula. Traitors come from `--byzantine`
/// (`equivocate` and `tamper` lie as [`LIES`] says).
pub const ALGORITHM: Algorithm = Algorithm {
    name: "byzantine-generals",
    summary: "Byzantine generals, oral messages OM(m): m + 1 rounds of relaying, majority, IC1/IC2",
    run: simulate,
    settings: &[],
    model: Some(check_model),
    defects: &[
        DefectInfo {
            name: "no-relay",
            breaks: "lieutenants neither relay nor vote, each obeys what the commander told it, as in OM(0): a traitorous commander splits them (IC1; dsys check byzantine-generals --nodes 4)",
        },
        DefectInfo {
            name: "ignores-direct-order",
            breaks: "a lieutenant votes only with what the others relayed, leaving out the order it received itself: a traitorous lieutenant outvotes a loyal commander (IC2), and a traitorous commander splits them (IC1; dsys check byzantine-generals --nodes 4)",
        },
    ],
};

/// The defect `name` asks for.
fn defect(name: Option<&str>) -> dsys_core::Result<Option<Defect>> {
    Ok(match ALGORITHM.defect_named(name)? {
        Some("no-relay") => Some(Defect::NoRelay),
        Some(_) => Some(Defect::IgnoresDirectOrder),
        None => None,
    })
}

fn check_model(options: &ModelOptions) -> dsys_core::Result<ModelVerdict> {
    super::model::check_model(options, defect(options.defect.as_deref())?)
}

fn simulate(options: &SimOptions) -> dsys_core::Result<Outcome> {
    let mut config = config_for(options);
    config.defect = defect(options.defect.as_deref())?;
    run_scenario_lying(
        ALGORITHM.name,
        options,
        move |_| General::new(config),
        &properties(),
        &LIES,
        |_| Ok(()),
    )
}
