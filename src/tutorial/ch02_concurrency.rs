//! # Chapter 2 — concurrency, and nodes as actors (lecture 2)
//!
//! Inside one machine, **threads** run at the same time and share memory.
//! Sharing is where it goes wrong:
//!
//! - a **race condition**: two threads read a counter, both add one, both
//!   write back — one update is lost, and the result depends on timing;
//! - a **deadlock**: thread A holds lock X and waits for Y while thread B
//!   holds Y and waits for X — a circular wait, and neither ever moves;
//! - **starvation**: a lock with no fairness lets a greedy thread win again
//!   and again while another waits forever.
//!
//! `cargo run --example concurrency` shows all three happening and fixed
//! (atomic read-modify-write, lock ordering, a FIFO ticket lock).
//!
//! ## Share nothing: actors
//!
//! The **actor** model avoids all three by construction: an actor owns its
//! state, nobody else touches it, and actors talk only by messages queued in
//! a mailbox and handled one at a time. There is no lock to forget or to take
//! in the wrong order. That is also exactly how a distributed system works —
//! processes with private state exchanging messages — which is why dsys runs
//! every algorithm as an actix actor ([`crate::core::runtime`]).
//!
//! The same [`Node`](crate::core::Node) that runs in the simulator runs
//! unchanged as an actor: [`NodeActor`](crate::core::runtime::NodeActor) feeds
//! it messages, timers and requests from its mailbox, and sends what it
//! records through a [`Transport`](crate::core::runtime::Transport).
//!
//! ```
//! use std::time::Duration;
//! use dsys::core::ping_pong::{Event, PingPong, PingPongConfig};
//! use dsys::core::runtime::Cluster;
//! use dsys::core::sim::Simulation;
//!
//! let config = PingPongConfig { rounds: 4, interval: Duration::from_millis(5), ..Default::default() };
//!
//! // In the simulator: virtual time, reproducible.
//! let mut sim = Simulation::new(3, 1, move |_| PingPong::new(config));
//! sim.run_until(Duration::from_secs(1)).unwrap();
//! let simulated: Vec<u64> = sim.nodes().map(|(_, n)| n.replies()).collect();
//!
//! // As actors on real threads: real time, real concurrency.
//! let actors: Vec<u64> = actix_rt::System::new().block_on(async move {
//!     let cluster = Cluster::builder(3).start(move |_| PingPong::new(config));
//!     let mut replies = Vec::new();
//!     for handle in cluster.nodes() {
//!         let mut events = handle.subscribe();
//!         if handle.inspect(|n| n.replies()).await.unwrap() < 8 {
//!             while events.next().await.unwrap() != (Event::RoundComplete { round: 3 }) {}
//!         }
//!         replies.push(handle.inspect(|n| n.replies()).await.unwrap());
//!     }
//!     cluster.stop();
//!     replies
//! });
//! assert_eq!(simulated, actors); // 4 rounds × 2 peers each
//! ```
//!
//! What the actor model does not remove is the *distributed* version of the
//! same problems: two nodes can still race for a resource, wait for each
//! other forever, or starve one another. Mutual exclusion, elections and
//! consensus — the later chapters — are the algorithms for that.
//!
//! ## See it
//!
//! ```text
//! dsys sim ping-pong --nodes 4 --seed 2 --trace-states --html actors.html
//! ```
//!
//! writes the run as a page to open in a browser ([`dsys view`](crate::core::trace::html)):
//! each node's state after each handler: nothing is shared, every change
//! comes from one message.
