//! # Chapter 9 — replication and consistency, first half (lecture 9)
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
//! ## What replication gives which
//!
//! | scheme | gives | because |
//! |---|---|---|
//! | passive (primary-backup) | linearisability | one primary orders every request and answers only after the backups have it |
//! | active (total-order multicast) | sequential consistency | every replica applies the same order, but a client may read from a replica that is behind in real time |
//! | Raft with read-index reads | linearisability | reads are served only after the leader confirms it still leads |
//!
//! The second half of this chapter — the replication schemes themselves,
//! run and checked — arrives with them in `dsys-replication`.
