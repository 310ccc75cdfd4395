//! One Multi-Paxos replica: proposer, acceptor and learner for every slot
//! of the log, a leader chosen by the failure detector, and the state
//! machine the log drives.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use dsys_core::failure_detector::{FailureDetector, HeartbeatConfig};
use dsys_core::{Context, Node, NodeId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::message::{Command, Entry, Msg, MultiPaxosEvent, MultiPaxosRequest, Slot, Tick};
use crate::paxos::Ballot;
use crate::raft::{RequestId, StateMachine};
use crate::stable::Stable;
use crate::{Error, Result};

/// A deliberate bug, so that the checkers can be seen to catch it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Defect {
    /// A new leader fills every slot from its own first unchosen one with
    /// no-ops and its own proposals, ignoring what the promises reported
    /// (breaks log agreement once a slot was chosen it did not know of).
    IgnoresAcceptedValues,
}

/// A replica's timing and limits.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MultiPaxosConfig {
    /// Heartbeats and the failure detector (period, suspicion timeout).
    pub heartbeat: HeartbeatConfig,
    /// Slots a leader may have proposed and not yet seen chosen; requests
    /// arriving meanwhile wait and go out together in the next slot.
    /// Default 4: a shallow pipeline makes full slots under load (with 16,
    /// 64 closed-loop clients were spread over many one-command slots, and
    /// on a thread per replica each slot's messages cost their own
    /// wake-ups: `benches/raft.rs` measured 0.62–0.76× Raft at 16, ~1.0×
    /// at 4, ~1.3× at 2), while 4 × `batch_max` commands per round trip
    /// still fill a slow network.
    pub pipeline_max: usize,
    /// The most commands in one slot (default 256).
    pub batch_max: usize,
    /// The most entries in one [`Msg::Chosen`] answer to a catch-up.
    pub catch_up_max: usize,
    /// The most requests a leader holds waiting for the pipeline; more are
    /// refused with [`MultiPaxosEvent::NotLeader`] naming itself.
    pub pending_max: usize,
    /// Emit [`MultiPaxosEvent::Proposed`] for every slot proposed: what
    /// the simulator's message counts and a trace reader need. Off by
    /// default: on the actix runtime each event wakes the subscribers, and
    /// with a thread per replica that cost a quarter of the throughput.
    pub report_proposals: bool,
    /// A deliberate bug, for checker tests (`None` in real use).
    pub defect: Option<Defect>,
}

impl Default for MultiPaxosConfig {
    fn default() -> Self {
        MultiPaxosConfig {
            heartbeat: HeartbeatConfig::default(),
            pipeline_max: 4,
            batch_max: 256,
            catch_up_max: 64,
            pending_max: 4096,
            report_proposals: false,
            defect: None,
        }
    }
}

impl MultiPaxosConfig {
    /// Checks the configuration, saying what to fix.
    pub fn validate(&self) -> Result<()> {
        for (name, limit) in [
            ("pipeline_max", self.pipeline_max),
            ("batch_max", self.batch_max),
            ("catch_up_max", self.catch_up_max),
        ] {
            if limit == 0 {
                return Err(Error::InvalidConfig(format!(
                    "Multi-Paxos: {name} is 0; it must be at least 1"
                )));
            }
        }
        if self.heartbeat.timeout <= self.heartbeat.period {
            return Err(Error::InvalidConfig(format!(
                "Multi-Paxos: the suspicion timeout ({:?}) must exceed the heartbeat period ({:?})",
                self.heartbeat.timeout, self.heartbeat.period
            )));
        }
        Ok(())
    }
}

/// What a replica keeps in stable storage, written before any message that
/// depends on it leaves.
///
/// The chosen entries are a positional log, like Raft's: slot `s` at index
/// `s − 1`, gap-free, appended in order. Only what lies above it is kept
/// by slot: entries learned chosen past a gap (a catch-up answer that
/// arrived before the one below it), and the accepted proposals of slots
/// not yet known chosen. A slot's accepted proposal is dropped once the
/// slot joins the log: from then on a Promise reports the chosen entry
/// itself, which outranks any accepted proposal.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound(serialize = "C: Serialize", deserialize = "C: DeserializeOwned"))]
pub struct Durable<C> {
    /// The highest ballot promised (for every slot at once).
    pub promised: Option<Ballot>,
    /// The highest round this replica used for its own ballots.
    pub round: u64,
    /// The chosen log: slot `s` at index `s − 1`, with no gap.
    pub log: Vec<Entry<C>>,
    /// Entries known chosen in slots above the log's first gap.
    pub chosen_above: BTreeMap<Slot, Entry<C>>,
    /// Per slot above the log, the highest-numbered proposal accepted.
    pub accepted: BTreeMap<Slot, (Ballot, Entry<C>)>,
}

impl<C> Default for Durable<C> {
    fn default() -> Self {
        Durable {
            promised: None,
            round: 0,
            log: Vec::new(),
            chosen_above: BTreeMap::new(),
            accepted: BTreeMap::new(),
        }
    }
}

impl<C: Clone> Durable<C> {
    /// The lowest slot not in the log.
    fn first_unchosen(&self) -> Slot {
        self.log.len() as Slot + 1
    }

    /// The entry known chosen in `slot`, if any.
    fn chosen(&self, slot: Slot) -> Option<&Entry<C>> {
        let index = slot.checked_sub(1)? as usize;
        self.log.get(index).or_else(|| self.chosen_above.get(&slot))
    }

    /// Records `entry` as chosen in `slot` (a slot not yet known chosen),
    /// moves into the log what is now gap-free, and forgets the accepted
    /// proposals of the slots that joined it.
    fn choose(&mut self, slot: Slot, entry: Entry<C>) {
        if slot != self.first_unchosen() {
            self.chosen_above.insert(slot, entry);
            return;
        }
        self.log.push(entry);
        while let Some(entry) = self.chosen_above.remove(&self.first_unchosen()) {
            self.log.push(entry);
        }
        let first = self.first_unchosen();
        while self
            .accepted
            .first_key_value()
            .is_some_and(|(s, _)| *s < first)
        {
            self.accepted.pop_first();
        }
    }
}

/// A slot the leader proposed and has not yet seen chosen.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Proposal<C> {
    entry: Entry<C>,
    accepted: BTreeSet<NodeId>,
    /// When it was last sent, for retransmission.
    sent_at: Duration,
}

/// Where a replica stands.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Role<C> {
    Follower,
    /// Phase 1 for every slot from `from_slot` on.
    Preparing {
        ballot: Ballot,
        from_slot: Slot,
        since: Duration,
        promises: BTreeMap<NodeId, Vec<(Slot, Ballot, Entry<C>)>>,
    },
    /// Phase 1 done: phase 2 only, one slot per batch.
    Leading {
        ballot: Ballot,
        next_slot: Slot,
        proposals: BTreeMap<Slot, Proposal<C>>,
    },
}

/// A Multi-Paxos replica driving a [`StateMachine`] (the same trait Raft
/// drives, so one machine runs on either). See the [module
/// essay](super).
///
/// ```
/// use std::time::Duration;
/// use dsys_core::sim::Simulation;
/// use dsys_consensus::multi_paxos::simulation::{cluster, current_leader};
/// use dsys_consensus::multi_paxos::{MultiPaxosConfig, MultiPaxosEvent, MultiPaxosRequest};
///
/// let mut sim = Simulation::new(3, 1, cluster(MultiPaxosConfig::default()));
/// sim.run_until(Duration::from_millis(100)).unwrap();
/// let leader = current_leader(&sim).expect("n0 leads from the start");
/// sim.request(leader, MultiPaxosRequest::Propose { id: 1, command: 5 }).unwrap();
/// sim.run_for(Duration::from_millis(100)).unwrap();
/// assert!(sim.events(leader).iter().any(|e| matches!(e.event, MultiPaxosEvent::Applied { id: 1, output: 5, .. })));
/// assert!(sim.nodes().all(|(_, r)| r.state_machine().value == 5));
/// ```
pub struct MultiPaxos<SM: StateMachine> {
    config: MultiPaxosConfig,
    stable: Stable<Durable<SM::Command>>,
    durable: Durable<SM::Command>,
    role: Role<SM::Command>,
    /// The last slot applied to the state machine.
    applied: Slot,
    sm: SM,
    detector: Option<FailureDetector>,
    /// The leader this replica last heard from.
    leader: Option<NodeId>,
    /// Requests waiting for the pipeline (leader only).
    pending: VecDeque<Command<SM::Command>>,
    /// Requests this replica took and will answer when applied.
    waiting: BTreeSet<RequestId>,
    /// The highest round seen in any ballot.
    seen_round: u64,
}

impl<SM> Clone for MultiPaxos<SM>
where
    SM: StateMachine + Clone,
{
    fn clone(&self) -> Self {
        MultiPaxos {
            config: self.config.clone(),
            stable: self.stable.clone(),
            durable: self.durable.clone(),
            role: self.role.clone(),
            applied: self.applied,
            sm: self.sm.clone(),
            detector: self.detector.clone(),
            leader: self.leader,
            pending: self.pending.clone(),
            waiting: self.waiting.clone(),
            seen_round: self.seen_round,
        }
    }
}

impl<SM: StateMachine + fmt::Debug> fmt::Debug for MultiPaxos<SM> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiPaxos")
            .field("role", &self.role_name())
            .field("ballot", &self.ballot())
            .field("promised", &self.durable.promised)
            .field("first_unchosen", &self.first_unchosen())
            .field("applied", &self.applied)
            .field("sm", &self.sm)
            .finish_non_exhaustive()
    }
}

// Equality and hashing leave out the storage handle: it mirrors `durable`.
impl<SM: StateMachine + PartialEq> PartialEq for MultiPaxos<SM> {
    fn eq(&self, other: &Self) -> bool {
        let MultiPaxos {
            config,
            stable: _,
            durable,
            role,
            applied,
            sm,
            detector,
            leader,
            pending,
            waiting,
            seen_round,
        } = self;
        *config == other.config
            && *durable == other.durable
            && *role == other.role
            && *applied == other.applied
            && *sm == other.sm
            && *detector == other.detector
            && *leader == other.leader
            && *pending == other.pending
            && *waiting == other.waiting
            && *seen_round == other.seen_round
    }
}

impl<SM: StateMachine + Eq> Eq for MultiPaxos<SM> {}

impl<SM: StateMachine + Hash> Hash for MultiPaxos<SM> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let MultiPaxos {
            config,
            stable: _,
            durable,
            role,
            applied,
            sm,
            detector,
            leader,
            pending,
            waiting,
            seen_round,
        } = self;
        (config, durable, role, applied, sm).hash(state);
        (detector, leader, pending, waiting, seen_round).hash(state);
    }
}

impl<SM: StateMachine> MultiPaxos<SM> {
    /// A replica over `stable`, reading back what an earlier incarnation
    /// stored, with a fresh `sm` that the chosen log is replayed into at
    /// start.
    pub fn new(
        config: MultiPaxosConfig,
        stable: Stable<Durable<SM::Command>>,
        sm: SM,
    ) -> Result<Self> {
        config.validate()?;
        Ok(Self::with_any_timing(config, stable, sm))
    }

    /// [`new`](Self::new) without checking that the suspicion timeout
    /// exceeds the heartbeat period: for [`super::model`], whose detector
    /// suspects a peer silent since its last tick, so that one tick stands
    /// for any longer silence. A deployment must not do that: it would
    /// suspect every peer whose heartbeat is still in flight.
    pub(super) fn with_any_timing(
        config: MultiPaxosConfig,
        stable: Stable<Durable<SM::Command>>,
        sm: SM,
    ) -> Self {
        let durable = stable.load();
        MultiPaxos {
            config,
            stable,
            seen_round: durable.round,
            durable,
            role: Role::Follower,
            applied: 0,
            sm,
            detector: None,
            leader: None,
            pending: VecDeque::new(),
            waiting: BTreeSet::new(),
        }
    }

    /// Whether this replica leads (phase 1 done).
    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leading { .. })
    }

    /// The ballot this replica leads or prepares with, if any.
    pub fn ballot(&self) -> Option<Ballot> {
        match &self.role {
            Role::Follower => None,
            Role::Preparing { ballot, .. } | Role::Leading { ballot, .. } => Some(*ballot),
        }
    }

    fn role_name(&self) -> &'static str {
        match self.role {
            Role::Follower => "follower",
            Role::Preparing { .. } => "preparing",
            Role::Leading { .. } => "leader",
        }
    }

    /// What this replica keeps in stable storage: what a restart reads
    /// back.
    pub fn durable(&self) -> &Durable<SM::Command> {
        &self.durable
    }

    /// The highest ballot promised.
    pub fn promised(&self) -> Option<Ballot> {
        self.durable.promised
    }

    /// The chosen log: the entry of slot `s` at index `s − 1`, every slot
    /// below [`first_unchosen`](Self::first_unchosen).
    pub fn log(&self) -> &[Entry<SM::Command>] {
        &self.durable.log
    }

    /// Every entry this replica knows to be chosen, by slot in order: the
    /// log, then any learned past a gap.
    pub fn chosen(&self) -> impl Iterator<Item = (Slot, &Entry<SM::Command>)> + '_ {
        let log = (1..).zip(&self.durable.log);
        log.chain(self.durable.chosen_above.iter().map(|(s, e)| (*s, e)))
    }

    /// The entry this replica knows to be chosen in `slot`, if any.
    pub fn chosen_entry(&self, slot: Slot) -> Option<&Entry<SM::Command>> {
        self.durable.chosen(slot)
    }

    /// The proposals this replica accepted in slots not yet in its log, by
    /// slot (a slot's proposal is forgotten once the slot is chosen).
    pub fn accepted(&self) -> &BTreeMap<Slot, (Ballot, Entry<SM::Command>)> {
        &self.durable.accepted
    }

    /// The lowest slot not known to be chosen (every slot below is).
    pub fn first_unchosen(&self) -> Slot {
        self.durable.first_unchosen()
    }

    /// The last slot applied to the state machine.
    pub fn applied(&self) -> Slot {
        self.applied
    }

    /// The state machine.
    pub fn state_machine(&self) -> &SM {
        &self.sm
    }

    /// The leader this replica knows of (itself, if it leads).
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    fn majority(ctx: &Context<'_, Self>) -> usize {
        ctx.cluster_size() / 2 + 1
    }

    // ----- learning and applying ------------------------------------------

    /// Records that `slot` holds `entry` for good, and applies what it can.
    fn learn(&mut self, ctx: &mut Context<'_, Self>, slot: Slot, entry: Entry<SM::Command>) {
        if slot < self.first_unchosen() || self.durable.chosen_above.contains_key(&slot) {
            return;
        }
        self.stable.update(|d| d.choose(slot, entry.clone()));
        self.durable.choose(slot, entry);
        self.apply(ctx);
    }

    fn apply(&mut self, ctx: &mut Context<'_, Self>) {
        while self.applied + 1 < self.first_unchosen() {
            let slot = self.applied + 1;
            self.applied = slot;
            let Some(Entry::Batch(commands)) = self.durable.log.get(slot as usize - 1) else {
                continue; // a no-op
            };
            for Command { id, command } in commands {
                let output = self.sm.apply(slot, command);
                if self.waiting.remove(id) {
                    ctx.emit(MultiPaxosEvent::Applied {
                        id: *id,
                        slot,
                        output,
                    });
                }
            }
        }
    }

    /// A leader of `ballot` says every slot below `commit` is chosen: a slot
    /// where this replica accepted `ballot`'s proposal holds that proposal.
    /// Returns whether a gap remains below `commit`.
    fn learn_commit(&mut self, ctx: &mut Context<'_, Self>, ballot: Ballot, commit: Slot) -> bool {
        let mut from = self.first_unchosen();
        while from < commit {
            let durable = &self.durable;
            let Some((slot, entry)) = durable
                .accepted
                .range(from..commit)
                .find(|(slot, (b, _))| *b == ballot && !durable.chosen_above.contains_key(slot))
                .map(|(slot, (_, entry))| (*slot, entry.clone()))
            else {
                break;
            };
            self.learn(ctx, slot, entry);
            from = slot + 1;
        }
        self.first_unchosen() < commit
    }

    // ----- leadership ------------------------------------------------------

    /// The replica that should lead, as this one sees it: the lowest id it
    /// does not suspect (itself included) — Ω from a ◇P failure detector.
    fn candidate(&self, me: NodeId) -> NodeId {
        let Some(detector) = &self.detector else {
            return me;
        };
        let suspects = detector.suspects();
        (0..=me.0)
            .map(NodeId)
            .find(|n| *n == me || !suspects.contains(n))
            .unwrap_or(me)
    }

    fn step_down(&mut self, ctx: &mut Context<'_, Self>) {
        let Some(ballot) = self.ballot() else { return };
        if let Role::Leading { .. } = self.role {
            ctx.emit(MultiPaxosEvent::SteppedDown { ballot });
        }
        self.role = Role::Follower;
        if self.leader == Some(ctx.id()) {
            self.leader = None;
        }
        for Command { id, .. } in std::mem::take(&mut self.pending) {
            self.waiting.remove(&id);
            ctx.emit(MultiPaxosEvent::NotLeader { id, leader: None });
        }
    }

    /// A ballot from another replica: outbid it next time; if it is above
    /// ours, we no longer lead.
    fn saw_ballot(&mut self, ctx: &mut Context<'_, Self>, ballot: Ballot) {
        self.seen_round = self.seen_round.max(ballot.round);
        if self.ballot().is_some_and(|mine| ballot > mine) {
            self.step_down(ctx);
        }
    }

    /// Phase 1 for every slot from the first unchosen one on.
    fn start_prepare(&mut self, ctx: &mut Context<'_, Self>) {
        let promised_round = self.durable.promised.map_or(0, |b| b.round);
        let round = self.seen_round.max(promised_round).max(self.durable.round) + 1;
        let ballot = Ballot {
            round,
            node: ctx.id(),
        };
        self.seen_round = round;
        self.durable.round = round;
        self.durable.promised = Some(ballot);
        self.stable.update(|d| {
            d.round = round;
            d.promised = Some(ballot);
        });
        let from_slot = self.first_unchosen();
        let own = self.accepted_from(from_slot);
        self.role = Role::Preparing {
            ballot,
            from_slot,
            since: ctx.now(),
            promises: BTreeMap::from([(ctx.id(), own)]),
        };
        ctx.emit(MultiPaxosEvent::Preparing { ballot, from_slot });
        ctx.broadcast(Msg::Prepare { ballot, from_slot });
        self.maybe_lead(ctx);
    }

    fn accepted_from(&self, from_slot: Slot) -> Vec<(Slot, Ballot, Entry<SM::Command>)> {
        self.durable
            .accepted
            .range(from_slot..)
            .map(|(slot, (b, e))| (*slot, *b, e.clone()))
            .collect()
    }

    /// Every entry known chosen from `from_slot` on, at most `max`.
    fn chosen_from(&self, from_slot: Slot, max: usize) -> Vec<(Slot, Entry<SM::Command>)> {
        let first = from_slot.max(1);
        let log = self
            .durable
            .log
            .get(first as usize - 1..)
            .unwrap_or_default();
        let above = self.durable.chosen_above.range(first..);
        (first..)
            .zip(log)
            .chain(above.map(|(s, e)| (*s, e)))
            .take(max)
            .map(|(slot, e)| (slot, e.clone()))
            .collect()
    }

    /// With a majority of promises: re-propose, for every slot from
    /// `from_slot` to the highest reported, the highest-numbered accepted
    /// proposal, and a no-op where there is none (a gap).
    fn maybe_lead(&mut self, ctx: &mut Context<'_, Self>) {
        let Role::Preparing {
            ballot,
            from_slot,
            promises,
            ..
        } = &self.role
        else {
            return;
        };
        if promises.len() < Self::majority(ctx) {
            return;
        }
        let (ballot, from_slot) = (*ballot, *from_slot);
        let mut highest: BTreeMap<Slot, (Ballot, Entry<SM::Command>)> = BTreeMap::new();
        if self.config.defect != Some(Defect::IgnoresAcceptedValues) {
            for (slot, b, entry) in promises.values().flatten() {
                if highest.get(slot).is_none_or(|(hb, _)| b > hb) {
                    highest.insert(*slot, (*b, entry.clone()));
                }
            }
        }
        let last = highest.keys().next_back().copied().unwrap_or(0);
        let last_chosen = self.durable.chosen_above.keys().next_back().copied();
        let last = last.max(last_chosen.unwrap_or(self.first_unchosen() - 1));
        let (mut recovered, mut noops) = (0, 0);
        let mut reproposals = Vec::new();
        for slot in from_slot..=last {
            if self.durable.chosen(slot).is_some() {
                continue;
            }
            let entry = match highest.remove(&slot) {
                Some((_, entry)) => {
                    recovered += 1;
                    entry
                }
                None => {
                    noops += 1;
                    Entry::Noop
                }
            };
            reproposals.push((slot, entry));
        }
        self.role = Role::Leading {
            ballot,
            next_slot: last.max(from_slot.saturating_sub(1)) + 1,
            proposals: BTreeMap::new(),
        };
        self.leader = Some(ctx.id());
        ctx.emit(MultiPaxosEvent::Elected {
            ballot,
            recovered,
            noops,
        });
        for (slot, entry) in reproposals {
            self.propose(ctx, slot, entry);
        }
        self.flush(ctx);
    }

    /// Phase 2a for one slot: accept locally (stored), send to the others.
    fn propose(&mut self, ctx: &mut Context<'_, Self>, slot: Slot, entry: Entry<SM::Command>) {
        let Role::Leading {
            ballot, proposals, ..
        } = &mut self.role
        else {
            return;
        };
        let ballot = *ballot;
        let commands = match &entry {
            Entry::Noop => 0,
            Entry::Batch(commands) => commands.len(),
        };
        if self.config.report_proposals {
            ctx.emit(MultiPaxosEvent::Proposed {
                ballot,
                slot,
                commands,
            });
        }
        proposals.insert(
            slot,
            Proposal {
                entry: entry.clone(),
                accepted: BTreeSet::from([ctx.id()]),
                sent_at: ctx.now(),
            },
        );
        self.durable.accepted.insert(slot, (ballot, entry.clone()));
        self.stable
            .update(|d| d.accepted.insert(slot, (ballot, entry.clone())));
        let commit = self.first_unchosen();
        ctx.broadcast(Msg::Accept {
            ballot,
            slot,
            entry,
            commit,
        });
        if Self::majority(ctx) == 1 {
            self.on_accepted(ctx, ctx.id(), ballot, slot);
        }
    }

    /// Batching: while the pipeline has room, the waiting requests go out,
    /// up to `batch_max` to a slot.
    fn flush(&mut self, ctx: &mut Context<'_, Self>) {
        loop {
            let Role::Leading {
                next_slot,
                proposals,
                ..
            } = &mut self.role
            else {
                return;
            };
            if self.pending.is_empty() || proposals.len() >= self.config.pipeline_max {
                return;
            }
            let slot = *next_slot;
            *next_slot += 1;
            let take = self.pending.len().min(self.config.batch_max);
            let batch: Vec<Command<SM::Command>> = self.pending.drain(..take).collect();
            self.propose(ctx, slot, Entry::Batch(batch));
        }
    }

    // ----- handlers ----------------------------------------------------------

    fn on_prepare(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        ballot: Ballot,
        from_slot: Slot,
    ) {
        self.saw_ballot(ctx, ballot);
        if self.durable.promised.is_some_and(|p| ballot < p) {
            let promised = self.durable.promised.expect("checked just above");
            return ctx.send(from, Msg::Reject { promised });
        }
        self.durable.promised = Some(ballot);
        self.stable.update(|d| d.promised = Some(ballot));
        let accepted = self.accepted_from(from_slot);
        let chosen = self.chosen_from(from_slot, usize::MAX);
        ctx.send(
            from,
            Msg::Promise {
                ballot,
                accepted,
                chosen,
            },
        );
    }

    fn on_promise(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        ballot: Ballot,
        accepted: Vec<(Slot, Ballot, Entry<SM::Command>)>,
        chosen: Vec<(Slot, Entry<SM::Command>)>,
    ) {
        // What is chosen is chosen whatever the ballot: learn it, so that
        // phase 2 leaves those slots alone.
        for (slot, entry) in chosen {
            self.learn(ctx, slot, entry);
        }
        if let Role::Preparing {
            ballot: mine,
            promises,
            ..
        } = &mut self.role
            && *mine == ballot
        {
            promises.insert(from, accepted);
            self.maybe_lead(ctx);
        }
    }

    fn on_accept(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        ballot: Ballot,
        slot: Slot,
        entry: Entry<SM::Command>,
        commit: Slot,
    ) {
        self.saw_ballot(ctx, ballot);
        if self.durable.promised.is_some_and(|p| ballot < p) {
            let promised = self.durable.promised.expect("checked just above");
            return ctx.send(from, Msg::Reject { promised });
        }
        self.leader = Some(ballot.node);
        if slot >= self.first_unchosen() {
            self.durable.promised = Some(ballot);
            self.durable.accepted.insert(slot, (ballot, entry.clone()));
            self.stable.update(|d| {
                d.promised = Some(ballot);
                d.accepted.insert(slot, (ballot, entry));
            });
        }
        ctx.send(from, Msg::Accepted { ballot, slot });
        self.learn_commit(ctx, ballot, commit);
    }

    fn on_accepted(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        ballot: Ballot,
        slot: Slot,
    ) {
        let majority = Self::majority(ctx);
        let Role::Leading {
            ballot: mine,
            proposals,
            ..
        } = &mut self.role
        else {
            return;
        };
        if *mine != ballot {
            return;
        }
        let Some(proposal) = proposals.get_mut(&slot) else {
            return;
        };
        proposal.accepted.insert(from);
        if proposal.accepted.len() < majority {
            return;
        }
        let entry = proposals.remove(&slot).expect("found just above").entry;
        self.learn(ctx, slot, entry);
        self.flush(ctx);
    }

    fn on_heartbeat(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        leading: Option<Ballot>,
        commit: Slot,
    ) {
        let Some(ballot) = leading else { return };
        self.saw_ballot(ctx, ballot);
        if self.durable.promised.is_some_and(|p| ballot < p) {
            return; // a deposed leader's heartbeat
        }
        self.leader = Some(from);
        if self.learn_commit(ctx, ballot, commit) {
            // A gap below the leader's commit point: a lost Accept, or a
            // restart. Ask for what is missing (once per heartbeat).
            let from_slot = self.first_unchosen();
            ctx.send(from, Msg::CatchUp { from: from_slot });
        }
    }

    fn on_tick(&mut self, ctx: &mut Context<'_, Self>) {
        ctx.set_timer(self.config.heartbeat.period, Tick);
        let now = ctx.now();
        if let Some(detector) = self.detector.as_mut() {
            detector.check(now);
        }
        ctx.broadcast(Msg::Heartbeat {
            leading: match self.role {
                Role::Leading { ballot, .. } => Some(ballot),
                _ => None,
            },
            commit: self.first_unchosen(),
        });
        let me = ctx.id();
        let should_lead = self.candidate(me) == me;
        match &self.role {
            Role::Follower if should_lead => self.start_prepare(ctx),
            Role::Follower => {}
            _ if !should_lead => self.step_down(ctx),
            Role::Preparing { since, .. } => {
                // No majority of promises within a suspicion timeout: a lost
                // message or a rival; try a higher ballot.
                if now.saturating_sub(*since) > self.config.heartbeat.timeout {
                    self.start_prepare(ctx);
                }
            }
            Role::Leading { .. } => self.retransmit(ctx, now),
        }
    }
}

impl<SM: StateMachine> MultiPaxos<SM> {
    /// Sends again, to the replicas that have not acknowledged it, every
    /// proposal sent a heartbeat period ago or more and not yet chosen (a
    /// lost Accept or Accepted).
    fn retransmit(&mut self, ctx: &mut Context<'_, Self>, now: Duration) {
        let period = self.config.heartbeat.period;
        let commit = self.first_unchosen();
        let Role::Leading {
            ballot, proposals, ..
        } = &mut self.role
        else {
            return;
        };
        let ballot = *ballot;
        let peers = ctx.peers().to_vec();
        for (&slot, proposal) in proposals.iter_mut() {
            if now.saturating_sub(proposal.sent_at) < period {
                continue;
            }
            proposal.sent_at = now;
            let to: Vec<NodeId> = peers
                .iter()
                .copied()
                .filter(|peer| !proposal.accepted.contains(peer))
                .collect();
            for &peer in &to {
                let msg = Msg::Accept {
                    ballot,
                    slot,
                    entry: proposal.entry.clone(),
                    commit,
                };
                ctx.send(peer, msg);
            }
            if !to.is_empty() {
                ctx.emit(MultiPaxosEvent::Resent { ballot, slot, to });
            }
        }
    }
}

impl<SM: StateMachine> Node for MultiPaxos<SM> {
    type Msg = Msg<SM::Command>;
    type Timer = Tick;
    type Request = MultiPaxosRequest<SM::Command>;
    type Event = MultiPaxosEvent<SM::Output>;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.detector = Some(FailureDetector::new(
            self.config.heartbeat,
            ctx.peers(),
            ctx.now(),
        ));
        self.apply(ctx); // replay the chosen log into the fresh state machine
        self.on_tick(ctx);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg<SM::Command>) {
        let now = ctx.now();
        if let Some(detector) = self.detector.as_mut() {
            detector.heartbeat(from, now);
        }
        match msg {
            Msg::Prepare { ballot, from_slot } => self.on_prepare(ctx, from, ballot, from_slot),
            Msg::Promise {
                ballot,
                accepted,
                chosen,
            } => self.on_promise(ctx, from, ballot, accepted, chosen),
            Msg::Accept {
                ballot,
                slot,
                entry,
                commit,
            } => self.on_accept(ctx, from, ballot, slot, entry, commit),
            Msg::Accepted { ballot, slot } => self.on_accepted(ctx, from, ballot, slot),
            Msg::Reject { promised } => self.saw_ballot(ctx, promised),
            Msg::Heartbeat { leading, commit } => self.on_heartbeat(ctx, from, leading, commit),
            Msg::CatchUp { from: first } => {
                let entries = self.chosen_from(first, self.config.catch_up_max);
                if !entries.is_empty() {
                    ctx.send(from, Msg::Chosen { entries });
                }
            }
            Msg::Chosen { entries } => {
                for (slot, entry) in entries {
                    self.learn(ctx, slot, entry);
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _: Tick) {
        self.on_tick(ctx);
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Self::Request) {
        let MultiPaxosRequest::Propose { id, command } = request;
        let taking = match self.role {
            Role::Follower => false,
            _ => self.pending.len() < self.config.pending_max,
        };
        if !taking {
            let leader = self.leader;
            return ctx.emit(MultiPaxosEvent::NotLeader { id, leader });
        }
        self.waiting.insert(id);
        self.pending.push_back(Command { id, command });
        self.flush(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::Counter;
    use dsys_core::testing::Harness;
    use dsys_core::{Effect, EffectOf};

    /// Replica 0, leading ballot (1, n0) after n1's empty promise.
    fn leading() -> (Harness<MultiPaxos<Counter>>, Ballot) {
        let mut h = replica(0);
        h.start();
        let b = Ballot::new(1, 0);
        h.message(
            NodeId(1),
            Msg::Promise {
                ballot: b,
                accepted: vec![],
                chosen: vec![],
            },
        );
        (h, b)
    }

    fn replica(id: u32) -> Harness<MultiPaxos<Counter>> {
        let config = MultiPaxosConfig {
            report_proposals: true,
            ..MultiPaxosConfig::default()
        };
        let r = MultiPaxos::new(config, Stable::default(), Counter::default()).unwrap();
        Harness::new(r, NodeId(id), 3)
    }

    /// A named change to a value, for tests that try one change at a time.
    use crate::test_support::{assert_every_field_counts, assert_handle_ignored, Change};

    fn batch(id: u64) -> Entry<u64> {
        Entry::Batch(vec![Command {
            id: id.into(),
            command: id,
        }])
    }

    // Paxos Made Simple §3: a new leader re-proposes, slot by slot, the
    // highest-numbered accepted proposal its promises report, and a no-op
    // where none does (the gap at slot 2).
    #[test]
    fn a_new_leader_recovers_accepted_slots_and_fills_gaps_with_noops() {
        let mut h = replica(0);
        h.start(); // n0 trusts everyone: it is the candidate, and prepares
        let b = Ballot::new(1, 0);
        assert_eq!(h.node().ballot(), Some(b));
        assert!(!h.node().is_leader(), "preparing, not leading yet");
        let reported = vec![
            (1, Ballot::new(0, 2), batch(7)),
            (3, Ballot::new(0, 1), batch(8)),
            (3, Ballot::new(0, 2), batch(9)),
        ];
        let effects = h.message(
            NodeId(1),
            Msg::Promise {
                ballot: b,
                accepted: reported,
                chosen: Vec::new(),
            },
        );
        let accept = |slot, entry| Msg::Accept {
            ballot: b,
            slot,
            entry,
            commit: 1,
        };
        let mut expected = vec![Effect::Emit(MultiPaxosEvent::Elected {
            ballot: b,
            recovered: 2,
            noops: 1,
        })];
        for (slot, entry) in [(1, batch(7)), (2, Entry::Noop), (3, batch(9))] {
            let commands = usize::from(entry != Entry::Noop);
            expected.push(Effect::Emit(MultiPaxosEvent::Proposed {
                ballot: b,
                slot,
                commands,
            }));
            for to in [1, 2] {
                expected.push(Effect::Send {
                    to: NodeId(to),
                    msg: accept(slot, entry.clone()),
                });
            }
        }
        assert_eq!(effects, expected, "(0, n2) outranks (0, n1) at slot 3");
        assert!(h.node().is_leader());
        // A request goes to the next slot, with phase 2 only.
        let effects = h.request(MultiPaxosRequest::Propose { id: 4, command: 4 });
        assert_eq!(effects.len(), 3);
        assert_eq!(
            effects[1],
            Effect::Send {
                to: NodeId(1),
                msg: accept(4, batch(4))
            }
        );
    }

    // Each limit is checked on its own, and the error names it.
    #[test]
    fn a_configuration_with_a_zero_limit_is_refused() {
        assert!(MultiPaxosConfig::default().validate().is_ok());
        let zero: [Change<MultiPaxosConfig>; 3] = [
            ("pipeline_max", |c| c.pipeline_max = 0),
            ("batch_max", |c| c.batch_max = 0),
            ("catch_up_max", |c| c.catch_up_max = 0),
        ];
        for (field, set_zero) in zero {
            let mut config = MultiPaxosConfig::default();
            set_zero(&mut config);
            let why = config.validate().unwrap_err().to_string();
            assert!(why.contains(&format!("{field} is 0")), "{field}: {why}");
            let replica = MultiPaxos::new(config, Stable::default(), Counter::default());
            assert!(replica.is_err(), "{field} = 0 makes no replica");
        }
    }

    // A replica's state is compared and hashed to deduplicate states when
    // model checking: every field counts, except the storage handle, which
    // mirrors `durable`.
    #[test]
    fn equality_and_hashing_see_every_field_but_the_storage_handle() {
        let mut h = replica(0);
        h.start(); // preparing, with a failure detector
        let base = h.node().clone();
        let changes: [Change<MultiPaxos<Counter>>; 10] = [
            ("config", |r| r.config.batch_max += 1),
            ("durable", |r| r.durable.round += 1),
            ("role", |r| r.role = Role::Follower),
            ("applied", |r| r.applied += 1),
            ("sm", |r| r.sm.value += 1),
            ("detector", |r| r.detector = None),
            ("leader", |r| r.leader = Some(NodeId(2))),
            ("pending", |r| {
                r.pending.push_back(Command { id: 1, command: 1 })
            }),
            ("waiting", |r| {
                r.waiting.insert(1);
            }),
            ("seen_round", |r| r.seen_round += 1),
        ];
        assert_every_field_counts(&base, &changes);
        // The storage mirrors `durable`, which equality and hashing read.
        assert_handle_ignored(&base, |other| {
            other.stable = Stable::new(Durable {
                round: 9,
                ..Durable::default()
            })
        });
    }

    // Paxos Made Simple §3: a leader that promises a higher ballot stops
    // leading, and no longer names itself the leader. A Reject naming its
    // own ballot is stale (an acceptor that promised it refused an older
    // message of ours) and deposes nobody.
    #[test]
    fn a_leader_steps_down_for_a_higher_ballot_only() {
        let (mut h, mine) = leading();
        assert_eq!(h.node().leader(), Some(NodeId(0)));
        assert_eq!(h.message(NodeId(2), Msg::Reject { promised: mine }), vec![]);
        assert!(h.node().is_leader());
        let rival = Ballot::new(2, 1);
        assert_eq!(
            h.message(
                NodeId(1),
                Msg::Prepare {
                    ballot: rival,
                    from_slot: 1
                }
            ),
            vec![
                Effect::Emit(MultiPaxosEvent::SteppedDown { ballot: mine }),
                Effect::Send {
                    to: NodeId(1),
                    msg: Msg::Promise {
                        ballot: rival,
                        accepted: vec![],
                        chosen: vec![],
                    }
                }
            ]
        );
        assert_eq!((h.node().is_leader(), h.node().leader()), (false, None));
    }

    // A heartbeat asks for catch-up only when the leader's commit point is
    // past this replica's first unchosen slot.
    #[test]
    fn a_heartbeat_asks_for_catch_up_only_past_a_gap() {
        let mut h = replica(1);
        let leading = Some(Ballot::new(1, 0));
        let heartbeat = |commit| Msg::Heartbeat { leading, commit };
        assert_eq!(h.message(NodeId(0), heartbeat(1)), vec![]);
        h.message(
            NodeId(0),
            Msg::Chosen {
                entries: vec![(1, batch(1))],
            },
        );
        assert_eq!(h.message(NodeId(0), heartbeat(2)), vec![]);
        assert_eq!(
            h.message(NodeId(0), heartbeat(3)),
            vec![Effect::Send {
                to: NodeId(0),
                msg: Msg::CatchUp { from: 2 }
            }]
        );
    }

    // Paxos Made Simple §2.3: an acceptor promises a ballot at least as
    // high as any it promised (a duplicated Prepare is answered again) and
    // refuses a lower one, naming the ballot it promised.
    #[test]
    fn an_acceptor_promises_no_lower_ballot() {
        let mut h = replica(2);
        let high = Ballot::new(2, 1);
        let prepare = |ballot| Msg::Prepare {
            ballot,
            from_slot: 1,
        };
        let promise = Effect::Send {
            to: NodeId(1),
            msg: Msg::Promise {
                ballot: high,
                accepted: vec![],
                chosen: vec![],
            },
        };
        assert_eq!(h.message(NodeId(1), prepare(high)), vec![promise.clone()]);
        assert_eq!(
            h.message(NodeId(1), prepare(high)),
            vec![promise],
            "a duplicate"
        );
        assert_eq!(
            h.message(NodeId(0), prepare(Ballot::new(1, 0))),
            vec![Effect::Send {
                to: NodeId(0),
                msg: Msg::Reject { promised: high }
            }]
        );
    }

    // §3: a slot is chosen once a majority accepted its proposal: of three
    // replicas, the leader and one more.
    #[test]
    fn a_proposal_is_chosen_when_a_majority_accepted_it() {
        let (mut h, b) = leading();
        h.request(MultiPaxosRequest::Propose { id: 4, command: 4 });
        assert_eq!(h.node().first_unchosen(), 1);
        assert_eq!(
            h.message(NodeId(1), Msg::Accepted { ballot: b, slot: 1 }),
            vec![Effect::Emit(MultiPaxosEvent::Applied {
                id: 4,
                slot: 1,
                output: 4
            })]
        );
    }

    // A heartbeat of a leader whose ballot is below the promised one comes
    // from a deposed leader: ignored. One at or above it names the leader.
    #[test]
    fn a_deposed_leaders_heartbeat_is_ignored() {
        let mut h = replica(2);
        h.message(
            NodeId(1),
            Msg::Prepare {
                ballot: Ballot::new(2, 1),
                from_slot: 1,
            },
        );
        let heartbeat = |round, node| Msg::Heartbeat {
            leading: Some(Ballot::new(round, node)),
            commit: 1,
        };
        assert_eq!(h.message(NodeId(0), heartbeat(1, 0)), vec![]);
        assert_eq!(h.node().leader(), None);
        h.message(NodeId(1), heartbeat(2, 1));
        assert_eq!(h.node().leader(), Some(NodeId(1)));
        h.message(NodeId(0), heartbeat(3, 0));
        assert_eq!(h.node().leader(), Some(NodeId(0)));
    }

    // A candidate short of a majority of promises (a lost message, a
    // rival) tries a higher ballot once a whole suspicion timeout has
    // passed without one, not sooner.
    #[test]
    fn a_candidate_retries_with_a_higher_ballot_after_a_suspicion_timeout() {
        let mut h = replica(0);
        h.start();
        let timeout = MultiPaxosConfig::default().heartbeat.timeout;
        for now in [timeout / 4, timeout] {
            h.set_now(now);
            h.timer(Tick);
            assert_eq!(h.node().ballot(), Some(Ballot::new(1, 0)), "{now:?}");
        }
        h.set_now(timeout + Duration::from_millis(1));
        h.timer(Tick);
        assert_eq!(h.node().ballot(), Some(Ballot::new(2, 0)));
    }

    // A leader sends a proposal again to whoever has not acknowledged it
    // once a heartbeat period has passed since it last sent it, not sooner.
    #[test]
    fn a_leader_resends_a_proposal_after_a_heartbeat_period() {
        let (mut h, b) = leading();
        h.request(MultiPaxosRequest::Propose { id: 4, command: 4 });
        let resent = |effects: Vec<EffectOf<MultiPaxos<Counter>>>| -> Vec<_> {
            effects
                .into_iter()
                .filter(|e| {
                    matches!(
                        e,
                        Effect::Emit(MultiPaxosEvent::Resent { .. })
                            | Effect::Send {
                                msg: Msg::Accept { .. },
                                ..
                            }
                    )
                })
                .collect()
        };
        let period = MultiPaxosConfig::default().heartbeat.period;
        h.set_now(period / 2);
        assert_eq!(resent(h.timer(Tick)), vec![], "too soon");
        h.set_now(period);
        let accept = |to| Effect::Send {
            to: NodeId(to),
            msg: Msg::Accept {
                ballot: b,
                slot: 1,
                entry: batch(4),
                commit: 1,
            },
        };
        assert_eq!(
            resent(h.timer(Tick)),
            vec![
                accept(1),
                accept(2),
                Effect::Emit(MultiPaxosEvent::Resent {
                    ballot: b,
                    slot: 1,
                    to: vec![NodeId(1), NodeId(2)]
                })
            ]
        );
        h.set_now(period * 3 / 2);
        assert_eq!(resent(h.timer(Tick)), vec![], "sent again just now");
    }

    // A follower takes no request: it names the leader it knows. A leader
    // holds at most `pending_max` requests while its pipeline is full, and
    // refuses more naming itself.
    #[test]
    fn requests_beyond_what_a_replica_may_hold_are_refused() {
        let mut follower = replica(2);
        follower.message(
            NodeId(1),
            Msg::Heartbeat {
                leading: Some(Ballot::new(1, 1)),
                commit: 1,
            },
        );
        assert_eq!(
            follower.request(MultiPaxosRequest::Propose { id: 1, command: 1 }),
            vec![Effect::Emit(MultiPaxosEvent::NotLeader {
                id: 1,
                leader: Some(NodeId(1))
            })]
        );

        let config = MultiPaxosConfig {
            pipeline_max: 1,
            pending_max: 1,
            ..MultiPaxosConfig::default()
        };
        let leader = MultiPaxos::new(config, Stable::default(), Counter::default()).unwrap();
        let mut h = Harness::new(leader, NodeId(0), 3);
        h.start();
        h.message(
            NodeId(1),
            Msg::Promise {
                ballot: Ballot::new(1, 0),
                accepted: vec![],
                chosen: vec![],
            },
        );
        let propose = |id: u64| MultiPaxosRequest::Propose {
            id: id.into(),
            command: id,
        };
        assert_eq!(h.request(propose(1)).len(), 2, "an Accept to each peer");
        assert_eq!(h.request(propose(2)), vec![], "waits for the pipeline");
        assert_eq!(
            h.request(propose(3)),
            vec![Effect::Emit(MultiPaxosEvent::NotLeader {
                id: 3,
                leader: Some(NodeId(0))
            })]
        );
    }

    // Ω: a replica tries to lead while it suspects every lower id, and
    // gives up as soon as one of them is heard from again.
    #[test]
    fn a_replica_leads_only_while_it_suspects_every_lower_id() {
        let mut h = replica(1);
        h.start();
        assert_eq!(h.node().ballot(), None, "n0 is trusted: n1 follows");
        h.set_now(MultiPaxosConfig::default().heartbeat.timeout + Duration::from_millis(1));
        h.timer(Tick);
        assert_eq!(
            h.node().ballot(),
            Some(Ballot::new(1, 1)),
            "n0 is suspected"
        );
        h.message(
            NodeId(0),
            Msg::Heartbeat {
                leading: None,
                commit: 1,
            },
        );
        h.timer(Tick);
        assert_eq!(h.node().ballot(), None, "n0 is back");
    }

    // One replica is a majority of one: it leads at start, and what it
    // proposes is chosen and applied at once, with nobody to ask.
    #[test]
    fn a_lone_replica_chooses_on_its_own() {
        let lone = MultiPaxos::new(
            MultiPaxosConfig::default(),
            Stable::default(),
            Counter::default(),
        )
        .unwrap();
        let mut h = Harness::new(lone, NodeId(0), 1);
        h.start();
        assert!(h.node().is_leader());
        assert_eq!(
            h.request(MultiPaxosRequest::Propose { id: 1, command: 5 }),
            vec![Effect::Emit(MultiPaxosEvent::Applied {
                id: 1,
                slot: 1,
                output: 5
            })]
        );
        assert_eq!(h.node().first_unchosen(), 2);
    }

    // An acceptor forgets a slot's accepted proposal once the slot is in
    // its log, so its Promise must report the chosen entry instead; a new
    // leader learns it and leaves the slot alone (a no-op there would
    // contradict what is chosen).
    #[test]
    fn promises_report_chosen_slots_and_the_new_leader_learns_them() {
        let mut acceptor = replica(2);
        let b = Ballot::new(1, 0);
        for (slot, commit) in [(1, 1), (2, 2)] {
            let accept = Msg::Accept {
                ballot: b,
                slot,
                entry: batch(slot),
                commit,
            };
            acceptor.message(NodeId(0), accept);
        }
        assert_eq!(acceptor.node().log(), &[batch(1)][..]);
        assert_eq!(acceptor.node().accepted().keys().collect::<Vec<_>>(), [&2]);
        let rival = Ballot::new(2, 1);
        let effects = acceptor.message(
            NodeId(1),
            Msg::Prepare {
                ballot: rival,
                from_slot: 1,
            },
        );
        let promise = Msg::Promise {
            ballot: rival,
            accepted: vec![(2, b, batch(2))],
            chosen: vec![(1, batch(1))],
        };
        assert_eq!(
            effects,
            vec![Effect::Send {
                to: NodeId(1),
                msg: promise
            }]
        );

        let mut leader = replica(0);
        leader.start();
        let mine = Ballot::new(1, 0);
        let effects = leader.message(
            NodeId(1),
            Msg::Promise {
                ballot: mine,
                accepted: vec![],
                chosen: vec![(1, batch(5)), (2, Entry::Noop)],
            },
        );
        assert_eq!(
            leader.node().first_unchosen(),
            3,
            "learned, not re-proposed"
        );
        assert_eq!(leader.node().state_machine().value, 5);
        assert_eq!(
            effects,
            vec![Effect::Emit(MultiPaxosEvent::Elected {
                ballot: mine,
                recovered: 0,
                noops: 0,
            })]
        );
        let effects = leader.request(MultiPaxosRequest::Propose { id: 9, command: 9 });
        assert!(effects.contains(&Effect::Emit(MultiPaxosEvent::Proposed {
            ballot: mine,
            slot: 3,
            commands: 1,
        })));
    }

    // A slot learned past a gap waits above the log until the gap fills.
    #[test]
    fn entries_learned_past_a_gap_join_the_log_when_it_fills() {
        let mut h = replica(1);
        let chosen = |entries| Msg::Chosen { entries };
        h.message(NodeId(0), chosen(vec![(3, batch(3)), (4, batch(4))]));
        assert_eq!(h.node().first_unchosen(), 1);
        assert_eq!(h.node().chosen_entry(4), Some(&batch(4)));
        assert_eq!(
            h.node().state_machine().value,
            0,
            "nothing applied past a gap"
        );
        h.message(NodeId(0), chosen(vec![(1, batch(1)), (2, Entry::Noop)]));
        assert_eq!(h.node().first_unchosen(), 5);
        assert_eq!(h.node().log().len(), 4);
        assert_eq!(h.node().state_machine().value, 8);
        let slots: Vec<Slot> = h.node().chosen().map(|(s, _)| s).collect();
        assert_eq!(slots, [1, 2, 3, 4]);
    }

    // §3: an acceptor accepts at its promised ballot, answers, and learns
    // from the commit point what it accepted in that ballot.
    #[test]
    fn a_follower_accepts_and_learns_from_the_commit_point() {
        let mut h = replica(2);
        let b = Ballot::new(1, 0);
        let accept = |slot, commit| Msg::Accept {
            ballot: b,
            slot,
            entry: batch(slot),
            commit,
        };
        assert_eq!((h.node().promised(), h.node().leader()), (None, None));
        assert_eq!(
            h.message(NodeId(0), accept(1, 1)),
            vec![Effect::Send {
                to: NodeId(0),
                msg: Msg::Accepted { ballot: b, slot: 1 }
            }]
        );
        assert_eq!(
            (h.node().promised(), h.node().leader()),
            (Some(b), Some(NodeId(0))),
            "an Accept promises its ballot and names its leader"
        );
        assert_eq!(h.node().first_unchosen(), 1);
        h.message(NodeId(0), accept(2, 2));
        assert_eq!(h.node().first_unchosen(), 2, "slot 1 is chosen");
        assert_eq!(h.node().state_machine().value, 1);
        // A stale ballot is refused.
        h.message(
            NodeId(1),
            Msg::Prepare {
                ballot: Ballot::new(2, 1),
                from_slot: 1,
            },
        );
        assert_eq!(
            h.message(NodeId(0), accept(3, 2)),
            vec![Effect::Send {
                to: NodeId(0),
                msg: Msg::Reject {
                    promised: Ballot::new(2, 1)
                }
            }]
        );
        assert_eq!(h.node().promised(), Some(Ballot::new(2, 1)));
        // A heartbeat of the new leader above a gap asks for catch-up.
        let effects = h.message(
            NodeId(1),
            Msg::Heartbeat {
                leading: Some(Ballot::new(2, 1)),
                commit: 5,
            },
        );
        assert_eq!(
            effects,
            vec![Effect::Send {
                to: NodeId(1),
                msg: Msg::CatchUp { from: 2 }
            }]
        );
        assert_eq!(h.node().leader(), Some(NodeId(1)));
        h.message(
            NodeId(1),
            Msg::Chosen {
                entries: vec![(2, batch(2)), (3, Entry::Noop), (4, batch(4))],
            },
        );
        assert_eq!(h.node().first_unchosen(), 5);
        assert_eq!(h.node().state_machine().value, 7);
    }
}
