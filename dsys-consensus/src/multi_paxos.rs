//! # Multi-Paxos
//!
//! **The problem.** Replicas must agree not on one value but on a sequence
//! of them — a replicated log of commands, each applied in order to a copy
//! of the same deterministic [`StateMachine`](crate::raft::StateMachine) —
//! while replicas crash and restart and the network loses, duplicates,
//! delays, reorders and partitions.
//!
//! **The algorithm** (Lamport, *Paxos Made Simple*, 2001, §3 "Implementing
//! a State Machine"; the same phases as [single-decree Paxos](crate::paxos),
//! one instance per log *slot*):
//!
//! 1. *A leader, from the failure detector.* Every replica sends a
//!    heartbeat each [`HeartbeatConfig::period`](dsys_core::failure_detector::HeartbeatConfig)
//!    to the core failure detector ([`dsys_core::failure_detector`]); a
//!    replica considers the lowest id it does not suspect to be the leader
//!    (Ω built from ◇P). Two replicas may both believe they lead for a
//!    while; ballots keep that safe, and it ends when suspicions do.
//! 2. *Phase 1, once for all future slots.* The would-be leader picks a
//!    ballot above every round it has seen and sends one Prepare for every
//!    slot from its first unchosen one on. Each acceptor promises (for all
//!    those slots at once, stored first) and reports every proposal it
//!    accepted there.
//! 3. *Recovery and gap filling.* With a majority of promises, the leader
//!    re-proposes in each slot up to the highest reported the value of the
//!    highest-numbered accepted proposal — and a **no-op** in a slot nobody
//!    reported, so that a gap left by the old leader does not hold up the
//!    slots after it.
//! 4. *Phase 2 per command.* From then on, as long as its ballot stands,
//!    the leader skips phase 1: a client command goes into the next slot
//!    as Accept(ballot, slot, entry); a majority of Accepted chooses it.
//!    Up to [`MultiPaxosConfig::pipeline_max`] slots are in flight;
//!    commands arriving while the pipeline is full wait and go out
//!    together, up to [`MultiPaxosConfig::batch_max`] in one slot
//!    (**batching**).
//! 5. *Learning.* Every Accept and every leader heartbeat carries the
//!    leader's commit point (its first unchosen slot): a follower knows a
//!    slot below it is chosen if it accepted that slot in the same ballot.
//!    A follower still missing a slot below the commit point (a lost
//!    Accept, a restart, a partition) asks the leader (CatchUp) and gets
//!    the chosen entries (**catch-up**), up to
//!    [`MultiPaxosConfig::catch_up_max`] per answer.
//! 6. *Applying.* Each replica applies its gap-free chosen prefix in order;
//!    the replica that took a request answers it
//!    ([`MultiPaxosEvent::Applied`]).
//!
//! A leader that sees a higher ballot (a Prepare, an Accept, a Reject) or
//! trusts a lower id again steps down; its waiting requests are refused
//! ([`MultiPaxosEvent::NotLeader`]) for the client to retry elsewhere.
//! A leader retransmits Accepts not yet acknowledged every heartbeat.
//!
//! **Assumptions.** Crash-recovery, no Byzantine behaviour; stable storage
//! ([`Stable`](crate::stable::Stable)) keeps the promise, the last round,
//! the accepted proposals and the chosen entries; a restarted replica
//! replays its chosen log into a fresh state machine. Liveness needs a
//! majority up and connected, and heartbeats that arrive within the
//! suspicion timeout long enough for one leader to hold.
//!
//! **Guarantees**, checked after every simulator event by [`properties`]:
//! log agreement (one entry per slot, whoever knows it) and state machine
//! safety (the same prefix applied gives the same state); at the end, the
//! shared consensus properties per slot ([`crate::properties`]), validity
//! (only proposed commands, none twice) and liveness once faults stop.
//!
//! **Message cost.** A leader change: `n − 1` Prepare and `n − 1`
//! Promise, once. A slot in steady state: `n − 1` Accept and `n − 1`
//! Accepted (the leader accepts its own proposal without a message) —
//! `2(n − 1)`, two message delays to a decision at the leader, the same as
//! Raft's AppendEntries — shared by every command batched into the slot.
//! Heartbeats: `n(n − 1)` per period (every replica feeds every failure
//! detector). Counted over a whole run, with `P` phase-1 attempts
//! ([`MultiPaxosEvent::Preparing`]), `S` slots proposed
//! ([`MultiPaxosEvent::Proposed`], with
//! [`MultiPaxosConfig::report_proposals`]), `R` Accepts sent again
//! ([`MultiPaxosEvent::Resent`]) and `T` heartbeat ticks: `(n − 1)·P`
//! Prepare, `(n − 1)·S + R` Accept, one answer (Promise, Accepted or
//! Reject) per Prepare or Accept delivered, `(n − 1)·T` Heartbeat, and a
//! CatchUp, answered by at most one Chosen, per heartbeat that finds a gap.
//! [`simulation::message_counts`] measures each beside its formula, and
//! `dsys sim multi-paxos` prints them; they stay equal under loss,
//! duplication and crashes.
//!
//! **Storage.** The chosen entries are a positional log, as in Raft (slot
//! `s` at index `s − 1`); only slots above it are kept by slot (accepted
//! proposals, entries learned past a gap). An acceptor forgets a slot's
//! accepted proposal once the slot is chosen, so a Promise reports the
//! chosen entries from the preparer's first unchosen slot on, and the new
//! leader learns them instead of re-proposing them.
//!
//! **The code.** [`MultiPaxos`] in `multi_paxos/node.rs`; its messages in
//! `multi_paxos/message.rs`; the checkers in [`properties`]; `dsys sim
//! multi-paxos` in [`simulation`].
//!
//! # Example
//!
//! Three replicas; the leader crashes; the next lowest id takes over and
//! fills the gap; the old leader returns and catches up:
//!
//! ```
//! use std::time::Duration;
//! use dsys_core::sim::Simulation;
//! use dsys_core::NodeId;
//! use dsys_consensus::multi_paxos::simulation::{cluster, current_leader, drive_client};
//! use dsys_consensus::multi_paxos::properties::LogAgreement;
//! use dsys_consensus::multi_paxos::MultiPaxosConfig;
//!
//! let mut sim = Simulation::new(3, 5, cluster(MultiPaxosConfig::default()));
//! let mut agreement = LogAgreement::new();
//! sim.invariant("log agreement", move |nodes| agreement.check(nodes));
//! drive_client(&mut sim, Duration::from_millis(50), Duration::from_millis(1500), Duration::from_millis(10));
//! sim.run_until(Duration::from_millis(400)).unwrap();
//! assert_eq!(current_leader(&sim), Some(NodeId(0)));
//! sim.crash(NodeId(0)).unwrap();
//! sim.run_until(Duration::from_millis(1000)).unwrap();
//! assert_eq!(current_leader(&sim), Some(NodeId(1)));
//! sim.restart(NodeId(0)).unwrap();
//! sim.run_until(Duration::from_secs(3)).unwrap();
//! let value = sim.node(NodeId(1)).unwrap().state_machine().value;
//! assert!(sim.nodes().all(|(_, r)| r.state_machine().value == value));
//! ```

mod message;
pub mod model;
mod node;
pub mod properties;
pub mod simulation;

pub use message::{Command, Entry, Msg, MultiPaxosEvent, MultiPaxosRequest, Slot, Tick};
pub use node::{Defect, Durable, MultiPaxos, MultiPaxosConfig};
