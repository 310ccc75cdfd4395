//! # dsys-replication
//!
//! Replication and how to judge it.
//!
//! - [`kv`]: a replicated key-value store — one client API (get, put,
//!   append, compare-and-set, delete; exactly-once retries; reads named
//!   by their consistency), the lecture's five stages, simulated clients
//!   ([`kv::simulate`]) and `dsys sim` scenarios ([`kv::scenario`]) — over
//!   four backends:
//!   - [`primary_backup`]: passive replication, views, split brain;
//!   - [`active`]: active replication over a sequencer's total order;
//!   - [`kv::consensus`]: Raft's and Multi-Paxos' replicated logs.
//! - [`cap`]: the CAP theorem as a run.
//! - [`consistency`]: histories of what clients saw (invoke, complete or
//!   never returned), models of the replicated object (register, CAS
//!   register, key-value map, FIFO queue), and checkers for
//!   linearizability and sequential consistency — the correctness
//!   conditions of lecture 9 — that judge any replicated service from the
//!   outside.
//!
//! ```
//! use dsys_replication::consistency::history::History;
//! use dsys_replication::consistency::models::{RegisterOp, RegisterRet};
//!
//! // Client 0 writes 1; client 1 then reads it.
//! let mut history = History::new();
//! history.complete_op(0, 0, 10, RegisterOp::Write(1), RegisterRet::Written);
//! history.complete_op(1, 20, 30, RegisterOp::Read, RegisterRet::Value(Some(1)));
//! assert_eq!(history.len(), 2);
//! ```

#![deny(missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]

pub mod active;
pub mod cap;
pub mod consistency;
mod error;
pub mod kv;
pub mod primary_backup;

pub use error::{Error, Result};
