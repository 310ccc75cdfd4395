//! The data Raft keeps and sends: log entries, membership, durable state,
//! snapshots.

use std::collections::BTreeSet;
use std::fmt;

use dsys_core::NodeId;
use serde::{Deserialize, Serialize};

/// A term number (Raft §5.1): a logical clock that increases with every
/// election. At most one leader is elected per term.
pub type Term = u64;

/// A position in the replicated log, from 1. Index 0 is the empty log's
/// "previous entry".
pub type LogIndex = u64;

/// A request id chosen by the local caller, echoed in the events that answer
/// the request.
pub type RequestId = u128;

/// One entry of the replicated log.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entry<C> {
    /// The term of the leader that created it.
    pub term: Term,
    /// Its position in the log.
    pub index: LogIndex,
    /// What it carries.
    pub payload: Payload<C>,
}

/// What a log entry carries.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Payload<C> {
    /// Appended by every new leader at the start of its term (Raft §8): once
    /// it commits, the leader knows which entries are committed, and may
    /// serve reads and change the membership.
    Noop,
    /// A command for the state machine, with the client session that makes
    /// retries exactly-once (if the client uses one).
    Command {
        /// The client session and sequence number, for duplicate suppression.
        session: Option<Session>,
        /// The command.
        command: C,
    },
    /// A new membership (dissertation §4.1): in force as soon as it is in a
    /// server's log, committed or not.
    Membership(Membership),
    /// Opens a client session (dissertation §6.3, RegisterClient): once
    /// applied, the session whose id is this entry's index is in the
    /// session table. Nothing is applied to the state machine.
    OpenSession,
}

/// A client session (dissertation §6.3): a client opens a session
/// ([`RaftRequest::OpenSession`]) and numbers its commands 1, 2, 3 …; the
/// state machine applies each (client, seq) at most once and remembers the
/// latest answer, so a retried command is answered, not applied twice.
///
/// The session table is bounded ([`RaftConfig::sessions_max`]): opening a
/// session when it is full expires the least recently used one. A command
/// of an expired session is refused ([`Rejection::SessionExpired`]), never
/// applied as new; its client must open a new session.
///
/// [`RaftRequest::OpenSession`]: super::RaftRequest::OpenSession
/// [`RaftConfig::sessions_max`]: super::RaftConfig::sessions_max
/// [`Rejection::SessionExpired`]: super::Rejection::SessionExpired
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Session {
    /// The session's id, as the cluster assigned it: the index of the log
    /// entry that opened it ([`RaftEvent::SessionOpened`]). Ids are never
    /// reused, so an expired session cannot come back to life.
    ///
    /// [`RaftEvent::SessionOpened`]: super::RaftEvent::SessionOpened
    pub client: u64,
    /// The command's sequence number in that client's session, from 1.
    pub seq: u64,
}

/// Who takes part: voters elect and form quorums; learners receive the log
/// but neither vote nor count towards a quorum.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Membership {
    /// The voting members.
    pub voters: BTreeSet<NodeId>,
    /// Non-voting members catching up (or staying as read replicas).
    pub learners: BTreeSet<NodeId>,
}

impl Membership {
    /// A membership of `voters` and no learners.
    pub fn voters(voters: impl IntoIterator<Item = NodeId>) -> Self {
        Membership {
            voters: voters.into_iter().collect(),
            learners: BTreeSet::new(),
        }
    }

    /// Is `node` a voter or a learner?
    pub fn contains(&self, node: NodeId) -> bool {
        self.voters.contains(&node) || self.learners.contains(&node)
    }

    /// How many voters make a majority.
    pub fn quorum(&self) -> usize {
        self.voters.len() / 2 + 1
    }

    /// Every member, voters and learners.
    pub fn members(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.voters.iter().chain(self.learners.iter()).copied()
    }
}

impl fmt::Display for Membership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |set: &BTreeSet<NodeId>| {
            set.iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        write!(f, "voters {{{}}}", list(&self.voters))?;
        if !self.learners.is_empty() {
            write!(f, " learners {{{}}}", list(&self.learners))?;
        }
        Ok(())
    }
}

/// The state a server must make durable before it answers (Raft Figure 2,
/// "persistent state"), apart from the log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HardState {
    /// The latest term this server has seen.
    pub term: Term,
    /// The candidate it voted for in `term`, if any.
    pub voted_for: Option<NodeId>,
}

/// What a snapshot replaces: the log up to and including `index`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SnapshotMeta {
    /// The last entry the snapshot covers.
    pub index: LogIndex,
    /// That entry's term.
    pub term: Term,
    /// The membership in force at `index`.
    pub membership: Membership,
}

/// A snapshot of the state machine (and the client sessions) at
/// `meta.index` (Raft §7).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Snapshot {
    /// Where it stands in the log.
    pub meta: SnapshotMeta,
    /// The encoded state, opaque to storage.
    pub data: Vec<u8>,
}

/// A server's role (Raft §5.1), with the pre-vote phase of dissertation
/// §9.6 as a role of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    /// Follows a leader, or waits for one.
    Follower,
    /// Asks whether it could win an election, without raising its term.
    PreCandidate,
    /// Asks for votes in a new term.
    Candidate,
    /// Leads its term.
    Leader,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Follower => "follower",
            Role::PreCandidate => "pre-candidate",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        })
    }
}
