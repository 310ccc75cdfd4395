//! [`TcpTransport`]: the actix runtime's [`Transport`] over TCP, for nodes in
//! different processes or on different machines.
//!
//! # Design
//!
//! **Runtime.** The transport owns one background thread running its own
//! single-threaded tokio runtime; the listener, one task per accepted
//! connection and one task per outbound link live there. `send` is a plain
//! function that pushes onto a bounded queue ([`tokio::sync::mpsc`], whose
//! `try_send` needs no runtime), so the transport works the same from an
//! actix arbiter (actix-rt runs a current-thread tokio runtime per arbiter,
//! which must not be blocked), from a plain thread, or from a benchmark
//! loop, and the socket work never competes with the node actors for their
//! arbiters. Incoming messages go into the destination actor's mailbox with
//! [`Recipient::try_send`], which is thread-safe.
//!
//! **Links.** Messages from local node `a` to remote node `b` travel on one
//! outbound TCP connection, the link `(a, b)`, opened at the first message
//! (lazily) to `b`'s address in the peer table. Its bounded queue holds
//! `queue_capacity` messages; when it is full, the message is dropped and
//! counted (`dropped_queue_full`), as a full socket buffer would drop a
//! datagram — the sender never blocks. The link's writer task waits for a
//! message, then drains everything queued (up to 256 KiB) into one buffer,
//! encoding and framing each message there, and writes that buffer with one
//! write call: under load one system call carries hundreds of messages.
//! Order is kept per link (one connection, one writer), so messages from `a`
//! to `b` arrive in the order sent, or not at all.
//!
//! **Failures.** A link whose connection fails (refused, reset, closed by
//! the peer, handshake refused) reconnects with capped exponential backoff
//! (`reconnect_backoff_min` doubling up to `reconnect_backoff_max`, with
//! jitter: each wait is drawn from `[d/2, d]`). Messages stay queued
//! meanwhile and flow once the peer is back (a restarted peer on the same
//! address is found again); the frames of a write that failed are lost and
//! counted (`dropped_connection_lost`), because TCP cannot tell which of
//! them the peer read. The writer also watches its connection for the
//! peer closing it, so an idle link notices a restart at once.
//!
//! **Identity and handshake.** Every node (and client) has its own key
//! pair ([`crate::keys`]); the configuration holds this process's key pairs
//! and every peer's public key. See [`handshake`] for the protocol (Noise
//! `KK` with the cluster's pre-shared key) and its threat model: a
//! connection opens only between the holders of the two private keys the
//! cluster file names, both knowing the cluster secret. Wrong version,
//! wrong cluster, unknown node id, wrong key or secret, malformed bytes or
//! no answer within `handshake_timeout` close the connection with a
//! `tracing::warn!` naming the reason and a count in
//! [`TcpStats::rejected`]; nothing reaches a node. At most 256 connections
//! may be in their handshake at once (each for at most
//! `handshake_timeout`); more are closed unread, so a flood of strangers
//! costs bounded memory. The node id authenticated by the handshake is the
//! `from` of every message on that connection: frames carry only the
//! destination and the message. A peer has one inbound connection per
//! local node: a newer one replaces the older (`connections_replaced`), so
//! a member cannot make a node hold more than one frame buffer
//! (`frame_bytes_max`) per pair.
//!
//! **Frames and records.** After the handshake, each message is one frame
//! of [`dsys_core::wire`] (4-byte big-endian length, then the postcard
//! encoding of `(to, message)`), at most `frame_bytes_max` bytes, and the
//! frames travel encrypted and authenticated in records of at most 64 KiB
//! ([`handshake::Session`]). A record that fails authentication (changed,
//! injected, replayed or reordered on the wire), an oversized frame header,
//! an undecodable payload or a truncated stream closes that connection with
//! a logged reason and a count (`closed_unauthenticated`,
//! `closed_oversized_frame`, `closed_malformed_frame`); other connections
//! are unaffected, and the decoder never allocates what a header merely
//! declares.
//!
//! **Shutdown.** [`TcpTransport::shutdown`] (also run on drop) stops
//! accepting, lets every connected writer flush what is queued (bounded by
//! `shutdown_flush_timeout`), closes every connection and joins the thread.
//! Messages still queued for a peer that is down are dropped and counted
//! (`dropped_shutdown`).
//!
//! **Counted** ([`TcpTransport::tcp_stats`]): the [`TransportStats`] every
//! transport keeps, messages queued, frames and bytes sent and received,
//! write calls (frames per write shows the batching), drops by cause,
//! connections opened and accepted, reconnects, connect failures, refused
//! handshakes by reason, connections closed for bad frames, per link
//! ([`PeerStats`]) and per message kind ([`KindStats`], as the simulator's
//! metrics). Tasks run in `tracing` spans naming the link or the remote
//! address; `RUST_LOG=dsys_net=debug` shows connections come and go.
//!
//! # Example
//!
//! ```no_run
//! use std::sync::Arc;
//! use dsys_core::ping_pong::{PingPong, PingPongConfig};
//! use dsys_core::runtime::Cluster;
//! use dsys_core::NodeId;
//! use dsys_net::{NodeKey, TcpConfig, TcpTransport};
//!
//! # fn main() -> dsys_net::Result<()> {
//! // This process runs node 0 of a 3-node cluster; nodes 1 and 2 run elsewhere.
//! // Each node has its own key pair; the others' public keys come from the
//! // cluster file (here made up on the spot).
//! let key = NodeKey::load("keys/n0.key")?;
//! let (n1, n2) = (NodeKey::generate().public(), NodeKey::generate().public());
//! let config = TcpConfig::new("demo", b"a long random secret".to_vec(), NodeId(0), key, "0.0.0.0:7000".parse().unwrap())
//!     .peer(NodeId(1), "10.0.0.2:7000".parse().unwrap(), n1)
//!     .peer(NodeId(2), "10.0.0.3:7000".parse().unwrap(), n2);
//! let transport = Arc::new(TcpTransport::start(config)?);
//! actix_rt::System::new().block_on(async move {
//!     let cluster = Cluster::builder(3)
//!         .local([NodeId(0)])
//!         .transport(transport.clone())
//!         .start(|_| PingPong::new(PingPongConfig::default()));
//!     // … run, then:
//!     cluster.stop();
//!     println!("{:?}", transport.tcp_stats());
//!     transport.shutdown();
//! });
//! # Ok(())
//! # }
//! ```

pub mod handshake;
mod rejections;
mod tasks;

use tasks::{listen, run_link};

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use actix::Recipient;
use dsys_core::runtime::{
    worth_warning, Counter, Deliver, Inboxes, KindStats, KindTable, Transport, TransportStats,
};
use dsys_core::wire::{
    decode_frame, encode_frame, Codec, FrameDecoder, Postcard, FRAME_BYTES_MAX_DEFAULT,
};
use dsys_core::{Message, NodeId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

pub use crate::keys::Peer;
use crate::keys::{NodeKey, PublicKey};
use crate::{Error, Result};
use handshake::{
    Acceptor, AcceptorStep, Connector, ConnectorStep, Credentials, Rejection, Session,
};

use rejections::RejectionCounters;
pub use rejections::Rejections;

/// A writer drains its queue into one buffer up to about this many bytes
/// before writing.
const BATCH_BYTES_MAX: usize = 256 * 1024;

/// Connections allowed in their handshake at once; more are closed unread,
/// so a flood of unauthenticated connections costs bounded memory.
const HANDSHAKES_MAX: usize = 256;

/// Bytes read from a socket at once.
const READ_BUFFER_BYTES: usize = 64 * 1024;

pub use crate::keys::SECRET_BYTES_MIN;

/// How a [`TcpTransport`] is set up. [`TcpConfig::new`] fills in defaults;
/// a cluster file gives one with [`crate::ClusterFile::to_tcp_config`].
#[derive(Clone)]
pub struct TcpConfig {
    /// The cluster's name: a peer naming another cluster is refused.
    pub cluster: String,
    /// The cluster's shared secret (at least 16 bytes; 32 random bytes are
    /// plenty): the handshake's pre-shared key is derived from it.
    pub secret: Vec<u8>,
    /// The nodes this process runs (usually one), each with its key pair.
    pub local: BTreeMap<NodeId, NodeKey>,
    /// The address to listen on; port 0 lets the OS choose (see
    /// [`TcpTransport::local_addr`]).
    pub listen: SocketAddr,
    /// Every other node's address and public key. Entries for local nodes
    /// are ignored.
    pub peers: BTreeMap<NodeId, Peer>,
    /// The largest frame payload sent or accepted, in bytes.
    pub frame_bytes_max: usize,
    /// Messages queued per link (local sender, remote destination) before
    /// new ones are dropped.
    pub queue_capacity: usize,
    /// The first wait before reconnecting to a peer.
    pub reconnect_backoff_min: Duration,
    /// The longest wait before reconnecting to a peer.
    pub reconnect_backoff_max: Duration,
    /// How long a connection may take to connect and finish the handshake.
    pub handshake_timeout: Duration,
    /// A link that has been unable to connect for this long drops what it
    /// has queued (counted in `dropped_unreachable`) and stops dialling;
    /// the next message to the peer starts it again. This is what keeps a
    /// node from dialling an exited client forever.
    pub link_give_up_after: Duration,
    /// How long [`TcpTransport::shutdown`] waits for queued messages to be
    /// written.
    pub shutdown_flush_timeout: Duration,
}

impl fmt::Debug for TcpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpConfig")
            .field("cluster", &self.cluster)
            .field(
                "secret",
                &format_args!("<{} bytes, redacted>", self.secret.len()),
            )
            .field("local", &self.local)
            .field("listen", &self.listen)
            .field("peers", &self.peers)
            .field("frame_bytes_max", &self.frame_bytes_max)
            .field("queue_capacity", &self.queue_capacity)
            .field("reconnect_backoff_min", &self.reconnect_backoff_min)
            .field("reconnect_backoff_max", &self.reconnect_backoff_max)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("link_give_up_after", &self.link_give_up_after)
            .field("shutdown_flush_timeout", &self.shutdown_flush_timeout)
            .finish()
    }
}

impl TcpConfig {
    /// Node `node` of `cluster`, with key pair `key`, listening on
    /// `listen`, with no peers yet and defaults: 16 MiB frames, 65,536
    /// queued messages per link, reconnect backoff 50 ms to 5 s, 5 s
    /// handshake timeout, links given up after 60 s unreachable, 1 s flush
    /// at shutdown.
    pub fn new(
        cluster: impl Into<String>,
        secret: impl Into<Vec<u8>>,
        node: NodeId,
        key: NodeKey,
        listen: SocketAddr,
    ) -> TcpConfig {
        TcpConfig {
            cluster: cluster.into(),
            secret: secret.into(),
            local: BTreeMap::from([(node, key)]),
            listen,
            peers: BTreeMap::new(),
            frame_bytes_max: FRAME_BYTES_MAX_DEFAULT,
            queue_capacity: 65_536,
            reconnect_backoff_min: Duration::from_millis(50),
            reconnect_backoff_max: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(5),
            link_give_up_after: Duration::from_secs(60),
            shutdown_flush_timeout: Duration::from_secs(1),
        }
    }

    /// Adds (or moves) a peer.
    pub fn peer(mut self, node: NodeId, addr: SocketAddr, key: PublicKey) -> TcpConfig {
        self.peers.insert(node, Peer { addr, key });
        self
    }

    /// Checks every value, saying which is wrong and why.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: String| Err(Error::InvalidConfig(what));
        if self.cluster.is_empty() {
            return bad("the cluster name is empty: give every cluster a name".into());
        }
        if self.cluster.len() > handshake::HANDSHAKE_FRAME_BYTES_MAX - 128 {
            return bad(format!(
                "the cluster name has {} bytes; at most {} fit the handshake",
                self.cluster.len(),
                handshake::HANDSHAKE_FRAME_BYTES_MAX - 128
            ));
        }
        crate::keys::check_secret(&self.secret).or_else(bad)?;
        if self.local.is_empty() {
            return bad("no local node: name the node id(s) this process runs".into());
        }
        let mut owners: BTreeMap<PublicKey, NodeId> = BTreeMap::new();
        let keys = self
            .local
            .iter()
            .map(|(&id, key)| (id, key.public()))
            .chain(
                self.peers
                    .iter()
                    .filter(|(id, _)| !self.local.contains_key(id))
                    .map(|(&id, peer)| (id, peer.key)),
            );
        for (id, key) in keys {
            if let Some(other) = owners.insert(key, id) {
                return bad(format!(
                    "{other} and {id} have the same public key: every node needs its own key pair (one could speak as the other)"
                ));
            }
        }
        if self.frame_bytes_max == 0 || self.frame_bytes_max > u32::MAX as usize {
            return bad(format!(
                "frame_bytes_max = {} must be between 1 and {}",
                self.frame_bytes_max,
                u32::MAX
            ));
        }
        if self.queue_capacity == 0 {
            return bad("queue_capacity must be at least 1".into());
        }
        if self.reconnect_backoff_min.is_zero()
            || self.reconnect_backoff_min > self.reconnect_backoff_max
        {
            return bad(format!(
                "reconnect backoff must satisfy 0 < min <= max (min {:?}, max {:?})",
                self.reconnect_backoff_min, self.reconnect_backoff_max
            ));
        }
        if self.handshake_timeout.is_zero() || self.link_give_up_after.is_zero() {
            return bad("handshake_timeout and link_give_up_after must be positive".into());
        }
        Ok(())
    }
}

/// What a [`TcpTransport`] has done. Counters are totals since it started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TcpStats {
    /// The counters every transport keeps (`sent`: messages handed to
    /// `send`; `delivered`, `dropped_full`, `dropped_no_inbox`: what became
    /// of received messages and of sends to unknown or local destinations).
    pub transport: TransportStats,
    /// Messages accepted into a link's queue.
    pub queued: u64,
    /// Frames written to sockets.
    pub frames_sent: u64,
    /// Bytes written to sockets (frame and record headers and tags included).
    pub bytes_sent: u64,
    /// Write calls; `frames_sent / writes` is the batching factor.
    pub writes: u64,
    /// Frames received and decoded on authenticated connections.
    pub frames_received: u64,
    /// Bytes read from authenticated connections after their handshake.
    pub bytes_received: u64,
    /// Messages dropped because their link's queue was full.
    pub dropped_queue_full: u64,
    /// Messages dropped because they encode to more than `frame_bytes_max`.
    pub dropped_too_large: u64,
    /// Messages that could not be encoded.
    pub dropped_encode: u64,
    /// Messages in writes that failed (the connection broke).
    pub dropped_connection_lost: u64,
    /// Messages still queued for an unreachable peer at shutdown.
    pub dropped_shutdown: u64,
    /// Messages dropped when a link gave up on a peer unreachable for
    /// `link_give_up_after`.
    pub dropped_unreachable: u64,
    /// Outbound connections that completed the handshake.
    pub connections_opened: u64,
    /// Inbound connections that completed the handshake.
    pub connections_accepted: u64,
    /// Inbound connections closed because a newer one from the same peer to
    /// the same local node replaced them (one per pair is all a peer
    /// needs; the bound keeps a member from holding many frame buffers).
    pub connections_replaced: u64,
    /// Outbound connections opened again after a link's first.
    pub reconnects: u64,
    /// Outbound connection attempts that failed (refused, timed out,
    /// handshake refused).
    pub connect_failures: u64,
    /// Handshakes this side refused, by reason.
    pub rejected: Rejections,
    /// Authenticated connections closed because a record failed
    /// authentication (changed, injected, replayed or reordered on the
    /// wire).
    pub closed_unauthenticated: u64,
    /// Authenticated connections closed because a frame declared more than
    /// `frame_bytes_max` bytes.
    pub closed_oversized_frame: u64,
    /// Authenticated connections closed because a frame did not decode (or
    /// the stream ended mid-frame).
    pub closed_malformed_frame: u64,
    /// Per outbound link.
    pub peers: Vec<PeerStats>,
    /// Per message kind, sorted by kind.
    pub kinds: Vec<(&'static str, KindStats)>,
}

/// Counters of one outbound link (local node `from` to remote node `to`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerStats {
    /// The local sender.
    pub from: NodeId,
    /// The remote destination.
    pub to: NodeId,
    /// Whether the link is connected now.
    pub connected: bool,
    /// Messages in the queue now.
    pub queue_len: usize,
    /// Messages accepted into the queue.
    pub queued: u64,
    /// Frames written.
    pub frames_sent: u64,
    /// Bytes written.
    pub bytes_sent: u64,
    /// Messages dropped because the queue was full.
    pub dropped_queue_full: u64,
    /// Messages lost in failed writes.
    pub dropped_connection_lost: u64,
    /// Connections opened after the first.
    pub reconnects: u64,
    /// Failed connection attempts.
    pub connect_failures: u64,
}

#[derive(Debug, Default)]
struct Counters {
    queued: Counter,
    frames_sent: Counter,
    bytes_sent: Counter,
    writes: Counter,
    frames_received: Counter,
    bytes_received: Counter,
    dropped_queue_full: Counter,
    dropped_too_large: Counter,
    dropped_encode: Counter,
    dropped_connection_lost: Counter,
    dropped_shutdown: Counter,
    dropped_unreachable: Counter,
    connections_opened: Counter,
    connections_accepted: Counter,
    connections_replaced: Counter,
    reconnects: Counter,
    connect_failures: Counter,
    closed_unauthenticated: Counter,
    closed_oversized_frame: Counter,
    closed_malformed_frame: Counter,
}

#[derive(Debug)]
struct LinkCounters {
    from: NodeId,
    to: NodeId,
    connected: AtomicBool,
    queued: Counter,
    frames_sent: Counter,
    bytes_sent: Counter,
    dropped_queue_full: Counter,
    dropped_connection_lost: Counter,
    reconnects: Counter,
    connect_failures: Counter,
    /// Signalled when the peer connects to us: it is back, dial now.
    wake: tokio::sync::Notify,
}

struct Link<M> {
    tx: mpsc::Sender<M>,
    counters: Arc<LinkCounters>,
}

/// An open inbound connection: its number, and the signal that closes it.
type Inbound = (u64, Arc<tokio::sync::Notify>);

/// Everything the tasks and the handle share.
struct Shared<M: Message> {
    cluster: String,
    /// Replaced whole when a peer is added, so a handshake in progress
    /// keeps the snapshot it started with.
    credentials: RwLock<Arc<Credentials>>,
    local: Vec<NodeId>,
    frame_bytes_max: usize,
    queue_capacity: usize,
    backoff_min: Duration,
    backoff_max: Duration,
    handshake_timeout: Duration,
    give_up_after: Duration,
    peers: RwLock<BTreeMap<NodeId, SocketAddr>>,
    inboxes: Inboxes<M>,
    links: RwLock<HashMap<(NodeId, NodeId), Link<M>>>,
    link_tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    runtime: tokio::runtime::Handle,
    closed: AtomicBool,
    shutdown: watch::Sender<bool>,
    counters: Counters,
    kinds: KindTable,
    rejections: RejectionCounters,
    /// The open inbound connection of each (peer, local node): its number
    /// and how to close it.
    inbound: Mutex<HashMap<(NodeId, NodeId), Inbound>>,
    next_connection: std::sync::atomic::AtomicU64,
}

/// The [`Transport`] over TCP. See the [module documentation](self) for the
/// design, the handshake and what is counted.
///
/// Not `Clone`: share it as an `Arc` (as [`dsys_core::runtime::ClusterBuilder::transport`]
/// takes it). Dropping the last handle shuts it down.
pub struct TcpTransport<M: Message> {
    shared: Arc<Shared<M>>,
    local_addr: SocketAddr,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl<M: Message> fmt::Debug for TcpTransport<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpTransport")
            .field("cluster", &self.shared.cluster)
            .field("local", &self.shared.local)
            .field("local_addr", &self.local_addr)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl<M: Message> TcpTransport<M> {
    /// Binds `config.listen` and starts the transport's thread.
    pub fn start(config: TcpConfig) -> Result<TcpTransport<M>> {
        config.validate()?;
        let listener = std::net::TcpListener::bind(config.listen).map_err(|e| Error::Io {
            context: format!(
                "cannot listen on {} (is another process using the port? is the address this machine's?)",
                config.listen
            ),
            error: e.to_string(),
        })?;
        Self::start_with_listener(config, listener)
    }

    /// Starts the transport on a listener bound by the caller (`config.listen`
    /// is ignored).
    pub fn start_with_listener(
        config: TcpConfig,
        listener: std::net::TcpListener,
    ) -> Result<TcpTransport<M>> {
        config.validate()?;
        let io = |context: &str| {
            let context = context.to_owned();
            move |e: std::io::Error| Error::Io {
                context,
                error: e.to_string(),
            }
        };
        let local_addr = listener
            .local_addr()
            .map_err(io("cannot read the listener's address"))?;
        listener
            .set_nonblocking(true)
            .map_err(io("cannot make the listener non-blocking"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(io("cannot start the transport's tokio runtime"))?;
        let listener = {
            let _entered = runtime.enter();
            TcpListener::from_std(listener)
                .map_err(io("cannot register the listener with tokio"))?
        };
        let (shutdown, mut shutdown_rx) = watch::channel(false);
        let credentials = Credentials::new(
            &config.cluster,
            &config.secret,
            config.local.clone(),
            config
                .peers
                .iter()
                .filter(|(id, _)| !config.local.contains_key(id))
                .map(|(&id, peer)| (id, peer.key))
                .collect(),
        );
        let shared = Arc::new(Shared {
            cluster: config.cluster,
            credentials: RwLock::new(Arc::new(credentials)),
            local: config.local.into_keys().collect(),
            frame_bytes_max: config.frame_bytes_max,
            queue_capacity: config.queue_capacity,
            backoff_min: config.reconnect_backoff_min,
            backoff_max: config.reconnect_backoff_max,
            handshake_timeout: config.handshake_timeout,
            give_up_after: config.link_give_up_after,
            peers: RwLock::new(config.peers.iter().map(|(&id, p)| (id, p.addr)).collect()),
            inboxes: Inboxes::new(),
            links: RwLock::new(HashMap::new()),
            link_tasks: Mutex::new(Vec::new()),
            runtime: runtime.handle().clone(),
            closed: AtomicBool::new(false),
            shutdown,
            counters: Counters::default(),
            kinds: KindTable::new(),
            rejections: RejectionCounters::default(),
            inbound: Mutex::new(HashMap::new()),
            next_connection: std::sync::atomic::AtomicU64::new(0),
        });
        let span = tracing::info_span!("tcp", local = ?shared.local, addr = %local_addr);
        runtime.spawn(listen(Arc::clone(&shared), listener).instrument(span.clone()));
        let flush_timeout = config.shutdown_flush_timeout;
        let task_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("dsys-tcp-{local_addr}"))
            .spawn(move || {
                runtime.block_on(
                    async move {
                        let _ = shutdown_rx.wait_for(|&down| down).await;
                        let tasks = std::mem::take(&mut *lock(&task_shared.link_tasks));
                        let flushed = tokio::time::timeout(flush_timeout, async {
                            for task in tasks {
                                let _ = task.await;
                            }
                        })
                        .await;
                        if flushed.is_err() {
                            tracing::warn!(
                                ?flush_timeout,
                                "shutdown: some links did not flush in time; their messages are lost"
                            );
                        }
                    }
                    .instrument(span),
                );
                // Dropping the runtime cancels the listener and the readers.
                drop(runtime);
            })
            .map_err(io("cannot start the transport's thread"))?;
        tracing::info!(addr = %local_addr, local = ?shared.local, cluster = %shared.cluster, "tcp transport listening");
        Ok(TcpTransport {
            shared,
            local_addr,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// The address the listener is bound to (with the OS-chosen port when
    /// `listen` had port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Moves a known peer: later connections to `node` go to `addr`. A
    /// link that is connected keeps its connection. Fails with
    /// [`Error::UnknownPeer`] for a node whose public key is not known (add
    /// it with [`TcpTransport::set_peer`]).
    pub fn set_peer_addr(&self, node: NodeId, addr: SocketAddr) -> Result<()> {
        let mut peers = self.shared.peers.write().unwrap_or_else(|e| e.into_inner());
        match peers.get_mut(&node) {
            Some(known) => {
                *known = addr;
                Ok(())
            }
            None => Err(Error::UnknownPeer(node)),
        }
    }

    /// Adds a peer, or changes its address and key. Connections open after
    /// this use the new key; open ones keep theirs.
    pub fn set_peer(&self, node: NodeId, peer: Peer) {
        {
            let mut credentials = self
                .shared
                .credentials
                .write()
                .unwrap_or_else(|e| e.into_inner());
            let mut updated = Credentials::clone(&credentials);
            updated.set_peer(node, peer.key);
            *credentials = Arc::new(updated);
        }
        self.shared
            .peers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(node, peer.addr);
    }

    /// Like [`Transport::send`], but says why a message cannot be queued:
    /// [`Error::UnknownPeer`], [`Error::MessageTooLarge`],
    /// [`Error::QueueFull`], [`Error::ShutDown`] or [`Error::Encode`].
    /// (It measures the message's encoding first, which `send` leaves to
    /// the writer.)
    pub fn try_send(&self, from: NodeId, to: NodeId, msg: M) -> Result<()> {
        let bytes = Postcard
            .encoded_len(&(to, &msg))
            .map_err(|e| Error::Encode(e.to_string()))?;
        if bytes > self.shared.frame_bytes_max {
            self.shared.inboxes.counters().sent.bump();
            self.shared.counters.dropped_too_large.bump();
            return Err(Error::MessageTooLarge {
                bytes,
                max: self.shared.frame_bytes_max,
                setting: "frame_bytes_max",
            });
        }
        self.shared.send(from, to, msg)
    }

    /// The full counters (see [`TcpStats`]).
    pub fn tcp_stats(&self) -> TcpStats {
        let shared = &self.shared;
        let c = &shared.counters;
        let links = shared.links.read().unwrap_or_else(|e| e.into_inner());
        let mut peers: Vec<PeerStats> = links
            .values()
            .map(|link| {
                let l = &link.counters;
                PeerStats {
                    from: l.from,
                    to: l.to,
                    connected: l.connected.load(Ordering::Relaxed),
                    queue_len: link.tx.max_capacity() - link.tx.capacity(),
                    queued: l.queued.get(),
                    frames_sent: l.frames_sent.get(),
                    bytes_sent: l.bytes_sent.get(),
                    dropped_queue_full: l.dropped_queue_full.get(),
                    dropped_connection_lost: l.dropped_connection_lost.get(),
                    reconnects: l.reconnects.get(),
                    connect_failures: l.connect_failures.get(),
                }
            })
            .collect();
        drop(links);
        peers.sort_by_key(|p| (p.from, p.to));
        TcpStats {
            transport: self.stats(),
            queued: c.queued.get(),
            frames_sent: c.frames_sent.get(),
            bytes_sent: c.bytes_sent.get(),
            writes: c.writes.get(),
            frames_received: c.frames_received.get(),
            bytes_received: c.bytes_received.get(),
            dropped_queue_full: c.dropped_queue_full.get(),
            dropped_too_large: c.dropped_too_large.get(),
            dropped_encode: c.dropped_encode.get(),
            dropped_connection_lost: c.dropped_connection_lost.get(),
            dropped_shutdown: c.dropped_shutdown.get(),
            dropped_unreachable: c.dropped_unreachable.get(),
            connections_opened: c.connections_opened.get(),
            connections_accepted: c.connections_accepted.get(),
            connections_replaced: c.connections_replaced.get(),
            reconnects: c.reconnects.get(),
            connect_failures: c.connect_failures.get(),
            rejected: shared.rejections.snapshot(),
            closed_unauthenticated: c.closed_unauthenticated.get(),
            closed_oversized_frame: c.closed_oversized_frame.get(),
            closed_malformed_frame: c.closed_malformed_frame.get(),
            peers,
            kinds: shared.kinds.snapshot(),
        }
    }

    /// Stops accepting, flushes what connected links have queued (for at
    /// most `shutdown_flush_timeout`), closes every connection and joins
    /// the transport's thread. Later sends are dropped and counted.
    /// Idempotent; also run on drop.
    pub fn shutdown(&self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.shutdown.send_replace(true);
        let thread = lock(&self.thread).take();
        if let Some(thread) = thread {
            if thread.join().is_err() {
                tracing::error!("the tcp transport's thread panicked");
            }
            tracing::info!(addr = %self.local_addr, "tcp transport shut down");
        }
    }
}

impl<M: Message> Drop for TcpTransport<M> {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl<M: Message> Transport<M> for TcpTransport<M> {
    fn register(&self, node: NodeId, inbox: Recipient<Deliver<M>>) {
        self.shared.inboxes.register(node, inbox);
    }

    fn unregister(&self, node: NodeId) {
        self.shared.inboxes.unregister(node);
    }

    fn send(&self, from: NodeId, to: NodeId, msg: M) {
        if let Err(error) = self.shared.send(from, to, msg) {
            tracing::trace!(%from, %to, %error, "message dropped");
        }
    }

    fn stats(&self) -> TransportStats {
        self.shared.inboxes.stats()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl<M: Message> Shared<M> {
    fn send(self: &Arc<Self>, from: NodeId, to: NodeId, msg: M) -> Result<()> {
        let c = self.inboxes.counters();
        c.sent.bump();
        if self.closed.load(Ordering::Acquire) {
            c.dropped_no_inbox.bump();
            return Err(Error::ShutDown);
        }
        if self.local.contains(&to) {
            self.inboxes.deliver(from, to, msg);
            return Ok(());
        }
        {
            let links = self.links.read().unwrap_or_else(|e| e.into_inner());
            if let Some(link) = links.get(&(from, to)) {
                return self.push(link, msg);
            }
        }
        if !self
            .peers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&to)
        {
            let dropped = c.dropped_no_inbox.bump();
            if worth_warning(dropped) {
                tracing::warn!(%from, %to, dropped, "no address for the destination: message dropped (add it to the peer table)");
            }
            return Err(Error::UnknownPeer(to));
        }
        let mut links = self.links.write().unwrap_or_else(|e| e.into_inner());
        if self.closed.load(Ordering::Acquire) {
            c.dropped_no_inbox.bump();
            return Err(Error::ShutDown);
        }
        let link = links
            .entry((from, to))
            .or_insert_with(|| self.open_link(from, to));
        self.push(link, msg)
    }

    /// Creates the link `from → to` and starts its task.
    fn open_link(self: &Arc<Self>, from: NodeId, to: NodeId) -> Link<M> {
        let (tx, rx) = mpsc::channel(self.queue_capacity);
        let counters = Arc::new(LinkCounters {
            from,
            to,
            connected: AtomicBool::new(false),
            queued: Counter::new(),
            frames_sent: Counter::new(),
            bytes_sent: Counter::new(),
            dropped_queue_full: Counter::new(),
            dropped_connection_lost: Counter::new(),
            reconnects: Counter::new(),
            connect_failures: Counter::new(),
            wake: tokio::sync::Notify::new(),
        });
        let span = tracing::info_span!("tcp_link", from = from.0, to = to.0);
        let task = self
            .runtime
            .spawn(run_link(Arc::clone(self), Arc::clone(&counters), rx).instrument(span));
        let mut tasks = lock(&self.link_tasks);
        tasks.retain(|task| !task.is_finished());
        tasks.push(task);
        Link { tx, counters }
    }

    fn push(&self, link: &Link<M>, msg: M) -> Result<()> {
        match link.tx.try_send(msg) {
            Ok(()) => {
                self.counters.queued.bump();
                link.counters.queued.bump();
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.counters.dropped_queue_full.bump();
                let dropped = link.counters.dropped_queue_full.bump();
                if worth_warning(dropped) {
                    tracing::warn!(
                        from = %link.counters.from,
                        to = %link.counters.to,
                        dropped,
                        capacity = self.queue_capacity,
                        "send queue full: message dropped (the peer is slow or unreachable; raise queue_capacity to buffer more)"
                    );
                }
                Err(Error::QueueFull {
                    to: link.counters.to,
                })
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.counters.dropped_shutdown.bump();
                Err(Error::ShutDown)
            }
        }
    }

    /// `peer` connected to us, so it is up: links to it that wait to
    /// reconnect try now instead of at the end of their backoff.
    fn wake_links_to(&self, peer: NodeId) {
        let links = self.links.read().unwrap_or_else(|e| e.into_inner());
        for ((_, to), link) in links.iter() {
            if *to == peer && !link.counters.connected.load(Ordering::Relaxed) {
                link.counters.wake.notify_one();
            }
        }
    }

    /// Ends the link `from → to`, unreachable for too long: it leaves the
    /// table (the next message opens a new one), and what it had queued is
    /// dropped and counted. Returns how many messages were dropped.
    fn give_up(&self, from: NodeId, to: NodeId, rx: &mut mpsc::Receiver<M>) -> u64 {
        self.links
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(from, to));
        rx.close();
        let mut lost = 0;
        while rx.try_recv().is_ok() {
            lost += 1;
        }
        self.counters.dropped_unreachable.add(lost);
        lost
    }

    /// Registers the inbound connection `(peer, local)` that just opened,
    /// closing the one it replaces. Returns its number and its close signal.
    fn inbound_opened(&self, peer: NodeId, local: NodeId) -> (u64, Arc<tokio::sync::Notify>) {
        let number = self.next_connection.fetch_add(1, Ordering::Relaxed);
        let close = Arc::new(tokio::sync::Notify::new());
        let replaced = lock(&self.inbound).insert((peer, local), (number, Arc::clone(&close)));
        if let Some((_, older)) = replaced {
            self.counters.connections_replaced.bump();
            older.notify_one();
        }
        (number, close)
    }

    /// Forgets inbound connection `number` of `(peer, local)`, unless a
    /// newer one has taken its place.
    fn inbound_closed(&self, peer: NodeId, local: NodeId, number: u64) {
        let mut inbound = lock(&self.inbound);
        if inbound
            .get(&(peer, local))
            .is_some_and(|(n, _)| *n == number)
        {
            inbound.remove(&(peer, local));
        }
    }

    /// The handshake credentials now.
    fn credentials(&self) -> Arc<Credentials> {
        Arc::clone(&self.credentials.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn peer_addr(&self, node: NodeId) -> Option<SocketAddr> {
        self.peers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&node)
            .copied()
    }

    /// Encodes `msg` for `to` and appends its frame to `batch`; counts and
    /// logs a message that cannot go.
    fn encode_into(&self, to: NodeId, msg: &M, scratch: &mut Vec<u8>, batch: &mut Vec<u8>) -> bool {
        scratch.clear();
        if let Err(error) = Postcard.encode(&(to, msg), scratch) {
            self.counters.dropped_encode.bump();
            tracing::warn!(%to, kind = msg.kind(), %error, "cannot encode message: dropped");
            return false;
        }
        if let Err(error) = encode_frame(scratch, self.frame_bytes_max, batch) {
            let dropped = self.counters.dropped_too_large.bump();
            if worth_warning(dropped) {
                tracing::warn!(%to, kind = msg.kind(), %error, "message too large for a frame: dropped (raise frame_bytes_max on every node, or send smaller messages)");
            }
            return false;
        }
        self.kinds.count_sent(msg.kind(), scratch.len());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_validation_names_the_problem() {
        let addr = "127.0.0.1:0".parse().unwrap();
        let key = NodeKey::from_private([1; 32]);
        let good = TcpConfig::new(
            "c",
            b"sixteen byte sec".to_vec(),
            NodeId(0),
            key.clone(),
            addr,
        )
        .peer(NodeId(1), addr, NodeKey::from_private([2; 32]).public());
        good.validate().unwrap();
        let mut bad = good.clone();
        bad.secret.pop();
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("fewer than 16"));
        let mut bad = good.clone();
        bad.reconnect_backoff_min = Duration::from_secs(10);
        assert!(bad.validate().unwrap_err().to_string().contains("backoff"));
        let bad = good.clone().peer(NodeId(2), addr, key.public());
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("n0 and n2 have the same public key"));
        let mut bad = good;
        bad.queue_capacity = 0;
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("queue_capacity"));
        let debug = format!("{bad:?}");
        assert!(!debug.contains("sixteen"), "the secret is redacted");
        assert!(!debug.contains("0101"), "the private key is not shown");
    }

    fn valid() -> TcpConfig {
        let addr = "127.0.0.1:0".parse().unwrap();
        TcpConfig::new(
            "c",
            b"sixteen byte sec".to_vec(),
            NodeId(0),
            NodeKey::from_private([1; 32]),
            addr,
        )
    }

    fn refused(config: &TcpConfig) -> String {
        config.validate().unwrap_err().to_string()
    }

    // A cluster name of up to 896 bytes (the 1 KiB handshake frame less 128
    // for the rest of the hello) is accepted; one more byte is refused.
    #[test]
    fn the_cluster_name_may_fill_the_handshake_frame_and_no_more() {
        let longest = handshake::HANDSHAKE_FRAME_BYTES_MAX - 128;
        assert_eq!(longest, 896);
        let mut config = valid();
        config.cluster = "x".repeat(longest);
        config.validate().unwrap();
        config.cluster.push('x');
        let p = refused(&config);
        assert!(p.contains("897 bytes; at most 896"), "{p}");
    }

    // frame_bytes_max must be in 1..=u32::MAX (the frame header is 4 bytes).
    #[test]
    fn frame_bytes_max_must_fit_the_frame_header() {
        let mut config = valid();
        config.frame_bytes_max = u32::MAX as usize;
        config.validate().unwrap();
        config.frame_bytes_max = 1;
        config.validate().unwrap();
        config.frame_bytes_max = 0;
        assert!(refused(&config).contains("frame_bytes_max = 0"));
        config.frame_bytes_max = u32::MAX as usize + 1;
        assert!(refused(&config).contains("frame_bytes_max = 4294967296"));
    }

    // Each duration must be positive on its own; equal backoff bounds are
    // fine.
    #[test]
    fn each_duration_is_checked_on_its_own() {
        let mut config = valid();
        config.reconnect_backoff_max = config.reconnect_backoff_min;
        config.validate().unwrap();
        let mut zero = valid();
        zero.reconnect_backoff_min = Duration::ZERO;
        assert!(refused(&zero).contains("backoff"));
        let mut zero = valid();
        zero.handshake_timeout = Duration::ZERO;
        assert!(refused(&zero).contains("handshake_timeout"));
        let mut zero = valid();
        zero.link_give_up_after = Duration::ZERO;
        assert!(refused(&zero).contains("link_give_up_after"));
    }

    // The Debug forms name what they show (and never the secret).
    #[test]
    fn debug_forms_show_the_configuration_and_the_transport() {
        let config = valid();
        let debug = format!("{config:?}");
        assert!(
            debug.starts_with("TcpConfig")
                && debug.contains("cluster: \"c\"")
                && debug.contains("<16 bytes, redacted>")
                && debug.contains("queue_capacity: 65536"),
            "{debug}"
        );
        let transport = TcpTransport::<dsys_core::ping_pong::Msg>::start(config).unwrap();
        let debug = format!("{transport:?}");
        assert!(
            debug.starts_with("TcpTransport")
                && debug.contains("cluster: \"c\"")
                && debug.contains(&transport.local_addr().to_string()),
            "{debug}"
        );
        transport.shutdown();
    }
}
