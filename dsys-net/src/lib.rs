//! # dsys-net
//!
//! What networks give, and how they give it, as sans-IO algorithms that run
//! in the simulator:
//!
//! - [`reliable`]: exactly-once, in-order delivery per peer over a network
//!   that loses, duplicates and reorders — sequence numbers, cumulative
//!   acknowledgements, retransmission with an adaptive timeout, a sliding
//!   window (window 1 is stop-and-wait), and a three-way handshake;
//! - [`rpc`]: request/response with ids, timeouts and retries, under
//!   at-least-once and at-most-once semantics, and over idempotent operations.
//!
//! With the `transport` feature, the same nodes leave the process:
//!
//! - `keys`: every node's own X25519 key pair, its key file, and the
//!   public keys a cluster file lists;
//! - `tcp`: `TcpTransport`, a `dsys_core::runtime::Transport`
//!   over TCP with a Noise handshake (each peer proves the id it claims),
//!   every frame encrypted and authenticated, bounded per-peer queues,
//!   batched writes and reconnection;
//! - `udp`: `UdpTransport`, one authenticated datagram per message, with
//!   real loss (pair it with [`reliable`] for delivery guarantees);
//! - `cluster_file`: the TOML file that names a cluster, its secret and its
//!   nodes' addresses, turned into a `TcpConfig` for one node.

#![deny(missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]

#[cfg(feature = "transport")]
pub mod cluster_file;
#[cfg(feature = "transport")]
pub mod keys;
pub mod reliable;
pub mod rpc;
#[cfg(feature = "transport")]
pub mod tcp;
#[cfg(feature = "transport")]
pub mod udp;

#[cfg(feature = "transport")]
pub use cluster_file::{ClientEntry, ClusterFile, NodeEntry};
#[cfg(feature = "transport")]
pub use dsys_core::runtime::KindStats;
#[cfg(feature = "transport")]
pub use keys::{NodeKey, Peer, PublicKey};
#[cfg(feature = "transport")]
pub use tcp::{TcpConfig, TcpStats, TcpTransport};
#[cfg(feature = "transport")]
pub use udp::{UdpConfig, UdpStats, UdpTransport};

/// What can go wrong in dsys-net.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A cluster file is unreadable or wrong.
    #[error("cluster file {path}: {problem}")]
    ClusterFile {
        /// The file (or `<string>` when parsed from memory).
        path: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// A key file is unreadable, wrong, or readable by others.
    #[error("key file {path}: {problem}")]
    KeyFile {
        /// The file.
        path: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// A socket operation failed.
    #[error("{context}: {error}")]
    Io {
        /// What was being done (binding which address, …).
        context: String,
        /// The operating system's error.
        error: String,
    },
    /// A message is too large for the transport.
    #[error("message of {bytes} bytes exceeds the maximum of {max} bytes: send smaller messages, or raise {setting}")]
    MessageTooLarge {
        /// The encoded size.
        bytes: usize,
        /// The configured maximum.
        max: usize,
        /// The configuration field that sets the maximum.
        setting: &'static str,
    },
    /// A message could not be encoded.
    #[error("cannot encode message: {0}")]
    Encode(String),
    /// No address is known for the destination.
    #[error(
        "no address for node {0}: add it to the peer table (the cluster file's [[node]] entries)"
    )]
    UnknownPeer(dsys_core::NodeId),
    /// A link's send queue is full (the peer is slow or unreachable).
    #[error("the send queue to node {to} is full: the peer is slow or unreachable; retry later or raise queue_capacity")]
    QueueFull {
        /// The destination.
        to: dsys_core::NodeId,
    },
    /// The transport was shut down.
    #[error("the transport is shut down; start a new one")]
    ShutDown,
}

/// `Result` with dsys-net's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
