//! # Chapter 7 — mutual exclusion and elections (lecture 7)
//!
//! ## Mutual exclusion
//!
//! N processes share a resource that only one may use at a time — the
//! **critical section** — and they have no shared memory and no lock: they
//! must agree by messages alone. An algorithm is judged by three properties
//! and three costs.
//!
//! | property | says |
//! |---|---|
//! | **ME1 safety** | at most one process is in the critical section at any time |
//! | **ME2 liveness** | every request to enter is eventually granted (no deadlock, no starvation) |
//! | **ME3 ordering** | if one request happened-before another, it is granted first |
//!
//! The costs: **bandwidth** (messages per entry and exit), **client delay**
//! (from asking to entering, when the section is free) and **synchronisation
//! delay** (from one process's exit to the next one's entry), which bounds
//! the **throughput**. `cargo run --example mutex_table` measures all of them
//! for the four algorithms of [`dsys_mutex`](crate::mutex) beside the
//! textbook figures.
//!
//! Every algorithm has the same interface: the application sends
//! [`Enter`](crate::mutex::Request::Enter) and [`Exit`](crate::mutex::Request::Exit),
//! and hears [`Entered`](crate::mutex::Event::Entered) and
//! [`Exited`](crate::mutex::Event::Exited). Here is Ricart & Agrawala — a
//! process multicasts a Lamport-stamped request and enters once every other
//! process has replied; a process in the section, or wanting it with an
//! earlier `(timestamp, id)`, defers its reply until it exits:
//!
//! ```
//! use std::time::Duration;
//! use dsys::core::sim::Simulation;
//! use dsys::mutex::properties::{me1_trace, me2_trace, me3_trace};
//! use dsys::mutex::ricart_agrawala::RicartAgrawala;
//! use dsys::mutex::workload::Workload;
//!
//! let mut sim = Simulation::new(5, 3, |_| RicartAgrawala::new());
//! sim.enable_trace();
//! Workload::default().install(&mut sim).unwrap(); // everyone asks, twice
//! sim.run_until(Duration::from_secs(3)).unwrap();
//! let trace = sim.trace().unwrap();
//! assert_eq!(me1_trace(trace), Ok(()));
//! assert_eq!(me2_trace(trace), Ok(()));
//! assert_eq!(me3_trace(trace), Ok(()));
//! ```
//!
//! ### Breaking it
//!
//! A process that replies even while it is inside the section hands the
//! section to a second process, and ME1 catches it on the trace (two
//! processes holding the section long enough for the other to ask):
//!
//! ```
//! use std::time::Duration;
//! use dsys::core::sim::Simulation;
//! use dsys::mutex::properties::me1_trace;
//! use dsys::mutex::ricart_agrawala::{Defect, RicartAgrawala};
//! use dsys::mutex::workload::Workload;
//!
//! let mut sim = Simulation::new(2, 3, |_| RicartAgrawala::broken(Defect::RepliesInSection));
//! sim.enable_trace();
//! let busy = Workload {
//!     rounds: 4,
//!     hold: Duration::from_millis(30),
//!     think_max: Duration::from_millis(10),
//!     ..Workload::default()
//! };
//! busy.install(&mut sim).unwrap();
//! sim.run_until(Duration::from_secs(3)).unwrap();
//! let why = me1_trace(sim.trace().unwrap()).unwrap_err();
//! println!("ME1 violated: {why}");
//! ```
//!
//! None of the four algorithms tolerates a crash: the central server's crash
//! stops everyone, a lost token stops the ring, and a crashed peer never
//! replies to Ricart & Agrawala. Fault tolerance needs failure detection —
//! and, to replace a coordinator, an election.
//!
//! ## Elections
//!
//! An election chooses one process — the live one with the highest id — as
//! coordinator, and makes every process know it.
//!
//! | property | says |
//! |---|---|
//! | **E1 safety** | a participant's elected leader is either undecided or the live process with the highest id |
//! | **E2 liveness** | every process eventually decides (or crashes) |
//!
//! The **ring algorithm** (Chang & Roberts) passes the highest id seen
//! around a logical ring, then announces the winner: `3N − 1` messages in
//! the worst case, when the starter sits just after the winner.
//!
//! ```
//! use std::time::Duration;
//! use dsys::core::sim::Simulation;
//! use dsys::core::NodeId;
//! use dsys::election::ring::{worst_case_starter, Ring, RingConfig};
//! use dsys::election::Elector;
//!
//! for n in [5, 8, 13] {
//!     let config = RingConfig::started_by(&[worst_case_starter(n)]);
//!     let mut sim = Simulation::new(n, 1, move |_| Ring::new(config.clone()));
//!     sim.run_until(Duration::from_secs(2)).unwrap();
//!     assert!(sim.nodes().all(|(_, node)| node.leader() == Some(NodeId(n as u32 - 1))));
//!     assert_eq!(sim.metrics().sent, 3 * n as u64 - 1);
//! }
//! ```
//!
//! The **bully algorithm** tolerates crashes by timeouts: a process that
//! notices the coordinator is gone sends *election* to every higher process;
//! any live one *answers* and takes over; a process that hears no answer
//! announces itself *coordinator*. It relies on a synchronous system: with
//! delays beyond its timeout, two processes can both believe they lead, and
//! E1 breaks — `cargo run --example bully` prints such a trace.
//!
//! ```
//! use std::time::Duration;
//! use dsys::core::sim::Simulation;
//! use dsys::core::NodeId;
//! use dsys::election::bully::{Bully, BullyConfig};
//! use dsys::election::{properties, Elector};
//!
//! let config = BullyConfig::default();
//! let mut sim = Simulation::new(5, 2, move |_| Bully::new(config).unwrap());
//! sim.enable_trace();
//! sim.run_until(Duration::from_millis(500)).unwrap();
//! sim.crash(NodeId(4)).unwrap(); // the coordinator dies
//! sim.run_until(Duration::from_secs(2)).unwrap();
//! assert!(sim.nodes().all(|(_, node)| node.leader() == Some(NodeId(3))));
//! assert_eq!(properties::e1_safety(&sim, Some(config.answer_timeout)), Ok(()));
//! assert_eq!(properties::e2_liveness(sim.states()), Ok(()));
//! ```
//!
//! ## See it
//!
//! ```text
//! dsys sim ricart-agrawala --seed 3 --defect ignores-timestamps --html ra.html
//! ```
//!
//! writes the run as a page to open in a browser ([`dsys view`](crate::core::trace::html)):
//! the two processes that enter the critical section together, highlighted,
//! with ME1's message; `dsys sim bully --nodes 5 --crash 4@300 --html
//! bully.html` shows the election after the coordinator crashes.
