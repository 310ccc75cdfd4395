//! The TCP handshake as a sans-IO state machine: [`Connector`] runs on the
//! side that opens the connection, [`Acceptor`] on the side that accepts it.
//! Both consume whole frame payloads (the caller reads frames with
//! [`dsys_core::wire::FrameDecoder`] and writes them with
//! [`dsys_core::wire::encode_frame`]) and say what to send back, so the
//! protocol is tested without sockets and the socket code holds no protocol.
//!
//! ```text
//! connector                                   acceptor
//!   Hello { "DSYS", version, cluster,
//!           node, nonce_c }            ──▶   checks magic, version, cluster,
//!                                            that node is a cluster member
//!                                    ◀──     Challenge { nonce_a,
//!                                              proof_a = HMAC(secret, "dsys acceptor"
//!                                                  ‖ nonce_c ‖ cluster ‖ node) }
//!   checks proof_a (the acceptor knows
//!   the secret: mutual authentication)
//!   Response { HMAC(secret, "dsys connector"
//!       ‖ nonce_a ‖ cluster ‖ node) }  ──▶   checks it in constant time
//!                                    ◀──     Welcome
//! ```
//!
//! Nonces are 32 random bytes from the operating system's CSPRNG (through
//! `rand::rng()`), fresh per connection, so a recorded handshake cannot be
//! replayed. The labels keep an acceptor's proof from ever being usable as
//! a connector's response. Node ids are 4 bytes big-endian in the MAC input.
//!
//! The secret authenticates the handshake only: frames after it are neither
//! encrypted nor individually authenticated (run over a trusted network or
//! a VPN/TLS tunnel if an attacker can inject into an established TCP
//! stream). Every member of the cluster knows the secret, so a member could
//! claim another member's id; the secret keeps strangers out, not members
//! honest.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use dsys_core::wire::{Codec, Postcard};
use dsys_core::NodeId;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The first bytes of every hello.
pub const MAGIC: [u8; 4] = *b"DSYS";

/// This implementation's protocol version. A peer with another version is
/// refused with [`Rejection::WrongVersion`].
pub const PROTOCOL_VERSION: u16 = 1;

/// The largest handshake frame payload accepted (a hello holds the cluster
/// name, so this also bounds cluster names).
pub const HANDSHAKE_FRAME_BYTES_MAX: usize = 1024;

/// Bytes in a nonce.
pub const NONCE_BYTES: usize = 32;

/// Bytes in an HMAC-SHA256 tag.
pub const TAG_BYTES: usize = 32;

/// A nonce.
pub type Nonce = [u8; NONCE_BYTES];

/// An HMAC-SHA256 tag.
pub type Tag = [u8; TAG_BYTES];

const ACCEPTOR_LABEL: &[u8] = b"dsys acceptor";
const CONNECTOR_LABEL: &[u8] = b"dsys connector";
const WELCOME: u8 = 0x57;

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
    /// The peer claims a node id this side does not know as a peer.
    #[error(
        "unknown node {0}: it is not in this node's peer table (are the cluster files the same?)"
    )]
    UnknownNode(NodeId),
    /// The peer's proof is wrong: it does not know the cluster secret.
    #[error("authentication failed: the peer does not know the cluster secret (check `secret`/`secret_env` on both sides)")]
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
    /// A frame arrived after the handshake finished, from a side that must
    /// wait for the end of the handshake before sending.
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
    /// [`Rejection::UnknownNode`].
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
            Rejection::UnknownNode(_) => RejectReason::UnknownNode,
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

/// The first frame, from the connector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    /// The connector's protocol version.
    pub version: u16,
    /// The connector's cluster name.
    pub cluster: String,
    /// The connector's node id.
    pub node: NodeId,
    /// The connector's nonce, which the acceptor's proof covers.
    pub nonce: Nonce,
}

#[derive(Serialize, Deserialize)]
struct HelloBody {
    cluster: String,
    node: NodeId,
    nonce: Nonce,
}

impl Hello {
    /// The frame payload: magic, version (2 bytes big-endian), then the
    /// postcard-encoded body. Magic and version come first and have a fixed
    /// layout so that any future version can still be recognised and
    /// refused with a clear reason.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.cluster.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&self.version.to_be_bytes());
        let body = HelloBody {
            cluster: self.cluster.clone(),
            node: self.node,
            nonce: self.nonce,
        };
        // Encoding a string, an integer and a byte array cannot fail.
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
            node: body.node,
            nonce: body.nonce,
        })
    }
}

/// The acceptor's answer to a hello.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// The nonce the connector must MAC.
    pub nonce: Nonce,
    /// The acceptor's proof that it knows the secret ([`acceptor_proof`]).
    pub proof: Tag,
}

impl Challenge {
    /// The frame payload.
    pub fn encode(&self) -> Vec<u8> {
        Postcard.encode_to_vec(self).unwrap_or_default()
    }

    /// Parses a challenge payload.
    pub fn decode(payload: &[u8]) -> Result<Challenge, Rejection> {
        Postcard.decode(payload).map_err(malformed)
    }
}

/// The connector's answer to a challenge: [`connector_proof`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// The connector's proof that it knows the secret.
    pub proof: Tag,
}

impl Response {
    /// The frame payload.
    pub fn encode(&self) -> Vec<u8> {
        Postcard.encode_to_vec(self).unwrap_or_default()
    }

    /// Parses a response payload.
    pub fn decode(payload: &[u8]) -> Result<Response, Rejection> {
        Postcard.decode(payload).map_err(malformed)
    }
}

/// The acceptor's last frame: the connection is open.
pub fn welcome() -> Vec<u8> {
    vec![WELCOME]
}

fn mac(secret: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length: this cannot fail.
    <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC accepts keys of any length")
}

fn proof_mac(
    secret: &[u8],
    label: &[u8],
    nonce: &Nonce,
    cluster: &str,
    node: NodeId,
) -> Hmac<Sha256> {
    let mut mac = mac(secret);
    mac.update(label);
    mac.update(nonce);
    mac.update(cluster.as_bytes());
    mac.update(&node.0.to_be_bytes());
    mac
}

/// The acceptor's proof: HMAC-SHA256(secret, "dsys acceptor" ‖ the
/// connector's nonce ‖ cluster ‖ the connector's node id).
pub fn acceptor_proof(secret: &[u8], connector_nonce: &Nonce, cluster: &str, node: NodeId) -> Tag {
    proof_mac(secret, ACCEPTOR_LABEL, connector_nonce, cluster, node)
        .finalize()
        .into_bytes()
        .into()
}

/// The connector's proof: HMAC-SHA256(secret, "dsys connector" ‖ the
/// acceptor's nonce ‖ cluster ‖ the connector's node id).
pub fn connector_proof(secret: &[u8], acceptor_nonce: &Nonce, cluster: &str, node: NodeId) -> Tag {
    proof_mac(secret, CONNECTOR_LABEL, acceptor_nonce, cluster, node)
        .finalize()
        .into_bytes()
        .into()
}

/// Checks `tag` in constant time.
fn verify(mac: Hmac<Sha256>, tag: &Tag) -> Result<(), Rejection> {
    mac.verify_slice(tag).map_err(|_| Rejection::BadAuth)
}

/// A fresh random nonce from the thread's CSPRNG.
pub fn random_nonce() -> Nonce {
    rand::random()
}

/// The connecting side of a handshake.
pub struct Connector {
    cluster: String,
    secret: Arc<[u8]>,
    node: NodeId,
    nonce: Nonce,
    state: ConnectorState,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ConnectorState {
    AwaitChallenge,
    AwaitWelcome,
    Done,
    Failed,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("cluster", &self.cluster)
            .field("node", &self.node)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// What a [`Connector`] does after a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectorStep {
    /// Send this frame payload and wait for the next frame.
    Send(Vec<u8>),
    /// The connection is open: data frames may flow.
    Open,
}

impl Connector {
    /// Node `node` of `cluster` connecting, with a fresh `nonce`.
    pub fn new(cluster: &str, secret: Arc<[u8]>, node: NodeId, nonce: Nonce) -> Connector {
        Connector {
            cluster: cluster.to_owned(),
            secret,
            node,
            nonce,
            state: ConnectorState::AwaitChallenge,
        }
    }

    /// The first frame payload to send.
    pub fn hello(&self) -> Vec<u8> {
        Hello {
            version: PROTOCOL_VERSION,
            cluster: self.cluster.clone(),
            node: self.node,
            nonce: self.nonce,
        }
        .encode()
    }

    /// Handles the acceptor's next frame payload.
    pub fn on_frame(&mut self, payload: &[u8]) -> Result<ConnectorStep, Rejection> {
        let result = self.step(payload);
        if result.is_err() {
            self.state = ConnectorState::Failed;
        }
        result
    }

    fn step(&mut self, payload: &[u8]) -> Result<ConnectorStep, Rejection> {
        match self.state {
            ConnectorState::AwaitChallenge => {
                let challenge = Challenge::decode(payload)?;
                let expected = proof_mac(
                    &self.secret,
                    ACCEPTOR_LABEL,
                    &self.nonce,
                    &self.cluster,
                    self.node,
                );
                verify(expected, &challenge.proof)?;
                self.state = ConnectorState::AwaitWelcome;
                let proof =
                    connector_proof(&self.secret, &challenge.nonce, &self.cluster, self.node);
                Ok(ConnectorStep::Send(Response { proof }.encode()))
            }
            ConnectorState::AwaitWelcome => {
                if payload != [WELCOME] {
                    return Err(malformed("expected a welcome"));
                }
                self.state = ConnectorState::Done;
                Ok(ConnectorStep::Open)
            }
            ConnectorState::Done | ConnectorState::Failed => {
                Err(Rejection::Unexpected("a frame after the handshake ended"))
            }
        }
    }
}

/// The accepting side of a handshake.
pub struct Acceptor {
    cluster: String,
    secret: Arc<[u8]>,
    known: Arc<BTreeSet<NodeId>>,
    nonce: Nonce,
    state: AcceptorState,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AcceptorState {
    AwaitHello,
    AwaitResponse(NodeId),
    Done(NodeId),
    Failed,
}

impl fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acceptor")
            .field("cluster", &self.cluster)
            .field("known", &self.known)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// What an [`Acceptor`] does after a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AcceptorStep {
    /// Send this frame payload and wait for the next frame.
    Send(Vec<u8>),
    /// The peer is authenticated as `peer`: send `welcome`, then read data
    /// frames, all from `peer`.
    Open {
        /// The authenticated node id.
        peer: NodeId,
        /// The last frame payload to send.
        welcome: Vec<u8>,
    },
}

impl Acceptor {
    /// Accepting for `cluster`, from the node ids in `known`, with a fresh
    /// `nonce`.
    pub fn new(
        cluster: &str,
        secret: Arc<[u8]>,
        known: Arc<BTreeSet<NodeId>>,
        nonce: Nonce,
    ) -> Acceptor {
        Acceptor {
            cluster: cluster.to_owned(),
            secret,
            known,
            nonce,
            state: AcceptorState::AwaitHello,
        }
    }

    /// Handles the connector's next frame payload.
    pub fn on_frame(&mut self, payload: &[u8]) -> Result<AcceptorStep, Rejection> {
        let result = self.step(payload);
        if result.is_err() {
            self.state = AcceptorState::Failed;
        }
        result
    }

    fn step(&mut self, payload: &[u8]) -> Result<AcceptorStep, Rejection> {
        match self.state {
            AcceptorState::AwaitHello => {
                let hello = Hello::decode(payload)?;
                if hello.cluster != self.cluster {
                    return Err(Rejection::WrongCluster {
                        got: hello.cluster,
                        expected: self.cluster.clone(),
                    });
                }
                if !self.known.contains(&hello.node) {
                    return Err(Rejection::UnknownNode(hello.node));
                }
                self.state = AcceptorState::AwaitResponse(hello.node);
                let proof = acceptor_proof(&self.secret, &hello.nonce, &self.cluster, hello.node);
                Ok(AcceptorStep::Send(
                    Challenge {
                        nonce: self.nonce,
                        proof,
                    }
                    .encode(),
                ))
            }
            AcceptorState::AwaitResponse(peer) => {
                let response = Response::decode(payload)?;
                let expected = proof_mac(
                    &self.secret,
                    CONNECTOR_LABEL,
                    &self.nonce,
                    &self.cluster,
                    peer,
                );
                verify(expected, &response.proof)?;
                self.state = AcceptorState::Done(peer);
                Ok(AcceptorStep::Open {
                    peer,
                    welcome: welcome(),
                })
            }
            AcceptorState::Done(_) | AcceptorState::Failed => {
                Err(Rejection::Unexpected("a frame after the handshake ended"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(secret_c: &[u8], secret_a: &[u8], cluster_c: &str) -> (Connector, Acceptor) {
        let known = Arc::new([NodeId(1)].into_iter().collect());
        (
            Connector::new(cluster_c, secret_c.into(), NodeId(1), [1; 32]),
            Acceptor::new("c", secret_a.into(), known, [2; 32]),
        )
    }

    #[test]
    fn a_good_handshake_opens_both_sides() {
        let (mut c, mut a) = pair(b"s", b"s", "c");
        let AcceptorStep::Send(challenge) = a.on_frame(&c.hello()).unwrap() else {
            panic!("expected a challenge")
        };
        let ConnectorStep::Send(response) = c.on_frame(&challenge).unwrap() else {
            panic!("expected a response")
        };
        let AcceptorStep::Open { peer, welcome } = a.on_frame(&response).unwrap() else {
            panic!("expected open")
        };
        assert_eq!(peer, NodeId(1));
        assert_eq!(c.on_frame(&welcome).unwrap(), ConnectorStep::Open);
        assert!(a.on_frame(&[]).is_err(), "nothing after the end");
    }

    #[test]
    fn each_fault_is_refused_with_its_reason() {
        let (c, mut a) = pair(b"s", b"s", "other");
        assert_eq!(
            a.on_frame(&c.hello()).unwrap_err().reason(),
            RejectReason::WrongCluster
        );

        let (mut c, mut a) = pair(b"wrong", b"s", "c");
        let AcceptorStep::Send(challenge) = a.on_frame(&c.hello()).unwrap() else {
            panic!()
        };
        // The connector sees first that the acceptor's proof is not made with its secret.
        assert_eq!(c.on_frame(&challenge).unwrap_err(), Rejection::BadAuth);
        // And the acceptor refuses a response made with another secret.
        let challenge = Challenge::decode(&challenge).unwrap();
        let forged = Response {
            proof: connector_proof(b"wrong", &challenge.nonce, "c", NodeId(1)),
        };
        assert_eq!(
            a.on_frame(&forged.encode()).unwrap_err(),
            Rejection::BadAuth
        );

        let mut hello = Hello::decode(&pair(b"s", b"s", "c").0.hello()).unwrap();
        hello.node = NodeId(9);
        let (_, mut a) = pair(b"s", b"s", "c");
        assert_eq!(
            a.on_frame(&hello.encode()).unwrap_err(),
            Rejection::UnknownNode(NodeId(9))
        );

        hello.version = 2;
        let (_, mut a) = pair(b"s", b"s", "c");
        assert_eq!(
            a.on_frame(&hello.encode()).unwrap_err().reason(),
            RejectReason::WrongVersion
        );

        let (_, mut a) = pair(b"s", b"s", "c");
        assert_eq!(
            a.on_frame(b"GET / HTTP/1.1").unwrap_err().reason(),
            RejectReason::Malformed
        );
    }
}
