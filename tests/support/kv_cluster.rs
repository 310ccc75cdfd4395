//! A local cluster of `dsys kv serve` processes for integration tests: a
//! cluster file on free loopback ports, one process per replica, and the
//! nemesis' levers (kill, restart, pause, resume). Shared by the test
//! binaries that include it with `#[path = "support/kv_cluster.rs"] mod
//! kv_cluster;` (each uses a subset, hence the `allow`). Every process is
//! killed when the cluster is dropped.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use dsys::net::NodeKey;

const DSYS: &str = env!("CARGO_BIN_EXE_dsys");

/// One replica's process and what it printed.
struct Replica {
    child: Child,
    output: Arc<Mutex<Vec<String>>>,
    paused: bool,
}

/// The cluster.
pub struct KvCluster {
    dir: PathBuf,
    cluster: PathBuf,
    backend: String,
    urls: Vec<String>,
    replicas: Vec<Option<Replica>>,
}

/// `n` distinct free loopback ports (all held open while they are chosen,
/// so none is handed out twice).
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// Collects a stream's lines (stdout and stderr alike).
fn gather(stream: impl std::io::Read + Send + 'static, sink: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
}

impl KvCluster {
    /// Writes a cluster file for `nodes` replicas in `dir` and starts them
    /// all (with `--init`).
    pub fn start(dir: &Path, nodes: usize, backend: &str) -> KvCluster {
        let mut text =
            String::from("name = \"kv-test\"\nsecret = \"a test secret, long enough\"\n");
        let mut urls = Vec::new();
        let ports = free_ports(2 * nodes);
        for id in 0..nodes {
            let key = NodeKey::generate();
            let key_file = dir.join(format!("n{id}.key"));
            key.save(&key_file).unwrap();
            let http = ports[2 * id + 1];
            text += &format!(
                "[[node]]\nid = {id}\naddr = \"127.0.0.1:{}\"\nhttp = \"127.0.0.1:{http}\"\n\
                 data_dir = {:?}\npublic_key = \"{}\"\nkey_file = {:?}\n",
                ports[2 * id],
                dir.join(format!("n{id}")).display().to_string(),
                key.public(),
                key_file.display().to_string()
            );
            urls.push(format!("http://127.0.0.1:{http}"));
        }
        let cluster = dir.join("cluster.toml");
        std::fs::write(&cluster, text).unwrap();
        let mut kv = KvCluster {
            dir: dir.to_path_buf(),
            cluster,
            backend: backend.to_string(),
            urls,
            replicas: (0..nodes).map(|_| None).collect(),
        };
        for id in 0..nodes {
            kv.spawn(id, true);
        }
        kv
    }

    fn spawn(&mut self, id: usize, init: bool) {
        let mut child = Command::new(DSYS)
            .args(["kv", "serve", "--cluster"])
            .arg(&self.cluster)
            .args(["--id", &id.to_string(), "--backend", &self.backend])
            .args(init.then_some("--init"))
            .env("RUST_LOG", "warn")
            .env("DSYS_KV_TEST_FAULTS", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the dsys binary starts");
        let output = Arc::new(Mutex::new(Vec::new()));
        gather(child.stdout.take().unwrap(), Arc::clone(&output));
        gather(child.stderr.take().unwrap(), Arc::clone(&output));
        self.replicas[id] = Some(Replica {
            child,
            output,
            paused: false,
        });
    }

    /// The replicas' HTTP base URLs, by id.
    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// The cluster file.
    pub fn cluster_file(&self) -> &Path {
        &self.cluster
    }

    /// Whether replica `id`'s process is running (and not paused).
    pub fn is_up(&self, id: usize) -> bool {
        self.replicas[id].as_ref().is_some_and(|r| !r.paused)
    }

    /// SIGKILL: the process dies at once, with whatever it had not written.
    pub fn kill(&mut self, id: usize) {
        if let Some(mut replica) = self.replicas[id].take() {
            if replica.paused {
                signal(&replica.child, "CONT");
            }
            let _ = replica.child.kill();
            let _ = replica.child.wait();
        }
    }

    /// Starts replica `id` again from its data directory.
    pub fn restart(&mut self, id: usize) {
        self.kill(id);
        self.spawn(id, false);
    }

    /// SIGSTOP: the process stops answering anyone, as if cut off.
    pub fn pause(&mut self, id: usize) {
        if let Some(replica) = self.replicas[id].as_mut().filter(|r| !r.paused) {
            signal(&replica.child, "STOP");
            replica.paused = true;
        }
    }

    /// SIGCONT after [`KvCluster::pause`].
    pub fn resume(&mut self, id: usize) {
        if let Some(replica) = self.replicas[id].as_mut().filter(|r| r.paused) {
            signal(&replica.child, "CONT");
            replica.paused = false;
        }
    }

    /// Everything replica `id`'s current process printed.
    pub fn output(&self, id: usize) -> Vec<String> {
        self.replicas[id]
            .as_ref()
            .map(|r| r.output.lock().unwrap().clone())
            .unwrap_or_default()
    }

    /// Each process's output, for a failure message.
    pub fn dump(&self) -> String {
        (0..self.replicas.len())
            .map(|id| format!("--- n{id}:\n{}", self.output(id).join("\n")))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The test directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn signal(child: &Child, name: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status();
}

impl Drop for KvCluster {
    fn drop(&mut self) {
        for id in 0..self.replicas.len() {
            self.kill(id);
        }
    }
}
