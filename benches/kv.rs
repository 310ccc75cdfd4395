//! The replicated key-value store's speed, in one run.
//!
//! **In process.** Three replicas of each backend (primary-backup,
//! active, Raft, Multi-Paxos) on the actix runtime, one thread, over
//! `LocalTransport`, in-memory storage; closed-loop clients made of the
//! library's own [`FrontEnd`] (each keeps one call outstanding, follows
//! redirects, takes the first answer), 1 and 64 of them, with 90% gets /
//! 10% puts and 50/50, on 100 keys. Operations per second, p50 and p99.
//!
//! **Over HTTP.** Three `dsys kv serve --backend raft` processes on
//! loopback, and 64 concurrent HTTP clients (awc, two threads) calling the
//! leader for a fixed time, 90% gets; beside them in the same run, the same
//! load generator against a bare actix-web handler that returns a constant
//! — the ratio says what replication costs over HTTP alone.
//!
//! `cargo bench --features bench --bench kv`.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use dsys::consensus::multi_paxos::{MultiPaxos, MultiPaxosConfig};
use dsys::consensus::raft::{MemStorage, Raft, RaftConfig};
use dsys::consensus::stable::Stable;
use dsys::core::rand::{RngExt, SeedableRng};
use dsys::core::runtime::Cluster;
use dsys::core::{NodeId, NodeRng};
use dsys::net::NodeKey;
use dsys::replication::active::{Active, ActiveConfig};
use dsys::replication::consistency::models::KvOp;
use dsys::replication::kv::consensus::KvMachine;
use dsys::replication::kv::simulate::random_op;
use dsys::replication::kv::{Answer, FrontEnd, Read, Replica, Step};
use dsys::replication::primary_backup::{PrimaryBackup, PrimaryBackupConfig};
use serde_json::{json, Value};

const KEYS: usize = 100;
const MIXES: [(&str, u32); 2] = [("90/10", 90), ("50/50", 50)];
const CLIENTS: [usize; 2] = [1, 64];
const HTTP_CLIENTS: usize = 64;
const HTTP_SECONDS: u64 = 5;

fn op(rng: &mut NodeRng, reads_percent: u32) -> KvOp {
    random_op(rng, KEYS, reads_percent)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// Operations per second, p50, p99.
fn summary(mut latencies: Vec<Duration>, elapsed: Duration) -> (f64, Duration, Duration) {
    latencies.sort_unstable();
    (
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
    )
}

/// `ops` calls by `clients` closed-loop front ends against three replicas
/// of `R` made by `factory`, after one warm-up write; returns the rate
/// and latencies.
fn in_process<R: Replica>(
    factory: impl FnMut(NodeId) -> R + Send + 'static,
    clients: usize,
    reads_percent: u32,
    ops: usize,
) -> (f64, Duration, Duration)
where
    R::Request: Send,
    R::Event: Send + Sync,
{
    actix_rt::System::new().block_on(async move {
        let cluster: Cluster<R> = Cluster::builder(3)
            .on_current_arbiter()
            .event_capacity(1 << 16)
            .start(factory);
        let (tx, mut answers) = tokio::sync::mpsc::unbounded_channel::<Answer>();
        for node in cluster.nodes() {
            let mut events = node.subscribe();
            let tx = tx.clone();
            actix_rt::spawn(async move {
                while let Ok(event) = events.next().await {
                    if let Some(answer) = R::answer(&event) {
                        let _ = tx.send(answer);
                    }
                }
            });
        }
        let replicas: Vec<NodeId> = (0..3).map(NodeId).collect();
        let mut rng = NodeRng::seed_from_u64(7);
        let mut fronts: Vec<FrontEnd> = (0..clients)
            .map(|c| FrontEnd::new(c as u64, replicas.clone()))
            .collect();
        let send = |to: NodeId, call| {
            cluster
                .node(to)
                .request(R::call(call))
                .expect("the replica's mailbox has room");
        };
        // Warm up until a write is answered (a leader is elected).
        loop {
            let (to, call) = fronts[0]
                .request(
                    KvOp::Put {
                        key: "warm".into(),
                        value: "up".into(),
                    },
                    Read::Linearizable,
                )
                .expect("idle");
            send(to, call);
            let deadline = Instant::now() + Duration::from_millis(500);
            let mut done = false;
            while let Ok(Some(answer)) = tokio::time::timeout(
                deadline.saturating_duration_since(Instant::now()),
                answers.recv(),
            )
            .await
            {
                match fronts[0].on_answer(&answer) {
                    Step::Done(_) => {
                        done = true;
                        break;
                    }
                    Step::Resend { to, call } => send(to, call),
                    Step::Ignore => {}
                }
            }
            if done {
                break;
            }
            fronts[0].abandon();
        }
        let mut started: HashMap<u64, Instant> = HashMap::new();
        let mut latencies = Vec::with_capacity(ops);
        let begin = Instant::now();
        let mut issued = 0;
        for front in fronts.iter_mut() {
            let (to, call) = front
                .request(op(&mut rng, reads_percent), Read::Linearizable)
                .unwrap();
            started.insert(front.client(), Instant::now());
            send(to, call);
            issued += 1;
        }
        while latencies.len() < ops {
            let answer = answers.recv().await.expect("the replicas keep answering");
            let client = answer.id().client as usize;
            match fronts[client].on_answer(&answer) {
                Step::Done(_) => {
                    latencies.push(started[&(client as u64)].elapsed());
                    if issued < ops {
                        let (to, call) = fronts[client]
                            .request(op(&mut rng, reads_percent), Read::Linearizable)
                            .unwrap();
                        started.insert(client as u64, Instant::now());
                        send(to, call);
                        issued += 1;
                    }
                }
                Step::Resend { to, call } => send(to, call),
                Step::Ignore => {}
            }
        }
        let elapsed = begin.elapsed();
        cluster.stop();
        summary(latencies, elapsed)
    })
}

fn in_process_table() {
    println!(
        "\nThe store in process: 3 replicas on one actix thread, LocalTransport, in-memory storage"
    );
    println!(
        "{:<16} {:>7} {:>6} {:>12} {:>10} {:>10}",
        "backend", "clients", "mix", "ops/s", "p50", "p99"
    );
    for clients in CLIENTS {
        for (mix, reads) in MIXES {
            let ops = if clients == 1 { 5_000 } else { 40_000 };
            let rows: [(&str, (f64, Duration, Duration)); 4] = [
                (
                    "primary-backup",
                    in_process(
                        |_| PrimaryBackup::new(PrimaryBackupConfig::default()),
                        clients,
                        reads,
                        ops,
                    ),
                ),
                (
                    "active",
                    in_process(
                        |_| Active::new(ActiveConfig::default()),
                        clients,
                        reads,
                        ops,
                    ),
                ),
                (
                    "raft",
                    in_process(
                        |_| {
                            Raft::new(
                                RaftConfig::default(),
                                MemStorage::new(),
                                KvMachine::default(),
                            )
                            .unwrap()
                        },
                        clients,
                        reads,
                        ops,
                    ),
                ),
                (
                    "multi-paxos",
                    in_process(
                        |_| {
                            MultiPaxos::new(
                                MultiPaxosConfig::default(),
                                Stable::default(),
                                KvMachine::default(),
                            )
                            .unwrap()
                        },
                        clients,
                        reads,
                        ops,
                    ),
                ),
            ];
            for (name, (rate, p50, p99)) in rows {
                println!("{name:<16} {clients:>7} {mix:>6} {rate:>12.0} {p50:>10.1?} {p99:>10.1?}");
            }
        }
    }
}

// ----- over HTTP ---------------------------------------------------------------

/// Three `dsys kv serve --backend raft` processes; killed on drop.
struct Processes {
    children: Vec<Child>,
    urls: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_processes() -> Processes {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("name = \"bench\"\nsecret = \"a bench secret, long enough\"\n");
    let mut urls = Vec::new();
    for id in 0..3 {
        let key = NodeKey::generate();
        let key_file = dir.path().join(format!("n{id}.key"));
        key.save(&key_file).unwrap();
        let http = free_port();
        text += &format!(
            "[[node]]\nid = {id}\naddr = \"127.0.0.1:{}\"\nhttp = \"127.0.0.1:{http}\"\ndata_dir = {:?}\npublic_key = \"{}\"\nkey_file = {:?}\n",
            free_port(),
            dir.path().join(format!("n{id}")).display().to_string(),
            key.public(),
            key_file.display().to_string()
        );
        urls.push(format!("http://127.0.0.1:{http}"));
    }
    let cluster = dir.path().join("cluster.toml");
    std::fs::write(&cluster, text).unwrap();
    let children = (0..3)
        .map(|id| {
            Command::new(env!("CARGO_BIN_EXE_dsys"))
                .args(["kv", "serve", "--backend", "raft", "--init", "--cluster"])
                .arg(&cluster)
                .args(["--id", &id.to_string()])
                .env("RUST_LOG", "error")
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    Processes {
        children,
        urls,
        _dir: dir,
    }
}

/// The leader's URL, once one is known.
fn leader(urls: &[String]) -> String {
    actix_rt::System::new().block_on(async {
        let client = awc::Client::new();
        loop {
            for url in urls {
                if let Ok(mut r) = client.get(format!("{url}/status")).send().await
                    && let Ok(status) = r.json::<Value>().await
                    && let Some(l) = status["leader"].as_u64()
                {
                    return urls[l as usize].clone();
                }
            }
            actix_rt::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

/// `HTTP_CLIENTS` closed-loop clients on two threads calling `base` for
/// `HTTP_SECONDS`: 90% `GET /kv/k…`, 10% `PUT`.
fn load(base: &str) -> (f64, Duration, Duration) {
    let deadline = Instant::now() + Duration::from_secs(HTTP_SECONDS);
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let base = base.to_string();
            std::thread::spawn(move || {
                actix_rt::System::new().block_on(async move {
                    let mut tasks = Vec::new();
                    for c in 0..HTTP_CLIENTS / 2 {
                        let base = base.clone();
                        tasks.push(actix_rt::spawn(async move {
                            let client = awc::Client::builder()
                                .timeout(Duration::from_secs(10))
                                .finish();
                            let mut rng = NodeRng::seed_from_u64((t * 1000 + c) as u64);
                            let mut latencies = Vec::new();
                            while Instant::now() < deadline {
                                let key = format!("k{}", rng.random_range(0..KEYS));
                                let began = Instant::now();
                                let ok = if rng.random_range(0..100) < 90 {
                                    client.get(format!("{base}/kv/{key}")).send().await.map(
                                        |mut r| {
                                            let ok = r.status().as_u16() < 500;
                                            drop(r.body());
                                            ok
                                        },
                                    )
                                } else {
                                    client
                                        .put(format!("{base}/kv/{key}"))
                                        .send_json(&json!({"value": "v"}))
                                        .await
                                        .map(|r| r.status().is_success())
                                };
                                if ok.unwrap_or(false) {
                                    latencies.push(began.elapsed());
                                }
                            }
                            latencies
                        }));
                    }
                    let mut all = Vec::new();
                    for task in tasks {
                        all.extend(task.await.unwrap());
                    }
                    all
                })
            })
        })
        .collect();
    let began = Instant::now();
    let latencies: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    summary(
        latencies,
        began.elapsed().min(Duration::from_secs(HTTP_SECONDS)),
    )
}

/// A bare actix-web server answering every request with a constant.
fn bare_server() -> (String, actix_web::dev::ServerHandle) {
    let port = free_port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let server = HttpServer::new(|| {
                App::new().default_service(web::to(|| async {
                    HttpResponse::Ok().json(json!({"key": "k", "value": "v", "index": 1}))
                }))
            })
            .workers(2)
            .disable_signals()
            .bind(("127.0.0.1", port))
            .unwrap()
            .run();
            tx.send(server.handle()).unwrap();
            server.await.unwrap();
        })
    });
    (format!("http://127.0.0.1:{port}"), rx.recv().unwrap())
}

fn http_table() {
    println!(
        "\nOver HTTP on loopback: {HTTP_CLIENTS} clients for {HTTP_SECONDS} s, 90% gets / 10% puts"
    );
    let (bare_url, bare) = bare_server();
    let (bare_rate, bare_p50, bare_p99) = load(&bare_url);
    actix_rt::System::new().block_on(bare.stop(true));
    let processes = start_processes();
    let leader = leader(&processes.urls);
    let (rate, p50, p99) = load(&leader);
    println!(
        "{:<36} {:>12} {:>10} {:>10}",
        "server", "ops/s", "p50", "p99"
    );
    println!(
        "{:<36} {bare_rate:>12.0} {bare_p50:>10.1?} {bare_p99:>10.1?}",
        "bare actix-web (a constant)"
    );
    println!(
        "{:<36} {rate:>12.0} {p50:>10.1?} {p99:>10.1?}",
        "dsys kv serve, raft, 3 processes"
    );
    println!(
        "ratio: the replicated store serves {:.2}x the bare handler's rate",
        rate / bare_rate
    );
    drop(processes);
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing:
    // run only when benchmarking.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    in_process_table();
    http_table();
}
