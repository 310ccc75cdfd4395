//! # Chapter 1 — a distributed system in a box (how dsys runs the rest)
//!
//! A distributed system is a set of **processes** that communicate only by
//! **messages** over a network, with no shared memory and no shared clock.
//! Each process runs a sequence of **events**: it sends a message, receives
//! one, a local timer fires, or its user asks it for something. In an
//! **asynchronous system** nothing bounds how long a message takes or how
//! fast a process runs; a message may be lost, duplicated or overtaken, a
//! process may crash, and each process's clock drifts on its own.
//!
//! dsys writes each process as a [`Node`](crate::core::Node): a state machine
//! with one handler per kind of event. The handler records what it wants done
//! in its [`Context`](crate::core::Context) and returns. Because it never
//! touches the real world, the same node can be driven by a **simulator**
//! that decides — from a seed — when each message arrives, which are lost,
//! when a process crashes, and how each clock drifts.
//!
//! ## Running a protocol
//!
//! The ping-pong protocol ([`crate::core::ping_pong`]) has every node ping
//! every other node once per round; each ping is answered by a pong.
//!
//! ```
//! use std::time::Duration;
//! use dsys::core::ping_pong::{all_rounds_answered, PingPong, PingPongConfig};
//! use dsys::core::sim::Simulation;
//!
//! let config = PingPongConfig { rounds: 5, ..PingPongConfig::default() };
//! let mut sim = Simulation::new(3, 42, move |_| PingPong::new(config));
//! sim.run_until(Duration::from_secs(1)).unwrap();
//!
//! // On a reliable network every round is answered (a liveness property) ...
//! assert_eq!(all_rounds_answered(sim.states()), Ok(()));
//! // ... at a cost of 2·n·(n−1) messages per round.
//! assert_eq!(sim.metrics().sent, 5 * 2 * 3 * 2);
//! ```
//!
//! ## Properties: safety and liveness
//!
//! A **safety** property says nothing bad ever happens; it can be checked
//! after every event, and one bad state refutes it. A **liveness** property
//! says something good eventually happens; it needs the whole run, and only
//! holds under assumptions about the network. Ping-pong has one of each:
//! *validity* (a node never counts a pong for a round it did not ping) and
//! *completeness* (eventually every round is answered).
//!
//! ## Breaking an assumption
//!
//! Completeness assumes a reliable network. Lose 30% of the messages and it
//! fails — ping-pong never retransmits — while validity, a safety property,
//! still holds after every single event:
//!
//! ```
//! use std::time::Duration;
//! use dsys::core::ping_pong::{all_rounds_answered, replies_match_pings, PingPong, PingPongConfig};
//! use dsys::core::sim::{LinkConfig, Simulation};
//!
//! let mut sim = Simulation::new(3, 42, |_| PingPong::new(PingPongConfig::default()));
//! sim.set_all_links(LinkConfig::default().with_loss(0.3)).unwrap();
//! sim.invariant("validity", replies_match_pings);
//! sim.run_until(Duration::from_secs(2)).unwrap(); // no invariant violation
//!
//! let why = all_rounds_answered(sim.states()).unwrap_err();
//! println!("completeness fails under loss: {why}");
//! ```
//!
//! ## Seeing happened-before
//!
//! The simulator stamps every event with a vector timestamp, so Lamport's
//! happened-before relation is known for any run: a send happens before its
//! delivery, and events on different nodes with no chain of messages between
//! them are **concurrent**.
//!
//! ```
//! use std::time::Duration;
//! use dsys::core::ping_pong::{PingPong, PingPongConfig};
//! use dsys::core::sim::Simulation;
//! use dsys::core::trace::TraceKind;
//!
//! let config = PingPongConfig { rounds: 1, ..PingPongConfig::default() };
//! let mut sim = Simulation::new(2, 1, move |_| PingPong::new(config));
//! sim.enable_trace();
//! sim.run_until(Duration::from_secs(1)).unwrap();
//! let trace = sim.trace().unwrap();
//! let events = trace.events();
//! // Both nodes start at time 0: neither start can know of the other.
//! let starts: Vec<usize> = events.iter().filter(|e| matches!(e.kind, TraceKind::Start { .. })).map(|e| e.index).collect();
//! assert!(trace.concurrent(starts[0], starts[1]));
//! // A message's send happened before its delivery.
//! let send = events.iter().find(|e| matches!(e.kind, TraceKind::Send { .. })).unwrap();
//! let TraceKind::Send { msg_id, .. } = send.kind else { unreachable!() };
//! let delivery = events
//!     .iter()
//!     .find(|e| matches!(e.kind, TraceKind::Deliver { msg_id: m, .. } if m == msg_id))
//!     .unwrap();
//! assert!(trace.happens_before(send.index, delivery.index));
//! ```
//!
//! Write the trace with `dsys sim ping-pong --shiviz run.log` and paste it
//! into ShiViz to see the run as a space-time diagram.
//!
//! ## See it
//!
//! ```text
//! dsys sim ping-pong --nodes 3 --loss 0.2 --html ping-pong.html
//! ```
//!
//! writes the run as a page to open in a browser ([`dsys view`](crate::core::trace::html)):
//! every ping and pong as an arrow, each lost one ending in a cross; click
//! a delivery to light up its causal past.
