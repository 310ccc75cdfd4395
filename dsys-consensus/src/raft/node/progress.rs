//! What a leader knows of each follower's log (Raft Figure 2, `nextIndex`
//! and `matchIndex`) and how it replicates to it.

use std::collections::VecDeque;
use std::time::Duration;

use crate::raft::types::LogIndex;

/// What a leader knows of one follower (Raft Figure 2, `nextIndex` and
/// `matchIndex`, with pipelining state).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Progress {
    /// The next entry to send.
    pub(super) next: LogIndex,
    /// The highest entry known to be replicated on the follower.
    pub(super) matched: LogIndex,
    /// The last index of each AppendEntries in flight.
    pub(super) inflight: VecDeque<LogIndex>,
    /// Probing: one append at a time until the follower's log matches.
    /// `Some(prev)` while the probe with that previous index is in flight.
    pub(super) probe: Option<Option<LogIndex>>,
    /// When the follower last answered in this term.
    pub(super) last_ack: Duration,
    /// Answered since the last heartbeat tick.
    pub(super) responded: bool,
    /// The highest read round it confirmed.
    pub(super) read_ack: u64,
}

impl Progress {
    pub(super) fn new(next: LogIndex, now: Duration) -> Self {
        Progress {
            next,
            matched: 0,
            inflight: VecDeque::new(),
            probe: Some(None),
            last_ack: now,
            responded: true,
            read_ack: 0,
        }
    }
}
