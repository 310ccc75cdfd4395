//! # dsys-mutex
//!
//! Distributed mutual exclusion: N processes share one critical section and
//! no shared memory; they agree by messages alone on who may enter.
//!
//! Every algorithm here has the same interface. The local application sends
//! [`Request::Enter`] and, once it has seen [`Event::Entered`], holds the
//! section as long as it likes and sends [`Request::Exit`]; the node answers
//! with [`Event::Exited`]. The algorithms:
//!
//! - [`central_server`]: one server queues requests and grants one token;
//! - [`token_ring`]: one token circulates; its holder may enter;
//! - [`ricart_agrawala`]: multicast a Lamport-stamped request, enter when
//!   every peer has replied;
//! - [`maekawa`]: ask only a √N voting set (row and column of a grid), with
//!   INQUIRE / RELINQUISH / FAILED so that it cannot deadlock.
//!
//! Each module opens with an essay (the problem, the algorithm in phases,
//! assumptions, guarantees, cost, source), ships a deliberately broken
//! variant where one teaches something, and an `ALGORITHM` for
//! `dsys sim <name>`. [`workload`] plays the applications in a simulated
//! run.
//!
//! Their properties, judged on a run by [`properties`]:
//!
//! | property | says | checker |
//! |---|---|---|
//! | ME1 safety | at most one process in the section at any time | [`properties::me1_states`], [`properties::me1_trace`] |
//! | ME2 liveness | every `Enter` is eventually followed by `Entered` | [`properties::me2_trace`] |
//! | ME3 ordering | if one `Enter` happened-before another, it is granted first | [`properties::me3_trace`] |
//!
//! Their cost is measured, not asserted, by [`cost`] (`cargo run --example
//! mutex_table` prints the comparison table).
//!
//! ## A run
//!
//! ```
//! use std::time::Duration;
//! use dsys_core::sim::Simulation;
//! use dsys_core::NodeId;
//! use dsys_mutex::central_server::CentralServer;
//! use dsys_mutex::workload::Workload;
//! use dsys_mutex::{properties, Event};
//!
//! let mut sim = Simulation::new(4, 7, |_| CentralServer::new(NodeId(0)));
//! sim.enable_trace();
//! // Every node asks for the section twice and holds it for 5 ms each time.
//! Workload::default().install(&mut sim).unwrap();
//! sim.invariant("ME1", properties::me1_states::<CentralServer>);
//! sim.run_until(Duration::from_secs(2)).unwrap();
//!
//! let trace = sim.trace().unwrap();
//! assert!(properties::me1_trace(trace).is_ok());
//! assert!(properties::me2_trace(trace).is_ok());
//! assert!(properties::me3_trace(trace).is_ok());
//! let entries = sim.all_events().iter().filter(|(_, e)| e.event == Event::Entered).count();
//! assert_eq!(entries, 8);
//! ```

#![deny(missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]

use dsys_core::Node;
use serde::{Deserialize, Serialize};

pub mod central_server;
pub mod cost;
pub mod maekawa;
pub mod properties;
pub mod ricart_agrawala;
pub mod token_ring;

pub mod workload;

/// Why a run or a measurement failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The simulator refused something (a bad node id, a bad link
    /// configuration, …): see the inner error.
    #[error("simulation: {0}")]
    Sim(#[from] dsys_core::Error),
    /// A process asked for the critical section and never entered, where
    /// the measurement needed it to: the algorithm is not live under these
    /// conditions, so it cannot be measured.
    #[error("{0} asked for the critical section and never entered within {patience:?}: the algorithm is not live here, so it cannot be measured", patience = cost::PATIENCE)]
    Starved(dsys_core::NodeId),
}

/// This crate's results.
pub type Result<T> = std::result::Result<T, Error>;

/// What the local application asks of its mutual exclusion node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Request {
    /// I want the critical section: answer with [`Event::Entered`] when I
    /// have it. Ignored while the node already wants or holds it.
    Enter,
    /// I leave the critical section: answer with [`Event::Exited`]. Ignored
    /// unless the node holds it.
    Exit,
}

/// What a mutual exclusion node tells its application.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Event {
    /// You hold the critical section now.
    Entered,
    /// You have left it.
    Exited,
}

/// A mutual exclusion algorithm: a [`Node`] with the common interface, whose
/// state says whether it is in the section (for the ME1 invariant).
pub trait MutexNode: Node<Request = Request, Event = Event> {
    /// Whether this node is in the critical section now.
    fn in_section(&self) -> bool;
}

/// Where a node stands with respect to the section.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Phase {
    /// Neither wants nor holds it.
    #[default]
    Released,
    /// Has asked for it and waits.
    Wanted,
    /// Is in it.
    Held,
}
