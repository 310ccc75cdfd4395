//! [`UdpTransport`]: the actix runtime's [`Transport`] over UDP, one
//! datagram per message, with the real network's loss, duplication and
//! reordering and no retransmission — pair it with [`crate::reliable`] when
//! an algorithm needs exactly-once, in-order delivery.
//!
//! # Datagram format
//!
//! ```text
//! "DSYU" | version: u16 | from: u32 | to: u32 | postcard(message) | tag: 32 bytes
//! ```
//!
//! (integers big-endian). `tag` is HMAC-SHA256(secret, "dsys udp" ‖
//! cluster name ‖ everything before the tag), checked in constant time: a
//! datagram from a stranger, from another cluster (the name is part of the
//! MAC) or damaged in transit is dropped and counted. There is no replay
//! protection: an attacker who records a datagram can send it again, which
//! the receiver sees as a network duplicate (algorithms over UDP must
//! tolerate duplicates anyway). Every member knows the secret, so `from` is
//! as trustworthy as the members are.
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
//! let config = UdpConfig::new("demo", b"secret".to_vec(), NodeId(0), "0.0.0.0:7000".parse().unwrap())
//!     .peer(NodeId(1), "10.0.0.2:7000".parse().unwrap());
//! let transport: Arc<UdpTransport<dsys_core::ping_pong::Msg>> = Arc::new(UdpTransport::start(config)?);
//! println!("listening on {}", transport.local_addr());
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
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

use crate::{Error, Result};

/// The first bytes of every datagram.
pub const MAGIC: [u8; 4] = *b"DSYU";

/// The datagram format's version.
pub const PROTOCOL_VERSION: u16 = 1;

/// Bytes before the message: magic, version, from, to.
pub const HEADER_BYTES: usize = 4 + 2 + 4 + 4;

/// Bytes of the HMAC-SHA256 tag after the message.
pub const TAG_BYTES: usize = 32;

/// The largest UDP payload over IPv4.
pub const DATAGRAM_BYTES_LIMIT: usize = 65_507;

/// The default maximum datagram: an Ethernet MTU (1,500) less IPv4 and UDP
/// headers.
pub const DATAGRAM_BYTES_MAX_DEFAULT: usize = 1_472;

const LABEL: &[u8] = b"dsys udp";

/// How long the receiving thread sleeps in `recv` before it checks for
/// shutdown (shutdown also wakes it at once with an empty datagram).
const RECV_POLL: Duration = Duration::from_millis(200);

/// How a [`UdpTransport`] is set up.
#[derive(Clone)]
pub struct UdpConfig {
    /// The cluster's name (part of every datagram's MAC).
    pub cluster: String,
    /// The cluster's shared secret.
    pub secret: Vec<u8>,
    /// The node ids this process runs.
    pub local: Vec<NodeId>,
    /// The address to receive on; port 0 lets the OS choose.
    pub listen: SocketAddr,
    /// Every other node's address.
    pub peers: BTreeMap<NodeId, SocketAddr>,
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
    /// Node `node` of `cluster`, receiving on `listen`, no peers yet,
    /// datagrams of at most [`DATAGRAM_BYTES_MAX_DEFAULT`] bytes.
    pub fn new(
        cluster: impl Into<String>,
        secret: impl Into<Vec<u8>>,
        node: NodeId,
        listen: SocketAddr,
    ) -> UdpConfig {
        UdpConfig {
            cluster: cluster.into(),
            secret: secret.into(),
            local: vec![node],
            listen,
            peers: BTreeMap::new(),
            datagram_bytes_max: DATAGRAM_BYTES_MAX_DEFAULT,
        }
    }

    /// Adds (or moves) a peer.
    pub fn peer(mut self, node: NodeId, addr: SocketAddr) -> UdpConfig {
        self.peers.insert(node, addr);
        self
    }

    /// Checks every value.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: String| Err(Error::InvalidConfig(what));
        if self.cluster.is_empty() {
            return bad("the cluster name is empty: give every cluster a name".into());
        }
        if self.secret.is_empty() {
            return bad("the secret is empty: set a cluster secret".into());
        }
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
    /// Authenticated datagrams naming a sender not in the peer table.
    pub rejected_unknown_node: u64,
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
}

struct Shared<M: Message> {
    cluster: String,
    secret: Vec<u8>,
    local: Vec<NodeId>,
    datagram_bytes_max: usize,
    peers: RwLock<BTreeMap<NodeId, SocketAddr>>,
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
            .field("local", &self.shared.local)
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
        let shared = Arc::new(Shared {
            cluster: config.cluster,
            secret: config.secret,
            local: config.local,
            datagram_bytes_max: config.datagram_bytes_max,
            peers: RwLock::new(config.peers),
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
        tracing::info!(addr = %local_addr, local = ?shared.local, "udp transport listening");
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

    /// Sets (or moves) a peer's address.
    pub fn set_peer_addr(&self, node: NodeId, addr: SocketAddr) {
        self.shared
            .peers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(node, addr);
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
        if shared.local.contains(&to) {
            shared.inboxes.deliver(from, to, msg);
            return Ok(());
        }
        let Some(addr) = shared
            .peers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&to)
            .copied()
        else {
            shared.inboxes.counters().dropped_no_inbox.bump();
            return Err(Error::UnknownPeer(to));
        };
        let mut datagram = Vec::with_capacity(128);
        datagram.extend_from_slice(&MAGIC);
        datagram.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
        datagram.extend_from_slice(&from.0.to_be_bytes());
        datagram.extend_from_slice(&to.0.to_be_bytes());
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
        let tag = shared.tag(&datagram);
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

impl<M: Message> Shared<M> {
    fn mac(&self) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret)
            .expect("HMAC accepts keys of any length");
        mac.update(LABEL);
        mac.update(self.cluster.as_bytes());
        mac
    }

    fn tag(&self, signed: &[u8]) -> [u8; TAG_BYTES] {
        let mut mac = self.mac();
        mac.update(signed);
        mac.finalize().into_bytes().into()
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
        let mut mac = self.mac();
        mac.update(signed);
        if mac.verify_slice(tag).is_err() {
            return reject(
                &c.rejected_bad_auth,
                &"authentication failed (wrong secret or cluster name, or damaged)",
            );
        }
        let from = NodeId(u32::from_be_bytes([
            signed[6], signed[7], signed[8], signed[9],
        ]));
        let to = NodeId(u32::from_be_bytes([
            signed[10], signed[11], signed[12], signed[13],
        ]));
        let known = self
            .peers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&from);
        if !known || self.local.contains(&from) {
            return reject(
                &c.rejected_unknown_node,
                &format_args!("sender {from} is not in the peer table"),
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
