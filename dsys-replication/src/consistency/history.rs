//! Histories: what the clients of a replicated service saw.
//!
//! An [`Operation`] is one call by one client: when it was invoked, when it
//! completed (or `None`: it never returned — the client crashed or timed
//! out, so the call may or may not have taken effect, at any time after
//! its invocation), its input, and its output (or `None`: it returned but
//! its result is unknown). A [`History`] is every operation of a run.
//! Times are any non-decreasing count the recorder chooses — virtual
//! nanoseconds in the simulator, line numbers in an imported log: only
//! their order matters.
//!
//! Each client is sequential: it invokes its next operation only after the
//! previous one completed, and an operation that never returned is its
//! client's last ([`History::validate`] checks this).
//!
//! # JSON Lines
//!
//! [`History::write_jsonl`] and [`History::read_jsonl`] store one operation
//! per line, with `input` and `output` in the model's own serde form:
//!
//! ```text
//! {"client":0,"invoke":0,"complete":10,"input":{"write":1},"output":"written"}
//! {"client":1,"invoke":5,"complete":null,"input":"read","output":null}
//! ```
//!
//! # Recording
//!
//! A [`Recorder`] is what clients call as they go: [`Recorder::invoke`]
//! when a call starts, [`Recorder::complete`] when it returns; calls still
//! open at the end stay open.
//!
//! ```
//! use dsys_replication::consistency::history::Recorder;
//! use dsys_replication::consistency::models::{RegisterOp, RegisterRet};
//!
//! let mut recorder = Recorder::new();
//! let write = recorder.invoke(0, 0, RegisterOp::Write(7)).unwrap();
//! let read = recorder.invoke(1, 2, RegisterOp::Read).unwrap();
//! recorder.complete(write, 5, RegisterRet::<i64>::Written).unwrap();
//! // The read never returns (its client crashed).
//! let history = recorder.finish();
//! assert_eq!(history.len(), 2);
//! assert!(history.ops()[read.index()].complete.is_none());
//! ```

use std::collections::HashMap;
use std::fmt;
use std::io::{BufRead, Write};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// One call of one client.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Operation<I, O> {
    /// The client (Jepsen's "process") that made the call.
    pub client: u64,
    /// When the call was invoked.
    pub invoke: u64,
    /// When it completed; `None` if it never returned (it may or may not
    /// have taken effect, at any time after `invoke`).
    pub complete: Option<u64>,
    /// What was asked.
    pub input: I,
    /// What was answered; `None` if unknown (never returned, or returned
    /// without a usable result, such as a read that timed out).
    pub output: Option<O>,
}

impl<I, O> Operation<I, O> {
    /// Whether the call never returned.
    pub fn is_open(&self) -> bool {
        self.complete.is_none()
    }
}

/// The index of an operation in its [`History`], returned by
/// [`Recorder::invoke`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId(usize);

impl OpId {
    /// The position of the operation in [`History::ops`].
    pub fn index(self) -> usize {
        self.0
    }
}

/// Every operation of a run, in invocation order as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct History<I, O> {
    ops: Vec<Operation<I, O>>,
}

impl<I, O> Default for History<I, O> {
    fn default() -> Self {
        History { ops: Vec::new() }
    }
}

impl<I, O> From<Vec<Operation<I, O>>> for History<I, O> {
    fn from(ops: Vec<Operation<I, O>>) -> Self {
        History { ops }
    }
}

impl<I, O> History<I, O> {
    /// An empty history.
    pub fn new() -> Self {
        History::default()
    }

    /// Adds an operation as it is.
    pub fn push(&mut self, op: Operation<I, O>) -> OpId {
        self.ops.push(op);
        OpId(self.ops.len() - 1)
    }

    /// Adds an operation that completed at `complete` with `output`.
    pub fn complete_op(
        &mut self,
        client: u64,
        invoke: u64,
        complete: u64,
        input: I,
        output: O,
    ) -> OpId {
        self.push(Operation {
            client,
            invoke,
            complete: Some(complete),
            input,
            output: Some(output),
        })
    }

    /// Adds an operation that never returned.
    pub fn open_op(&mut self, client: u64, invoke: u64, input: I) -> OpId {
        self.push(Operation {
            client,
            invoke,
            complete: None,
            input,
            output: None,
        })
    }

    /// The operations.
    pub fn ops(&self) -> &[Operation<I, O>] {
        &self.ops
    }

    /// The number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The operations, taken out.
    pub fn into_ops(self) -> Vec<Operation<I, O>> {
        self.ops
    }

    /// Checks the rules every history keeps: no operation completes before
    /// it is invoked; each client's operations do not overlap; an operation
    /// that never returned is its client's last.
    pub fn validate(&self) -> Result<()> {
        // Per client: (index, invoke, complete) of its latest operation.
        let mut last: HashMap<u64, (usize, u64, Option<u64>)> = HashMap::new();
        let mut order: Vec<usize> = (0..self.ops.len()).collect();
        order.sort_by_key(|&i| (self.ops[i].invoke, i));
        for i in order {
            let op = &self.ops[i];
            if let Some(complete) = op.complete
                && complete < op.invoke
            {
                return Err(Error::InvalidHistory(format!(
                        "operation {i} of client {} completes at {complete}, before its invocation at {}",
                        op.client, op.invoke
                    )));
            }
            if let Some(&(previous, _, complete)) = last.get(&op.client) {
                match complete {
                    None => {
                        return Err(Error::InvalidHistory(format!(
                            "client {} invoked operation {i} after operation {previous}, which never returned; \
                             a client that lost a call must continue under a new client id (as Jepsen does)",
                            op.client
                        )))
                    }
                    Some(done) if done > op.invoke => {
                        return Err(Error::InvalidHistory(format!(
                            "client {} invoked operation {i} at {} while operation {previous} was running (until {done}); \
                             a client makes one call at a time",
                            op.client, op.invoke
                        )))
                    }
                    Some(_) => {}
                }
            }
            last.insert(op.client, (i, op.invoke, op.complete));
        }
        Ok(())
    }
}

impl<I: Serialize, O: Serialize> History<I, O> {
    /// Writes the history as JSON Lines, one operation per line.
    pub fn write_jsonl(&self, mut out: impl Write) -> Result<()> {
        for op in &self.ops {
            serde_json::to_writer(&mut out, op).map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }
}

impl<I: DeserializeOwned, O: DeserializeOwned> History<I, O> {
    /// Reads a history written by [`History::write_jsonl`]. Blank lines are
    /// skipped; a malformed line is an error naming its line and column.
    pub fn read_jsonl(input: impl BufRead) -> Result<Self> {
        let mut ops = Vec::new();
        for (n, line) in input.lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let op = serde_json::from_str(&line).map_err(|e| {
                // serde_json ends its message with "at line 1 column N":
                // the line is ours to say.
                let text = e.to_string();
                let text = text.rfind(" at line ").map_or(&text[..], |at| &text[..at]);
                Error::Parse {
                    line: n + 1,
                    column: e.column(),
                    message: format!("not an operation: {text}"),
                }
            })?;
            ops.push(op);
        }
        Ok(History { ops })
    }
}

/// Records a history as clients make their calls.
#[derive(Clone, Debug)]
pub struct Recorder<I, O> {
    history: History<I, O>,
    /// Each client's open call.
    open: HashMap<u64, OpId>,
    /// Calls that failed without effect, left out of the finished history.
    failed: Vec<bool>,
}

impl<I, O> Default for Recorder<I, O> {
    fn default() -> Self {
        Recorder {
            history: History::new(),
            open: HashMap::new(),
            failed: Vec::new(),
        }
    }
}

/// What a [`Recorder`] refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordError(String);

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RecordError {}

impl<I, O> Recorder<I, O> {
    /// A recorder with nothing recorded.
    pub fn new() -> Self {
        Recorder::default()
    }

    /// `client` invokes a call at `time`. Refused while the client has
    /// another call open.
    pub fn invoke(&mut self, client: u64, time: u64, input: I) -> Result<OpId, RecordError> {
        if let Some(open) = self.open.get(&client) {
            return Err(RecordError(format!(
                "client {client} invoked a call while operation {} is open; complete it first, \
                 or continue under a new client id if it was lost",
                open.0
            )));
        }
        let id = self.history.open_op(client, time, input);
        self.open.insert(client, id);
        Ok(id)
    }

    /// The call `op` returned `output` at `time`.
    pub fn complete(&mut self, op: OpId, time: u64, output: O) -> Result<(), RecordError> {
        self.finish_op(op, time, Some(output))
    }

    /// The call `op` returned at `time` without a usable result (a read
    /// that timed out, say): the checkers take it to have taken effect
    /// before `time`, its result unchecked (as Porcupine treats Jepsen's
    /// `:fail :read :timed-out`). A call that may not have taken effect at
    /// all is one that never returned: leave it open.
    pub fn complete_unknown(&mut self, op: OpId, time: u64) -> Result<(), RecordError> {
        self.finish_op(op, time, None)
    }

    /// The call `op` failed at `time` and certainly had no effect (a
    /// request refused before it reached the replicated state, such as a
    /// follower's "not the leader"): Jepsen's `:fail`. It is left out of the
    /// finished history, and its client may make its next call.
    pub fn fail(&mut self, op: OpId, time: u64) -> Result<(), RecordError> {
        self.finish_op(op, time, None)?;
        if self.failed.len() <= op.0 {
            self.failed.resize(op.0 + 1, false);
        }
        self.failed[op.0] = true;
        Ok(())
    }

    /// `client`'s open call, if it has one.
    pub fn open_call(&self, client: u64) -> Option<OpId> {
        self.open.get(&client).copied()
    }

    fn finish_op(&mut self, op: OpId, time: u64, output: Option<O>) -> Result<(), RecordError> {
        let Some(entry) = self.history.ops.get_mut(op.0) else {
            return Err(RecordError(format!("no operation {}", op.0)));
        };
        if self.open.get(&entry.client) != Some(&op) {
            return Err(RecordError(format!("operation {} is not open", op.0)));
        }
        if time < entry.invoke {
            return Err(RecordError(format!(
                "operation {} cannot complete at {time}, before its invocation at {}",
                op.0, entry.invoke
            )));
        }
        entry.complete = Some(time);
        entry.output = output;
        self.open.remove(&entry.client);
        Ok(())
    }

    /// The history so far; calls still open stay open (never returned).
    pub fn finish(self) -> History<I, O> {
        let failed = self.failed;
        let ops = self
            .history
            .ops
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !failed.get(*i).copied().unwrap_or(false))
            .map(|(_, op)| op)
            .collect();
        History { ops }
    }

    /// The history so far, without ending the recording.
    pub fn history(&self) -> &History<I, O> {
        &self.history
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type H = History<u8, u8>;

    #[test]
    fn overlapping_calls_of_one_client_are_invalid() {
        let mut h = H::new();
        h.complete_op(0, 0, 10, 1, 1);
        h.complete_op(0, 5, 12, 2, 2);
        let error = h.validate().unwrap_err().to_string();
        assert!(error.contains("one call at a time"), "{error}");
    }

    #[test]
    fn a_call_after_a_lost_one_is_invalid_and_completion_before_invocation_too() {
        let mut h = H::new();
        h.open_op(0, 0, 1);
        h.complete_op(0, 5, 12, 2, 2);
        assert!(h
            .validate()
            .unwrap_err()
            .to_string()
            .contains("never returned"));
        let mut h = H::new();
        h.complete_op(0, 5, 4, 2, 2);
        assert!(h
            .validate()
            .unwrap_err()
            .to_string()
            .contains("before its invocation"));
    }

    #[test]
    fn sequential_clients_are_valid() {
        let mut h = H::new();
        h.complete_op(0, 0, 10, 1, 1);
        h.complete_op(1, 5, 7, 1, 1);
        h.complete_op(0, 10, 12, 2, 2);
        h.open_op(1, 8, 3);
        h.validate().unwrap();
    }

    #[test]
    fn jsonl_round_trips_and_reports_the_bad_line() {
        let mut h = H::new();
        h.complete_op(0, 0, 10, 1, 2);
        h.open_op(1, 3, 4);
        let mut bytes = Vec::new();
        h.write_jsonl(&mut bytes).unwrap();
        assert_eq!(H::read_jsonl(bytes.as_slice()).unwrap(), h);
        let bad = b"{\"client\":0,\"invoke\":0,\"complete\":1,\"input\":1,\"output\":1}\n\n{\"client\": oops}\n";
        match H::read_jsonl(&bad[..]).unwrap_err() {
            Error::Parse { line, column, .. } => assert_eq!((line, column), (3, 12)),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn the_recorder_refuses_what_a_history_cannot_hold() {
        let mut r: Recorder<u8, u8> = Recorder::new();
        let a = r.invoke(0, 5, 1).unwrap();
        assert!(r.invoke(0, 6, 2).is_err(), "one open call per client");
        assert!(
            r.complete(a, 4, 1).is_err(),
            "no completion before invocation"
        );
        r.complete(a, 7, 1).unwrap();
        assert!(r.complete(a, 8, 1).is_err(), "completes once");
        let b = r.invoke(0, 9, 2).unwrap();
        r.complete_unknown(b, 10).unwrap();
        let c = r.invoke(0, 11, 3).unwrap();
        assert_eq!(r.open_call(0), Some(c));
        r.fail(c, 12).unwrap();
        assert_eq!(r.open_call(0), None);
        assert!(r.fail(c, 13).is_err(), "fails once");
        let h = r.finish();
        h.validate().unwrap();
        assert_eq!(h.len(), 2, "the failed call is left out");
        assert_eq!(h.ops()[1].output, None);
        assert_eq!(h.ops()[1].complete, Some(10));
    }
}
