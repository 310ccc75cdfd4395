//! `dsys sim`: run a registered algorithm in the simulator, judge its
//! properties, print the report, write the trace.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::core::scenario::shrink::{shrink, ShrinkOptions};
use crate::core::scenario::Report;
use crate::core::scenario::{
    Algorithm, ByzantineSpec, LatencyRange, NodeAt, PartitionSpec, Setting, SimOptions, Watch,
};
use crate::core::sim::{Limits, Progress};
use crate::core::trace::{html, Trace, SHIVIZ_REGEX};

use super::Registry;

#[derive(Debug, Args)]
pub(crate) struct SimArgs {
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
    /// Set one of the algorithm's own settings: NAME=VALUE (its `--help`
    /// lists them, with their defaults). Repeatable.
    #[arg(long, value_name = "NAME=VALUE")]
    set: Vec<Setting>,
    /// Write the trace as JSON Lines to this file.
    #[arg(long, value_name = "FILE.jsonl")]
    trace: Option<PathBuf>,
    /// Write the trace as a ShiViz log to this file.
    #[arg(long, value_name = "FILE.log")]
    shiviz: Option<PathBuf>,
    /// Write the run as a self-contained HTML page: a space-time diagram to
    /// step through, with the report (open it in any browser).
    #[arg(long, value_name = "FILE.html")]
    html: Option<PathBuf>,
    /// Record each node's state after each of its handlers in the trace
    /// (the page shows it per event); needs --trace or --html.
    #[arg(long)]
    trace_states: bool,
    /// When a property is violated, look for the smallest run that still
    /// breaks it (fewer nodes, fewer faults, a tamer network, other seeds,
    /// a shorter run) and print it; --trace and --html then write that run.
    #[arg(long)]
    shrink: bool,
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

pub(crate) fn sim(registry: &Registry, args: SimArgs) -> anyhow::Result<ExitCode> {
    let algorithm = registry.require(&args.algorithm)?.algorithm;
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
        trace: args.trace.is_some() || args.shiviz.is_some() || args.html.is_some(),
        trace_states: args.trace_states,
        limits: Limits {
            events_max: args.max_events,
            pending_max: args.max_pending,
            memory_max: args.max_memory_mib.saturating_mul(1 << 20),
        },
        watch: None,
        defect: args.defect,
        settings: args.set,
    };
    options.validate()?;
    if options.trace_states && !options.trace {
        bail!(
            "--trace-states records node states in the trace: add --trace FILE.jsonl or \
             --html FILE.html to keep it"
        );
    }
    algorithm.defect(&options)?;
    algorithm.check_settings(&options)?;
    // Output files are opened before the run, so that a bad path is
    // reported at once, not after minutes of simulation.
    let outputs = TraceOutputs::open(args.trace, args.shiviz, args.html)?;
    let progress = ProgressLine::new(options.until, Duration::from_secs(args.max_seconds));
    let options = SimOptions {
        watch: Some(progress.watch()),
        ..options
    };
    let outcome = (algorithm.run)(&options);
    progress.clear();
    let outcome = outcome.map_err(|error| match error {
        crate::core::Error::LimitExceeded { .. } => anyhow::anyhow!(
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
    if args.shrink {
        if outcome.report.passed() {
            outln!("--shrink: nothing to shrink, no property was violated")?;
        } else {
            let options = SimOptions {
                watch: None,
                ..options.clone()
            };
            return shrink_run(&algorithm, &options, outputs);
        }
    }
    if let Some(trace) = &outcome.trace {
        outputs.write(
            trace,
            &format!("{} records written to", trace.len()),
            &page_title(algorithm.name, &options),
            Some(&outcome.report),
        )?;
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

/// `--shrink`: the smallest run that breaks the same property, printed
/// with the steps that got there; the outputs get its trace.
fn shrink_run(
    algorithm: &Algorithm,
    options: &SimOptions,
    outputs: TraceOutputs,
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let Some(shrunk) = shrink(algorithm, options, &ShrinkOptions::default())? else {
        bail!("--shrink: the run did not fail again (a run is deterministic: please report this)");
    };
    outln!(
        "\nshrinking: {} broke after {} trace records; smaller runs that break it:",
        shrunk.property,
        shrunk.original_records
    )?;
    let width = shrunk.steps.iter().map(|s| s.what.len()).max().unwrap_or(0);
    for step in &shrunk.steps {
        outln!("  {:<width$}  {} records", step.what, step.records)?;
    }
    if shrunk.steps.is_empty() {
        outln!("  none: no reduction kept the failure")?;
    }
    let percent = 100.0 * shrunk.records as f64 / shrunk.original_records.max(1) as f64;
    outln!(
        "shrunk in {} runs ({:.1} s): {} breaks after {} trace records, {percent:.1}% of {}: {}",
        shrunk.runs,
        started.elapsed().as_secs_f64(),
        shrunk.property,
        shrunk.records,
        shrunk.original_records,
        shrunk.detail
    )?;
    outln!(
        "replay: cargo run --release -- sim {} {}",
        algorithm.name,
        shrunk.options.to_args()
    )?;
    if shrunk.records <= TIMELINE_RECORDS_MAX {
        outln!("the shrunk run:\n{}", shrunk.trace.timeline())?;
    } else {
        outln!("(add --html FILE.html to see the shrunk run as a diagram)")?;
    }
    outputs.write(
        &shrunk.trace,
        &format!("the shrunk run's {} records written to", shrunk.trace.len()),
        &format!("{}, shrunk", page_title(algorithm.name, &shrunk.options)),
        Some(&shrunk.report),
    )?;
    Ok(ExitCode::FAILURE)
}

/// A run's page title: `ricart-agrawala on 3 nodes, seed 3, defect …`.
fn page_title(algorithm: &str, options: &SimOptions) -> String {
    format!(
        "{algorithm} on {} node{}, seed {}{}",
        options.nodes,
        if options.nodes == 1 { "" } else { "s" },
        options.seed,
        options
            .defect
            .as_ref()
            .map_or(String::new(), |d| format!(", defect {d}"))
    )
}

/// A shrunk run up to this many trace records is printed as a timeline.
const TIMELINE_RECORDS_MAX: usize = 120;

/// The trace files a command was asked for (`--trace`, `--shiviz`,
/// `--html`), created before the run so that a bad path is reported at
/// once, not after minutes of work.
pub(crate) struct TraceOutputs {
    jsonl: Option<(PathBuf, File)>,
    shiviz: Option<(PathBuf, File)>,
    html: Option<(PathBuf, File)>,
}

impl TraceOutputs {
    /// Creates the files asked for.
    pub(crate) fn open(
        jsonl: Option<PathBuf>,
        shiviz: Option<PathBuf>,
        html: Option<PathBuf>,
    ) -> anyhow::Result<Self> {
        Ok(TraceOutputs {
            jsonl: jsonl.map(create).transpose()?,
            shiviz: shiviz.map(create).transpose()?,
            html: html.map(create).transpose()?,
        })
    }

    /// Whether any file was asked for.
    pub(crate) fn any(&self) -> bool {
        self.jsonl.is_some() || self.shiviz.is_some() || self.html.is_some()
    }

    /// Writes `trace` to each file and says so (`trace: {what} PATH`); the
    /// page is titled `title` and carries `report` when given.
    pub(crate) fn write(
        self,
        trace: &Trace,
        what: &str,
        title: &str,
        report: Option<&Report>,
    ) -> anyhow::Result<()> {
        let written =
            |path: &Path,
             file: File,
             export: fn(&Trace, BufWriter<File>) -> std::io::Result<()>| {
                export(trace, BufWriter::new(file))
                    .with_context(|| format!("cannot write {}", path.display()))
            };
        if let Some((path, file)) = self.jsonl {
            written(&path, file, Trace::write_jsonl)?;
            outln!("trace: {what} {}", path.display())?;
        }
        if let Some((path, file)) = self.shiviz {
            written(&path, file, Trace::write_shiviz)?;
            outln!(
                "shiviz: {} written; paste it into ShiViz with the regular expression {SHIVIZ_REGEX}",
                path.display()
            )?;
        }
        if let Some((path, file)) = self.html {
            write_page(&path, file, &html::render(trace, title, report))?;
        }
        Ok(())
    }
}

/// Creates `path` for writing, with an error that names it.
pub(crate) fn create(path: PathBuf) -> anyhow::Result<(PathBuf, File)> {
    File::create(&path)
        .with_context(|| format!("cannot create {}", path.display()))
        .map(|file| (path, file))
}

/// Writes a viewer page and says where, with how to open it.
pub(crate) fn write_page(path: &Path, mut file: File, page: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    file.write_all(page.as_bytes())
        .and_then(|()| file.flush())
        .with_context(|| format!("cannot write {}", path.display()))?;
    outln!(
        "view: {} written; open it in a browser (it needs no network)",
        path.display()
    )
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

/// What `dsys sim ALGO --help` adds for ALGO: its summary, settings with
/// their defaults, and defects.
pub(crate) fn algorithm_help(algorithm: &Algorithm) -> String {
    use std::fmt::Write as _;
    let mut help = format!("{}: {}\n", algorithm.name, algorithm.summary);
    if algorithm.settings.is_empty() {
        let _ = writeln!(help, "\n{} has no settings (--set).", algorithm.name);
    } else {
        let _ = writeln!(help, "\nSettings (--set NAME=VALUE):");
        for s in algorithm.settings {
            let _ = writeln!(
                help,
                "  {}  (default {})\n      {}",
                s.name, s.default, s.help
            );
        }
    }
    if !algorithm.defects.is_empty() {
        let _ = writeln!(
            help,
            "\nDefects (--defect NAME), deliberate bugs its checkers catch:"
        );
        for d in algorithm.defects {
            let _ = writeln!(help, "  {}\n      {}", d.name, d.breaks);
        }
    }
    help
}
