//! `dsys check multi-paxos`: a leader change on three replicas, every
//! interleaving up to a bound.
//!
//! Replica 0 leads from the start (the lowest id nobody suspects) and
//! proposes `+1` once it leads; replica 1 proposes `+1` once it leads,
//! which it can only after it suspects replica 0. Each replica has a
//! clock of its own that its heartbeat timer moves ([`Model::local_clocks`]),
//! and the suspicion timeout is below the heartbeat period, so a replica
//! suspects a peer it has not heard from since its last tick: one tick
//! stands for any longer silence, as early as any detector could suspect.
//! Timers fire at most [`MODEL_TIMERS_MAX`] times in a run, since the
//! heartbeat re-arms for ever. A crashed replica restarts over a copy of
//! what it stored ([`MultiPaxos::durable`]), when `dsys check --crashes K`
//! allows crashes.
//!
//! Log agreement is judged in every state, over that state alone: no two
//! replicas know different entries as chosen for one slot (the
//! simulator's [`LogAgreement`](super::properties::LogAgreement)
//! remembers the whole run; here every state of every run is visited
//! instead, and a chosen entry is never taken back).
//!
//! [`Defect::IgnoresAcceptedValues`] breaks it: replica 1 takes over
//! after replica 0 had `+1` chosen in slot 1 with replica 1's own
//! acceptance, ignores what the promises (its own among them) reported,
//! and has its own `+1` chosen in slot 1 too: a different batch, since
//! each carries its client's request id.
//!
//! The search for it takes some 388,000 states (`dsys check multi-paxos
//! --defect ignores-accepted-values`, and the test in
//! `tests/multi_paxos.rs`); here, correct Multi-Paxos over every run of up
//! to six steps, in which n0 has `+1` chosen:
//!
//! ```
//! use dsys_consensus::multi_paxos::model::model;
//!
//! let report = model(3, None).depth_max(6).check();
//! assert!(report.passed(), "{report}");
//! assert!(report.to_string().contains("a command is chosen: reached in 5 steps"));
//! ```

use std::time::Duration;

use dsys_core::failure_detector::HeartbeatConfig;
use dsys_core::model::{Model, ModelOptions, ModelVerdict, Property};
use dsys_core::NodeId;

use super::node::{Defect, Durable, MultiPaxos, MultiPaxosConfig};
use super::MultiPaxosRequest;
use crate::raft::Counter;
use crate::stable::Stable;

/// The replicas of the model: counters.
pub type ModelMultiPaxos = MultiPaxos<Counter>;

/// How many times timers may fire in a run unless `dsys check --timers`
/// says otherwise: one, the tick in which one replica comes to suspect
/// another.
pub const MODEL_TIMERS_MAX: u32 = 1;

/// The replicas' configuration in the model: a heartbeat every 10 ms and
/// a suspicion after 5 ms of silence, which never grows. (Below the
/// period: [`MultiPaxosConfig::validate`] refuses it for a deployment.)
pub fn model_config(defect: Option<Defect>) -> MultiPaxosConfig {
    MultiPaxosConfig {
        heartbeat: HeartbeatConfig {
            period: Duration::from_millis(10),
            timeout: Duration::from_millis(5),
            timeout_increment: Duration::ZERO,
            timeout_max: Duration::from_millis(5),
        },
        defect,
        ..MultiPaxosConfig::default()
    }
}

/// The model `dsys check multi-paxos` explores: `nodes` replicas,
/// replicas 0 and 1 each proposing `+1` once they lead, timers firing at
/// most [`MODEL_TIMERS_MAX`] times, and log agreement in every state.
pub fn model(nodes: usize, defect: Option<Defect>) -> Model<ModelMultiPaxos> {
    let config = model_config(defect);
    let build = move |disk: Durable<u64>| {
        MultiPaxos::with_any_timing(config.clone(), Stable::new(disk), Counter::default())
    };
    let restart = build.clone();
    let mut model = Model::new(nodes, move |_| build(Durable::default()))
        .restart_from(move |_, old: &ModelMultiPaxos| restart(old.durable().clone()))
        .local_clocks()
        .timers_max(MODEL_TIMERS_MAX)
        .property(Property::always(
            "Log agreement: no two replicas know different entries as chosen for one slot",
            log_agreement,
        ))
        .property(Property::sometimes(
            "a command is chosen",
            |nodes: &[Option<ModelMultiPaxos>]| nodes.iter().flatten().any(|n| !n.log().is_empty()),
        ));
    for i in 0..nodes.min(2) as u32 {
        model = model.request_when(
            NodeId(i),
            MultiPaxosRequest::Propose {
                id: u128::from(i) + 1,
                command: 1,
            },
            ModelMultiPaxos::is_leader,
        );
    }
    model
}

/// Log agreement in one state: every slot's chosen entry is the same at
/// every replica up that knows one.
pub fn log_agreement(nodes: &[Option<ModelMultiPaxos>]) -> Result<(), String> {
    let up: Vec<(usize, &ModelMultiPaxos)> = nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| Some((i, n.as_ref()?)))
        .collect();
    for (k, &(i, a)) in up.iter().enumerate() {
        for &(j, b) in &up[k + 1..] {
            for (slot, entry) in a.chosen() {
                if let Some(other) = b.chosen_entry(slot)
                    && other != entry
                {
                    return Err(format!(
                        "slot {slot}: n{i} holds {entry:?} as chosen but n{j} holds {other:?} \
                         (Paxos Made Simple §3)"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// `dsys check multi-paxos`.
pub(super) fn check_model(
    options: &ModelOptions,
    defect: Option<Defect>,
) -> dsys_core::Result<ModelVerdict> {
    Ok(model(options.nodes, defect).options(options).verdict())
}
