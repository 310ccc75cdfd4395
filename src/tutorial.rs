//! The tutorial: one chapter per lecture of the course, written as code that
//! runs (every example here is a doc test).
//!
//! | chapter | lecture |
//! |---|---|
//! | [`simulator`] | how dsys runs a distributed algorithm: nodes, messages, faults, traces |
//! | [`concurrency`] | threads, race conditions, deadlock, starvation; nodes as actors |
//! | [`networks`] | what a network gives; TCP's mechanisms (sequence numbers, acks, retransmission, sliding window, handshake); RPC semantics; real TCP clusters |
//! | [`physical_time`] | drifting clocks; Cristian, Berkeley, NTP; internal and external synchronisation |
//! | [`logical_time`] | events, happened-before, Lamport and vector clocks, hybrid clocks |
//! | [`global_state`] | consistent cuts and the Chandy–Lamport snapshot |
//! | [`mutual_exclusion`] | critical sections, ME1–ME3, central server, token ring, Ricart & Agrawala, Maekawa; ring and bully elections, E1–E2 |
//! | [`consensus`] | the consensus problem (Termination, Agreement, Integrity) on correct processes; synchronous vs asynchronous systems; Paxos and Multi-Paxos; the FLP result as a run; Byzantine faults; the Byzantine generals, OM(m), N > 3f, and their equivalence with consensus; Dolev–Strong |
//! | [`replication`] | correctness of replication: linearisability and sequential consistency, checked on recorded histories (the course's bank example) |
//! | [`raft`] | Raft: leader election and log replication, the five safety properties, a broken variant caught, persistence |
//!
//! The CAP theorem and the replication schemes (the second half of the
//! replication chapter) arrive with the code that implements them.

pub mod concurrency;
pub mod consensus;
pub mod global_state;
pub mod logical_time;
pub mod mutual_exclusion;
pub mod networks;
pub mod physical_time;
pub mod raft;
pub mod replication;
pub mod simulator;
