//! The tutorial: one chapter per lecture of the course, written as code that
//! runs (every example here is a doc test).
//!
//! | chapter | lecture |
//! |---|---|
//! | [`simulator`] | how dsys runs a distributed algorithm: nodes, messages, faults, traces |
//! | [`concurrency`] | threads, race conditions, deadlock, starvation; nodes as actors |
//!
//! Chapters for networks and RPC, physical time, logical time,
//! mutual exclusion and elections, consensus, replication and Raft arrive
//! with the crates that implement them.

pub mod concurrency;
pub mod simulator;
