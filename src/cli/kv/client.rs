//! `dsys kv get|put|append|delete|cas`: the store's HTTP API for people
//! without curl. Follows a follower's redirect to the leader, waits and
//! retries while no leader is known, prints the answer's JSON.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use awc::http::{Method, StatusCode};
use serde_json::{json, Value};

use super::{KvCommand, Target};
use crate::net::ClusterFile;

/// Redirects followed before giving up (a leader that keeps moving).
const REDIRECTS_MAX: usize = 5;
/// How long the client keeps retrying while no leader is known.
const UNAVAILABLE_PATIENCE: Duration = Duration::from_secs(10);

/// One HTTP call: method, path under the base URL, JSON body, headers.
struct Request {
    method: Method,
    path: String,
    body: Option<Value>,
    idempotency_key: Option<String>,
}

impl Request {
    fn new(
        method: Method,
        path: String,
        body: Option<Value>,
        idempotency_key: Option<String>,
    ) -> Self {
        Request {
            method,
            path,
            body,
            idempotency_key,
        }
    }
}

pub(super) fn run(command: KvCommand) -> anyhow::Result<ExitCode> {
    let key_path = |key: &str| format!("/kv/{}", escape(key));
    let value = |value: String| Some(json!({ "value": value }));
    let (target, request) = match command {
        KvCommand::Get { target, key, local } => {
            let read = if local { "?read=local" } else { "" };
            let path = format!("{}{read}", key_path(&key));
            (target, Request::new(Method::GET, path, None, None))
        }
        KvCommand::Put {
            target,
            key,
            value: v,
            idempotency_key,
        } => (
            target,
            Request::new(Method::PUT, key_path(&key), value(v), idempotency_key),
        ),
        KvCommand::Append {
            target,
            key,
            value: v,
            idempotency_key,
        } => {
            let path = format!("{}/append", key_path(&key));
            (
                target,
                Request::new(Method::POST, path, value(v), idempotency_key),
            )
        }
        KvCommand::Delete { target, key } => (
            target,
            Request::new(Method::DELETE, key_path(&key), None, None),
        ),
        KvCommand::Cas {
            target,
            key,
            expect,
            new,
        } => {
            let path = format!("{}/cas", key_path(&key));
            let body = Some(json!({ "expect": expect, "new": new }));
            (target, Request::new(Method::POST, path, body, None))
        }
        KvCommand::Serve(_) | KvCommand::Up(_) => unreachable!("not a client command"),
    };
    let base = base_url(&target)?;
    let (status, answer) = actix_rt::System::new().block_on(send(base, request))?;
    outln!("{}", serde_json::to_string_pretty(&answer)?)?;
    Ok(if status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Percent-encodes what a path segment cannot hold as is.
fn escape(key: &str) -> String {
    let mut out = String::new();
    for byte in key.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn base_url(target: &Target) -> anyhow::Result<String> {
    if let Some(url) = &target.url {
        return Ok(url.trim_end_matches('/').to_string());
    }
    let Some(path) = &target.cluster else {
        bail!("say where the store is: --cluster FILE (as `dsys kv up` wrote it) or --url http://HOST:PORT");
    };
    let file = ClusterFile::load(path)?;
    let addr = file
        .nodes
        .iter()
        .find_map(|n| n.http)
        .with_context(|| format!("no node in {} has an `http` address", path.display()))?;
    Ok(format!("http://{addr}"))
}

/// Sends `request`, following redirects and waiting out "no leader yet".
async fn send(mut base: String, request: Request) -> anyhow::Result<(StatusCode, Value)> {
    let client = awc::Client::builder()
        .disable_redirects()
        .timeout(Duration::from_secs(10))
        .finish();
    let started = std::time::Instant::now();
    let mut redirects = 0;
    loop {
        let url = format!("{base}{}", request.path);
        let mut builder = client.request(request.method.clone(), &url);
        if let Some(key) = &request.idempotency_key {
            builder = builder.insert_header(("Idempotency-Key", key.as_str()));
        }
        let sent = match &request.body {
            Some(body) => builder.send_json(body).await,
            None => builder.send().await,
        };
        let mut response = sent.map_err(|e| anyhow::anyhow!("cannot reach {url}: {e}"))?;
        let status = response.status();
        let bytes = response
            .body()
            .await
            .with_context(|| format!("cannot read the answer from {url}"))?;
        let answer: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| json!({ "answer": String::from_utf8_lossy(&bytes) }));
        match status {
            StatusCode::TEMPORARY_REDIRECT if redirects < REDIRECTS_MAX => {
                let location = response
                    .headers()
                    .get("location")
                    .and_then(|l| l.to_str().ok())
                    .context("a redirect without a Location")?;
                // Location is the whole URL of the same path on the leader.
                base = location
                    .strip_suffix(request.path.as_str())
                    .unwrap_or(location)
                    .to_string();
                redirects += 1;
            }
            StatusCode::SERVICE_UNAVAILABLE if started.elapsed() < UNAVAILABLE_PATIENCE => {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            _ => return Ok((status, answer)),
        }
    }
}
