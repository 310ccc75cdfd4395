//! # Chapter 10 — Raft (lecture 10)
//!
//! Raft solves consensus the way deployed systems need it: not one value
//! but a **replicated log** of commands, applied in the same order by every
//! server's copy of a deterministic state machine. It works in two phases
//! that repeat: **leader election**, then **log replication** by that
//! leader until it fails and the next election begins. The full essay —
//! terms, the up-to-date rule, the consistency check, the commitment rule,
//! and the extensions (pre-vote, check-quorum, snapshots, membership
//! changes, sessions, read-index) — is in [`dsys_consensus::raft`](crate::consensus::raft).
//!
//! ## The five properties
//!
//! | property | says | paper |
//! |---|---|---|
//! | **Election Safety** | at most one leader can be elected in a given term | §5.2 |
//! | **Leader Append-Only** | a leader never overwrites or deletes entries in its log; it only appends new entries | §5.3 |
//! | **Log Matching** | if two logs contain an entry with the same index and term, the logs are identical in all entries up through that index | §5.3 |
//! | **Leader Completeness** | if a log entry is committed in a given term, it is in the logs of the leaders of all higher-numbered terms | §5.4 |
//! | **State Machine Safety** | if a server has applied the entry at an index, no other server ever applies a different entry at that index | §5.4.3 |
//!
//! Each is a checker in [`raft::properties`](crate::consensus::raft::properties)
//! that remembers the run so far, and the simulator runs all five after
//! every event: a message delivered, a timer fired, a crash.
//!
//! ## Election, replication, a crash
//!
//! ```
//! use std::time::Duration;
//! use dsys::consensus::raft::properties::{views, Checkers};
//! use dsys::consensus::raft::simulation::{cluster, current_leader};
//! use dsys::consensus::raft::{RaftConfig, RaftEvent, RaftRequest, Role};
//! use dsys::core::sim::Simulation;
//!
//! let mut sim = Simulation::new(5, 9, cluster(RaftConfig::default()));
//! let mut checkers = Checkers::new();
//! sim.invariant("Raft", move |nodes| checkers.check(&views(nodes)));
//!
//! // Leader election: followers time out (150–300 ms, randomised), one
//! // stands in term 1 and wins a majority.
//! sim.run_until(Duration::from_millis(500)).unwrap();
//! let leader = current_leader(&sim).unwrap();
//! assert_eq!(sim.node(leader).unwrap().term(), 1);
//!
//! // Log replication: a command is committed once a majority stores it,
//! // then applied everywhere (the state machine here is a counter).
//! sim.request(leader, RaftRequest::Propose { id: 1, command: 7, session: None }).unwrap();
//! sim.run_for(Duration::from_millis(100)).unwrap();
//! assert!(sim.nodes().all(|(_, n)| n.state_machine().value == 7));
//!
//! // The leader crashes; a new election in a higher term; nothing is lost.
//! sim.crash(leader).unwrap();
//! sim.run_for(Duration::from_secs(1)).unwrap();
//! let next = current_leader(&sim).unwrap();
//! assert!(sim.node(next).unwrap().term() >= 2);
//! assert!(sim.nodes().all(|(_, n)| n.state_machine().value == 7));
//! ```
//!
//! From the command line: `dsys sim raft --nodes 5 --seed 7 --loss 0.1
//! --partition '0,1|2,3,4@300..1500' --until-ms 5000` reports the five
//! properties, the elections, the commits and the messages of each kind;
//! `cargo run --example raft` prints the servers' logs as they change.
//!
//! ## Breaking it
//!
//! Each server must vote at most once per term. A broken variant that
//! grants every request lets two candidates of the same term both win, and
//! Election Safety catches it at the event where the second one does:
//!
//! ```
//! use std::time::Duration;
//! use dsys::consensus::raft::properties::{views, Checkers};
//! use dsys::consensus::raft::simulation::cluster;
//! use dsys::consensus::raft::{Defect, RaftConfig, RaftRequest};
//! use dsys::core::sim::Simulation;
//! use dsys::core::NodeId;
//!
//! let two_candidates = |defect| {
//!     let config = RaftConfig { defect, ..RaftConfig::default() };
//!     let mut sim = Simulation::new(5, 1, cluster(config));
//!     let mut checkers = Checkers::new();
//!     sim.invariant("Raft", move |nodes| checkers.check(&views(nodes)));
//!     // n0 and n1 stand in term 1 at the same moment.
//!     sim.request(NodeId(0), RaftRequest::Campaign).unwrap();
//!     sim.request(NodeId(1), RaftRequest::Campaign).unwrap();
//!     sim.run_until(Duration::from_millis(100))
//! };
//! assert!(two_candidates(None).is_ok());
//! let err = two_candidates(Some(Defect::GrantsTwoVotes)).unwrap_err().to_string();
//! assert!(err.contains("two leaders in term 1"), "{err}");
//! ```
//!
//! The other two broken variants — a vote not persisted before the answer,
//! and a leader committing an older term's entry by counting replicas (the
//! paper's Figure 8) — need a crash at just the wrong moment; they are
//! scripted message by message in `dsys-consensus/tests/raft_defects.rs`,
//! and each is caught.
//!
//! ## Persistence
//!
//! A server's term, vote and log go to its [`Storage`](crate::consensus::raft::Storage)
//! before any message that depends on them leaves. In the simulator the
//! factory keeps each server's [`MemStorage`](crate::consensus::raft::MemStorage)
//! handle, so a crashed server restarts with exactly what it stored; on a
//! real machine [`FileStorage`](crate::consensus::raft::FileStorage) keeps
//! an append-only, checksummed log that survives `kill -9`.
//!
//! ## See it
//!
//! ```text
//! dsys sim raft --nodes 5 --seed 7 --loss 0.1 --crash 2@1700 --restart 2@2500 --until-ms 4000 --html raft.html
//! ```
//!
//! writes the run as a page to open in a browser ([`dsys view`](crate::core::trace::html)):
//! elections, AppendEntries and their responses, n2's crash and restart
//! shaded on its lane; `--trace-states` adds each node's term, log and
//! commit index.
