//! # Chapter 11 — testing distributed algorithms
//!
//! A distributed algorithm is wrong when *some* order of events breaks it:
//! a message overtaken by another, a timer that fires before an answer
//! arrives, a crash between a vote and the write that should have kept it.
//! A test that runs the algorithm once, on one machine, sees one order.
//! dsys gives two ways to see many, and they answer different questions.
//!
//! | | seeded simulation (`dsys sim`) | model checking (`dsys check`) |
//! |---|---|---|
//! | runs | one run per seed, chosen at random: a sample | every run of a small configuration, up to its bounds |
//! | size | hundreds of nodes, minutes of virtual time | two to four nodes, a few requests, a few faults |
//! | time | real latencies, drifting clocks, timeouts | abstract: a message may take any time; timers fire in any order (or, with local clocks, in deadline order per node) |
//! | a bug | found when a seed hits it, in a run of thousands of events; `--shrink` cuts it down | found if it exists within the bounds, with one of the *shortest* runs that show it |
//! | "holds" means | no seed tried broke it | no run within the bounds breaks it (the report says which bounds, or "exhaustive") |
//!
//! The example is the one of [chapter 7](super::ch07_mutual_exclusion):
//! Ricart & Agrawala with a deliberate bug, a process that orders the
//! requests it must decide between by process id alone and ignores their
//! Lamport timestamps ([`Defect::IgnoresTimestamps`]).
//!
//! ## Sampling: seeded simulations
//!
//! Three processes that each ask once, at a random moment of their first
//! 100 ms, with ME1 checked on the trace: most seeds never make two
//! requests cross in the way that breaks it.
//!
//! ```
//! use std::time::Duration;
//! use dsys::core::sim::Simulation;
//! use dsys::mutex::properties::me1_trace;
//! use dsys::mutex::ricart_agrawala::{Defect, RicartAgrawala};
//! use dsys::mutex::workload::Workload;
//!
//! // Three processes, each asking once within its first 100 ms.
//! let workload = Workload { rounds: 1, think_max: Duration::from_millis(100), ..Workload::default() };
//! let mut broken_seeds = Vec::new();
//! let mut shortest = usize::MAX;
//! for seed in 0..20 {
//!     let mut sim = Simulation::new(3, seed, |_| RicartAgrawala::broken(Defect::IgnoresTimestamps));
//!     sim.enable_trace();
//!     workload.install(&mut sim).unwrap();
//!     sim.run_until(Duration::from_secs(3)).unwrap();
//!     let trace = sim.trace().unwrap();
//!     if me1_trace(trace).is_err() {
//!         broken_seeds.push(seed);
//!         shortest = shortest.min(trace.len());
//!     }
//! }
//! // A sample: one seed in twenty (seed 8, in a run of 39 trace records)
//! // happens to make two requests cross in the way that breaks ME1.
//! assert!(!broken_seeds.is_empty() && broken_seeds.len() <= 2, "{broken_seeds:?}");
//! assert!(shortest > 20, "{shortest} trace records");
//! ```
//!
//! A long failing run is hard to read. `dsys sim … --shrink` keeps
//! reducing it — fewer nodes, fewer faults, a tamer network, other seeds,
//! a run that ends at the violation — while the same property still
//! fails, and prints the smallest it found:
//!
//! ```sh
//! cargo run --release -- sim ricart-agrawala --nodes 30 --seed 1 --defect ignores-timestamps \
//!     --dup 0.05 --crash 7@1500 --until-ms 5000 --shrink     # 3,285 trace records → 27
//! ```
//!
//! ## Exhausting: the model checker
//!
//! [`dsys::core::model`](crate::core::model) explores every interleaving
//! of three processes that each enter once: every order in which the
//! messages in flight may be delivered, every point at which a request may
//! be made. Breadth-first, so the first violation it finds is one of the
//! shortest: ten steps, where the simulation needed hundreds of events.
//!
//! ```
//! use dsys::mutex::ricart_agrawala::{Defect, RicartAgrawala};
//! use dsys::mutex::workload::each_enters_once;
//!
//! let broken = each_enters_once(3, |_| RicartAgrawala::broken(Defect::IgnoresTimestamps), RicartAgrawala::phase);
//! let report = broken.check();
//! let (property, steps) = report.counterexample().expect("ME1 breaks");
//! assert_eq!(property, "ME1");
//! assert_eq!(steps.len(), 10, "{report}");
//! // Readable steps: "n1 is asked Enter", "n2 delivers Request { time: 1 } from n1", …
//! assert_eq!(steps[0], "n1 is asked Enter");
//!
//! // The same path, run in the simulator, breaks ME1 at the same step:
//! // the counterexample as a trace for the viewer (`dsys check … --html`).
//! let trail = report.trail.as_deref().unwrap();
//! let replayed = broken.replay(trail).unwrap();
//! let (property, _, step) = replayed.violated.unwrap();
//! assert_eq!((property, step), ("ME1", 10));
//!
//! // The correct algorithm: every interleaving visited, ME1 in every
//! // state, and nobody left waiting in any run that ends.
//! let report = each_enters_once(3, |_| RicartAgrawala::new(), RicartAgrawala::phase).check();
//! assert!(report.passed() && report.exhaustive, "{report}");
//! ```
//!
//! From the command line: `dsys check ricart-agrawala --defect
//! ignores-timestamps` prints the same ten steps, and `--html run.html`
//! draws them.
//!
//! ## What the model abstracts, and what it must keep
//!
//! A model is sound for safety when it allows at least every run the real
//! system could make. dsys's models over-approximate in two ways: links
//! reorder freely, and time is abstract — a timer may fire at any point,
//! so the model also explores runs no real timing would produce. That is
//! why [`Model::timers_when_quiet`](crate::core::model::Model::timers_when_quiet)
//! exists: the bully election *assumes* an answer beats the answer
//! timeout, and without that synchrony the model breaks it by design
//! (`dsys check bully` uses it).
//!
//! Two things a model must not abstract away:
//!
//! - **Time that the algorithm reads.** Raft re-arms its election timer
//!   until the deadline that the last heartbeat pushed back has passed.
//!   With every clock at zero no deadline ever passes and no election
//!   starts, so `dsys check raft` gives each server a clock of its own that
//!   its timers move ([`Model::local_clocks`](crate::core::model::Model::local_clocks)).
//! - **What survives a crash.** A restart that forgets everything hides
//!   every bug about stable storage; one that remembers everything hides
//!   them too. [`Model::restart_from`](crate::core::model::Model::restart_from)
//!   restarts a node from what it had made durable, so a vote answered
//!   before it was written is lost at the crash, and the voter votes again:
//!
//! ```
//! use dsys::consensus::raft::model::model;
//! use dsys::consensus::raft::Defect;
//!
//! let broken = || model(3, Some(Defect::VoteNotPersisted), 0).crashes_max(1);
//! let report = broken().check();
//! let (property, steps) = report.counterexample().expect("two leaders");
//! assert!(property.starts_with("Election Safety"));
//! // n0 stands, n1 votes for it, n1 crashes and restarts without its vote,
//! // n2 stands, n1 votes again, in the same term: eight steps.
//! assert_eq!(steps.len(), 8, "{report}");
//! assert!(steps.contains(&"n1 crashes".to_string()));
//! // Without the crash the same bug is invisible.
//! assert!(model(3, Some(Defect::VoteNotPersisted), 0).check().passed());
//! ```
//!
//! ## Which to use
//!
//! Model-check the smallest configuration that can show the bug — most
//! protocol bugs need two or three nodes and one or two faults (the
//! "small scope hypothesis") — and simulate the large ones, with many
//! seeds, for what only scale, timing and load show: liveness under
//! realistic timeouts, message counts, latency. When a simulation fails,
//! shrink it; when a model passes, read its bounds before you believe it.
//!
//! ## See it
//!
//! ```sh
//! cargo run --release -- check ricart-agrawala --defect ignores-timestamps --html ra-check.html
//! cargo run --release -- check raft --defect vote-not-persisted --html raft-check.html
//! ```
//!
//! [`Defect::IgnoresTimestamps`]: crate::mutex::ricart_agrawala::Defect::IgnoresTimestamps
