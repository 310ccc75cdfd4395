//! How a Raft server behaves ([`RaftConfig`]) and the deliberately broken
//! variants the checkers must catch ([`Defect`]).

use std::collections::BTreeSet;
use std::time::Duration;

use dsys_core::NodeId;

use crate::{Error, Result};

/// How a Raft server behaves. [`RaftConfig::default`] suits simulated
/// networks with 1–10 ms links and loopback TCP.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RaftConfig {
    /// The shortest election timeout (Raft §5.2). Each timeout is drawn
    /// uniformly from `election_timeout_min..=election_timeout_max`.
    pub election_timeout_min: Duration,
    /// The longest election timeout.
    pub election_timeout_max: Duration,
    /// How often a leader sends heartbeats (and retransmits lost appends):
    /// well below `election_timeout_min`.
    pub heartbeat_interval: Duration,
    /// Run a pre-vote before raising the term (dissertation §9.6), so a
    /// server that was cut off does not force an election when it returns.
    pub pre_vote: bool,
    /// A leader steps down when it has not heard from a quorum for an
    /// election timeout, and servers that heard from a leader within the
    /// minimum election timeout ignore vote requests (dissertation §6.2,
    /// §4.2.3).
    pub check_quorum: bool,
    /// At most this many entries per AppendEntries.
    pub append_entries_max: usize,
    /// At most this many AppendEntries in flight to one follower
    /// (pipelining); a follower that fails a check is probed one at a time.
    pub inflight_appends_max: usize,
    /// A leader refuses proposals ([`Rejection::Busy`]) while this many
    /// entries are uncommitted: bounded memory under overload.
    ///
    /// [`Rejection::Busy`]: crate::raft::Rejection::Busy
    pub uncommitted_entries_max: u64,
    /// Take a snapshot when this many applied entries follow the last one;
    /// 0 never snapshots automatically.
    pub snapshot_threshold: u64,
    /// At most this many client sessions are remembered (dissertation
    /// §6.3). Opening one more expires the least recently used
    /// (deterministically, by log index); commands of an expired session
    /// are refused with
    /// [`Rejection::SessionExpired`](crate::raft::Rejection::SessionExpired)
    /// from then on.
    pub sessions_max: usize,
    /// At most this many linearizable reads wait at once; more are refused
    /// with [`Rejection::Busy`](crate::raft::Rejection::Busy).
    pub pending_reads_max: usize,
    /// The voters of a new cluster (used only when storage is empty);
    /// `None` means every node of the cluster.
    pub initial_voters: Option<BTreeSet<NodeId>>,
    /// A deliberately broken variant, to show that the checkers catch it.
    /// `None` in any real use.
    pub defect: Option<Defect>,
}

impl Default for RaftConfig {
    fn default() -> Self {
        RaftConfig {
            election_timeout_min: Duration::from_millis(150),
            election_timeout_max: Duration::from_millis(300),
            heartbeat_interval: Duration::from_millis(50),
            pre_vote: true,
            check_quorum: true,
            append_entries_max: 1024,
            inflight_appends_max: 8,
            uncommitted_entries_max: 65_536,
            snapshot_threshold: 8192,
            sessions_max: 4096,
            pending_reads_max: 65_536,
            initial_voters: None,
            defect: None,
        }
    }
}

impl RaftConfig {
    /// Checks that the values make sense together.
    pub fn validate(&self) -> Result<()> {
        let bad = |why: &str| Err(Error::InvalidConfig(why.to_string()));
        if self.election_timeout_min.is_zero()
            || self.election_timeout_max < self.election_timeout_min
        {
            return bad("election timeouts must be non-zero, with min <= max");
        }
        if self.heartbeat_interval.is_zero() || self.heartbeat_interval >= self.election_timeout_min
        {
            return bad("heartbeat_interval must be non-zero and below election_timeout_min (a tenth of it is usual)");
        }
        if self.append_entries_max == 0 || self.inflight_appends_max == 0 {
            return bad("append_entries_max and inflight_appends_max must be at least 1");
        }
        if self.uncommitted_entries_max == 0 || self.sessions_max == 0 {
            return bad("uncommitted_entries_max and sessions_max must be at least 1");
        }
        if self.initial_voters.as_ref().is_some_and(|v| v.is_empty()) {
            return bad("initial_voters must name at least one voter (or be None for all nodes)");
        }
        Ok(())
    }
}

/// Deliberately broken variants of Raft, each caught by a checker in
/// [`crate::raft::properties`] (tests in `tests/raft.rs` show it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Defect {
    /// Commits an entry of an earlier term by counting replicas: the
    /// Figure 8 mistake (§5.4.2). Caught by Leader Completeness and State
    /// Machine Safety.
    CommitsPreviousTerm,
    /// Grants a vote to every candidate of a term, not just the first.
    /// Caught by Election Safety.
    GrantsTwoVotes,
    /// Replies to RequestVote before the vote is durable: after a crash it
    /// can vote again in the same term. Caught by Election Safety.
    VoteNotPersisted,
    /// Any server answers a read at once from its own state machine, with
    /// no read-index round (dissertation §6.4 skipped): a follower that is
    /// behind, or a deposed leader cut off by a partition, returns a stale
    /// value. The five properties judge logs and cannot see it; the
    /// linearizability checker on the clients' history does, and so does
    /// the model checker with clients ([`crate::raft::model::reads_model`]).
    ReadsWithoutReadIndex,
}
