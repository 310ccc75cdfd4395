//! # Paxos (single decree)
//!
//! **The problem.** A set of processes must choose one value among those
//! some of them propose (the consensus problem of lecture 8), while
//! processes crash and restart and the network loses, duplicates, delays
//! and reorders messages. Safety must hold whatever happens; termination
//! cannot be guaranteed in an asynchronous system (FLP), so Paxos is always
//! safe and decides whenever one proposer gets a quiet stretch.
//!
//! **The algorithm** (Lamport, *Paxos Made Simple*, 2001; section numbers
//! below are that paper's). Every node plays three roles: *proposer*,
//! *acceptor*, *learner*. Proposals are numbered by [`Ballot`]s, a round
//! and the proposer's id, so no two proposers ever use the same one.
//!
//! 1. *Prepare (phase 1a, §2.2).* A proposer picks a ballot `b` above any
//!    round it has seen, stores it, and sends Prepare(b) to every acceptor.
//! 2. *Promise (phase 1b).* An acceptor that has promised nothing higher
//!    promises `b` — it will ignore lower ballots from now on — writes the
//!    promise to stable storage, and answers with the highest-numbered
//!    proposal it has accepted, if any. Otherwise it answers Reject.
//! 3. *Accept (phase 2a).* With promises from a majority, the proposer
//!    picks the value of the highest-numbered proposal among them — or,
//!    if none of them accepted anything, its own value — and sends
//!    Accept(b, v). This rule is the heart of Paxos: if some value may
//!    already be chosen, every majority contains an acceptor that knows
//!    it, so a later ballot can only propose it again (P2c).
//! 4. *Accepted (phase 2b).* An acceptor that has promised nothing above
//!    `b` accepts, writes (b, v) to stable storage, and answers Accepted.
//! 5. *Learn (§2.4).* A value accepted by a majority in one ballot is
//!    *chosen*. The proposer that sees the majority decides and tells every
//!    learner (Chosen); an undecided learner asks around now and then
//!    (Inquire), in case that news was lost.
//!
//! A proposer whose ballot is rejected, or which hears nothing for
//! [`PaxosConfig::attempt_timeout`], retries with a higher ballot after a
//! [`Backoff`]. Two proposers can preempt each other for ever (§2.4; see
//! [`duel`], and [`flp`] for an adversarial scheduler that does it while
//! delivering every message); a randomised back-off lets one of them
//! finish, with probability 1 when delays are bounded and not chosen
//! against it.
//!
//! **Assumptions.** Crash-recovery (no Byzantine behaviour); stable storage
//! that keeps what it acknowledged ([`Stable`](crate::stable::Stable): the
//! promise, the accepted proposal, the last round used, the decision);
//! messages may be lost, duplicated, reordered and delayed. Termination
//! needs a majority up and connected for long enough.
//!
//! **Guarantees**, checked after every simulator event by [`properties`]:
//! only a proposed value is chosen; only a single value is chosen; a
//! process learns only a chosen value (§2.1). At the end of a run, over the
//! `Decided` events of correct nodes, the shared consensus properties
//! ([`crate::properties`]): Termination, Agreement, Integrity, Validity.
//!
//! **Message cost.** With `n` nodes, each acceptor included, one ballot
//! costs `n` Prepare, `n` Promise, `n` Accept and `n` Accepted (a proposer
//! sends to itself like any acceptor), then `n − 1` Chosen: `5n − 1`
//! messages and four message delays to a decision at the proposer, five
//! everywhere. Each preempted ballot costs up to another `4n`.
//! [`simulation::message_counts`] prints the measured counts beside these
//! formulas.
//!
//! **The code.** [`Paxos`] (in `paxos/node.rs`) holds the three roles;
//! `paxos/message.rs` its messages, events and timers; [`properties`] the
//! §2.1 checkers; [`simulation`] `dsys sim paxos`; [`scripted`] a network
//! scheduled by hand, on which [`duel`] plays the hostile schedule; [`flp`]
//! the same live-lock as an adversary in the simulator.
//!
//! # Example
//!
//! Five nodes, two proposers at the same instant, a lossy and duplicating
//! network; the safety checkers run after every event:
//!
//! ```
//! use std::time::Duration;
//! use dsys_core::sim::{LinkConfig, Simulation};
//! use dsys_core::NodeId;
//! use dsys_consensus::paxos::properties::OnlySingleChosen;
//! use dsys_consensus::paxos::simulation::cluster;
//! use dsys_consensus::paxos::PaxosConfig;
//!
//! let mut sim = Simulation::new(5, 3, cluster(PaxosConfig::default(), vec![NodeId(0), NodeId(1)]));
//! sim.set_all_links(LinkConfig::default().with_loss(0.1).with_duplicate(0.1)).unwrap();
//! let mut single = OnlySingleChosen::new();
//! sim.invariant("only a single value is chosen", move |nodes| single.check(nodes));
//! sim.run_until(Duration::from_secs(2)).unwrap();
//! let decided = sim.node(NodeId(4)).unwrap().decided().copied();
//! assert!(decided == Some(100) || decided == Some(101));
//! assert!(sim.nodes().all(|(_, n)| n.decided().copied() == decided));
//! ```

pub mod duel;
pub mod flp;
mod message;
mod node;
pub mod properties;
pub mod scripted;
pub mod simulation;

pub use message::{Ballot, Msg, PaxosEvent, PaxosRequest, Timer, Value};
pub use node::{Backoff, Defect, Durable, Paxos, PaxosConfig};
