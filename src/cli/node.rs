//! `dsys node`: one node of a registered algorithm over TCP, as a cluster
//! file describes it; the runners of the standard algorithms.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::Args;

use crate::consensus::raft::service::RaftService;
use crate::consensus::raft::{AppendLog, FileOptions, FileStorage, Raft, RaftConfig, RaftEvent};
use crate::core::runtime::{Cluster, NodeHandle, RuntimeError};
use crate::core::{Node, NodeId};
use crate::election::bully::{Bully, BullyConfig};
use crate::election::ElectionEvent;
use crate::mutex::ricart_agrawala::RicartAgrawala;
use crate::net::{ClusterFile, NodeEntry, TcpConfig, TcpTransport};

use super::Registry;

#[derive(Debug, Args)]
pub(crate) struct NodeArgs {
    /// The cluster file (TOML: name, secret or secret_env, [[node]] entries).
    #[arg(long, value_name = "FILE")]
    cluster: PathBuf,
    /// This node's id in the cluster file.
    #[arg(long)]
    id: u32,
    /// The algorithm (`dsys list` says which run over TCP).
    #[arg(long)]
    algorithm: String,
    /// This is a new node: create its data directory (refused if it holds
    /// state). Without it, a Raft node refuses a missing or empty data
    /// directory, so that a node that lost its data never restarts as if
    /// it had never voted or acknowledged.
    #[arg(long)]
    init: bool,
}

/// What a [`NodeRunner`](super::NodeRunner) gets: which node this process
/// is, of how many, its data directory, and the TCP transport's
/// configuration from the cluster file.
#[derive(Debug)]
pub struct NodeSetup {
    /// This node's id.
    pub id: NodeId,
    /// How many nodes the cluster file lists.
    pub servers: usize,
    /// The node's data directory (from the cluster file).
    pub data_dir: PathBuf,
    /// `dsys node --init`: a new node's first start.
    pub init: bool,
    transport: TcpConfig,
}

/// What a node process does besides running its node: called with each
/// event the node emits, and with `None` every 200 ms (to make requests);
/// returns lines to print.
pub type Driver<N> = Box<dyn FnMut(Option<&<N as Node>::Event>, &NodeHandle<N>) -> Vec<String>>;

/// Whether an event means the node has halted, and why.
pub type Halted<N> = fn(&<N as Node>::Event) -> Option<String>;

/// How [`NodeSetup::serve`] shows and stops a node; every part is optional.
pub struct Hooks<N: Node> {
    /// Called with each event and every 200 ms; by default prints each
    /// event's `Debug` form.
    pub driver: Option<Driver<N>>,
    /// A status line, printed every 200 ms when it changed.
    pub status: Option<fn(&N) -> String>,
    /// An event for which this gives a reason stops the process with that
    /// reason and exit code 3 (a node that cannot persist must not linger
    /// as if it were serving).
    pub halted: Option<Halted<N>>,
}

impl<N: Node> Default for Hooks<N> {
    fn default() -> Self {
        Hooks {
            driver: None,
            status: None,
            halted: None,
        }
    }
}

impl<N: Node> std::fmt::Debug for Hooks<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("driver", &self.driver.is_some())
            .field("status", &self.status.is_some())
            .field("halted", &self.halted.is_some())
            .finish()
    }
}

pub(crate) fn node(registry: &Registry, args: NodeArgs) -> anyhow::Result<ExitCode> {
    let Some(runner) = registry.find(&args.algorithm).and_then(|e| e.node) else {
        bail!(
            "`dsys node` runs {}; not {:?}",
            registry.node_names().join(", "),
            args.algorithm
        );
    };
    let file = ClusterFile::load(&args.cluster)?;
    let id = NodeId(args.id);
    let entry = node_entry(&file, &args.cluster, id)?;
    runner(NodeSetup {
        id,
        servers: file.nodes.len(),
        data_dir: entry.data_dir,
        init: args.init,
        transport: file.to_tcp_config(id)?,
    })
}

/// Node `id`'s entry in the cluster file at `path`, or an error naming
/// the ids the file has.
pub(crate) fn node_entry(file: &ClusterFile, path: &Path, id: NodeId) -> anyhow::Result<NodeEntry> {
    file.node(id).cloned().with_context(|| {
        format!(
            "{id} is not a node of {} (it has n0..n{})",
            path.display(),
            file.nodes.len().saturating_sub(1)
        )
    })
}

impl NodeSetup {
    /// Runs `node` as this process's node over TCP until Ctrl-C or SIGTERM,
    /// printing what `hooks` say; see [`Hooks`].
    pub fn serve<N: Node>(self, node: N, hooks: Hooks<N>) -> anyhow::Result<ExitCode> {
        let driver = hooks.driver.unwrap_or_else(|| {
            Box::new(|event: Option<&N::Event>, _: &NodeHandle<N>| match event {
                Some(event) => vec![format!("{event:?}")],
                None => Vec::new(),
            })
        });
        serve(
            self.servers,
            self.id,
            self.transport,
            node,
            driver,
            hooks.status,
            hooks.halted.unwrap_or(|_| None),
        )
    }
}

// ----- the standard runners -------------------------------------------------

/// Raft over a [`FileStorage`] in the node's data directory, as a service
/// `dsys raft propose` talks to.
pub(crate) fn raft(setup: NodeSetup) -> anyhow::Result<ExitCode> {
    let storage = open_raft_storage(&setup.data_dir, setup.id, setup.init)?;
    let raft = Raft::new(RaftConfig::default(), storage, AppendLog::default())?;
    let hooks = Hooks {
        driver: Some(Box::new(raft_driver)),
        status: Some(raft_status),
        halted: Some(raft_halted),
    };
    setup.serve(RaftService::new(raft), hooks)
}

/// A Raft node's [`FileStorage`] in `dir`: created with `init` (refused
/// if it already holds state), opened otherwise (refused if it holds none,
/// so that a node that lost its data never restarts as if it had never
/// voted or acknowledged).
pub(crate) fn open_raft_storage<C>(
    dir: &Path,
    id: NodeId,
    init: bool,
) -> anyhow::Result<FileStorage<C>>
where
    C: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + 'static,
{
    if init {
        if dir.join("MANIFEST").exists() {
            bail!(
                "{} already holds {id}'s state: run without --init (it is for a new node's first start)",
                dir.display()
            );
        }
        FileStorage::open(dir)
    } else {
        FileStorage::open_existing(dir, FileOptions::default())
    }
    .with_context(|| format!("cannot open the data directory {}", dir.display()))
}

/// Ricart & Agrawala: each node asks for the critical section now and then.
pub(crate) fn ricart_agrawala(setup: NodeSetup) -> anyhow::Result<ExitCode> {
    let hooks = Hooks {
        driver: Some(mutex_driver()),
        ..Hooks::default()
    };
    setup.serve(RicartAgrawala::new(), hooks)
}

/// The bully election with its default timing.
pub(crate) fn bully(setup: NodeSetup) -> anyhow::Result<ExitCode> {
    let hooks = Hooks {
        driver: Some(Box::new(bully_driver)),
        ..Hooks::default()
    };
    setup.serve(Bully::new(BullyConfig::default())?, hooks)
}

/// Runs `node` as node `id` of a `servers`-node cluster over TCP until
/// Ctrl-C, printing what `driver` says and, every 200 ms, the `status` line
/// when it changed. An event for which `halted` gives a reason stops the
/// process with that reason and a non-zero status (a node that cannot
/// persist must not linger as if it were serving).
fn serve<N: Node>(
    servers: usize,
    id: NodeId,
    transport: TcpConfig,
    node: N,
    mut driver: Driver<N>,
    status: Option<fn(&N) -> String>,
    halted: Halted<N>,
) -> anyhow::Result<ExitCode> {
    let listen = transport.listen;
    actix_rt::System::new().block_on(async move {
        let transport = Arc::new(
            TcpTransport::<N::Msg>::start(transport)
                .with_context(|| format!("cannot start the TCP transport on {listen}"))?,
        );
        let mut slot = Some(node);
        let cluster = Cluster::builder(servers)
            .local([id])
            .on_current_arbiter()
            .transport(transport.clone())
            .start(move |_| slot.take().expect("a node process runs one incarnation"));
        let handle = cluster.node(id).clone();
        let mut events = handle.subscribe_from_start().expect("the first subscription");
        outln!("{id}: listening on {}, {} other node(s)", transport.local_addr(), servers - 1)?;
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        let mut last_status = String::new();
        let interrupted = stop_signal();
        tokio::pin!(interrupted);
        let mut halt = None;
        loop {
            let lines = tokio::select! {
                event = events.next() => match event {
                    Ok(event) => {
                        halt = halted(&event);
                        driver(Some(&event), &handle)
                    }
                    Err(RuntimeError::EventsMissed { missed }) => vec![format!("({missed} events not shown)")],
                    Err(_) => break,
                },
                _ = tick.tick() => {
                    let mut lines = driver(None, &handle);
                    if let Some(status) = status
                        && let Ok(line) = handle.inspect(status).await
                            && line != last_status {
                                lines.push(line.clone());
                                last_status = line;
                            }
                    lines
                }
                _ = &mut interrupted => break,
            };
            for line in lines {
                outln!("{id}: {line}")?;
            }
            if halt.is_some() {
                break;
            }
        }
        outln!("{id}: stopping")?;
        cluster.stop();
        transport.shutdown();
        match halt {
            Some(reason) => {
                tracing::error!(%reason, "node halted");
                eprintln!("error: {id} halted: {reason}");
                Ok(ExitCode::from(3))
            }
            None => Ok(ExitCode::SUCCESS),
        }
    })
}

fn raft_halted(event: &RaftEvent<u64>) -> Option<String> {
    match event {
        RaftEvent::Halted { reason } => Some(format!(
            "{reason} (fix the cause, e.g. free disk space, then start the node again: it recovers from its data directory)"
        )),
        _ => None,
    }
}

type RaftNode = RaftService<AppendLog, FileStorage<String>>;

/// Prints role changes as they happen.
fn raft_driver(event: Option<&RaftEvent<u64>>, _: &NodeHandle<RaftNode>) -> Vec<String> {
    match event {
        Some(RaftEvent::RoleChanged { term, role, leader }) => {
            let leader = leader.map_or("unknown".to_string(), |l| l.to_string());
            vec![format!("{role} in term {term} (leader {leader})")]
        }
        Some(RaftEvent::Halted { reason }) => vec![format!("halted: {reason}")],
        _ => Vec::new(),
    }
}

/// The line `tests/multiprocess.rs` reads to know how far a node got.
fn raft_status(node: &RaftNode) -> String {
    let raft = node.raft();
    format!(
        "status: {} term {} commit {} applied {}",
        raft.role(),
        raft.term(),
        raft.commit_index(),
        raft.last_applied()
    )
}

/// Every 2 s (staggered by id) the node asks for the critical section and
/// leaves it at the next tick.
fn mutex_driver() -> Driver<RicartAgrawala> {
    let mut ticks = 0u64;
    let mut holding = false;
    Box::new(move |event, handle| {
        use crate::mutex::{Event, Request};
        match event {
            Some(Event::Entered) => {
                holding = true;
                vec!["entered the critical section".into()]
            }
            Some(Event::Exited) => {
                holding = false;
                vec!["left the critical section".into()]
            }
            None => {
                ticks += 1;
                if holding {
                    let _ = handle.request(Request::Exit);
                } else if (ticks + u64::from(handle.id().0)).is_multiple_of(10) {
                    let _ = handle.request(Request::Enter);
                    return vec!["asks for the critical section".into()];
                }
                Vec::new()
            }
        }
    })
}

fn bully_driver(event: Option<&ElectionEvent>, _: &NodeHandle<Bully>) -> Vec<String> {
    match event {
        Some(event) => vec![format!("{event:?}")],
        None => Vec::new(),
    }
}

/// Resolves at Ctrl-C (SIGINT) or, on Unix, SIGTERM: both stop a node or a
/// local cluster cleanly (a cluster takes its node processes down with it).
pub(crate) async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
