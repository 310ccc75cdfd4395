//! The tutorial: one chapter per lecture of the course, written as code that
//! runs (every example here is a doc test).
//!
//! | chapter | lecture |
//! |---|---|
//! | [`simulator`] | how dsys runs a distributed algorithm: nodes, messages, faults, traces |
//!
//! Chapters for concurrency, networks and RPC, physical time, logical time,
//! mutual exclusion and elections, consensus, replication and Raft arrive
//! with the crates that implement them.

pub mod simulator;
