//! Paxos's ballots and messages ("Paxos Made Simple" §2.2–2.3), and the
//! requests, events and timers between a node and its application.

use std::fmt;
use std::hash::Hash;

use dsys_core::{Message, NodeId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// What Paxos can agree on: any value that crosses the wire and compares.
pub trait Value:
    Clone + fmt::Debug + Eq + Hash + Send + Serialize + DeserializeOwned + 'static
{
}

impl<T> Value for T where
    T: Clone + fmt::Debug + Eq + Hash + Send + Serialize + DeserializeOwned + 'static
{
}

/// A proposal number (§2.2: "proposals are numbered, and each proposer
/// uses numbers from a set disjoint from the others'"): a round, and the
/// proposer's id to break ties, so no two proposers ever use the same
/// ballot. Ordered by round, then by node.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Ballot {
    /// The round; a proposer retries with a round above every one it saw.
    pub round: u64,
    /// The proposer.
    pub node: NodeId,
}

impl Ballot {
    /// Ballot `round` of `node`.
    pub fn new(round: u64, node: u32) -> Self {
        Ballot {
            round,
            node: NodeId(node),
        }
    }
}

impl fmt::Debug for Ballot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.round, self.node)
    }
}

impl fmt::Display for Ballot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A message between Paxos nodes. Every node is proposer, acceptor and
/// learner; the variant says which role it is for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Msg<V> {
    /// Phase 1a, proposer to acceptors: promise to ignore ballots below
    /// `ballot`, and tell me what you accepted.
    Prepare {
        /// The proposer's new ballot.
        ballot: Ballot,
    },
    /// Phase 1b, acceptor to proposer: promised; here is the
    /// highest-numbered proposal I accepted, if any.
    Promise {
        /// The ballot promised.
        ballot: Ballot,
        /// The acceptor's accepted proposal, if any.
        accepted: Option<(Ballot, V)>,
    },
    /// Phase 2a, proposer to acceptors: accept `value` in `ballot`.
    Accept {
        /// The proposer's ballot.
        ballot: Ballot,
        /// The value: the highest-numbered accepted value among the
        /// promises, or the proposer's own if none had accepted anything.
        value: V,
    },
    /// Phase 2b, acceptor to proposer: accepted.
    Accepted {
        /// The ballot accepted.
        ballot: Ballot,
    },
    /// Acceptor to proposer: your Prepare or Accept lost to a higher
    /// promise (the optimisation §2.3 suggests, so a proposer abandons a
    /// doomed ballot at once instead of waiting for its timeout).
    Reject {
        /// The ballot rejected.
        ballot: Ballot,
        /// The higher ballot this acceptor promised.
        promised: Ballot,
    },
    /// Learner news (§2.4): `value` is chosen. Sent by the proposer that saw
    /// a majority accept, and by any decided node asked by [`Msg::Inquire`].
    Chosen {
        /// The chosen value.
        value: V,
    },
    /// An undecided learner asks whether anyone knows the chosen value (its
    /// [`Msg::Chosen`] may have been lost).
    Inquire,
}

impl<V: Value> Message for Msg<V> {}

/// What the local application asks of a node.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PaxosRequest<V> {
    /// Propose `value` (a node proposes at most one value: a second request
    /// replaces the first if the node has not decided).
    Propose(V),
}

/// What a node tells its application (and the checkers, and the example's
/// reader).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PaxosEvent<V> {
    /// Proposer: phase 1 begins with `ballot`.
    Preparing {
        /// The new ballot.
        ballot: Ballot,
    },
    /// Proposer: a majority promised; phase 2 begins with `value`.
    Proposing {
        /// The ballot.
        ballot: Ballot,
        /// The value sent in Accept.
        value: V,
        /// Whether the value was adopted from a promise (some acceptor had
        /// accepted it) rather than the proposer's own.
        adopted: bool,
    },
    /// Proposer: `ballot` lost to a higher promise; it will retry after
    /// its back-off.
    Preempted {
        /// The abandoned ballot.
        ballot: Ballot,
        /// The promise it lost to.
        by: Ballot,
    },
    /// Acceptor: promised `ballot` (and wrote the promise to stable
    /// storage before answering).
    Promised {
        /// The promised ballot.
        ballot: Ballot,
    },
    /// Acceptor: accepted `value` in `ballot` (written before answering).
    Accepted {
        /// The ballot.
        ballot: Ballot,
        /// The value.
        value: V,
    },
    /// Learner: `value` is chosen. Emitted once per node, ever: the
    /// decision is stored, and a restarted node does not announce it again.
    Decided {
        /// The chosen value.
        value: V,
        /// Who told this node (`None`: it saw a majority accept its own
        /// proposal).
        learned_from: Option<NodeId>,
    },
}

/// A node's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Timer {
    /// Proposer: the current ballot timed out, or the back-off after a
    /// rejection is over: start a new ballot.
    Retry,
    /// Learner: still undecided; ask around.
    Inquire,
}
