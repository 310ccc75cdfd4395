//! `dsys kv serve`: one replica of the store and its HTTP/JSON API.
//!
//! | request | answer |
//! |---|---|
//! | `GET /kv/{key}` (`?read=local&min_index=N` for a local read) | 200 `{"key", "value", "index"}`; 404 if the key holds nothing |
//! | `PUT /kv/{key}` `{"value": "…"}` | 200 `{"key", "value", "index"}` |
//! | `POST /kv/{key}/append` `{"value": "…"}` | 200 `{"key", "appended", "index"}` |
//! | `POST /kv/{key}/cas` `{"expect": "…", "new": "…"}` | 200 `{"key", "swapped": bool, "index"}` |
//! | `DELETE /kv/{key}` | 200 `{"key", "deleted": true, "index"}` |
//! | `GET /status` | role, term or view, commit index, leader, peers |
//! | `GET /metrics` | Prometheus text |
//!
//! This replica is the front end: it gives each call a unique id — derived
//! from the `Idempotency-Key` header when there is one, so that a retried
//! write (to any replica) takes effect once — hands it to its node and
//! waits for the node's answer. A replica that is not the leader answers
//! 307 with the leader's URL in `Location` (`curl -L` follows it), or 503
//! while no leader is known. Bad input gets a 4xx with a JSON `error`.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::error::{InternalError, JsonPayloadError};
use actix_web::http::{header, StatusCode};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use super::{Backend, ServeArgs};
use crate::cli::node::{node_entry, open_raft_storage, stop_signal};
use crate::consensus::multi_paxos::{MultiPaxos, MultiPaxosConfig};
use crate::consensus::raft::{Raft, RaftConfig, RaftEvent};
use crate::consensus::stable::Stable;
use crate::core::runtime::{
    Cluster, FaultConfig, FaultyTransport, NodeHandle, RuntimeError, Transport,
};
use crate::core::{Message, NodeId};
use crate::net::{ClusterFile, TcpTransport};
use crate::replication::consistency::models::{KvOp, KvRet};
use crate::replication::kv::consensus::KvMachine;
use crate::replication::kv::{Answer, Call, Read, Replica, RequestId};
use crate::replication::primary_backup::{PrimaryBackup, PrimaryBackupConfig, Status};

/// The longest key, in bytes.
pub(super) const KEY_BYTES_MAX: usize = 256;
/// The longest value, in bytes.
pub(super) const VALUE_BYTES_MAX: usize = 64 * 1024;
/// The longest `Idempotency-Key`, in bytes.
const IDEMPOTENCY_KEY_BYTES_MAX: usize = 128;
/// How long a call waits for its replica's answer before answering 504.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// Set to `1`, a replica serves `POST /faults/cut` and `POST
/// /faults/heal`, which cut and restore its outgoing links to other
/// replicas: for tests that partition a real cluster (`tests/kv_jepsen.rs`).
/// Never set it in production: anyone who can reach the HTTP port could
/// cut the replica off.
pub(super) const FAULTS_ENV: &str = "DSYS_KV_TEST_FAULTS";
/// The file that marks a primary-backup replica's data directory as used.
const PRIMARY_BACKUP_MARK: &str = "PRIMARY_BACKUP_STARTED";

/// What `/status` shows of the node, per backend.
#[derive(Clone, Debug, Serialize)]
struct NodeStatus {
    role: String,
    /// "term", "ballot" or "view".
    epoch_name: &'static str,
    epoch: String,
    leader: Option<u32>,
    commit_index: u64,
    applied: u64,
}

/// A backend's node, as the service needs to know it.
trait Served: Replica + Sized {
    /// What the node says of itself.
    fn node_status(&self, me: NodeId) -> NodeStatus;
    /// Whether an event says the node has stopped serving, and why.
    fn halted(_: &Self::Event) -> Option<String> {
        None
    }
}

type RaftKv = Raft<KvMachine, crate::consensus::raft::FileStorage<Call>>;

impl Served for RaftKv {
    fn node_status(&self, _: NodeId) -> NodeStatus {
        NodeStatus {
            role: self.role().to_string(),
            epoch_name: "term",
            epoch: self.term().to_string(),
            leader: self.leader().map(|l| l.0),
            commit_index: self.commit_index(),
            applied: self.last_applied(),
        }
    }

    fn halted(event: &RaftEvent<crate::replication::kv::consensus::KvOutput>) -> Option<String> {
        match event {
            RaftEvent::Halted { reason } => Some(reason.to_string()),
            _ => None,
        }
    }
}

impl Served for MultiPaxos<KvMachine> {
    fn node_status(&self, _: NodeId) -> NodeStatus {
        NodeStatus {
            role: if self.is_leader() {
                "leader"
            } else {
                "follower"
            }
            .to_string(),
            epoch_name: "ballot",
            epoch: self
                .ballot()
                .map_or("none".to_string(), |b| format!("{b:?}")),
            leader: self.leader().map(|l| l.0),
            commit_index: self.first_unchosen().saturating_sub(1),
            applied: self.applied(),
        }
    }
}

impl Served for PrimaryBackup {
    fn node_status(&self, me: NodeId) -> NodeStatus {
        let role = match self.status() {
            Status::ViewChange => "view change",
            Status::Normal if self.is_primary(me) => "primary",
            Status::Normal => "backup",
        };
        NodeStatus {
            role: role.to_string(),
            epoch_name: "view",
            epoch: self.view().to_string(),
            leader: match self.status() {
                Status::Normal => self.primary_of(self.view()).map(|p| p.0),
                Status::ViewChange => None,
            },
            commit_index: self.committed(),
            applied: self.store().applied(),
        }
    }
}

pub(super) fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let file = ClusterFile::load(&args.cluster)?;
    let id = NodeId(args.id);
    let entry = node_entry(&file, &args.cluster, id)?;
    let Some(http) = entry.http else {
        bail!(
            "{id} has no HTTP address in {}: add `http = \"host:port\"` to its [[node]] entry",
            args.cluster.display()
        );
    };
    let setup = Setup {
        id,
        backend: args.backend.name(),
        http,
        urls: file.nodes.iter().map(|n| n.http).collect(),
        transport: file.to_tcp_config(id)?,
    };
    let dir = &entry.data_dir;
    match args.backend {
        Backend::Raft => {
            let storage = open_raft_storage(dir, id, args.init)?;
            run(
                setup,
                Raft::new(RaftConfig::default(), storage, KvMachine::default())?,
            )
        }
        Backend::MultiPaxos => {
            let holds_state = dir.join("stable").exists();
            if args.init && holds_state {
                bail!(
                    "{} already holds {id}'s state: run without --init",
                    dir.display()
                );
            }
            if !args.init && !holds_state {
                bail!(
                    "{} holds no state for {id}: pass --init for a new replica's first start \
                     (a replica that lost its promises must not rejoin as if it had made none)",
                    dir.display()
                );
            }
            let stable = Stable::open(dir)
                .with_context(|| format!("cannot open the data directory {}", dir.display()))?;
            let node = MultiPaxos::new(MultiPaxosConfig::default(), stable, KvMachine::default())?;
            run(setup, node)
        }
        Backend::PrimaryBackup => {
            let mark = dir.join(PRIMARY_BACKUP_MARK);
            if mark.exists() {
                bail!(
                    "{id} ran before (see {}): primary-backup replicas are crash-stop — a \
                     restarted one has forgotten which views it voted for and must not rejoin \
                     under its old id. Start a fresh cluster (a new --dir), or use --backend raft \
                     or multi-paxos, which recover from disk",
                    mark.display()
                );
            }
            std::fs::create_dir_all(dir)
                .and_then(|()| std::fs::write(&mark, b"started\n"))
                .with_context(|| format!("cannot write {}", mark.display()))?;
            run(setup, PrimaryBackup::new(PrimaryBackupConfig::default()))
        }
    }
}

/// Everything `run` needs besides the node.
struct Setup {
    id: NodeId,
    backend: &'static str,
    http: SocketAddr,
    urls: Vec<Option<SocketAddr>>,
    transport: crate::net::TcpConfig,
}

/// Calls waiting for their answer, by id (a retry with the same
/// idempotency key may wait beside the first).
type Pending = Mutex<HashMap<RequestId, Vec<oneshot::Sender<Answer>>>>;

/// The state every HTTP worker shares. Not generic over the backend: the
/// HTTP layer is compiled once, and reaches its node through
/// [`NodeControl`].
struct Service {
    id: NodeId,
    backend: &'static str,
    node: Box<dyn NodeControl>,
    pending: Pending,
    urls: Vec<Option<SocketAddr>>,
    metrics: Metrics,
    /// The transport's fault hooks, when `FAULTS_ENV` is set.
    faults: Option<Arc<dyn LinkCuts>>,
}

/// What the HTTP layer asks of its node, whatever the backend.
trait NodeControl: Send + Sync {
    /// Hands a call to the node.
    fn request(&self, call: Call) -> Result<(), RuntimeError>;
    /// What the node says of itself.
    fn status(&self) -> Pin<Box<dyn Future<Output = Result<NodeStatus, RuntimeError>>>>;
}

/// A node of backend `N`, as [`NodeControl`].
struct Control<N: Served> {
    id: NodeId,
    handle: NodeHandle<N>,
}

impl<N: Served> NodeControl for Control<N> {
    fn request(&self, call: Call) -> Result<(), RuntimeError> {
        self.handle.request(N::call(call))
    }

    fn status(&self) -> Pin<Box<dyn Future<Output = Result<NodeStatus, RuntimeError>>>> {
        let (handle, me) = (self.handle.clone(), self.id);
        Box::pin(async move { handle.inspect(move |node| node.node_status(me)).await })
    }
}

/// The transport's fault hooks, whatever the message type.
trait LinkCuts: Send + Sync {
    /// Drops every message from `from` to `to` from now on.
    fn cut_link(&self, from: NodeId, to: NodeId);
    /// Restores every link.
    fn heal(&self);
}

impl<M: Message> LinkCuts for FaultyTransport<M> {
    fn cut_link(&self, from: NodeId, to: NodeId) {
        FaultyTransport::cut_link(self, from, to);
    }

    fn heal(&self) {
        FaultyTransport::heal(self);
    }
}

fn run<N: Served>(setup: Setup, node: N) -> anyhow::Result<ExitCode> {
    let Setup {
        id,
        backend,
        http,
        urls,
        transport,
    } = setup;
    let servers = urls.len();
    let listen = transport.listen;
    actix_rt::System::new().block_on(async move {
        let transport = Arc::new(
            TcpTransport::<N::Msg>::start(transport)
                .with_context(|| format!("cannot start the TCP transport on {listen}"))?,
        );
        // Test-only link cuts, when asked for (see `FAULTS_ENV`).
        let faults = match std::env::var(FAULTS_ENV).as_deref() {
            Ok("1") => Some(Arc::new(FaultyTransport::new(
                transport.clone(),
                FaultConfig::default(),
                0,
            )?)),
            _ => None,
        };
        let node_transport: Arc<dyn Transport<N::Msg>> = match &faults {
            Some(faulty) => faulty.clone(),
            None => transport.clone(),
        };
        let mut slot = Some(node);
        let cluster = Cluster::builder(servers)
            .local([id])
            .on_current_arbiter()
            .event_capacity(1 << 16)
            .transport(node_transport)
            .start(move |_| slot.take().expect("a replica process runs one incarnation"));
        let handle = cluster.node(id).clone();
        let mut events = handle.subscribe_from_start().expect("the first subscription");
        let service = web::Data::new(Service {
            id,
            backend,
            node: Box::new(Control { id, handle }),
            pending: Mutex::new(HashMap::new()),
            urls,
            metrics: Metrics::default(),
            faults: faults.map(|f| f as Arc<dyn LinkCuts>),
        });
        let server_handle = http_server(service.clone(), http)?;
        outln!(
            "{id}: {backend} replica; peers over TCP on {}, HTTP on http://{http}",
            transport.local_addr()
        )?;
        // The node's answers, to the calls waiting for them.
        let (halt_tx, halt_rx) = oneshot::channel::<String>();
        let dispatcher = service.clone();
        actix_rt::spawn(async move {
            let mut halt_tx = Some(halt_tx);
            loop {
                match events.next().await {
                    Ok(event) => {
                        if let Some(reason) = N::halted(&event)
                            && let Some(tx) = halt_tx.take() {
                                let _ = tx.send(reason);
                            }
                        if let Some(answer) = N::answer(&event) {
                            dispatcher.deliver(answer);
                        }
                    }
                    // Waiting calls whose answers were among the missed
                    // time out (504): their outcome is unknown.
                    Err(RuntimeError::EventsMissed { .. }) => {}
                    Err(_) => break,
                }
            }
        });

        let halted = tokio::select! {
            _ = stop_signal() => None,
            reason = halt_rx => reason.ok(),
        };
        outln!("{id}: stopping")?;
        server_handle.stop(true).await;
        cluster.stop();
        transport.shutdown();
        match halted {
            Some(reason) => {
                eprintln!("error: {id} halted: {reason} (fix the cause, then start it again: it recovers from its data directory)");
                Ok(ExitCode::from(3))
            }
            None => Ok(ExitCode::SUCCESS),
        }
    })
}

/// Serves the HTTP API of `service` on `http` (on the current actix
/// system); the handle stops it.
fn http_server(service: web::Data<Service>, http: SocketAddr) -> anyhow::Result<ServerHandle> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(service.clone())
            .app_data(json_config())
            .route("/kv/{key}", web::get().to(get))
            .route("/kv/{key}", web::put().to(put))
            .route("/kv/{key}", web::delete().to(delete))
            .route("/kv/{key}/append", web::post().to(append))
            .route("/kv/{key}/cas", web::post().to(cas))
            .route("/status", web::get().to(status))
            .route("/metrics", web::get().to(metrics))
            .route("/faults/cut", web::post().to(cut))
            .route("/faults/heal", web::post().to(heal))
            .default_service(web::to(not_found))
    })
    .workers(2)
    .disable_signals()
    .bind(http)
    .with_context(|| format!("cannot serve HTTP on {http}"))?
    .run();
    let handle = server.handle();
    actix_rt::spawn(server);
    Ok(handle)
}

impl Service {
    fn deliver(&self, answer: Answer) {
        let waiting = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&answer.id());
        for tx in waiting.into_iter().flatten() {
            let _ = tx.send(answer.clone());
        }
    }

    /// Hands `op` to the node as call `id` and turns its answer into the
    /// HTTP response, timing it under `name`.
    async fn call(
        &self,
        name: &'static str,
        req: &HttpRequest,
        id: RequestId,
        op: KvOp,
        read: Read,
    ) -> HttpResponse {
        let started = Instant::now();
        let key = op.key().to_string();
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(id)
            .or_default()
            .push(tx);
        let response = match self.node.request(Call { id, op, read }) {
            Err(error) => {
                self.forget(id);
                unavailable(&format!("this replica cannot take calls now ({error})"))
            }
            Ok(()) => match tokio::time::timeout(ANSWER_TIMEOUT, rx).await {
                Ok(Ok(Answer::Done { ret, index, .. })) => done(name, &key, ret, index),
                Ok(Ok(Answer::NotPrimary { hint, .. })) => self.redirect(req, hint),
                Ok(Err(_)) | Err(_) => {
                    self.forget(id);
                    error(
                        StatusCode::GATEWAY_TIMEOUT,
                        &format!(
                            "no answer within {ANSWER_TIMEOUT:?}: the call may or may not have \
                             taken effect; retry with the same Idempotency-Key to find out"
                        ),
                    )
                }
            },
        };
        self.metrics
            .observe(name, response.status(), started.elapsed());
        response
    }

    fn forget(&self, id: RequestId) {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }

    /// A follower's answer: 307 to the leader's HTTP address, or 503.
    fn redirect(&self, req: &HttpRequest, hint: Option<NodeId>) -> HttpResponse {
        let leader = hint.filter(|&h| h != self.id);
        let Some((leader, addr)) =
            leader.and_then(|l| self.urls.get(l.index()).copied().flatten().map(|a| (l, a)))
        else {
            return unavailable(
                "no leader is known yet (an election or view change is under way); retry shortly",
            );
        };
        let location = format!("http://{addr}{}", req.uri());
        HttpResponse::TemporaryRedirect()
            .insert_header((header::LOCATION, location.clone()))
            .json(json!({
                "error": format!("{} is not the leader; {leader} is", self.id),
                "leader": leader.0,
                "location": location,
            }))
    }
}

fn done(name: &str, key: &str, ret: KvRet, index: u64) -> HttpResponse {
    match (name, ret) {
        (_, KvRet::Value(value)) if value.is_empty() => HttpResponse::NotFound()
            .json(json!({"error": "no such key", "key": key, "index": index})),
        (_, KvRet::Value(value)) => {
            HttpResponse::Ok().json(json!({"key": key, "value": value, "index": index}))
        }
        (_, KvRet::Cas(swapped)) => {
            HttpResponse::Ok().json(json!({"key": key, "swapped": swapped, "index": index}))
        }
        ("delete", KvRet::Done) => {
            HttpResponse::Ok().json(json!({"key": key, "deleted": true, "index": index}))
        }
        ("append", KvRet::Done) => {
            HttpResponse::Ok().json(json!({"key": key, "appended": true, "index": index}))
        }
        (_, KvRet::Done) => {
            HttpResponse::Ok().json(json!({"key": key, "written": true, "index": index}))
        }
    }
}

fn error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message }))
}

fn unavailable(message: &str) -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .insert_header((header::RETRY_AFTER, "1"))
        .json(json!({ "error": message }))
}

fn bad_request(message: String) -> HttpResponse {
    error(StatusCode::BAD_REQUEST, &message)
}

/// A request refused before it reaches the node: its status and why.
#[derive(Debug)]
struct Refusal(StatusCode, String);

impl Refusal {
    fn bad(message: String) -> Self {
        Refusal(StatusCode::BAD_REQUEST, message)
    }

    fn response(&self) -> HttpResponse {
        error(self.0, &self.1)
    }
}

/// JSON bodies: any content type (so `curl -d` works), bounded, and
/// errors as JSON.
fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(2 * VALUE_BYTES_MAX + 1024)
        .content_type_required(false)
        .error_handler(|err, _| {
            let response = match &err {
                JsonPayloadError::Overflow { .. }
                | JsonPayloadError::OverflowKnownLength { .. } => error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    &format!("the body is too large: values are at most {VALUE_BYTES_MAX} bytes"),
                ),
                other => bad_request(format!(
                    "malformed JSON body ({other}); send e.g. {{\"value\": \"hello\"}} or \
                     {{\"expect\": \"old\", \"new\": \"new\"}}"
                )),
            };
            InternalError::from_response(err, response).into()
        })
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    error(
        StatusCode::NOT_FOUND,
        &format!(
            "no route {} {}: the API is GET, PUT and DELETE /kv/{{key}}, POST /kv/{{key}}/append, \
             POST /kv/{{key}}/cas, GET /status and GET /metrics",
            req.method(),
            req.path()
        ),
    )
}

fn check_key(key: &str) -> Result<(), Refusal> {
    if key.is_empty() || key.len() > KEY_BYTES_MAX {
        return Err(Refusal::bad(format!(
            "bad key: a key is 1 to {KEY_BYTES_MAX} bytes, this one is {}",
            key.len()
        )));
    }
    if key.chars().any(char::is_control) {
        return Err(Refusal::bad(
            "bad key: control characters are not allowed".into(),
        ));
    }
    Ok(())
}

fn check_value(value: &str) -> Result<(), Refusal> {
    if value.len() > VALUE_BYTES_MAX {
        return Err(Refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "value too large: {} bytes, at most {VALUE_BYTES_MAX}",
                value.len()
            ),
        ));
    }
    Ok(())
}

/// The call's id: from the `Idempotency-Key` header and what the call
/// does (the same key on a different request is a different request), or
/// a fresh random client. Either way the call is its client's first.
fn request_id(req: &HttpRequest, op: &KvOp) -> Result<RequestId, Refusal> {
    let Some(value) = req.headers().get("Idempotency-Key") else {
        return Ok(RequestId {
            client: rand::random(),
            seq: 1,
        });
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= IDEMPOTENCY_KEY_BYTES_MAX)
        .ok_or_else(|| {
            Refusal::bad(format!(
                "bad Idempotency-Key: 1 to {IDEMPOTENCY_KEY_BYTES_MAX} visible ASCII characters"
            ))
        })?;
    let mut hash = Sha256::new();
    hash.update(b"dsys idempotency key\0");
    hash.update(key.as_bytes());
    hash.update(b"\0");
    hash.update(serde_json::to_vec(op).expect("an operation encodes"));
    let digest = hash.finalize();
    let mut client = [0u8; 8];
    client.copy_from_slice(&digest[..8]);
    Ok(RequestId {
        client: u64::from_le_bytes(client),
        seq: 1,
    })
}

#[derive(Debug, Deserialize)]
struct ReadQuery {
    /// `local` for the contacted replica's own copy.
    read: Option<String>,
    /// The session token for a local read.
    min_index: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ValueBody {
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CasBody {
    expect: String,
    new: String,
}

async fn get(
    svc: web::Data<Service>,
    req: HttpRequest,
    key: web::Path<String>,
    query: web::Query<ReadQuery>,
) -> HttpResponse {
    let key = key.into_inner();
    if let Err(refusal) = check_key(&key) {
        return refusal.response();
    }
    let read = match query.read.as_deref() {
        None | Some("linearizable") => Read::Linearizable,
        Some("local") => Read::Local {
            min_index: query.min_index.unwrap_or(0),
        },
        Some(other) => {
            return bad_request(format!(
                "bad read={other}: use read=linearizable (the default) or read=local"
            ))
        }
    };
    let op = KvOp::Get { key };
    let id = RequestId {
        client: rand::random(),
        seq: 1,
    };
    svc.call("get", &req, id, op, read).await
}

async fn put(
    svc: web::Data<Service>,
    req: HttpRequest,
    key: web::Path<String>,
    body: web::Json<ValueBody>,
) -> HttpResponse {
    if body.value.is_empty() {
        return bad_request(
            "an empty value is not stored (a key holding \"\" reads as absent): DELETE the key instead"
                .into(),
        );
    }
    let op = |key, value| KvOp::Put { key, value };
    write_value(
        &svc,
        "put",
        &req,
        key.into_inner(),
        body.into_inner().value,
        op,
    )
    .await
}

async fn append(
    svc: web::Data<Service>,
    req: HttpRequest,
    key: web::Path<String>,
    body: web::Json<ValueBody>,
) -> HttpResponse {
    let op = |key, value| KvOp::Append { key, value };
    write_value(
        &svc,
        "append",
        &req,
        key.into_inner(),
        body.into_inner().value,
        op,
    )
    .await
}

/// A put or an append of `value` to `key`, once both are checked.
async fn write_value(
    svc: &Service,
    name: &'static str,
    req: &HttpRequest,
    key: String,
    value: String,
    op: fn(String, String) -> KvOp,
) -> HttpResponse {
    if let Err(refusal) = check_key(&key).and(check_value(&value)) {
        return refusal.response();
    }
    write(svc, name, req, op(key, value)).await
}

async fn delete(svc: web::Data<Service>, req: HttpRequest, key: web::Path<String>) -> HttpResponse {
    let key = key.into_inner();
    if let Err(refusal) = check_key(&key) {
        return refusal.response();
    }
    write(&svc, "delete", &req, KvOp::Delete { key }).await
}

async fn cas(
    svc: web::Data<Service>,
    req: HttpRequest,
    key: web::Path<String>,
    body: web::Json<CasBody>,
) -> HttpResponse {
    let key = key.into_inner();
    let CasBody { expect, new } = body.into_inner();
    let checked = check_key(&key)
        .and(check_value(&expect))
        .and(check_value(&new));
    if let Err(refusal) = checked {
        return refusal.response();
    }
    write(&svc, "cas", &req, KvOp::Cas { key, expect, new }).await
}

async fn write(svc: &Service, name: &'static str, req: &HttpRequest, op: KvOp) -> HttpResponse {
    match request_id(req, &op) {
        Ok(id) => svc.call(name, req, id, op, Read::Linearizable).await,
        Err(refusal) => refusal.response(),
    }
}

async fn status(svc: web::Data<Service>) -> HttpResponse {
    let me = svc.id;
    match svc.node.status().await {
        Ok(node) => {
            let peers: Vec<String> = svc
                .urls
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != me.index())
                .map(|(i, url)| match url {
                    Some(addr) => format!("n{i} http://{addr}"),
                    None => format!("n{i}"),
                })
                .collect();
            HttpResponse::Ok().json(json!({
                "id": me.0,
                "backend": svc.backend,
                "role": node.role,
                node.epoch_name: node.epoch,
                "leader": node.leader,
                "commit_index": node.commit_index,
                "applied": node.applied,
                "peers": peers,
            }))
        }
        Err(e) => unavailable(&format!("the node is not running ({e})")),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CutBody {
    /// The replicas this one stops sending to.
    to: Vec<u32>,
}

/// `POST /faults/cut {"to": [ids]}`: this replica's messages to those
/// replicas are dropped until `/faults/heal` (only with `FAULTS_ENV`).
async fn cut(svc: web::Data<Service>, body: web::Json<CutBody>) -> HttpResponse {
    let Some(faults) = &svc.faults else {
        return fault_hooks_off();
    };
    if let Some(bad) = body.to.iter().find(|&&to| to as usize >= svc.urls.len()) {
        return bad_request(format!("no replica n{bad} in this cluster"));
    }
    for &to in &body.to {
        faults.cut_link(svc.id, NodeId(to));
    }
    HttpResponse::Ok().json(json!({ "cut": body.to }))
}

/// `POST /faults/heal`: every link cut by `/faults/cut` is restored.
async fn heal(svc: web::Data<Service>) -> HttpResponse {
    match &svc.faults {
        Some(faults) => {
            faults.heal();
            HttpResponse::Ok().json(json!({ "healed": true }))
        }
        None => fault_hooks_off(),
    }
}

fn fault_hooks_off() -> HttpResponse {
    error(
        StatusCode::NOT_FOUND,
        &format!("fault injection is off (it is for tests: {FAULTS_ENV}=1 turns it on)"),
    )
}

async fn metrics(svc: web::Data<Service>) -> HttpResponse {
    let me = svc.id;
    let node = svc.node.status().await.ok();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(svc.metrics.render(svc.backend, me, node.as_ref()))
}

/// Counters and latency sums per operation and status, in Prometheus'
/// text format.
#[derive(Default)]
struct Metrics {
    calls: Mutex<CallStats>,
}

/// Per (operation, HTTP status): calls and seconds spent.
type CallStats = BTreeMap<(&'static str, u16), (u64, f64)>;

impl Metrics {
    fn observe(&self, op: &'static str, status: StatusCode, took: Duration) {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        let entry = calls.entry((op, status.as_u16())).or_default();
        entry.0 += 1;
        entry.1 += took.as_secs_f64();
    }

    fn render(&self, backend: &str, me: NodeId, node: Option<&NodeStatus>) -> String {
        let calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        out.push_str(
            "# HELP dsys_kv_requests_total Calls answered, by operation and HTTP status.\n",
        );
        out.push_str("# TYPE dsys_kv_requests_total counter\n");
        for ((op, status), (count, _)) in calls.iter() {
            out.push_str(&format!(
                "dsys_kv_requests_total{{op=\"{op}\",status=\"{status}\"}} {count}\n"
            ));
        }
        out.push_str("# HELP dsys_kv_request_seconds_sum Time spent answering calls, by operation and HTTP status.\n");
        out.push_str("# TYPE dsys_kv_request_seconds_sum counter\n");
        for ((op, status), (_, seconds)) in calls.iter() {
            out.push_str(&format!(
                "dsys_kv_request_seconds_sum{{op=\"{op}\",status=\"{status}\"}} {seconds}\n"
            ));
        }
        if let Some(node) = node {
            let labels = format!("node=\"{}\",backend=\"{backend}\"", me.0);
            let leading = u8::from(node.leader == Some(me.0));
            for (name, help, value) in [
                (
                    "dsys_kv_commit_index",
                    "Requests known committed.",
                    node.commit_index,
                ),
                (
                    "dsys_kv_applied",
                    "Requests applied to this replica's store.",
                    node.applied,
                ),
                (
                    "dsys_kv_is_leader",
                    "1 if this replica leads (primary, Raft or Paxos leader).",
                    u64::from(leading),
                ),
            ] {
                out.push_str(&format!(
                    "# HELP {name} {help}\n# TYPE {name} gauge\n{name}{{{labels}}} {value}\n"
                ));
            }
        }
        out
    }
}
