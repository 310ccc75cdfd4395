//! [`UdpTransport`]: the actix runtime's [`Transport`] over UDP, one
//! datagram per message, with the real network's loss, duplication and
//! reordering and no retransmission — pair it with [`crate::reliable`] when
//! an algorithm needs exactly-once, in-order delivery.
//!
//! # Datagram format
//!
//! ```text
//! "DSYU" | version: u16 | from: u32 | to: u32 | epoch: u64 | seq: u64 | postcard(message) | tag: 32 bytes
//! ```
//!
//! (integers big-endian). `tag` is HMAC-SHA256 over everything before it,
//! keyed per direction: the key of `from → to` is derived from the X25519
//! shared secret of the two nodes' key pairs ([`crate::keys`]) and the
//! cluster's pre-shared key (cluster name and secret), so only `from` and
//! `to` can make it, and a member cannot send as another member. It is
//! checked in constant time: a datagram from a stranger, from another
//! cluster, claiming another sender, or damaged in transit is dropped and
//! counted. Datagrams are authenticated, not encrypted.
//!
//! **Replays.** `epoch` is the sending transport's start time (µs since the
//! Unix epoch) and `seq` counts its datagrams from 1. The receiver keeps,
//! per sender, the newest epoch and a window of the last 128 sequence
//! numbers it accepted: a datagram of an older epoch, older than the
//! window, or already seen is dropped and counted
//! ([`UdpStats::rejected_replayed`]), and a newer epoch (the sender
//! restarted) starts a new window. Network duplicates are dropped the same
//! way. Limits: a receiver that restarts forgets its windows, so until it
//! hears from a sender again, each datagram recorded from that sender's
//! last 128 can be replayed to it once; and a sender whose clock stepped
//! back across its restart is refused until its clock passes its old epoch
//! (each refusal is counted and logged).
//!
//! # Sizes
//!
//! A message whose datagram (header, encoding and tag: 46 bytes of
//! overhead) exceeds `datagram_bytes_max` is refused: [`UdpTransport::try_send`]
//! returns [`Error::MessageTooLarge`], [`Transport::send`] logs it and counts
//! it in [`UdpStats::dropped_too_large`]. The default, 1,472 bytes, fits an
//! Ethernet frame without IP fragmentation; the ceiling is 65,507 bytes
//! (the largest IPv4 UDP payload).
//!
//! # Threads
//!
//! Sending is one non-blocking `send_to` on the caller's thread (a full
//! socket buffer drops the message and counts it in
//! `dropped_would_block`). Receiving runs on one background thread that
//! checks, decodes and hands each datagram to the destination's inbox with
//! `Recipient::try_send`. No tokio runtime is needed.
//!
//! ```no_run
//! use std::sync::Arc;
//! use dsys_core::NodeId;
//! use dsys_net::{UdpConfig, UdpTransport};
//!
//! # fn main() -> dsys_net::Result<()> {
//! let key = dsys_net::NodeKey::load("keys/n0.key")?;
//! let n1 = dsys_net::NodeKey::generate().public(); // from the cluster file
//! let config = UdpConfig::new("demo", b"a long random secret".to_vec(), NodeId(0), key, "0.0.0.0:7000".parse().unwrap())
//!     .peer(NodeId(1), "10.0.0.2:7000".parse().unwrap(), n1);
//! let transport: Arc<UdpTransport<dsys_core::ping_pong::Msg>> = Arc::new(UdpTransport::start(config)?);
//! println!("listening on {}", transport.local_addr());
//! # Ok(())
//! # }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use actix::Recipient;
use dsys_core::runtime::{
    worth_warning, Counter, Deliver, Inboxes, KindStats, KindTable, Transport, TransportStats,
};
use dsys_core::wire::{Codec, Postcard};
use dsys_core::{Message, NodeId};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::keys::{NodeKey, Peer, PublicKey};
use crate::tcp::handshake::cluster_psk;
use crate::{Error, Result};

/// The first bytes of every datagram.
pub const MAGIC: [u8; 4] = *b"DSYU";

/// The datagram format's version (1 had one cluster-wide MAC key and no
/// replay window).
pub const PROTOCOL_VERSION: u16 = 2;

/// Bytes before the message: magic, version, from, to, epoch, seq.
pub const HEADER_BYTES: usize = 4 + 2 + 4 + 4 + 8 + 8;

/// Sequence numbers a receiver remembers per sender.
pub const REPLAY_WINDOW: u64 = 128;

/// Bytes of the HMAC-SHA256 tag after the message.
pub const TAG_BYTES: usize = 32;

/// The largest UDP payload over IPv4.
pub const DATAGRAM_BYTES_LIMIT: usize = 65_507;

/// The default maximum datagram: an Ethernet MTU (1,500) less IPv4 and UDP
/// headers.
pub const DATAGRAM_BYTES_MAX_DEFAULT: usize = 1_472;

const LABEL: &[u8] = b"dsys udp v2";

/// How long the receiving thread sleeps in `recv` before it checks for
/// shutdown (shutdown also wakes it at once with an empty datagram).
const RECV_POLL: Duration = Duration::from_millis(200);

/// How a [`UdpTransport`] is set up.
#[derive(Clone)]
pub struct UdpConfig {
    /// The cluster's name (part of every datagram's MAC key).
    pub cluster: String,
    /// The cluster's shared secret (at least 16 bytes).
    pub secret: Vec<u8>,
    /// The nodes this process runs, each with its key pair.
    pub local: BTreeMap<NodeId, NodeKey>,
    /// The address to receive on; port 0 lets the OS choose.
    pub listen: SocketAddr,
    /// Every other node's address and public key.
    pub peers: BTreeMap<NodeId, Peer>,
    /// The largest datagram sent or accepted, header and tag included.
    pub datagram_bytes_max: usize,
}

impl fmt::Debug for UdpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpConfig")
            .field("cluster", &self.cluster)
            .field(
                "secret",
                &format_args!("<{} bytes, redacted>", self.secret.len()),
            )
            .field("local", &self.local)
            .field("listen", &self.listen)
            .field("peers", &self.peers)
            .field("datagram_bytes_max", &self.datagram_bytes_max)
            .finish()
    }
}

impl UdpConfig {
    /// Node `node` of `cluster`, with key pair `key`, receiving on
    /// `listen`, no peers yet, datagrams of at most
    /// [`DATAGRAM_BYTES_MAX_DEFAULT`] bytes.
    pub fn new(
        cluster: impl Into<String>,
        secret: impl Into<Vec<u8>>,
        node: NodeId,
        key: NodeKey,
        listen: SocketAddr,
    ) -> UdpConfig {
        UdpConfig {
            cluster: cluster.into(),
            secret: secret.into(),
            local: BTreeMap::from([(node, key)]),
            listen,
            peers: BTreeMap::new(),
            datagram_bytes_max: DATAGRAM_BYTES_MAX_DEFAULT,
        }
    }

    /// Adds (or moves) a peer.
    pub fn peer(mut self, node: NodeId, addr: SocketAddr, key: PublicKey) -> UdpConfig {
        self.peers.insert(node, Peer { addr, key });
        self
    }

    /// Checks every value.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: String| Err(Error::InvalidConfig(what));
        if self.cluster.is_empty() {
            return bad("the cluster name is empty: give every cluster a name".into());
        }
        crate::keys::check_secret(&self.secret).or_else(bad)?;
        if self.local.is_empty() {
            return bad("no local node: name the node id(s) this process runs".into());
        }
        if self.datagram_bytes_max <= HEADER_BYTES + TAG_BYTES
            || self.datagram_bytes_max > DATAGRAM_BYTES_LIMIT
        {
            return bad(format!(
                "datagram_bytes_max = {} must be between {} and {DATAGRAM_BYTES_LIMIT}",
                self.datagram_bytes_max,
                HEADER_BYTES + TAG_BYTES + 1
            ));
        }
        Ok(())
    }
}

/// What a [`UdpTransport`] has done.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UdpStats {
    /// The counters every transport keeps.
    pub transport: TransportStats,
    /// Datagrams handed to the socket.
    pub datagrams_sent: u64,
    /// Their bytes.
    pub bytes_sent: u64,
    /// Datagrams received (valid or not).
    pub datagrams_received: u64,
    /// Their bytes.
    pub bytes_received: u64,
    /// Messages refused because their datagram would exceed
    /// `datagram_bytes_max`.
    pub dropped_too_large: u64,
    /// Messages dropped because the socket's send buffer was full.
    pub dropped_would_block: u64,
    /// Messages that could not be encoded.
    pub dropped_encode: u64,
    /// Other send errors (no route, …).
    pub send_errors: u64,
    /// Datagrams that are not this protocol, or too short, or whose message
    /// does not decode.
    pub rejected_malformed: u64,
    /// Datagrams of another format version.
    pub rejected_wrong_version: u64,
    /// Datagrams whose tag is wrong (stranger, another cluster, damage).
    pub rejected_bad_auth: u64,
    /// Datagrams naming a sender not in the peer table, or a destination
    /// this process does not run.
    pub rejected_unknown_node: u64,
    /// Authentic datagrams seen before, older than the replay window, or
    /// of a sender's earlier incarnation (replays and network duplicates).
    pub rejected_replayed: u64,
    /// Per message kind, sorted by kind.
    pub kinds: Vec<(&'static str, KindStats)>,
}

#[derive(Debug, Default)]
struct Counters {
    datagrams_sent: Counter,
    bytes_sent: Counter,
    datagrams_received: Counter,
    bytes_received: Counter,
    dropped_too_large: Counter,
    dropped_would_block: Counter,
    dropped_encode: Counter,
    send_errors: Counter,
    rejected_malformed: Counter,
    rejected_wrong_version: Counter,
    rejected_bad_auth: Counter,
    rejected_unknown_node: Counter,
    rejected_replayed: Counter,
}

/// What a receiver remembers of one sender: its newest incarnation and
/// which of the last [`REPLAY_WINDOW`] sequence numbers it accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Window {
    epoch: u64,
    /// The highest sequence number accepted in `epoch`.
    top: u64,
    /// Bit `i` set: `top - i` was accepted.
    seen: u128,
}

impl Window {
    /// Accepts `(epoch, seq)` once, or says why not.
    fn accept(&mut self, epoch: u64, seq: u64) -> std::result::Result<(), &'static str> {
        if epoch < self.epoch {
            return Err("from an earlier incarnation of the sender (a replay, or its clock stepped back across a restart)");
        }
        if epoch > self.epoch {
            *self = Window {
                epoch,
                top: seq,
                seen: 1,
            };
            return Ok(());
        }
        if seq > self.top {
            let shift = seq - self.top;
            self.seen = if shift >= REPLAY_WINDOW {
                0
            } else {
                self.seen << shift
            };
            self.seen |= 1;
            self.top = seq;
            return Ok(());
        }
        let age = self.top - seq;
        if age >= REPLAY_WINDOW {
            return Err("older than the replay window");
        }
        if self.seen & (1 << age) != 0 {
            return Err("seen before (a replay or a network duplicate)");
        }
        self.seen |= 1 << age;
        Ok(())
    }
}

struct Shared<M: Message> {
    cluster: String,
    psk: [u8; 32],
    local: BTreeMap<NodeId, NodeKey>,
    datagram_bytes_max: usize,
    peers: RwLock<BTreeMap<NodeId, Peer>>,
    /// MAC keys by direction (from, to), derived on first use.
    macs: Mutex<HashMap<(NodeId, NodeId), [u8; 32]>>,
    /// This transport's incarnation and its next sequence number.
    epoch: u64,
    seq: AtomicU64,
    /// Per sender.
    windows: Mutex<HashMap<NodeId, Window>>,
    inboxes: Inboxes<M>,
    closed: AtomicBool,
    counters: Counters,
    kinds: KindTable,
}

/// The [`Transport`] over UDP. See the [module documentation](self).
pub struct UdpTransport<M: Message> {
    shared: Arc<Shared<M>>,
    socket: UdpSocket,
    local_addr: SocketAddr,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl<M: Message> fmt::Debug for UdpTransport<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpTransport")
            .field("cluster", &self.shared.cluster)
            .field("local", &self.shared.local.keys())
            .field("local_addr", &self.local_addr)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

fn io_error(context: String) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::Io {
        context,
        error: e.to_string(),
    }
}

impl<M: Message> UdpTransport<M> {
    /// Binds `config.listen` and starts the receiving thread.
    pub fn start(config: UdpConfig) -> Result<UdpTransport<M>> {
        config.validate()?;
        let receiver = UdpSocket::bind(config.listen).map_err(io_error(format!(
            "cannot bind UDP {} (is the port in use? is the address this machine's?)",
            config.listen
        )))?;
        let local_addr = receiver
            .local_addr()
            .map_err(io_error("cannot read the socket's address".into()))?;
        receiver
            .set_read_timeout(Some(RECV_POLL))
            .map_err(io_error("cannot set the socket's read timeout".into()))?;
        // Sending goes through its own non-blocking socket, so `send` never
        // blocks while the receiving thread blocks in `recv`.
        let sender = UdpSocket::bind(SocketAddr::new(local_addr.ip(), 0)).map_err(io_error(
            format!("cannot bind a UDP sending socket on {}", local_addr.ip()),
        ))?;
        sender.set_nonblocking(true).map_err(io_error(
            "cannot make the sending socket non-blocking".into(),
        ))?;
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        let shared = Arc::new(Shared {
            psk: cluster_psk(&config.cluster, &config.secret),
            cluster: config.cluster,
            local: config.local,
            datagram_bytes_max: config.datagram_bytes_max,
            peers: RwLock::new(config.peers),
            macs: Mutex::new(HashMap::new()),
            epoch,
            seq: AtomicU64::new(1),
            windows: Mutex::new(HashMap::new()),
            inboxes: Inboxes::new(),
            closed: AtomicBool::new(false),
            counters: Counters::default(),
            kinds: KindTable::new(),
        });
        let task_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("dsys-udp-{local_addr}"))
            .spawn(move || {
                let span = tracing::info_span!("udp", addr = %local_addr);
                let _entered = span.enter();
                receive(&task_shared, &receiver);
            })
            .map_err(io_error("cannot start the UDP receiving thread".into()))?;
        tracing::info!(addr = %local_addr, local = ?shared.local.keys(), "udp transport listening");
        Ok(UdpTransport {
            shared,
            socket: sender,
            local_addr,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// The address datagrams are received on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Adds a peer, or changes its address and key.
    pub fn set_peer(&self, node: NodeId, peer: Peer) {
        let shared = &self.shared;
        shared
            .peers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(node, peer);
        lock(&shared.macs).retain(|&(from, to), _| from != node && to != node);
    }

    /// Sends `msg` in one datagram, or says why not:
    /// [`Error::MessageTooLarge`], [`Error::UnknownPeer`], [`Error::ShutDown`],
    /// [`Error::Encode`] or [`Error::Io`] (a full send buffer included). A
    /// datagram sent may still be lost: UDP promises nothing.
    pub fn try_send(&self, from: NodeId, to: NodeId, msg: M) -> Result<()> {
        let shared = &self.shared;
        let c = &shared.counters;
        shared.inboxes.counters().sent.bump();
        if shared.closed.load(Ordering::Acquire) {
            shared.inboxes.counters().dropped_no_inbox.bump();
            return Err(Error::ShutDown);
        }
        if shared.local.contains_key(&to) {
            shared.inboxes.deliver(from, to, msg);
            return Ok(());
        }
        let Some(addr) = shared.peer(to).map(|p| p.addr) else {
            shared.inboxes.counters().dropped_no_inbox.bump();
            return Err(Error::UnknownPeer(to));
        };
        let Some(key) = shared.mac_key(from, to) else {
            shared.inboxes.counters().dropped_no_inbox.bump();
            return Err(Error::InvalidConfig(format!(
                "{from} is not a node of this transport: it cannot send as {from}"
            )));
        };
        let mut datagram = Vec::with_capacity(128);
        datagram.extend_from_slice(&MAGIC);
        datagram.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
        datagram.extend_from_slice(&from.0.to_be_bytes());
        datagram.extend_from_slice(&to.0.to_be_bytes());
        datagram.extend_from_slice(&shared.epoch.to_be_bytes());
        datagram.extend_from_slice(&shared.seq.fetch_add(1, Ordering::Relaxed).to_be_bytes());
        if let Err(e) = Postcard.encode(&msg, &mut datagram) {
            c.dropped_encode.bump();
            return Err(Error::Encode(e.to_string()));
        }
        let payload_bytes = datagram.len() - HEADER_BYTES;
        let bytes = datagram.len() + TAG_BYTES;
        if bytes > shared.datagram_bytes_max {
            c.dropped_too_large.bump();
            return Err(Error::MessageTooLarge {
                bytes,
                max: shared.datagram_bytes_max,
                setting: "datagram_bytes_max (UDP, at most 65,507; or use TCP for large messages)",
            });
        }
        let tag = mac(&key, &datagram).finalize().into_bytes();
        datagram.extend_from_slice(&tag);
        match self.socket.send_to(&datagram, addr) {
            Ok(_) => {
                c.datagrams_sent.bump();
                c.bytes_sent.add(bytes as u64);
                shared.kinds.count_sent(msg.kind(), payload_bytes);
                Ok(())
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                c.dropped_would_block.bump();
                Err(Error::Io {
                    context: format!("sending to {to} at {addr}: the socket's send buffer is full"),
                    error: e.to_string(),
                })
            }
            Err(e) => {
                c.send_errors.bump();
                Err(Error::Io {
                    context: format!("sending to {to} at {addr}"),
                    error: e.to_string(),
                })
            }
        }
    }

    /// The full counters.
    pub fn udp_stats(&self) -> UdpStats {
        let c = &self.shared.counters;
        UdpStats {
            transport: self.stats(),
            datagrams_sent: c.datagrams_sent.get(),
            bytes_sent: c.bytes_sent.get(),
            datagrams_received: c.datagrams_received.get(),
            bytes_received: c.bytes_received.get(),
            dropped_too_large: c.dropped_too_large.get(),
            dropped_would_block: c.dropped_would_block.get(),
            dropped_encode: c.dropped_encode.get(),
            send_errors: c.send_errors.get(),
            rejected_malformed: c.rejected_malformed.get(),
            rejected_wrong_version: c.rejected_wrong_version.get(),
            rejected_bad_auth: c.rejected_bad_auth.get(),
            rejected_unknown_node: c.rejected_unknown_node.get(),
            rejected_replayed: c.rejected_replayed.get(),
            kinds: self.shared.kinds.snapshot(),
        }
    }

    /// Stops receiving and joins the receiving thread. Idempotent; also run
    /// on drop.
    pub fn shutdown(&self) {
        self.shared.closed.store(true, Ordering::Release);
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            // Wake the receiver at once rather than at its next poll.
            let mut wake = self.local_addr;
            if wake.ip().is_unspecified() {
                wake.set_ip(match wake {
                    SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                    SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
                });
            }
            let _ = self.socket.send_to(&[], wake);
            if thread.join().is_err() {
                tracing::error!("the udp transport's thread panicked");
            }
            tracing::info!(addr = %self.local_addr, "udp transport shut down");
        }
    }
}

impl<M: Message> Drop for UdpTransport<M> {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl<M: Message> Transport<M> for UdpTransport<M> {
    fn register(&self, node: NodeId, inbox: Recipient<Deliver<M>>) {
        self.shared.inboxes.register(node, inbox);
    }

    fn unregister(&self, node: NodeId) {
        self.shared.inboxes.unregister(node);
    }

    fn send(&self, from: NodeId, to: NodeId, msg: M) {
        let kind = msg.kind();
        if let Err(error) = self.try_send(from, to, msg) {
            match error {
                Error::MessageTooLarge { .. } => {
                    let dropped = self.shared.counters.dropped_too_large.get();
                    if worth_warning(dropped) {
                        tracing::warn!(%from, %to, kind, %error, "message dropped");
                    }
                }
                error => tracing::debug!(%from, %to, kind, %error, "message dropped"),
            }
        }
    }

    fn stats(&self) -> TransportStats {
        self.shared.inboxes.stats()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// HMAC-SHA256 keyed with `key`, fed `data`.
fn mac(key: &[u8; 32], data: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac
}

impl<M: Message> Shared<M> {
    fn peer(&self, node: NodeId) -> Option<Peer> {
        self.peers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&node)
            .copied()
    }

    /// The MAC key of direction `from → to`, one of them local:
    /// HMAC(psk, label ‖ X25519(from, to) ‖ from ‖ to). `None` when neither
    /// end is local or the other end is not a known peer.
    fn mac_key(&self, from: NodeId, to: NodeId) -> Option<[u8; 32]> {
        if let Some(key) = lock(&self.macs).get(&(from, to)) {
            return Some(*key);
        }
        let shared_secret = match (self.local.get(&from), self.local.get(&to)) {
            (Some(me), _) => me.agree(&self.peer(to)?.key),
            (None, Some(me)) => me.agree(&self.peer(from)?.key),
            (None, None) => return None,
        };
        let mut derive = mac(&self.psk, LABEL);
        derive.update(&shared_secret);
        derive.update(&from.0.to_be_bytes());
        derive.update(&to.0.to_be_bytes());
        let key: [u8; 32] = derive.finalize().into_bytes().into();
        lock(&self.macs).insert((from, to), key);
        Some(key)
    }

    /// Checks and delivers one datagram; counts and logs what is wrong.
    fn on_datagram(&self, datagram: &[u8], source: SocketAddr) {
        let c = &self.counters;
        let reject = |counter: &Counter, why: &dyn fmt::Display| {
            let count = counter.bump();
            if worth_warning(count) {
                tracing::warn!(%source, count, "datagram dropped: {why}");
            }
        };
        if datagram.len() < HEADER_BYTES + TAG_BYTES || datagram[..4] != MAGIC {
            return reject(&c.rejected_malformed, &"not a dsys datagram");
        }
        let version = u16::from_be_bytes([datagram[4], datagram[5]]);
        if version != PROTOCOL_VERSION {
            return reject(
                &c.rejected_wrong_version,
                &format_args!("format version {version}, expected {PROTOCOL_VERSION}: run the same dsys version everywhere"),
            );
        }
        let (signed, tag) = datagram.split_at(datagram.len() - TAG_BYTES);
        let field = |at: usize| -> [u8; 8] { signed[at..at + 8].try_into().expect("8 bytes") };
        let from = NodeId(u32::from_be_bytes([
            signed[6], signed[7], signed[8], signed[9],
        ]));
        let to = NodeId(u32::from_be_bytes([
            signed[10], signed[11], signed[12], signed[13],
        ]));
        let (epoch, seq) = (u64::from_be_bytes(field(14)), u64::from_be_bytes(field(22)));
        if self.local.contains_key(&from) || !self.local.contains_key(&to) {
            return reject(
                &c.rejected_unknown_node,
                &format_args!("from {from} to {to}: not to a node of this process"),
            );
        }
        let Some(key) = self.mac_key(from, to) else {
            return reject(
                &c.rejected_unknown_node,
                &format_args!("sender {from} is not in the peer table"),
            );
        };
        if mac(&key, signed).verify_slice(tag).is_err() {
            return reject(
                &c.rejected_bad_auth,
                &format_args!("authentication failed: not made by {from} with this cluster's secret, or damaged"),
            );
        }
        if let Err(why) = lock(&self.windows)
            .entry(from)
            .or_default()
            .accept(epoch, seq)
        {
            return reject(
                &c.rejected_replayed,
                &format_args!("from {from}, sequence number {seq}: {why}"),
            );
        }
        let payload = &signed[HEADER_BYTES..];
        match Postcard.decode::<M>(payload) {
            Ok(msg) => {
                self.kinds.count_received(msg.kind(), payload.len());
                self.inboxes.deliver(from, to, msg);
            }
            Err(error) => reject(&c.rejected_malformed, &error),
        }
    }
}

/// The receiving thread: until shutdown, read, check and deliver.
fn receive<M: Message>(shared: &Shared<M>, socket: &UdpSocket) {
    let mut buf = vec![0u8; DATAGRAM_BYTES_LIMIT + 1];
    while !shared.closed.load(Ordering::Acquire) {
        match socket.recv_from(&mut buf) {
            Ok((n, source)) => {
                if shared.closed.load(Ordering::Acquire) {
                    break;
                }
                shared.counters.datagrams_received.bump();
                shared.counters.bytes_received.add(n as u64);
                if n > shared.datagram_bytes_max {
                    let count = shared.counters.rejected_malformed.bump();
                    if worth_warning(count) {
                        tracing::warn!(%source, bytes = n, max = shared.datagram_bytes_max, "datagram over datagram_bytes_max dropped");
                    }
                    continue;
                }
                shared.on_datagram(&buf[..n], source);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(error) => {
                // E.g. ICMP errors reported on some platforms: not fatal.
                tracing::debug!(%error, "recv failed");
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_accepts_each_sequence_number_once() {
        let mut w = Window::default();
        assert_eq!(w.accept(5, 10), Ok(()));
        assert!(w.accept(5, 10).is_err(), "the same datagram again");
        assert_eq!(w.accept(5, 8), Ok(()), "late, inside the window");
        assert!(w.accept(5, 8).is_err());
        assert_eq!(w.accept(5, 9), Ok(()));
        assert_eq!(w.accept(5, 10 + 127), Ok(()));
        assert!(w.accept(5, 10).is_err(), "still remembered at age 127");
        assert_eq!(w.accept(5, 10 + 128), Ok(()));
        assert_eq!(
            w.accept(5, 10),
            Err("older than the replay window"),
            "age 128 is out"
        );
        assert_eq!(w.accept(5, 12), Ok(()), "age 126, never seen");
        assert!(w.accept(4, 1_000).is_err(), "an earlier incarnation");
        assert_eq!(w.accept(6, 1), Ok(()), "a restarted sender");
        assert!(w.accept(6, 1).is_err());
        assert_eq!(w.accept(6, 1_000), Ok(()), "a jump clears the window");
        assert_eq!(w.accept(6, 999), Ok(()));
        assert!(w.accept(6, 1_000).is_err());
    }
}
