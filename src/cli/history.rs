//! `dsys history check`: judge a recorded history — JSON Lines, a Jepsen
//! etcd log or Jepsen EDN maps — for linearizability (or sequential
//! consistency) against a model, print the verdict, and draw it as HTML.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::replication::consistency::history::History;
use crate::replication::consistency::model::Model;
use crate::replication::consistency::models::{
    CasRegister, Kv, KvOp, KvRet, Queue, QueueOp, QueueRet, Register, RegisterOp, RegisterRet,
};
use crate::replication::consistency::report::{Budget, Verdict};
use crate::replication::consistency::{check_linearizable, check_sequential};
use crate::replication::consistency::{html, jepsen};
use crate::replication::Error;
use anyhow::{bail, Context as _};
use clap::{Args, Subcommand, ValueEnum};

/// The exit codes of `dsys history check`, for `--help`.
const EXIT_CODES: &str = "\
Exit codes:
  0  the property holds (a witness order exists)
  1  the property is violated
  2  error: unreadable or malformed file, wrong model for the file, bad arguments
  3  unknown: the budget ran out before the search ended (raise --budget-steps)";

/// Exit code: the property is violated.
const EXIT_VIOLATED: u8 = 1;
/// Exit code: the budget ran out.
const EXIT_UNKNOWN: u8 = 3;

#[derive(Debug, Subcommand)]
pub(crate) enum HistoryCommand {
    /// Check a recorded history for linearizability (or, with --sequential,
    /// sequential consistency) against a model; print the verdict, the
    /// smallest failing set of operations and the longest order the model
    /// accepts; optionally draw it all as a self-contained HTML page.
    #[command(after_help = EXIT_CODES)]
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The sequential object the history is judged against. Values are
    /// integers (register, cas-register, queue) or strings (kv).
    #[arg(long, value_enum)]
    model: ModelName,
    /// The history file.
    file: PathBuf,
    /// The file's format (default: guessed from its content).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Check sequential consistency (each client's order; real time
    /// ignored) instead of linearizability.
    #[arg(long)]
    sequential: bool,
    /// Also write the history and its verdict as a self-contained HTML page.
    #[arg(long, value_name = "OUT.html")]
    html: Option<PathBuf>,
    /// At most this many search steps per independent part (default: 10
    /// million, and one minute in all).
    #[arg(long, value_name = "N")]
    budget_steps: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ModelName {
    /// Read/write register of integers.
    Register,
    /// Read/write/compare-and-set register of integers (etcd's model).
    CasRegister,
    /// Key-value map of strings (get/put/append/cas), checked per key.
    Kv,
    /// FIFO queue of integers (enqueue/dequeue).
    Queue,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// dsys's JSON Lines: one operation per line (`{"client":0,"invoke":0,"complete":5,…}`).
    Jsonl,
    /// Jepsen's etcd log lines (`INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0]`).
    Jepsen,
    /// Jepsen's EDN map lines (`{:process 0, :type :invoke, :f :get, …}`).
    JepsenEdn,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "JSON Lines",
            Format::Jepsen => "Jepsen etcd log",
            Format::JepsenEdn => "Jepsen EDN",
        }
    }
}

/// The format of `text`, from its first lines: a Jepsen `INFO jepsen.util
/// -` line anywhere in them, else the first non-blank line's opening.
fn guess_format(text: &str) -> Option<Format> {
    const LINES_MAX: usize = 1000;
    let lines = || text.lines().take(LINES_MAX);
    if lines().any(|line| line.contains("INFO") && line.contains("jepsen.util - ")) {
        return Some(Format::Jepsen);
    }
    let first = lines()
        .map(str::trim_start)
        .find(|line| !line.is_empty() && !line.starts_with(';'))?;
    if first.starts_with("{:") {
        Some(Format::JepsenEdn)
    } else if first.starts_with("{\"") || first.starts_with("{ \"") {
        Some(Format::Jsonl)
    } else {
        None
    }
}

pub(crate) fn history(command: HistoryCommand) -> anyhow::Result<ExitCode> {
    match command {
        HistoryCommand::Check(args) => check(args),
    }
}

fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let path = &args.file;
    let text = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let format = match args.format {
        Some(format) => format,
        None => guess_format(&String::from_utf8_lossy(&text)).with_context(|| {
            format!(
                "cannot tell the format of {}: expected JSON Lines ({{\"client\":…}}), a Jepsen log \
                 (INFO  jepsen.util - …) or Jepsen EDN maps ({{:process …}}); pass --format",
                path.display()
            )
        })?,
    };
    let context = || format!("cannot read {} as {}", path.display(), format.name());
    match (format, args.model) {
        (Format::Jepsen, ModelName::Register | ModelName::CasRegister) => {
            let history = jepsen::read_etcd_log(text.as_slice()).with_context(context)?;
            if args.model == ModelName::Register {
                refuse_cas(&history, path)?;
                judge(&Register::<i64>::new(), &history, &args, format)
            } else {
                judge(&CasRegister::<i64>::new(), &history, &args, format)
            }
        }
        (Format::Jepsen, _) => bail!(
            "{} is a Jepsen etcd log, a register history: check it with --model cas-register \
             (or --model register if it has no cas)",
            path.display()
        ),
        (Format::JepsenEdn, ModelName::Kv) => {
            let history = jepsen::read_kv_edn(text.as_slice()).with_context(context)?;
            judge(&Kv, &history, &args, format)
        }
        (Format::JepsenEdn, _) => bail!(
            "{} holds Jepsen EDN maps, a key-value history: check it with --model kv",
            path.display()
        ),
        (Format::Jsonl, ModelName::Register) => {
            let history = History::read_jsonl(text.as_slice())
                .map_err(|e| jsonl_error(e, &text, path, args.model))?;
            refuse_cas(&history, path)?;
            judge(&Register::<i64>::new(), &history, &args, format)
        }
        (Format::Jsonl, ModelName::CasRegister) => {
            let history = History::read_jsonl(text.as_slice())
                .map_err(|e| jsonl_error(e, &text, path, args.model))?;
            judge(&CasRegister::<i64>::new(), &history, &args, format)
        }
        (Format::Jsonl, ModelName::Kv) => {
            let history = History::read_jsonl(text.as_slice())
                .map_err(|e| jsonl_error(e, &text, path, args.model))?;
            judge(&Kv, &history, &args, format)
        }
        (Format::Jsonl, ModelName::Queue) => {
            let history = History::read_jsonl(text.as_slice())
                .map_err(|e| jsonl_error(e, &text, path, args.model))?;
            judge(&Queue::<i64>::new(), &history, &args, format)
        }
    }
}

/// A register has no compare-and-set: say which model to use instead of
/// letting the checker call every cas impossible.
fn refuse_cas(
    history: &History<RegisterOp<i64>, RegisterRet<i64>>,
    path: &Path,
) -> anyhow::Result<()> {
    if let Some((i, op)) = history
        .ops()
        .iter()
        .enumerate()
        .find(|(_, op)| matches!(op.input, RegisterOp::Cas { .. }))
    {
        bail!(
            "{} has compare-and-set operations (the first: operation {i}, {:?} by client {}), which a \
             plain register does not have: check it with --model cas-register",
            path.display(),
            op.input,
            op.client
        );
    }
    Ok(())
}

/// `model`'s name on the command line.
fn model_flag(model: ModelName) -> String {
    model
        .to_possible_value()
        .map_or_else(|| format!("{model:?}"), |v| v.get_name().to_string())
}

/// An error reading JSON Lines for `model`; when the lines fit another
/// model, it says which.
fn jsonl_error(error: Error, text: &[u8], path: &Path, model: ModelName) -> anyhow::Error {
    let fits = [
        (
            ModelName::CasRegister,
            History::<RegisterOp<i64>, RegisterRet<i64>>::read_jsonl(text).is_ok(),
        ),
        (
            ModelName::Kv,
            History::<KvOp, KvRet>::read_jsonl(text).is_ok(),
        ),
        (
            ModelName::Queue,
            History::<QueueOp<i64>, QueueRet<i64>>::read_jsonl(text).is_ok(),
        ),
    ]
    .into_iter()
    .find(|&(other, fits)| {
        fits && other != model && !(model == ModelName::Register && other == ModelName::CasRegister)
    });
    let error = anyhow::Error::from(error).context(format!(
        "cannot read {} as JSON Lines for --model {}",
        path.display(),
        model_flag(model)
    ));
    match fits {
        Some((other, _)) => error.context(format!(
            "{} is a history for another model: check it with --model {}",
            path.display(),
            model_flag(other)
        )),
        None => error,
    }
}

/// Validates and checks `history`, prints the report, writes the page.
fn judge<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    args: &CheckArgs,
    format: Format,
) -> anyhow::Result<ExitCode> {
    history
        .validate()
        .with_context(|| format!("{} is not a valid history", args.file.display()))?;
    // The checkers never read the clock: the minute is kept here.
    static DEADLINE: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    DEADLINE.get_or_init(|| std::time::Instant::now() + std::time::Duration::from_secs(60));
    let mut budget = Budget {
        stop: Some(|| {
            DEADLINE
                .get()
                .is_some_and(|d| std::time::Instant::now() >= *d)
        }),
        ..Budget::default()
    };
    if let Some(steps) = args.budget_steps {
        budget.steps_max = Some(steps);
    }
    let report = if args.sequential {
        check_sequential(model, history, budget)
    } else {
        check_linearizable(model, history, budget)
    };
    let clients: std::collections::BTreeSet<u64> =
        history.ops().iter().map(|op| op.client).collect();
    let open = history.ops().iter().filter(|op| op.is_open()).count();
    outln!(
        "{}: {} operations by {} clients ({} never returned), read as {}",
        args.file.display(),
        history.len(),
        clients.len(),
        open,
        format.name()
    )?;
    out!("{report}")?;
    if let Some(out) = &args.html {
        fs::write(out, html::render(model, history, &report))
            .with_context(|| format!("cannot write {}", out.display()))?;
        outln!("html: {} written; open it in any browser", out.display())?;
    }
    Ok(match report.verdict {
        Verdict::Holds => ExitCode::SUCCESS,
        Verdict::Violated => {
            if args.html.is_none() {
                eprintln!("{} is violated; --html OUT.html draws why", report.property);
            }
            ExitCode::from(EXIT_VIOLATED)
        }
        Verdict::Unknown => {
            eprintln!("the budget ran out before the search ended; raise --budget-steps");
            ExitCode::from(EXIT_UNKNOWN)
        }
    })
}
