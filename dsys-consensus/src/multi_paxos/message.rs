//! Multi-Paxos's log entries and messages, and the requests, events and
//! timer between a replica and its application.

use dsys_core::{Message, NodeId};
use serde::{Deserialize, Serialize};

use crate::paxos::Ballot;
use crate::raft::RequestId;

/// A position in the replicated log, from 1.
pub type Slot = u64;

/// A client's command, with the id its answer is matched by.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Command<C> {
    /// The request id.
    pub id: RequestId,
    /// The command for the state machine.
    pub command: C,
}

/// What one slot of the log holds: a batch of commands, or a no-op that a
/// new leader put in a slot nobody had accepted anything for (a gap).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Entry<C> {
    /// Fills a gap; applies nothing.
    Noop,
    /// Commands, applied in order (batching: one slot, one Paxos instance,
    /// for every command that arrived while the pipeline was full).
    Batch(Vec<Command<C>>),
}

/// A message between Multi-Paxos replicas (each is proposer, acceptor and
/// learner).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Msg<C> {
    /// Phase 1a for every slot from `from_slot` on, at once: a would-be
    /// leader asks for promises and for what was accepted there.
    Prepare {
        /// The new ballot.
        ballot: Ballot,
        /// The leader's first slot not known to be chosen.
        from_slot: Slot,
    },
    /// Phase 1b: promised, with every proposal accepted at `from_slot` or
    /// later.
    Promise {
        /// The ballot promised.
        ballot: Ballot,
        /// (slot, ballot, entry) for each slot not yet known chosen with an
        /// accepted proposal.
        accepted: Vec<(Slot, Ballot, Entry<C>)>,
        /// (slot, entry) for each slot known chosen, from `from_slot` on:
        /// the new leader learns them (an acceptor forgets its accepted
        /// proposal once the slot is chosen, so this is how it reports it).
        chosen: Vec<(Slot, Entry<C>)>,
    },
    /// Phase 2a for one slot, carrying the leader's commit point so that a
    /// follower learns what is chosen without an extra message.
    Accept {
        /// The leader's ballot.
        ballot: Ballot,
        /// The slot.
        slot: Slot,
        /// The proposal.
        entry: Entry<C>,
        /// Every slot below this one is chosen, at the leader.
        commit: Slot,
    },
    /// Phase 2b.
    Accepted {
        /// The ballot accepted.
        ballot: Ballot,
        /// The slot.
        slot: Slot,
    },
    /// A Prepare or Accept lost to a higher promise.
    Reject {
        /// The higher ballot promised.
        promised: Ballot,
    },
    /// Every replica, every heartbeat interval: "I am alive" for the
    /// failure detector; from the leader, also its ballot and commit point.
    Heartbeat {
        /// The sender's ballot, if it leads.
        leading: Option<Ballot>,
        /// The sender's first slot not known to be chosen.
        commit: Slot,
    },
    /// A lagging replica asks for chosen entries from `from` on.
    CatchUp {
        /// The first slot it lacks.
        from: Slot,
    },
    /// Chosen entries, in answer to [`Msg::CatchUp`].
    Chosen {
        /// (slot, entry), ascending.
        entries: Vec<(Slot, Entry<C>)>,
    },
}

impl<C> Message for Msg<C> where
    C: Clone + std::fmt::Debug + Send + Serialize + serde::de::DeserializeOwned + 'static
{
}

/// What the local application asks of a replica.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MultiPaxosRequest<C> {
    /// Replicate and apply `command`; answered by
    /// [`MultiPaxosEvent::Applied`] (or [`MultiPaxosEvent::NotLeader`]).
    Propose {
        /// The request id.
        id: RequestId,
        /// The command.
        command: C,
    },
}

/// What a replica tells its application.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MultiPaxosEvent<O> {
    /// This replica started phase 1 with `ballot`: a Prepare went to every
    /// other replica, for every slot from `from_slot` on.
    Preparing {
        /// Its ballot.
        ballot: Ballot,
        /// Its first unchosen slot.
        from_slot: Slot,
    },
    /// This replica completed phase 1 and leads with `ballot`.
    Elected {
        /// Its ballot.
        ballot: Ballot,
        /// Slots it re-proposed with a value some acceptor had accepted.
        recovered: u64,
        /// Gaps it filled with no-ops.
        noops: u64,
    },
    /// This leader proposed `slot` (an Accept went to every other replica).
    /// Emitted only with [`MultiPaxosConfig::report_proposals`](super::MultiPaxosConfig::report_proposals).
    Proposed {
        /// The leader's ballot.
        ballot: Ballot,
        /// The slot.
        slot: Slot,
        /// Client commands in the slot: 0 for a no-op, more than 1 when
        /// batched.
        commands: usize,
    },
    /// This leader sent `slot`'s Accept again to `to`, which had not
    /// acknowledged it within a heartbeat period.
    Resent {
        /// The leader's ballot.
        ballot: Ballot,
        /// The slot.
        slot: Slot,
        /// The replicas it went to.
        to: Vec<NodeId>,
    },
    /// This replica stopped leading (a higher ballot, or a lower-id replica
    /// it trusts again).
    SteppedDown {
        /// The ballot it led with.
        ballot: Ballot,
    },
    /// A request this replica took was chosen and applied.
    Applied {
        /// The request.
        id: RequestId,
        /// Where it was chosen.
        slot: Slot,
        /// The state machine's answer.
        output: O,
    },
    /// This replica does not lead; try `leader`.
    NotLeader {
        /// The request.
        id: RequestId,
        /// The leader this replica knows of.
        leader: Option<NodeId>,
    },
}

/// The one timer: heartbeat, check the failure detector, retransmit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tick;
