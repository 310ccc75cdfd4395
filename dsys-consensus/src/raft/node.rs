//! The Raft server: a [`Node`] that elects, replicates, commits, applies,
//! compacts and changes membership. The essay is in the [`super`] module.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use dsys_core::{Context, Node, NodeId};

use super::log::Log;
use super::message::{Msg, RaftEvent, RaftRequest, Rejection, Vote};
use super::state_machine::StateMachine;
use super::storage::Storage;
use super::types::{
    HardState, LogIndex, Membership, RequestId, Role, Snapshot, SnapshotMeta, Term,
};
use crate::{Error, Result};
use apply::{SessionEntry, SnapshotData};
use progress::Progress;
use reads::PendingRead;
use requests::Transfer;

mod apply;
mod config;
mod election;
mod follower;
mod membership;
mod progress;
mod quorum;
mod reads;
mod replication;
mod requests;

pub use config::{Defect, RaftConfig};

/// Raft's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// The election timeout of a follower or candidate.
    Election,
    /// A leader's heartbeat.
    Heartbeat,
}

/// A Raft server.
///
/// Built with [`Raft::new`] from a configuration, a [`Storage`] handle
/// (read back at once: a restarted server resumes from it) and the
/// application's [`StateMachine`]. See the [module essay](super) for the
/// algorithm and an example.
///
/// **As a value, for model checking.** A server keeps every durable field
/// (term, vote, log, snapshot) in memory and treats storage as a
/// write-ahead record that it reads only in [`Raft::new`]. So its protocol
/// state is all in the struct, and:
///
/// - `==` and `Hash` (when the state machine, its queries and its outputs
///   have them) compare everything *except the storage handle*: what
///   storage holds mirrors the term, vote, log and snapshot, which are
///   compared, and a handle is not a value (two [`MemStorage`] handles are
///   equal as data only by locking both). Two servers that were driven
///   alike are equal, whatever storage they write to.
/// - `Clone` (when the state machine and the handle are `Clone`) clones the
///   handle: a cloned [`MemStorage`] is the *same* storage, shared. A
///   model checker that clones states must therefore not share a handle
///   between branches that later crash and restart; it should build
///   restarted servers from a storage of its own per branch.
///
/// [`MemStorage`]: super::MemStorage
#[derive(Clone)]
pub struct Raft<SM: StateMachine, S> {
    config: RaftConfig,
    storage: S,
    sm: SM,
    id: NodeId,
    // Durable (mirrors storage).
    term: Term,
    voted_for: Option<NodeId>,
    log: Log<SM::Command>,
    snapshot: Snapshot,
    // Volatile.
    membership: Membership,
    commit: LogIndex,
    applied: LogIndex,
    role: Role,
    leader: Option<NodeId>,
    announced: Option<(Term, Role, Option<NodeId>)>,
    election_deadline: Duration,
    /// When the pending election timer fires, if one is pending.
    election_timer: Option<Duration>,
    /// Whether the leader's heartbeat timer is pending.
    heartbeat_timer: bool,
    last_leader_contact: Option<Duration>,
    votes: BTreeSet<NodeId>,
    // Leader only.
    leader_since: Duration,
    progress: BTreeMap<NodeId, Progress>,
    pending: VecDeque<(LogIndex, RequestId)>,
    reads: VecDeque<PendingRead<SM::Query>>,
    read_round: u64,
    transfer: Option<Transfer>,
    // Replicated with the state machine.
    sessions: BTreeMap<u64, SessionEntry<SM::Output>>,
    halted: Option<String>,
}

impl<SM: StateMachine, S> fmt::Debug for Raft<SM, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Raft")
            .field("id", &self.id)
            .field("term", &self.term)
            .field("role", &self.role)
            .field("leader", &self.leader)
            .field("voted_for", &self.voted_for)
            .field("last_index", &self.log.last_index())
            .field("commit", &self.commit)
            .field("applied", &self.applied)
            .field("membership", &self.membership)
            .finish_non_exhaustive()
    }
}

/// Equality of protocol state; the storage handle is left out (see
/// [`Raft`]).
impl<SM, S> PartialEq for Raft<SM, S>
where
    SM: StateMachine + PartialEq,
    SM::Query: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        // Destructured, so that a new field cannot be forgotten here.
        let Raft {
            config,
            storage: _,
            sm,
            id,
            term,
            voted_for,
            log,
            snapshot,
            membership,
            commit,
            applied,
            role,
            leader,
            announced,
            election_deadline,
            election_timer,
            heartbeat_timer,
            last_leader_contact,
            votes,
            leader_since,
            progress,
            pending,
            reads,
            read_round,
            transfer,
            sessions,
            halted,
        } = self;
        *config == other.config
            && *sm == other.sm
            && *id == other.id
            && *term == other.term
            && *voted_for == other.voted_for
            && *log == other.log
            && *snapshot == other.snapshot
            && *membership == other.membership
            && *commit == other.commit
            && *applied == other.applied
            && *role == other.role
            && *leader == other.leader
            && *announced == other.announced
            && *election_deadline == other.election_deadline
            && *election_timer == other.election_timer
            && *heartbeat_timer == other.heartbeat_timer
            && *last_leader_contact == other.last_leader_contact
            && *votes == other.votes
            && *leader_since == other.leader_since
            && *progress == other.progress
            && *pending == other.pending
            && *reads == other.reads
            && *read_round == other.read_round
            && *transfer == other.transfer
            && *sessions == other.sessions
            && *halted == other.halted
    }
}

impl<SM, S> Eq for Raft<SM, S>
where
    SM: StateMachine + Eq,
    SM::Query: Eq,
    SM::Output: Eq,
{
}

/// Hashes what `==` compares: the protocol state, not the storage handle.
impl<SM, S> Hash for Raft<SM, S>
where
    SM: StateMachine + Hash,
    SM::Query: Hash,
    SM::Output: Hash,
{
    fn hash<H: Hasher>(&self, state: &mut H) {
        let Raft {
            config,
            storage: _,
            sm,
            id,
            term,
            voted_for,
            log,
            snapshot,
            membership,
            commit,
            applied,
            role,
            leader,
            announced,
            election_deadline,
            election_timer,
            heartbeat_timer,
            last_leader_contact,
            votes,
            leader_since,
            progress,
            pending,
            reads,
            read_round,
            transfer,
            sessions,
            halted,
        } = self;
        config.hash(state);
        sm.hash(state);
        id.hash(state);
        term.hash(state);
        voted_for.hash(state);
        log.hash(state);
        snapshot.hash(state);
        membership.hash(state);
        commit.hash(state);
        applied.hash(state);
        role.hash(state);
        leader.hash(state);
        announced.hash(state);
        election_deadline.hash(state);
        election_timer.hash(state);
        heartbeat_timer.hash(state);
        last_leader_contact.hash(state);
        votes.hash(state);
        leader_since.hash(state);
        progress.hash(state);
        pending.hash(state);
        reads.hash(state);
        read_round.hash(state);
        transfer.hash(state);
        sessions.hash(state);
        halted.hash(state);
    }
}

impl<SM, S> Raft<SM, S>
where
    SM: StateMachine,
    S: Storage<SM::Command>,
{
    /// A server over `storage` and `state_machine`. Whatever `storage` holds
    /// is read back now: term, vote, snapshot (restored into the state
    /// machine) and log. Errors if the configuration is invalid or storage
    /// cannot be read.
    pub fn new(config: RaftConfig, mut storage: S, mut state_machine: SM) -> Result<Self> {
        config.validate()?;
        let recovered = storage.load()?;
        let mut sessions = BTreeMap::new();
        let snapshot = recovered.snapshot.unwrap_or_default();
        if snapshot.meta.index > 0 {
            let data: SnapshotData<SM::Output> = postcard::from_bytes(&snapshot.data)
                .map_err(|e| Error::Snapshot(format!("stored snapshot does not decode: {e}")))?;
            state_machine.restore(&data.state).map_err(|e| {
                Error::Snapshot(format!(
                    "the state machine refused the stored snapshot: {e}"
                ))
            })?;
            sessions = data.sessions.into_iter().collect();
        }
        let log = Log::new(snapshot.meta.index, snapshot.meta.term, recovered.entries);
        let applied = snapshot.meta.index;
        Ok(Raft {
            config,
            storage,
            sm: state_machine,
            id: NodeId(0),
            term: recovered.hard_state.term,
            voted_for: recovered.hard_state.voted_for,
            log,
            snapshot,
            membership: Membership::default(),
            commit: applied,
            applied,
            role: Role::Follower,
            leader: None,
            announced: None,
            election_deadline: Duration::ZERO,
            election_timer: None,
            heartbeat_timer: false,
            last_leader_contact: None,
            votes: BTreeSet::new(),
            leader_since: Duration::ZERO,
            progress: BTreeMap::new(),
            pending: VecDeque::new(),
            reads: VecDeque::new(),
            read_round: 0,
            transfer: None,
            sessions,
            halted: None,
        })
    }
}

/// Read access, for checkers, examples and applications.
impl<SM: StateMachine, S> Raft<SM, S> {
    /// This server's id (known once started).
    pub fn id(&self) -> NodeId {
        self.id
    }
    /// The current term.
    pub fn term(&self) -> Term {
        self.term
    }
    /// The candidate voted for in the current term.
    pub fn voted_for(&self) -> Option<NodeId> {
        self.voted_for
    }
    /// The current role.
    pub fn role(&self) -> Role {
        self.role
    }
    /// Is this server the leader?
    pub fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }
    /// The leader this server knows of.
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }
    /// The log (after the snapshot).
    pub fn log(&self) -> &Log<SM::Command> {
        &self.log
    }
    /// The highest index known to be committed.
    pub fn commit_index(&self) -> LogIndex {
        self.commit
    }
    /// The highest index applied to the state machine.
    pub fn last_applied(&self) -> LogIndex {
        self.applied
    }
    /// The membership in force (the latest in the log).
    pub fn membership(&self) -> &Membership {
        &self.membership
    }
    /// The state machine.
    pub fn state_machine(&self) -> &SM {
        &self.sm
    }
    /// The latest snapshot's metadata (index 0: none).
    pub fn snapshot_meta(&self) -> &SnapshotMeta {
        &self.snapshot.meta
    }
    /// Why the server stopped, if storage failed.
    pub fn halted(&self) -> Option<&str> {
        self.halted.as_deref()
    }
    /// The configuration.
    pub fn config(&self) -> &RaftConfig {
        &self.config
    }
    /// The storage the server writes to (a model checker rebuilds a
    /// restarted server from a copy of it).
    pub fn storage(&self) -> &S {
        &self.storage
    }
}

type Ctx<'a, SM, S> = Context<'a, Raft<SM, S>>;

impl<SM, S> Raft<SM, S>
where
    SM: StateMachine,
    S: Storage<SM::Command>,
{
    // ----- durability ----------------------------------------------------

    /// Stops the server for good: its storage can no longer be trusted.
    fn halt(&mut self, ctx: &mut Ctx<'_, SM, S>, error: Error) {
        tracing::error!(node = %self.id, %error, "storage failed; halting");
        self.step_down_cleanup(ctx);
        self.fail_transfer(ctx);
        self.role = Role::Follower;
        self.halted = Some(error.to_string());
        ctx.emit(RaftEvent::Halted {
            reason: error.to_string(),
        });
    }

    fn persist_hard_state(&mut self, ctx: &mut Ctx<'_, SM, S>) -> bool {
        let state = HardState {
            term: self.term,
            voted_for: self.voted_for,
        };
        match self.storage.save_hard_state(&state) {
            Ok(()) => true,
            Err(e) => {
                self.halt(ctx, e);
                false
            }
        }
    }

    // ----- roles ---------------------------------------------------------

    fn is_voter(&self, node: NodeId) -> bool {
        self.membership.voters.contains(&node)
    }

    fn others(&self) -> Vec<NodeId> {
        self.membership
            .members()
            .filter(|&n| n != self.id)
            .collect()
    }

    /// Emits [`RaftEvent::RoleChanged`] if term, role or leader changed.
    fn announce(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        let now = (self.term, self.role, self.leader);
        if self.announced != Some(now) {
            self.announced = Some(now);
            tracing::debug!(node = %self.id, term = self.term, role = %self.role, leader = ?self.leader, "role");
            ctx.emit(RaftEvent::RoleChanged {
                term: self.term,
                role: self.role,
                leader: self.leader,
            });
        }
    }

    /// Leaves leadership behind: answers what was waiting on it.
    fn step_down_cleanup(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        if self.role != Role::Leader {
            return;
        }
        for (_, id) in self.pending.drain(..) {
            ctx.emit(RaftEvent::Rejected {
                id,
                reason: Rejection::LeadershipLost,
            });
        }
        for read in self.reads.drain(..) {
            ctx.emit(RaftEvent::Rejected {
                id: read.id,
                reason: Rejection::NotLeader { leader: None },
            });
        }
        // Dissertation §3.10: the transfer is settled by who leads next,
        // which may not be known yet.
        self.settle_transfer(ctx, self.leader);
        self.progress.clear();
        self.cancel_heartbeat_timer(ctx);
    }

    /// Becomes a follower. The election timeout is drawn anew when
    /// `reset_timer` (heard from a leader, stepping down on purpose) or
    /// when leaving leadership (no timer runs then); a higher term alone
    /// does not reset it (Raft Figure 2: only a leader's append or a
    /// granted vote does), so a candidate that keeps being refused cannot
    /// keep a voter from standing itself.
    fn become_follower(
        &mut self,
        ctx: &mut Ctx<'_, SM, S>,
        leader: Option<NodeId>,
        reset_timer: bool,
    ) {
        let was_leader = self.role == Role::Leader;
        self.leader = leader;
        self.step_down_cleanup(ctx);
        self.role = Role::Follower;
        self.votes.clear();
        if reset_timer || was_leader || self.election_timer.is_none() {
            self.reset_election_deadline(ctx);
        }
    }

    /// Adopts a higher term seen in a message (Raft §5.1). Returns false if
    /// the server halted.
    fn observe_term(
        &mut self,
        ctx: &mut Ctx<'_, SM, S>,
        term: Term,
        leader: Option<NodeId>,
    ) -> bool {
        debug_assert!(term > self.term);
        self.term = term;
        self.voted_for = None;
        if !self.persist_hard_state(ctx) {
            return false;
        }
        self.become_follower(ctx, leader, false);
        true
    }
}

/// Terms (Raft §5.1), checked once for every message before its handler.
impl<SM, S> Raft<SM, S>
where
    SM: StateMachine,
    S: Storage<SM::Command>,
{
    /// A message of a newer term makes this server a follower of that term
    /// before anything else; a message of an older term is refused (a
    /// request, so its stale sender learns the newer term) or dropped (an
    /// answer). Returns whether the message's handler should run: it is of
    /// the current term, or it is a pre-vote, whose term is only a question.
    ///
    /// Two exceptions keep a higher term from being adopted: a vote request
    /// while a leader is known to be alive (dissertation §4.2.3, so a
    /// returning server cannot depose it), and TimeoutNow to a server that
    /// may not campaign.
    fn check_term(
        &mut self,
        ctx: &mut Ctx<'_, SM, S>,
        from: NodeId,
        msg: &Msg<SM::Command>,
    ) -> bool {
        match msg {
            // Dissertation §9.6: a pre-vote names the term its candidate
            // would stand in, and a granted answer echoes it; neither is
            // anyone's term yet. The handler compares it.
            Msg::RequestVote(request) if request.pre_vote => return true,
            Msg::Vote(vote) if vote.pre_vote && vote.granted => return true,
            _ => {}
        }
        let term = msg.term();
        if term > self.term {
            let leader = match msg {
                Msg::RequestVote(request) => {
                    if !request.transfer && self.in_lease(ctx.now()) {
                        // A leader is alive: do not let this candidate
                        // depose it.
                        return false;
                    }
                    None
                }
                Msg::TimeoutNow(_) if !self.may_campaign() => return false,
                Msg::AppendEntries(_) | Msg::InstallSnapshot(_) | Msg::TimeoutNow(_) => Some(from),
                Msg::Vote(_) | Msg::AppendResponse(_) => None,
            };
            if !self.observe_term(ctx, term, leader) {
                return false;
            }
            // An answer from a newer term only says that we are behind.
            return !matches!(msg, Msg::Vote(_) | Msg::AppendResponse(_));
        }
        if term < self.term {
            match msg {
                Msg::AppendEntries(append) => {
                    self.refuse_stale_leader(ctx, from, append.prev_log_index)
                }
                Msg::InstallSnapshot(install) => {
                    self.refuse_stale_leader(ctx, from, install.snapshot.meta.index)
                }
                Msg::RequestVote(_) => ctx.send(
                    from,
                    Msg::Vote(Vote {
                        term: self.term,
                        granted: false,
                        pre_vote: false,
                    }),
                ),
                Msg::Vote(_) | Msg::AppendResponse(_) | Msg::TimeoutNow(_) => {}
            }
            return false;
        }
        true
    }
}

impl<SM, S> Node for Raft<SM, S>
where
    SM: StateMachine,
    S: Storage<SM::Command>,
{
    type Msg = Msg<SM::Command>;
    type Timer = Timer;
    type Request = RaftRequest<SM::Command, SM::Query>;
    type Event = RaftEvent<SM::Output>;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.id = ctx.id();
        if self.snapshot.meta.index == 0 {
            // No snapshot: the bootstrap membership is what the log's
            // membership entries (if any) change, and what is in force if
            // they are all truncated away.
            self.snapshot.meta.membership =
                Membership::voters(self.config.initial_voters.clone().unwrap_or_else(|| {
                    std::iter::once(ctx.id())
                        .chain(ctx.peers().iter().copied())
                        .collect()
                }));
        }
        self.recompute_membership();
        self.reset_election_deadline(ctx);
        self.announce(ctx);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Self::Msg) {
        if self.halted.is_some() {
            return;
        }
        if !self.check_term(ctx, from, &msg) {
            if self.halted.is_none() {
                self.announce(ctx);
            }
            return;
        }
        match msg {
            Msg::RequestVote(request) => self.handle_request_vote(ctx, from, request),
            Msg::Vote(vote) => self.handle_vote(ctx, from, vote),
            Msg::AppendEntries(append) => self.handle_append_entries(ctx, from, append),
            Msg::AppendResponse(response) => self.handle_append_response(ctx, from, response),
            Msg::InstallSnapshot(install) => self.handle_install_snapshot(ctx, from, install),
            Msg::TimeoutNow(_) => self.handle_timeout_now(ctx),
        }
        if self.halted.is_none() {
            self.announce(ctx);
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Timer) {
        if self.halted.is_some() {
            return;
        }
        match timer {
            Timer::Election => self.on_election_timer(ctx),
            Timer::Heartbeat => self.on_heartbeat_timer(ctx),
        }
        if self.halted.is_none() {
            self.announce(ctx);
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Self::Request) {
        if self.halted.is_some() {
            let id = match &request {
                RaftRequest::Propose { id, .. }
                | RaftRequest::OpenSession { id }
                | RaftRequest::Read { id, .. }
                | RaftRequest::ChangeMembership { id, .. }
                | RaftRequest::TransferLeadership { id, .. } => *id,
                RaftRequest::Campaign | RaftRequest::Snapshot => return,
            };
            ctx.emit(RaftEvent::Rejected {
                id,
                reason: Rejection::Halted,
            });
            return;
        }
        self.handle_request(ctx, request);
        if self.halted.is_none() {
            self.announce(ctx);
        }
    }
}

#[cfg(test)]
mod tests;
