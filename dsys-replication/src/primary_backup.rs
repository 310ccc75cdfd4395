//! # Passive (primary-backup) replication
//!
//! **The problem.** Keep a service available through replica crashes,
//! while clients see one copy of it: every operation takes effect once, at
//! one instant between its call and its answer (linearizability).
//!
//! **The scheme** (Coulouris et al., §18.3.1; Budhiraja et al., *The
//! primary-backup approach*, 1993). One replica, the **primary**, takes
//! every call; the others, **backups**, follow it. In the lecture's five
//! stages, each a function of [`PrimaryBackup`]:
//!
//! 1. **Request** — the [front end](crate::kv::FrontEnd) gives the call a
//!    unique id and sends it to the primary.
//! 2. **Coordination** (`coordinate`) — the primary takes calls one at a
//!    time, in the order they arrive; a call whose id it has executed
//!    before is answered from the client's session, not executed again.
//! 3. **Execution** (`execute`) — the primary runs the call on its
//!    [`Store`] and keeps the response.
//! 4. **Agreement** (`agree`) — it sends the update, the response and the
//!    id to every backup; each backup applies it in order and acknowledges.
//! 5. **Response** (`respond`) — once enough backups have acknowledged,
//!    the primary answers the front end.
//!
//! Gets go through the same five stages (the primary learns it is still
//! the primary from the acknowledgements), unless the client asks for a
//! [`Read::Local`] one, which any replica answers from its own copy.
//!
//! **Why wait for the acknowledgements?** An answer is a promise that the
//! write survives. A primary that answers first and then crashes before
//! its update reaches a backup breaks the promise: the new primary never
//! heard of the write. [`Defect::AnswersBeforeAcks`] does exactly that, and
//! the linearizability checker catches its histories (`tests/primary_backup.rs`).
//!
//! **Primary failure: views.** Replicas number their configurations
//! *views*; the primary of view `v` is replica `v mod n`. Every replica
//! heartbeats every other ([`dsys_core::failure_detector`]). A backup that
//! suspects its primary proposes the next view (StartViewChange); every
//! replica that moves to view `w` stops taking updates from older views
//! and sends its state to `w`'s primary (DoViewChange). With votes from a
//! [`Quorum`], the new primary adopts the state of the voter that was in
//! normal operation most recently and had executed the most requests, and
//! starts the view (StartView, its whole state). That gives the lecture's
//! two conditions: the primary is replaced by a **unique** backup (one
//! primary per view, and an old primary can no longer gather
//! acknowledgements), and the survivors **agree on which operations were
//! performed** (every acknowledged operation is in the adopted state).
//!
//! **Why a majority, not a view service.** The new primary could be named
//! by a separate view service (as in the MIT 6.824 labs), but the service
//! is then one more thing that must not fail — replicated, it needs
//! consensus itself. Voting among the replicas is consensus on the next
//! view directly: it is Paxos' phase 1 with views for ballots, the
//! structure of Viewstamped Replication (Oki & Liskov, 1988).
//!
//! **Split brain, and why `f + 1` is not enough.** The lecture's count —
//! `f + 1` replicas survive `f` crashes — holds with a **perfect** failure
//! detector: the primary waits only for backups it does not suspect, and
//! the lowest-numbered survivor takes over. [`Quorum::Unsuspected`] is
//! that rule. But in an asynchronous system a detector can only suspect:
//! when a partition cuts the primary off, the backups make a new primary
//! while the old one, suspecting them in turn, carries on alone — two
//! primaries, two clients using them, diverging copies. [`Quorum::Majority`]
//! (the default) needs `2f + 1` replicas and stays linearizable: a primary
//! cut off from the majority answers nothing.
//!
//! **Assumptions.** Crash-stop replicas (as in the lecture): a replica
//! that crashed stays down — a restarted process holds no state and must
//! not rejoin under its old identity, because it forgot which views it
//! voted for. Messages may be lost, duplicated, delayed and reordered; the
//! primary resends what a backup has not acknowledged. Liveness needs a
//! quorum up and connected long enough for a view change to complete.
//!
//! **Message cost.** Per call in steady state: `n − 1` Update and
//! `n − 1` Ack (two message delays from call to answer, plus the front
//! end's two). Heartbeats: `n (n − 1)` per period. A view change: up to
//! `n − 1` StartViewChange, `n − 1` DoViewChange and `n − 1` StartView,
//! the last two carrying the whole state.
//!
//! ```
//! use std::time::Duration;
//! use dsys_core::sim::Simulation;
//! use dsys_core::NodeId;
//! use dsys_replication::consistency::models::{KvOp, KvRet};
//! use dsys_replication::kv::{Answer, Call, Read, RequestId};
//! use dsys_replication::primary_backup::{PbEvent, PrimaryBackup, PrimaryBackupConfig};
//!
//! let mut sim = Simulation::new(3, 1, |_| PrimaryBackup::new(PrimaryBackupConfig::default()));
//! let put = Call {
//!     id: RequestId { client: 1, seq: 1 },
//!     op: KvOp::Put { key: "x".into(), value: "1".into() },
//!     read: Read::Linearizable,
//! };
//! sim.request(NodeId(0), put).unwrap();
//! sim.run_until(Duration::from_millis(100)).unwrap();
//! // n0, the primary of view 0, answered once both backups acknowledged.
//! let answered = sim.events(NodeId(0)).iter().any(|e| {
//!     e.event == PbEvent::Answer(Answer::Done {
//!         id: RequestId { client: 1, seq: 1 },
//!         ret: KvRet::Done,
//!         index: 1,
//!     })
//! });
//! assert!(answered);
//! assert_eq!(sim.node(NodeId(2)).unwrap().store().get("x"), "1");
//! ```

mod message;
pub mod model;
#[cfg(test)]
mod tests;

pub use message::{Defect, Entry, PbEvent, PbMsg, PrimaryBackupConfig, Quorum, Tick};

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use dsys_core::failure_detector::FailureDetector;
use dsys_core::{Context, Node, NodeId};

use crate::consistency::models::{KvOp, KvRet};
use crate::kv::{Answer, Backlog, Call, Executed, Read, Replica, RequestId, Store};

use message::not_primary;

/// Whether a replica is serving or between views.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Normal operation in its view.
    Normal,
    /// Voting for its view's primary, which has not started it yet.
    ViewChange,
}

/// An answer held until its request is committed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Waiting {
    index: u64,
    id: RequestId,
    ret: KvRet,
}

/// A vote a view's primary has received.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Vote {
    last_normal: u64,
    committed: u64,
    store: Store,
}

/// One replica of a primary-backup key-value store. See the
/// [module documentation](self).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PrimaryBackup {
    config: PrimaryBackupConfig,
    /// Every replica, this one included, in id order.
    members: Vec<NodeId>,
    view: u64,
    status: Status,
    last_normal: u64,
    store: Store,
    /// Requests up to here are acknowledged by a quorum.
    committed: u64,
    /// The primary's executed requests, for backups that fall behind.
    log: Backlog<Entry>,
    /// Each backup's acknowledged position in this view (primary only).
    acked: BTreeMap<NodeId, u64>,
    /// Answers waiting for their request to commit, in position order.
    waiting: VecDeque<Waiting>,
    /// Local reads waiting for this replica to catch up.
    parked: Vec<Call>,
    /// Votes for this view (its primary only, during a view change).
    votes: BTreeMap<NodeId, Vote>,
    /// When this replica entered the current view change.
    changed_at: Duration,
    /// When the primary last sent each replica its whole state.
    state_sent: BTreeMap<NodeId, Duration>,
    detector: Option<FailureDetector>,
}

impl PrimaryBackup {
    /// A replica, one of the initial members; view 0 starts with the
    /// lowest-numbered replica as primary and every store empty.
    pub fn new(config: PrimaryBackupConfig) -> Self {
        let store = Store::with_sessions_max(config.sessions_max);
        PrimaryBackup {
            config,
            members: Vec::new(),
            view: 0,
            status: Status::Normal,
            last_normal: 0,
            store,
            committed: 0,
            log: Backlog::new(),
            acked: BTreeMap::new(),
            waiting: VecDeque::new(),
            parked: Vec::new(),
            votes: BTreeMap::new(),
            changed_at: Duration::ZERO,
            state_sent: BTreeMap::new(),
            detector: None,
        }
    }

    /// The current view.
    pub fn view(&self) -> u64 {
        self.view
    }

    /// Normal operation or a view change.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The primary of `view`.
    pub fn primary_of(&self, view: u64) -> Option<NodeId> {
        let n = self.members.len() as u64;
        (n > 0).then(|| self.members[(view % n) as usize])
    }

    /// Whether this replica is the primary of its view, in normal
    /// operation.
    pub fn is_primary(&self, me: NodeId) -> bool {
        self.status == Status::Normal && self.primary_of(self.view) == Some(me)
    }

    /// This replica's copy of the store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// How far this replica knows requests are committed.
    pub fn committed(&self) -> u64 {
        self.committed
    }

    fn applied(&self) -> u64 {
        self.store.applied()
    }

    /// Replicas whose acknowledgement or vote is needed, this one included.
    fn quorum_size(&self) -> usize {
        match self.config.quorum {
            Quorum::Majority => self.members.len() / 2 + 1,
            Quorum::Unsuspected => {
                let detector = self.detector.as_ref();
                self.members
                    .iter()
                    .filter(|&&m| !detector.is_some_and(|d| d.is_suspected(m)))
                    .count()
                    .max(1)
            }
        }
    }

    fn suspects(&self, node: NodeId) -> bool {
        self.detector.as_ref().is_some_and(|d| d.is_suspected(node))
    }

    // ----- the five stages (request is the front end's) -----

    /// **Coordination**: a call that reaches the primary. A repeated id is
    /// answered from the session (once committed); a new one is executed.
    fn coordinate(&mut self, ctx: &mut Context<'_, Self>, call: Call) {
        if let Some((ret, index)) = self.store.answered(call.id) {
            let waiting = Waiting {
                index,
                id: call.id,
                ret: ret.clone(),
            };
            if index <= self.committed {
                self.respond_one(ctx, waiting);
            } else if !self.waiting.iter().any(|w| w.id == call.id) {
                // In position order, so that `respond` releases it with
                // the requests around it.
                let at = self.waiting.partition_point(|w| w.index <= index);
                self.waiting.insert(at, waiting);
            }
            return;
        }
        self.execute(ctx, call);
    }

    /// **Execution**: runs the call on the primary's store, keeps the
    /// response, then goes on to agreement.
    fn execute(&mut self, ctx: &mut Context<'_, Self>, call: Call) {
        let ret = match self.store.execute(call.id, &call.op) {
            Executed::Fresh(ret) => ret,
            // An older call of a client that has moved on: nobody waits.
            Executed::Stale | Executed::Repeat { .. } => return,
        };
        let index = self.applied();
        let entry = Entry {
            id: call.id,
            op: call.op,
            ret: ret.clone(),
        };
        self.log.push(entry.clone());
        self.waiting.push_back(Waiting {
            index,
            id: call.id,
            ret,
        });
        self.agree(ctx, index, entry);
    }

    /// **Agreement**: sends the update, its response and its id to every
    /// backup; their acknowledgements ([`PbMsg::Ack`]) commit it.
    fn agree(&mut self, ctx: &mut Context<'_, Self>, index: u64, entry: Entry) {
        ctx.broadcast(PbMsg::Update {
            view: self.view,
            first: index,
            entries: vec![entry],
            committed: self.committed,
        });
        if self.config.defect == Some(Defect::AnswersBeforeAcks) {
            self.committed = self.applied();
        }
        self.advance_commit(ctx);
    }

    /// Moves the commit point to the highest position a quorum has
    /// executed, then responds to what it covers.
    fn advance_commit(&mut self, ctx: &mut Context<'_, Self>) {
        let mut positions: Vec<u64> = vec![self.applied()];
        for &member in &self.members {
            if member == ctx.id() {
                continue;
            }
            let counts = match self.config.quorum {
                Quorum::Majority => true,
                Quorum::Unsuspected => !self.suspects(member),
            };
            if counts {
                positions.push(self.acked.get(&member).copied().unwrap_or(0));
            }
        }
        positions.sort_unstable_by(|a, b| b.cmp(a));
        let quorum = self.quorum_size().min(positions.len());
        let reached = positions[quorum - 1];
        if reached > self.committed {
            self.committed = reached;
        }
        self.respond(ctx);
        self.serve_parked(ctx);
    }

    /// **Response**: answers every waiting call whose request is committed.
    fn respond(&mut self, ctx: &mut Context<'_, Self>) {
        while self
            .waiting
            .front()
            .is_some_and(|w| w.index <= self.committed)
        {
            let waiting = self.waiting.pop_front().expect("checked above");
            self.respond_one(ctx, waiting);
        }
    }

    fn respond_one(&mut self, ctx: &mut Context<'_, Self>, waiting: Waiting) {
        ctx.emit(PbEvent::Answer(Answer::Done {
            id: waiting.id,
            ret: waiting.ret,
            index: waiting.index,
        }));
    }

    // ----- local reads -----

    /// A get answered from this replica's copy — only when the copy holds
    /// committed requests alone (one executed but not yet acknowledged by
    /// a quorum may still be lost in a view change, and a read must not
    /// have seen it) and has reached the client's token.
    fn local_read(&mut self, ctx: &mut Context<'_, Self>, call: Call, min_index: u64) {
        let settled = self.status == Status::Normal && self.applied() == self.committed;
        if settled && self.committed >= min_index {
            let KvOp::Get { key } = &call.op else {
                unreachable!("only gets are read locally")
            };
            ctx.emit(PbEvent::Answer(Answer::Done {
                id: call.id,
                ret: KvRet::Value(self.store.get(key).to_string()),
                index: self.committed,
            }));
        } else if self.parked.len() < self.config.parked_reads_max {
            self.parked.push(call);
        } else {
            ctx.emit(not_primary(call.id, self.primary_of(self.view)));
        }
    }

    fn serve_parked(&mut self, ctx: &mut Context<'_, Self>) {
        if self.parked.is_empty() || self.status != Status::Normal {
            return;
        }
        for call in std::mem::take(&mut self.parked) {
            let Read::Local { min_index } = call.read else {
                unreachable!("only local reads are parked")
            };
            self.local_read(ctx, call, min_index);
        }
    }

    // ----- backups -----

    /// A backup applies the primary's updates in order and acknowledges.
    fn on_update(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        first: u64,
        entries: Vec<Entry>,
        committed: u64,
    ) {
        for (offset, entry) in entries.into_iter().enumerate() {
            let index = first + offset as u64;
            if index <= self.applied() {
                continue; // a duplicate or a resend
            }
            if index > self.applied() + 1 {
                break; // a gap: the primary resends from the acknowledged position
            }
            let executed = self.store.execute(entry.id, &entry.op);
            assert!(
                executed == Executed::Fresh(entry.ret.clone()) && self.applied() == index,
                "backup {} diverged from primary {from} at position {index}: it executed {:?} \
                 as {executed:?}, the primary answered {:?}",
                ctx.id(),
                entry.op,
                entry.ret
            );
        }
        self.committed = self.committed.max(committed.min(self.applied()));
        ctx.send(
            from,
            PbMsg::Ack {
                view: self.view,
                index: self.applied(),
            },
        );
        self.serve_parked(ctx);
    }

    // ----- view changes -----

    /// Moves to `view` (higher than the current one) and votes for its
    /// primary. `announce` tells every replica, when this replica is the
    /// one starting the change.
    fn start_view_change(&mut self, ctx: &mut Context<'_, Self>, view: u64, announce: bool) {
        debug_assert!(view > self.view);
        let hint = self.primary_of(view);
        for waiting in std::mem::take(&mut self.waiting) {
            ctx.emit(not_primary(waiting.id, hint));
        }
        self.view = view;
        self.status = Status::ViewChange;
        self.changed_at = ctx.now();
        self.votes.clear();
        self.acked.clear();
        self.log.reset(self.applied() + 1);
        if announce {
            ctx.broadcast(PbMsg::StartViewChange { view });
        }
        self.vote(ctx);
    }

    fn vote(&mut self, ctx: &mut Context<'_, Self>) {
        let primary = self.primary_of(self.view).expect("started");
        if primary == ctx.id() {
            let vote = Vote {
                last_normal: self.last_normal,
                committed: self.committed,
                store: self.store.clone(),
            };
            self.votes.insert(ctx.id(), vote);
            self.try_start_view(ctx);
        } else {
            ctx.send(
                primary,
                PbMsg::DoViewChange {
                    view: self.view,
                    last_normal: self.last_normal,
                    committed: self.committed,
                    store: self.store.clone(),
                },
            );
        }
    }

    /// The next view after the current one whose primary this replica
    /// does not suspect.
    fn next_view(&self, me: NodeId) -> u64 {
        let mut view = self.view + 1;
        while (view - self.view) < self.members.len() as u64 {
            let primary = self.primary_of(view).expect("started");
            if primary == me || !self.suspects(primary) {
                break;
            }
            view += 1;
        }
        view
    }

    /// With a quorum of votes, the new primary adopts the most recent
    /// state among them and starts its view.
    fn try_start_view(&mut self, ctx: &mut Context<'_, Self>) {
        if self.votes.len() < self.quorum_size() {
            return;
        }
        let best = self
            .votes
            .values()
            .max_by_key(|v| (v.last_normal, v.store.applied()))
            .expect("a quorum is at least one vote");
        let committed = self.votes.values().map(|v| v.committed).max().unwrap_or(0);
        self.store = best.store.clone();
        self.committed = committed.min(self.applied());
        self.votes.clear();
        self.status = Status::Normal;
        self.last_normal = self.view;
        self.log.reset(self.applied() + 1);
        self.acked.clear();
        let now = ctx.now();
        self.state_sent = self.members.iter().map(|&m| (m, now)).collect();
        ctx.broadcast(PbMsg::StartView {
            view: self.view,
            committed: self.committed,
            store: self.store.clone(),
        });
        ctx.emit(PbEvent::ViewStarted {
            view: self.view,
            index: self.applied(),
        });
        self.advance_commit(ctx);
        self.serve_parked(ctx);
    }

    /// Takes the state of `view`'s primary.
    fn adopt(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        view: u64,
        committed: u64,
        store: Store,
    ) {
        // An old primary's callers: try the new one.
        for waiting in std::mem::take(&mut self.waiting) {
            ctx.emit(not_primary(waiting.id, Some(from)));
        }
        self.view = view;
        self.status = Status::Normal;
        self.last_normal = view;
        self.store = store;
        self.committed = committed.min(self.applied());
        self.votes.clear();
        self.log.reset(self.applied() + 1);
        self.acked.clear();
        ctx.send(
            from,
            PbMsg::Ack {
                view,
                index: self.applied(),
            },
        );
        self.serve_parked(ctx);
    }

    /// The primary's periodic duty: resend to each backup what it has not
    /// acknowledged (the whole state if the log no longer reaches back),
    /// and forget what every backup has.
    fn catch_up(&mut self, ctx: &mut Context<'_, Self>) {
        let me = ctx.id();
        for backup in self.members.clone() {
            if backup == me {
                continue;
            }
            let acked = self.acked.get(&backup).copied().unwrap_or(0);
            if acked >= self.applied() {
                continue;
            }
            if let Some(entries) = self.log.since(acked + 1, self.config.batch_max) {
                ctx.send(
                    backup,
                    PbMsg::Update {
                        view: self.view,
                        first: acked + 1,
                        entries,
                        committed: self.committed,
                    },
                );
            } else if !self.suspects(backup) {
                self.send_state(ctx, backup);
            }
        }
        let everyone = self
            .members
            .iter()
            .filter(|&&m| m != me)
            .map(|m| self.acked.get(m).copied().unwrap_or(0))
            .min()
            .unwrap_or(self.applied());
        self.log.trim(everyone, self.config.log_max);
    }

    /// The primary's whole state to a replica that needs it — at most
    /// once per suspicion timeout per replica, as it may be large and the
    /// replica may be asking on every tick.
    fn send_state(&mut self, ctx: &mut Context<'_, Self>, to: NodeId) {
        let now = ctx.now();
        let pause = self.config.heartbeat.timeout;
        if self
            .state_sent
            .get(&to)
            .is_some_and(|&sent| now.saturating_sub(sent) < pause)
        {
            return;
        }
        self.state_sent.insert(to, now);
        ctx.send(
            to,
            PbMsg::StartView {
                view: self.view,
                committed: self.committed,
                store: self.store.clone(),
            },
        );
    }

    fn on_tick(&mut self, ctx: &mut Context<'_, Self>) {
        let now = ctx.now();
        ctx.broadcast(PbMsg::Heartbeat {
            view: self.view,
            committed: self.committed,
        });
        if let Some(detector) = &mut self.detector {
            detector.check(now);
        }
        let me = ctx.id();
        let primary = self.primary_of(self.view).expect("started");
        match self.status {
            Status::Normal if primary == me => {
                self.catch_up(ctx);
                self.advance_commit(ctx);
            }
            Status::Normal => {
                if self.suspects(primary) {
                    let next = self.next_view(me);
                    self.start_view_change(ctx, next, true);
                }
            }
            Status::ViewChange => {
                if now.saturating_sub(self.changed_at) > self.config.view_change_timeout {
                    let next = self.next_view(me);
                    self.start_view_change(ctx, next, true);
                } else if primary == me {
                    self.try_start_view(ctx);
                } else {
                    self.vote(ctx); // the vote may have been lost
                }
            }
        }
        ctx.set_timer(self.config.heartbeat.period, Tick);
    }
}

impl Node for PrimaryBackup {
    type Msg = PbMsg;
    type Timer = Tick;
    type Request = Call;
    type Event = PbEvent;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        let mut members: Vec<NodeId> = ctx.peers().to_vec();
        members.push(ctx.id());
        members.sort_unstable();
        self.members = members;
        self.detector = Some(FailureDetector::new(
            self.config.heartbeat,
            ctx.peers(),
            ctx.now(),
        ));
        ctx.set_timer(self.config.heartbeat.period, Tick);
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, call: Call) {
        match call.read {
            Read::Local { min_index } if call.op.is_read() => self.local_read(ctx, call, min_index),
            _ if self.is_primary(ctx.id()) => self.coordinate(ctx, call),
            _ => {
                let hint = match self.status {
                    Status::Normal => self.primary_of(self.view),
                    Status::ViewChange => None,
                };
                ctx.emit(not_primary(call.id, hint));
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _: Tick) {
        self.on_tick(ctx);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: PbMsg) {
        let now = ctx.now();
        if let Some(detector) = &mut self.detector {
            detector.heartbeat(from, now);
        }
        let me = ctx.id();
        let view = match &msg {
            PbMsg::Heartbeat { view, .. }
            | PbMsg::Update { view, .. }
            | PbMsg::Ack { view, .. }
            | PbMsg::StartViewChange { view }
            | PbMsg::DoViewChange { view, .. }
            | PbMsg::StartView { view, .. } => *view,
        };
        if view < self.view {
            // A replica behind: tell it which view this is (the primary
            // sends it the state it needs).
            if self.is_primary(me) {
                self.send_state(ctx, from);
            } else if matches!(msg, PbMsg::Update { .. }) {
                ctx.send(
                    from,
                    PbMsg::Heartbeat {
                        view: self.view,
                        committed: self.committed,
                    },
                );
            }
            return;
        }
        if view > self.view {
            if let PbMsg::StartView {
                committed, store, ..
            } = msg
            {
                self.adopt(ctx, from, view, committed, store);
                return;
            }
            // A newer view exists: stop serving the old one, vote in it.
            self.start_view_change(ctx, view, false);
        }
        let primary = self.primary_of(self.view).expect("started");
        match msg {
            PbMsg::Heartbeat { committed, .. } => {
                if self.status == Status::Normal && from == primary && primary != me {
                    self.committed = self.committed.max(committed.min(self.applied()));
                    self.serve_parked(ctx);
                }
            }
            PbMsg::StartViewChange { .. } => {}
            PbMsg::Update {
                first,
                entries,
                committed,
                ..
            } => {
                if self.status == Status::Normal && from == primary && primary != me {
                    self.on_update(ctx, from, first, entries, committed);
                }
            }
            PbMsg::Ack { index, .. } => {
                if self.is_primary(me) {
                    let acked = self.acked.entry(from).or_insert(0);
                    *acked = (*acked).max(index.min(self.store.applied()));
                    self.advance_commit(ctx);
                }
            }
            PbMsg::DoViewChange {
                last_normal,
                committed,
                store,
                ..
            } => {
                if primary != me {
                    return;
                }
                match self.status {
                    Status::ViewChange => {
                        let vote = Vote {
                            last_normal,
                            committed,
                            store,
                        };
                        self.votes.insert(from, vote);
                        self.try_start_view(ctx);
                    }
                    // A late voter: bring it into the view.
                    Status::Normal => self.send_state(ctx, from),
                }
            }
            PbMsg::StartView {
                committed, store, ..
            } => {
                let newer = self.status == Status::ViewChange || store.applied() > self.applied();
                if from == primary && primary != me && newer {
                    self.adopt(ctx, from, view, committed, store);
                }
            }
        }
    }
}

impl Replica for PrimaryBackup {
    fn call(call: Call) -> Call {
        call
    }

    fn answer(event: &PbEvent) -> Option<Answer> {
        match event {
            PbEvent::Answer(answer) => Some(answer.clone()),
            PbEvent::ViewStarted { .. } => None,
        }
    }
}
