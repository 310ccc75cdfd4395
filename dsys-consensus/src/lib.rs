//! # dsys-consensus
//!
//! Consensus as runnable, checkable algorithms.
//!
//! - [`raft`]: Raft (Ongaro & Ousterhout 2014) with the extensions real
//!   deployments need — pre-vote, check-quorum, leadership transfer,
//!   snapshots, single-server membership changes, learners, client
//!   sessions, read-index reads, batching and pipelining — over a
//!   [`raft::Storage`] you choose (in memory, or [`raft::FileStorage`] on
//!   disk), with the paper's five safety properties as checkers
//!   ([`raft::properties`]).
//! - [`byzantine_generals`]: the Byzantine generals, oral messages OM(m)
//!   (Lamport, Shostak & Pease 1982), with IC1 and IC2 as checkers and
//!   traitors made by the simulator's Byzantine strategies.
//! - [`dolev_strong`]: Dolev–Strong authenticated Byzantine broadcast
//!   (1983): ed25519 signature chains over f + 1 synchronous rounds,
//!   tolerating any f < N traitors, with Agreement, Validity and
//!   Termination as checkers ([`dolev_strong::properties`]).
//!
//! - [`paxos`]: single-decree Paxos (Lamport, *Paxos Made Simple*, 2001),
//!   its §2.1 safety requirements as checkers, and dueling proposers.
//! - [`multi_paxos`]: Multi-Paxos, a replicated log with a stable leader,
//!   no-op gap filling, catch-up and batching, driving the same
//!   [`raft::StateMachine`] as Raft.
//! - [`properties`]: the consensus properties (Termination, Agreement,
//!   Integrity, Validity) over decisions, shared by every algorithm here.
//!
//! Every algorithm is a sans-IO [`dsys_core::Node`]: the same code runs in
//! the deterministic simulator, as actix actors, and over TCP.
//!
//! ```
//! use std::time::Duration;
//! use dsys_core::sim::Simulation;
//! use dsys_core::NodeId;
//! use dsys_consensus::raft::{Counter, MemStorage, Raft, RaftConfig, RaftEvent, RaftRequest};
//!
//! let mut sim = Simulation::new(3, 7, |_| {
//!     Raft::new(RaftConfig::default(), MemStorage::new(), Counter::default()).unwrap()
//! });
//! sim.run_until(Duration::from_secs(1)).unwrap();
//! let (leader, _) = sim.nodes().find(|(_, n)| n.is_leader()).expect("a leader within a second");
//! sim.request(leader, RaftRequest::Propose { id: 1, command: 5, session: None }).unwrap();
//! sim.run_for(Duration::from_millis(100)).unwrap();
//! assert!(sim.events(leader).iter().any(|e| matches!(e.event, RaftEvent::Applied { id: 1, output: 5, .. })));
//! ```

#![deny(missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]

pub mod byzantine_generals;
pub mod dolev_strong;
mod error;
pub mod multi_paxos;
pub mod paxos;
pub mod properties;
pub mod raft;
pub mod stable;
#[cfg(test)]
mod test_support;

pub use error::{Error, Result};
