//! Importers (and exporters) for Jepsen's history logs, so histories from
//! real Jepsen runs — and the Knossos and Porcupine test corpora — can be
//! checked here.
//!
//! # The etcd log: a CAS register
//!
//! Jepsen's etcd test logs every operation through `jepsen.util`, one line
//! each, with the logger prefix; after the prefix come four tab-separated
//! fields — process, type, function, value (the tabs are shown as spaces
//! here; runs of spaces are read as separators too):
//!
//! ```text
//! INFO  jepsen.util - 2  :invoke  :cas  [3 0]
//! INFO  jepsen.util - 2  :ok  :cas  [3 0]
//! INFO  jepsen.util - 1  :fail  :cas  [0 3]
//! INFO  jepsen.util - 0  :invoke  :read  nil
//! INFO  jepsen.util - 0  :ok  :read  4
//! INFO  jepsen.util - 3  :fail  :read  :timed-out
//! INFO  jepsen.util - 4  :info  :write  :timed-out
//! ```
//!
//! [`read_etcd_log`] turns it into a history of [`RegisterOp<i64>`] and
//! [`RegisterRet<i64>`] with the etcd test's meaning:
//!
//! | line | becomes |
//! |---|---|
//! | `:invoke :read nil`, `:invoke :write 4`, `:invoke :cas [3 0]` | [`RegisterOp::Read`], [`RegisterOp::Write`]`(4)`, [`RegisterOp::Cas`]` { expect: 3, new: 0 }` |
//! | `:ok :read 4` / `:ok :read nil` | completed, [`RegisterRet::Value`]`(Some(4))` / `(None)` (`nil` is the absent value) |
//! | `:ok :write 4` | completed, [`RegisterRet::Written`] |
//! | `:ok :cas [3 0]` | completed, [`RegisterRet::Cas`]`(true)` |
//! | `:fail :cas [3 0]` | completed, [`RegisterRet::Cas`]`(false)`: the compare failed |
//! | `:fail :cas :timed-out` (an error keyword instead of the pair) | **dropped**: it did not take effect, and it says nothing about the compare |
//! | `:fail :read …` (`:timed-out`) | completed, output unknown (`None`): a read has no effect, so only its interval remains |
//! | `:fail :write …` | **dropped**: in Jepsen `:fail` means the operation certainly did not take effect, and a write that did not happen constrains nothing |
//! | `:info …`, or an invoke never completed | open until the end (`complete: None`): it may or may not have taken effect |
//!
//! Times are line numbers: only their order matters. A completion must
//! repeat its invocation's function, and an `:ok` write or cas its value.
//! Lines of the `:nemesis` process (fault injection, not a client) are
//! skipped, and so is every line that is not an `INFO` line of the
//! `jepsen.util` logger (other log output, stack traces, blank lines). A
//! `jepsen.util` line that is malformed is an [`Error::Parse`] naming the
//! line, the column and what was expected there — never silently skipped.
//!
//! ```
//! use dsys_replication::consistency::jepsen::read_etcd_log;
//! use dsys_replication::consistency::models::{RegisterOp, RegisterRet};
//!
//! let log = "INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0]\n\
//!            INFO  jepsen.util - 0\t:invoke\t:read\tnil\n\
//!            INFO  jepsen.util - 2\t:fail\t:cas\t[3 0]\n\
//!            INFO  jepsen.util - 0\t:ok\t:read\tnil\n";
//! let history = read_etcd_log(log.as_bytes())?;
//! let cas = &history.ops()[0];
//! assert_eq!((cas.client, cas.invoke, cas.complete), (2, 1, Some(3)));
//! assert_eq!(cas.input, RegisterOp::Cas { expect: 3, new: 0 });
//! assert_eq!(cas.output, Some(RegisterRet::Cas(false)));
//! assert_eq!(history.ops()[1].output, Some(RegisterRet::Value(None)));
//! # Ok::<(), dsys_replication::Error>(())
//! ```
//!
//! # EDN map lines: a key-value map
//!
//! Jepsen's histories are also written as one EDN map per line:
//!
//! ```text
//! {:process 0, :type :invoke, :f :append, :key "0", :value "x 0 0 y"}
//! {:process 0, :type :ok, :f :append, :key "0", :value "x 0 0 y"}
//! {:process 1, :type :invoke, :f :get, :key "0", :value nil}
//! {:process 1, :type :ok, :f :get, :key "0", :value "x 0 0 y"}
//! ```
//!
//! [`read_kv_edn`] turns them into a history of [`KvOp`] and [`KvRet`]:
//! `:f` is `:get`, `:put`, `:append` or `:cas` (value `[expect new]`);
//! `:key` is a string (an integer key is taken as its decimal digits);
//! an `:ok :get` of `nil` reads the absent value `""`. `:fail` and `:info`
//! mean what they mean in the etcd log: a failed get has an unknown
//! result, a failed put or append is dropped, a failed cas with its
//! `[expect new]` returned false (with `nil` or an error keyword instead,
//! it is dropped), `:info` leaves the operation open. Other keys (`:time`, `:index`,
//! `:error`, …) are read and ignored. Blank lines and `;` comments are
//! skipped; every other line must be a map.
//!
//! The reader understands the EDN these lines use — `nil`, `true`/`false`,
//! integers, floats, strings with escapes, keywords, symbols, vectors,
//! lists, sets and maps — and nothing more (no tagged literals, no
//! characters). It is small and ours on purpose: no Rust EDN crate is
//! the clear, maintained standard, and a hand-written reader gives the
//! exact line-and-column errors a person needs to fix a file.
//!
//! # Writing
//!
//! [`write_etcd_log`] and [`write_kv_edn`] write a history back in these
//! formats, one line per event in time order, so a history read and
//! written and read again is the same.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufRead, Write};

use super::history::{History, Operation};
use super::models::{KvOp, KvRet, RegisterOp, RegisterRet};
use crate::{Error, Result};

mod edn;

use edn::{Edn, EdnReader, Node};

/// The prefix [`write_etcd_log`] puts before each record: Jepsen's
/// `INFO  jepsen.util - `.
pub const ETCD_LOG_PREFIX: &str = "INFO  jepsen.util - ";

/// The deepest nesting of vectors and maps the EDN reader follows: deeper
/// input is an error, not a stack overflow.
const EDN_DEPTH_MAX: usize = 64;

// ---------------------------------------------------------------------------
// Reading lines
// ---------------------------------------------------------------------------

/// Calls `each(line_number, line)` for every line of `input`, numbered from
/// 1, without its line ending. A line that is not UTF-8 is a parse error.
fn for_each_line(
    mut input: impl BufRead,
    mut each: impl FnMut(usize, &str) -> Result<()>,
) -> Result<()> {
    let mut buffer = Vec::new();
    let mut number = 0;
    loop {
        buffer.clear();
        if input.read_until(b'\n', &mut buffer)? == 0 {
            return Ok(());
        }
        number += 1;
        while matches!(buffer.last(), Some(b'\n' | b'\r')) {
            buffer.pop();
        }
        let line = std::str::from_utf8(&buffer).map_err(|e| Error::Parse {
            line: number,
            column: String::from_utf8_lossy(&buffer[..e.valid_up_to()])
                .chars()
                .count()
                + 1,
            message: "not UTF-8 text: expected a text history".into(),
        })?;
        each(number, line)?;
    }
}

/// The 1-based column of byte offset `at` in `line`.
fn column(line: &str, at: usize) -> usize {
    line.get(..at).map_or(at, |before| before.chars().count()) + 1
}

// ---------------------------------------------------------------------------
// Building a history from completions
// ---------------------------------------------------------------------------

/// Jepsen's operation types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Type {
    Invoke,
    Ok,
    Fail,
    Info,
}

impl Type {
    fn keyword(self) -> &'static str {
        match self {
            Type::Invoke => ":invoke",
            Type::Ok => ":ok",
            Type::Fail => ":fail",
            Type::Info => ":info",
        }
    }

    fn parse(keyword: &str) -> Option<Type> {
        Some(match keyword {
            "invoke" => Type::Invoke,
            "ok" => Type::Ok,
            "fail" => Type::Fail,
            "info" => Type::Info,
            _ => return None,
        })
    }
}

/// What a completion line does to its operation.
enum Outcome<O> {
    /// Completed with this output (`None`: unknown).
    Complete(Option<O>),
    /// Did not take effect: removed from the history.
    Drop,
    /// May or may not have taken effect: left open.
    Open,
}

/// The operations read so far, and each process's open invocation.
struct Builder<I, O> {
    /// `None`: dropped (a `:fail` that did not take effect).
    ops: Vec<Option<Operation<I, O>>>,
    /// Process → (operation index, line of its invocation).
    open: HashMap<u64, (usize, usize)>,
    /// Process → the line where its operation was left open by `:info`.
    lost: HashMap<u64, usize>,
}

impl<I, O> Builder<I, O> {
    fn new() -> Self {
        Builder {
            ops: Vec::new(),
            open: HashMap::new(),
            lost: HashMap::new(),
        }
    }

    fn invoke(&mut self, process: u64, line: usize, input: I) -> Result<(), String> {
        if let Some((_, invoked)) = self.open.get(&process) {
            return Err(format!(
                "process {process} invokes again while its operation from line {invoked} is still \
                 running: expected its :ok, :fail or :info first"
            ));
        }
        if let Some(info) = self.lost.get(&process) {
            return Err(format!(
                "process {process} invokes again after its operation ended in :info on line {info} \
                 (it may still take effect): Jepsen continues under a new process number"
            ));
        }
        self.open.insert(process, (self.ops.len(), line));
        self.ops.push(Some(Operation {
            client: process,
            invoke: line as u64,
            complete: None,
            input,
            output: None,
        }));
        Ok(())
    }

    /// The open invocation of `process`, with its line.
    fn invoked(&self, process: u64) -> Result<(&I, usize), String> {
        let Some(&(index, line)) = self.open.get(&process) else {
            return Err(match self.lost.get(&process) {
                Some(info) => format!(
                    "process {process} has no running operation (its last one ended in :info on \
                     line {info}): expected an :invoke first"
                ),
                None => {
                    format!("process {process} has no running operation: expected an :invoke first")
                }
            });
        };
        match &self.ops[index] {
            Some(op) => Ok((&op.input, line)),
            None => Err(format!("process {process} has no running operation")),
        }
    }

    fn finish_op(&mut self, process: u64, line: usize, outcome: Outcome<O>) {
        let Some((index, _)) = self.open.remove(&process) else {
            return;
        };
        match outcome {
            Outcome::Complete(output) => {
                if let Some(op) = &mut self.ops[index] {
                    op.complete = Some(line as u64);
                    op.output = output;
                }
            }
            Outcome::Drop => self.ops[index] = None,
            Outcome::Open => {
                self.lost.insert(process, line);
            }
        }
    }

    fn finish(self) -> History<I, O> {
        History::from(self.ops.into_iter().flatten().collect::<Vec<_>>())
    }
}

fn parse_error(line: usize, text: &str, at: usize, message: impl Into<String>) -> Error {
    Error::Parse {
        line,
        column: column(text, at),
        message: message.into(),
    }
}

// ---------------------------------------------------------------------------
// The etcd log
// ---------------------------------------------------------------------------

/// Where the record starts, if `line` is an `INFO` line of `jepsen.util`:
/// `[anything, such as a timestamp, then whitespace] INFO <spaces>
/// jepsen.util - <record>`.
fn etcd_record_start(line: &str) -> Option<usize> {
    const LOGGER: &str = "jepsen.util - ";
    let mut from = 0;
    while let Some(found) = line[from..].find(LOGGER) {
        let at = from + found;
        let before = &line[..at];
        let level = before.trim_end();
        if before.len() > level.len() && level.ends_with("INFO") {
            let level_start = level.len() - "INFO".len();
            if level[..level_start]
                .chars()
                .next_back()
                .is_none_or(char::is_whitespace)
            {
                return Some(at + LOGGER.len());
            }
        }
        from = at + LOGGER.len();
    }
    None
}

/// Reads a Jepsen etcd log (see the [module docs](self)) into a CAS
/// register history. Errors name the line and column of the first
/// malformed `jepsen.util` line and what was expected there.
pub fn read_etcd_log(input: impl BufRead) -> Result<History<RegisterOp<i64>, RegisterRet<i64>>> {
    let mut builder = Builder::new();
    for_each_line(input, |number, line| {
        let Some(start) = etcd_record_start(line) else {
            return Ok(());
        };
        etcd_line(&mut builder, number, line, start)
    })?;
    Ok(builder.finish())
}

/// The four fields of a record, with their byte offsets. Jepsen separates
/// them with tabs; runs of spaces are accepted too (logs that passed
/// through tools that expand tabs), as Porcupine's reader accepts any
/// whitespace. The value, last, is the rest of the line (`[3 0]` holds a
/// space).
fn etcd_fields(number: usize, line: &str, start: usize) -> Result<[(usize, &str); 4], Error> {
    const EXPECTED: [&str; 4] = [
        "a process number",
        "the type (:invoke, :ok, :fail or :info)",
        "the function (:read, :write or :cas)",
        "the value (nil, an integer, [expect new] or a keyword such as :timed-out)",
    ];
    let mut fields = [(start, ""); 4];
    let mut at = start;
    for (i, field) in fields.iter_mut().enumerate() {
        let rest = &line[at..];
        let end = if i == 3 {
            rest.trim_end().len()
        } else {
            match rest.find(char::is_whitespace) {
                Some(end) if end > 0 => end,
                _ => {
                    let message = if rest.trim().is_empty() && i == 0 {
                        format!("expected {} after \"jepsen.util - \"", EXPECTED[0])
                    } else {
                        format!(
                            "expected a tab and then {} after {:?}",
                            EXPECTED[i + 1],
                            rest.trim_end()
                        )
                    };
                    return Err(parse_error(number, line, line.len(), message));
                }
            }
        };
        let text = &rest[..end];
        if text.is_empty() {
            return Err(parse_error(
                number,
                line,
                at,
                format!("expected {}, found nothing", EXPECTED[i]),
            ));
        }
        *field = (at, text);
        // The separator: one run of whitespace.
        at += end;
        at += line[at..].len() - line[at..].trim_start().len();
    }
    Ok(fields)
}

fn etcd_line(
    builder: &mut Builder<RegisterOp<i64>, RegisterRet<i64>>,
    number: usize,
    line: &str,
    start: usize,
) -> Result<()> {
    let error = |at: usize, message: String| parse_error(number, line, at, message);
    let [(process_at, process), (type_at, kind), (f_at, f), (value_at, value)] =
        etcd_fields(number, line, start)?;
    if process == ":nemesis" {
        return Ok(());
    }
    let process: u64 = process.parse().map_err(|_| {
        error(
            process_at,
            format!("expected a process number (or :nemesis), found {process:?}"),
        )
    })?;
    let kind = kind
        .strip_prefix(':')
        .and_then(Type::parse)
        .ok_or_else(|| {
            error(
                type_at,
                format!("expected the type :invoke, :ok, :fail or :info, found {kind:?}"),
            )
        })?;
    if !matches!(f, ":read" | ":write" | ":cas") {
        return Err(error(
            f_at,
            format!("expected the function :read, :write or :cas, found {f:?}"),
        ));
    }
    let value = EdnReader::new(value)
        .read_only()
        .map_err(|e| error(value_at + e.at, e.message))?;
    let value_error = |expected: &str| {
        error(
            value_at + value.at,
            format!(
                "expected {expected} for {} {f}, found {}",
                kind.keyword(),
                value.edn.describe()
            ),
        )
    };
    if kind == Type::Invoke {
        let input = match (f, &value.edn) {
            (":read", Edn::Nil) => RegisterOp::Read,
            (":read", _) => return Err(value_error("nil (a read is invoked without a value)")),
            (":write", Edn::Int(v)) => RegisterOp::Write(*v),
            (":write", _) => return Err(value_error("the integer written")),
            (_, edn) => match cas_pair(edn) {
                Some((expect, new)) => RegisterOp::Cas { expect, new },
                None => return Err(value_error("[expect new], two integers")),
            },
        };
        return builder
            .invoke(process, number, input)
            .map_err(|message| error(process_at, message));
    }
    let (input, invoked_line) = builder
        .invoked(process)
        .map_err(|message| error(process_at, message))?;
    let invoked_f = match input {
        RegisterOp::Read => ":read",
        RegisterOp::Write(_) => ":write",
        RegisterOp::Cas { .. } => ":cas",
    };
    if f != invoked_f {
        return Err(error(
            f_at,
            format!("expected {invoked_f}, the function process {process} invoked on line {invoked_line}, found {f}"),
        ));
    }
    // A completion repeats the value invoked, except for reads (their
    // result) and error keywords such as :timed-out.
    let echoed = |expected: String| {
        error(
            value_at + value.at,
            format!(
                "expected {expected}, the value invoked on line {invoked_line}, found {}",
                value.edn.describe()
            ),
        )
    };
    let outcome = match (kind, input, &value.edn) {
        (Type::Info, _, _) => Outcome::Open,
        (Type::Ok, RegisterOp::Read, Edn::Nil) => Outcome::Complete(Some(RegisterRet::Value(None))),
        (Type::Ok, RegisterOp::Read, Edn::Int(v)) => {
            Outcome::Complete(Some(RegisterRet::Value(Some(*v))))
        }
        (Type::Ok, RegisterOp::Read, _) => {
            return Err(value_error("the value read: nil or an integer"))
        }
        (Type::Ok, RegisterOp::Write(v), edn) => {
            if *edn != Edn::Int(*v) {
                return Err(echoed(v.to_string()));
            }
            Outcome::Complete(Some(RegisterRet::Written))
        }
        (Type::Ok | Type::Fail, RegisterOp::Cas { expect, new }, edn) => {
            if cas_pair(edn) == Some((*expect, *new)) {
                Outcome::Complete(Some(RegisterRet::Cas(kind == Type::Ok)))
            } else if kind == Type::Fail && matches!(edn, Edn::Keyword(_)) {
                // An error such as :timed-out, not a failed compare: it
                // did not take effect, and says nothing about the value.
                Outcome::Drop
            } else {
                return Err(echoed(format!("[{expect} {new}]")));
            }
        }
        (Type::Fail, RegisterOp::Read, _) => Outcome::Complete(None),
        (Type::Fail, RegisterOp::Write(_), _) => Outcome::Drop,
        (Type::Invoke, _, _) => Outcome::Open,
    };
    builder.finish_op(process, number, outcome);
    Ok(())
}

fn cas_pair(edn: &Edn) -> Option<(i64, i64)> {
    match edn {
        Edn::Vector(items) => match items.as_slice() {
            [Node {
                edn: Edn::Int(expect),
                ..
            }, Node {
                edn: Edn::Int(new), ..
            }] => Some((*expect, *new)),
            _ => None,
        },
        _ => None,
    }
}

/// One event of a history to write: the line it goes at, and what it says.
struct Event {
    /// Sort key: time, then completions (0) before invocations (1) before
    /// completions of operations that took no time (2).
    key: (u64, u8, usize),
    op: usize,
    invoke: bool,
}

/// Every invocation and completion of `history` in the order to write
/// them: by time; at equal times, completions before invocations (so a
/// client's next call follows its previous one), except that an operation
/// that took no time completes after its own invocation.
fn events<I, O>(history: &History<I, O>) -> Vec<Event> {
    let mut events = Vec::new();
    for (i, op) in history.ops().iter().enumerate() {
        events.push(Event {
            key: (op.invoke, 1, i),
            op: i,
            invoke: true,
        });
        if let Some(complete) = op.complete {
            let rank = if complete == op.invoke { 2 } else { 0 };
            events.push(Event {
                key: (complete, rank, i),
                op: i,
                invoke: false,
            });
        }
    }
    events.sort_by_key(|e| e.key);
    events
}

/// Writes a CAS register history as a Jepsen etcd log that
/// [`read_etcd_log`] reads back: one line per invocation and completion in
/// time order (line numbers replace the times), then an `:info … :timed-out`
/// line for every operation that never returned.
///
/// A completed read with an unknown result is written `:fail :read
/// :timed-out`. A completed write or cas with an unknown result has no
/// form in this format (Jepsen would log it `:info`, which means "never
/// returned"): it is an [`Error::InvalidHistory`], as is an output that
/// does not fit its input.
///
/// ```
/// use dsys_replication::consistency::history::History;
/// use dsys_replication::consistency::jepsen::{read_etcd_log, write_etcd_log};
/// use dsys_replication::consistency::models::{RegisterOp, RegisterRet};
///
/// let mut history = History::new();
/// history.complete_op(0, 1, 3, RegisterOp::Write(4), RegisterRet::Written);
/// history.open_op(1, 2, RegisterOp::Cas { expect: 4, new: 5 });
/// let mut log = Vec::new();
/// write_etcd_log(&history, &mut log)?;
/// assert_eq!(
///     String::from_utf8(log.clone()).unwrap(),
///     "INFO  jepsen.util - 0\t:invoke\t:write\t4\n\
///      INFO  jepsen.util - 1\t:invoke\t:cas\t[4 5]\n\
///      INFO  jepsen.util - 0\t:ok\t:write\t4\n\
///      INFO  jepsen.util - 1\t:info\t:cas\t:timed-out\n"
/// );
/// assert_eq!(read_etcd_log(log.as_slice())?, history);
/// # Ok::<(), dsys_replication::Error>(())
/// ```
pub fn write_etcd_log(
    history: &History<RegisterOp<i64>, RegisterRet<i64>>,
    mut out: impl Write,
) -> Result<()> {
    let record = |op: &Operation<RegisterOp<i64>, RegisterRet<i64>>, kind: &str, value: &str| {
        let f = match op.input {
            RegisterOp::Read => ":read",
            RegisterOp::Write(_) => ":write",
            RegisterOp::Cas { .. } => ":cas",
        };
        format!("{ETCD_LOG_PREFIX}{}\t{kind}\t{f}\t{value}\n", op.client)
    };
    let input_value = |input: &RegisterOp<i64>| match input {
        RegisterOp::Read => "nil".to_string(),
        RegisterOp::Write(v) => v.to_string(),
        RegisterOp::Cas { expect, new } => format!("[{expect} {new}]"),
    };
    let mut text = String::new();
    for event in events(history) {
        let op = &history.ops()[event.op];
        if event.invoke {
            text.push_str(&record(op, ":invoke", &input_value(&op.input)));
            continue;
        }
        let (kind, value) = match (&op.input, &op.output) {
            (RegisterOp::Read, Some(RegisterRet::Value(v))) => (
                ":ok",
                v.map_or_else(|| "nil".to_string(), |v| v.to_string()),
            ),
            (RegisterOp::Read, None) => (":fail", ":timed-out".to_string()),
            (RegisterOp::Write(_), Some(RegisterRet::Written)) => (":ok", input_value(&op.input)),
            (RegisterOp::Cas { .. }, Some(RegisterRet::Cas(ok))) => {
                (if *ok { ":ok" } else { ":fail" }, input_value(&op.input))
            }
            (input, output) => {
                return Err(Error::InvalidHistory(format!(
                    "operation {}: {input:?} completed with {output:?} has no form in the etcd log \
                     (a write or cas that completed must have its answer)",
                    event.op
                )))
            }
        };
        text.push_str(&record(op, kind, &value));
    }
    for op in history.ops().iter().filter(|op| op.is_open()) {
        text.push_str(&record(op, ":info", ":timed-out"));
    }
    out.write_all(text.as_bytes())?;
    Ok(())
}

// ---------------------------------------------------------------------------
// EDN map lines: a key-value map
// ---------------------------------------------------------------------------

/// Reads Jepsen EDN map lines (see the [module docs](self)) into a
/// key-value history. Errors name the line and column of the first
/// malformed line and what was expected there.
///
/// ```
/// use dsys_replication::consistency::jepsen::read_kv_edn;
/// use dsys_replication::consistency::models::{KvOp, KvRet};
///
/// let edn = r#"{:process 0, :type :invoke, :f :put, :key "x", :value "1"}
/// {:process 1, :type :invoke, :f :get, :key "x", :value nil}
/// {:process 0, :type :ok, :f :put, :key "x", :value "1"}
/// {:process 1, :type :ok, :f :get, :key "x", :value nil}
/// "#;
/// let history = read_kv_edn(edn.as_bytes())?;
/// assert_eq!(history.ops()[1].input, KvOp::Get { key: "x".into() });
/// assert_eq!(history.ops()[1].output, Some(KvRet::Value(String::new())), "nil reads as absent");
/// # Ok::<(), dsys_replication::Error>(())
/// ```
pub fn read_kv_edn(input: impl BufRead) -> Result<History<KvOp, KvRet>> {
    let mut builder = Builder::new();
    for_each_line(input, |number, line| {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with(';') {
            return Ok(());
        }
        kv_line(&mut builder, number, line)
    })?;
    Ok(builder.finish())
}

fn kv_line(builder: &mut Builder<KvOp, KvRet>, number: usize, line: &str) -> Result<()> {
    let error = |at: usize, message: String| parse_error(number, line, at, message);
    let node = EdnReader::new(line)
        .read_only()
        .map_err(|e| error(e.at, e.message))?;
    let Edn::Map(map) = &node.edn else {
        return Err(error(
            node.at,
            format!(
                "expected a map such as {{:process 0, :type :invoke, :f :get, :key \"k\", :value nil}}, found {}",
                node.edn.describe()
            ),
        ));
    };
    let get = |name: &str| {
        map.iter()
            .find(|(k, _)| k.edn == Edn::Keyword(name.into()))
            .map(|(_, v)| v)
    };
    let required = |name: &str, expected: &str| {
        get(name).ok_or_else(|| {
            error(
                node.at,
                format!("expected :{name} ({expected}) in the map; it is missing"),
            )
        })
    };
    let wrong = |value: &Node, name: &str, expected: &str| {
        error(
            value.at,
            format!(
                "expected {expected} for :{name}, found {}",
                value.edn.describe()
            ),
        )
    };

    let process = required("process", "a process number")?;
    let process = match &process.edn {
        Edn::Keyword(k) if k == "nemesis" => return Ok(()),
        Edn::Int(p) if *p >= 0 => *p as u64,
        _ => return Err(wrong(process, "process", "a process number (or :nemesis)")),
    };
    let kind_node = required("type", ":invoke, :ok, :fail or :info")?;
    let kind = match &kind_node.edn {
        Edn::Keyword(k) => Type::parse(k),
        _ => None,
    }
    .ok_or_else(|| wrong(kind_node, "type", ":invoke, :ok, :fail or :info"))?;
    let f_node = required("f", ":get, :put, :append, :cas or :delete")?;
    let f = match &f_node.edn {
        Edn::Keyword(k) if matches!(k.as_str(), "get" | "put" | "append" | "cas" | "delete") => {
            k.as_str()
        }
        _ => return Err(wrong(f_node, "f", ":get, :put, :append, :cas or :delete")),
    };
    let key_node = required("key", "a string")?;
    let key = match &key_node.edn {
        Edn::Str(s) => s.clone(),
        Edn::Int(i) => i.to_string(),
        _ => return Err(wrong(key_node, "key", "a string (or an integer)")),
    };
    let value_node = required("value", "a string, nil or [expect new]")?;
    let value = &value_node.edn;

    if kind == Type::Invoke {
        let input = match (f, value) {
            ("get", Edn::Nil) => KvOp::Get { key },
            ("get", _) => {
                return Err(wrong(
                    value_node,
                    "value",
                    "nil (a get is invoked without a value)",
                ))
            }
            ("put", Edn::Str(v)) => KvOp::Put {
                key,
                value: v.clone(),
            },
            ("append", Edn::Str(v)) => KvOp::Append {
                key,
                value: v.clone(),
            },
            ("put" | "append", _) => {
                return Err(wrong(value_node, "value", &format!("the string to {f}")))
            }
            ("delete", Edn::Nil) => KvOp::Delete { key },
            ("delete", _) => {
                return Err(wrong(
                    value_node,
                    "value",
                    "nil (a delete is invoked without a value)",
                ))
            }
            (_, edn) => match string_pair(edn) {
                Some((expect, new)) => KvOp::Cas { key, expect, new },
                None => return Err(wrong(value_node, "value", "[expect new], two strings")),
            },
        };
        return builder
            .invoke(process, number, input)
            .map_err(|message| error(node.at, message));
    }

    let (input, invoked_line) = builder
        .invoked(process)
        .map_err(|message| error(node.at, message))?;
    let (invoked_f, invoked_key) = match input {
        KvOp::Get { key } => ("get", key),
        KvOp::Put { key, .. } => ("put", key),
        KvOp::Append { key, .. } => ("append", key),
        KvOp::Cas { key, .. } => ("cas", key),
        KvOp::Delete { key } => ("delete", key),
    };
    if f != invoked_f {
        return Err(wrong(
            f_node,
            "f",
            &format!(":{invoked_f}, as process {process} invoked on line {invoked_line}"),
        ));
    }
    if key != *invoked_key {
        return Err(wrong(
            key_node,
            "key",
            &format!("{invoked_key:?}, as process {process} invoked on line {invoked_line}"),
        ));
    }
    let echoed = |expected: String| {
        wrong(
            value_node,
            "value",
            &format!("{expected}, the value invoked on line {invoked_line}"),
        )
    };
    let outcome = match (kind, input, value) {
        (Type::Info, _, _) => Outcome::Open,
        (Type::Ok, KvOp::Get { .. }, Edn::Nil) => {
            Outcome::Complete(Some(KvRet::Value(String::new())))
        }
        (Type::Ok, KvOp::Get { .. }, Edn::Str(v)) => {
            Outcome::Complete(Some(KvRet::Value(v.clone())))
        }
        (Type::Ok, KvOp::Get { .. }, _) => {
            return Err(wrong(
                value_node,
                "value",
                "the value read: a string or nil",
            ))
        }
        (Type::Ok, KvOp::Put { value: v, .. } | KvOp::Append { value: v, .. }, edn) => {
            if *edn != Edn::Str(v.clone()) {
                return Err(echoed(format!("{v:?}")));
            }
            Outcome::Complete(Some(KvRet::Done))
        }
        (Type::Ok | Type::Fail, KvOp::Cas { expect, new, .. }, edn) => {
            if string_pair(edn).is_some_and(|(e, n)| e == *expect && n == *new) {
                Outcome::Complete(Some(KvRet::Cas(kind == Type::Ok)))
            } else if kind == Type::Fail && matches!(edn, Edn::Keyword(_) | Edn::Nil) {
                // An error, not a failed compare: it did not take effect.
                Outcome::Drop
            } else {
                return Err(echoed(format!("[{expect:?} {new:?}]")));
            }
        }
        (Type::Ok, KvOp::Delete { .. }, Edn::Nil) => Outcome::Complete(Some(KvRet::Done)),
        (Type::Ok, KvOp::Delete { .. }, _) => return Err(echoed("nil".to_string())),
        (Type::Fail, KvOp::Get { .. }, _) => Outcome::Complete(None),
        (Type::Fail, KvOp::Put { .. } | KvOp::Append { .. } | KvOp::Delete { .. }, _) => {
            Outcome::Drop
        }
        (Type::Invoke, _, _) => Outcome::Open,
    };
    builder.finish_op(process, number, outcome);
    Ok(())
}

fn string_pair(edn: &Edn) -> Option<(String, String)> {
    match edn {
        Edn::Vector(items) => match items.as_slice() {
            [Node {
                edn: Edn::Str(expect),
                ..
            }, Node {
                edn: Edn::Str(new), ..
            }] => Some((expect.clone(), new.clone())),
            _ => None,
        },
        _ => None,
    }
}

/// `s` as an EDN string literal.
fn edn_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Writes a key-value history as Jepsen EDN map lines that [`read_kv_edn`]
/// reads back: one line per invocation and completion in time order (line
/// numbers replace the times), then an `:info` line for every operation
/// that never returned. A get with an unknown result is written `:fail`; a
/// put or append that completed with an unknown result has no form in
/// this format and is an [`Error::InvalidHistory`], as is an output that
/// does not fit its input. A get that read `""` is written `""` (the
/// reader also takes `nil` for it).
///
/// ```
/// use dsys_replication::consistency::history::History;
/// use dsys_replication::consistency::jepsen::{read_kv_edn, write_kv_edn};
/// use dsys_replication::consistency::models::{KvOp, KvRet};
///
/// let mut history = History::new();
/// let append = KvOp::Append { key: "0".into(), value: "x 0 0 y".into() };
/// history.complete_op(0, 1, 2, append, KvRet::Done);
/// let mut edn = Vec::new();
/// write_kv_edn(&history, &mut edn)?;
/// assert_eq!(
///     String::from_utf8(edn.clone()).unwrap(),
///     "{:process 0, :type :invoke, :f :append, :key \"0\", :value \"x 0 0 y\"}\n\
///      {:process 0, :type :ok, :f :append, :key \"0\", :value \"x 0 0 y\"}\n"
/// );
/// assert_eq!(read_kv_edn(edn.as_slice())?, history);
/// # Ok::<(), dsys_replication::Error>(())
/// ```
pub fn write_kv_edn(history: &History<KvOp, KvRet>, mut out: impl Write) -> Result<()> {
    let record = |op: &Operation<KvOp, KvRet>, kind: &str, value: &str| {
        let (f, key) = match &op.input {
            KvOp::Get { key } => ("get", key),
            KvOp::Put { key, .. } => ("put", key),
            KvOp::Append { key, .. } => ("append", key),
            KvOp::Cas { key, .. } => ("cas", key),
            KvOp::Delete { key } => ("delete", key),
        };
        format!(
            "{{:process {}, :type {kind}, :f :{f}, :key {}, :value {value}}}\n",
            op.client,
            edn_string(key)
        )
    };
    let input_value = |input: &KvOp| match input {
        KvOp::Get { .. } | KvOp::Delete { .. } => "nil".to_string(),
        KvOp::Put { value, .. } | KvOp::Append { value, .. } => edn_string(value),
        KvOp::Cas { expect, new, .. } => format!("[{} {}]", edn_string(expect), edn_string(new)),
    };
    let mut text = String::new();
    for event in events(history) {
        let op = &history.ops()[event.op];
        if event.invoke {
            text.push_str(&record(op, ":invoke", &input_value(&op.input)));
            continue;
        }
        let (kind, value) = match (&op.input, &op.output) {
            (KvOp::Get { .. }, Some(KvRet::Value(v))) => (":ok", edn_string(v)),
            (KvOp::Get { .. }, None) => (":fail", "nil".to_string()),
            (KvOp::Put { .. } | KvOp::Append { .. } | KvOp::Delete { .. }, Some(KvRet::Done)) => {
                (":ok", input_value(&op.input))
            }
            (KvOp::Cas { .. }, Some(KvRet::Cas(ok))) => {
                (if *ok { ":ok" } else { ":fail" }, input_value(&op.input))
            }
            (input, output) => {
                return Err(Error::InvalidHistory(format!(
                    "operation {}: {input:?} completed with {output:?} has no form in Jepsen's EDN \
                     (a put, append or cas that completed must have its answer)",
                    event.op
                )))
            }
        };
        text.push_str(&record(op, kind, &value));
    }
    for op in history.ops().iter().filter(|op| op.is_open()) {
        text.push_str(&record(op, ":info", &input_value(&op.input)));
    }
    out.write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_info_lines_of_jepsen_util_are_records() {
        assert_eq!(etcd_record_start("INFO  jepsen.util - 2\t:ok"), Some(20));
        assert_eq!(
            etcd_record_start("2014-06-03 14:16:45,148{GMT}\tINFO  jepsen.util - 2"),
            Some(49)
        );
        assert_eq!(etcd_record_start("DEBUG jepsen.util - 2\t:ok"), None);
        assert_eq!(etcd_record_start("INFO  jepsen.core - Run complete"), None);
        assert_eq!(
            etcd_record_start("\tat jepsen.util$timeout.invoke(util.clj:1)"),
            None
        );
        assert_eq!(etcd_record_start("XINFO jepsen.util - 2"), None);
    }
}
