//! The tutorial: one chapter per lecture of the course, in the course's
//! order, written as code that runs (every example here is a doc test).
//! Chapter numbers are lecture numbers; chapter 1 shows how dsys runs the
//! algorithms of all the others.
//!
//! | chapter | lecture | what it covers |
//! |---|---|---|
//! | 1. [`ch01_simulator`] | — | how dsys runs a distributed algorithm: nodes, messages, faults, traces |
//! | 2. [`ch02_concurrency`] | 2, Concurrency | threads, race conditions, deadlock, starvation; nodes as actors |
//! | 3. [`ch03_networks`] | 3, Computer Networks | what a network gives; TCP's mechanisms (sequence numbers, acks, retransmission, sliding window, three-way handshake) |
//! | 4. [`ch04_services`] | 4, The Web & Microservices | services, APIs, microservices; RPC and its semantics (at-least-once, at-most-once), idempotence; real TCP clusters |
//! | 5. [`ch05_physical_time`] | 5, Physical Time | drifting clocks; Cristian, Berkeley, NTP; internal and external synchronisation |
//! | 6. [`ch06_logical_time`] | 6, Logical Time | events, happened-before, Lamport and vector clocks, hybrid clocks |
//! | 6, continued. [`ch06b_global_state`] | 6, Logical Time | global state, consistent cuts and the Chandy–Lamport snapshot |
//! | 7. [`ch07_mutual_exclusion`] | 7, Distributed mutual exclusion & Elections | critical sections, ME1–ME3, central server, token ring, Ricart & Agrawala, Maekawa; ring and bully elections, E1–E2 |
//! | 8. [`ch08_consensus`] | 8, Consensus, BP & CAP | the consensus problem (Termination, Agreement, Integrity) on correct processes; synchronous vs asynchronous systems; Paxos and Multi-Paxos; the FLP result as a run; Byzantine faults; the Byzantine generals, OM(m), N > 3f, and their equivalence with consensus; Dolev–Strong |
//! | 9. [`ch09_replication`] | 9, Replication | correctness of replication: linearisability and sequential consistency, checked on recorded histories (the course's bank example); the five stages; passive replication, primary failure and split brain; active replication; the store over Raft and Multi-Paxos; CAP as a run |
//! | 10. [`ch10_raft`] | 10, Raft | Raft: leader election and log replication, the five safety properties, a broken variant caught, persistence |
//! | 11. [`ch11_testing`] | — | testing distributed algorithms: seeded simulation and shrinking against model checking, on one example; what a model may abstract and what it must keep |
//!
//! `examples/README.md` lists the runnable examples by the same lecture
//! numbers.

pub mod ch01_simulator;
pub mod ch02_concurrency;
pub mod ch03_networks;
pub mod ch04_services;
pub mod ch05_physical_time;
pub mod ch06_logical_time;
pub mod ch06b_global_state;
pub mod ch07_mutual_exclusion;
pub mod ch08_consensus;
pub mod ch09_replication;
pub mod ch10_raft;
pub mod ch11_testing;
