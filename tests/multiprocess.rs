//! A real Raft cluster: three `dsys node` processes over TCP on loopback,
//! driven by `dsys raft propose`. The leader process is killed with SIGKILL,
//! a new leader takes proposals, the killed node restarts from its data
//! directory and catches up, and afterwards no acknowledged proposal is
//! missing from any node's log on disk.
//!
//! Waits are bounds for a condition, not verdicts: the test is correct
//! however fast or slow the machine is.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dsys::consensus::raft::{FileStorage, Payload, Storage};
use dsys::core::NodeId;
use dsys::net::tcp::handshake::{Connector, Credentials};
use dsys::net::NodeKey;

const DSYS: &str = env!("CARGO_BIN_EXE_dsys");
const PATIENCE: Duration = Duration::from_secs(30);

/// One `dsys node` process and the lines it printed.
struct NodeProcess {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    /// What it logged (standard error), at the default level.
    logs: Arc<Mutex<Vec<String>>>,
}

/// Collects the lines of `stream` into a shared vector.
fn gather(stream: impl std::io::Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

impl NodeProcess {
    /// Node `id`'s first start: it initialises its data directory.
    fn start(cluster: &Path, id: usize) -> NodeProcess {
        NodeProcess::spawn(cluster, id, true)
    }

    /// Node `id` again, from the data directory it has.
    fn restart(cluster: &Path, id: usize) -> NodeProcess {
        NodeProcess::spawn(cluster, id, false)
    }

    fn spawn(cluster: &Path, id: usize, init: bool) -> NodeProcess {
        let mut child = Command::new(DSYS)
            .args(["node", "--cluster"])
            .arg(cluster)
            .args(["--id", &id.to_string(), "--algorithm", "raft"])
            .args(init.then_some("--init"))
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the dsys binary starts");
        let lines = gather(child.stdout.take().unwrap());
        let logs = gather(child.stderr.take().unwrap());
        NodeProcess { child, lines, logs }
    }

    /// Whether a logged line contains every one of `words`.
    fn logged(&self, words: &[&str]) -> bool {
        let logs = self.logs.lock().unwrap();
        logs.iter().any(|l| words.iter().all(|w| l.contains(w)))
    }

    /// The last status line's role and applied index.
    fn status(&self) -> Option<(String, u64)> {
        let lines = self.lines.lock().unwrap();
        let line = lines.iter().rev().find(|l| l.contains("status: "))?;
        let words: Vec<&str> = line.split_whitespace().collect();
        // "nX: status: ROLE term T commit C applied A"
        let role = words.get(2)?.to_string();
        let applied = words.last()?.parse().ok()?;
        Some((role, applied))
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A key pair for process `id`, saved in DIR/nID.key; its cluster file lines.
fn identity(dir: &Path, id: usize) -> String {
    let key = NodeKey::generate();
    let file = dir.join(format!("n{id}.key"));
    key.save(&file).unwrap();
    format!(
        "public_key = \"{}\"\nkey_file = {:?}\n",
        key.public(),
        file.display().to_string()
    )
}

fn write_cluster_file(dir: &Path) -> (PathBuf, Vec<PathBuf>) {
    let mut text = String::from("name = \"mp-test\"\nsecret = \"a test secret, long enough\"\n");
    let mut data = Vec::new();
    for id in 0..3 {
        let data_dir = dir.join(format!("n{id}"));
        text += &format!(
            "[[node]]\nid = {id}\naddr = \"127.0.0.1:{}\"\ndata_dir = {:?}\n{}",
            free_port(),
            data_dir.display().to_string(),
            identity(dir, id)
        );
        data.push(data_dir);
    }
    text += &format!(
        "[[client]]\nid = 3\naddr = \"127.0.0.1:{}\"\n{}",
        free_port(),
        identity(dir, 3)
    );
    let path = dir.join("cluster.toml");
    std::fs::write(&path, text).unwrap();
    (path, data)
}

/// `dsys raft propose`; returns the index it committed at.
fn propose(cluster: &Path, value: &str) -> u64 {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let out = Command::new(DSYS)
            .args(["raft", "propose", "--timeout-s", "10", "--cluster"])
            .arg(cluster)
            .arg(value)
            .output()
            .expect("the dsys binary runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        if out.status.success() {
            // "committed \"v\" at index I (value #k of the log)"
            let index = stdout
                .split("at index ")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|i| i.parse().ok())
                .unwrap_or_else(|| panic!("unexpected output: {stdout}"));
            return index;
        }
        // Not committed (e.g. no leader yet): the client said so; retry.
        // The same value twice would be two entries, which the final check
        // tolerates (it looks for each acknowledged index).
        assert!(
            Instant::now() < deadline,
            "{value} not committed within {PATIENCE:?}: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "{what}: not within {PATIENCE:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_raft_cluster_of_processes_survives_sigkill_of_its_leader() {
    let dir = tempfile::tempdir().unwrap();
    let (cluster, data) = write_cluster_file(dir.path());
    let mut nodes: Vec<NodeProcess> = (0..3).map(|id| NodeProcess::start(&cluster, id)).collect();

    let mut acked: Vec<(u64, String)> = Vec::new();
    for i in 0..5 {
        let value = format!("before-{i}");
        acked.push((propose(&cluster, &value), value));
    }

    // SIGKILL the leader: no shutdown, no flush.
    let mut leader = None;
    wait_for("a node reports leading", || {
        leader = nodes
            .iter()
            .position(|n| n.status().is_some_and(|(role, _)| role == "leader"));
        leader.is_some()
    });
    let killed = leader.unwrap();
    nodes[killed].child.kill().unwrap();
    nodes[killed].child.wait().unwrap();

    // A new leader is elected and takes proposals.
    for i in 0..5 {
        let value = format!("after-{i}");
        acked.push((propose(&cluster, &value), value));
    }

    // The killed node restarts from its directory and catches up.
    nodes[killed] = NodeProcess::restart(&cluster, killed);
    let highest = acked.iter().map(|(i, _)| *i).max().unwrap();
    for node in &nodes {
        wait_for("every node applies every acknowledged entry", || {
            node.status().is_some_and(|(_, applied)| applied >= highest)
        });
    }
    drop(nodes); // kill them all, then read what they left on disk

    for dir in &data {
        let log = FileStorage::<String>::open(dir).unwrap().load().unwrap();
        assert!(log.snapshot.is_none(), "too few entries for a snapshot");
        for (index, value) in &acked {
            let entry = log.entries.iter().find(|e| e.index == *index);
            let held = entry.map(|e| &e.payload);
            assert!(
                matches!(held, Some(Payload::Command { command, .. }) if command == value),
                "{} lacks acknowledged {value:?} at index {index}: {held:?}",
                dir.display()
            );
        }
    }
}

/// `dsys cluster up` as the README shows it: three processes, and a
/// proposal against them commits. SIGTERM stops the cluster and its nodes.
#[cfg(unix)]
#[test]
fn cluster_up_starts_three_nodes_that_take_a_proposal() {
    /// Sends SIGTERM on drop, so no node outlives the test.
    struct Up(Child);
    impl Drop for Up {
        fn drop(&mut self) {
            let _ = Command::new("kill")
                .args(["-TERM", &self.0.id().to_string()])
                .status();
            let _ = self.0.wait();
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let cluster_dir = dir.path().join("cluster");
    let up = Up(Command::new(DSYS)
        .args([
            "cluster",
            "up",
            "--nodes",
            "3",
            "--algorithm",
            "raft",
            "--dir",
        ])
        .arg(&cluster_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the dsys binary starts"));
    let file = cluster_dir.join("cluster.toml");
    wait_for("dsys cluster up writes its cluster file", || {
        std::fs::read_to_string(&file).is_ok_and(|text| text.contains("[[client]]"))
    });
    assert!(propose(&file, "hello") >= 1);
    drop(up);
    // Committed means stored on a majority: at least two of the three data
    // directories hold the value.
    let holding = (0..3)
        .filter(|id| {
            let log = FileStorage::<String>::open(cluster_dir.join(format!("n{id}")))
                .unwrap()
                .load()
                .unwrap();
            log.entries.iter().any(
                |e| matches!(&e.payload, Payload::Command { command, .. } if command == "hello"),
            )
        })
        .count();
    assert!(
        holding >= 2,
        "only {holding} of 3 nodes hold a committed value"
    );
}

#[test]
fn a_node_logs_each_refused_connection_and_why_by_default() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let (cluster, _) = write_cluster_file(dir.path());
    let node = NodeProcess::start(&cluster, 0);
    let file = dsys::net::ClusterFile::load(&cluster).unwrap();
    let addr = file.nodes[0].addr;
    let connect = || {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match std::net::TcpStream::connect(addr) {
                Ok(stream) => return stream,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(e) => panic!("node 0 never listened: {e}"),
            }
        }
    };
    // A port scanner's bytes.
    connect().write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    // Node 1's key, but not the cluster secret.
    let credentials = Credentials::new(
        "mp-test",
        b"not the cluster's secret at all",
        [(NodeId(1), NodeKey::load(dir.path().join("n1.key")).unwrap())].into(),
        [(NodeId(0), file.nodes[0].public_key)].into(),
    );
    let (_, hello) = Connector::start(&credentials, NodeId(1), NodeId(0)).unwrap();
    let mut frame = Vec::new();
    dsys::core::wire::encode_frame(&hello, 1024, &mut frame).unwrap();
    let mut impostor = connect();
    impostor.write_all(&frame).unwrap();
    wait_for("the refusals in node 0's log", || {
        node.logged(&["connection refused", "malformed handshake"])
            && node.logged(&["connection refused", "authentication failed"])
    });
    // A member (node 2: its own key and the cluster secret) claiming to be
    // node 1: the handshake needs node 1's private key.
    let before = count_logged(&node, &["authentication failed"]);
    let member = Credentials::new(
        "mp-test",
        b"a test secret, long enough",
        [(NodeId(1), NodeKey::load(dir.path().join("n2.key")).unwrap())].into(),
        [(NodeId(0), file.nodes[0].public_key)].into(),
    );
    let (_, hello) = Connector::start(&member, NodeId(1), NodeId(0)).unwrap();
    let mut frame = Vec::new();
    dsys::core::wire::encode_frame(&hello, 1024, &mut frame).unwrap();
    let mut impersonator = connect();
    impersonator.write_all(&frame).unwrap();
    wait_for("node 0 refusing node 2 posing as node 1", || {
        count_logged(&node, &["authentication failed"]) > before
    });
}

#[test]
fn proposals_from_many_client_processes_land_once_where_they_say() {
    // Every `dsys raft propose` is a new process with the client id of the
    // one before it; the nodes may still hold replies for that id, and
    // their links back to it back off while no client runs. Each value
    // acknowledged must be in the log at the index printed, exactly once.
    let dir = tempfile::tempdir().unwrap();
    let (cluster, data) = write_cluster_file(dir.path());
    let nodes: Vec<NodeProcess> = (0..3).map(|id| NodeProcess::start(&cluster, id)).collect();
    let mut acked: Vec<(u64, String)> = Vec::new();
    for (i, gap_ms) in [0, 0, 300, 1_000, 0, 2_500, 0].into_iter().enumerate() {
        std::thread::sleep(Duration::from_millis(gap_ms));
        let value = format!("val-{i}");
        acked.push((propose(&cluster, &value), value));
    }
    let highest = acked.iter().map(|(i, _)| *i).max().unwrap();
    for node in &nodes {
        wait_for("every node applies every acknowledged entry", || {
            node.status().is_some_and(|(_, applied)| applied >= highest)
        });
    }
    drop(nodes);
    for dir in &data {
        let log = FileStorage::<String>::open(dir).unwrap().load().unwrap();
        for (index, value) in &acked {
            let at: Vec<u64> = log
                .entries
                .iter()
                .filter(
                    |e| matches!(&e.payload, Payload::Command { command, .. } if command == value),
                )
                .map(|e| e.index)
                .collect();
            assert_eq!(
                at,
                [*index],
                "{}: {value:?} acknowledged at {index}",
                dir.display()
            );
        }
    }
}

#[test]
fn a_node_that_lost_its_log_refuses_to_start_and_acknowledged_values_survive() {
    // Issue #12's sequence: two nodes crash, one of them loses its only log
    // segment. Before the MANIFEST it restarted with an empty log, voted
    // for a node lacking the committed entries, and acknowledged values
    // vanished from every node.
    let dir = tempfile::tempdir().unwrap();
    let (cluster, data) = write_cluster_file(dir.path());
    let mut nodes: Vec<NodeProcess> = (0..3).map(|id| NodeProcess::start(&cluster, id)).collect();
    let mut acked: Vec<(u64, String)> = Vec::new();
    for i in 0..5 {
        let value = format!("kept-{i}");
        acked.push((propose(&cluster, &value), value));
    }
    let highest = acked.iter().map(|(i, _)| *i).max().unwrap();
    for node in &nodes {
        wait_for("every node applies the five values", || {
            node.status().is_some_and(|(_, applied)| applied >= highest)
        });
    }
    for crashed in [1, 2] {
        nodes[crashed].child.kill().unwrap();
        nodes[crashed].child.wait().unwrap();
    }
    std::fs::remove_file(data[2].join("log-000001.seg")).unwrap();
    // The node without its log refuses to start, and says what was lost.
    let out = Command::new(DSYS)
        .args(["node", "--cluster"])
        .arg(&cluster)
        .args(["--id", "2", "--algorithm", "raft"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "it must not start: {stderr}");
    assert!(
        stderr.contains("log-000001.seg is missing") && stderr.contains("acknowledged"),
        "{stderr}"
    );
    // The other restarts; with node 0 it is a majority that holds the values.
    nodes[1] = NodeProcess::restart(&cluster, 1);
    acked.push((propose(&cluster, "after"), "after".to_string()));
    let highest = acked.iter().map(|(i, _)| *i).max().unwrap();
    for id in [0, 1] {
        wait_for("nodes 0 and 1 apply everything", || {
            nodes[id]
                .status()
                .is_some_and(|(_, applied)| applied >= highest)
        });
    }
    drop(nodes);
    for dir in &data[..2] {
        let log = FileStorage::<String>::open(dir).unwrap().load().unwrap();
        for (index, value) in &acked {
            let held = log
                .entries
                .iter()
                .find(|e| e.index == *index)
                .map(|e| &e.payload);
            assert!(
                matches!(held, Some(Payload::Command { command, .. }) if command == value),
                "{} lacks acknowledged {value:?} at {index}",
                dir.display()
            );
        }
    }
}

/// `dsys cluster up` reports a node that dies, exits non-zero when all
/// have, and passes SIGTERM on so that its nodes stop cleanly.
#[cfg(unix)]
#[test]
fn cluster_up_supervises_its_nodes() {
    let start = |dir: &Path| {
        let mut child = Command::new(DSYS)
            .args([
                "cluster",
                "up",
                "--nodes",
                "2",
                "--algorithm",
                "bully",
                "--dir",
            ])
            .arg(dir)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = gather(child.stdout.take().unwrap());
        (child, lines)
    };
    let has = |lines: &Arc<Mutex<Vec<String>>>, text: &str| {
        lines.lock().unwrap().iter().any(|l| l.contains(text))
    };
    let pids = |lines: &Arc<Mutex<Vec<String>>>| -> Vec<String> {
        let lines = lines.lock().unwrap();
        lines
            .iter()
            .filter_map(|l| l.split("(pid ").nth(1))
            .map(|rest| rest.trim_end_matches(')').to_string())
            .collect()
    };
    let kill = |signal: &str, pid: &str| {
        assert!(Command::new("kill")
            .args([signal, pid])
            .status()
            .unwrap()
            .success());
    };

    // Both nodes killed: each death reported, then the cluster gives up.
    let dir = tempfile::tempdir().unwrap();
    let (mut up, lines) = start(&dir.path().join("a"));
    wait_for("both nodes started", || pids(&lines).len() == 2);
    let nodes = pids(&lines);
    kill("-KILL", &nodes[0]);
    wait_for("the first death reported", || has(&lines, "n0 exited"));
    kill("-KILL", &nodes[1]);
    let status = up.wait().unwrap();
    assert!(!status.success(), "every node died: {status}");
    assert!(has(&lines, "n1 exited"));

    // SIGTERM to the cluster: its nodes stop cleanly, and it exits 0.
    let (mut up, lines) = start(&dir.path().join("b"));
    wait_for("both nodes running", || {
        has(&lines, "n0: listening") && has(&lines, "n1: listening")
    });
    kill("-TERM", &up.id().to_string());
    let status = up.wait().unwrap();
    assert!(status.success(), "{status}");
    wait_for("both nodes stopped cleanly", || {
        has(&lines, "n0: stopping") && has(&lines, "n1: stopping")
    });
}

/// What the man in the middle does to the next chunk of bytes from node 0
/// to node 1.
const RELAY: u8 = 0;
const FLIP_A_BIT: u8 = 1;
const REPLAY: u8 = 2;

/// A TCP relay on its own port that forwards every connection to `target`,
/// and can tamper with one chunk going in, on request: the on-path
/// attacker, in the test process.
struct Relay {
    addr: std::net::SocketAddr,
    mode: Arc<std::sync::atomic::AtomicU8>,
    tampered: Arc<std::sync::atomic::AtomicU32>,
}

impl Relay {
    fn start(listener: TcpListener, target: std::net::SocketAddr) -> Relay {
        use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(AtomicU8::new(RELAY));
        let tampered = Arc::new(AtomicU32::new(0));
        let (m, t) = (Arc::clone(&mode), Arc::clone(&tampered));
        std::thread::spawn(move || {
            for inbound in listener.incoming().map_while(Result::ok) {
                let Ok(outbound) = std::net::TcpStream::connect(target) else {
                    continue;
                };
                let (m, t) = (Arc::clone(&m), Arc::clone(&t));
                let (mut in_read, mut out_write) =
                    (inbound.try_clone().unwrap(), outbound.try_clone().unwrap());
                std::thread::spawn(move || {
                    use std::io::{Read as _, Write as _};
                    let mut buf = [0u8; 16 * 1024];
                    while let Ok(n @ 1..) = in_read.read(&mut buf) {
                        let chunk = &mut buf[..n];
                        let sent = match m.swap(RELAY, Ordering::SeqCst) {
                            FLIP_A_BIT => {
                                chunk[n - 1] ^= 1;
                                t.fetch_add(1, Ordering::SeqCst);
                                out_write.write_all(chunk)
                            }
                            REPLAY => {
                                t.fetch_add(1, Ordering::SeqCst);
                                out_write
                                    .write_all(chunk)
                                    .and_then(|()| out_write.write_all(chunk))
                            }
                            _ => out_write.write_all(chunk),
                        };
                        if sent.is_err() {
                            break;
                        }
                    }
                    let _ = out_write.shutdown(std::net::Shutdown::Both);
                });
                let (mut out_read, mut in_write) = (outbound, inbound);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut out_read, &mut in_write);
                    let _ = in_write.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        Relay {
            addr,
            mode,
            tampered,
        }
    }

    /// Tampers with the next chunk as `mode` says, and waits until it has.
    fn tamper(&self, mode: u8) {
        use std::sync::atomic::Ordering;
        let before = self.tampered.load(Ordering::SeqCst);
        self.mode.store(mode, Ordering::SeqCst);
        wait_for("the relay to tamper with a chunk", || {
            self.tampered.load(Ordering::SeqCst) > before
        });
    }
}

/// Counts the lines of `node`'s log that contain every one of `words`.
fn count_logged(node: &NodeProcess, words: &[&str]) -> usize {
    let logs = node.logs.lock().unwrap();
    logs.iter()
        .filter(|l| words.iter().all(|w| l.contains(w)))
        .count()
}

/// An attacker on the path, in its own thread of the test process, against
/// `dsys node` processes: node 2 is stopped and the attacker holds its
/// port, relaying every dial to it into node 1 (the handshake is refused:
/// it names node 2); node 0 reaches node 1 only through the attacker, who
/// relays honestly (the cluster works: the attacker only sees ciphertext),
/// then flips one bit, then replays a chunk: node 1 closes the connection
/// each time, logs why, and nothing the attacker sent is taken. After each
/// attack node 0 reconnects and the cluster commits again.
#[test]
fn an_attacker_on_the_path_can_relay_but_never_forge_replay_or_impersonate() {
    let dir = tempfile::tempdir().unwrap();
    let (cluster, _) = write_cluster_file(dir.path());
    let file = dsys::net::ClusterFile::load(&cluster).unwrap();
    let real = |id: usize| file.nodes[id].addr;
    // Node 2's port, taken by the attacker: dials to n2 go to node 1.
    let stolen = TcpListener::bind(real(2)).expect("node 2's port is free: it never starts");
    let _impostor = Relay::start(stolen, real(1));
    // Node 0's cluster file sends it to node 1 through the attacker.
    let on_path = Relay::start(TcpListener::bind("127.0.0.1:0").unwrap(), real(1));
    let text = std::fs::read_to_string(&cluster).unwrap();
    let via = dir.path().join("via-relay.toml");
    std::fs::write(
        &via,
        text.replace(&real(1).to_string(), &on_path.addr.to_string()),
    )
    .unwrap();
    let n0 = NodeProcess::start(&via, 0);
    let n1 = NodeProcess::start(&cluster, 1);

    // The stolen port: node 0's dial to n2, relayed into node 1, is refused
    // there, with the reason, at the default log level.
    wait_for("node 1 refusing a handshake meant for n2", || {
        n1.logged(&["connection refused", "the peer wants node n2"])
    });
    // The honest relay carries a working cluster.
    propose(&cluster, "before");
    for (mode, what) in [(FLIP_A_BIT, "a flipped bit"), (REPLAY, "a replayed chunk")] {
        let closed = |n: &NodeProcess| count_logged(n, &["closing the connection"]);
        let before = closed(&n1);
        on_path.tamper(mode);
        wait_for(
            &format!("node 1 closing the connection after {what}"),
            || closed(&n1) > before,
        );
        propose(&cluster, what);
    }
    assert!(
        n1.logged(&["closing the connection: nothing more from it is trusted"]),
        "{:?}",
        n1.logs.lock().unwrap()
    );
    drop(n0);
}
