//! # Chapter 4 — services and RPC (lecture 4)
//!
//! A **service** is one system doing something for another on request,
//! through its **API** (what a caller must send to have the work done).
//! Today's systems are built from many of them: **microservices**, each a
//! small program with its own code base, deployed on its own, keeping its
//! own state and hidden behind a well-defined API, called over HTTP (a
//! REST API) or an RPC framework such as gRPC. The price is that every
//! call crosses the network. This chapter asks what such a call can
//! promise when requests and replies can be lost, shows the three answers
//! (at-least-once, at-most-once, idempotent operations) on a bank, and
//! ends by running the same nodes over real TCP.
//!
//! One number to keep in mind: a caller that waits synchronously on a
//! chain of services is up only when all of them are, so their
//! availabilities multiply — five services up 99.9% of the time each
//! give 0.999⁵ ≈ 99.5%, about 44 hours down a year instead of 9.
//! Synchronous calls multiply downtime; a caller that can go on without
//! the answer (queueing the request, serving a cached value) does not.
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
//! - an **authenticated, versioned handshake** on every connection (the
//!   Noise protocol's `KK` pattern, with a key derived from the cluster's
//!   secret): hello (protocol version, cluster name, both node ids, the
//!   first Noise message), reply, confirmation, welcome — each side proves
//!   it holds the private key of the node it claims to be and knows the
//!   secret, and a stranger, a wrong key or secret, or another cluster's
//!   node is refused and counted;
//! - **frames** in **encrypted records**: each message is a 4-byte
//!   big-endian length, then its encoding, at most `frame_bytes_max` bytes;
//!   frames travel in records encrypted and authenticated with the
//!   connection's keys, so a byte changed, injected or replayed on the wire
//!   closes the connection; an oversized or undecodable frame closes only
//!   its connection;
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
//! variable holding it), and each node's id, address, data directory and
//! **public key**. Every node has a key pair of its own; the private half
//! stays in a key file on the node's machine (`dsys cluster keygen FILE`
//! makes one). When two nodes connect, each proves it holds the private
//! key of the id it claims, and from then on every message between them is
//! encrypted and authenticated (the Noise protocol; the threat model is in
//! [`crate::net::tcp::handshake`]). A node that is not who it says, or a
//! stranger without the secret, gets nothing delivered.
//! [`ClusterFile::to_tcp_config`](crate::net::ClusterFile::to_tcp_config)
//! turns the file into one node's [`TcpConfig`](crate::net::TcpConfig):
//!
//! ```
//! use dsys::core::NodeId;
//! use dsys::net::{ClusterFile, NodeKey};
//!
//! let (k0, k1) = (NodeKey::generate(), NodeKey::generate());
//! let file = ClusterFile::parse(&format!(r#"
//!     name = "bank"
//!     secret = "correct horse battery staple"
//!     [[node]]
//!     id = 0
//!     addr = "127.0.0.1:7000"
//!     data_dir = "data/n0"
//!     public_key = "{}"
//!     [[node]]
//!     id = 1
//!     addr = "127.0.0.1:7001"
//!     data_dir = "data/n1"
//!     public_key = "{}"
//! "#, k0.public(), k1.public())).unwrap();
//! // Node 1's process (its key would come from its `key_file`).
//! let config = file.to_tcp_config_with_key(NodeId(1), k1).unwrap();
//! assert_eq!(config.listen, "127.0.0.1:7001".parse().unwrap());
//! assert_eq!(config.peers[&NodeId(0)].addr, "127.0.0.1:7000".parse().unwrap());
//! assert_eq!(config.peers[&NodeId(0)].key, k0.public());
//! ```
//!
//! To see it run, start a local three-node Raft cluster in one terminal (it
//! writes `dsys-cluster/cluster.toml` with loopback ports, a random secret
//! and a key pair per node, and stops on Ctrl-C), and propose a value from
//! another:
//!
//! ```sh
//! dsys cluster up --nodes 3 --algorithm raft
//! dsys raft propose --cluster dsys-cluster/cluster.toml hello
//! ```
//!
//! (From a checkout, `cargo run --release --` stands for `dsys`.) Each node
//! is a separate process with its own `TcpTransport`; kill one with
//! `kill -9` and propose again, and the others carry on —
//! [chapter 10](super::ch10_raft) explains why.
//!
//! ## See it
//!
//! ```text
//! dsys sim rpc --loss 0.3 --set semantics=at-least-once --html rpc.html
//! ```
//!
//! writes the run as a page to open in a browser ([`dsys view`](crate::core::trace::html)):
//! a retried request executed twice: follow the arrows of one deposit, and
//! the violation the checker names.
