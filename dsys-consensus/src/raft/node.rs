//! The Raft server: a [`Node`] that elects, replicates, commits, applies,
//! compacts and changes membership. The essay is in the [`super`] module.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::time::Duration;

use dsys_core::{Context, Node, NodeId};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::log::Log;
use super::message::{MembershipChange, Msg, RaftEvent, RaftRequest, Rejection};
use super::state_machine::StateMachine;
use super::storage::Storage;
use super::types::{
    Entry, HardState, LogIndex, Membership, Payload, RequestId, Role, Snapshot, SnapshotMeta, Term,
};
use crate::{Error, Result};

/// How a Raft server behaves. [`RaftConfig::default`] suits simulated
/// networks with 1–10 ms links and loopback TCP.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    pub uncommitted_entries_max: u64,
    /// Take a snapshot when this many applied entries follow the last one;
    /// 0 never snapshots automatically.
    pub snapshot_threshold: u64,
    /// At most this many client sessions are remembered; the least recently
    /// used is forgotten first (deterministically, by log index).
    pub sessions_max: usize,
    /// At most this many linearizable reads wait at once; more are refused
    /// with [`Rejection::Busy`].
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
/// [`super::properties`] (tests in `tests/raft.rs` show it).
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
}

/// Raft's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// The election timeout of a follower or candidate.
    Election,
    /// A leader's heartbeat.
    Heartbeat,
}

/// What a leader knows of one follower (Raft Figure 2, `nextIndex` and
/// `matchIndex`, with pipelining state).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Progress {
    /// The next entry to send.
    next: LogIndex,
    /// The highest entry known to be replicated on the follower.
    matched: LogIndex,
    /// The last index of each AppendEntries in flight.
    inflight: VecDeque<LogIndex>,
    /// Probing: one append at a time until the follower's log matches.
    /// `Some(prev)` while the probe with that previous index is in flight.
    probe: Option<Option<LogIndex>>,
    /// When the follower last answered in this term.
    last_ack: Duration,
    /// Answered since the last heartbeat tick.
    responded: bool,
    /// The highest read round it confirmed.
    read_ack: u64,
}

impl Progress {
    fn new(next: LogIndex, now: Duration) -> Self {
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

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct PendingRead<Q> {
    id: RequestId,
    query: Q,
    index: LogIndex,
    round: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Transfer {
    id: RequestId,
    to: NodeId,
    deadline: Duration,
}

/// The client sessions table, part of the replicated state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct SessionEntry<O> {
    seq: u64,
    output: O,
    last_index: LogIndex,
}

/// What a snapshot's bytes hold: the sessions and the state machine.
#[derive(Serialize, Deserialize)]
struct SnapshotData<O> {
    sessions: Vec<(u64, SessionEntry<O>)>,
    state: Vec<u8>,
}

/// A Raft server.
///
/// Built with [`Raft::new`] from a configuration, a [`Storage`] handle
/// (read back at once: a restarted server resumes from it) and the
/// application's [`StateMachine`]. See the [module essay](super) for the
/// algorithm and an example.
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

    /// Draws a new election timeout and makes sure a timer fires by then.
    fn reset_election_deadline(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        let min = self.config.election_timeout_min.as_micros() as u64;
        let max = self.config.election_timeout_max.as_micros() as u64;
        let timeout = Duration::from_micros(ctx.rng().random_range(min..=max));
        self.election_deadline = ctx.now() + timeout;
        self.arm_election_timer(ctx);
    }

    fn arm_election_timer(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        match self.election_timer {
            // Fires at or before the deadline: it re-arms itself for the rest.
            Some(at) if at <= self.election_deadline => {}
            // None pending, or one firing too late: (re)set it, replacing it.
            _ => {
                let after = self.election_deadline.saturating_sub(ctx.now());
                ctx.set_timer(after, Timer::Election);
                self.election_timer = Some(self.election_deadline);
            }
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
        if let Some(transfer) = self.transfer.take() {
            if self.leader != Some(transfer.to) {
                ctx.emit(RaftEvent::Rejected {
                    id: transfer.id,
                    reason: Rejection::TransferFailed,
                });
            }
        }
        self.progress.clear();
        if std::mem::take(&mut self.heartbeat_timer) {
            ctx.cancel_timer(&Timer::Heartbeat);
        }
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

    /// May this server stand for election? A voter may; so may a server
    /// that its own latest, uncommitted configuration removes but the one
    /// before it includes (dissertation §4.2.2): until that configuration
    /// commits, the cluster may still need it to lead (and it does not
    /// count its own vote).
    fn may_campaign(&self) -> bool {
        if self.is_voter(self.id) {
            return true;
        }
        let latest = self
            .log
            .entries()
            .rev()
            .find(|e| matches!(e.payload, Payload::Membership(_)));
        match latest {
            Some(entry) if entry.index > self.commit => self
                .membership_at(entry.index - 1)
                .voters
                .contains(&self.id),
            _ => false,
        }
    }

    /// The votes a campaign starts with: its own, if it is a voter.
    fn own_vote(&self) -> BTreeSet<NodeId> {
        if self.is_voter(self.id) {
            BTreeSet::from([self.id])
        } else {
            BTreeSet::new()
        }
    }

    fn on_election_timeout(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        if !self.may_campaign() {
            // Learners and removed servers never campaign.
            self.reset_election_deadline(ctx);
            return;
        }
        if self.config.pre_vote {
            self.start_pre_vote(ctx);
        } else {
            self.start_election(ctx, false);
        }
    }

    fn request_votes(
        &mut self,
        ctx: &mut Ctx<'_, SM, S>,
        term: Term,
        pre_vote: bool,
        transfer: bool,
    ) {
        let msg = Msg::RequestVote {
            term,
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
            pre_vote,
            transfer,
        };
        for &voter in &self.membership.voters {
            if voter != self.id {
                ctx.send(voter, msg.clone());
            }
        }
    }

    fn start_pre_vote(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        self.step_down_cleanup(ctx);
        self.role = Role::PreCandidate;
        self.leader = None;
        self.votes = self.own_vote();
        self.reset_election_deadline(ctx);
        if self.votes.len() >= self.membership.quorum() {
            self.start_election(ctx, false);
            return;
        }
        self.request_votes(ctx, self.term + 1, true, false);
    }

    fn start_election(&mut self, ctx: &mut Ctx<'_, SM, S>, transfer: bool) {
        self.step_down_cleanup(ctx);
        self.term += 1;
        self.voted_for = Some(self.id);
        if !self.persist_hard_state(ctx) {
            return;
        }
        self.role = Role::Candidate;
        self.leader = None;
        self.votes = self.own_vote();
        self.reset_election_deadline(ctx);
        if self.votes.len() >= self.membership.quorum() {
            self.become_leader(ctx);
            return;
        }
        self.request_votes(ctx, self.term, false, transfer);
    }

    fn become_leader(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        let now = ctx.now();
        self.role = Role::Leader;
        self.leader = Some(self.id);
        self.leader_since = now;
        self.votes.clear();
        let next = self.log.last_index() + 1;
        self.progress = self
            .others()
            .into_iter()
            .map(|n| (n, Progress::new(next, now)))
            .collect();
        self.announce(ctx);
        // Raft §8: a no-op of the new term, so that earlier entries commit
        // with it (Figure 8) and reads and membership changes may proceed.
        if self.append_local(ctx, Payload::Noop).is_none() {
            return;
        }
        self.broadcast_append(ctx);
        self.advance_commit(ctx);
        ctx.set_timer(self.config.heartbeat_interval, Timer::Heartbeat);
        self.heartbeat_timer = true;
    }

    /// Is a leader known to be alive? Then vote requests are ignored
    /// (dissertation §4.2.3), so a returning server cannot disrupt it.
    fn in_lease(&self, now: Duration) -> bool {
        if !self.config.check_quorum {
            return false;
        }
        if self.role == Role::Leader {
            return true;
        }
        self.leader.is_some()
            && self
                .last_leader_contact
                .is_some_and(|at| now < at + self.config.election_timeout_min)
    }

    fn log_up_to_date(&self, last_log_index: LogIndex, last_log_term: Term) -> bool {
        // Raft §5.4.1: compare last terms, then lengths.
        (last_log_term, last_log_index) >= (self.log.last_term(), self.log.last_index())
    }

    // ----- elections -----------------------------------------------------

    #[allow(clippy::too_many_arguments)] // the fields of one message
    fn handle_request_vote(
        &mut self,
        ctx: &mut Ctx<'_, SM, S>,
        from: NodeId,
        term: Term,
        last_log_index: LogIndex,
        last_log_term: Term,
        pre_vote: bool,
        transfer: bool,
    ) {
        let lease = !transfer && self.in_lease(ctx.now());
        if pre_vote {
            // Dissertation §9.6: would I vote? Nobody's state changes.
            let granted =
                term > self.term && !lease && self.log_up_to_date(last_log_index, last_log_term);
            let answer_term = if granted { term } else { self.term };
            ctx.send(
                from,
                Msg::Vote {
                    term: answer_term,
                    granted,
                    pre_vote: true,
                },
            );
            return;
        }
        if lease && term > self.term {
            // A leader is alive: do not let this candidate depose it.
            return;
        }
        if transfer && self.transfer.is_some_and(|t| t.to == from) {
            // The handover worked: the target stands. Not a failure.
            self.transfer = None;
        }
        if term > self.term && !self.observe_term(ctx, term, None) {
            return;
        }
        let free = match self.voted_for {
            None => true,
            Some(v) => v == from || self.config.defect == Some(Defect::GrantsTwoVotes),
        };
        let granted =
            term == self.term && free && self.log_up_to_date(last_log_index, last_log_term);
        if granted {
            self.voted_for = Some(from);
            // Raft Figure 2: persist before answering. The defect answers
            // first, so a crash forgets the vote.
            if self.config.defect != Some(Defect::VoteNotPersisted) && !self.persist_hard_state(ctx)
            {
                return;
            }
            self.reset_election_deadline(ctx);
        }
        ctx.send(
            from,
            Msg::Vote {
                term: self.term,
                granted,
                pre_vote: false,
            },
        );
    }

    fn handle_vote(
        &mut self,
        ctx: &mut Ctx<'_, SM, S>,
        from: NodeId,
        term: Term,
        granted: bool,
        pre_vote: bool,
    ) {
        if pre_vote {
            if granted {
                if self.role == Role::PreCandidate && term == self.term + 1 && self.is_voter(from) {
                    self.votes.insert(from);
                    if self.votes.len() >= self.membership.quorum() {
                        self.start_election(ctx, false);
                    }
                }
            } else if term > self.term {
                self.observe_term(ctx, term, None);
            }
            return;
        }
        if term > self.term {
            self.observe_term(ctx, term, None);
            return;
        }
        if self.role != Role::Candidate || term != self.term || !granted || !self.is_voter(from) {
            return;
        }
        self.votes.insert(from);
        if self.votes.len() >= self.membership.quorum() {
            self.become_leader(ctx);
        }
    }

    // ----- the log -------------------------------------------------------

    /// The membership in force at `index`: the latest membership entry at or
    /// before it, else the snapshot's.
    fn membership_at(&self, index: LogIndex) -> Membership {
        self.log
            .entries()
            .rev()
            .filter(|e| e.index <= index)
            .find_map(|e| match &e.payload {
                Payload::Membership(m) => Some(m.clone()),
                _ => None,
            })
            .unwrap_or_else(|| self.snapshot.meta.membership.clone())
    }

    fn recompute_membership(&mut self) {
        self.membership = self.membership_at(self.log.last_index());
        assert!(
            !self.membership.voters.is_empty(),
            "a membership without voters is in force at {}: the snapshot or log is corrupt",
            self.id
        );
    }

    /// Appends one entry of this leader's term. `None` if storage failed.
    fn append_local(
        &mut self,
        ctx: &mut Ctx<'_, SM, S>,
        payload: Payload<SM::Command>,
    ) -> Option<LogIndex> {
        let entry = Entry {
            term: self.term,
            index: self.log.last_index() + 1,
            payload,
        };
        if let Err(e) = self.storage.append(std::slice::from_ref(&entry)) {
            self.halt(ctx, e);
            return None;
        }
        if let Payload::Membership(m) = &entry.payload {
            self.membership = m.clone();
        }
        let index = entry.index;
        self.log.push(entry);
        Some(index)
    }

    // ----- replication (leader) ------------------------------------------

    fn broadcast_append(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        let peers: Vec<NodeId> = self.progress.keys().copied().collect();
        for peer in peers {
            self.send_append(ctx, peer, false);
        }
    }

    /// Sends what `peer` lacks, as far as the pipeline allows; with
    /// `heartbeat`, sends an empty append if there is nothing else to send.
    fn send_append(&mut self, ctx: &mut Ctx<'_, SM, S>, peer: NodeId, heartbeat: bool) {
        let last = self.log.last_index();
        let mut sent_any = false;
        loop {
            let Some(p) = self.progress.get_mut(&peer) else {
                return;
            };
            if matches!(p.probe, Some(Some(_))) {
                break; // one probe at a time
            }
            if p.probe.is_none() && p.inflight.len() >= self.config.inflight_appends_max {
                break;
            }
            let prev = p.next - 1;
            if prev < self.log.snapshot_index() {
                // Raft §7: the entries it needs are compacted away.
                p.probe = Some(Some(prev));
                p.next = self.snapshot.meta.index + 1;
                p.inflight.clear();
                ctx.send(
                    peer,
                    Msg::InstallSnapshot {
                        term: self.term,
                        snapshot: self.snapshot.clone(),
                        read_round: self.read_round,
                    },
                );
                return;
            }
            if p.next > last && (sent_any || !heartbeat) {
                break;
            }
            let entries = self.log.slice(p.next, self.config.append_entries_max);
            let count = entries.len() as u64;
            let prev_log_term = self.log.term_at(prev).expect("prev is within the log");
            ctx.send(
                peer,
                Msg::AppendEntries {
                    term: self.term,
                    prev_log_index: prev,
                    prev_log_term,
                    entries,
                    leader_commit: self.commit,
                    read_round: self.read_round,
                },
            );
            sent_any = true;
            if count == 0 {
                if p.probe.is_some() {
                    p.probe = Some(Some(prev));
                }
                break;
            }
            p.next += count;
            if p.probe.is_some() {
                p.probe = Some(Some(prev));
                break;
            }
            p.inflight.push_back(p.next - 1);
        }
    }

    /// Raft §5.3–5.4.2: the highest index stored on a quorum commits, if it
    /// is of this leader's term.
    fn advance_commit(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        if self.role != Role::Leader {
            return;
        }
        let last = self.log.last_index();
        let mut matched: Vec<LogIndex> = self
            .membership
            .voters
            .iter()
            .map(|v| {
                if *v == self.id {
                    last
                } else {
                    self.progress.get(v).map_or(0, |p| p.matched)
                }
            })
            .collect();
        matched.sort_unstable_by(|a, b| b.cmp(a));
        let quorum = self.membership.quorum();
        let candidate = matched[quorum - 1];
        if candidate <= self.commit {
            return;
        }
        let current_term = self.log.term_at(candidate) == Some(self.term);
        if current_term || self.config.defect == Some(Defect::CommitsPreviousTerm) {
            self.commit = candidate;
            self.apply(ctx);
        }
    }

    #[allow(clippy::too_many_arguments)] // the fields of one message
    fn handle_append_response(
        &mut self,
        ctx: &mut Ctx<'_, SM, S>,
        from: NodeId,
        term: Term,
        index: LogIndex,
        success: bool,
        hint: LogIndex,
        read_round: u64,
    ) {
        if term > self.term {
            self.observe_term(ctx, term, None);
            return;
        }
        if self.role != Role::Leader || term < self.term {
            return;
        }
        let now = ctx.now();
        let last = self.log.last_index();
        let Some(p) = self.progress.get_mut(&from) else {
            return;
        };
        p.last_ack = now;
        p.responded = true;
        p.read_ack = p.read_ack.max(read_round);
        if success {
            p.matched = p.matched.max(index);
            while p.inflight.front().is_some_and(|&i| i <= index) {
                p.inflight.pop_front();
            }
            if p.probe.is_some() {
                // The logs match up to `index`: stream from there.
                p.probe = None;
                p.inflight.clear();
                p.next = index + 1;
            }
            p.next = p.next.max(index + 1);
            let caught_up = p.matched == last;
            self.advance_commit(ctx);
            if let Some(transfer) = self.transfer {
                if transfer.to == from && caught_up {
                    ctx.send(from, Msg::TimeoutNow { term: self.term });
                }
            }
        } else {
            let stale = index < p.matched
                || match p.probe {
                    Some(Some(prev)) => prev != index,
                    _ => false,
                };
            if !stale {
                // Fast back-off (§5.3): jump to the follower's hint, never
                // below what it is known to hold.
                p.next = hint.clamp(p.matched + 1, index.max(p.matched + 1));
                p.inflight.clear();
                p.probe = Some(None);
            }
        }
        self.send_append(ctx, from, false);
        self.serve_reads(ctx);
    }

    fn on_heartbeat(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        let now = ctx.now();
        if self.config.check_quorum && now >= self.leader_since + self.config.election_timeout_max {
            let window = self.config.election_timeout_max;
            let heard = self
                .membership
                .voters
                .iter()
                .filter(|&&v| {
                    v == self.id
                        || self
                            .progress
                            .get(&v)
                            .is_some_and(|p| p.last_ack + window > now)
                })
                .count();
            if heard < self.membership.quorum() {
                tracing::info!(node = %self.id, term = self.term, "check-quorum: no quorum heard; stepping down");
                self.become_follower(ctx, None, true);
                return;
            }
        }
        if let Some(transfer) = self.transfer {
            if now >= transfer.deadline {
                self.transfer = None;
                ctx.emit(RaftEvent::Rejected {
                    id: transfer.id,
                    reason: Rejection::TransferFailed,
                });
            }
        }
        let peers: Vec<NodeId> = self.progress.keys().copied().collect();
        for peer in peers {
            let p = self.progress.get_mut(&peer).expect("listed above");
            if !p.responded {
                if let Some(Some(prev)) = p.probe {
                    // The probe (or its answer) was lost: send it again,
                    // rather than start over from what is known to match.
                    p.next = prev + 1;
                    p.probe = Some(None);
                } else if !p.inflight.is_empty() {
                    // Appends lost in the pipeline: stream again from what
                    // is known to match.
                    p.inflight.clear();
                    p.next = p.matched + 1;
                    p.probe = Some(None);
                }
            }
            p.responded = false;
            if p.inflight.is_empty() {
                self.send_append(ctx, peer, true);
            }
        }
        ctx.set_timer(self.config.heartbeat_interval, Timer::Heartbeat);
        self.heartbeat_timer = true;
    }

    // ----- replication (follower) ----------------------------------------

    /// Answers an append or snapshot from a leader of an older term with
    /// ours, so it steps down. The answer confirms no read round: rounds
    /// restart with a leader's incarnation, so an old round number could
    /// confirm a newer leader's read.
    fn refuse_stale_leader(&self, ctx: &mut Ctx<'_, SM, S>, from: NodeId, index: LogIndex) {
        ctx.send(
            from,
            Msg::AppendResponse {
                term: self.term,
                index,
                success: false,
                hint: 0,
                read_round: 0,
            },
        );
    }

    /// Accepts `from` as the leader of `term` (≥ ours).
    fn follow(&mut self, ctx: &mut Ctx<'_, SM, S>, from: NodeId, term: Term) -> bool {
        if term > self.term {
            if !self.observe_term(ctx, term, Some(from)) {
                return false;
            }
        } else if self.role != Role::Follower {
            self.become_follower(ctx, Some(from), true);
        }
        self.leader = Some(from);
        self.last_leader_contact = Some(ctx.now());
        self.reset_election_deadline(ctx);
        true
    }

    #[allow(clippy::too_many_arguments)] // the fields of one message
    fn handle_append_entries(
        &mut self,
        ctx: &mut Ctx<'_, SM, S>,
        from: NodeId,
        term: Term,
        prev_log_index: LogIndex,
        prev_log_term: Term,
        mut entries: Vec<Entry<SM::Command>>,
        leader_commit: LogIndex,
        read_round: u64,
    ) {
        let reply = |ctx: &mut Ctx<'_, SM, S>, term, index, success, hint| {
            ctx.send(
                from,
                Msg::AppendResponse {
                    term,
                    index,
                    success,
                    hint,
                    read_round,
                },
            );
        };
        if term < self.term {
            return self.refuse_stale_leader(ctx, from, prev_log_index);
        }
        if !self.follow(ctx, from, term) {
            return;
        }
        let last_new = prev_log_index + entries.len() as u64;
        let mut prev = prev_log_index;
        if prev < self.log.snapshot_index() {
            // Our snapshot covers the start: those entries are committed,
            // and so match the leader's (Leader Completeness).
            let skip = (self.log.snapshot_index() - prev).min(entries.len() as u64);
            entries.drain(..skip as usize);
            prev = self.log.snapshot_index();
            if last_new < prev {
                reply(ctx, self.term, last_new, true, 0);
                return;
            }
        } else if prev > self.log.last_index() {
            reply(ctx, self.term, prev, false, self.log.last_index() + 1);
            return;
        } else if self.log.term_at(prev) != Some(prev_log_term) {
            let conflict_term = self.log.term_at(prev).unwrap_or(0);
            let hint = self.log.first_index_of_term(prev, conflict_term);
            reply(ctx, self.term, prev, false, hint);
            return;
        }
        // Skip what we already have; cut our log at the first conflict.
        let mut new_from = entries.len();
        for (i, entry) in entries.iter().enumerate() {
            match self.log.term_at(entry.index) {
                Some(t) if t == entry.term => continue,
                Some(_) => {
                    if entry.index <= self.commit {
                        tracing::error!(node = %self.id, index = entry.index, "asked to overwrite a committed entry: Raft safety is broken");
                    }
                    if let Err(e) = self.storage.truncate(entry.index) {
                        self.halt(ctx, e);
                        return;
                    }
                    self.log.truncate(entry.index);
                    self.recompute_membership();
                    new_from = i;
                    break;
                }
                None => {
                    new_from = i;
                    break;
                }
            }
        }
        if new_from < entries.len() {
            let fresh = &entries[new_from..];
            if let Err(e) = self.storage.append(fresh) {
                self.halt(ctx, e);
                return;
            }
            let mut changed = false;
            for entry in entries.drain(new_from..) {
                changed |= matches!(entry.payload, Payload::Membership(_));
                self.log.push(entry);
            }
            if changed {
                self.recompute_membership();
            }
        }
        // Raft Figure 2: commit up to what the leader committed, but only
        // as far as this append vouches for our log.
        let commit = leader_commit.min(last_new);
        if commit > self.commit {
            self.commit = commit;
            self.apply(ctx);
        }
        reply(ctx, self.term, last_new, true, 0);
    }

    fn handle_install_snapshot(
        &mut self,
        ctx: &mut Ctx<'_, SM, S>,
        from: NodeId,
        term: Term,
        snapshot: Snapshot,
        read_round: u64,
    ) {
        let index = snapshot.meta.index;
        let reply = |ctx: &mut Ctx<'_, SM, S>, term, success| {
            ctx.send(
                from,
                Msg::AppendResponse {
                    term,
                    index,
                    success,
                    hint: 0,
                    read_round,
                },
            );
        };
        if term < self.term {
            return self.refuse_stale_leader(ctx, from, index);
        }
        if !self.follow(ctx, from, term) {
            return;
        }
        if index <= self.commit {
            // We already have (and committed) everything it covers.
            reply(ctx, self.term, true);
            return;
        }
        let data: SnapshotData<SM::Output> = match postcard::from_bytes(&snapshot.data) {
            Ok(data) => data,
            Err(e) => {
                tracing::warn!(node = %self.id, error = %e, "snapshot from the leader does not decode; ignored");
                return;
            }
        };
        if let Err(e) = self.sm.restore(&data.state) {
            tracing::warn!(node = %self.id, error = %e, "the state machine refused the leader's snapshot; ignored");
            return;
        }
        let keep_suffix = self.log.term_at(index) == Some(snapshot.meta.term);
        let stored = if keep_suffix {
            self.storage.save_snapshot(&snapshot)
        } else {
            self.storage
                .truncate(self.log.snapshot_index() + 1)
                .and_then(|()| self.storage.save_snapshot(&snapshot))
        };
        if let Err(e) = stored {
            self.halt(ctx, e);
            return;
        }
        if keep_suffix {
            self.log.compact(index, snapshot.meta.term);
        } else {
            self.log.reset(index, snapshot.meta.term);
        }
        self.sessions = data.sessions.into_iter().collect();
        self.commit = index;
        self.applied = index;
        self.snapshot = snapshot;
        self.recompute_membership();
        reply(ctx, self.term, true);
    }

    // ----- applying ------------------------------------------------------

    fn apply(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        let mut leave = false;
        while self.applied < self.commit {
            let index = self.applied + 1;
            let Some(entry) = self.log.get(index) else {
                break;
            };
            self.applied = index;
            let result = match &entry.payload {
                Payload::Noop => None,
                Payload::Membership(m) => {
                    leave |= self.role == Role::Leader && !m.voters.contains(&self.id);
                    None
                }
                Payload::Command { session, command } => Some(match session {
                    None => Ok(self.sm.apply(index, command)),
                    Some(s) => match self.sessions.get(&s.client) {
                        Some(known) if known.seq == s.seq => Ok(known.output.clone()),
                        Some(known) if known.seq > s.seq => Err(Rejection::StaleSession),
                        _ => {
                            let output = self.sm.apply(index, command);
                            self.sessions.insert(
                                s.client,
                                SessionEntry {
                                    seq: s.seq,
                                    output: output.clone(),
                                    last_index: index,
                                },
                            );
                            if self.sessions.len() > self.config.sessions_max {
                                let oldest = self
                                    .sessions
                                    .iter()
                                    .min_by_key(|(_, e)| e.last_index)
                                    .map(|(&c, _)| c)
                                    .expect("not empty");
                                self.sessions.remove(&oldest);
                            }
                            Ok(output)
                        }
                    },
                }),
            };
            if self.pending.front().is_some_and(|&(i, _)| i == index) {
                let (_, id) = self.pending.pop_front().expect("just looked");
                ctx.emit(match result {
                    Some(Ok(output)) => RaftEvent::Applied { id, index, output },
                    Some(Err(reason)) => RaftEvent::Rejected { id, reason },
                    None => unreachable!("only commands are pending"),
                });
            }
        }
        self.serve_reads(ctx);
        if leave {
            // Dissertation §4.2.2: a leader removed from the cluster steps
            // down once the change commits.
            self.become_follower(ctx, None, true);
        }
        if self.config.snapshot_threshold > 0
            && self.applied >= self.log.snapshot_index() + self.config.snapshot_threshold
        {
            self.take_snapshot(ctx);
        }
    }

    fn take_snapshot(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        let index = self.applied;
        if index <= self.log.snapshot_index() {
            return;
        }
        let term = self
            .log
            .term_at(index)
            .expect("applied entries are in the log");
        let data = SnapshotData {
            sessions: self.sessions.iter().map(|(&c, e)| (c, e.clone())).collect(),
            state: self.sm.snapshot(),
        };
        let snapshot = Snapshot {
            meta: SnapshotMeta {
                index,
                term,
                membership: self.membership_at(index),
            },
            data: postcard::to_allocvec(&data).expect("snapshot data encodes"),
        };
        if let Err(e) = self.storage.save_snapshot(&snapshot) {
            self.halt(ctx, e);
            return;
        }
        self.log.compact(index, term);
        self.snapshot = snapshot;
        ctx.emit(RaftEvent::SnapshotTaken { index });
    }

    // ----- reads ---------------------------------------------------------

    /// Answers the reads whose round a quorum confirmed and whose index is
    /// applied (dissertation §6.4).
    fn serve_reads(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        if self.reads.is_empty() || self.role != Role::Leader {
            return;
        }
        let mut acks: Vec<u64> = self
            .membership
            .voters
            .iter()
            .map(|v| {
                if *v == self.id {
                    self.read_round
                } else {
                    self.progress.get(v).map_or(0, |p| p.read_ack)
                }
            })
            .collect();
        acks.sort_unstable_by(|a, b| b.cmp(a));
        let confirmed = acks[self.membership.quorum() - 1];
        while let Some(read) = self.reads.front() {
            if read.round > confirmed || read.index > self.applied {
                break;
            }
            let read = self.reads.pop_front().expect("just looked");
            ctx.emit(RaftEvent::ReadDone {
                id: read.id,
                output: self.sm.query(&read.query),
            });
        }
    }

    // ----- requests ------------------------------------------------------

    fn reject(&self, ctx: &mut Ctx<'_, SM, S>, id: RequestId, reason: Rejection) {
        ctx.emit(RaftEvent::Rejected { id, reason });
    }

    fn not_leader(&self) -> Rejection {
        Rejection::NotLeader {
            leader: self.leader,
        }
    }

    fn handle_request(
        &mut self,
        ctx: &mut Ctx<'_, SM, S>,
        request: RaftRequest<SM::Command, SM::Query>,
    ) {
        match request {
            RaftRequest::Propose {
                id,
                command,
                session,
            } => {
                if self.role != Role::Leader {
                    return self.reject(ctx, id, self.not_leader());
                }
                if self.transfer.is_some() {
                    return self.reject(ctx, id, Rejection::TransferInProgress);
                }
                if self.log.last_index() - self.commit >= self.config.uncommitted_entries_max {
                    return self.reject(ctx, id, Rejection::Busy);
                }
                let Some(index) = self.append_local(ctx, Payload::Command { session, command })
                else {
                    return;
                };
                self.pending.push_back((index, id));
                ctx.emit(RaftEvent::Proposed {
                    id,
                    index,
                    term: self.term,
                });
                // Replicate now, never waiting for a heartbeat.
                self.broadcast_append(ctx);
                self.advance_commit(ctx);
            }
            RaftRequest::Read { id, query } => {
                if self.role != Role::Leader {
                    return self.reject(ctx, id, self.not_leader());
                }
                if self.reads.len() >= self.config.pending_reads_max {
                    return self.reject(ctx, id, Rejection::Busy);
                }
                // Read at the commit index, but not before this term's
                // first entry: until it commits, the leader does not know
                // the commit index.
                let first_of_term = self
                    .log
                    .entries()
                    .rev()
                    .take_while(|e| e.term == self.term)
                    .last()
                    .map_or(0, |e| e.index);
                self.read_round += 1;
                self.reads.push_back(PendingRead {
                    id,
                    query,
                    index: self.commit.max(first_of_term),
                    round: self.read_round,
                });
                let peers: Vec<NodeId> = self.progress.keys().copied().collect();
                for peer in peers {
                    let p = &self.progress[&peer];
                    // A heartbeat carrying the round, anchored at what the
                    // follower is known to hold, so it passes the
                    // consistency check and does not disturb the pipeline
                    // (any answer in this term confirms the round).
                    let prev = p.matched.max(self.log.snapshot_index());
                    ctx.send(
                        peer,
                        Msg::AppendEntries {
                            term: self.term,
                            prev_log_index: prev,
                            prev_log_term: self.log.term_at(prev).unwrap_or(0),
                            entries: Vec::new(),
                            leader_commit: self.commit.min(p.matched),
                            read_round: self.read_round,
                        },
                    );
                }
                self.serve_reads(ctx);
            }
            RaftRequest::ChangeMembership { id, change } => self.change_membership(ctx, id, change),
            RaftRequest::TransferLeadership { id, to } => {
                if self.role != Role::Leader {
                    return self.reject(ctx, id, self.not_leader());
                }
                if to == self.id || !self.is_voter(to) {
                    return self.reject(
                        ctx,
                        id,
                        Rejection::InvalidTransfer(format!("{to} is not another voter")),
                    );
                }
                self.transfer = Some(Transfer {
                    id,
                    to,
                    deadline: ctx.now() + self.config.election_timeout_max,
                });
                if self.progress[&to].matched == self.log.last_index() {
                    ctx.send(to, Msg::TimeoutNow { term: self.term });
                } else {
                    self.send_append(ctx, to, true);
                }
            }
            RaftRequest::Campaign => {
                if self.may_campaign() {
                    self.start_election(ctx, true);
                }
            }
            RaftRequest::Snapshot => self.take_snapshot(ctx),
        }
    }

    fn change_membership(
        &mut self,
        ctx: &mut Ctx<'_, SM, S>,
        id: RequestId,
        change: MembershipChange,
    ) {
        if self.role != Role::Leader {
            return self.reject(ctx, id, self.not_leader());
        }
        if self.transfer.is_some() {
            return self.reject(ctx, id, Rejection::TransferInProgress);
        }
        // Dissertation §4.1: one change at a time, and (the fix of §4.1's
        // bug) only once this leader has committed an entry of its term.
        let uncommitted_change = self
            .log
            .entries()
            .rev()
            .take_while(|e| e.index > self.commit)
            .any(|e| matches!(e.payload, Payload::Membership(_)));
        if uncommitted_change || self.log.term_at(self.commit) != Some(self.term) {
            return self.reject(ctx, id, Rejection::MembershipChangePending);
        }
        let mut next = self.membership.clone();
        let invalid = |why: String| Rejection::InvalidMembershipChange(why);
        match change {
            MembershipChange::AddLearner(n) => {
                if next.contains(n) {
                    return self.reject(ctx, id, invalid(format!("{n} is already a member")));
                }
                next.learners.insert(n);
            }
            MembershipChange::AddVoter(n) => {
                if next.voters.contains(&n) {
                    return self.reject(ctx, id, invalid(format!("{n} is already a voter")));
                }
                next.learners.remove(&n);
                next.voters.insert(n);
            }
            MembershipChange::Remove(n) => {
                if !next.contains(n) {
                    return self.reject(ctx, id, invalid(format!("{n} is not a member")));
                }
                next.voters.remove(&n);
                next.learners.remove(&n);
                if next.voters.is_empty() {
                    return self.reject(ctx, id, invalid("cannot remove the last voter".into()));
                }
            }
        }
        let Some(index) = self.append_local(ctx, Payload::Membership(next.clone())) else {
            return;
        };
        let now = ctx.now();
        let start = self.log.last_index();
        for member in next.members() {
            if member != self.id {
                self.progress
                    .entry(member)
                    .or_insert_with(|| Progress::new(start, now));
            }
        }
        self.progress.retain(|n, _| next.contains(*n));
        ctx.emit(RaftEvent::MembershipChanged {
            id,
            index,
            membership: next,
        });
        self.broadcast_append(ctx);
        self.advance_commit(ctx);
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
        match msg {
            Msg::RequestVote {
                term,
                last_log_index,
                last_log_term,
                pre_vote,
                transfer,
            } => self.handle_request_vote(
                ctx,
                from,
                term,
                last_log_index,
                last_log_term,
                pre_vote,
                transfer,
            ),
            Msg::Vote {
                term,
                granted,
                pre_vote,
            } => self.handle_vote(ctx, from, term, granted, pre_vote),
            Msg::AppendEntries {
                term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
                read_round,
            } => self.handle_append_entries(
                ctx,
                from,
                term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
                read_round,
            ),
            Msg::AppendResponse {
                term,
                index,
                success,
                hint,
                read_round,
            } => self.handle_append_response(ctx, from, term, index, success, hint, read_round),
            Msg::InstallSnapshot {
                term,
                snapshot,
                read_round,
            } => self.handle_install_snapshot(ctx, from, term, snapshot, read_round),
            Msg::TimeoutNow { term } => {
                if term < self.term || !self.may_campaign() {
                    return;
                }
                if term > self.term && !self.observe_term(ctx, term, Some(from)) {
                    return;
                }
                self.start_election(ctx, true);
            }
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
            Timer::Election => {
                self.election_timer = None;
                if self.role == Role::Leader {
                    return;
                }
                if ctx.now() < self.election_deadline {
                    self.arm_election_timer(ctx);
                } else {
                    self.on_election_timeout(ctx);
                }
            }
            Timer::Heartbeat => {
                self.heartbeat_timer = false;
                if self.role == Role::Leader {
                    self.on_heartbeat(ctx);
                }
            }
        }
        if self.halted.is_none() {
            self.announce(ctx);
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Self::Request) {
        if self.halted.is_some() {
            let id = match &request {
                RaftRequest::Propose { id, .. }
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
mod tests {
    //! Handler tests: one event in, the whole list of effects out, each
    //! citing the rule it checks.
    use super::*;
    use crate::raft::{Counter, MemStorage};
    use dsys_core::testing::Harness;
    use dsys_core::{Effect, EffectOf};

    type R = Raft<Counter, MemStorage<u64>>;
    const N0: NodeId = NodeId(0);
    const N1: NodeId = NodeId(1);

    fn config() -> RaftConfig {
        RaftConfig {
            // A fixed timeout, so timer effects are exact.
            election_timeout_min: Duration::from_millis(150),
            election_timeout_max: Duration::from_millis(150),
            ..RaftConfig::default()
        }
    }

    /// n1 of three, started, with `disk` as its storage.
    fn follower(config: RaftConfig, disk: &MemStorage<u64>) -> Harness<R> {
        let mut h = Harness::new(
            Raft::new(config, disk.clone(), Counter::default()).unwrap(),
            N1,
            3,
        );
        h.start();
        h
    }

    fn entry(term: Term, index: LogIndex) -> Entry<u64> {
        Entry {
            term,
            index,
            payload: Payload::Command {
                session: None,
                command: index,
            },
        }
    }

    fn append(
        term: Term,
        prev: (LogIndex, Term),
        entries: Vec<Entry<u64>>,
        commit: LogIndex,
    ) -> Msg<u64> {
        Msg::AppendEntries {
            term,
            prev_log_index: prev.0,
            prev_log_term: prev.1,
            entries,
            leader_commit: commit,
            read_round: 0,
        }
    }

    fn response(term: Term, index: LogIndex, success: bool, hint: LogIndex) -> EffectOf<R> {
        Effect::Send {
            to: N0,
            msg: Msg::AppendResponse {
                term,
                index,
                success,
                hint,
                read_round: 0,
            },
        }
    }

    fn vote_request(term: Term, last: (LogIndex, Term)) -> Msg<u64> {
        Msg::RequestVote {
            term,
            last_log_index: last.0,
            last_log_term: last.1,
            pre_vote: false,
            transfer: false,
        }
    }

    fn vote(to: NodeId, term: Term, granted: bool) -> EffectOf<R> {
        Effect::Send {
            to,
            msg: Msg::Vote {
                term,
                granted,
                pre_vote: false,
            },
        }
    }

    fn role(term: Term, role: Role, leader: Option<NodeId>) -> EffectOf<R> {
        Effect::Emit(RaftEvent::RoleChanged { term, role, leader })
    }

    #[test]
    fn a_vote_is_granted_to_the_first_up_to_date_candidate_and_persisted_first() {
        // Raft §5.2 and Figure 2: a higher term is adopted; the vote is
        // durable before the reply leaves.
        let disk = MemStorage::new();
        let mut h = follower(config(), &disk);
        assert_eq!(
            h.message(N0, vote_request(1, (0, 0))),
            vec![vote(N0, 1, true), role(1, Role::Follower, None)]
        );
        let stored = disk.clone().load().unwrap().hard_state;
        assert_eq!(
            stored,
            HardState {
                term: 1,
                voted_for: Some(N0)
            }
        );
    }

    #[test]
    fn a_second_candidate_of_the_same_term_is_refused() {
        // Raft §5.2: at most one vote per term, first come first served.
        let mut h = follower(config(), &MemStorage::new());
        h.message(N0, vote_request(1, (0, 0)));
        assert_eq!(
            h.message(NodeId(2), vote_request(1, (0, 0))),
            vec![vote(NodeId(2), 1, false)]
        );
        // The same candidate asking again gets the same answer.
        assert_eq!(
            h.message(N0, vote_request(1, (0, 0))),
            vec![vote(N0, 1, true)]
        );
    }

    #[test]
    fn a_candidate_with_a_less_up_to_date_log_is_refused() {
        // Raft §5.4.1: the last term decides, then the length.
        let mut h = follower(config(), &MemStorage::new());
        h.message(N0, append(2, (0, 0), vec![entry(1, 1), entry(2, 2)], 0));
        h.set_now(Duration::from_millis(200)); // the leader's lease is over
        let c = NodeId(2);
        assert_eq!(
            h.message(c, vote_request(3, (5, 1))),
            vec![vote(c, 3, false), role(3, Role::Follower, None)]
        );
        assert_eq!(
            h.message(c, vote_request(3, (1, 2))),
            vec![vote(c, 3, false)]
        );
        assert_eq!(
            h.message(c, vote_request(3, (2, 2))),
            vec![vote(c, 3, true)]
        );
    }

    #[test]
    fn a_stale_candidate_is_told_the_current_term() {
        // Raft §5.1: a request with a stale term is rejected with ours.
        let mut h = follower(config(), &MemStorage::new());
        h.message(N0, append(4, (0, 0), vec![], 0));
        assert_eq!(
            h.message(NodeId(2), vote_request(3, (9, 3))),
            vec![vote(NodeId(2), 4, false)]
        );
    }

    #[test]
    fn a_follower_that_hears_its_leader_ignores_vote_requests() {
        // Dissertation §4.2.3: within the minimum election timeout of the
        // leader's last message, a vote request is dropped unanswered and
        // the term stays; a pre-vote is refused.
        let mut h = follower(config(), &MemStorage::new());
        h.message(N0, append(1, (0, 0), vec![], 0));
        assert_eq!(h.message(NodeId(2), vote_request(2, (0, 0))), vec![]);
        assert_eq!(h.node().term(), 1);
        let pre_vote = Msg::RequestVote {
            term: 2,
            last_log_index: 0,
            last_log_term: 0,
            pre_vote: true,
            transfer: false,
        };
        assert_eq!(
            h.message(NodeId(2), pre_vote),
            vec![Effect::Send {
                to: NodeId(2),
                msg: Msg::Vote {
                    term: 1,
                    granted: false,
                    pre_vote: true
                }
            }]
        );
    }

    #[test]
    fn append_entries_with_a_missing_previous_entry_fails_with_a_hint() {
        // Raft §5.3: the consistency check; the hint is one past our last
        // entry, so the leader jumps there at once.
        let mut h = follower(config(), &MemStorage::new());
        h.message(N0, append(1, (0, 0), vec![entry(1, 1)], 0));
        assert_eq!(
            h.message(N0, append(1, (4, 1), vec![entry(1, 5)], 0)),
            vec![response(1, 4, false, 2)]
        );
    }

    #[test]
    fn append_entries_with_a_conflicting_previous_term_hints_at_the_term_start() {
        // Raft §5.3 (fast back-off): the hint is the first index of the
        // conflicting term, so one round trip skips the whole term.
        let mut h = follower(config(), &MemStorage::new());
        h.message(
            N0,
            append(
                2,
                (0, 0),
                vec![entry(1, 1), entry(2, 2), entry(2, 3), entry(2, 4)],
                0,
            ),
        );
        assert_eq!(
            h.message(N0, append(3, (4, 3), vec![], 0)),
            vec![response(3, 4, false, 2), role(3, Role::Follower, Some(N0))]
        );
    }

    #[test]
    fn a_conflicting_suffix_is_replaced_in_memory_and_in_storage() {
        // Raft §5.3: delete the conflicting entry and all that follow it,
        // append the leader's, and acknowledge only after they are durable.
        let disk = MemStorage::new();
        let mut h = follower(config(), &disk);
        h.message(
            N0,
            append(1, (0, 0), vec![entry(1, 1), entry(1, 2), entry(1, 3)], 0),
        );
        assert_eq!(
            h.message(N0, append(2, (1, 1), vec![entry(2, 2)], 0)),
            vec![response(2, 2, true, 0), role(2, Role::Follower, Some(N0))]
        );
        assert_eq!(h.node().log().last_index(), 2);
        let stored: Vec<(Term, LogIndex)> = disk
            .clone()
            .load()
            .unwrap()
            .entries
            .iter()
            .map(|e| (e.term, e.index))
            .collect();
        assert_eq!(stored, vec![(1, 1), (2, 2)]);
    }

    #[test]
    fn a_stale_append_does_not_truncate_a_longer_matching_log() {
        // Raft §5.3: "if an existing entry conflicts" — a delayed append
        // carrying a prefix of what we have changes nothing.
        let mut h = follower(config(), &MemStorage::new());
        h.message(
            N0,
            append(1, (0, 0), vec![entry(1, 1), entry(1, 2), entry(1, 3)], 0),
        );
        assert_eq!(
            h.message(N0, append(1, (0, 0), vec![entry(1, 1)], 0)),
            vec![response(1, 1, true, 0)]
        );
        assert_eq!(h.node().log().last_index(), 3);
    }

    #[test]
    fn the_commit_index_follows_the_leader_but_only_as_far_as_the_append_vouches() {
        // Raft Figure 2: commitIndex = min(leaderCommit, index of last new entry).
        let mut h = follower(config(), &MemStorage::new());
        h.message(
            N0,
            append(1, (0, 0), vec![entry(1, 1), entry(1, 2), entry(1, 3)], 0),
        );
        h.message(N0, append(1, (1, 1), vec![], 3));
        assert_eq!(h.node().commit_index(), 1);
        assert_eq!(h.node().state_machine().value, 1);
        h.message(N0, append(1, (3, 1), vec![], 3));
        assert_eq!(h.node().commit_index(), 3);
        assert_eq!(h.node().state_machine().value, 1 + 2 + 3);
    }

    #[test]
    fn an_append_from_a_stale_leader_is_rejected_with_the_current_term() {
        // Raft §5.1: the stale leader learns the term and steps down.
        let mut h = follower(config(), &MemStorage::new());
        h.message(N0, append(3, (0, 0), vec![], 0));
        assert_eq!(
            h.message(NodeId(2), append(2, (0, 0), vec![entry(2, 1)], 0)),
            vec![Effect::Send {
                to: NodeId(2),
                msg: Msg::AppendResponse {
                    term: 3,
                    index: 0,
                    success: false,
                    hint: 0,
                    read_round: 0
                }
            }]
        );
        assert_eq!(h.node().log().last_index(), 0);
    }

    #[test]
    fn invalid_configurations_are_refused_with_a_reason() {
        let bad = RaftConfig {
            heartbeat_interval: Duration::from_millis(500),
            ..RaftConfig::default()
        };
        let err = Raft::new(bad, MemStorage::<u64>::new(), Counter::default()).unwrap_err();
        assert!(err.to_string().contains("heartbeat_interval"), "{err}");
    }
}
