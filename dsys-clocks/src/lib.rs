//! # dsys-clocks
//!
//! Time in a distributed system, as runnable algorithms.
//!
//! **Physical time.** Every simulated node has a hardware clock that is
//! skewed and drifts ([`dsys_core::sim::ClockConfig`]). On top of it:
//! - [`software_clock`]: an adjustable clock (step and slew, never backwards);
//! - [`cristian`]: Cristian's algorithm (external synchronisation against a
//!   time server, accuracy ±(RTT/2 − min));
//! - [`berkeley`]: the Berkeley algorithm (internal synchronisation: a
//!   master averages the group's clocks, fault-tolerantly);
//! - [`ntp`]: NTP-style symmetric mode (offset θ, delay δ, clock filter, strata);
//! - [`sync`]: the measures of a synchronised group — maximum pairwise skew
//!   (internal) and maximum error against true time (external).
//!
//! **Logical time.**
//! - [`lamport`]: Lamport clocks and the total order (time, node id);
//! - [`vector`]: vector clocks — happened-before and concurrency exactly;
//! - [`hlc`]: hybrid logical clocks (Kulkarni et al., 2014);
//! - [`stamped`]: a wrapper that stamps any node's messages with Lamport or
//!   vector timestamps.
//!
//! **Global state.**
//! - [`snapshot`]: the Chandy–Lamport snapshot algorithm over any node;
//! - [`cut`]: a consistent-cut checker over a simulator trace.

#![deny(missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]

pub mod berkeley;
pub mod cristian;
pub mod cut;
mod error;
pub mod hlc;
pub mod lamport;
pub mod ntp;
pub mod snapshot;
pub mod software_clock;
pub mod stamped;
pub mod sync;
pub mod vector;

pub use error::{Error, Result};
