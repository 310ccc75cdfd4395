//! The `dsys` command line: list the algorithms, run one in the simulator,
//! run real nodes over TCP, check recorded histories.
//!
//! ```text
//! dsys list
//! dsys sim ping-pong --nodes 5 --seed 7 --loss 0.1 --trace out.jsonl --shiviz out.log
//! dsys sim byzantine-generals --nodes 4 --byzantine 0:equivocate
//! dsys cluster up --nodes 3 --algorithm raft
//! dsys raft propose --cluster dsys-cluster/cluster.toml hello
//! dsys node --cluster cluster.toml --id 2 --algorithm raft --init   # first start
//! dsys cluster keygen n2.key
//! dsys history check --model cas-register jepsen.log --html view.html
//! ```

/// `print!` that returns the error (a closed pipe, a full disk) for the
/// caller to report, where `print!` panics.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)
            .map_err(|e| anyhow::Error::new(e).context("cannot write to standard output"))
    }};
}

/// `println!` that returns the error, like [`out!`].
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
            .map_err(|e| anyhow::Error::new(e).context("cannot write to standard output"))
    }};
}

#[path = "dsys/history.rs"]
mod history;
#[path = "dsys/net.rs"]
mod net;

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Args, Parser, Subcommand};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use dsys::core::scenario::{ByzantineSpec, LatencyRange, NodeAt, PartitionSpec, SimOptions, Watch};
use dsys::core::sim::{Limits, Progress};
use dsys::core::trace::{Trace, SHIVIZ_REGEX};
use indicatif::{ProgressBar, ProgressStyle};

/// dsys: classic distributed algorithms as deterministic state machines.
#[derive(Debug, Parser)]
#[command(name = "dsys", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the algorithms `dsys sim` can run.
    List,
    /// Run an algorithm in the deterministic simulator and check its properties.
    Sim(Box<SimArgs>),
    /// Run one node of a cluster over TCP (raft, ricart-agrawala, bully),
    /// as described by a cluster file, until Ctrl-C.
    Node(net::NodeArgs),
    /// Local clusters of `dsys node` processes.
    #[command(subcommand)]
    Cluster(net::ClusterCommand),
    /// Talk to a running Raft cluster.
    #[command(subcommand)]
    Raft(net::RaftCommand),
    /// Recorded histories: check them for linearizability or sequential consistency.
    #[command(subcommand)]
    History(history::HistoryCommand),
}

#[derive(Debug, Args)]
struct SimArgs {
    /// The algorithm (see `dsys list`).
    algorithm: String,
    /// Number of nodes.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Seed of the run: the same seed and options replay the same run.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Probability that a message is lost.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    loss: f64,
    /// Probability that a message is delivered twice.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    dup: f64,
    /// Latency of every link in milliseconds, uniform in MIN..MAX.
    #[arg(long, default_value = "1..10", value_name = "MIN..MAX")]
    latency_ms: LatencyRange,
    /// Let links reorder messages (default: FIFO links).
    #[arg(long)]
    reorder: bool,
    /// Virtual time to run, in milliseconds (1 to a day).
    #[arg(long, default_value_t = 2000, value_parser = whole_ms, allow_negative_numbers = true)]
    until_ms: u64,
    /// Partition the cluster: SIDE|SIDE@FROM_MS[..HEAL_MS], e.g. 0,1|2@100..400. Repeatable.
    #[arg(long, value_name = "SPEC")]
    partition: Vec<PartitionSpec>,
    /// Crash a node: ID@MS. Repeatable.
    #[arg(long, value_name = "ID@MS")]
    crash: Vec<NodeAt>,
    /// Restart a node from its factory: ID@MS. Repeatable.
    #[arg(long, value_name = "ID@MS")]
    restart: Vec<NodeAt>,
    /// Make a node Byzantine from the start: ID:STRATEGY, where STRATEGY is
    /// drop[=P], delay[=MIN..MAX], replay[=P] (any algorithm), equivocate or
    /// tamper (algorithms that say how their messages lie). Repeatable.
    #[arg(long, value_name = "ID:STRATEGY")]
    byzantine: Vec<ByzantineSpec>,
    /// Run a deliberate bug the algorithm ships instead of the correct
    /// algorithm, to see its checkers catch it (`dsys list` names them).
    #[arg(long, value_name = "NAME")]
    defect: Option<String>,
    /// Write the trace as JSON Lines to this file.
    #[arg(long, value_name = "FILE.jsonl")]
    trace: Option<PathBuf>,
    /// Write the trace as a ShiViz log to this file.
    #[arg(long, value_name = "FILE.log")]
    shiviz: Option<PathBuf>,
    /// Stop the run with an error after this many events (a run that never
    /// goes quiet).
    #[arg(long, value_name = "N", default_value_t = Limits::default().events_max)]
    max_events: u64,
    /// Stop the run with an error when this many events wait at once
    /// (messages multiplying).
    #[arg(long, value_name = "N", default_value_t = Limits::default().pending_max)]
    max_pending: usize,
    /// Stop the run with an error when the simulator holds about this many
    /// MiB (its queue, trace and events).
    #[arg(long, value_name = "MIB", default_value_t = Limits::default().memory_max >> 20)]
    max_memory_mib: u64,
    /// Stop the run with an error after this many seconds of wall time.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    max_seconds: u64,
}

/// A whole number of milliseconds, with our own message for a negative one
/// (clap's would suggest `--` before it).
fn whole_ms(s: &str) -> Result<u64, String> {
    if s.trim_start().starts_with('-') {
        return Err(format!(
            "{s} is negative: write a whole number of milliseconds, 1 or more"
        ));
    }
    s.parse()
        .map_err(|_| format!("{s:?} is not a whole number of milliseconds"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Without RUST_LOG, a node (and a local cluster of nodes) logs at
    // `info`: connections made, refused and why, torn tails cut, halts.
    // Other commands print their results and log only errors.
    let default = match cli.command {
        Command::Node(_) | Command::Cluster(_) => "info",
        _ => "error",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default)),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = run(cli).and_then(|code| {
        std::io::Write::flush(&mut std::io::stdout()).context("cannot write to standard output")?;
        Ok(code)
    });
    match result {
        Ok(code) => code,
        // The reader went away (`dsys list | head -1`): stop quietly, with
        // the status a shell gives a command killed by SIGPIPE.
        Err(error) if is_broken_pipe(&error) => ExitCode::from(141),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Whether `error` comes from writing to a pipe nobody reads any more.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::List => {
            let algorithms = dsys::registry::algorithms();
            let width = algorithms.iter().map(|a| a.name.len()).max().unwrap_or(0);
            for algorithm in algorithms {
                outln!("{:<width$}  {}", algorithm.name, algorithm.summary)?;
                for defect in algorithm.defects {
                    outln!(
                        "{:<width$}    --defect {}: {}",
                        "",
                        defect.name,
                        defect.breaks
                    )?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Sim(args) => sim(*args),
        Command::Node(args) => net::node(args),
        Command::Cluster(command) => net::cluster(command),
        Command::Raft(command) => net::raft(command),
        Command::History(command) => history::history(command),
    }
}

fn sim(args: SimArgs) -> anyhow::Result<ExitCode> {
    let Some(algorithm) = dsys::registry::find(&args.algorithm) else {
        let known: Vec<_> = dsys::registry::algorithms()
            .iter()
            .map(|a| a.name)
            .collect();
        bail!(
            "unknown algorithm {:?}; `dsys list` shows the registered ones: {}",
            args.algorithm,
            known.join(", ")
        );
    };
    let options = SimOptions {
        nodes: args.nodes,
        seed: args.seed,
        loss: args.loss,
        duplicate: args.dup,
        latency: args.latency_ms,
        reorder: args.reorder,
        until: Duration::from_millis(args.until_ms),
        partitions: args.partition,
        crashes: args.crash,
        restarts: args.restart,
        byzantine: args.byzantine,
        trace: args.trace.is_some() || args.shiviz.is_some(),
        limits: Limits {
            events_max: args.max_events,
            pending_max: args.max_pending,
            memory_max: args.max_memory_mib.saturating_mul(1 << 20),
        },
        watch: None,
        defect: args.defect,
    };
    options.validate()?;
    algorithm.defect(&options)?;
    // Output files are opened before the run, so that a bad path is
    // reported at once, not after minutes of simulation.
    let trace_file = args.trace.as_deref().map(create).transpose()?;
    let shiviz_file = args.shiviz.as_deref().map(create).transpose()?;
    let progress = ProgressLine::new(options.until, Duration::from_secs(args.max_seconds));
    let options = SimOptions {
        watch: Some(progress.watch()),
        ..options
    };
    let outcome = (algorithm.run)(&options);
    progress.clear();
    let outcome = outcome.map_err(|error| match error {
        dsys::core::Error::LimitExceeded { .. } => anyhow::anyhow!(
            "{error} (dsys sim --max-events, --max-pending and --max-memory-mib raise the limits)"
        ),
        other => other.into(),
    })?;
    if !options.byzantine.is_empty() && outcome.report.byzantine.is_empty() {
        bail!(
            "{}'s scenario does not apply --byzantine (it builds its simulation without \
             dsys_core::scenario::run_scenario_with); run it without --byzantine",
            algorithm.name
        );
    }
    out!("{}", outcome.report)?;
    if let Some(trace) = &outcome.trace {
        if let (Some(path), Some(file)) = (&args.trace, trace_file) {
            write(path, file, trace, Trace::write_jsonl)?;
            outln!(
                "trace: {} records written to {}",
                trace.len(),
                path.display()
            )?;
        }
        if let (Some(path), Some(file)) = (&args.shiviz, shiviz_file) {
            write(path, file, trace, Trace::write_shiviz)?;
            outln!(
                "shiviz: {} written; paste it into ShiViz with the regular expression {SHIVIZ_REGEX}",
                path.display()
            )?;
        }
    }
    if outcome.report.passed() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "a property was violated (seed {}); the report above ends with the command that replays it",
            options.seed
        );
        Ok(ExitCode::FAILURE)
    }
}

fn create(path: &Path) -> anyhow::Result<File> {
    File::create(path).with_context(|| format!("cannot create {}", path.display()))
}

fn write(
    path: &Path,
    file: File,
    trace: &Trace,
    export: fn(&Trace, BufWriter<File>) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    export(trace, BufWriter::new(file)).with_context(|| format!("cannot write {}", path.display()))
}

/// The progress line of a long `dsys sim` run, on standard error when it
/// is a terminal, shown once a run has taken a second; and the wall-time
/// budget (`--max-seconds`).
struct ProgressLine {
    bar: Arc<OnceLock<ProgressBar>>,
    until: Duration,
    budget: Duration,
    start: Instant,
}

impl ProgressLine {
    fn new(until: Duration, budget: Duration) -> Self {
        ProgressLine {
            bar: Arc::new(OnceLock::new()),
            until,
            budget,
            start: Instant::now(),
        }
    }

    /// The watch the simulator calls every few thousand events.
    fn watch(&self) -> Watch {
        let (bar, until, budget, start) =
            (Arc::clone(&self.bar), self.until, self.budget, self.start);
        Watch(Arc::new(move |progress: &Progress| {
            let elapsed = start.elapsed();
            if elapsed > budget {
                return Err(format!(
                    "it ran for more than {} s of wall time (--max-seconds), at {progress}",
                    budget.as_secs()
                ));
            }
            if elapsed >= Duration::from_secs(1) {
                let bar = bar.get_or_init(|| {
                    let bar = ProgressBar::new(until.as_millis() as u64);
                    let style = ProgressStyle::with_template(
                        "{elapsed:>4} [{bar:30}] {pos}/{len} ms of virtual time, {msg}",
                    )
                    .expect("a valid template")
                    .progress_chars("=> ");
                    bar.set_style(style);
                    bar
                });
                bar.set_position(progress.now.as_millis() as u64);
                bar.set_message(format!(
                    "{} events, {} pending",
                    progress.events, progress.pending
                ));
            }
            Ok(())
        }))
    }

    fn clear(&self) {
        if let Some(bar) = self.bar.get() {
            bar.finish_and_clear();
        }
    }
}
