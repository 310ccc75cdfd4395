//! Consistency of replicated services, judged from the outside: what the
//! clients saw ([`history`]), what the object is supposed to do
//! ([`model`], [`models`]), and whether the first could have come from the
//! second.
//!
//! - **Linearizability** (Herlihy & Wing 1990): the operations can be put
//!   in one order that the sequential object accepts and that respects
//!   real time — an operation that completed before another was invoked
//!   comes first. Each operation appears to take effect at one instant
//!   between its invocation and its completion.
//! - **Sequential consistency** (Lamport 1979): the operations can be put
//!   in one order that the sequential object accepts and that respects each
//!   client's program order; real time between clients is ignored.
//!
//! An operation that never returned may or may not have taken effect, at
//! any moment after its invocation; one that returned without a result (a
//! timed-out read) took effect before it returned, its result unchecked.
//!
//! | property | checker | algorithm |
//! |---|---|---|
//! | linearizability (Herlihy & Wing 1990) | [`check_linearizable`] | Wing & Gong 1993 search, Lowe 2017 memoisation, per part ([`linearizability`]) |
//! | sequential consistency (Lamport 1979) | [`check_sequential`] | memoised search over per-client progress ([`sequential`]) |
//!
//! [`generate`] makes histories to test them with.
//!
//! | model | state | operations |
//! |---|---|---|
//! | [`models::Register`] | one value or none | read, write |
//! | [`models::CasRegister`] | one value or none | read, write, compare-and-set (etcd) |
//! | [`models::Kv`] | a map of strings, checked per key | get, put, append, compare-and-set |
//! | [`models::Queue`] | a FIFO queue | enqueue, dequeue |
//!
//! [`jepsen`] reads Jepsen's history logs (the etcd test's CAS register
//! log, EDN map lines for a key-value map); [`html`] draws a history and
//! its verdict as a self-contained page (`dsys history check --html`).
//!
//! # The course's bank account
//!
//! Two clients share an account whose balance is a register:
//! `setBalance(x)` is a write, `getBalance()` a read. Client A opens the
//! account with 0, then sets it to 100; client B reads it — three runs:
//!
//! ```
//! use dsys_replication::consistency::{check_linearizable, check_sequential};
//! use dsys_replication::consistency::history::History;
//! use dsys_replication::consistency::models::{Register, RegisterOp, RegisterRet};
//! use dsys_replication::consistency::report::{Budget, Verdict::*};
//!
//! let account = Register::<u32>::new();
//! let (a, b) = (0, 1);
//! let set_balance = |x| RegisterOp::Write(x);
//! let get_balance = RegisterOp::Read;
//! let balance = |x| RegisterRet::Value(Some(x));
//! let run = |b_reads: &[(u64, u64, u32)]| {
//!     let mut h = History::new();
//!     h.complete_op(a, 0, 1, set_balance(0), RegisterRet::Written);
//!     h.complete_op(a, 2, 10, set_balance(100), RegisterRet::Written);
//!     for &(invoke, complete, x) in b_reads {
//!         h.complete_op(b, invoke, complete, get_balance.clone(), balance(x));
//!     }
//!     let lin = check_linearizable(&account, &h, Budget::default()).verdict;
//!     let sc = check_sequential(&account, &h, Budget::default()).verdict;
//!     (lin, sc)
//! };
//!
//! // B reads 100 after A's setBalance(100) returned: linearizable.
//! assert_eq!(run(&[(20, 30, 100)]), (Holds, Holds));
//! // B reads 0 although setBalance(100) had returned before B asked: not
//! // linearizable, but sequentially consistent (B's read can be ordered
//! // between A's two calls: real time between clients does not count).
//! assert_eq!(run(&[(20, 30, 0)]), (Violated, Holds));
//! // B reads 100, then 0: B saw A's calls in the opposite order to A's
//! // program. Neither.
//! assert_eq!(run(&[(20, 25, 100), (30, 35, 0)]), (Violated, Violated));
//! ```

pub mod generate;
pub mod history;
pub mod html;
pub mod jepsen;
pub mod linearizability;
pub mod model;
pub mod models;
pub mod report;
mod search;
pub mod sequential;

pub use linearizability::check_linearizable;
pub use sequential::check_sequential;
