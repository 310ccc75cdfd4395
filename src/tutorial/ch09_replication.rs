//! # Chapter 9 — replication and consistency (lecture 9)
//!
//! A replicated service runs on many replicas, yet its clients should not
//! be able to tell: **correctness of replication** means the service
//! behaves as one correct copy would. Two precise versions of "as one copy
//! would" are the subject of this chapter, and dsys checks both on any
//! recorded history, from the outside, without looking inside the service
//! ([`dsys_replication::consistency`](crate::replication::consistency)).
//!
//! A **history** records, for every call a client made, when it was
//! invoked, when it completed (or that it never returned), what was asked
//! and what was answered. A **model** says what one correct copy does: its
//! initial state, and how each operation changes the state and what it
//! answers.
//!
//! - **Linearisability.** There is one order of all operations that the
//!   model accepts *and that respects real time*: if one call completed
//!   before another was invoked, it comes first. Each operation appears to
//!   take effect at one instant between its invocation and its response.
//! - **Sequential consistency.** There is one order of all operations that
//!   the model accepts and that respects *each client's program order*;
//!   real time between different clients does not matter.
//!
//! Real time respects program order (a client invokes its next call only
//! after the previous one returned), so a linearisable history is
//! sequentially consistent. The converse fails, and the course's bank
//! shows it.
//!
//! ## The bank, as a model
//!
//! Two accounts `x` and `y`, each with a balance, initially 0:
//! `setBalance(account, b)` and `getBalance(account) → b`. The model is a
//! few lines of the [`Model`](crate::replication::consistency::model::Model)
//! trait:
//!
//! ```
//! use dsys::replication::consistency::model::Model;
//!
//! #[derive(Clone, Debug, PartialEq, Eq, Hash)]
//! pub enum Call {
//!     Set(char, i64),
//!     Get(char),
//! }
//!
//! /// Two accounts, `x` and `y`; the state is (balance of x, balance of y).
//! #[derive(Debug)]
//! pub struct Bank;
//!
//! impl Model for Bank {
//!     type Input = Call;
//!     type Output = Option<i64>; // a get's balance; None for a set
//!     type State = (i64, i64);
//!
//!     fn name(&self) -> &'static str {
//!         "bank"
//!     }
//!     fn init(&self) -> (i64, i64) {
//!         (0, 0)
//!     }
//!     fn step(&self, &(x, y): &(i64, i64), call: &Call, seen: Option<&Option<i64>>) -> Option<(i64, i64)> {
//!         let (answer, next) = match *call {
//!             Call::Set('x', b) => (None, (b, y)),
//!             Call::Set(_, b) => (None, (x, b)),
//!             Call::Get('x') => (Some(x), (x, y)),
//!             Call::Get(_) => (Some(y), (x, y)),
//!         };
//!         // An unknown answer (the call never returned) accepts anything.
//!         (seen.is_none() || seen == Some(&answer)).then_some(next)
//!     }
//! }
//! # fn main() {}
//! ```
//!
//! ## One history that is linearisable, one that is only sequentially consistent, one that is neither
//!
//! Times are in any unit: only their order matters. Client 1 sets `x` to 1
//! and then `y` to 2; client 2 reads `y` and then `x`.
//!
//! ```
//! # use dsys::replication::consistency::model::Model;
//! # #[derive(Clone, Debug, PartialEq, Eq, Hash)]
//! # pub enum Call { Set(char, i64), Get(char) }
//! # #[derive(Debug)]
//! # pub struct Bank;
//! # impl Model for Bank {
//! #     type Input = Call;
//! #     type Output = Option<i64>;
//! #     type State = (i64, i64);
//! #     fn name(&self) -> &'static str { "bank" }
//! #     fn init(&self) -> (i64, i64) { (0, 0) }
//! #     fn step(&self, &(x, y): &(i64, i64), call: &Call, seen: Option<&Option<i64>>) -> Option<(i64, i64)> {
//! #         let (answer, next) = match *call {
//! #             Call::Set('x', b) => (None, (b, y)),
//! #             Call::Set(_, b) => (None, (x, b)),
//! #             Call::Get('x') => (Some(x), (x, y)),
//! #             Call::Get(_) => (Some(y), (x, y)),
//! #         };
//! #         (seen.is_none() || seen == Some(&answer)).then_some(next)
//! #     }
//! # }
//! use dsys::replication::consistency::history::History;
//! use dsys::replication::consistency::report::{Budget, Verdict};
//! use dsys::replication::consistency::{check_linearizable, check_sequential};
//!
//! /// Client 1: setBalance(x, 1) during 0..10, setBalance(y, 2) during 30..40.
//! /// Client 2: getBalance(y) during 0..10, getBalance(x) during 20..25.
//! fn bank_history(y_read: i64, x_read: i64) -> History<Call, Option<i64>> {
//!     let mut h = History::new();
//!     h.complete_op(1, 0, 10, Call::Set('x', 1), None);
//!     h.complete_op(2, 0, 10, Call::Get('y'), Some(y_read));
//!     h.complete_op(2, 20, 25, Call::Get('x'), Some(x_read));
//!     h.complete_op(1, 30, 40, Call::Set('y', 2), None);
//!     h
//! }
//! let judge = |h: &History<Call, Option<i64>>| {
//!     (
//!         check_linearizable(&Bank, h, Budget::default()).verdict,
//!         check_sequential(&Bank, h, Budget::default()).verdict,
//!     )
//! };
//!
//! // getBalance(y) → 0, getBalance(x) → 1: the reads see the writes as
//! // real time says they happened. Linearisable.
//! assert_eq!(judge(&bank_history(0, 1)), (Verdict::Holds, Verdict::Holds));
//!
//! // The course's example: getBalance(y) → 0 and getBalance(x) → 0, though
//! // setBalance(x, 1) completed (at 10) before getBalance(x) was invoked
//! // (at 20). No real-time order explains it; but the order
//! // get(y)→0, get(x)→0, set(x,1), set(y,2) keeps each client's program
//! // order: sequentially consistent, not linearisable. (Active replication
//! // over totally ordered multicast gives exactly this.)
//! assert_eq!(judge(&bank_history(0, 0)), (Verdict::Violated, Verdict::Holds));
//!
//! // getBalance(y) → 2 but then getBalance(x) → 0: client 2 saw the second
//! // write, then missed the first, which client 1 made before it. No order
//! // that keeps client 1's program order explains that. Neither.
//! assert_eq!(judge(&bank_history(2, 0)), (Verdict::Violated, Verdict::Violated));
//! ```
//!
//! When a history fails, the report says why: the smallest set of
//! operations that already fails, and the longest order the checker could
//! build before it got stuck, with the model's state after each step.
//! `dsys history check --model cas-register FILE --html view.html` draws
//! it: one lane per client, a bar per call, the failing calls highlighted.
//!
//! ## Calls that never return
//!
//! A client that crashes, or gives up waiting, does not know whether its
//! call took effect. Such a call stays open to the end of the history: the
//! checkers may place it at any moment after its invocation, or leave it
//! out. A write that timed out may therefore explain a later read of its
//! value — exactly as it could have in the real system.
//!
//! # Second half: the schemes, run and judged
//!
//! dsys replicates one service — a key-value store with get, put, append,
//! compare-and-set and delete ([`kv`](crate::replication::kv)) — in four
//! ways, and judges each by the checkers above, on the history its
//! simulated clients record while the simulator injects faults. Each
//! scheme is one `dsys sim` algorithm, so every run below is also a
//! command.
//!
//! ## The five stages
//!
//! Whatever the scheme, a call goes through the lecture's five stages, and
//! each scheme's module names the function that does each one:
//!
//! | stage | passive ([`primary_backup`](crate::replication::primary_backup)) | active ([`active`](crate::replication::active)) |
//! |---|---|---|
//! | **Request** | the [front end](crate::replication::kv::FrontEnd) gives the call a unique id and sends it to the primary | the same, to any replica, which passes it to the sequencer |
//! | **Coordination** | `coordinate`: the primary takes calls in arrival order; a repeated id gets the stored answer | `coordinate`, `deliver`: the sequencer numbers the call; every replica delivers in number order |
//! | **Execution** | `execute`: the primary alone runs it | `execute`: every replica runs it |
//! | **Agreement** | `agree`: the update, response and id go to the backups, which acknowledge | none needed: total order already agrees |
//! | **Response** | `respond`: once acknowledged by a quorum | `respond`: every replica answers; the front end takes the first |
//!
//! ## Passive replication, and why the primary waits for acknowledgements
//!
//! Three replicas; n0 is the primary of view 0. Clients call throughout;
//! at 600 ms n0 is cut off from the backups, at 800 ms it crashes. The
//! backups suspect it, the next view's primary takes over, and the
//! history is linearizable. Now the same run with a primary that answers
//! as soon as it has executed a call, without waiting for its backups
//! (`--defect answers-before-acks`): between 600 and 800 ms it answers
//! writes that never reach a backup, the new primary has never heard of
//! them, and the checker finds a read that misses an acknowledged write.
//!
//! ```
//! use dsys::core::scenario::{SimOptions, Verdict};
//! use dsys::replication::kv::scenario::PRIMARY_BACKUP;
//!
//! let options = |defect: Option<&str>| SimOptions {
//!     seed: 1,
//!     partitions: vec!["0|1,2@600".parse().unwrap()],
//!     crashes: vec!["0@800".parse().unwrap()],
//!     defect: defect.map(String::from),
//!     ..SimOptions::default()
//! };
//! // dsys sim primary-backup --partition '0|1,2@600' --crash 0@800 --seed 1
//! let waits = (PRIMARY_BACKUP.run)(&options(None)).unwrap().report;
//! assert_eq!(waits.verdicts[0].1, Verdict::Holds);
//! // dsys sim primary-backup --partition '0|1,2@600' --crash 0@800 --seed 1 --defect answers-before-acks
//! let hasty = (PRIMARY_BACKUP.run)(&options(Some("answers-before-acks"))).unwrap().report;
//! assert!(matches!(hasty.verdicts[0].1, Verdict::Expected(_)));
//! ```
//!
//! ## Primary failure and split brain
//!
//! The lecture's two conditions for replacing a failed primary are that a
//! **unique** backup takes over, and that the survivors **agree on which
//! operations were performed**. dsys numbers configurations as *views*
//! (the primary of view `v` is replica `v mod n`); replicas that suspect
//! the primary vote for the next view, sending their state, and its
//! primary adopts the most recent state among the votes — every
//! acknowledged write is in it.
//!
//! How many votes? The lecture says `f + 1` replicas survive `f` crashes:
//! true if the failure detector is perfect, so that the primary can wait
//! only for the backups it does not suspect (`--set quorum=unsuspected`).
//! But a detector in an asynchronous system only suspects. Cut n0 off
//! from the others and *both* sides are right to suspect each other: the
//! backups elect a primary, n0 carries on alone — two primaries, two
//! groups of clients, **split brain** — and the checker rejects the
//! history. A majority quorum (`2f + 1` replicas, the default) cannot
//! split: two majorities always share a replica.
//!
//! ```
//! use dsys::core::scenario::{Setting, SimOptions, Verdict};
//! use dsys::replication::kv::scenario::PRIMARY_BACKUP;
//!
//! let run = |quorum: &str| {
//!     let options = SimOptions {
//!         seed: 1,
//!         partitions: vec!["0|1,2@500..1200".parse().unwrap()],
//!         settings: vec![Setting { name: "quorum".into(), value: quorum.into() }],
//!         ..SimOptions::default()
//!     };
//!     (PRIMARY_BACKUP.run)(&options).unwrap().report.verdicts[0].1.clone()
//! };
//! // dsys sim primary-backup --partition '0|1,2@500..1200' --set quorum=unsuspected --seed 1
//! assert!(matches!(run("unsuspected"), Verdict::Expected(why) if why.contains("split brain")));
//! // dsys sim primary-backup --partition '0|1,2@500..1200' --seed 1
//! assert_eq!(run("majority"), Verdict::Holds);
//! ```
//!
//! `cargo run --example split_brain` prints both runs side by side, with
//! who was primary of which view on each side.
//!
//! ## Active replication: sequentially consistent, or linearizable
//!
//! With every call ordered by the sequencer and the front end taking the
//! first answer, each call takes effect at its place in the one order —
//! which lies between its invocation and its first answer — so even
//! active replication is linearizable. The lecture's claim concerns the
//! cheaper way to read: a get answered by one replica from its own copy,
//! without going through the order (`--set reads=local`). Every copy is a
//! prefix of the same sequence, and the front end's session token keeps a
//! client from reading an older prefix than it has already seen, so each
//! client's calls keep their program order — **sequentially consistent** —
//! but a lagging replica can answer a read with a value that another
//! client has already overwritten: **not linearizable**.
//!
//! ```
//! use dsys::core::scenario::{Setting, SimOptions, Verdict};
//! use dsys::replication::kv::scenario::ACTIVE;
//!
//! let run = |reads: &str| {
//!     let options = SimOptions {
//!         seed: 1,
//!         settings: vec![Setting { name: "reads".into(), value: reads.into() }],
//!         ..SimOptions::default()
//!     };
//!     (ACTIVE.run)(&options).unwrap().report.verdicts
//! };
//! // dsys sim active-replication --seed 1
//! assert_eq!(run("ordered")[0].1, Verdict::Holds);
//! // dsys sim active-replication --set reads=local --seed 1
//! let local = run("local");
//! assert!(matches!(&local[0], (name, Verdict::Expected(_)) if name == "linearizability"));
//! assert_eq!(local[1], ("sequential consistency".to_string(), Verdict::Holds));
//! ```
//!
//! The sequencer is the simplest total order, and a single point of
//! failure: while it is down nothing is ordered. A fault-tolerant total
//! order is consensus itself — which is what the last two backends are.
//!
//! ## Over consensus: Raft and Multi-Paxos
//!
//! `dsys sim kv-raft` and `dsys sim kv-multi-paxos` run the same store
//! over a replicated log: agreement (a majority accepts the log entry)
//! comes before execution (every replica applies the committed log). They
//! survive any minority of crashes, partitions and restarts — a restarted
//! replica recovers from stable storage, which primary-backup's
//! crash-stop replicas cannot.
//!
//! ```
//! use dsys::core::scenario::{SimOptions, Verdict};
//! use dsys::replication::kv::scenario::KV_RAFT;
//!
//! // dsys sim kv-raft --partition '0|1,2@500..1200' --crash 1@1400 --restart 1@1700 --loss 0.02 --seed 4
//! let options = SimOptions {
//!     seed: 4,
//!     loss: 0.02,
//!     partitions: vec!["0|1,2@500..1200".parse().unwrap()],
//!     crashes: vec!["1@1400".parse().unwrap()],
//!     restarts: vec!["1@1700".parse().unwrap()],
//!     ..SimOptions::default()
//! };
//! assert_eq!((KV_RAFT.run)(&options).unwrap().report.verdicts[0].1, Verdict::Holds);
//! ```
//!
//! ## CAP, as a run (lecture 8)
//!
//! During a partition a store must choose: answer on both sides and give
//! up consistency, or stay consistent and refuse calls on one side.
//! [`cap`](crate::replication::cap) runs both choices on five replicas
//! split 2 | 3, with clients on each side (`cargo run --example cap`
//! prints the figures and draws the AP history).
//!
//! ```
//! use dsys::replication::cap::{run, Choice};
//!
//! let cp = run(Choice::Consistent, 1).unwrap(); // Raft
//! assert!(cp.report.holds());
//! assert_eq!(cp.minority.answered, 0); // the minority side is unavailable
//! assert_eq!(cp.majority.answered, cp.majority.calls);
//!
//! let ap = run(Choice::Available, 1).unwrap(); // primary-backup trusting its detector
//! assert_eq!(ap.minority.answered, ap.minority.calls); // both sides answer
//! assert_eq!(ap.majority.answered, ap.majority.calls);
//! assert!(!ap.report.holds()); // and the history is not linearizable
//! ```
//!
//! ## What replication gives which
//!
//! | scheme | gives | because |
//! |---|---|---|
//! | passive, majority quorum | linearisability | one primary per view orders every call and answers only after a quorum has it; a new view adopts every acknowledged write |
//! | passive, trusting the detector (`f + 1`) | linearisability while the detector is right; split brain when it is not | two sides that suspect each other each make a primary |
//! | active, reads ordered | linearisability | every call takes effect at its place in the one order |
//! | active, local reads | sequential consistency | every replica applies the same order, but a client may read from a replica that is behind in real time |
//! | Raft (read-index reads), Multi-Paxos | linearisability | agreement by a majority before execution; Raft confirms leadership before a read |
//!
//! ## See it
//!
//! ```text
//! dsys sim primary-backup --partition '0|1,2@500..1200' --set quorum=unsuspected --html split-brain.html
//! ```
//!
//! writes the run as a page to open in a browser ([`dsys view`](crate::core::trace::html)):
//! the partition as a band across the diagram, and two primaries answering
//! on either side of it.
