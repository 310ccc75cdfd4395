//! # CAP as a run
//!
//! **The theorem** (Brewer, 2000; Gilbert & Lynch, 2002). A replicated
//! store cannot be both **C**onsistent (linearizable) and **A**vailable
//! (every call to a live replica is answered) when the network can
//! **P**artition: a replica cut off from the others that answers a read
//! cannot know of a write the other side has just acknowledged. Since
//! partitions happen, a design chooses what to give up while one lasts.
//!
//! **The run.** Five replicas, `{n0, n1} | {n2, n3, n4}` cut apart for a
//! while; two clients on each side, each reaching only its side's
//! replicas, call the store throughout. The same clients and the same
//! partition run against two designs:
//!
//! - [`Choice::Consistent`] — the store over [Raft](crate::kv::consensus):
//!   a write needs a majority, so the minority side answers nothing until
//!   the partition heals, and the history stays linearizable (CP).
//! - [`Choice::Available`] — [primary-backup](crate::primary_backup) that
//!   trusts its failure detector ([`Quorum::Unsuspected`]): each side
//!   suspects the other, each has a primary, each keeps answering — and
//!   the checker finds the history not linearizable (AP).
//!
//! ```
//! use dsys_replication::cap::{run, Choice};
//!
//! let cp = run(Choice::Consistent, 1).unwrap();
//! assert!(cp.report.holds(), "Raft stays linearizable");
//! assert_eq!(cp.minority.answered, 0, "and the minority side answers nothing");
//!
//! let ap = run(Choice::Available, 1).unwrap();
//! assert_eq!(ap.minority.answered, ap.minority.calls, "both sides answer everything");
//! assert!(!ap.report.holds(), "and the history is not linearizable");
//! ```

use std::time::Duration;

use dsys_consensus::raft::RaftConfig;
use dsys_core::sim::Simulation;
use dsys_core::NodeId;

use crate::consistency::check_linearizable;
use crate::consistency::history::History;
use crate::consistency::models::{Kv, KvOp, KvRet};
use crate::consistency::report::{Budget, Report};
use crate::kv::consensus::raft_factory;
use crate::kv::simulate::{drive, Outcome, Workload};
use crate::kv::Replica;
use crate::primary_backup::{PrimaryBackup, PrimaryBackupConfig, Quorum};

/// When the partition starts.
pub const PARTITION_FROM: Duration = Duration::from_millis(1_000);
/// When it heals.
pub const PARTITION_TO: Duration = Duration::from_millis(2_500);

/// What the store gives up during a partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Choice {
    /// Availability: Raft, majority or nothing.
    Consistent,
    /// Consistency: primary-backup trusting its failure detector.
    Available,
}

/// How long before the partition heals a call must be made to count: a
/// call made at the last moment has had no time to be answered.
pub const ANSWER_TIME: Duration = Duration::from_millis(200);

/// Calls made on one side while the partition lasted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Side {
    /// Calls invoked during the partition (from its start to
    /// [`ANSWER_TIME`] before it healed).
    pub calls: u64,
    /// Of those, answered before it healed.
    pub answered: u64,
}

impl Side {
    /// Answered calls, in percent (100 when there were none).
    pub fn percent(&self) -> f64 {
        if self.calls == 0 {
            100.0
        } else {
            self.answered as f64 * 100.0 / self.calls as f64
        }
    }
}

/// One design's run.
#[derive(Clone, Debug)]
pub struct CapOutcome {
    /// The design.
    pub choice: Choice,
    /// The `{n0, n1}` side's calls.
    pub minority: Side,
    /// The `{n2, n3, n4}` side's calls.
    pub majority: Side,
    /// Every call of the run.
    pub history: History<KvOp, KvRet>,
    /// The linearizability checker's report on it.
    pub report: Report<<Kv as crate::consistency::model::Model>::State>,
}

/// Runs `choice` through the partition, with clients' choices drawn from
/// `seed`.
pub fn run(choice: Choice, seed: u64) -> crate::Result<CapOutcome> {
    let minority = vec![NodeId(0), NodeId(1)];
    let majority = vec![NodeId(2), NodeId(3), NodeId(4)];
    let workload = Workload {
        sides: vec![minority.clone(), majority.clone()],
        duration: PARTITION_TO + Duration::from_millis(500),
        settle: Duration::from_millis(1_000),
        ..Workload::default()
    };
    let outcome = match choice {
        Choice::Consistent => {
            let sim = Simulation::new(5, seed, raft_factory(RaftConfig::default()));
            partitioned(sim, &minority, &majority, &workload, seed)?
        }
        Choice::Available => {
            let config = PrimaryBackupConfig {
                quorum: Quorum::Unsuspected,
                ..PrimaryBackupConfig::default()
            };
            let sim = Simulation::new(5, seed, move |_| PrimaryBackup::new(config.clone()));
            partitioned(sim, &minority, &majority, &workload, seed)?
        }
    };
    let mut sides = [Side::default(); 2];
    let (from, to) = (nanos(PARTITION_FROM), nanos(PARTITION_TO));
    let last_call = nanos(PARTITION_TO - ANSWER_TIME);
    for op in outcome.history.ops() {
        if op.invoke < from || op.invoke >= last_call {
            continue;
        }
        let side = &mut sides[outcome.slots[&op.client] % 2];
        side.calls += 1;
        if op.complete.is_some_and(|t| t < to) && op.output.is_some() {
            side.answered += 1;
        }
    }
    let report = check_linearizable(&Kv, &outcome.history, Budget::default());
    Ok(CapOutcome {
        choice,
        minority: sides[0],
        majority: sides[1],
        history: outcome.history,
        report,
    })
}

fn partitioned<R: Replica>(
    mut sim: Simulation<R>,
    minority: &[NodeId],
    majority: &[NodeId],
    workload: &Workload,
    seed: u64,
) -> crate::Result<Outcome> {
    let (a, b) = (minority.to_vec(), majority.to_vec());
    sim.call_at(PARTITION_FROM, move |sim| {
        sim.partition(&a, &b)
            .expect("the sides are nodes of the cluster")
    });
    sim.call_at(PARTITION_TO, |sim| sim.heal());
    drive(&mut sim, workload, seed)
}

fn nanos(t: Duration) -> u64 {
    u64::try_from(t.as_nanos()).unwrap_or(u64::MAX)
}
