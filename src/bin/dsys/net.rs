//! Real clusters: `dsys node` runs one node of a registered algorithm over
//! TCP, `dsys cluster up` starts a local cluster of `dsys node` processes,
//! and `dsys raft propose` drives a Raft cluster as a client.

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use dsys::consensus::raft::service::{ClientEvent, ClientRequest, RaftClient, RaftService};
use dsys::consensus::raft::{AppendLog, FileOptions, FileStorage, Raft, RaftConfig, RaftEvent};
use dsys::core::runtime::{Cluster, NodeHandle, RuntimeError};
use dsys::core::{Node, NodeId};
use dsys::election::bully::{Bully, BullyConfig};
use dsys::election::ElectionEvent;
use dsys::mutex::ricart_agrawala::RicartAgrawala;
use dsys::net::{ClusterFile, NodeKey, TcpTransport};
use rand::RngExt;

/// The algorithms `dsys node` runs over TCP.
pub(crate) const NODE_ALGORITHMS: &[&str] = &["raft", "ricart-agrawala", "bully"];

#[derive(Debug, Args)]
pub(crate) struct NodeArgs {
    /// The cluster file (TOML: name, secret or secret_env, [[node]] entries).
    #[arg(long, value_name = "FILE")]
    cluster: PathBuf,
    /// This node's id in the cluster file.
    #[arg(long)]
    id: u32,
    /// The algorithm: raft, ricart-agrawala or bully.
    #[arg(long)]
    algorithm: String,
    /// This is a new node: create its data directory (refused if it holds
    /// state). Without it, a Raft node refuses a missing or empty data
    /// directory, so that a node that lost its data never restarts as if
    /// it had never voted or acknowledged.
    #[arg(long)]
    init: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ClusterCommand {
    /// Start a local cluster of `dsys node` processes on loopback ports, for
    /// a quick look. Writes DIR/cluster.toml and a key pair per process in
    /// DIR/keys (reused if present, so a second `up` finds the nodes' data)
    /// and stops every node on Ctrl-C.
    Up(UpArgs),
    /// Make a node's key pair: writes the private key to FILE (mode 0600,
    /// never overwriting) and prints the `public_key` line for the node's
    /// entry in the cluster file.
    Keygen {
        /// Where the private key goes.
        file: PathBuf,
    },
}

#[derive(Debug, Args)]
pub(crate) struct UpArgs {
    /// Number of nodes.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// The algorithm: raft, ricart-agrawala or bully.
    #[arg(long, default_value = "raft")]
    algorithm: String,
    /// Where the cluster file and the nodes' data directories go.
    #[arg(long, default_value = "dsys-cluster")]
    dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RaftCommand {
    /// Have VALUE appended to the replicated log of a running Raft cluster
    /// (started by `dsys node --algorithm raft` or `dsys cluster up`); prints
    /// the index it committed at. Uses the cluster file's first [[client]].
    Propose(ProposeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ProposeArgs {
    /// The cluster file.
    #[arg(long, value_name = "FILE")]
    cluster: PathBuf,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 10)]
    timeout_s: u64,
    /// The value to append.
    value: String,
}

// ----- dsys node -----------------------------------------------------------

pub(crate) fn node(args: NodeArgs) -> anyhow::Result<ExitCode> {
    let file = ClusterFile::load(&args.cluster)?;
    let id = NodeId(args.id);
    let entry = file
        .node(id)
        .with_context(|| {
            format!(
                "{id} is not a node of {} (it has n0..n{})",
                args.cluster.display(),
                file.nodes.len().saturating_sub(1)
            )
        })?
        .clone();
    let servers = file.nodes.len();
    let transport = file.to_tcp_config(id)?;
    match args.algorithm.as_str() {
        "raft" => {
            let dir = &entry.data_dir;
            let storage = if args.init {
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
            .with_context(|| format!("cannot open the data directory {}", dir.display()))?;
            let raft = Raft::new(RaftConfig::default(), storage, AppendLog::default())?;
            let node = RaftService::new(raft);
            serve(
                servers,
                id,
                transport,
                node,
                Box::new(raft_driver),
                Some(raft_status),
                raft_halted,
            )
        }
        "ricart-agrawala" => serve(
            servers,
            id,
            transport,
            RicartAgrawala::new(),
            mutex_driver(),
            None,
            |_| None,
        ),
        "bully" => {
            let bully = Bully::new(BullyConfig::default())?;
            serve(
                servers,
                id,
                transport,
                bully,
                Box::new(bully_driver),
                None,
                |_| None,
            )
        }
        other => bail!(
            "`dsys node` runs {}; not {other:?}",
            NODE_ALGORITHMS.join(", ")
        ),
    }
}

/// What a node process does besides running its node: called with each
/// event the node emits, and with `None` every 200 ms. Returns lines to
/// print.
type Driver<N> = Box<dyn FnMut(Option<&<N as Node>::Event>, &NodeHandle<N>) -> Vec<String>>;

/// Runs `node` as node `id` of a `servers`-node cluster over TCP until
/// Ctrl-C, printing what `driver` says and, every 200 ms, the `status` line
/// when it changed. An event for which `halted` gives a reason stops the
/// process with that reason and a non-zero status (a node that cannot
/// persist must not linger as if it were serving).
fn serve<N: Node>(
    servers: usize,
    id: NodeId,
    transport: dsys::net::TcpConfig,
    node: N,
    mut driver: Driver<N>,
    status: Option<fn(&N) -> String>,
    halted: fn(&N::Event) -> Option<String>,
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
                    if let Some(status) = status {
                        if let Ok(line) = handle.inspect(status).await {
                            if line != last_status {
                                lines.push(line.clone());
                                last_status = line;
                            }
                        }
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
        use dsys::mutex::{Event, Request};
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

// ----- dsys raft propose ---------------------------------------------------

pub(crate) fn raft(command: RaftCommand) -> anyhow::Result<ExitCode> {
    let RaftCommand::Propose(args) = command;
    let file = ClusterFile::load(&args.cluster)?;
    let Some(client) = file.clients.first().cloned() else {
        bail!(
            "{} has no [[client]] entry: add one with id = {} (the number of nodes) and addr = a free host:port the nodes can reach",
            args.cluster.display(),
            file.nodes.len()
        );
    };
    let transport = file.to_tcp_config(client.id)?;
    let timeout = Duration::from_secs(args.timeout_s);
    actix_rt::System::new().block_on(async move {
        let transport = Arc::new(TcpTransport::start(transport).with_context(|| {
            format!(
                "cannot listen on the client address {} (is another `dsys raft propose` running?)",
                client.addr
            )
        })?);
        // A fresh seed per run, as for any new process (the client's
        // session id is not drawn from it: the cluster assigns one).
        let seed = rand::rng().random();
        let attempts = (args.timeout_s * 2).max(1) as u32;
        let cluster = Cluster::builder(client.id.index() + 1)
            .local([client.id])
            .on_current_arbiter()
            .seed(seed)
            .transport(transport.clone())
            .start(move |_| RaftClient::<String, u64>::new(Duration::from_millis(500), attempts));
        let handle = cluster.node(client.id).clone();
        let mut events = handle
            .subscribe_from_start()
            .expect("the first subscription");
        handle.request(ClientRequest::Propose(args.value.clone()))?;
        let outcome = loop {
            match events.next_within(timeout).await {
                Some(Ok(event)) => break Some(event),
                Some(Err(RuntimeError::EventsMissed { .. })) => continue,
                _ => break None,
            }
        };
        cluster.stop();
        transport.shutdown();
        match outcome {
            Some(ClientEvent::Committed { index, output }) => {
                outln!(
                    "committed {:?} at index {index} (value #{output} of the log)",
                    args.value
                )?;
                Ok(ExitCode::SUCCESS)
            }
            Some(ClientEvent::Failed { reason }) => {
                eprintln!("not committed: {reason}");
                Ok(ExitCode::FAILURE)
            }
            Some(ClientEvent::SessionExpired { client }) => {
                eprintln!(
                    "session {client} expired before the answer came back: {:?} may or may \
                     not be committed; a new `dsys raft propose` opens a new session",
                    args.value
                );
                Ok(ExitCode::FAILURE)
            }
            None => {
                eprintln!(
                    "no answer within {timeout:?}: is the cluster running (`dsys cluster up`)?"
                );
                Ok(ExitCode::FAILURE)
            }
        }
    })
}

// ----- dsys cluster up -----------------------------------------------------

pub(crate) fn cluster(command: ClusterCommand) -> anyhow::Result<ExitCode> {
    let args = match command {
        ClusterCommand::Up(args) => args,
        ClusterCommand::Keygen { file } => {
            let key = NodeKey::generate();
            key.save(&file)?;
            outln!(
                "wrote {} (keep it secret); its line for the cluster file:",
                file.display()
            )?;
            outln!("public_key = \"{}\"", key.public())?;
            return Ok(ExitCode::SUCCESS);
        }
    };
    if !NODE_ALGORITHMS.contains(&args.algorithm.as_str()) {
        bail!(
            "`dsys cluster up` runs {}; not {:?}",
            NODE_ALGORITHMS.join(", "),
            args.algorithm
        );
    }
    if args.nodes == 0 {
        bail!("--nodes must be at least 1");
    }
    create_private_dir(&args.dir)?;
    let path = args.dir.join("cluster.toml");
    let fresh = !path.exists();
    if !fresh {
        let file = ClusterFile::load(&path)?;
        if file.nodes.len() != args.nodes {
            bail!(
                "{} describes {} nodes, not {}: remove the directory or pass --nodes {}",
                path.display(),
                file.nodes.len(),
                args.nodes,
                file.nodes.len()
            );
        }
        outln!("reusing {} (and the nodes' data in it)", path.display())?;
    } else {
        let text = local_cluster_file(&args.dir, args.nodes)?;
        write_private(&path, &text)?;
        outln!(
            "wrote {} and a key per process in {}",
            path.display(),
            args.dir.join("keys").display()
        )?;
    }
    let exe = std::env::current_exe().context("cannot find the dsys executable")?;
    let mut children: Vec<Child> = Vec::new();
    for id in 0..args.nodes {
        let mut command = Command::new(&exe);
        command.args(["node", "--cluster"]).arg(&path).args([
            "--id",
            &id.to_string(),
            "--algorithm",
            &args.algorithm,
        ]);
        if fresh {
            command.arg("--init");
        }
        let child = command
            .spawn()
            .with_context(|| format!("cannot start node {id}"))?;
        outln!("started n{id} (pid {})", child.id())?;
        children.push(child);
    }
    if args.algorithm == "raft" {
        outln!(
            "\npropose values from another terminal:\n  cargo run --release -- raft propose --cluster {} hello\n",
            path.display()
        )?;
    }
    outln!("Ctrl-C stops the cluster.")?;
    supervise(children)
}

/// Watches the node processes until Ctrl-C or SIGTERM, which it passes on
/// to them (each node stops cleanly), reporting each node that exits on
/// its own; when every node has exited, the cluster is over and exits
/// non-zero.
fn supervise(mut children: Vec<Child>) -> anyhow::Result<ExitCode> {
    let mut alive: Vec<bool> = vec![true; children.len()];
    let all_died = actix_rt::System::new().block_on(async {
        let stop = stop_signal();
        tokio::pin!(stop);
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                _ = &mut stop => return Ok::<bool, anyhow::Error>(false),
                _ = tick.tick() => {
                    for (id, child) in children.iter_mut().enumerate() {
                        if !alive[id] {
                            continue;
                        }
                        if let Some(status) = child.try_wait()? {
                            alive[id] = false;
                            outln!("n{id} exited ({status}); its log above says why")?;
                        }
                    }
                    if !alive.contains(&true) {
                        return Ok(true);
                    }
                }
            }
        }
    })?;
    if all_died {
        eprintln!("error: every node exited: the cluster is down");
        return Ok(ExitCode::FAILURE);
    }
    for (id, child) in children.iter_mut().enumerate() {
        if alive[id] {
            terminate(child);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Asks a node process to stop (SIGTERM on Unix), and kills it if it has
/// not within 5 s.
fn terminate(child: &mut Child) {
    #[cfg(unix)]
    {
        let asked = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while asked && std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A directory only its owner may enter (mode 0700 on Unix).
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// Writes a file only its owner may read (mode 0600 on Unix): a cluster
/// file holds the secret.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// A cluster file for `nodes` nodes and one client on free loopback ports,
/// with a fresh random secret and a fresh key pair per process (written to
/// DIR/keys).
fn local_cluster_file(dir: &Path, nodes: usize) -> anyhow::Result<String> {
    let secret: [u8; 32] = rand::rng().random();
    let secret: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let keys = dir.join("keys");
    create_private_dir(&keys)?;
    let mut text = String::new();
    writeln!(
        text,
        "# Written by `dsys cluster up`: {nodes} nodes and one client on loopback."
    )?;
    writeln!(text, "name = \"local\"\nsecret = \"{secret}\"\n")?;
    // Ports chosen by the OS now; free again when the nodes bind them.
    let listeners: Vec<TcpListener> = (0..=nodes)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()
        .context("cannot find free loopback ports")?;
    for (id, listener) in listeners.iter().enumerate() {
        let addr = listener.local_addr()?;
        let key = NodeKey::generate();
        let key_file = format!("keys/n{id}.key");
        key.save(dir.join(&key_file))?;
        let identity = format!(
            "public_key = \"{}\"\nkey_file = \"{key_file}\"",
            key.public()
        );
        if id < nodes {
            create_private_dir(&dir.join(format!("n{id}")))?;
            writeln!(
                text,
                "[[node]]\nid = {id}\naddr = \"{addr}\"\ndata_dir = \"n{id}\"\n{identity}\n"
            )?;
        } else {
            writeln!(text, "# The address `dsys raft propose` answers on.\n[[client]]\nid = {id}\naddr = \"{addr}\"\n{identity}")?;
        }
    }
    Ok(text)
}

/// Resolves at Ctrl-C (SIGINT) or, on Unix, SIGTERM: both stop a node or a
/// local cluster cleanly (a cluster takes its node processes down with it).
async fn stop_signal() {
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
