#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]

/// The contract, the simulator, traces and wire basics ([`dsys_core`]).
pub use dsys_core as core;

/// Reliable delivery and RPC semantics ([`dsys_net`]).
pub use dsys_net as net;

/// Physical and logical clocks, snapshots ([`dsys_clocks`]).
pub use dsys_clocks as clocks;

/// Distributed mutual exclusion ([`dsys_mutex`]).
pub use dsys_mutex as mutex;

/// Leader election ([`dsys_election`]).
pub use dsys_election as election;

/// Consensus: Raft ([`dsys_consensus`]).
pub use dsys_consensus as consensus;

/// Replication and consistency checkers ([`dsys_replication`]).
pub use dsys_replication as replication;

#[cfg(feature = "cli")]
pub mod cli;
pub mod tutorial;
