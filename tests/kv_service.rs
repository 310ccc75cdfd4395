//! `dsys kv serve` as a client sees it, for each backend: three replica
//! processes on loopback, the HTTP API used through a follower (redirects
//! followed), exactly-once retries by Idempotency-Key, every kind of bad
//! input refused with a JSON 4xx, /status and /metrics, and the `dsys kv`
//! client.

#[path = "support/kv_cluster.rs"]
mod kv_cluster;

use std::process::Command;
use std::time::{Duration, Instant};

use awc::http::Method;
use kv_cluster::KvCluster;
use serde_json::{json, Value};

const DSYS: &str = env!("CARGO_BIN_EXE_dsys");

/// One HTTP call; the status and the JSON answer.
async fn call(
    client: &awc::Client,
    method: Method,
    url: &str,
    body: Option<&str>,
    idempotency_key: Option<&str>,
) -> (u16, Value, Option<String>) {
    let mut request = client.request(method, url);
    if let Some(key) = idempotency_key {
        request = request.insert_header(("Idempotency-Key", key));
    }
    let sent = match body {
        Some(body) => request.send_body(body.to_string()).await,
        None => request.send().await,
    };
    let mut response = sent.unwrap_or_else(|e| panic!("{url}: {e}"));
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    let bytes = response.body().limit(1 << 20).await.unwrap();
    let answer = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| json!({ "text": String::from_utf8_lossy(&bytes).to_string() }));
    (response.status().as_u16(), answer, location)
}

/// [`call`], following redirects to the leader and waiting while none is
/// known.
async fn call_leader(
    client: &awc::Client,
    method: Method,
    url: &str,
    body: Option<&str>,
    idempotency_key: Option<&str>,
) -> (u16, Value) {
    let mut url = url.to_string();
    loop {
        let (status, answer, location) =
            call_through_elections(client, method.clone(), &url, body, idempotency_key).await;
        match status {
            307 => url = location.expect("a redirect names the leader"),
            _ => return (status, answer),
        }
    }
}

/// [`call`], again every 100 ms for up to 20 s while the replica answers
/// 503: no leader known, an election under way (a suspicion on a loaded
/// machine can start one at any moment).
async fn call_through_elections(
    client: &awc::Client,
    method: Method,
    url: &str,
    body: Option<&str>,
    idempotency_key: Option<&str>,
) -> (u16, Value, Option<String>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answered = call(client, method.clone(), url, body, idempotency_key).await;
        if answered.0 != 503 || Instant::now() >= deadline {
            return answered;
        }
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
}

fn client() -> awc::Client {
    awc::Client::builder()
        .disable_redirects()
        .timeout(Duration::from_secs(10))
        .finish()
}

/// Waits until every replica answers /status, one of them as the leader.
async fn wait_for_leader(client: &awc::Client, cluster: &KvCluster) -> usize {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut leader = None;
        let mut up = 0;
        for url in cluster.urls() {
            let Ok(mut response) = client.get(format!("{url}/status")).send().await else {
                continue;
            };
            let Ok(status) = response.json::<Value>().await else {
                continue;
            };
            up += 1;
            if let Some(l) = status["leader"].as_u64() {
                leader = Some(l as usize);
            }
        }
        if let (Some(leader), true) = (leader, up == cluster.urls().len()) {
            return leader;
        }
        assert!(
            Instant::now() < deadline,
            "no leader within 20 s\n{}",
            cluster.dump()
        );
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One cluster at a time: free ports are chosen before the processes bind
/// them, and a second cluster choosing meanwhile could pick the same.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn check_backend(backend: &str) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let cluster = KvCluster::start(dir.path(), 3, backend);
    actix_rt::System::new().block_on(async {
        let client = client();
        let leader = wait_for_leader(&client, &cluster).await;
        let follower = (leader + 1) % 3;
        let other = (leader + 2) % 3;
        let at = |id: usize, path: &str| format!("{}{path}", cluster.urls()[id]);

        // A follower redirects to the leader, with the leader's URL (once
        // it knows one: on a loaded machine a suspicion can start an
        // election between the two calls, and the follower answers 503
        // until it ends).
        let (status, answer, location) = call_through_elections(
            &client,
            Method::PUT,
            &at(follower, "/kv/greeting"),
            Some(r#"{"value":"hello"}"#),
            None,
        )
        .await;
        if status == 307 {
            // The redirect names a leader and points at its URL: the one
            // found above, unless the leader moved meanwhile.
            let named = answer["leader"]
                .as_u64()
                .expect("a redirect names the leader") as usize;
            assert_eq!(
                location.as_deref(),
                Some(at(named, "/kv/greeting").as_str())
            );
        } else {
            // The leader moved between the two calls; the write went through.
            assert_eq!(status, 200, "{answer}");
        }

        // Put, get (from another replica), cas, append, delete.
        let (status, answer) = call_leader(
            &client,
            Method::PUT,
            &at(follower, "/kv/greeting"),
            Some(r#"{"value":"hello"}"#),
            None,
        )
        .await;
        assert_eq!(
            (status, &answer["written"]),
            (200, &json!(true)),
            "{answer}"
        );
        let (status, answer) =
            call_leader(&client, Method::GET, &at(other, "/kv/greeting"), None, None).await;
        assert_eq!(
            (status, &answer["value"]),
            (200, &json!("hello")),
            "{answer}"
        );
        let cas = |expect: &str| format!(r#"{{"expect":"{expect}","new":"world"}}"#);
        let (_, answer) = call_leader(
            &client,
            Method::POST,
            &at(leader, "/kv/greeting/cas"),
            Some(&cas("nope")),
            None,
        )
        .await;
        assert_eq!(answer["swapped"], json!(false), "{answer}");
        let (_, answer) = call_leader(
            &client,
            Method::POST,
            &at(leader, "/kv/greeting/cas"),
            Some(&cas("hello")),
            None,
        )
        .await;
        assert_eq!(answer["swapped"], json!(true), "{answer}");
        // An append retried with the same Idempotency-Key takes effect once.
        for _ in 0..3 {
            let (status, answer) = call_leader(
                &client,
                Method::POST,
                &at(follower, "/kv/greeting/append"),
                Some(r#"{"value":"!"}"#),
                Some("append-once"),
            )
            .await;
            assert_eq!(status, 200, "{answer}");
        }
        let (_, answer) = call_leader(
            &client,
            Method::GET,
            &at(leader, "/kv/greeting"),
            None,
            None,
        )
        .await;
        assert_eq!(answer["value"], json!("world!"), "{answer}");
        let (status, _) = call_leader(
            &client,
            Method::DELETE,
            &at(leader, "/kv/greeting"),
            None,
            None,
        )
        .await;
        assert_eq!(status, 200);
        let (status, answer) = call_leader(
            &client,
            Method::GET,
            &at(leader, "/kv/greeting"),
            None,
            None,
        )
        .await;
        assert_eq!((status, &answer["error"]), (404, &json!("no such key")));

        // Bad input: a JSON error naming what is wrong, and nothing crashes.
        let long_key = "k".repeat(300);
        let big_value = format!(r#"{{"value":"{}"}}"#, "v".repeat(70_000));
        let cases: [(Method, String, Option<&str>, u16, &str); 7] = [
            (
                Method::PUT,
                "/kv/x".into(),
                Some(r#"{"value":"#),
                400,
                "malformed JSON",
            ),
            (
                Method::PUT,
                "/kv/x".into(),
                Some(r#"{"valu":"a"}"#),
                400,
                "unknown field",
            ),
            (
                Method::PUT,
                "/kv/x".into(),
                Some(r#"{"value":""}"#),
                400,
                "DELETE the key",
            ),
            (
                Method::PUT,
                format!("/kv/{long_key}"),
                Some(r#"{"value":"a"}"#),
                400,
                "bad key",
            ),
            (
                Method::PUT,
                "/kv/x".into(),
                Some(big_value.as_str()),
                413,
                "too large",
            ),
            (
                Method::GET,
                "/kv/x?read=sometimes".into(),
                None,
                400,
                "read=local",
            ),
            (Method::PATCH, "/kv/x".into(), None, 404, "no route"),
        ];
        for (method, path, body, expected, says) in cases {
            let (status, answer, _) =
                call(&client, method.clone(), &at(leader, &path), body, None).await;
            let error = answer["error"].as_str().unwrap_or_default();
            assert_eq!(status, expected, "{method} {path}: {answer}");
            assert!(
                error.contains(says),
                "{method} {path}: {error:?} should say {says:?}"
            );
        }
        for id in 0..3 {
            assert!(cluster.is_up(id));
        }

        // Status and metrics.
        let (status, answer, _) =
            call(&client, Method::GET, &at(leader, "/status"), None, None).await;
        assert_eq!(status, 200);
        assert_eq!(answer["backend"], json!(backend));
        assert_eq!(answer["leader"], json!(leader));
        assert_eq!(answer["peers"].as_array().map(Vec::len), Some(2));
        let mut response = client.get(at(leader, "/metrics")).send().await.unwrap();
        let text = String::from_utf8(response.body().await.unwrap().to_vec()).unwrap();
        assert!(
            text.contains("dsys_kv_requests_total{op=\"put\",status=\"200\"}"),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "dsys_kv_is_leader{{node=\"{leader}\",backend=\"{backend}\"}} 1"
            )),
            "{text}"
        );
    });

    // The command-line client, following redirects from the first replica.
    let kv = |args: &[&str]| {
        let out = Command::new(DSYS)
            .arg("kv")
            .args(args)
            .arg("--cluster")
            .arg(cluster.cluster_file())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    assert!(kv(&["put", "color", "blue"]).0);
    let (ok, out) = kv(&["get", "color"]);
    assert!(ok && out.contains("\"value\": \"blue\""), "{out}");
    let (ok, out) = kv(&["get", "nothing"]);
    assert!(!ok && out.contains("no such key"), "{out}");
    // A key that a path cannot hold as is: the client escapes it.
    let odd = "a b/c?é";
    assert!(kv(&["put", odd, "x"]).0);
    let (ok, out) = kv(&["get", odd]);
    assert!(ok && out.contains("\"value\": \"x\""), "{out}");
}

#[test]
fn raft_serves_the_http_api() {
    check_backend("raft");
}

#[test]
fn multi_paxos_serves_the_http_api() {
    check_backend("multi-paxos");
}

#[test]
fn primary_backup_serves_the_http_api() {
    check_backend("primary-backup");
}
