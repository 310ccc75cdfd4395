//! # dsys-core
//!
//! The foundation of dsys: the contract every algorithm implements, the
//! deterministic simulator that runs it, traces, and wire basics.
//!
//! - [`Node`], [`Message`], [`Context`], [`Effect`], [`Input`]: an
//!   algorithm is a deterministic, sans-IO state machine. It reacts to
//!   start, messages, timers and requests, and records effects in the
//!   context; whichever runtime drives it carries them out. Timers are
//!   values: setting one equal to a pending one replaces it.
//! - [`driver::Driver`]: the one place a handler runs. The simulator, the
//!   actix runtime, the test harness and the model checker each keep one
//!   per node and differ only in how they schedule inputs and carry out
//!   effects. [`Wrapper`]: a node that wraps another and translates its
//!   effects.
//! - [`sim`]: the seeded, single-threaded, fault-injecting simulator
//!   (loss, duplication, reordering, partitions, crashes, restarts, pauses,
//!   clock skew and drift), with invariants, metrics and traces.
//! - [`trace`]: every event of a run with vector timestamps, exported as JSON
//!   Lines or as a ShiViz log.
//! - [`wire`]: the [`wire::Codec`] (postcard) and length-prefixed frames.
//! - [`scenario`]: named runs with properties, for the `dsys` CLI.
//! - `runtime` (feature `runtime`): the actix runtime — `NodeActor`,
//!   transports, `Cluster` and `NodeHandle`.
//! - [`testing`]: a harness for exact-effect handler tests.
//! - [`ping_pong`]: the first protocol.
//! - [`failure_detector`]: heartbeats and suspicions, the first building block.
//!
//! ```
//! use std::time::Duration;
//! use dsys_core::ping_pong::{PingPong, PingPongConfig};
//! use dsys_core::sim::Simulation;
//!
//! let mut sim = Simulation::new(3, 42, |_| PingPong::new(PingPongConfig::default()));
//! sim.run_until(Duration::from_secs(2)).unwrap();
//! for (id, node) in sim.nodes() {
//!     println!("{id}: {} pongs", node.replies());
//! }
//! assert!(sim.nodes().all(|(_, node)| node.replies() == 2 * 10));
//! ```

#![deny(missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]

pub mod driver;
mod error;
pub mod failure_detector;
mod kind;
pub mod model;
mod node;
pub mod ping_pong;
#[cfg(feature = "runtime")]
pub mod runtime;
pub mod scenario;
pub mod sim;
pub mod testing;
pub mod trace;
pub mod wire;

pub use error::{Error, Result, Violation};
pub use node::{
    Context, Effect, EffectOf, Input, InputOf, Message, Node, NodeId, NodeRng, Wrapper,
};

/// The `rand` version dsys uses, for [`NodeRng`] and its traits
/// (`use dsys_core::rand::RngExt`).
pub use rand;
