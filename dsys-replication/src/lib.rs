//! # dsys-replication
//!
//! Replication and how to judge it.
//!
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

pub mod consistency;
mod error;

pub use error::{Error, Result};
