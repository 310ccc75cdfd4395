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
//! timed-out read) took effect, if at all, before it returned.
//!
//! | model | state | operations |
//! |---|---|---|
//! | [`models::Register`] | one value or none | read, write |
//! | [`models::CasRegister`] | one value or none | read, write, compare-and-set (etcd) |
//! | [`models::Kv`] | a map of strings, checked per key | get, put, append, compare-and-set |
//! | [`models::Queue`] | a FIFO queue | enqueue, dequeue |

pub mod history;
pub mod model;
pub mod models;
pub mod report;
