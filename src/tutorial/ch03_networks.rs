//! # Chapter 3 — computer networks (lecture 3)
//!
//! Processes of a distributed system talk only by messages, and between
//! them lies a network that promises little. This chapter starts from what
//! the network gives (UDP), then builds TCP's guarantees on top of it with
//! TCP's own mechanisms: sequence numbers, acknowledgements,
//! retransmission, a sliding window and the three-way handshake.
//!
//! ## What the network gives
//!
//! A datagram network — IP, and UDP on top of it — sends each message on
//! its own and promises nothing about it. A message may be **lost**
//! (a full queue in a router, a bit error), **duplicated** (a link layer
//! that retried), **reordered** (two packets taking different paths) and
//! **delayed** by a variable amount. UDP is simple, fast and stateless
//! precisely because it does nothing about any of this.
//!
//! The simulator makes each of these a setting of a link: a
//! [`LinkConfig`](crate::core::sim::LinkConfig) has a
//! [`Latency`](crate::core::sim::Latency) distribution (uniform 1–10 ms by
//! default), a loss probability, a duplication probability and an
//! [`Ordering`](crate::core::sim::Ordering) — `Fifo`, where a message never
//! overtakes an earlier one on the same link, or `Reorder`, where each copy
//! takes its own sampled latency. The default link is reliable and FIFO;
//! every fault is something a test asks for. Here a node sends the numbers
//! 0 to 49 to its peer over a link that loses 30 %, duplicates 20 % and
//! reorders:
//!
//! ```
//! use std::time::Duration;
//! use dsys::core::sim::{LinkConfig, Ordering, Simulation};
//! use dsys::core::NodeId;
//! use dsys::net::reliable::Numbers;
//!
//! let mut sim = Simulation::new(2, 7, |_| Numbers::new(50));
//! let datagrams = LinkConfig::default()
//!     .with_loss(0.3)
//!     .with_duplicate(0.2)
//!     .with_ordering(Ordering::Reorder);
//! sim.set_all_links(datagrams).unwrap();
//! sim.run_until(Duration::from_secs(1)).unwrap();
//!
//! assert!(sim.metrics().dropped > 0 && sim.metrics().duplicated > 0);
//! let n1 = sim.node(NodeId(1)).unwrap();
//! println!("n1 received {:?}", n1.received_from(NodeId(0)));
//! // Holes, repeats and numbers out of place: not what was sent.
//! assert!(n1.check_complete(NodeId(1), &[NodeId(0)]).is_err());
//! ```
//!
//! ## How TCP makes it reliable
//!
//! TCP gives the application **reliable, in-order delivery**: every byte
//! arrives, once, in the order it was sent — over that same network. It
//! does so with a handful of mechanisms, and
//! [`dsys::net::reliable`](crate::net::reliable) implements each of them as
//! a sans-IO wrapper, [`Reliable`](crate::net::reliable::Reliable), around
//! any node: the inner node sends and receives its messages as before and
//! never sees the machinery. (Each direction between two nodes is its own
//! connection, and TCP's byte stream becomes a stream of messages.)
//!
//! - **Sequence numbers.** Every data segment carries one, counting up from
//!   the connection's initial sequence number (`isn + 1` for the first
//!   message). The receiver delivers in sequence-number order, buffers a
//!   segment that came early (within the window), and discards one it has
//!   already seen: that is how duplicates and reordering disappear.
//! - **Cumulative acknowledgements.** Every data segment received —
//!   duplicates included — is answered with an `Ack` carrying the *next*
//!   sequence number the receiver expects, so one ack confirms everything
//!   below it and a lost ack is covered by the next.
//! - **Retransmission with an adaptive timeout.** While anything is
//!   unacknowledged a timer runs; when it fires, the unacknowledged
//!   segments are sent again and the timeout doubles (exponential backoff,
//!   up to a cap). The timeout follows the measured round-trip time as RFC
//!   6298 says: `SRTT ← 7/8·SRTT + 1/8·R`, `RTTVAR ← 3/4·RTTVAR +
//!   1/4·|SRTT − R|`, `RTO = SRTT + 4·RTTVAR`, and (Karn's rule) a
//!   retransmitted segment gives no sample, since its ack cannot be matched
//!   to one transmission.
//! - **The sliding window.** Up to `window` segments may be unacknowledged
//!   at once, so several messages travel without waiting for an ack each;
//!   an ack slides the window forward and lets queued messages out. A window
//!   of 1 is **stop-and-wait**.
//! - **The three-way handshake.** Before data, the sender picks a *random*
//!   initial sequence number and sends `Syn { isn }` ("let's talk"); the
//!   receiver answers `SynAck { isn, nonce }` with a random nonce of its
//!   own; the sender confirms with `HandshakeAck`, carrying both. A delayed
//!   duplicate `Syn` of an old connection draws a `SynAck` that nobody
//!   confirms (only the live sender knows the nonce), so it can never
//!   replace a live connection — that is why it takes three messages.
//!
//! Here each of them, one event at a time, on a stop-and-wait sender (a
//! [`Harness`](crate::core::testing::Harness) feeds one node one event and
//! returns its effects):
//!
//! ```
//! use std::time::Duration;
//! use dsys::core::testing::Harness;
//! use dsys::core::{Effect, EffectOf, NodeId};
//! use dsys::net::reliable::{
//!     ConnId, Number, Numbers, Reliable, ReliableConfig, ReliableTimer, Segment,
//! };
//!
//! # type Node = Reliable<Numbers>;
//! /// The messages among the effects (timers left out).
//! fn sent(effects: Vec<EffectOf<Node>>) -> Vec<Segment<Number>> {
//!     effects
//!         .into_iter()
//!         .filter_map(|e| match e {
//!             Effect::Send { msg, .. } => Some(msg),
//!             _ => None,
//!         })
//!         .collect()
//! }
//! let ms = Duration::from_millis;
//! let n1 = NodeId(1);
//!
//! // n0 will send 0, 1, 2 to n1, one at a time.
//! let stop_and_wait = ReliableConfig::default().with_window(1);
//! let mut h = Harness::new(Reliable::new(Numbers::new(3), stop_and_wait).unwrap(), NodeId(0), 2);
//!
//! // Handshake, 1: Syn with a random isn; the data waits.
//! let Segment::Syn { isn } = sent(h.start())[0] else { panic!("a Syn first") };
//! assert_eq!(h.node().queued(n1), 3);
//! assert_eq!(h.node().rto(n1), Some(ms(200)), "no round trip measured yet");
//!
//! // 2 → 3: n1's SynAck arrives 10 ms later; n0 confirms, and the window
//! // (1) lets exactly one data segment out.
//! h.set_now(ms(10));
//! let conn = ConnId { isn, nonce: 42 };
//! let seq = |k: u64| isn.wrapping_add(k);
//! assert_eq!(
//!     sent(h.message(n1, Segment::SynAck { isn, nonce: 42 })),
//!     vec![
//!         Segment::HandshakeAck { conn },
//!         Segment::Data { conn, seq: seq(1), msg: Number(0) },
//!     ]
//! );
//! // The handshake's round trip was the first sample: RTO = 10 + 4 × 5 ms.
//! assert_eq!(h.node().rto(n1), Some(ms(30)));
//!
//! // A cumulative ack ("next, please: isn + 2") slides the window.
//! h.set_now(ms(20));
//! assert_eq!(
//!     sent(h.message(n1, Segment::Ack { conn, ack: seq(2) })),
//!     vec![Segment::Data { conn, seq: seq(2), msg: Number(1) }]
//! );
//! assert_eq!(h.node().rto(n1), Some(ms(25)), "a steady RTT shrinks RTTVAR");
//!
//! // That segment's ack is lost: the timer fires, it goes again, and the
//! // timeout doubles.
//! h.set_now(ms(45));
//! assert_eq!(
//!     sent(h.timer(ReliableTimer::Retransmit { peer: n1 })),
//!     vec![Segment::Data { conn, seq: seq(2), msg: Number(1) }]
//! );
//! assert_eq!(h.node().rto(n1), Some(ms(50)));
//!
//! // Its ack (Karn's rule: no RTT sample from a retransmission) lets the
//! // last one out.
//! h.set_now(ms(55));
//! assert_eq!(
//!     sent(h.message(n1, Segment::Ack { conn, ack: seq(3) })),
//!     vec![Segment::Data { conn, seq: seq(3), msg: Number(2) }]
//! );
//! assert_eq!(h.node().rto(n1), Some(ms(50)));
//! assert_eq!(h.node().stats().retransmissions, 1);
//! ```
//!
//! Put together, over the network of the first example, every number
//! arrives exactly once and in order. An invariant checks "in order, no
//! repeats" on both nodes after every event of the run, and at the end
//! every number has arrived; the counters show how much work that took:
//!
//! ```
//! use std::time::Duration;
//! use dsys::core::sim::{LinkConfig, Ordering, Simulation};
//! use dsys::core::NodeId;
//! use dsys::net::reliable::{Numbers, Reliable, ReliableConfig};
//!
//! let mut sim = Simulation::new(2, 7, |_| {
//!     Reliable::new(Numbers::new(50), ReliableConfig::default()).unwrap() // window 8
//! });
//! let datagrams = LinkConfig::default()
//!     .with_loss(0.3)
//!     .with_duplicate(0.2)
//!     .with_ordering(Ordering::Reorder);
//! sim.set_all_links(datagrams).unwrap();
//! sim.invariant("exactly once, in order", |nodes| {
//!     for (i, node) in nodes.iter().enumerate() {
//!         if let Some(node) = node {
//!             node.inner().check_in_order(NodeId(i as u32))?;
//!         }
//!     }
//!     Ok(())
//! });
//! let everything = |sim: &Simulation<Reliable<Numbers>>| {
//!     sim.nodes().all(|(_, node)| node.inner().received_total() == 50)
//! };
//! assert!(sim.run_until_condition(Duration::from_secs(600), everything).unwrap());
//!
//! let both = [NodeId(0), NodeId(1)];
//! for (id, node) in sim.nodes() {
//!     assert_eq!(node.inner().check_complete(id, &both), Ok(()));
//!     let stats = node.stats();
//!     assert_eq!(stats.delivered, 50);
//!     assert!(stats.retransmissions > 0 && stats.duplicates_discarded > 0, "{stats:?}");
//! }
//! ```
//!
//! The window is what makes it fast. Stop-and-wait delivers one message
//! per round trip; a window of `w` keeps `w` in flight and delivers about
//! `w` per round trip, until the link's bandwidth is full (the simulated
//! links have latency but no bandwidth limit). On a loss-free link with
//! 5–15 ms latency:
//!
//! ```
//! use std::time::Duration;
//! use dsys::core::sim::{Latency, LinkConfig, Simulation};
//! use dsys::net::reliable::{Numbers, Reliable, ReliableConfig};
//!
//! /// Virtual time until 100 messages each way have arrived.
//! fn time_to_deliver(window: usize) -> Duration {
//!     let config = ReliableConfig::default().with_window(window);
//!     let mut sim = Simulation::new(2, 1, move |_| Reliable::new(Numbers::new(100), config).unwrap());
//!     sim.set_all_links(LinkConfig::reliable(Latency::uniform_ms(5, 15))).unwrap();
//!     let done = sim
//!         .run_until_condition(Duration::from_secs(60), |sim| {
//!             sim.nodes().all(|(_, node)| node.inner().received_total() == 100)
//!         })
//!         .unwrap();
//!     assert!(done);
//!     sim.now()
//! }
//! let stop_and_wait = time_to_deliver(1);
//! let window_8 = time_to_deliver(8);
//! println!("window 1: {stop_and_wait:?}, window 8: {window_8:?}");
//! assert!(stop_and_wait > Duration::from_secs(1), "about 100 round trips of ~20 ms");
//! assert!(window_8 * 4 < stop_and_wait);
//! ```
//!
//! `cargo run --example sliding_window` prints the whole table — windows 1
//! to 32 against 0, 10 and 30 % loss. Under heavy loss the backoff
//! dominates: every expiry doubles the timeout, and only a segment
//! acknowledged on its first transmission brings it back down.
//!
//! One more mechanism: a receiver that restarted has lost its connection
//! state, and answers a data segment it does not know with `Reset`; the
//! sender opens a new connection with a fresh `isn` and sends its
//! unacknowledged messages again, in order. A crash can thus deliver a
//! message to both the old and the new incarnation of a node: reliable
//! delivery holds *within* one connection, while both ends stay up.
//!
//! The next chapter, [services and RPC](super::ch04_services), asks what a
//! remote call can promise when the connection under it can still fail.
//!
//! ## See it
//!
//! ```text
//! dsys sim ping-pong --loss 0.3 --dup 0.1 --reorder --html network.html
//! ```
//!
//! writes the run as a page to open in a browser ([`dsys view`](crate::core::trace::html)):
//! what the network does to messages: lost ones end in a cross, duplicate
//! copies are dashed, reordered arrows cross.
