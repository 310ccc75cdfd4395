//! The application Raft replicates: the [`StateMachine`] trait, and two
//! small machines for examples, tests and benchmarks ([`Counter`],
//! [`AppendLog`]).

use std::fmt::Debug;
use std::hash::Hash;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::types::LogIndex;

/// A deterministic state machine, the same on every server: applied to the
/// same commands in the same order, every copy reaches the same state and
/// gives the same outputs (Raft §5, "replicated state machines").
///
/// `apply` must be deterministic: no clock, randomness or I/O that could
/// differ between servers.
pub trait StateMachine: Send + 'static {
    /// A command that changes the state.
    type Command: Clone
        + Debug
        + PartialEq
        + Eq
        + Hash
        + Send
        + Serialize
        + DeserializeOwned
        + 'static;
    /// A read-only question, answered by [`StateMachine::query`] through a
    /// linearizable read ([`super::RaftRequest::Read`]).
    type Query: Clone + Debug + Send + 'static;
    /// What a command or a query returns. Kept in client sessions, so it is
    /// part of snapshots.
    type Output: Clone + Debug + PartialEq + Send + Serialize + DeserializeOwned + 'static;

    /// Applies the committed command at `index`.
    fn apply(&mut self, index: LogIndex, command: &Self::Command) -> Self::Output;
    /// Answers a query from the current state.
    fn query(&self, query: &Self::Query) -> Self::Output;
    /// The whole state, encoded (for a snapshot).
    fn snapshot(&self) -> Vec<u8>;
    /// Replaces the state with a snapshot's. `Err` says why the bytes are
    /// not a snapshot of this machine.
    fn restore(&mut self, snapshot: &[u8]) -> Result<(), String>;
}

/// A counter: each command adds to it; the output is the new value. The
/// benchmark's state machine.
///
/// ```
/// use dsys_consensus::raft::{Counter, StateMachine};
///
/// let mut counter = Counter::default();
/// assert_eq!(counter.apply(1, &5), 5);
/// assert_eq!(counter.apply(2, &2), 7);
/// assert_eq!(counter.query(&()), 7);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Counter {
    /// The current value.
    pub value: u64,
}

impl StateMachine for Counter {
    type Command = u64;
    type Query = ();
    type Output = u64;

    fn apply(&mut self, _index: LogIndex, add: &u64) -> u64 {
        self.value = self.value.wrapping_add(*add);
        self.value
    }

    fn query(&self, _: &()) -> u64 {
        self.value
    }

    fn snapshot(&self) -> Vec<u8> {
        self.value.to_le_bytes().to_vec()
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), String> {
        let bytes: [u8; 8] = snapshot
            .try_into()
            .map_err(|_| format!("a counter snapshot is 8 bytes, got {}", snapshot.len()))?;
        self.value = u64::from_le_bytes(bytes);
        Ok(())
    }
}

/// A log of strings: each command appends one; the output is its position.
/// What `dsys node --algorithm raft` replicates, and what the examples
/// print, because a person can read it.
///
/// ```
/// use dsys_consensus::raft::{AppendLog, StateMachine};
///
/// let mut log = AppendLog::default();
/// assert_eq!(log.apply(1, &"x=1".to_string()), 1);
/// assert_eq!(log.query(&AppendLogQuery::Len), 1);
/// # use dsys_consensus::raft::AppendLogQuery;
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AppendLog {
    /// The values, in commit order.
    pub values: Vec<String>,
}

/// A question to an [`AppendLog`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AppendLogQuery {
    /// How many values there are.
    Len,
}

impl StateMachine for AppendLog {
    type Command = String;
    type Query = AppendLogQuery;
    type Output = u64;

    fn apply(&mut self, _index: LogIndex, value: &String) -> u64 {
        self.values.push(value.clone());
        self.values.len() as u64
    }

    fn query(&self, query: &AppendLogQuery) -> u64 {
        match query {
            AppendLogQuery::Len => self.values.len() as u64,
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        postcard::to_allocvec(&self.values).expect("a Vec<String> always encodes")
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), String> {
        self.values = postcard::from_bytes(snapshot).map_err(|e| e.to_string())?;
        Ok(())
    }
}
