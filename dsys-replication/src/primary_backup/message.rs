//! Primary-backup's messages, events and configuration.

use std::time::Duration;

use dsys_core::failure_detector::HeartbeatConfig;
use dsys_core::{Message, NodeId};
use serde::{Deserialize, Serialize};

use crate::consistency::models::{KvOp, KvRet};
use crate::kv::{Answer, RequestId, Store};

/// One executed request, as the primary sends it to the backups: the
/// request's id, the operation, and the response it produced (the
/// lecture's "updated state, response and unique identifier").
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entry {
    /// The request.
    pub id: RequestId,
    /// What it does.
    pub op: KvOp,
    /// What the primary answered.
    pub ret: KvRet,
}

/// What replicas tell each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PbMsg {
    /// "I am alive, in `view`" — every replica to every other, each
    /// heartbeat period (any message also counts as a heartbeat).
    Heartbeat {
        /// The sender's view.
        view: u64,
        /// How far the sender knows requests are committed (a backup
        /// learns its primary's commit point from it when no update
        /// comes).
        committed: u64,
    },
    /// **Agreement**: the primary's executed requests, from position
    /// `first` on, and how far it knows they are committed.
    Update {
        /// The primary's view.
        view: u64,
        /// The position of `entries[0]` in the order of requests.
        first: u64,
        /// The requests, in order.
        entries: Vec<Entry>,
        /// Requests up to here are acknowledged by enough backups.
        committed: u64,
    },
    /// A backup has executed every request up to `index` in `view`.
    Ack {
        /// The backup's view.
        view: u64,
        /// Its position.
        index: u64,
    },
    /// "The primary of the current view seems to have failed; move to
    /// `view`."
    StartViewChange {
        /// The proposed view.
        view: u64,
    },
    /// A replica's vote for `view`, to that view's primary: it will take no
    /// more updates from older views, and here is its state.
    DoViewChange {
        /// The view voted for.
        view: u64,
        /// The last view in which the sender was in normal operation.
        last_normal: u64,
        /// How far the sender knows requests are committed.
        committed: u64,
        /// The sender's state.
        store: Store,
    },
    /// The primary of `view` starts it (or brings a late replica into it):
    /// its whole state.
    StartView {
        /// The view.
        view: u64,
        /// How far requests are committed.
        committed: u64,
        /// The state every backup adopts.
        store: Store,
    },
}

impl Message for PbMsg {}

/// What a replica tells its application (and the simulation's observers).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PbEvent {
    /// **Response**: an answer to a client's call.
    Answer(Answer),
    /// This replica became the primary of `view`, its state at `index`.
    ViewStarted {
        /// The view.
        view: u64,
        /// Requests executed in the state it took over.
        index: u64,
    },
}

/// The one timer: heartbeats, suspicion, retransmission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tick;

/// How many replicas a primary needs before it answers, and how many
/// votes a new primary needs before it takes over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Quorum {
    /// A majority of all replicas (`2f + 1` replicas tolerate `f` crashes).
    /// Two majorities always share a replica, so a primary cut off from
    /// the majority can answer nothing, whatever the failure detector
    /// believes: no split brain.
    #[default]
    Majority,
    /// Every replica the failure detector does not suspect — the
    /// lecture's `f + 1` replicas for `f` crashes, which is right only
    /// while the detector is: a false suspicion (a partition, a slow link)
    /// lets two primaries answer at once, **split brain**.
    Unsuspected,
}

/// A deliberately broken primary-backup, to see what a rule protects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Defect {
    /// The primary answers as soon as it has executed a request, without
    /// waiting for the backups' acknowledgements: a primary that crashes
    /// right after answering takes an acknowledged write with it ("why do
    /// we wait for acknowledgements?").
    AnswersBeforeAcks,
}

/// Primary-backup's settings.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PrimaryBackupConfig {
    /// The failure detector's timing (heartbeat period, suspicion timeout).
    pub heartbeat: HeartbeatConfig,
    /// A view change that has not completed in this long moves on to the
    /// next view (its primary may have crashed too).
    pub view_change_timeout: Duration,
    /// Who must acknowledge before an answer, and vote before a takeover.
    pub quorum: Quorum,
    /// Executed requests the primary keeps for backups that fall behind;
    /// a backup further behind gets the whole state instead.
    pub log_max: usize,
    /// Requests per Update when a backup catches up.
    pub batch_max: usize,
    /// Local reads a replica holds while its state catches up with the
    /// client's token; beyond, it redirects.
    pub parked_reads_max: usize,
    /// Client sessions the store keeps ([`Store::with_sessions_max`]).
    pub sessions_max: usize,
    /// A deliberate bug, or `None`.
    pub defect: Option<Defect>,
}

impl Default for PrimaryBackupConfig {
    fn default() -> Self {
        PrimaryBackupConfig {
            heartbeat: HeartbeatConfig {
                period: Duration::from_millis(20),
                timeout: Duration::from_millis(100),
                ..HeartbeatConfig::default()
            },
            view_change_timeout: Duration::from_millis(200),
            quorum: Quorum::Majority,
            log_max: 1_024,
            batch_max: 64,
            parked_reads_max: 256,
            sessions_max: crate::kv::SESSIONS_MAX,
            defect: None,
        }
    }
}

/// The answer that sends call `id` elsewhere: to `hint`, if it names a replica.
pub(super) fn not_primary(id: RequestId, hint: Option<NodeId>) -> PbEvent {
    PbEvent::Answer(Answer::NotPrimary { id, hint })
}
