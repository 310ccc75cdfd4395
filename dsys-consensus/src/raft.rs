//! # Raft
//!
//! **The problem.** A group of servers must agree on one sequence of
//! commands (a replicated log) so that each can apply them to a copy of
//! the same deterministic state machine, while servers crash and restart
//! and the network loses, duplicates, delays and reorders messages.
//! Consensus is impossible to guarantee in bounded time in a purely
//! asynchronous system (FLP); Raft is always *safe* and is *live* whenever
//! timing is good enough for a leader to be elected and heard.
//!
//! **The algorithm** (Ongaro & Ousterhout, *In Search of an Understandable
//! Consensus Algorithm*, 2014; section numbers below are the paper's, "D"
//! marks Ongaro's dissertation, 2014):
//!
//! 1. *Terms and roles (§5.1).* Time is divided into terms, numbered by a
//!    logical clock every message carries. A server is a follower, a
//!    candidate or the leader; a server that sees a higher term adopts it
//!    and becomes a follower.
//! 2. *Election (§5.2).* A follower that hears nothing for a randomised
//!    election timeout becomes a candidate: it increments its term, votes
//!    for itself and sends RequestVote to every voter. Each server grants
//!    at most one vote per term (persisted before it answers), and only to
//!    a candidate whose log is at least as up to date as its own (§5.4.1:
//!    higher last term, or same last term and at least as long). A
//!    majority makes a leader; randomised timeouts make split votes rare.
//! 3. *Replication (§5.3).* The leader appends each command to its log and
//!    sends AppendEntries carrying the entries and the index and term of the
//!    entry before them. A follower accepts only if its log has that
//!    previous entry (the consistency check), deleting any conflicting
//!    suffix; on a mismatch it hints where its log diverges, so the leader
//!    backs off a whole term per round trip instead of one entry.
//! 4. *Commitment (§5.3, §5.4.2).* An entry of the leader's *current term*
//!    is committed once a majority stores it; earlier entries commit with
//!    it. Counting replicas of an *older* term's entry is unsafe — the
//!    Figure 8 scenario, scripted in `tests/raft_defects.rs`. Each server
//!    applies committed entries in order to its [`StateMachine`].
//!
//! **Extensions a deployment needs**, all here:
//!
//! - *No-op at the start of a term (§8)*, so a new leader learns what is
//!   committed and may serve reads.
//! - *Pre-vote (D §9.6)*: before raising its term a server asks whether it
//!   could win; a server that was cut off cannot force an election on its
//!   return. *Check-quorum and leases (D §6.2, §4.2.3)*: a leader that has
//!   not heard from a majority for an election timeout steps down, and a
//!   server that heard from a leader recently ignores vote requests.
//! - *Leadership transfer (D §3.10)*: the leader brings the target up to
//!   date and tells it to campaign at once ([`TimeoutNow`]). It reports
//!   the transfer done ([`RaftEvent::LeadershipTransferred`]) once it hears
//!   the target lead the new term, whoever told it of that term first.
//! - *Log compaction (§7)*: after [`RaftConfig::snapshot_threshold`]
//!   applied entries the state machine is snapshotted and the log before
//!   it dropped; a follower that needs dropped entries gets the snapshot
//!   ([`InstallSnapshot`]).
//! - *Membership changes (D §4.1)*: one server added or removed at a time
//!   ([`MembershipChange`]), the new membership in force as soon as it is
//!   in a server's log: the latest in the log is in force, and applying an
//!   older one again (a restarted server applies its log anew) changes
//!   nothing; a leader that the membership in force removes steps down
//!   once it commits (D §4.2.2). *Learners* receive the log without
//!   voting, so a new server catches up before it counts towards a quorum.
//! - *Client sessions (D §6.3)*: a client opens a session
//!   ([`RaftRequest::OpenSession`]), which the cluster names by the index
//!   of the entry that opened it, so no name is ever reused. Commands carry
//!   a (session, sequence number) [`Session`]; a retried command is
//!   answered from the session table, not applied twice. The table is part
//!   of the snapshot, and bounded ([`RaftConfig::sessions_max`]): opening a
//!   session when it is full expires the least recently used one, and a
//!   command of an expired session is refused
//!   ([`Rejection::SessionExpired`]), never applied as new — it may be the
//!   retry of a command applied before. Its client must open a new
//!   session.
//! - *Linearizable reads by read-index (D §6.4)*: the leader notes its
//!   commit index, confirms with a round of heartbeats that it still leads,
//!   waits until it has applied that index, and answers. A deposed leader
//!   cannot gather the round, so it never answers stale. The round's
//!   answers confirm leadership, nothing more: an append or snapshot in
//!   flight that no answer acknowledges is resent after a heartbeat
//!   interval without progress, however many reads flow.
//! - *Batching and pipelining*: a proposal is replicated at once, not at the
//!   next heartbeat; up to [`RaftConfig::inflight_appends_max`] appends are
//!   in flight per follower, and what arrives while the pipeline is full
//!   goes out in the next append (up to [`RaftConfig::append_entries_max`]
//!   entries). [`RaftConfig::uncommitted_entries_max`] bounds the memory a
//!   slow quorum can make a leader hold.
//!
//! **Persistence.** Term, vote and log go to a [`Storage`] before any
//! message that depends on them leaves; [`MemStorage`] survives the
//! simulator's crashes (the factory keeps the handle), [`FileStorage`] is
//! an append-only, checksummed, fsynced log on disk. A storage error halts
//! the server ([`RaftEvent::Halted`]) rather than let it answer with state
//! it did not keep.
//!
//! **Lost state.** Raft's safety rests on "storage keeps what it
//! acknowledged": a server that forgot its vote can vote twice in a term,
//! and one that forgot acknowledged entries can help elect a leader that
//! lacks committed ones (a run that lost five acknowledged values this way
//! is `tests/multiprocess.rs`). So a server that lost state must not come
//! back as if it had not: [`FileStorage`] keeps a manifest of what must
//! exist and refuses to open when a segment is missing or a sealed one is
//! short, records how far its log was synced and refuses a log that ends
//! before that (the active segment's tail lost, even at a record
//! boundary), and [`FileStorage::open_existing`] refuses a directory with
//! no state at all ([`crate::Error::NoState`]). The ways back are the
//! dissertation's (§4): restore the directory, or remove the server from
//! the configuration and add it again as a new, empty member, which
//! catches up as a learner before it votes. (A leader also probes below a
//! follower's former match index when the follower reports it no longer
//! holds it, so a server whose torn tail cost it entries is refilled.)
//!
//! **Assumptions.** Crash-recovery failures (no Byzantine behaviour);
//! messages may be lost, duplicated, reordered and delayed; storage keeps
//! what it acknowledged. Liveness needs `broadcast time ≪ election timeout
//! ≪ mean time between failures` (§5.6) and a majority of voters up and
//! connected.
//!
//! **Guarantees**, checked after every simulator event by
//! [`properties`]: Election Safety, Leader Append-Only, Log Matching,
//! Leader Completeness, State Machine Safety (Figure 3); plus liveness
//! once faults stop ([`simulation::await_liveness`]).
//!
//! **Message cost.** An election: `N − 1` RequestVote and up to `N − 1`
//! answers (twice that with pre-vote). A command in steady state: one
//! AppendEntries to each of the `N − 1` followers and one answer from each
//! — `2(N − 1)` messages, two message delays to commit — shared by every
//! command batched into the same append. A heartbeat round: `2(N − 1)`
//! messages every [`RaftConfig::heartbeat_interval`]; a read-index read:
//! one heartbeat round.
//!
//! **The code.** The server is [`Raft`], in `raft/node.rs`: its state,
//! the role changes, and the one place every message's term is checked
//! against its own (§5.1) before a handler runs. The handlers live by
//! concern in `raft/node/`: `election.rs` (timers, campaigns, votes),
//! `replication.rs` (the leader's side: appends, acknowledgements, commit,
//! heartbeats), `progress.rs` (per follower: probe, pipeline or snapshot),
//! `quorum.rs` (the one "what has a majority reached" computation behind
//! commit, read-index and check-quorum), `follower.rs` (the consistency
//! check, snapshots installed), `apply.rs` (applying, sessions, taking
//! snapshots), `membership.rs`, `reads.rs`, `requests.rs`, and `config.rs`.
//! Messages are in `raft/message.rs`, one struct per message.
//!
//! # Example
//!
//! Five servers elect a leader, replicate commands, lose the leader, elect
//! another, and the old one returns and catches up; the five properties
//! hold throughout:
//!
//! ```
//! use std::time::Duration;
//! use dsys_core::sim::Simulation;
//! use dsys_consensus::raft::properties::{views, Checkers};
//! use dsys_consensus::raft::simulation::{cluster, current_leader};
//! use dsys_consensus::raft::{RaftConfig, RaftEvent, RaftRequest};
//!
//! let mut sim = Simulation::new(5, 42, cluster(RaftConfig::default()));
//! let mut checkers = Checkers::new();
//! sim.invariant("raft", move |nodes| checkers.check(&views(nodes)));
//! sim.run_until(Duration::from_secs(1)).unwrap();
//! let first = current_leader(&sim).expect("elected within a second");
//! for id in 0..10 {
//!     sim.request(first, RaftRequest::Propose { id, command: 1, session: None }).unwrap();
//! }
//! sim.run_for(Duration::from_millis(200)).unwrap();
//! let applied = sim.events(first).iter().filter(|e| matches!(e.event, RaftEvent::Applied { .. })).count();
//! assert_eq!(applied, 10);
//!
//! sim.crash(first).unwrap();
//! sim.run_for(Duration::from_secs(1)).unwrap();
//! let second = current_leader(&sim).expect("a new leader");
//! assert_ne!(first, second);
//! sim.request(second, RaftRequest::Propose { id: 10, command: 5, session: None }).unwrap();
//! sim.restart(first).unwrap();
//! sim.run_for(Duration::from_secs(1)).unwrap();
//! // Everyone, the returned server included, applied all eleven commands.
//! assert!(sim.nodes().all(|(_, n)| n.state_machine().value == 15));
//! ```

mod log;
mod message;
pub mod model;
mod node;
pub mod properties;
pub mod service;
pub mod simulation;
mod state_machine;
pub(crate) mod storage;
mod types;

pub use log::Log;
pub use message::{
    AppendEntries, AppendResponse, InstallSnapshot, MembershipChange, Msg, RaftEvent, RaftRequest,
    Rejection, RequestVote, TimeoutNow, Vote,
};
pub use node::{Defect, Raft, RaftConfig, Timer};
pub use state_machine::{AppendLog, AppendLogQuery, Counter, StateMachine};
pub use storage::{conformance, FileOptions, FileStorage, MemStorage, Recovered, Storage};
pub use types::{
    Entry, HardState, LogIndex, Membership, Payload, RequestId, Role, Session, Snapshot,
    SnapshotMeta, Term,
};
