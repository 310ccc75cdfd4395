//! The `dsys` command line: list the algorithms, run one in the simulator,
//! run real nodes over TCP, check recorded histories.
//!
//! ```text
//! dsys list
//! dsys sim ping-pong --nodes 5 --seed 7 --loss 0.1 --trace out.jsonl --shiviz out.log
//! dsys sim byzantine-generals --nodes 4 --byzantine 0:equivocate
//! dsys cluster up --nodes 3 --algorithm raft
//! dsys raft propose --cluster dsys-cluster/cluster.toml hello
//! dsys node --cluster cluster.toml --id 2 --algorithm raft
//! dsys history check --model cas-register jepsen.log --html view.html
//! ```

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
use dsys::core::scenario::{ByzantineSpec, LatencyRange, NodeAt, PartitionSpec, SimOptions};
use dsys::core::trace::{Trace, SHIVIZ_REGEX};

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
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// Probability that a message is delivered twice.
    #[arg(long, default_value_t = 0.0)]
    dup: f64,
    /// Latency of every link in milliseconds, uniform in MIN..MAX.
    #[arg(long, default_value = "1..10", value_name = "MIN..MAX")]
    latency_ms: LatencyRange,
    /// Let links reorder messages (default: FIFO links).
    #[arg(long)]
    reorder: bool,
    /// Virtual time to run, in milliseconds.
    #[arg(long, default_value_t = 2000)]
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
    /// Write the trace as JSON Lines to this file.
    #[arg(long, value_name = "FILE.jsonl")]
    trace: Option<PathBuf>,
    /// Write the trace as a ShiViz log to this file.
    #[arg(long, value_name = "FILE.log")]
    shiviz: Option<PathBuf>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::List => {
            let algorithms = dsys::registry::algorithms();
            let width = algorithms.iter().map(|a| a.name.len()).max().unwrap_or(0);
            for algorithm in algorithms {
                println!("{:<width$}  {}", algorithm.name, algorithm.summary);
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
    };
    let outcome = (algorithm.run)(&options)?;
    if !options.byzantine.is_empty() && outcome.report.byzantine.is_empty() {
        bail!(
            "{}'s scenario does not apply --byzantine (it builds its simulation without \
             dsys_core::scenario::run_scenario_with); run it without --byzantine",
            algorithm.name
        );
    }
    print!("{}", outcome.report);
    if let Some(trace) = &outcome.trace {
        if let Some(path) = &args.trace {
            write(path, trace, Trace::write_jsonl)?;
            println!(
                "trace: {} records written to {}",
                trace.len(),
                path.display()
            );
        }
        if let Some(path) = &args.shiviz {
            write(path, trace, Trace::write_shiviz)?;
            println!(
                "shiviz: {} written; paste it into ShiViz with the regular expression {SHIVIZ_REGEX}",
                path.display()
            );
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

fn write(
    path: &Path,
    trace: &Trace,
    export: fn(&Trace, BufWriter<File>) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    export(trace, BufWriter::new(file)).with_context(|| format!("cannot write {}", path.display()))
}
