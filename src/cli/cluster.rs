//! `dsys cluster up` (a local cluster of `dsys node` processes) and `dsys
//! cluster keygen`.

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode};
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use rand::RngExt;

use crate::net::{ClusterFile, NodeKey};

use super::node::stop_signal;
use super::Registry;

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

pub(crate) fn cluster(registry: &Registry, command: ClusterCommand) -> anyhow::Result<ExitCode> {
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
    if registry
        .find(&args.algorithm)
        .and_then(|e| e.node)
        .is_none()
    {
        bail!(
            "`dsys cluster up` runs {}; not {:?}",
            registry.node_names().join(", "),
            args.algorithm
        );
    }
    let (path, fresh) = prepare(&args.dir, args.nodes, false)?;
    let children = spawn_all(args.nodes, |id| {
        let mut command = dsys_command()?;
        command.args(["node", "--cluster"]).arg(&path).args([
            "--id",
            &id.to_string(),
            "--algorithm",
            &args.algorithm,
        ]);
        if fresh {
            command.arg("--init");
        }
        Ok(command)
    })?;
    if args.algorithm == "raft" {
        outln!(
            "\npropose values from another terminal:\n  cargo run --release -- raft propose --cluster {} hello\n",
            path.display()
        )?;
    }
    outln!("Ctrl-C stops the cluster.")?;
    supervise(children)
}

/// Creates `dir` and writes a cluster file for `nodes` local nodes in it
/// (each with an HTTP address too, with `http`), or reuses the one there;
/// returns its path and whether it is new.
pub(super) fn prepare(dir: &Path, nodes: usize, http: bool) -> anyhow::Result<(PathBuf, bool)> {
    if nodes == 0 {
        bail!("--nodes must be at least 1");
    }
    create_private_dir(dir)?;
    let path = dir.join("cluster.toml");
    let fresh = !path.exists();
    if !fresh {
        let file = ClusterFile::load(&path)?;
        if file.nodes.len() != nodes {
            bail!(
                "{} describes {} nodes, not {}: remove the directory or pass --nodes {}",
                path.display(),
                file.nodes.len(),
                nodes,
                file.nodes.len()
            );
        }
        if http && file.nodes.iter().any(|n| n.http.is_none()) {
            bail!(
                "{} gives its nodes no HTTP addresses (it was written by `dsys cluster up`?): use another --dir",
                path.display()
            );
        }
        outln!("reusing {} (and the nodes' data in it)", path.display())?;
    } else {
        let text = local_cluster_file(dir, nodes, http)?;
        write_private(&path, &text)?;
        outln!(
            "wrote {} and a key per process in {}",
            path.display(),
            dir.join("keys").display()
        )?;
    }
    Ok((path, fresh))
}

/// This program, to start again as a node process.
pub(super) fn dsys_command() -> anyhow::Result<Command> {
    let exe = std::env::current_exe().context("cannot find the dsys executable")?;
    Ok(Command::new(exe))
}

/// Starts `command(id)` for each of `nodes` ids.
pub(super) fn spawn_all(
    nodes: usize,
    command: impl Fn(usize) -> anyhow::Result<Command>,
) -> anyhow::Result<Vec<Child>> {
    let mut children = Vec::new();
    for id in 0..nodes {
        let child = command(id)?
            .spawn()
            .with_context(|| format!("cannot start node {id}"))?;
        outln!("started n{id} (pid {})", child.id())?;
        children.push(child);
    }
    Ok(children)
}

/// Watches the node processes until Ctrl-C or SIGTERM, which it passes on
/// to them (each node stops cleanly), reporting each node that exits on
/// its own; when every node has exited, the cluster is over and exits
/// non-zero.
pub(super) fn supervise(mut children: Vec<Child>) -> anyhow::Result<ExitCode> {
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

/// A cluster file for `nodes` nodes (with an HTTP address each, with
/// `http`) and one client on free loopback ports, with a fresh random
/// secret and a fresh key pair per process (written to DIR/keys).
fn local_cluster_file(dir: &Path, nodes: usize, http: bool) -> anyhow::Result<String> {
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
    let ports = if http { 2 * nodes + 1 } else { nodes + 1 };
    let listeners: Vec<TcpListener> = (0..ports)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()
        .context("cannot find free loopback ports")?;
    let (listeners, http_listeners) = listeners.split_at(nodes + 1);
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
            let http = match http_listeners.get(id) {
                Some(listener) => format!("http = \"{}\"\n", listener.local_addr()?),
                None => String::new(),
            };
            writeln!(
                text,
                "[[node]]\nid = {id}\naddr = \"{addr}\"\ndata_dir = \"n{id}\"\n{identity}\n{http}"
            )?;
        } else {
            writeln!(text, "# The address `dsys raft propose` answers on.\n[[client]]\nid = {id}\naddr = \"{addr}\"\n{identity}")?;
        }
    }
    Ok(text)
}
