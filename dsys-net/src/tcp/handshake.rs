//! The TCP handshake and the record layer after it, as sans-IO state
//! machines: [`Connector`] runs on the side that opens the connection,
//! [`Acceptor`] on the side that accepts it, and both end with a
//! [`Session`] that encrypts and authenticates every byte that follows.
//! They consume whole frame payloads (the caller reads frames with
//! [`dsys_core::wire::FrameDecoder`] and writes them with
//! [`dsys_core::wire::encode_frame`]) and say what to send back, so the
//! protocol is tested without sockets and the socket code holds no protocol.
//!
//! # Protocol
//!
//! The handshake is the Noise protocol framework's `KK` pattern with a
//! pre-shared key, `Noise_KKpsk0_25519_ChaChaPoly_BLAKE2s`, run by the
//! `snow` crate (no cryptography is written here). `KK`: each side knows
//! the other's static public key before it starts, from the cluster file.
//! The pre-shared key is derived from the cluster's name and secret
//! ([`cluster_psk`]).
//!
//! ```text
//! connector (node a, dialling b)               acceptor (runs b)
//!   Hello { "DSYS", version, cluster,
//!           from: a, to: b,
//!           noise: -> psk, e, es, ss }  ──▶   checks magic, version, cluster,
//!                                             that it runs b and knows a;
//!                                             the Noise message only opens
//!                                             with a's private key and the
//!                                             cluster's pre-shared key
//!                                    ◀──     noise: <- e, ee, se
//!   opens only with b's private key
//!   Confirm (first encrypted record)  ──▶   proves the hello was no replay
//!                                    ◀──     Welcome (encrypted record)
//!   then data records, connector → acceptor only
//! ```
//!
//! Everything in the hello that is not inside the Noise message (magic,
//! version, cluster, both ids) is the Noise *prologue*: changing a byte of
//! it makes the handshake fail. After the handshake each direction has its
//! own ChaCha20-Poly1305 key and a counter nonce: a record that was
//! changed, injected, dropped, reordered or replayed fails to decrypt, and
//! the connection is closed.
//!
//! # Records
//!
//! After the handshake the byte stream is a sequence of records: a 2-byte
//! big-endian length, then that many bytes of one Noise transport message
//! (ciphertext and a 16-byte tag), at most [`RECORD_BYTES_MAX`]. The
//! plaintext of consecutive records is the stream of [`dsys_core::wire`]
//! frames: a frame may span records and a record may hold many frames.
//!
//! # Threat model
//!
//! - **A stranger** (knows neither the cluster secret nor any member's
//!   private key) cannot complete a handshake, so no frame of theirs
//!   reaches a node. Relaying a member's handshake to another member fails
//!   too: the hello names the node it was made for and is encrypted to
//!   that node's key.
//! - **An on-path attacker** (reads, changes, injects and replays bytes on
//!   the wire) learns message sizes and timing, and can cut connections
//!   (the transport reconnects); it cannot read a message, change one, or
//!   have a node accept one it did not send. Private keys are never sent,
//!   and each connection's keys come from fresh ephemeral keys, so a key
//!   stolen later does not decrypt recorded traffic (forward secrecy).
//! - **A malicious member** holds its own private key and the cluster
//!   secret. It can send anything *as itself* (Byzantine behaviour is the
//!   algorithm's problem, not the transport's), but it cannot claim another
//!   member's id: that needs the other member's private key.
//! - **Out of scope**: a stolen private key (replace the key and the
//!   cluster file), denial of service by flooding (bounded, not
//!   prevented: see the transport's limits), and traffic analysis.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use dsys_core::wire::{Codec, Postcard};
use dsys_core::NodeId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use snow::{HandshakeState, TransportState};

use crate::keys::{NodeKey, PublicKey};

/// The first bytes of every hello.
pub const MAGIC: [u8; 4] = *b"DSYS";

/// This implementation's protocol version. A peer with another version is
/// refused with [`Rejection::WrongVersion`]. (Version 1 was an HMAC
/// challenge-response with one shared secret and unencrypted frames.)
pub const PROTOCOL_VERSION: u16 = 2;

/// The Noise protocol this handshake runs.
pub const NOISE_PATTERN: &str = "Noise_KKpsk0_25519_ChaChaPoly_BLAKE2s";

/// The largest handshake frame payload accepted (a hello holds the cluster
/// name, so this also bounds cluster names).
pub const HANDSHAKE_FRAME_BYTES_MAX: usize = 1024;

/// Bytes in a record's length prefix.
pub const RECORD_HEADER_BYTES: usize = 2;

/// The largest record body: Noise's largest message.
pub const RECORD_BYTES_MAX: usize = 65_535;

/// Bytes of authentication tag in each record.
pub const TAG_BYTES: usize = 16;

/// The most plaintext one record carries.
pub const RECORD_PLAINTEXT_MAX: usize = RECORD_BYTES_MAX - TAG_BYTES;

const CONFIRM: u8 = 0x43;
const WELCOME: u8 = 0x57;
const PSK_LABEL: &[u8] = b"dsys cluster psk v2";

/// Why a handshake failed. Its `Display` says what to check.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The bytes are not this protocol (a stranger, a port scanner, another
    /// service on the port, or corruption).
    #[error("malformed handshake: {0} (is this a dsys node of the same version?)")]
    Malformed(String),
    /// The peer speaks another protocol version.
    #[error(
        "protocol version {got}, expected {expected}: run the same dsys version on every node"
    )]
    WrongVersion {
        /// The peer's version.
        got: u16,
        /// Ours.
        expected: u16,
    },
    /// The peer belongs to another cluster.
    #[error(
        "cluster `{got}`, expected `{expected}`: the peer's cluster file names another cluster"
    )]
    WrongCluster {
        /// The peer's cluster name.
        got: String,
        /// Ours.
        expected: String,
    },
    /// The peer claims a node id this side has no public key for.
    #[error(
        "unknown node {0}: it is not in this node's peer table (are the cluster files the same?)"
    )]
    UnknownNode(NodeId),
    /// The peer dialled a node this process does not run (a stale address,
    /// or two cluster files that disagree on addresses).
    #[error("the peer wants node {0}, which this process does not run (do the cluster files agree on addresses?)")]
    NotHere(NodeId),
    /// This process was asked to connect as a node it does not run (a
    /// message sent with a `from` that is not a local node).
    #[error("this process does not run {0}, so it cannot connect as {0}: send only from the nodes in its configuration")]
    NotLocal(NodeId),
    /// The handshake's cryptography failed: the peer does not hold the
    /// private key of the node it claims (or dialled), or does not know the
    /// cluster secret, or the bytes were tampered with or replayed.
    #[error("authentication failed: the peer does not hold the key of the node it claims to be, or not the cluster secret (compare the cluster files' public keys and secret), or the handshake was tampered with")]
    BadAuth,
    /// The handshake did not finish in time.
    #[error("handshake timed out (a silent or very slow peer)")]
    Timeout,
    /// The peer closed the connection during the handshake (it probably
    /// refused us: see its log for the reason).
    #[error("the peer closed the connection during the handshake (it refused us: check its log)")]
    Closed,
    /// Too many connections are in their handshake at once (a flood of
    /// unauthenticated connections); this one was closed at once.
    #[error("too many handshakes in progress: connection closed unread (a connection flood?)")]
    Busy,
    /// A frame arrived out of turn.
    #[error("unexpected bytes during the handshake: {0}")]
    Unexpected(&'static str),
}

/// The counter a [`Rejection`] is counted under in the transport's stats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// [`Rejection::Malformed`] or [`Rejection::Unexpected`].
    Malformed,
    /// [`Rejection::WrongVersion`].
    WrongVersion,
    /// [`Rejection::WrongCluster`].
    WrongCluster,
    /// [`Rejection::UnknownNode`], [`Rejection::NotHere`] or
    /// [`Rejection::NotLocal`].
    UnknownNode,
    /// [`Rejection::BadAuth`].
    BadAuth,
    /// [`Rejection::Timeout`].
    Timeout,
    /// [`Rejection::Closed`].
    Closed,
    /// [`Rejection::Busy`].
    Busy,
}

impl Rejection {
    /// The counter this rejection is counted under.
    pub fn reason(&self) -> RejectReason {
        match self {
            Rejection::Malformed(_) | Rejection::Unexpected(_) => RejectReason::Malformed,
            Rejection::WrongVersion { .. } => RejectReason::WrongVersion,
            Rejection::WrongCluster { .. } => RejectReason::WrongCluster,
            Rejection::UnknownNode(_) | Rejection::NotHere(_) | Rejection::NotLocal(_) => {
                RejectReason::UnknownNode
            }
            Rejection::BadAuth => RejectReason::BadAuth,
            Rejection::Timeout => RejectReason::Timeout,
            Rejection::Closed => RejectReason::Closed,
            Rejection::Busy => RejectReason::Busy,
        }
    }
}

fn malformed(what: impl fmt::Display) -> Rejection {
    Rejection::Malformed(what.to_string())
}

/// The Noise pre-shared key of a cluster: SHA-256 over a label, the
/// cluster's name (length-prefixed) and its secret.
pub fn cluster_psk(cluster: &str, secret: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(PSK_LABEL);
    hash.update((cluster.len() as u64).to_be_bytes());
    hash.update(cluster.as_bytes());
    hash.update(secret);
    hash.finalize().into()
}

/// What one process needs to run handshakes: the cluster's name and
/// pre-shared key, the key pair of each node it runs, and the public key
/// of every node it may talk to.
#[derive(Clone)]
pub struct Credentials {
    cluster: String,
    psk: [u8; 32],
    local: BTreeMap<NodeId, NodeKey>,
    peers: BTreeMap<NodeId, PublicKey>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("cluster", &self.cluster)
            .field("local", &self.local)
            .field("peers", &self.peers)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// The credentials of a process running the nodes in `local` (each with
    /// its key pair) of `cluster`, talking to `peers`.
    pub fn new(
        cluster: &str,
        secret: &[u8],
        local: BTreeMap<NodeId, NodeKey>,
        peers: BTreeMap<NodeId, PublicKey>,
    ) -> Credentials {
        Credentials {
            cluster: cluster.to_owned(),
            psk: cluster_psk(cluster, secret),
            local,
            peers,
        }
    }

    /// The cluster's name.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// The public key of peer `node`.
    pub fn peer(&self, node: NodeId) -> Option<&PublicKey> {
        self.peers.get(&node)
    }

    /// Adds (or replaces) a peer's public key.
    pub fn set_peer(&mut self, node: NodeId, key: PublicKey) {
        self.peers.insert(node, key);
    }

    fn builder(&self) -> snow::Builder<'_> {
        snow::Builder::new(NOISE_PATTERN.parse().expect("a valid Noise pattern"))
    }

    /// The Noise state for one side of a handshake between `from`
    /// (connector) and `to` (acceptor); `me` and `them` are this side's key
    /// and the other side's public key.
    fn handshake(
        &self,
        from: NodeId,
        to: NodeId,
        me: &NodeKey,
        them: &PublicKey,
        initiator: bool,
    ) -> Result<HandshakeState, Rejection> {
        let prologue = prologue(&self.cluster, from, to);
        let builder = self
            .builder()
            .local_private_key(me.private())
            .and_then(|b| b.remote_public_key(&them.0))
            .and_then(|b| b.prologue(&prologue))
            .and_then(|b| b.psk(0, &self.psk))
            .map_err(|e| malformed(format!("cannot set up Noise: {e}")))?;
        let state = if initiator {
            builder.build_initiator()
        } else {
            builder.build_responder()
        };
        state.map_err(|e| malformed(format!("cannot set up Noise: {e}")))
    }
}

/// The bytes both sides bind into the handshake without sending them
/// encrypted: the hello's cleartext fields.
fn prologue(cluster: &str, from: NodeId, to: NodeId) -> Vec<u8> {
    let mut out = Vec::with_capacity(18 + cluster.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    out.extend_from_slice(&(cluster.len() as u32).to_be_bytes());
    out.extend_from_slice(cluster.as_bytes());
    out.extend_from_slice(&from.0.to_be_bytes());
    out.extend_from_slice(&to.0.to_be_bytes());
    out
}

/// The first frame, from the connector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    /// The connector's protocol version.
    pub version: u16,
    /// The connector's cluster name.
    pub cluster: String,
    /// The node the connector speaks for.
    pub from: NodeId,
    /// The node it wants to reach.
    pub to: NodeId,
    /// The first Noise handshake message.
    pub noise: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct HelloBody {
    cluster: String,
    from: NodeId,
    to: NodeId,
    noise: Vec<u8>,
}

impl Hello {
    /// The frame payload: magic, version (2 bytes big-endian), then the
    /// postcard-encoded body. Magic and version come first and have a fixed
    /// layout so that any future version can still be recognised and
    /// refused with a clear reason.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.cluster.len() + self.noise.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&self.version.to_be_bytes());
        let body = HelloBody {
            cluster: self.cluster.clone(),
            from: self.from,
            to: self.to,
            noise: self.noise.clone(),
        };
        // Encoding strings, integers and bytes into a Vec cannot fail.
        let _ = Postcard.encode(&body, &mut out);
        out
    }

    /// Parses a hello payload. The version is checked before the body, so a
    /// peer of another version gets [`Rejection::WrongVersion`] rather than
    /// [`Rejection::Malformed`].
    pub fn decode(payload: &[u8]) -> Result<Hello, Rejection> {
        let Some((magic, rest)) = payload.split_first_chunk::<4>() else {
            return Err(malformed(format!(
                "a {}-byte hello is too short",
                payload.len()
            )));
        };
        if *magic != MAGIC {
            return Err(malformed(format!(
                "bad magic {magic:02x?}, expected {MAGIC:02x?}"
            )));
        }
        let Some((version, body)) = rest.split_first_chunk::<2>() else {
            return Err(malformed("the hello ends before its version"));
        };
        let version = u16::from_be_bytes(*version);
        if version != PROTOCOL_VERSION {
            return Err(Rejection::WrongVersion {
                got: version,
                expected: PROTOCOL_VERSION,
            });
        }
        let body: HelloBody = Postcard.decode(body).map_err(malformed)?;
        Ok(Hello {
            version,
            cluster: body.cluster,
            from: body.from,
            to: body.to,
            noise: body.noise,
        })
    }
}

/// Why a record could not be sealed or opened.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// A record failed authentication: it was changed, injected, reordered
    /// or replayed (or the stream is not records at all).
    #[error("a record failed authentication (tampered with, injected, reordered or replayed)")]
    Unauthenticated,
    /// A record's length is impossible (shorter than its tag).
    #[error("a record of {0} bytes is shorter than its 16-byte tag")]
    TooShort(usize),
    /// The connection used up its nonces (2⁶⁴ records): reconnect.
    #[error("the connection's nonces are used up: reconnect")]
    Exhausted,
}

/// One side of an open connection: seals the records it sends and opens
/// the records it receives, each direction with its own key and nonce
/// counter.
pub struct Session {
    transport: TransportState,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("sent", &self.transport.sending_nonce())
            .field("received", &self.transport.receiving_nonce())
            .finish_non_exhaustive()
    }
}

impl Session {
    fn new(state: HandshakeState) -> Result<Session, Rejection> {
        state
            .into_transport_mode()
            .map(|transport| Session { transport })
            .map_err(|e| malformed(format!("the handshake did not finish: {e}")))
    }

    /// Appends one Noise message holding `plaintext` (at most
    /// [`RECORD_PLAINTEXT_MAX`] bytes) to `out`, without a length prefix.
    fn seal_message(&mut self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<(), RecordError> {
        let at = out.len();
        out.resize(at + plaintext.len() + TAG_BYTES, 0);
        match self.transport.write_message(plaintext, &mut out[at..]) {
            Ok(n) => {
                out.truncate(at + n);
                Ok(())
            }
            Err(_) => {
                out.truncate(at);
                Err(RecordError::Exhausted)
            }
        }
    }

    /// Opens one Noise message (no length prefix), appending its plaintext
    /// to `plain`.
    fn open_message(&mut self, message: &[u8], plain: &mut Vec<u8>) -> Result<(), RecordError> {
        if message.len() < TAG_BYTES {
            return Err(RecordError::TooShort(message.len()));
        }
        let at = plain.len();
        plain.resize(at + message.len() - TAG_BYTES, 0);
        match self.transport.read_message(message, &mut plain[at..]) {
            Ok(n) => {
                plain.truncate(at + n);
                Ok(())
            }
            Err(_) => {
                plain.truncate(at);
                Err(RecordError::Unauthenticated)
            }
        }
    }

    /// Appends `plaintext` to `out` as records (length prefix and Noise
    /// message), splitting it every [`RECORD_PLAINTEXT_MAX`] bytes.
    pub fn seal(&mut self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<(), RecordError> {
        for chunk in plaintext.chunks(RECORD_PLAINTEXT_MAX) {
            let at = out.len();
            out.extend_from_slice(&[0; RECORD_HEADER_BYTES]);
            self.seal_message(chunk, out)?;
            let len = (out.len() - at - RECORD_HEADER_BYTES) as u16;
            out[at..at + RECORD_HEADER_BYTES].copy_from_slice(&len.to_be_bytes());
        }
        Ok(())
    }

    /// Opens every whole record at the start of `bytes`, appending their
    /// plaintext to `plain`; returns how many bytes were consumed (a partial
    /// record at the end is left for later). After an error the session is
    /// unusable: close the connection.
    pub fn open(&mut self, bytes: &[u8], plain: &mut Vec<u8>) -> Result<usize, RecordError> {
        let mut consumed = 0;
        while let Some((len, rest)) = bytes[consumed..].split_first_chunk::<RECORD_HEADER_BYTES>() {
            let len = usize::from(u16::from_be_bytes(*len));
            if len < TAG_BYTES {
                return Err(RecordError::TooShort(len));
            }
            let Some(message) = rest.get(..len) else {
                break;
            };
            self.open_message(message, plain)?;
            consumed += RECORD_HEADER_BYTES + len;
        }
        Ok(consumed)
    }
}

/// The connecting side of a handshake.
pub struct Connector {
    from: NodeId,
    to: NodeId,
    state: ConnectorState,
}

enum ConnectorState {
    AwaitReply(Box<HandshakeState>),
    AwaitWelcome(Session),
    Done,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            ConnectorState::AwaitReply(_) => "await reply",
            ConnectorState::AwaitWelcome(_) => "await welcome",
            ConnectorState::Done => "done",
        };
        f.debug_struct("Connector")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("state", &state)
            .finish()
    }
}

/// What a [`Connector`] does after a frame.
#[derive(Debug)]
pub enum ConnectorStep {
    /// Send this frame payload and wait for the next frame.
    Send(Vec<u8>),
    /// The connection is open: data records may flow through the session.
    Open(Session),
}

impl Connector {
    /// Node `from` connecting to node `to`: the connector and the hello to
    /// send first. Fails if `credentials` lack `from`'s key pair or `to`'s
    /// public key.
    pub fn start(
        credentials: &Credentials,
        from: NodeId,
        to: NodeId,
    ) -> Result<(Connector, Vec<u8>), Rejection> {
        let me = credentials
            .local
            .get(&from)
            .ok_or(Rejection::NotLocal(from))?;
        let them = credentials
            .peers
            .get(&to)
            .ok_or(Rejection::UnknownNode(to))?;
        let mut state = credentials.handshake(from, to, me, them, true)?;
        let mut noise = vec![0u8; HANDSHAKE_FRAME_BYTES_MAX];
        let n = state
            .write_message(&[], &mut noise)
            .map_err(|e| malformed(format!("cannot write the hello: {e}")))?;
        noise.truncate(n);
        let hello = Hello {
            version: PROTOCOL_VERSION,
            cluster: credentials.cluster.clone(),
            from,
            to,
            noise,
        };
        let connector = Connector {
            from,
            to,
            state: ConnectorState::AwaitReply(Box::new(state)),
        };
        Ok((connector, hello.encode()))
    }

    /// Handles the acceptor's next frame payload. After an error the
    /// connector refuses everything.
    pub fn on_frame(&mut self, payload: &[u8]) -> Result<ConnectorStep, Rejection> {
        match std::mem::replace(&mut self.state, ConnectorState::Done) {
            ConnectorState::AwaitReply(mut state) => {
                let mut scratch = vec![0u8; payload.len()];
                state
                    .read_message(payload, &mut scratch)
                    .map_err(|_| Rejection::BadAuth)?;
                let mut session = Session::new(*state)?;
                let mut confirm = Vec::with_capacity(TAG_BYTES + 1);
                session
                    .seal_message(&[CONFIRM], &mut confirm)
                    .map_err(malformed)?;
                self.state = ConnectorState::AwaitWelcome(session);
                Ok(ConnectorStep::Send(confirm))
            }
            ConnectorState::AwaitWelcome(mut session) => {
                let mut plain = Vec::with_capacity(1);
                session
                    .open_message(payload, &mut plain)
                    .map_err(|_| Rejection::BadAuth)?;
                if plain != [WELCOME] {
                    return Err(malformed("expected a welcome"));
                }
                Ok(ConnectorStep::Open(session))
            }
            ConnectorState::Done => Err(Rejection::Unexpected("a frame after the handshake ended")),
        }
    }
}

/// The accepting side of a handshake.
pub struct Acceptor {
    credentials: Arc<Credentials>,
    state: AcceptorState,
}

enum AcceptorState {
    AwaitHello,
    /// The peer, the local node it dialled, the session.
    AwaitConfirm(NodeId, NodeId, Session),
    Done,
}

impl fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            AcceptorState::AwaitHello => "await hello".to_owned(),
            AcceptorState::AwaitConfirm(peer, _, _) => format!("await confirm from {peer}"),
            AcceptorState::Done => "done".to_owned(),
        };
        f.debug_struct("Acceptor")
            .field("cluster", &self.credentials.cluster)
            .field("state", &state)
            .finish()
    }
}

/// What an [`Acceptor`] does after a frame.
#[derive(Debug)]
pub enum AcceptorStep {
    /// Send this frame payload and wait for the next frame.
    Send(Vec<u8>),
    /// The peer is authenticated as `peer`: send `welcome`, then open the
    /// data records from `peer` with `session`.
    Open {
        /// The authenticated node id.
        peer: NodeId,
        /// The local node it dialled.
        local: NodeId,
        /// The last frame payload to send.
        welcome: Vec<u8>,
        /// The connection's record layer.
        session: Session,
    },
}

impl Acceptor {
    /// Accepting for the nodes and peers of `credentials`.
    pub fn new(credentials: Arc<Credentials>) -> Acceptor {
        Acceptor {
            credentials,
            state: AcceptorState::AwaitHello,
        }
    }

    /// Handles the connector's next frame payload. After an error the
    /// acceptor refuses everything.
    pub fn on_frame(&mut self, payload: &[u8]) -> Result<AcceptorStep, Rejection> {
        match std::mem::replace(&mut self.state, AcceptorState::Done) {
            AcceptorState::AwaitHello => {
                let hello = Hello::decode(payload)?;
                let credentials = &self.credentials;
                if hello.cluster != credentials.cluster {
                    return Err(Rejection::WrongCluster {
                        got: hello.cluster,
                        expected: credentials.cluster.clone(),
                    });
                }
                let me = credentials
                    .local
                    .get(&hello.to)
                    .ok_or(Rejection::NotHere(hello.to))?;
                let them = credentials
                    .peers
                    .get(&hello.from)
                    .ok_or(Rejection::UnknownNode(hello.from))?;
                let mut state = credentials.handshake(hello.from, hello.to, me, them, false)?;
                let mut scratch = vec![0u8; hello.noise.len()];
                state
                    .read_message(&hello.noise, &mut scratch)
                    .map_err(|_| Rejection::BadAuth)?;
                let mut reply = vec![0u8; HANDSHAKE_FRAME_BYTES_MAX];
                let n = state
                    .write_message(&[], &mut reply)
                    .map_err(|e| malformed(format!("cannot write the reply: {e}")))?;
                reply.truncate(n);
                self.state =
                    AcceptorState::AwaitConfirm(hello.from, hello.to, Session::new(state)?);
                Ok(AcceptorStep::Send(reply))
            }
            AcceptorState::AwaitConfirm(peer, local, mut session) => {
                let mut plain = Vec::with_capacity(1);
                session
                    .open_message(payload, &mut plain)
                    .map_err(|_| Rejection::BadAuth)?;
                if plain != [CONFIRM] {
                    return Err(malformed("expected a confirmation"));
                }
                let mut welcome = Vec::with_capacity(TAG_BYTES + 1);
                session
                    .seal_message(&[WELCOME], &mut welcome)
                    .map_err(malformed)?;
                Ok(AcceptorStep::Open {
                    peer,
                    local,
                    welcome,
                    session,
                })
            }
            AcceptorState::Done => Err(Rejection::Unexpected("a frame after the handshake ended")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a cluster secret of some length";

    struct Keys {
        a: NodeKey,
        b: NodeKey,
    }

    fn keys() -> Keys {
        Keys {
            a: NodeKey::from_private([1; 32]),
            b: NodeKey::from_private([2; 32]),
        }
    }

    /// Node 0 (key `a`) connecting to node 1 (key `b`), with the secrets
    /// and keys each side believes in.
    fn sides(
        k: &Keys,
        connector_secret: &[u8],
        acceptor_knows_a_as: PublicKey,
    ) -> (Credentials, Arc<Credentials>) {
        let c = Credentials::new(
            "c",
            connector_secret,
            [(NodeId(0), k.a.clone())].into(),
            [(NodeId(1), k.b.public())].into(),
        );
        let a = Credentials::new(
            "c",
            SECRET,
            [(NodeId(1), k.b.clone())].into(),
            [(NodeId(0), acceptor_knows_a_as)].into(),
        );
        (c, Arc::new(a))
    }

    fn open_both(c: &Credentials, a: Arc<Credentials>) -> (Session, Session) {
        let (mut connector, hello) = Connector::start(c, NodeId(0), NodeId(1)).unwrap();
        let mut acceptor = Acceptor::new(a);
        let AcceptorStep::Send(reply) = acceptor.on_frame(&hello).unwrap() else {
            panic!("expected a reply")
        };
        let ConnectorStep::Send(confirm) = connector.on_frame(&reply).unwrap() else {
            panic!("expected a confirmation")
        };
        let AcceptorStep::Open {
            peer,
            local,
            welcome,
            session: accepted,
        } = acceptor.on_frame(&confirm).unwrap()
        else {
            panic!("expected open")
        };
        assert_eq!((peer, local), (NodeId(0), NodeId(1)));
        let ConnectorStep::Open(connected) = connector.on_frame(&welcome).unwrap() else {
            panic!("expected open")
        };
        assert!(acceptor.on_frame(&[]).is_err(), "nothing after the end");
        assert!(connector.on_frame(&[]).is_err(), "nothing after the end");
        (connected, accepted)
    }

    #[test]
    fn a_good_handshake_opens_both_sides_and_records_flow() {
        let k = keys();
        let (c, a) = sides(&k, SECRET, k.a.public());
        let (mut tx, mut rx) = open_both(&c, a);
        // Three records: 65,519 + 65,519 + 2 bytes.
        let data: Vec<u8> = (0..2 * RECORD_PLAINTEXT_MAX + 2).map(|i| i as u8).collect();
        let mut wire = Vec::new();
        tx.seal(&data, &mut wire).unwrap();
        tx.seal(b"tail", &mut wire).unwrap();
        assert_eq!(
            wire.len(),
            data.len() + 4 + 4 * (RECORD_HEADER_BYTES + TAG_BYTES)
        );
        assert!(
            !wire.windows(64).any(|w| w == &data[1000..1064]),
            "encrypted"
        );
        // Delivered in pieces: a partial record waits for the rest.
        let mut plain = Vec::new();
        let cut = RECORD_HEADER_BYTES + RECORD_BYTES_MAX + 7;
        let used = rx.open(&wire[..cut], &mut plain).unwrap();
        assert_eq!(used, RECORD_HEADER_BYTES + RECORD_BYTES_MAX);
        let rest = rx.open(&wire[used..], &mut plain).unwrap();
        assert_eq!(used + rest, wire.len());
        assert_eq!(&plain[..data.len()], &data[..]);
        assert_eq!(&plain[data.len()..], b"tail");
    }

    #[test]
    fn tampered_replayed_and_reordered_records_are_refused() {
        let k = keys();
        let (c, a) = sides(&k, SECRET, k.a.public());
        let (mut tx, mut rx) = open_both(&c, a);
        let (mut one, mut two) = (Vec::new(), Vec::new());
        tx.seal(b"one", &mut one).unwrap();
        tx.seal(b"two", &mut two).unwrap();
        let mut plain = Vec::new();
        // Reordered: the second record first.
        let (c2, a2) = sides(&k, SECRET, k.a.public());
        let (_, mut fresh) = open_both(&c2, a2);
        assert_eq!(
            fresh.open(&two, &mut plain),
            Err(RecordError::Unauthenticated),
            "a record of another connection"
        );
        let mut flipped = one.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(
            rx.open(&flipped, &mut plain),
            Err(RecordError::Unauthenticated)
        );
        assert!(plain.is_empty(), "nothing of a refused record is delivered");
        // A fresh receiver takes `one`, then refuses it replayed.
        let (c3, a3) = sides(&k, SECRET, k.a.public());
        let (mut tx3, mut rx3) = open_both(&c3, a3);
        let mut wire = Vec::new();
        tx3.seal(b"x", &mut wire).unwrap();
        rx3.open(&wire, &mut plain).unwrap();
        assert_eq!(
            rx3.open(&wire, &mut plain),
            Err(RecordError::Unauthenticated)
        );
        assert_eq!(
            rx3.open(&[0, 3, 1, 2, 3], &mut plain),
            Err(RecordError::TooShort(3))
        );
    }

    #[test]
    fn each_fault_is_refused_with_its_reason() {
        let k = keys();
        // The connector does not know the cluster secret.
        let (c, a) = sides(&k, b"a guessed secret, also long", k.a.public());
        let (_, hello) = Connector::start(&c, NodeId(0), NodeId(1)).unwrap();
        assert_eq!(
            Acceptor::new(a).on_frame(&hello).unwrap_err(),
            Rejection::BadAuth
        );

        // A member (key `b`'s holder, here a stranger's key) claiming to be
        // node 0: the acceptor knows node 0's real key.
        let stranger = NodeKey::from_private([9; 32]);
        let (c, a) = sides(&k, SECRET, stranger.public());
        let (_, hello) = Connector::start(&c, NodeId(0), NodeId(1)).unwrap();
        assert_eq!(
            Acceptor::new(a).on_frame(&hello).unwrap_err(),
            Rejection::BadAuth
        );

        // The acceptor is not node 1 (it has another key): the connector
        // refuses its reply.
        let (c, _) = sides(&k, SECRET, k.a.public());
        let impostor = Arc::new(Credentials::new(
            "c",
            SECRET,
            [(NodeId(1), stranger.clone())].into(),
            [(NodeId(0), k.a.public())].into(),
        ));
        let (mut connector, hello) = Connector::start(&c, NodeId(0), NodeId(1)).unwrap();
        // (It cannot even read the hello: made for node 1's real key.)
        assert_eq!(
            Acceptor::new(Arc::clone(&impostor))
                .on_frame(&hello)
                .unwrap_err(),
            Rejection::BadAuth
        );
        // A reply made by a real acceptor for another handshake is refused.
        let (c2, a2) = sides(&k, SECRET, k.a.public());
        let (_, hello2) = Connector::start(&c2, NodeId(0), NodeId(1)).unwrap();
        let AcceptorStep::Send(other_reply) = Acceptor::new(a2).on_frame(&hello2).unwrap() else {
            panic!()
        };
        assert_eq!(
            connector.on_frame(&other_reply).unwrap_err(),
            Rejection::BadAuth
        );

        // Changing a cleartext field of the hello (here the claimed sender)
        // breaks the prologue.
        let (c, a) = sides(&k, SECRET, k.a.public());
        let (_, hello) = Connector::start(&c, NodeId(0), NodeId(1)).unwrap();
        let mut changed = Hello::decode(&hello).unwrap();
        changed.cluster = "d".into();
        let mut a_d = (*a).clone();
        a_d.cluster = "d".into();
        a_d.psk = cluster_psk("c", SECRET);
        assert_eq!(
            Acceptor::new(Arc::new(a_d))
                .on_frame(&changed.encode())
                .unwrap_err(),
            Rejection::BadAuth
        );
        assert_eq!(
            Acceptor::new(Arc::clone(&a))
                .on_frame(&changed.encode())
                .unwrap_err()
                .reason(),
            RejectReason::WrongCluster
        );
        changed.cluster = "c".into();
        changed.from = NodeId(5);
        assert_eq!(
            Acceptor::new(Arc::clone(&a))
                .on_frame(&changed.encode())
                .unwrap_err(),
            Rejection::UnknownNode(NodeId(5))
        );
        changed.from = NodeId(0);
        changed.to = NodeId(7);
        assert_eq!(
            Acceptor::new(Arc::clone(&a))
                .on_frame(&changed.encode())
                .unwrap_err(),
            Rejection::NotHere(NodeId(7))
        );
        changed.to = NodeId(1);
        changed.version = 1;
        assert_eq!(
            Acceptor::new(Arc::clone(&a))
                .on_frame(&changed.encode())
                .unwrap_err()
                .reason(),
            RejectReason::WrongVersion
        );
        assert_eq!(
            Acceptor::new(a)
                .on_frame(b"GET / HTTP/1.1")
                .unwrap_err()
                .reason(),
            RejectReason::Malformed
        );
    }

    #[test]
    fn an_empty_record_opens_and_debug_forms_name_what_they_show() {
        let k = keys();
        let (c, a) = sides(&k, SECRET, k.a.public());
        assert_eq!(c.cluster(), "c");
        assert_eq!(c.peer(NodeId(1)), Some(&k.b.public()));
        assert_eq!(c.peer(NodeId(7)), None);
        let debug = format!("{c:?}");
        assert!(
            debug.contains("Credentials") && debug.contains("\"c\""),
            "{debug}"
        );
        assert!(
            !debug.contains("psk"),
            "the pre-shared key is not shown: {debug}"
        );
        let (connector, _) = Connector::start(&c, NodeId(0), NodeId(1)).unwrap();
        assert!(format!("{connector:?}").contains("await reply"));
        assert!(format!("{:?}", Acceptor::new(Arc::clone(&a))).contains("await hello"));
        let (mut tx, mut rx) = open_both(&c, a);
        // A record of tag alone (no plaintext) is well formed.
        let mut empty = Vec::new();
        tx.seal_message(&[], &mut empty).unwrap();
        assert_eq!(empty.len(), TAG_BYTES);
        let mut plain = Vec::new();
        rx.open_message(&empty, &mut plain).unwrap();
        assert!(plain.is_empty());
        let mut framed = (TAG_BYTES as u16).to_be_bytes().to_vec();
        tx.seal_message(&[], &mut framed).unwrap();
        assert_eq!(rx.open(&framed, &mut plain), Ok(framed.len()));
        assert!(
            format!("{rx:?}").contains("received: 3"),
            "the confirmation and two records: {rx:?}"
        );
    }

    #[test]
    fn a_connector_needs_its_own_key_and_the_peers() {
        let k = keys();
        let (c, _) = sides(&k, SECRET, k.a.public());
        let err = Connector::start(&c, NodeId(5), NodeId(1)).unwrap_err();
        assert_eq!(err, Rejection::NotLocal(NodeId(5)));
        assert!(err.to_string().contains("does not run n5"), "{err}");
        assert_eq!(
            Connector::start(&c, NodeId(0), NodeId(9)).unwrap_err(),
            Rejection::UnknownNode(NodeId(9))
        );
    }

    #[test]
    fn a_replayed_hello_never_opens_a_connection() {
        let k = keys();
        let (c, a) = sides(&k, SECRET, k.a.public());
        let (mut connector, hello) = Connector::start(&c, NodeId(0), NodeId(1)).unwrap();
        let mut first = Acceptor::new(Arc::clone(&a));
        let AcceptorStep::Send(reply) = first.on_frame(&hello).unwrap() else {
            panic!()
        };
        let ConnectorStep::Send(confirm) = connector.on_frame(&reply).unwrap() else {
            panic!()
        };
        // An attacker replays the recorded hello and confirmation to a new
        // connection: the acceptor answers the hello (it cannot tell), but
        // the old confirmation does not open under the new keys.
        let mut replayed = Acceptor::new(a);
        assert!(matches!(
            replayed.on_frame(&hello).unwrap(),
            AcceptorStep::Send(_)
        ));
        assert_eq!(replayed.on_frame(&confirm).unwrap_err(), Rejection::BadAuth);
    }
}
