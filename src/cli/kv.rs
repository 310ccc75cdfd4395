//! `dsys kv`: the replicated key-value store as a service — one replica
//! per process over the TCP transport, an HTTP/JSON API, a local cluster
//! for a quick look, and a small client.

mod client;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

use super::cluster::{dsys_command, prepare, spawn_all, supervise};
use crate::net::ClusterFile;

#[derive(Debug, Subcommand)]
pub(crate) enum KvCommand {
    /// Run one replica of the store: its node over TCP (peers and keys
    /// from the cluster file) and the HTTP API on the node's `http`
    /// address. Ctrl-C or SIGTERM stops it.
    Serve(ServeArgs),
    /// Start a local cluster of `dsys kv serve` processes on loopback
    /// ports and print curl commands that work against it. Writes
    /// DIR/cluster.toml (reused by a second `up`, with the nodes' data);
    /// Ctrl-C stops every replica.
    Up(UpArgs),
    /// Read a key.
    Get {
        #[command(flatten)]
        target: Target,
        /// The key.
        key: String,
        /// Read the contacted replica's own copy (possibly stale) instead
        /// of a linearizable read.
        #[arg(long)]
        local: bool,
    },
    /// Set a key.
    Put {
        #[command(flatten)]
        target: Target,
        /// The key.
        key: String,
        /// The value (not empty: delete the key instead).
        value: String,
        /// Makes a retried put take effect once: the same key, the same
        /// outcome.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Append to a key's value.
    Append {
        #[command(flatten)]
        target: Target,
        /// The key.
        key: String,
        /// What to append.
        value: String,
        /// Makes a retried append take effect once.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Remove a key.
    Delete {
        #[command(flatten)]
        target: Target,
        /// The key.
        key: String,
    },
    /// Compare-and-set: set KEY to NEW if it holds EXPECT.
    Cas {
        #[command(flatten)]
        target: Target,
        /// The key.
        key: String,
        /// The value it must hold (`""` for an absent key).
        expect: String,
        /// The value it then holds.
        new: String,
    },
}

/// Where the client sends its request.
#[derive(Debug, Args)]
pub(crate) struct Target {
    /// A cluster file: the request goes to its first node with an `http`
    /// address, and follows redirects to the leader.
    #[arg(long, value_name = "FILE", conflicts_with = "url")]
    cluster: Option<PathBuf>,
    /// A replica's HTTP address, e.g. http://127.0.0.1:8000.
    #[arg(long)]
    url: Option<String>,
}

/// The replication scheme behind the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Backend {
    /// Raft's replicated log, on disk (survives crashes and restarts).
    Raft,
    /// Multi-Paxos' replicated log, on disk (survives crashes and restarts).
    MultiPaxos,
    /// Passive replication with views voted by a majority (crash-stop: a
    /// replica that ran before refuses to start again).
    PrimaryBackup,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Raft => "raft",
            Backend::MultiPaxos => "multi-paxos",
            Backend::PrimaryBackup => "primary-backup",
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The cluster file; this node's entry needs an `http` address.
    #[arg(long, value_name = "FILE")]
    cluster: PathBuf,
    /// This node's id in the cluster file.
    #[arg(long)]
    id: u32,
    /// The replication scheme (every replica of a cluster runs the same).
    #[arg(long, value_enum, default_value = "raft")]
    backend: Backend,
    /// This is a new replica: create its data directory (refused if it
    /// holds state). Without it, a replica refuses a missing or empty data
    /// directory, so that one that lost its data never rejoins as if it
    /// had never voted.
    #[arg(long)]
    init: bool,
}

#[derive(Debug, Args)]
pub(crate) struct UpArgs {
    /// Number of replicas.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// The replication scheme.
    #[arg(long, value_enum, default_value = "raft")]
    backend: Backend,
    /// Where the cluster file and the replicas' data go.
    #[arg(long, default_value = "dsys-kv")]
    dir: PathBuf,
}

pub(crate) fn kv(command: KvCommand) -> anyhow::Result<ExitCode> {
    match command {
        KvCommand::Serve(args) => serve::serve(args),
        KvCommand::Up(args) => up(args),
        other => client::run(other),
    }
}

fn up(args: UpArgs) -> anyhow::Result<ExitCode> {
    let (path, fresh) = prepare(&args.dir, args.nodes, true)?;
    let backend = args.backend.name();
    let children = spawn_all(args.nodes, |id| {
        let mut command = dsys_command()?;
        command.args(["kv", "serve", "--cluster"]).arg(&path).args([
            "--id",
            &id.to_string(),
            "--backend",
            backend,
        ]);
        if fresh {
            command.arg("--init");
        }
        Ok(command)
    })?;
    let file = ClusterFile::load(&path)?;
    let url = |i: usize| {
        file.nodes[i]
            .http
            .map_or(String::new(), |a| format!("http://{a}"))
    };
    let first = url(0);
    let last = url(args.nodes - 1);
    outln!(
        "\n{} replicas of the store ({backend}), HTTP on {}. From another terminal:\n\
         \n  curl -L -X PUT -d '{{\"value\":\"hello\"}}' {first}/kv/greeting\
         \n  curl -L {last}/kv/greeting\
         \n  curl -L -X POST -d '{{\"expect\":\"hello\",\"new\":\"world\"}}' {first}/kv/greeting/cas\
         \n  curl -L -X PUT -H 'Idempotency-Key: order-17' -d '{{\"value\":\"paid\"}}' {first}/kv/order\
         \n  curl -L -X DELETE {first}/kv/greeting\
         \n  curl {first}/status\
         \n  curl {first}/metrics\
         \n\n(-L follows a follower's redirect to the leader.) Without curl:\
         \n  cargo run --release -- kv put --cluster {} greeting hello\
         \n  cargo run --release -- kv get --cluster {} greeting\n",
        args.nodes,
        (0..args.nodes).map(url).collect::<Vec<_>>().join(", "),
        path.display(),
        path.display(),
    )?;
    outln!("Ctrl-C stops the cluster.")?;
    supervise(children)
}
