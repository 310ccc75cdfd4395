//! # dsys-election
//!
//! Leader election as runnable, checkable algorithms: a group of processes
//! agrees on a coordinator, the live process with the highest id.
//!
//! - [`ring`]: Chang & Roberts on a logical ring — cheap (`2N` to `3N − 1`
//!   messages), but a crash stops it;
//! - [`bully`]: Garcia-Molina's bully algorithm — tolerates crashes (and
//!   recoveries) by timeouts, at `N − 2` to `O(N²)` messages, and is safe
//!   only while its timeouts are right;
//! - [`properties`]: the checkers for **E1** (safety) and **E2**
//!   (liveness), shared by both through the common [`ElectionEvent`]s and
//!   the [`Elector`] view of a node.
//!
//! # A first election
//!
//! Five processes on a ring; n0 starts an election. The highest id, n4,
//! wins, and everyone knows it:
//!
//! ```
//! use std::time::Duration;
//! use dsys_core::sim::Simulation;
//! use dsys_core::NodeId;
//! use dsys_election::ring::{Ring, RingConfig};
//! use dsys_election::{properties, ElectionEvent, Elector};
//!
//! let config = RingConfig::started_by(&[NodeId(0)]);
//! let mut sim = Simulation::new(5, 7, move |_| Ring::new(config.clone()));
//! sim.enable_trace(); // E1 reads decisions and crashes from the trace
//! sim.run_until(Duration::from_secs(1)).unwrap();
//!
//! assert!(sim.nodes().all(|(_, node)| node.leader() == Some(NodeId(4))));
//! assert_eq!(sim.events(NodeId(2)).last().unwrap().event, ElectionEvent::Elected(NodeId(4)));
//! properties::e1_safety(&sim, None).unwrap();
//! properties::e2_liveness(sim.states()).unwrap();
//! assert_eq!(sim.metrics().sent, 14); // 3N − 1: n0 is the worst starter
//! ```
//!
//! # Crashes: the bully algorithm
//!
//! The coordinator crashes; the others notice by timeouts and elect the
//! highest survivor:
//!
//! ```
//! use std::time::Duration;
//! use dsys_core::sim::Simulation;
//! use dsys_core::NodeId;
//! use dsys_election::bully::{Bully, BullyConfig};
//! use dsys_election::{properties, Elector};
//!
//! let config = BullyConfig::default();
//! let mut sim = Simulation::new(5, 7, move |_| Bully::new(config).unwrap());
//! sim.enable_trace();
//! sim.run_until(Duration::from_millis(500)).unwrap();
//! assert_eq!(sim.node(NodeId(0)).unwrap().leader(), Some(NodeId(4)));
//! sim.crash(NodeId(4)).unwrap();
//! sim.run_until(Duration::from_secs(2)).unwrap();
//! assert!(sim.nodes().all(|(_, node)| node.leader() == Some(NodeId(3))));
//! properties::e1_safety(&sim, Some(config.answer_timeout)).unwrap();
//! properties::e2_liveness(sim.states()).unwrap();
//! ```
//!
//! Bully can also be embedded in a node of your own, which then gets
//! leader-change events: see [`bully`]'s module docs. Both algorithms are
//! registered with `dsys sim` as `ring-election` and `bully`.

#![deny(missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]

pub mod bully;
mod error;
mod event;
pub mod properties;
pub mod ring;

pub use error::{Error, Result};
pub use event::{ElectionEvent, ElectionRequest, Elector};
