//! Multi-Paxos in the simulator: a cluster over stable storage that
//! survives crashes, a client that keeps proposing to whoever leads, the
//! checks, and `dsys sim multi-paxos`.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use dsys_core::model::{ModelOptions, ModelVerdict};
use dsys_core::scenario::{
    run_scenario_with, Algorithm, Check, DefectInfo, Outcome, Property, SettingInfo, SimOptions,
    Verdict,
};
use dsys_core::sim::Simulation;
use dsys_core::NodeId;

use super::message::{Command, Entry, MultiPaxosEvent, MultiPaxosRequest, Slot};
use super::node::{Defect, Durable, MultiPaxos, MultiPaxosConfig};
use super::properties::{LogAgreement, StateMachineSafety};
use crate::paxos::simulation::versus;
use crate::properties::{self as consensus, by_instance};
use crate::raft::{Counter, RequestId, StateMachine};
use crate::stable::Stable;

/// The replica type of the simulated cluster: a counter.
pub type SimMultiPaxos = MultiPaxos<Counter>;

/// A factory for a simulated cluster: each replica gets a [`Stable`] kept
/// by the factory, so a restarted replica finds what it stored.
pub fn cluster(config: MultiPaxosConfig) -> impl FnMut(NodeId) -> SimMultiPaxos + 'static {
    let mut disks: HashMap<NodeId, Stable<Durable<u64>>> = HashMap::new();
    move |id| {
        let disk = disks.entry(id).or_default().clone();
        MultiPaxos::new(config.clone(), disk, Counter::default())
            .expect("the configuration was validated")
    }
}

/// The live leader with the highest ballot, if any.
pub fn current_leader<SM: crate::raft::StateMachine>(
    sim: &Simulation<MultiPaxos<SM>>,
) -> Option<NodeId> {
    sim.nodes()
        .filter(|(_, n)| n.is_leader())
        .max_by_key(|(_, n)| n.ballot())
        .map(|(id, _)| id)
}

/// Schedules a client that, every `period` from `from` to `until`, proposes
/// command `seq` under request id `seq` to the current leader — so a chosen
/// command whose value differs from its id was never proposed.
pub fn drive_client(
    sim: &mut Simulation<SimMultiPaxos>,
    from: Duration,
    until: Duration,
    period: Duration,
) {
    fn tick(sim: &mut Simulation<SimMultiPaxos>, seq: u64, until: Duration, period: Duration) {
        if let Some(leader) = current_leader(sim) {
            let request = MultiPaxosRequest::Propose {
                id: seq.into(),
                command: seq,
            };
            sim.request(leader, request)
                .expect("the leader is a live node");
        }
        let next = sim.now() + period;
        if next < until {
            sim.call_at(next, move |sim| tick(sim, seq + 1, until, period));
        }
    }
    sim.call_at(from, move |sim| tick(sim, 1, until, period));
}

/// Every slot a replica acknowledged to its client ([`MultiPaxosEvent::Applied`]).
pub fn acknowledged(sim: &Simulation<SimMultiPaxos>) -> Vec<Slot> {
    sim.all_events()
        .into_iter()
        .filter_map(|(_, e)| match e.event {
            MultiPaxosEvent::Applied { slot, .. } => Some(slot),
            _ => None,
        })
        .collect()
}

/// Liveness once faults stop: a leader is up, every live replica knows the
/// same chosen prefix and applied all of it, and every acknowledged
/// command is applied everywhere.
pub fn check_liveness(sim: &Simulation<SimMultiPaxos>) -> Result<(), String> {
    let leader = current_leader(sim).ok_or("no leader at the end of the run")?;
    let target = sim.node(leader).map_or(1, |n| n.first_unchosen());
    let highest = acknowledged(sim).into_iter().max().unwrap_or(0);
    for (id, node) in sim.nodes() {
        if node.first_unchosen() != target || node.applied() + 1 != target {
            return Err(format!(
                "{id} knows slots below {} chosen and applied up to {}, the leader {leader} knows below {target}",
                node.first_unchosen(),
                node.applied()
            ));
        }
        if node.applied() < highest {
            return Err(format!(
                "{id} applied up to {} but slot {highest} was acknowledged",
                node.applied()
            ));
        }
    }
    Ok(())
}

/// Each live replica's chosen entries, per slot, as decisions for the
/// shared consensus checkers.
pub fn decisions_per_slot(
    sim: &Simulation<SimMultiPaxos>,
) -> std::collections::BTreeMap<Slot, Vec<consensus::Decision<Entry<u64>>>> {
    by_instance(sim.nodes().flat_map(|(id, n)| {
        n.chosen()
            .map(move |(slot, entry)| (slot, id, entry.clone()))
    }))
}

/// Validity for the log: every chosen command was proposed — the client
/// proposes command `seq` under id `seq`, so a command whose value differs
/// from its id was made up — and no command is chosen in two slots.
pub fn check_validity(sim: &Simulation<SimMultiPaxos>) -> Result<(), String> {
    for (slot, decisions) in decisions_per_slot(sim) {
        for d in &decisions {
            if let Entry::Batch(commands) = &d.value
                && let Some(c) = commands.iter().find(|c| u128::from(c.command) != c.id)
            {
                return Err(format!(
                        "Validity: slot {slot} at {} holds command {} under id {}, which the client never proposed",
                        d.node, c.command, c.id
                    ));
            }
        }
    }
    for (id, node) in sim.nodes() {
        let mut seen: HashMap<RequestId, Slot> = HashMap::new();
        for (slot, entry) in node.chosen() {
            let Entry::Batch(commands) = entry else {
                continue;
            };
            for Command { id: request, .. } in commands {
                if let Some(earlier) = seen.insert(*request, slot) {
                    return Err(format!(
                        "{id}: request {request} chosen twice, in slots {earlier} and {slot}"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The message counts of a run beside their formulas, as (formula,
/// measured, predicted). With `n` replicas, `P` phase-1 attempts
/// ([`MultiPaxosEvent::Preparing`]), `S` slots proposed
/// ([`MultiPaxosEvent::Proposed`], so the replicas need
/// [`MultiPaxosConfig::report_proposals`]), `R` Accepts sent again
/// ([`MultiPaxosEvent::Resent`]) and `T` heartbeat ticks (the timers that
/// fired, plus one per start and restart): `(n − 1)·P` Prepare,
/// `(n − 1)·S + R` Accept, one answer (Promise, Accepted or Reject) to
/// each Prepare and Accept delivered, and `(n − 1)·T` Heartbeat. Loss,
/// duplication and crashes change the measured counts and the formulas'
/// inputs alike, so the two stay equal under every fault.
pub fn message_counts<SM: StateMachine>(
    sim: &Simulation<MultiPaxos<SM>>,
) -> Vec<(String, u64, u64)> {
    let m = sim.len() as u64 - 1;
    let (mut p, mut s, mut r) = (0, 0, 0);
    for (_, e) in sim.all_events() {
        match &e.event {
            MultiPaxosEvent::Preparing { .. } => p += 1,
            MultiPaxosEvent::Proposed { .. } => s += 1,
            MultiPaxosEvent::Resent { to, .. } => r += to.len() as u64,
            _ => {}
        }
    }
    let starts: u64 = sim
        .ids()
        .map(|id| sim.incarnation(id).unwrap_or(0) + 1)
        .sum();
    let t = sim.metrics().timers_fired + starts;
    let kind = |kind: &str| sim.metrics().kind(kind).cloned().unwrap_or_default();
    let answers = kind("Promise").sent + kind("Accepted").sent + kind("Reject").sent;
    let asked = kind("Prepare").delivered + kind("Accept").delivered;
    vec![
        (
            format!("Prepare = (n − 1)·P = {m}·{p}"),
            kind("Prepare").sent,
            m * p,
        ),
        (
            format!("Accept = (n − 1)·S + R = {m}·{s} + {r}"),
            kind("Accept").sent,
            m * s + r,
        ),
        (
            "Promise + Accepted + Reject = Prepare + Accept delivered".into(),
            answers,
            asked,
        ),
        (
            format!("Heartbeat = (n − 1)·T = {m}·{t}"),
            kind("Heartbeat").sent,
            m * t,
        ),
    ]
}

/// Line `I` of [`message_counts`], as the report prints it.
fn count_line<const I: usize>(sim: &Simulation<SimMultiPaxos>, _: &SimOptions) -> String {
    versus(message_counts(sim).swap_remove(I))
}

/// The catch-up line: a CatchUp per leader heartbeat that finds a gap,
/// and a Chosen answering each one delivered, unless the leader knows
/// nothing chosen from the slot asked for.
fn catch_up_line(sim: &Simulation<SimMultiPaxos>) -> String {
    let kind = |kind: &str| sim.metrics().kind(kind).cloned().unwrap_or_default();
    let (asked, chosen) = (kind("CatchUp"), kind("Chosen").sent);
    format!(
        "{} CatchUp sent (one per leader heartbeat that finds a gap below its commit point); {chosen} Chosen ≤ {} CatchUp delivered (no answer when the leader knows nothing newer)",
        asked.sent, asked.delivered
    )
}

/// How long after the last fault the cluster is given to recover before
/// liveness is judged.
pub const SETTLE: Duration = Duration::from_secs(3);

fn unjudged(options: &SimOptions) -> Option<String> {
    if options.partitions.iter().any(|p| p.to.is_none()) {
        return Some("a partition never heals".into());
    }
    let last = options
        .crashes
        .iter()
        .chain(&options.restarts)
        .map(|c| c.at)
        .chain(options.partitions.iter().filter_map(|p| p.to))
        .max();
    if last.is_some_and(|last| options.until < last + SETTLE) {
        return Some(format!(
            "the run ends less than {SETTLE:?} after the last fault"
        ));
    }
    let restarted = |c: &dsys_core::scenario::NodeAt| {
        options
            .restarts
            .iter()
            .any(|r| r.node == c.node && r.at >= c.at)
    };
    if options.crashes.iter().filter(|c| !restarted(c)).count() * 2 >= options.nodes {
        return Some("a majority crashes for good".into());
    }
    None
}

/// A shared consensus checker over one slot's decisions and the correct
/// replicas.
type SlotCheck = fn(&[consensus::Decision<Entry<u64>>], &BTreeSet<NodeId>) -> Result<(), String>;

/// Judges one shared consensus property on every slot.
fn per_slot(sim: &Simulation<SimMultiPaxos>, check: SlotCheck) -> Verdict {
    let correct = consensus::correct_nodes(sim, &[]);
    for (slot, decisions) in decisions_per_slot(sim) {
        if let Err(why) = check(&decisions, &correct) {
            return Verdict::Violated(format!("slot {slot}: {why}"));
        }
    }
    Verdict::Holds
}

/// `dsys sim multi-paxos`: a client proposes every 10 ms to whoever leads;
/// log agreement and state machine safety are checked after every event;
/// the shared consensus properties per slot, validity, and liveness at the
/// end. Tolerates loss, duplication, reordering, partitions that heal and
/// crash-restart. Its settings are the leader's pipeline depth and batch
/// size (`--set pipeline-max=1` is one phase 2 at a time).
pub const ALGORITHM: Algorithm = Algorithm {
    name: "multi-paxos",
    summary: "Multi-Paxos replicated log: a stable leader (phase 1 once), no-op gap filling, catch-up, batching; log agreement after every event",
    run: simulate,
    model: Some(check_model),
    settings: &[
        SettingInfo {
            name: "pipeline-max",
            default: "4",
            help: "phase 2 rounds the leader keeps in flight at once (1 or more)",
        },
        SettingInfo {
            name: "batch-max",
            default: "256",
            help: "commands the leader puts in one slot (1 or more)",
        },
    ],
    defects: &[DefectInfo {
        name: "ignores-accepted-values",
        breaks: "a new leader fills its slots with its own proposals, ignoring what the promises reported (log agreement once a slot was chosen without it; dsys check multi-paxos finds it in 11 steps)",
    }],
};

/// The defect `name` asks for.
fn defect(name: Option<&str>) -> dsys_core::Result<Option<Defect>> {
    Ok(ALGORITHM
        .defect_named(name)?
        .map(|_| Defect::IgnoresAcceptedValues))
}

fn check_model(options: &ModelOptions) -> dsys_core::Result<ModelVerdict> {
    super::model::check_model(options, defect(options.defect.as_deref())?)
}

/// The properties `dsys sim multi-paxos` judges, and its figures.
pub fn properties() -> Vec<Property<SimMultiPaxos>> {
    vec![
        Property {
            name: "log agreement",
            check: Check::history(|| {
                let mut c = LogAgreement::new();
                Box::new(move |nodes| c.check(nodes))
            }),
        },
        Property {
            name: "state machine safety",
            check: Check::history(|| {
                let mut c = StateMachineSafety::new();
                Box::new(move |nodes| c.check(nodes))
            }),
        },
        Property {
            name: "Agreement (per slot)",
            check: Check::at_end(|sim, _| per_slot(sim, consensus::agreement)),
        },
        Property {
            name: "Integrity (per slot)",
            check: Check::at_end(|sim, _| per_slot(sim, consensus::integrity)),
        },
        Property {
            name: "Validity",
            check: Check::at_end(|sim, _| check_validity(sim).into()),
        },
        Property {
            name: "Termination (per slot)",
            check: Check::at_end(|sim, options| match unjudged(options) {
                Some(why) => Verdict::Skipped(why),
                None => per_slot(sim, consensus::termination),
            }),
        },
        Property {
            name: "liveness after faults",
            check: Check::at_end(|sim, options| match unjudged(options) {
                Some(why) => Verdict::Skipped(why),
                None => check_liveness(sim).into(),
            }),
        },
        Property {
            name: "leaders elected",
            check: Check::figure(|sim, _| {
                let elections: Vec<String> = sim
                    .all_events()
                    .into_iter()
                    .filter_map(|(id, e)| match &e.event {
                        MultiPaxosEvent::Elected {
                            ballot,
                            recovered,
                            noops,
                        } => Some(format!(
                            "{id} {ballot} at {:?} ({recovered} recovered, {noops} no-ops)",
                            e.time
                        )),
                        _ => None,
                    })
                    .collect();
                format!("{}: {}", elections.len(), elections.join("; "))
            }),
        },
        Property {
            name: "commands chosen",
            check: Check::figure(|sim, _| {
                let acked = acknowledged(sim).len();
                let chosen: Vec<String> = sim
                    .ids()
                    .map(|id| match sim.node(id) {
                        Some(n) => format!("{id}:{}", n.first_unchosen() - 1),
                        None => format!("{id}:down"),
                    })
                    .collect();
                let slots = sim
                    .nodes()
                    .map(|(_, n)| n.first_unchosen() - 1)
                    .max()
                    .unwrap_or(0);
                format!(
                    "{acked} acknowledged in {slots} slots; chosen prefix {}",
                    chosen.join(" ")
                )
            }),
        },
        Property {
            name: "Prepare",
            check: Check::figure(count_line::<0>),
        },
        Property {
            name: "Accept",
            check: Check::figure(count_line::<1>),
        },
        Property {
            name: "answers",
            check: Check::figure(count_line::<2>),
        },
        Property {
            name: "Heartbeat",
            check: Check::figure(count_line::<3>),
        },
        Property {
            name: "catch-up",
            check: Check::figure(|sim, _| catch_up_line(sim)),
        },
    ]
}

fn simulate(options: &SimOptions) -> dsys_core::Result<Outcome> {
    let until = options.until;
    let config = MultiPaxosConfig {
        pipeline_max: ALGORITHM.setting(options, "pipeline-max")?,
        batch_max: ALGORITHM.setting(options, "batch-max")?,
        report_proposals: true, // for the message counts
        defect: defect(options.defect.as_deref())?,
        ..MultiPaxosConfig::default()
    };
    config.validate().map_err(|e| {
        dsys_core::Error::InvalidConfig(format!(
            "the settings do not make a valid Multi-Paxos: {e}"
        ))
    })?;
    run_scenario_with(
        ALGORITHM.name,
        options,
        cluster(config),
        &properties(),
        move |sim| {
            // The client stops a little before the end, so that what it was
            // told is chosen has time to reach everyone.
            let stop = until.saturating_sub(Duration::from_millis(500));
            drive_client(
                sim,
                Duration::from_millis(100),
                stop,
                Duration::from_millis(10),
            );
            Ok(())
        },
    )
}
