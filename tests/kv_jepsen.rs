//! A Jepsen-style test of the real store: three `dsys kv serve --backend
//! raft` processes on loopback, several HTTP clients reading, writing,
//! appending and compare-and-setting a few keys, and a nemesis that
//! SIGKILLs and restarts replicas (they recover from their data
//! directories), pauses them with SIGSTOP (a replica that answers nobody),
//! and cuts a replica's links to the others both ways through the
//! transport's fault hooks (`DSYS_KV_TEST_FAULTS`; clients still reach it,
//! so a deposed leader is asked) — one fault at a time, so a majority
//! stays. Every call is recorded as the client saw it: answered, refused
//! before it could take effect, or of unknown outcome. At the end the
//! clients read every key once more, and the whole history must be
//! linearizable — so no acknowledged write was lost.
//!
//! `cargo test --release --test kv_jepsen` runs 8 s of it; the soak,
//! `DSYS_SOAK_SECS=600 cargo test --release --test kv_jepsen -- --ignored`,
//! runs as long as asked.

#[path = "support/kv_cluster.rs"]
mod kv_cluster;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use awc::http::Method;
use dsys::core::rand::{RngExt, SeedableRng};
use dsys::core::NodeRng;
use dsys::replication::consistency::check_linearizable;
use dsys::replication::consistency::history::{OpId, Recorder};
use dsys::replication::consistency::models::{Kv, KvOp, KvRet};
use dsys::replication::consistency::report::{Budget, Verdict};
use dsys::replication::kv::simulate::random_op;
use kv_cluster::KvCluster;
use serde_json::{json, Value};

const NODES: usize = 3;
const CLIENTS: usize = 6;
const KEYS: usize = 3;
/// One HTTP attempt's limit (the server waits up to 5 s for its node).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// One call's limit, over all its attempts.
const CALL_PATIENCE: Duration = Duration::from_secs(6);

/// How one call ended, for the history and the counts.
#[derive(Clone, Debug, PartialEq)]
enum Ending {
    /// Answered.
    Ok(KvRet),
    /// Refused before it could take effect (or a get that failed).
    Failed,
    /// It may or may not have taken effect.
    Unknown,
}

/// What one HTTP attempt gave.
enum Attempt {
    Answer(KvRet),
    Redirect(String),
    /// Refused without effect: 503, connection refused.
    Refused,
    /// No answer: it may have taken effect.
    Lost,
}

struct Shared {
    start: Instant,
    recorder: Recorder<KvOp, KvRet>,
    counts: [u64; 3],
}

impl Shared {
    fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }
}

fn client() -> awc::Client {
    awc::Client::builder()
        .disable_redirects()
        .timeout(ATTEMPT_TIMEOUT)
        .finish()
}

async fn attempt(client: &awc::Client, url: &str, op: &KvOp, idempotency_key: &str) -> Attempt {
    let (method, path, body) = match op {
        KvOp::Get { key } => (Method::GET, format!("/kv/{key}"), None),
        KvOp::Put { key, value } => (
            Method::PUT,
            format!("/kv/{key}"),
            Some(json!({ "value": value })),
        ),
        KvOp::Append { key, value } => (
            Method::POST,
            format!("/kv/{key}/append"),
            Some(json!({ "value": value })),
        ),
        KvOp::Cas { key, expect, new } => (
            Method::POST,
            format!("/kv/{key}/cas"),
            Some(json!({ "expect": expect, "new": new })),
        ),
        KvOp::Delete { key } => (Method::DELETE, format!("/kv/{key}"), None),
    };
    let request = client
        .request(method, format!("{url}{path}"))
        .insert_header(("Idempotency-Key", idempotency_key));
    let sent = match body {
        Some(body) => request.send_json(&body).await,
        None => request.send().await,
    };
    let mut response = match sent {
        Ok(response) => response,
        // Nothing reached the server: no effect.
        Err(awc::error::SendRequestError::Connect(_)) => return Attempt::Refused,
        Err(_) => return Attempt::Lost,
    };
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(str::to_string);
    let Ok(answer) = response.json::<Value>().await else {
        return Attempt::Lost;
    };
    match (status, op) {
        (200, KvOp::Get { .. }) => Attempt::Answer(KvRet::Value(
            answer["value"].as_str().unwrap_or_default().to_string(),
        )),
        (404, KvOp::Get { .. }) => Attempt::Answer(KvRet::Value(String::new())),
        (200, KvOp::Cas { .. }) => Attempt::Answer(KvRet::Cas(answer["swapped"] == json!(true))),
        (200, _) => Attempt::Answer(KvRet::Done),
        (307, _) => match location {
            Some(location) => Attempt::Redirect(location.trim_end_matches(&path).to_string()),
            None => Attempt::Refused,
        },
        (503, _) => Attempt::Refused,
        (504, _) => Attempt::Lost,
        (other, _) => panic!("{op:?}: unexpected HTTP {other}: {answer}"),
    }
}

/// One call, over as many attempts (same Idempotency-Key) as it takes.
async fn run_call(
    client: &awc::Client,
    urls: &[String],
    rng: &mut NodeRng,
    op: &KvOp,
    idempotency_key: &str,
) -> Ending {
    let started = Instant::now();
    let mut url = urls[rng.random_range(0..urls.len())].clone();
    let mut maybe_applied = false;
    while started.elapsed() < CALL_PATIENCE {
        match attempt(client, &url, op, idempotency_key).await {
            Attempt::Answer(ret) => return Ending::Ok(ret),
            Attempt::Redirect(leader) => url = leader,
            failed => {
                maybe_applied |= matches!(failed, Attempt::Lost);
                actix_rt::time::sleep(Duration::from_millis(100)).await;
                url = urls[rng.random_range(0..urls.len())].clone();
            }
        }
    }
    if maybe_applied && !op.is_read() {
        Ending::Unknown
    } else {
        Ending::Failed
    }
}

/// Cuts every link between replica `victim` and the others, both ways,
/// through the replicas' test-only fault hooks (clients still reach it).
async fn isolate(urls: &[String], victim: usize) {
    let http = client();
    for (id, url) in urls.iter().enumerate() {
        let to: Vec<usize> = if id == victim {
            (0..urls.len()).filter(|&o| o != victim).collect()
        } else {
            vec![victim]
        };
        let answer = http
            .post(format!("{url}/faults/cut"))
            .send_json(&json!({ "to": to }))
            .await;
        assert!(
            answer.is_ok_and(|r| r.status().is_success()),
            "n{id} refused to cut its links"
        );
    }
}

/// Restores every link.
async fn heal(urls: &[String]) {
    let http = client();
    for url in urls {
        let _ = http.post(format!("{url}/faults/heal")).send().await;
    }
}

/// The leader some replica names in its /status.
async fn leader(urls: &[String]) -> Option<usize> {
    let http = client();
    for url in urls {
        let Ok(mut response) = http.get(format!("{url}/status")).send().await else {
            continue;
        };
        if let Ok(status) = response.json::<Value>().await
            && let Some(leader) = status["leader"].as_u64()
        {
            return Some(leader as usize);
        }
    }
    None
}

/// Records `op`'s call by `client` and makes it; returns whether the
/// client may go on under the same id (not after an unknown outcome).
async fn record_call(
    shared: &Rc<RefCell<Shared>>,
    http: &awc::Client,
    urls: &[String],
    rng: &mut NodeRng,
    client: u64,
    n: u64,
    op: KvOp,
) -> bool {
    let id: OpId = {
        let mut s = shared.borrow_mut();
        let now = s.now();
        s.recorder.invoke(client, now, op.clone()).unwrap()
    };
    let ending = run_call(http, urls, rng, &op, &format!("c{client}-{n}")).await;
    let mut s = shared.borrow_mut();
    let now = s.now();
    match ending {
        Ending::Ok(ret) => {
            s.recorder.complete(id, now, ret).unwrap();
            s.counts[0] += 1;
            true
        }
        Ending::Failed => {
            s.recorder.fail(id, now).unwrap();
            s.counts[1] += 1;
            true
        }
        Ending::Unknown => {
            s.counts[2] += 1;
            false
        }
    }
}

/// Runs the cluster under the nemesis for `duration` with `CLIENTS`
/// clients, then reads every key; returns the verdict and prints counts.
fn jepsen(duration: Duration, seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Rc::new(RefCell::new(KvCluster::start(dir.path(), NODES, "raft")));
    let urls: Vec<String> = cluster.borrow().urls().to_vec();
    let shared = Rc::new(RefCell::new(Shared {
        start: Instant::now(),
        recorder: Recorder::new(),
        counts: [0; 3],
    }));
    let mut faults = Vec::new();
    actix_rt::System::new().block_on(async {
        let deadline = Instant::now() + duration;
        let mut tasks = Vec::new();
        for slot in 0..CLIENTS as u64 {
            let (shared, urls) = (Rc::clone(&shared), urls.clone());
            tasks.push(actix_rt::spawn(async move {
                let http = client();
                let mut rng = NodeRng::seed_from_u64(seed ^ (slot << 8));
                // A client that saw an unknown outcome continues as a new one.
                let mut client = slot;
                let mut n = 0;
                while Instant::now() < deadline {
                    n += 1;
                    let op = random_op(&mut rng, KEYS, 40);
                    if !record_call(&shared, &http, &urls, &mut rng, client, n, op).await {
                        client += CLIENTS as u64;
                    }
                }
                client
            }));
        }

        // The nemesis: every 0.5–1.5 s, one replica is killed and restarted,
        // or paused and resumed, a moment later.
        let mut rng = NodeRng::seed_from_u64(seed ^ 0x6e656d);
        // Kill, pause, cut, kill, …: every kind early, whatever the length.
        let mut kinds = (0..3).cycle();
        while Instant::now() + Duration::from_secs(2) < deadline {
            actix_rt::time::sleep(Duration::from_millis(rng.random_range(500..1_500))).await;
            // Half the time the leader, whose loss costs the most.
            let victim = match leader(&urls).await {
                Some(leader) if rng.random_bool(0.5) => leader,
                _ => rng.random_range(0..NODES),
            };
            let down = Duration::from_millis(rng.random_range(300..1_200));
            match kinds.next().expect("a cycle never ends") {
                0 => {
                    cluster.borrow_mut().kill(victim);
                    faults.push(format!("kill n{victim} for {down:?}"));
                    actix_rt::time::sleep(down).await;
                    cluster.borrow_mut().restart(victim);
                }
                1 => {
                    cluster.borrow_mut().pause(victim);
                    faults.push(format!("pause n{victim} for {down:?}"));
                    actix_rt::time::sleep(down).await;
                    cluster.borrow_mut().resume(victim);
                }
                _ => {
                    isolate(&urls, victim).await;
                    faults.push(format!("cut n{victim} off for {down:?}"));
                    actix_rt::time::sleep(down).await;
                    heal(&urls).await;
                }
            }
        }
        let mut last_clients = Vec::new();
        for task in tasks {
            last_clients.push(task.await.expect("a client task finishes"));
        }

        // Healed: every key read once more, by each client's last id.
        let http = client();
        let mut rng = NodeRng::seed_from_u64(seed ^ 0x66696e);
        for (i, client) in last_clients.into_iter().enumerate() {
            if i >= KEYS {
                break;
            }
            let op = KvOp::Get {
                key: format!("k{i}"),
            };
            record_call(&shared, &http, &urls, &mut rng, client, u64::MAX - 1, op).await;
        }
    });
    let Shared {
        recorder, counts, ..
    } = Rc::try_unwrap(shared)
        .ok()
        .expect("the clients are done")
        .into_inner();
    let history = recorder.finish();
    let report = check_linearizable(&Kv, &history, Budget::default());
    let kinds = ["kill", "pause", "cut"].map(|kind| {
        let n = faults.iter().filter(|f| f.starts_with(kind)).count();
        format!("{n} {kind}")
    });
    println!(
        "jepsen: {:?} under {} faults ({}; the last: {}); {} operations: {} ok, {} failed, {} indeterminate; linearizable: {}",
        duration,
        faults.len(),
        kinds.join(", "),
        faults.last().map_or("none", String::as_str),
        counts.iter().sum::<u64>(),
        counts[0],
        counts[1],
        counts[2],
        report.verdict
    );
    assert!(
        counts[0] > 50,
        "too few calls answered to judge: {counts:?}\n{}",
        cluster.borrow().dump()
    );
    assert_eq!(
        report.verdict,
        Verdict::Holds,
        "{report}\n{}",
        cluster.borrow().dump()
    );
}

#[test]
fn the_real_cluster_stays_linearizable_under_kills_and_pauses() {
    jepsen(Duration::from_secs(8), 1);
}

/// The soak: `DSYS_SOAK_SECS` seconds (default 120).
#[test]
#[ignore = "a long soak; run it by hand"]
fn soak() {
    let secs = std::env::var("DSYS_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    jepsen(Duration::from_secs(secs), secs);
}
