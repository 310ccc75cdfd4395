//! # A replicated key-value store: one client API, several backends
//!
//! Clients **get**, **put**, **append**, **compare-and-set** and
//! **delete** string keys. Behind the API, replicas keep copies of one
//! [`Store`] and a replication scheme keeps the copies equal; the client
//! cannot tell how (the lecture's first principle: *the client should not
//! be affected by how the server is implemented*). The schemes are:
//!
//! | backend | scheme | module |
//! |---|---|---|
//! | primary-backup | passive replication | [`crate::primary_backup`] |
//! | active | active replication over a sequencer's total order | [`crate::active`] |
//! | raft | a replicated log, agreed by Raft, applied by every replica | [`consensus`] |
//! | multi-paxos | the same, agreed by Multi-Paxos | [`consensus`] |
//!
//! ## The five stages, in code
//!
//! Every scheme goes through the same five stages of lecture 9
//! (Coulouris et al., *Distributed Systems*, 5th ed., §18.3); each scheme's
//! module names the function that does each one.
//!
//! | stage | here |
//! |---|---|
//! | **Request** | [`FrontEnd::request`] gives the call a unique [`RequestId`] and sends it to a replica |
//! | **Coordination** | replicas decide the order of requests, and [`Store::execute`] answers a repeated id from the client's session instead of running it again |
//! | **Execution** | [`Store::execute`] runs the request on one replica's state — deterministic, so every replica that runs the same requests in the same order reaches the same state |
//! | **Agreement** | replicas agree on the outcome before it is answered |
//! | **Response** | a replica's [`Answer`], which the front end hands to the client ([`FrontEnd::on_answer`]) |
//!
//! ## Reads, named by their consistency
//!
//! A get is [`Read::Linearizable`] (it goes through the replication
//! protocol like a write, and sees every write that completed before it
//! began) or [`Read::Local`] (any replica answers from its own copy at
//! once: cheaper, and possibly stale; the front end's session token keeps
//! it from going back in time for that client).
//!
//! ## Judged from the outside
//!
//! [`simulate`] drives front ends against any backend in the simulator,
//! records what the clients saw as a [`History`](crate::consistency::history::History),
//! and the [consistency checkers](crate::consistency) judge it.

mod backlog;
pub mod consensus;
mod front_end;
pub mod scenario;
pub mod simulate;
mod store;

pub(crate) use backlog::Backlog;
pub use front_end::{FrontEnd, Step};
pub use store::{Executed, Store, SESSIONS_MAX};

use dsys_core::{Node, NodeId};
use serde::{Deserialize, Serialize};

use crate::consistency::models::{KvOp, KvRet};

/// A request's unique id: its client and the client's sequence number
/// (each client makes one call at a time, numbered from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RequestId {
    /// The client (unique among the store's clients).
    pub client: u64,
    /// The call's number, counting the client's calls from 1.
    pub seq: u64,
}

/// How a get is answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Read {
    /// Through the replication protocol: it sees every write that
    /// completed before it was invoked.
    #[default]
    Linearizable,
    /// From the contacted replica's own copy, once that copy has executed
    /// at least `min_index` requests (the client's session token): never
    /// older than what this client saw, but possibly older than what
    /// another client saw. Sequentially consistent at best, not
    /// linearizable.
    Local {
        /// The position the replica's state must have reached.
        min_index: u64,
    },
}

/// A client's call as a replica receives it: the request stage's output.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Call {
    /// Its unique id.
    pub id: RequestId,
    /// What to do.
    pub op: KvOp,
    /// How to answer it, if it is a get.
    pub read: Read,
}

/// A replica's answer to a call.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Answer {
    /// The call was executed.
    Done {
        /// The call.
        id: RequestId,
        /// Its result.
        ret: KvRet,
        /// The position in the order of requests of the state it was
        /// answered from (the front end's session token).
        index: u64,
    },
    /// This replica does not take calls now; `hint` is the replica it
    /// believes does.
    NotPrimary {
        /// The call.
        id: RequestId,
        /// Where to go instead, if known.
        hint: Option<NodeId>,
    },
}

impl Answer {
    /// The call answered.
    pub fn id(&self) -> RequestId {
        match self {
            Answer::Done { id, .. } | Answer::NotPrimary { id, .. } => *id,
        }
    }
}

/// A replica of the store, as the front end and [`simulate`] see it:
/// every backend's node implements this, so one client and one checker
/// serve them all.
pub trait Replica: Node {
    /// The request that hands `call` to a replica.
    fn call(call: Call) -> Self::Request;
    /// The answer an emitted event carries, if it carries one.
    fn answer(event: &Self::Event) -> Option<Answer>;
}

/// A store that executed `calls`, in order (for the replicas' handler tests).
#[cfg(test)]
pub(crate) fn store_of(calls: &[&Call]) -> Store {
    let mut store = Store::new();
    for call in calls {
        store.execute(call.id, &call.op);
    }
    store
}
