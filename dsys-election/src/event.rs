//! What every election algorithm of this crate shares with its application:
//! the request that starts an election, the events it reports, and the
//! [`Elector`] view the checkers read.

use dsys_core::NodeId;
use serde::{Deserialize, Serialize};

/// A request from the local application to an election node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ElectionRequest {
    /// Start an election now (as if this node had noticed the leader fail).
    Start,
}

/// An event an election node reports to its application (and to the
/// checkers). Ring and bully emit the same events, so one checker serves both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ElectionEvent {
    /// This node started an election.
    Started,
    /// This node now holds `0` as the leader (a leader change: emitted only
    /// when the leader differs from the one held before).
    Elected(NodeId),
}

/// The state every election node exposes: whom it holds as leader.
pub trait Elector {
    /// The leader this node holds, `None` while undecided.
    fn leader(&self) -> Option<NodeId>;
}
