//! # dsys-net
//!
//! What networks give, and how they give it, as sans-IO algorithms that run
//! in the simulator:
//!
//! - [`reliable`]: exactly-once, in-order delivery per peer over a network
//!   that loses, duplicates and reorders — sequence numbers, cumulative
//!   acknowledgements, retransmission with an adaptive timeout, a sliding
//!   window (window 1 is stop-and-wait), and a three-way handshake;
//! - [`rpc`]: request/response with ids, timeouts and retries, under
//!   at-least-once and at-most-once semantics, and over idempotent operations.
//!
//! TCP and UDP transports for the actix runtime, and multi-process clusters,
//! come next.

#![deny(missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]

pub mod reliable;
pub mod rpc;

/// What can go wrong in dsys-net.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
}

/// `Result` with dsys-net's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
