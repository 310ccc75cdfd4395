//! # Chapter 6 — logical time (lecture 6)
//!
//! [Physical clocks](super::ch05_physical_time) can be synchronised only so far:
//! two events a few microseconds apart on different machines cannot be
//! ordered by reading their clocks. Often the order that matters is not the
//! order in real time but the order of **cause and effect**: did the writer
//! of this value see that one? Could this reply have been influenced by that
//! request? Logical time answers those questions exactly, with counters
//! instead of clocks.
//!
//! ## Events and happened-before
//!
//! Each process runs a sequence of **events**: local events, sends and
//! receives. Lamport's **happened-before** relation `→` (1978) is the
//! smallest relation with
//!
//! 1. `a → b` if `a` comes before `b` on the same process;
//! 2. `a → b` if `a` sends a message and `b` receives it;
//! 3. `a → c` if `a → b` and `b → c`.
//!
//! Two events with neither `a → b` nor `b → a` are **concurrent**, `a ‖ b`:
//! no chain of messages links them, so neither could have influenced the
//! other, whatever their real times. `→` is a *partial* order: it is the
//! **causality** of the run.
//!
//! The classic figure (Coulouris et al., Figure 14.5) has three processes:
//!
//! ```text
//! p1  ──a──────b─────────────────────────▶
//!               ╲ m1
//! p2  ───────────c──────d────────────────▶
//!                        ╲ m2
//! p3  ──e─────────────────f──────────────▶
//! ```
//!
//! `a → b → c → d → f` and `e → f`, but `e` is concurrent with `a`, `b`, `c`
//! and `d`.
//!
//! ## Lamport clocks
//!
//! Every process keeps a counter `L`. Before each event it ticks, `L := L +
//! 1`; a message carries the sender's `L`; a receiver sets `L := max(L, t) +
//! 1` ([`LamportClock`](crate::clocks::lamport::LamportClock)). Then
//! **`a → b ⇒ L(a) < L(b)`**, the *clock condition*: along every causal
//! chain the numbers grow.
//!
//! ```
//! use dsys::clocks::lamport::LamportClock;
//!
//! let (mut p1, mut p2, mut p3) = (LamportClock::new(), LamportClock::new(), LamportClock::new());
//! let a = p1.tick();
//! let b = p1.stamp(); // m1 carries 2
//! let c = p2.merge(b).unwrap();
//! let d = p2.stamp(); // m2 carries 4
//! let e = p3.tick();
//! let f = p3.merge(d).unwrap();
//! assert_eq!([a, b, c, d, e, f], [1, 2, 3, 4, 1, 5]);
//!
//! // The clock condition along the chain a → b → c → d → f:
//! assert!(a < b && b < c && c < d && d < f);
//! // But not the converse: L(e) < L(b), yet e ‖ b.
//! assert!(e < b);
//! ```
//!
//! The converse fails, and must: integers are totally ordered, `→` is not,
//! so a single number has to put one of two concurrent events first. From
//! `L(e) < L(b)` nothing follows. What *does* follow is the contrapositive:
//! `L(x) ≥ L(y)` proves that `x` did not happen before `y`.
//!
//! Breaking ties by process id gives the pairs `(L, id)`
//! ([`LamportTimestamp`](crate::clocks::lamport::LamportTimestamp)) a
//! **total order** consistent with `→`: every process sorts events the same
//! way without talking to the others. Lamport's mutual exclusion algorithm
//! and totally ordered multicast are built on it.
//!
//! ## Vector clocks
//!
//! To decide `→` from timestamps, keep one counter per process (Fidge and
//! Mattern, 1988–89). Process `i` ticks its own entry before each event; a
//! receiver takes the entry-wise maximum with the message's vector, then
//! ticks ([`VectorClock`](crate::clocks::vector::VectorClock)). Now `V[j]`
//! counts the events of `p_j` that causally precede the event, and
//! **`a → b ⇔ V(a) < V(b)`** exactly, where `V < W` means `V ≤ W` entry by
//! entry and `V ≠ W`. Incomparable vectors mean concurrent events.
//!
//! ```
//! use dsys::clocks::vector::VectorClock;
//! use dsys::core::NodeId;
//! let (p1, p2, p3) = (NodeId(0), NodeId(1), NodeId(2));
//!
//! let (mut v1, mut v2, mut v3) = (VectorClock::new(), VectorClock::new(), VectorClock::new());
//! let event = |clock: &mut VectorClock, me, received: Option<&VectorClock>| {
//!     if let Some(stamp) = received {
//!         clock.merge(stamp);
//!     }
//!     clock.increment(me);
//!     clock.clone()
//! };
//! let a = event(&mut v1, p1, None);
//! let b = event(&mut v1, p1, None); // sends m1
//! let c = event(&mut v2, p2, Some(&b));
//! let d = event(&mut v2, p2, None); // sends m2
//! let e = event(&mut v3, p3, None);
//! let f = event(&mut v3, p3, Some(&d));
//! assert_eq!(d.dense(3), vec![2, 2, 0]);
//! assert_eq!(f.dense(3), vec![2, 2, 2]);
//!
//! assert!(a.happened_before(&f) && e.happened_before(&f));
//! assert!(e.concurrent_with(&b)); // what Lamport could not tell
//! assert_eq!(b.partial_cmp(&e), None);
//! ```
//!
//! The price is size: `n` counters per message instead of one, and no
//! smaller timestamp can characterise causality in general (Charron-Bost,
//! 1991). dsys's `VectorClock` stores only non-zero entries, as sorted
//! `(node, count)` arrays, so nodes can come and go and ids need not be
//! dense, and it encodes them compactly:
//!
//! ```
//! use dsys::clocks::vector::VectorClock;
//! use dsys::core::wire::{Codec, Postcard};
//! use dsys::core::NodeId;
//!
//! let f = VectorClock::from_entries([(NodeId(0), 2), (NodeId(1), 2), (NodeId(2), 2)]);
//! // The entry count, then a (gap, count) pair per entry: 7 bytes.
//! assert_eq!(Postcard.encode_to_vec(&f).unwrap(), vec![3, 0, 2, 0, 2, 0, 2]);
//! // Human-readable formats get the shape of the simulator's trace.
//! assert_eq!(serde_json::to_string(&f).unwrap(), r#"{"n0":2,"n1":2,"n2":2}"#);
//! ```
//!
//! `cargo run --example lamport_clocks` and `cargo run --example
//! vector_clocks` run the figure in the simulator and print every event's
//! timestamps and every pair's relation.
//!
//! ## Timestamps for any node
//!
//! A clock is only right if every event ticks it and every message carries
//! it. [`Stamped`](crate::clocks::stamped::Stamped) does that for any node:
//! it runs the node, ticks on every send and every event the node emits,
//! attaches the stamp to every message, merges on every receive, and hands
//! the application each event with its timestamp. Here it stamps ping-pong,
//! which knows nothing of clocks. The simulator keeps its own vector clock
//! of every node (that is how its trace knows happened-before), so the
//! wrapper's timestamps can be checked against it:
//!
//! ```
//! use std::time::Duration;
//! use dsys::clocks::stamped::{traced_stamps, Stamped};
//! use dsys::clocks::vector::{characterises_concurrency, characterises_happened_before, VectorClock};
//! use dsys::core::ping_pong::{PingPong, PingPongConfig};
//! use dsys::core::sim::Simulation;
//!
//! let config = PingPongConfig { rounds: 3, ..PingPongConfig::default() };
//! let mut sim = Simulation::new(4, 7, move |_| Stamped::new(PingPong::new(config), VectorClock::new()));
//! sim.enable_trace();
//! sim.run_until(Duration::from_secs(1)).unwrap();
//!
//! let stamps = traced_stamps(&sim).unwrap();
//! let trace = sim.trace().unwrap();
//! assert_eq!(characterises_happened_before(trace, &stamps), Ok(()));
//! assert_eq!(characterises_concurrency(trace, &stamps), Ok(()));
//! // Metrics still count the inner kinds, and the bytes include the stamps.
//! let pings = sim.metrics().kind("Ping").unwrap();
//! println!("{} pings, {} bytes", pings.sent, pings.bytes_sent);
//! ```
//!
//! ## The properties, checked on random runs
//!
//! `dsys sim lamport` and `dsys sim vector` run processes that exchange
//! messages at random ([`Chatter`](crate::clocks::stamped::Chatter)) and
//! judge, against the simulator's trace: the clock condition and the total
//! order for Lamport clocks; `a → b ⇔ V(a) < V(b)` and `a ‖ b ⇔ V(a) ‖
//! V(b)` for vector clocks. Loss, duplication and reordering do not matter
//! to either:
//!
//! ```
//! use dsys::core::scenario::SimOptions;
//!
//! let options = SimOptions { nodes: 4, seed: 1, loss: 0.1, reorder: true, ..SimOptions::default() };
//! for algorithm in [dsys::clocks::lamport::ALGORITHM, dsys::clocks::vector::ALGORITHM] {
//!     let outcome = (algorithm.run)(&options).unwrap();
//!     assert!(outcome.report.passed(), "{}", outcome.report);
//!     println!("{}", outcome.report);
//! }
//! ```
//!
//! ## Breaking it
//!
//! Forget the `+ 1` when merging, and a receive gets the same time as its
//! send: the clock condition, which is strict, fails, and the checker says
//! where.
//!
//! ```
//! use std::time::Duration;
//! use dsys::clocks::lamport::{clock_condition, LamportClock, LamportTimestamp};
//! use dsys::clocks::stamped::{traced_stamps, Chatter, ChatterConfig, LogicalClock, Stamped};
//! use dsys::core::sim::Simulation;
//! use dsys::core::NodeId;
//!
//! /// max(L, t), without the + 1.
//! #[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
//! struct Forgetful(u64);
//!
//! impl LogicalClock for Forgetful {
//!     type Timestamp = LamportTimestamp;
//!     fn tick(&mut self, me: NodeId) -> LamportTimestamp {
//!         self.0 += 1;
//!         LamportTimestamp { time: self.0, node: me }
//!     }
//!     fn receive(&mut self, me: NodeId, stamp: &LamportTimestamp) -> dsys::clocks::Result<LamportTimestamp> {
//!         self.0 = self.0.max(stamp.time);
//!         Ok(LamportTimestamp { time: self.0, node: me })
//!     }
//! }
//!
//! let mut sim = Simulation::new(3, 1, |_| Stamped::new(Chatter::new(ChatterConfig::default()), Forgetful::default()));
//! sim.enable_trace();
//! sim.run_until(Duration::from_secs(3)).unwrap();
//! let stamps = traced_stamps(&sim).unwrap();
//! let why = clock_condition(sim.trace().unwrap(), &stamps).unwrap_err();
//! println!("caught: {why}");
//! ```
//!
//! A clock is also state that a crash loses. Restart a process with a
//! fresh clock, and its new events are stamped below its own old ones:
//!
//! ```
//! use dsys::core::scenario::SimOptions;
//!
//! let options = SimOptions {
//!     nodes: 4,
//!     seed: 3,
//!     crashes: vec!["1@1000".parse().unwrap()],
//!     restarts: vec!["1@1100".parse().unwrap()],
//!     ..SimOptions::default()
//! };
//! let outcome = (dsys::clocks::lamport::ALGORITHM.run)(&options).unwrap();
//! assert!(!outcome.report.passed());
//! println!("{}", outcome.report); // keep the clock on stable storage
//! ```
//!
//! ## Hybrid logical clocks
//!
//! Lamport time says nothing about *when*; physical time gets causality
//! wrong when clocks are skewed. A **hybrid logical clock** (Kulkarni et
//! al., 2014; [`HybridLogicalClock`](crate::clocks::hlc::HybridLogicalClock))
//! is a pair `(l, c)`: `l` is the largest physical time heard of, `c` a
//! counter for events that share it. It respects causality like a Lamport
//! clock, never falls behind the local physical clock, and runs ahead of it
//! by at most the clocks' skew. CockroachDB orders transactions with it.
//!
//! Below, n0's clock is 50 ms fast and a message bounces between n0 and n1
//! over links of 1–10 ms. Stamped with physical time, a message would
//! arrive "before" it was sent; the HLC timestamps rise along the chain
//! and stay within 50 ms of each node's own clock:
//!
//! ```
//! use std::time::Duration;
//! use dsys::clocks::hlc::{HlcConfig, HlcTimestamp, HybridLogicalClock};
//! use dsys::core::sim::{ClockConfig, Simulation};
//! use dsys::core::{Context, Message, Node, NodeId};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug)]
//! struct Bounce {
//!     hlc: HybridLogicalClock,
//! }
//!
//! #[derive(Clone, Debug, Serialize, Deserialize)]
//! struct Ball {
//!     stamp: HlcTimestamp,
//!     sent_at: Duration, // the sender's physical clock, for comparison
//!     hops: u32,
//! }
//! impl Message for Ball {}
//!
//! impl Node for Bounce {
//!     type Msg = Ball;
//!     type Timer = ();
//!     type Request = ();
//!     /// (physical time at the sender, physical time here, HLC here).
//!     type Event = (Duration, Duration, HlcTimestamp);
//!
//!     fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
//!         if ctx.id() == NodeId(0) {
//!             let stamp = self.hlc.now(ctx.now()).unwrap();
//!             ctx.send(NodeId(1), Ball { stamp, sent_at: ctx.now(), hops: 0 });
//!         }
//!     }
//!
//!     fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, ball: Ball) {
//!         let now = ctx.now();
//!         let received = self.hlc.update(now, ball.stamp).expect("skew within max_offset");
//!         ctx.emit((ball.sent_at, now, received));
//!         if ball.hops < 10 {
//!             let stamp = self.hlc.now(now).unwrap();
//!             ctx.send(from, Ball { stamp, sent_at: now, hops: ball.hops + 1 });
//!         }
//!     }
//! }
//!
//! let mut sim = Simulation::new(2, 3, |_| Bounce { hlc: HybridLogicalClock::new(HlcConfig::default()).unwrap() });
//! sim.set_clock(NodeId(0), ClockConfig::default().offset_ms(50)).unwrap();
//! sim.run_until(Duration::from_secs(1)).unwrap();
//!
//! let receives = sim.all_events(); // in causal order: one ball at a time
//! assert_eq!(receives.len(), 11);
//! let mut backwards = 0;
//! let mut last = HlcTimestamp::default();
//! for (_, emitted) in receives {
//!     let (sent_at, now, hlc) = emitted.event;
//!     backwards += usize::from(now < sent_at); // physical time got causality wrong
//!     assert!(hlc > last, "HLC respects causality");
//!     assert!(hlc.wall() >= now && hlc.wall() - now <= Duration::from_millis(50));
//!     last = hlc;
//! }
//! assert!(backwards > 0);
//! ```
//!
//! ## Where next
//!
//! - [`crate::clocks::lamport`], [`crate::clocks::vector`],
//!   [`crate::clocks::hlc`], [`crate::clocks::stamped`]: the essays, with
//!   the bounds and the costs;
//! - [global state](super::ch06b_global_state): vector time makes *consistent
//!   cuts* checkable, and Chandy–Lamport snapshots record one.
//!
//! ## See it
//!
//! ```text
//! dsys sim lamport --html lamport.html
//! ```
//!
//! writes the run as a page to open in a browser ([`dsys view`](crate::core::trace::html)):
//! switch the labels to Lamport, then to vector timestamps, and click an
//! event: its causal past and future light up and the concurrent events
//! fade.
