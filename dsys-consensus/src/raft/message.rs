//! Raft's messages between servers (Raft Figure 2, §7 and dissertation §3.10,
//! §9.6), and the requests and events between a server and its application.

use std::fmt;

use dsys_core::{Message, NodeId};
use serde::{Deserialize, Serialize};

use super::types::{Entry, LogIndex, Membership, RequestId, Role, Session, Snapshot, Term};

/// A message between Raft servers. Each variant carries a struct of the same
/// name, so a handler takes one value. Its `Debug` is the struct's (the
/// variant name would only repeat it), as traces show it.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Msg<C> {
    /// RequestVote (§5.2), or its pre-vote twin (dissertation §9.6).
    RequestVote(RequestVote),
    /// The answer to RequestVote.
    Vote(Vote),
    /// AppendEntries (§5.3): replicate entries, or just assert leadership.
    AppendEntries(AppendEntries<C>),
    /// The answer to AppendEntries or InstallSnapshot.
    AppendResponse(AppendResponse),
    /// InstallSnapshot (§7).
    InstallSnapshot(InstallSnapshot),
    /// Leadership transfer (§3.10): "start an election now".
    TimeoutNow(TimeoutNow),
}

/// RequestVote (§5.2), or its pre-vote twin (dissertation §9.6) which asks
/// "would you vote for me in `term`?" without changing anyone's term.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RequestVote {
    /// The term the candidate stands in (for a pre-vote: the term it would
    /// stand in).
    pub term: Term,
    /// The candidate's last log index (§5.4.1, up-to-date check).
    pub last_log_index: LogIndex,
    /// The candidate's last log term.
    pub last_log_term: Term,
    /// A pre-vote: nobody's term or vote changes.
    pub pre_vote: bool,
    /// Leadership is being handed over (§3.10): a voter answers even though
    /// it heard from a leader recently.
    pub transfer: bool,
}

/// The answer to [`RequestVote`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Vote {
    /// The voter's term (for a granted pre-vote: the term asked about).
    pub term: Term,
    /// Whether the vote is granted.
    pub granted: bool,
    /// Whether this answers a pre-vote.
    pub pre_vote: bool,
}

/// AppendEntries (§5.3): replicate entries, or just assert leadership (a
/// heartbeat) when `entries` is empty.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AppendEntries<C> {
    /// The leader's term.
    pub term: Term,
    /// The index of the entry just before `entries`.
    pub prev_log_index: LogIndex,
    /// That entry's term: the consistency check.
    pub prev_log_term: Term,
    /// The entries to store (empty for a heartbeat).
    pub entries: Vec<Entry<C>>,
    /// The leader's commit index.
    pub leader_commit: LogIndex,
    /// The leader's read round, echoed back: a read-index confirmation.
    pub read_round: u64,
}

/// The answer to [`AppendEntries`] or [`InstallSnapshot`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AppendResponse {
    /// The follower's term.
    pub term: Term,
    /// On success, the follower's log matches the leader's up to here. On
    /// failure, the `prev_log_index` that did not match.
    pub index: LogIndex,
    /// Whether the consistency check passed.
    pub success: bool,
    /// On failure, where the leader should retry (fast back-off, §5.3): the
    /// first index of the conflicting term, or one past the follower's last
    /// entry.
    pub hint: LogIndex,
    /// The read round of the request answered.
    pub read_round: u64,
}

/// InstallSnapshot (§7): the leader has compacted the entries the follower
/// needs, so it sends the snapshot that replaced them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InstallSnapshot {
    /// The leader's term.
    pub term: Term,
    /// The snapshot.
    pub snapshot: Snapshot,
    /// The leader's read round.
    pub read_round: u64,
}

/// Leadership transfer (§3.10): the leader tells an up-to-date voter to
/// start an election now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TimeoutNow {
    /// The leader's term.
    pub term: Term,
}

impl<C: fmt::Debug> fmt::Debug for Msg<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Msg::RequestVote(m) => m.fmt(f),
            Msg::Vote(m) => m.fmt(f),
            Msg::AppendEntries(m) => m.fmt(f),
            Msg::AppendResponse(m) => m.fmt(f),
            Msg::InstallSnapshot(m) => m.fmt(f),
            Msg::TimeoutNow(m) => m.fmt(f),
        }
    }
}

impl<C> Message for Msg<C> where
    C: Clone + std::fmt::Debug + Send + Serialize + serde::de::DeserializeOwned + 'static
{
}

impl<C> Msg<C> {
    /// The sender's term (for a pre-vote request, and a granted pre-vote,
    /// the term asked about).
    pub fn term(&self) -> Term {
        match self {
            Msg::RequestVote(m) => m.term,
            Msg::Vote(m) => m.term,
            Msg::AppendEntries(m) => m.term,
            Msg::AppendResponse(m) => m.term,
            Msg::InstallSnapshot(m) => m.term,
            Msg::TimeoutNow(m) => m.term,
        }
    }
}

/// What the local application asks of its Raft server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftRequest<C, Q> {
    /// Replicate and apply `command`. Answered by
    /// [`RaftEvent::Proposed`] then [`RaftEvent::Applied`], or by
    /// [`RaftEvent::Rejected`] (e.g. this server is not the leader: the
    /// rejection names the leader it knows).
    Propose {
        /// Echoed in the answers.
        id: RequestId,
        /// The command.
        command: C,
        /// The client session, for exactly-once application of retries.
        session: Option<Session>,
    },
    /// Open a client session (dissertation §6.3, RegisterClient). Answered
    /// by [`RaftEvent::Proposed`] then [`RaftEvent::SessionOpened`] with
    /// the session's id, or by [`RaftEvent::Rejected`].
    OpenSession {
        /// Echoed in the answers.
        id: RequestId,
    },
    /// A linearizable read by read-index (dissertation §6.4): the leader
    /// notes its commit index, confirms it is still leader with a round of
    /// heartbeats, waits until it has applied that index, then answers.
    Read {
        /// Echoed in the answer.
        id: RequestId,
        /// The question.
        query: Q,
    },
    /// Change the membership by one server (dissertation §4.1).
    ChangeMembership {
        /// Echoed in the answers.
        id: RequestId,
        /// The change.
        change: MembershipChange,
    },
    /// Hand leadership to `to` (dissertation §3.10). Answered by
    /// [`RaftEvent::LeadershipTransferred`] once this server hears `to`
    /// lead a newer term, or by [`RaftEvent::Rejected`]
    /// ([`Rejection::TransferFailed`] if that is not seen within an
    /// election timeout).
    TransferLeadership {
        /// Echoed in the answer.
        id: RequestId,
        /// The next leader, a voter.
        to: NodeId,
    },
    /// Start an election now, even if a leader is alive: for operators and
    /// for scripted tests (the Figure 8 scenario).
    Campaign,
    /// Take a snapshot now, whatever the threshold.
    Snapshot,
}

/// A single-server membership change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MembershipChange {
    /// Add a learner: it receives the log but does not vote. Add a server as
    /// a learner first and promote it once it has caught up, so the cluster
    /// never waits on an empty voter (dissertation §4.2.1).
    AddLearner(NodeId),
    /// Add a voter (or promote a learner).
    AddVoter(NodeId),
    /// Remove a voter or learner.
    Remove(NodeId),
}

/// What a Raft server tells its application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftEvent<O> {
    /// The server's role, term or known leader changed.
    RoleChanged {
        /// The new term.
        term: Term,
        /// The new role.
        role: Role,
        /// The leader it knows of, if any.
        leader: Option<NodeId>,
    },
    /// A proposal is in the leader's log at `index` in `term`; it is not yet
    /// committed.
    Proposed {
        /// The request.
        id: RequestId,
        /// Where it is.
        index: LogIndex,
        /// The leader's term.
        term: Term,
    },
    /// A proposal committed and was applied; `output` is the state
    /// machine's answer (the remembered one, for a retried session command).
    Applied {
        /// The request.
        id: RequestId,
        /// Where it committed.
        index: LogIndex,
        /// The answer.
        output: O,
    },
    /// A session is open (dissertation §6.3): its commands carry
    /// [`Session`] `{ client, seq }` with this `client`, `seq` from 1.
    SessionOpened {
        /// The request.
        id: RequestId,
        /// The session's id: the index of the entry that opened it.
        client: u64,
    },
    /// A linearizable read's answer.
    ReadDone {
        /// The request.
        id: RequestId,
        /// The answer.
        output: O,
    },
    /// A leadership transfer succeeded (dissertation §3.10): its target
    /// leads `term`, a newer term than this server led.
    LeadershipTransferred {
        /// The request.
        id: RequestId,
        /// The new leader, the transfer's target.
        to: NodeId,
        /// The term it leads.
        term: Term,
    },
    /// A membership change is in force (appended) at `index`.
    MembershipChanged {
        /// The request.
        id: RequestId,
        /// Where the new membership is in the log.
        index: LogIndex,
        /// The new membership.
        membership: Membership,
    },
    /// A request was not carried out.
    Rejected {
        /// The request.
        id: RequestId,
        /// Why, and what to do.
        reason: Rejection,
    },
    /// A snapshot now covers the log up to `index`.
    SnapshotTaken {
        /// The last index it covers.
        index: LogIndex,
    },
    /// Storage failed; this server has stopped taking part. Restart it once
    /// storage is repaired.
    Halted {
        /// The storage error.
        reason: String,
    },
}

impl<O> RaftEvent<O> {
    /// The request this event answers, if it is an answer: applied,
    /// session opened, read done, transfer done, membership changed or
    /// rejected. (`Proposed` only acknowledges a request.)
    pub fn answers(&self) -> Option<RequestId> {
        match self {
            RaftEvent::Applied { id, .. }
            | RaftEvent::SessionOpened { id, .. }
            | RaftEvent::LeadershipTransferred { id, .. }
            | RaftEvent::ReadDone { id, .. }
            | RaftEvent::Rejected { id, .. }
            | RaftEvent::MembershipChanged { id, .. } => Some(*id),
            _ => None,
        }
    }
}

/// Why a request was not carried out.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// This server is not the leader; ask `leader` if known.
    NotLeader {
        /// The leader this server knows of.
        leader: Option<NodeId>,
    },
    /// The leader lost leadership before the proposal committed: it may
    /// still commit or may be lost. Retry with the same session to be safe.
    LeadershipLost,
    /// Too many uncommitted entries (`RaftConfig::uncommitted_entries_max`):
    /// retry later.
    Busy,
    /// Another membership change is not committed yet, or the leader has not
    /// committed an entry of its term: retry shortly.
    MembershipChangePending,
    /// The change makes no sense (removing a non-member, the last voter …).
    InvalidMembershipChange(String),
    /// A leadership transfer is under way: retry at the new leader.
    TransferInProgress,
    /// The leadership transfer was not seen to complete: within an
    /// election timeout the target did not become leader, as far as this
    /// server heard, or another server did. If this server still leads,
    /// it takes requests again.
    TransferFailed,
    /// The transfer target is not another voter.
    InvalidTransfer(String),
    /// This server halted after a storage failure.
    Halted,
    /// The session's command is older than the latest one applied for that
    /// client: its answer is no longer kept.
    StaleSession,
    /// The command's session is not in the session table: it expired (the
    /// table holds at most `RaftConfig::sessions_max` sessions and forgets
    /// the least recently used) or was never opened (dissertation §6.3).
    /// The command was not applied now; whether an earlier copy of it was
    /// is unknown, its answer being lost with the session. The client must
    /// open a new session ([`RaftRequest::OpenSession`]) and go on under it.
    SessionExpired {
        /// The session's id.
        client: u64,
    },
}

/// What went wrong, and what to do.
impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::NotLeader {
                leader: Some(leader),
            } => {
                write!(f, "this server is not the leader: ask {leader}")
            }
            Rejection::NotLeader { leader: None } => {
                f.write_str("this server is not the leader and knows of none: ask another server")
            }
            Rejection::LeadershipLost => f.write_str(
                "leadership was lost before the command committed: it may still commit; \
                 retry with the same session",
            ),
            Rejection::Busy => f.write_str("too many requests are waiting: retry later"),
            Rejection::MembershipChangePending => f.write_str(
                "another membership change is not committed yet, or the leader has not \
                 committed an entry of its term: retry shortly",
            ),
            Rejection::InvalidMembershipChange(why) => {
                write!(f, "invalid membership change: {why}")
            }
            Rejection::TransferInProgress => {
                f.write_str("a leadership transfer is under way: retry at the new leader")
            }
            Rejection::TransferFailed => f.write_str(
                "the leadership transfer was not seen to complete within an election timeout: \
                 ask again, or find out who leads",
            ),
            Rejection::InvalidTransfer(why) => write!(f, "invalid leadership transfer: {why}"),
            Rejection::Halted => f.write_str(
                "this server halted after a storage failure: restart it once storage is repaired",
            ),
            Rejection::StaleSession => f.write_str(
                "the command is older than the latest one its session applied: \
                 its answer is no longer kept",
            ),
            Rejection::SessionExpired { client } => write!(
                f,
                "session {client} has expired (or was never opened): the command was not \
                 applied now, and whether an earlier copy was is unknown; open a new session \
                 and go on under it"
            ),
        }
    }
}
