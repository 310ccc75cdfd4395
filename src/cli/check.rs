//! `dsys check`: model-check a registered algorithm — every interleaving of
//! a small configuration instead of one seeded run.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::bail;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use crate::core::model::{ModelOptions, Network, SearchProgress, SearchWatch, Strategy};

use super::sim::TraceOutputs;
use super::Registry;

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The algorithm (`dsys list` marks the ones with a model).
    algorithm: String,
    /// Number of nodes: keep it small, the states grow exponentially.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Check a deliberate bug the algorithm ships instead (`dsys list`).
    #[arg(long, value_name = "NAME")]
    defect: Option<String>,
    /// The network may lose any message.
    #[arg(long)]
    lossy: bool,
    /// The network may deliver this many duplicates in a run.
    #[arg(long, value_name = "N", default_value_t = 0)]
    duplicates: u32,
    /// Each link delivers in the order it was sent on (FIFO channels);
    /// by default any message in flight may arrive next.
    #[arg(long)]
    fifo: bool,
    /// Nodes may crash (and restart) this many times in a run.
    #[arg(long, value_name = "N", default_value_t = 0)]
    crashes: u32,
    /// Timers may fire this many times in a run (default: the algorithm's
    /// own bound; a retry or heartbeat timer could otherwise fire for ever).
    #[arg(long, value_name = "N")]
    timers: Option<u32>,
    /// How to explore.
    #[arg(long, value_enum, default_value_t = StrategyArg::Bfs)]
    strategy: StrategyArg,
    /// Random walks to run with `--strategy random`.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    walks: u32,
    /// Seed of the random walks.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Cut paths at this many steps.
    #[arg(long, value_name = "STEPS", default_value_t = ModelOptions::default().depth_max)]
    max_depth: usize,
    /// Stop after this many distinct states.
    #[arg(long, value_name = "N", default_value_t = ModelOptions::default().states_max)]
    max_states: usize,
    /// Stop after this many seconds of wall time.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    max_seconds: u64,
    /// Write the counterexample, replayed in the simulator, as JSON Lines.
    #[arg(long, value_name = "FILE.jsonl")]
    trace: Option<PathBuf>,
    /// Write the counterexample, replayed in the simulator, as a ShiViz log.
    #[arg(long, value_name = "FILE.log")]
    shiviz: Option<PathBuf>,
    /// Write the counterexample, replayed in the simulator, as a
    /// self-contained HTML page to step through.
    #[arg(long, value_name = "FILE.html")]
    html: Option<PathBuf>,
}

/// `--strategy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum StrategyArg {
    /// Breadth-first: the first violation found is one of the shortest.
    Bfs,
    /// Depth-first: long runs sooner, counterexamples maybe longer.
    Dfs,
    /// Seeded random walks, for configurations too big to explore.
    Random,
}

/// The most nodes `dsys check` takes: past a handful the states outgrow
/// any budget.
const NODES_MAX: usize = 8;

pub(crate) fn check(registry: &Registry, args: CheckArgs) -> anyhow::Result<ExitCode> {
    let entry = registry.require(&args.algorithm)?;
    let Some(model) = entry.algorithm.model else {
        let with: Vec<&str> = registry
            .entries()
            .iter()
            .filter(|e| e.algorithm.model.is_some())
            .map(|e| e.algorithm.name)
            .collect();
        bail!(
            "{} has no model to check yet (these do: {}); `dsys sim {}` samples its runs instead",
            args.algorithm,
            with.join(", "),
            args.algorithm
        );
    };
    if args.nodes == 0 || args.nodes > NODES_MAX {
        bail!(
            "--nodes {}: dsys check explores 1 to {NODES_MAX} nodes (the states grow \
             exponentially; `dsys sim` runs bigger clusters)",
            args.nodes
        );
    }
    let bar: Arc<OnceLock<ProgressBar>> = Arc::default();
    let defect = args.defect.clone();
    let options = ModelOptions {
        nodes: args.nodes,
        defect: args.defect,
        network: Network {
            lossy: args.lossy,
            duplicates_max: args.duplicates,
            fifo: args.fifo,
        },
        crashes_max: args.crashes,
        timers_max: args.timers,
        depth_max: args.max_depth,
        states_max: args.max_states,
        time_max: Duration::from_secs(args.max_seconds),
        strategy: match args.strategy {
            StrategyArg::Bfs => Strategy::BreadthFirst,
            StrategyArg::Dfs => Strategy::DepthFirst,
            StrategyArg::Random => Strategy::RandomWalks {
                walks: args.walks,
                seed: args.seed,
            },
        },
        watch: Some(progress_line(Arc::clone(&bar))),
    };
    // Output files are opened before the search, so a bad path is said at once.
    let outputs = TraceOutputs::open(args.trace, args.shiviz, args.html)?;
    let verdict = model(&options);
    if let Some(bar) = bar.get() {
        bar.finish_and_clear();
    }
    let verdict = verdict?;
    outln!(
        "{} on {} nodes: {}",
        args.algorithm,
        args.nodes,
        verdict.text.trim_end()
    )?;
    match &verdict.trace {
        Some(trace) => {
            let title = format!(
                "{}{} on {} nodes: counterexample",
                args.algorithm,
                defect.as_ref().map_or(String::new(), |d| format!(" ({d})")),
                args.nodes
            );
            outputs.write(trace, "the counterexample, replayed, in", &title, None)?
        }
        None if outputs.any() => outln!("no counterexample, so no trace was written")?,
        None => {}
    }
    if verdict.passed {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}

/// The progress line of a long search, on standard error when it is a
/// terminal, shown once the search has taken a second: states visited and
/// per second, the frontier, the depth.
fn progress_line(bar: Arc<OnceLock<ProgressBar>>) -> SearchWatch {
    SearchWatch(Arc::new(move |p: &SearchProgress| {
        if p.elapsed < Duration::from_secs(1) {
            return;
        }
        let bar = bar.get_or_init(|| {
            let bar = ProgressBar::new_spinner();
            let style =
                ProgressStyle::with_template("{elapsed:>4} {msg}").expect("a valid template");
            bar.set_style(style);
            bar
        });
        let rate = p.states as f64 / p.elapsed.as_secs_f64();
        bar.set_message(format!(
            "{} states ({rate:.0}/s), {} queued, depth {}",
            p.states, p.queued, p.depth
        ));
        bar.tick();
    }))
}
