//! # Networks and RPC (lectures 3 and 4)
//!
//! Processes of a distributed system talk only by messages, and between
//! them lies a network that promises little. This chapter starts from what
//! the network gives, builds TCP's guarantees on top of it with TCP's own
//! mechanisms, then asks what a **remote procedure call** can promise when
//! requests and replies can still be lost — and ends on real sockets.
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
//! ## RPC: calling another process
//!
//! A **service** is one system doing something for another on request; a
//! **remote procedure call** makes that request look like a local call —
//! name an operation, get its result — with the code running on another
//! computer. Unlike a local call it is **space coupled** (the caller must
//! know who serves it, and that process must be up), and it crosses the
//! network: the request or the reply may be lost, duplicated or delayed,
//! and the server may crash before or after executing. A caller that hears
//! nothing cannot tell a lost request from a lost reply from a slow server:
//! it does not know whether the operation ran. TCP does not solve this —
//! a connection that breaks loses whatever was in flight — so an RPC
//! system chooses what to do about lost messages, and that choice is its
//! **semantics**.
//!
//! [`dsys::net::rpc`](crate::net::rpc) implements the mechanism of Birrell
//! and Nelson. The client gives each call a **request id** — a random
//! per-incarnation session and a sequence number — sends it, and sets a
//! timer; with no reply in time it sends the *same* request, with the
//! *same* id, again, each time waiting longer (30 ms, doubling up to 240 ms
//! by default), up to `tries_max` tries. Then it gives up and tells the
//! application that the request **may or may not have been executed**. What
//! the server does with a request it has seen before is the semantics:
//!
//! | semantics | retry | filter duplicates | a repeated request | outcome |
//! |---|---|---|---|---|
//! | *maybe* (`tries_max` = 1) | no | — | — | executed once or not at all |
//! | **at-least-once** | yes | no | is executed again | executed ≥ 1 times if a reply came back |
//! | **at-most-once** | yes | yes | is answered from a table of cached replies | executed ≤ 1 times |
//!
//! At-least-once prioritises getting the call through over avoiding
//! duplicates: a retry after a lost *reply* runs the operation twice. At
//! most once keeps, per client, a table of the last `table_max` replies by
//! request id, and answers a request whose id is in it from the table,
//! without executing it again. The worked example is a bank
//! ([`rpc::bank`](crate::net::rpc::bank)): `n0` serves it, and the other
//! nodes deposit 10 into their own accounts. Over a network that loses
//! 30 % and duplicates 20 %, some seed makes at-least-once execute a
//! deposit twice — the balance counts it twice — while at-most-once, on
//! the same seeds, never executes a request twice:
//!
//! ```
//! use std::time::Duration;
//! use dsys::core::sim::{LinkConfig, Simulation};
//! use dsys::core::NodeId;
//! use dsys::net::rpc::bank::{self, Bank, BankOp};
//! use dsys::net::rpc::{at_most_once, calls_finish, ClientConfig, RpcNode, Semantics};
//!
//! /// n0 serves the bank; n1 and n2 each deposit 10 ten times, one call
//! /// every 10 ms.
//! fn run(seed: u64, semantics: Semantics) -> Simulation<RpcNode<Bank>> {
//!     let mut sim = Simulation::new(3, seed, bank::cluster(semantics, ClientConfig::default()));
//!     sim.set_all_links(LinkConfig::default().with_loss(0.3).with_duplicate(0.2)).unwrap();
//!     for client in 1..3 {
//!         for k in 1..=10 {
//!             let deposit = BankOp::Deposit { account: client, amount: 10 };
//!             sim.request_at(Duration::from_millis(10 * k), NodeId(client), deposit).unwrap();
//!         }
//!     }
//!     sim.run_until(Duration::from_secs(10)).unwrap();
//!     calls_finish(&sim).unwrap(); // every call completed or gave up
//!     sim
//! }
//! /// (balance, distinct requests executed) of n1's account.
//! fn n1_account(sim: &Simulation<RpcNode<Bank>>) -> (i64, i64) {
//!     let server = sim.node(NodeId(0)).unwrap().as_server().unwrap();
//!     let requests = server.executions().keys().filter(|(from, _)| *from == NodeId(1)).count();
//!     (server.service().balance(1), requests as i64)
//! }
//!
//! // At-least-once: a retried deposit runs again.
//! let seed = (0..20)
//!     .find(|&seed| at_most_once(run(seed, Semantics::AtLeastOnce).states()).is_err())
//!     .expect("some seed re-executes a deposit");
//! let sim = run(seed, Semantics::AtLeastOnce);
//! println!("seed {seed}: {}", at_most_once(sim.states()).unwrap_err());
//! assert!(bank::balances_as_if_once(&sim).is_err(), "a deposit counted twice");
//!
//! // At-most-once, on every one of those seeds: each request id executed
//! // once, so each account holds 10 per request executed.
//! for seed in 0..20 {
//!     let sim = run(seed, Semantics::AtMostOnce { table_max: 8 });
//!     assert_eq!(at_most_once(sim.states()), Ok(()));
//!     assert_eq!(bank::balances_as_if_once(&sim), Ok(()));
//!     let (balance, requests) = n1_account(&sim);
//!     assert_eq!(balance, 10 * requests);
//! }
//! ```
//!
//! Two limits of at-most-once. The table lives in memory, so a **server
//! restart forgets it** and a retry that arrives afterwards runs again.
//! And the table is bounded: an entry is evicted after `table_max` newer
//! requests of the same client, so a copy of a request that lingers in the
//! network longer than that runs again. With one call in flight on FIFO
//! links every copy arrives before the next request and a table of 1
//! suffices; on reordering links a copy can overtake later calls, and
//! `dsys-net/tests/rpc.rs` finds seeds where a table of 1 re-executes a
//! late duplicate while a table of 8 never does.
//!
//! ### Idempotent operations
//!
//! An operation is **idempotent** if doing it twice has the effect of doing
//! it once: `set_balance(100)` is, `deposit(10)` is not. Idempotent
//! operations are safe to retry even under at-least-once, with no table at
//! all — which is why REST makes `PUT` idempotent and why designing
//! operations that way is the cheapest fix. Here the same lossy network,
//! at-least-once semantics, and `SetBalance` calls: requests are executed
//! twice on some seed, and the balances come out as if each ran once on
//! every seed:
//!
//! ```
//! use std::time::Duration;
//! use dsys::core::sim::{LinkConfig, Simulation};
//! use dsys::core::NodeId;
//! use dsys::net::rpc::bank::{self, Bank, BankOp};
//! use dsys::net::rpc::{at_most_once, calls_finish, ClientConfig, RpcNode, Semantics};
//!
//! fn run(seed: u64) -> Simulation<RpcNode<Bank>> {
//!     let cluster = bank::cluster(Semantics::AtLeastOnce, ClientConfig::default());
//!     let mut sim = Simulation::new(3, seed, cluster);
//!     sim.set_all_links(LinkConfig::default().with_loss(0.3).with_duplicate(0.2)).unwrap();
//!     for client in 1..3 {
//!         for k in 1..=10 {
//!             let set = BankOp::SetBalance { account: client, balance: 100 * i64::from(client) + k as i64 };
//!             sim.request_at(Duration::from_millis(10 * k), NodeId(client), set).unwrap();
//!         }
//!     }
//!     sim.run_until(Duration::from_secs(10)).unwrap();
//!     calls_finish(&sim).unwrap();
//!     sim
//! }
//! let mut executed_twice = 0;
//! for seed in 0..20 {
//!     let sim = run(seed);
//!     executed_twice += u32::from(at_most_once(sim.states()).is_err());
//!     assert_eq!(bank::balances_as_if_once(&sim), Ok(()), "seed {seed}");
//! }
//! assert!(executed_twice > 0);
//! ```
//!
//! Idempotence is about repetition, not order: on *reordering* links a late
//! duplicate of an older `set_balance` can overwrite a newer one.
//!
//! **Exactly once** is what everybody wants, and against an unbounded run
//! of failures it cannot be had: the caller must eventually give up without
//! knowing. In practice "exactly once" means at-most-once (or an idempotent
//! operation) *plus* retrying until a reply comes. `cargo run --example
//! rpc_semantics` prints the three cases side by side, call by call, and
//! counts them over 300 seeds.
//!
//! ## Real networks
//!
//! The same nodes leave the simulator unchanged. On the actix runtime
//! ([`dsys::core::runtime`](crate::core::runtime)) a
//! [`Transport`](crate::core::runtime::Transport) carries their messages,
//! and [`dsys::net::TcpTransport`](crate::net::TcpTransport) carries them
//! over TCP between processes and machines:
//!
//! - an **authenticated, versioned handshake** on every connection: hello
//!   (protocol version, cluster name, node id), a challenge with a random
//!   nonce and the acceptor's own proof, an HMAC-SHA256 response, welcome —
//!   both sides prove they know the cluster's secret, and a stranger, a
//!   wrong secret or another cluster's node is refused and counted;
//! - **frames**: each message is a 4-byte big-endian length, then its
//!   encoding, at most `frame_bytes_max` bytes; an oversized or undecodable
//!   frame closes only its connection;
//! - **bounded queues**: each link (local sender, remote destination) is one
//!   TCP connection with a queue of at most `queue_capacity` messages; when
//!   it is full the message is dropped and counted, as a full socket buffer
//!   drops a datagram — the sender never blocks; a writer drains the queue
//!   in batches, one write call for many frames;
//! - **reconnection**: a link whose connection fails reconnects with capped,
//!   jittered exponential backoff, and queued messages flow again once the
//!   peer is back — but the frames of a write that failed are lost, because
//!   TCP cannot say which of them the peer read. Messages on one link arrive
//!   in order, or not at all: the RPC layer's retries and its table are
//!   still needed.
//!
//! `dsys-net/tests/rpc_tcp.rs` runs this chapter's bank over two
//! `TcpTransport`s on loopback, with at-most-once semantics, and checks the
//! replies and the balance. A cluster is described by a **cluster file**
//! shared by its processes: its name, its secret (or the environment
//! variable holding it), and each node's id, address and data directory;
//! [`ClusterFile::to_tcp_config`](crate::net::ClusterFile::to_tcp_config)
//! turns it into one node's [`TcpConfig`](crate::net::TcpConfig):
//!
//! ```
//! use dsys::core::NodeId;
//! use dsys::net::ClusterFile;
//!
//! let file = ClusterFile::parse(r#"
//!     name = "bank"
//!     secret = "correct horse battery staple"
//!     [[node]]
//!     id = 0
//!     addr = "127.0.0.1:7000"
//!     data_dir = "data/n0"
//!     [[node]]
//!     id = 1
//!     addr = "127.0.0.1:7001"
//!     data_dir = "data/n1"
//! "#).unwrap();
//! let config = file.to_tcp_config(NodeId(1)).unwrap();
//! assert_eq!(config.listen, "127.0.0.1:7001".parse().unwrap());
//! assert_eq!(config.peers[&NodeId(0)], "127.0.0.1:7000".parse().unwrap());
//! ```
//!
//! To see it run, start a local three-node Raft cluster in one terminal (it
//! writes `dsys-cluster/cluster.toml` with loopback ports and a random
//! secret, and stops on Ctrl-C), and propose a value from another:
//!
//! ```sh
//! dsys cluster up --nodes 3 --algorithm raft
//! dsys raft propose --cluster dsys-cluster/cluster.toml hello
//! ```
//!
//! (From a checkout, `cargo run --release --` stands for `dsys`.) Each node
//! is a separate process with its own `TcpTransport`; kill one with
//! `kill -9` and propose again, and the others carry on —
//! [chapter 10](super::raft) explains why.
