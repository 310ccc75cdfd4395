//! The `dsys` command line as a library: the `dsys` binary is
//! `dsys::cli::run(Registry::standard())`, and your own binary can run the
//! same commands over your own algorithms.
//!
//! ```text
//! dsys list
//! dsys sim ping-pong --nodes 5 --seed 7 --loss 0.1 --trace out.jsonl --shiviz out.log
//! dsys sim rpc --loss 0.3 --set semantics=at-least-once
//! dsys sim ricart-agrawala --defect ignores-timestamps
//! dsys sim ricart-agrawala --seed 3 --html ra.html --trace-states
//! dsys view out.jsonl -o out.html
//! dsys check ricart-agrawala --nodes 2 --defect ignores-timestamps
//! dsys sim byzantine-generals --nodes 4 --byzantine 0:equivocate
//! dsys cluster up --nodes 3 --algorithm raft
//! dsys raft propose --cluster dsys-cluster/cluster.toml hello
//! dsys node --cluster cluster.toml --id 2 --algorithm raft --init   # first start
//! dsys cluster keygen n2.key
//! dsys history check --model cas-register jepsen.log --html view.html
//! ```
//!
//! One [`Registry`] entry per algorithm serves `dsys list`, `dsys sim` and,
//! when the entry has a [`NodeRunner`], `dsys node` and `dsys cluster up`.
//! A crate with its own [`Node`](crate::core::Node) registers it and gets the
//! whole command line, replay lines included:
//!
//! ```no_run
//! use std::process::ExitCode;
//! use dsys::cli::{NodeSetup, Registry, Hooks};
//!
//! fn main() -> ExitCode {
//!     let registry = Registry::standard()
//!         // `my-app sim ping-pong …` and `my-app node --algorithm ping-pong …`:
//!         // here the simulator's ping-pong stands for your own algorithm.
//!         .with_node(dsys::core::ping_pong::ALGORITHM, |setup: NodeSetup| {
//!             let node = dsys::core::ping_pong::PingPong::new(Default::default());
//!             setup.serve(node, Hooks::default())
//!         });
//!     dsys::cli::run(registry)
//! }
//! ```
//!
//! The commands print results on standard output and errors on standard
//! error. Exit codes: 0 success, 1 a property violated (or a command's own
//! failure), 2 an error in the arguments or the environment, 3 a node that
//! halted, 141 when the reader of the output went away (`dsys list | head -1`).

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

mod check;
mod cluster;
mod history;
mod kv;
mod node;
mod raft;
mod registry;
mod sim;
mod view;

use std::ffi::OsString;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

pub use node::{Driver, Halted, Hooks, NodeSetup};
pub use registry::{Entry, NodeRunner, Registry};

/// dsys: classic distributed algorithms as deterministic state machines.
#[derive(Debug, Parser)]
#[command(name = "dsys", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the algorithms `dsys sim` can run (and which run as `dsys node`).
    List,
    /// Run an algorithm in the deterministic simulator and check its
    /// properties (`dsys sim ALGO --help` lists ALGO's settings and defects).
    Sim(Box<sim::SimArgs>),
    /// Model-check an algorithm: every interleaving of a small
    /// configuration, with the shortest run that breaks a property.
    Check(check::CheckArgs),
    /// Turn a trace (`dsys sim --trace`) into a self-contained HTML page: a
    /// space-time diagram to step through.
    View(view::ViewArgs),
    /// Run one node of a cluster over TCP, as described by a cluster file,
    /// until Ctrl-C.
    Node(node::NodeArgs),
    /// Local clusters of `dsys node` processes.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Talk to a running Raft cluster.
    #[command(subcommand)]
    Raft(raft::RaftCommand),
    /// Recorded histories: check them for linearizability or sequential consistency.
    #[command(subcommand)]
    History(history::HistoryCommand),
    /// The replicated key-value store as a service: replicas over TCP with
    /// an HTTP API, a local cluster, and a client.
    #[command(subcommand)]
    Kv(kv::KvCommand),
}

/// Runs the command line of this process over `registry`: parses the
/// arguments, runs the command, reports errors on standard error, and
/// returns the exit code for `main` to return.
pub fn run(registry: Registry) -> ExitCode {
    run_from(registry, std::env::args_os())
}

/// [`run`] with the given arguments (the first is the program name), for
/// tests and for programs that build their own.
pub fn run_from<I, T>(registry: Registry, args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match parse(&registry, &args) {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() { 2 } else { 0 };
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    init_logging(&cli.command);
    let result = dispatch(&registry, cli).and_then(|code| {
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

/// Parses `args`; `sim ALGO --help` gets ALGO's settings and defects
/// after the common options.
fn parse(registry: &Registry, args: &[OsString]) -> Result<Cli, clap::Error> {
    let mut command = Cli::command();
    if args.get(1).is_some_and(|a| a == "sim")
        && let Some(entry) = args
            .get(2)
            .and_then(|a| a.to_str())
            .and_then(|name| registry.find(name))
    {
        let help = sim::algorithm_help(&entry.algorithm);
        command = command.mut_subcommand("sim", |c| c.after_help(help));
    }
    let matches = command.try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches)
}

/// Logs go to standard error; without RUST_LOG, a node (and a local cluster
/// of nodes) logs at `info`: connections made, refused and why, torn tails
/// cut, halts. Other commands print their results and log only errors.
fn init_logging(command: &Command) {
    let default = match command {
        Command::Node(_) | Command::Cluster(_) => "info",
        Command::Kv(kv::KvCommand::Serve(_) | kv::KvCommand::Up(_)) => "info",
        _ => "error",
    };
    // A second call in one process (tests calling `run_from` twice) keeps
    // the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default)),
        )
        .with_writer(std::io::stderr)
        .try_init();
}

/// Whether `error` comes from writing to a pipe nobody reads any more.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn dispatch(registry: &Registry, cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::List => list(registry),
        Command::Sim(args) => sim::sim(registry, *args),
        Command::Check(args) => check::check(registry, args),
        Command::View(args) => view::view(args),
        Command::Node(args) => node::node(registry, args),
        Command::Cluster(command) => cluster::cluster(registry, command),
        Command::Raft(command) => raft::raft(command),
        Command::History(command) => history::history(command),
        Command::Kv(command) => kv::kv(command),
    }
}

/// `dsys list`: each algorithm with its summary, its defects, whether it
/// has a model to check and whether it also runs over TCP.
fn list(registry: &Registry) -> anyhow::Result<ExitCode> {
    let width = registry
        .entries()
        .iter()
        .map(|e| e.algorithm.name.len())
        .max()
        .unwrap_or(0);
    for entry in registry.entries() {
        let algorithm = &entry.algorithm;
        outln!("{:<width$}  {}", algorithm.name, algorithm.summary)?;
        if algorithm.model.is_some() {
            outln!(
                "{:<width$}    has a model: dsys check {}",
                "",
                algorithm.name
            )?;
        }
        if entry.node.is_some() {
            outln!(
                "{:<width$}    also runs over TCP: dsys node, dsys cluster up",
                ""
            )?;
        }
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
