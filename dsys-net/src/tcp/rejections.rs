//! Connections the TCP transport refused during the handshake, counted by
//! reason.

use dsys_core::runtime::Counter;

use super::handshake::RejectReason;

/// Connections refused during the handshake, by reason (counted on the side
/// that refused; a connector also counts the acceptor's refusals it saw as
/// `closed`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rejections {
    /// Not the protocol at all: garbage, bad magic, undecodable frames.
    pub malformed: u64,
    /// Another protocol version.
    pub wrong_version: u64,
    /// Another cluster's name.
    pub wrong_cluster: u64,
    /// A node id not in the peer table.
    pub unknown_node: u64,
    /// A wrong proof: the peer does not know the secret.
    pub bad_auth: u64,
    /// The handshake did not finish within the timeout.
    pub timeout: u64,
    /// The peer closed the connection mid-handshake.
    pub closed: u64,
    /// Closed unread: too many handshakes were in progress.
    pub busy: u64,
}

impl Rejections {
    /// All rejections.
    pub fn total(&self) -> u64 {
        self.malformed
            + self.wrong_version
            + self.wrong_cluster
            + self.unknown_node
            + self.bad_auth
            + self.timeout
            + self.closed
            + self.busy
    }
}

#[derive(Debug, Default)]
pub(crate) struct RejectionCounters {
    malformed: Counter,
    wrong_version: Counter,
    wrong_cluster: Counter,
    unknown_node: Counter,
    bad_auth: Counter,
    timeout: Counter,
    closed: Counter,
    busy: Counter,
}

impl RejectionCounters {
    pub(crate) fn count(&self, reason: RejectReason) {
        let counter = match reason {
            RejectReason::Malformed => &self.malformed,
            RejectReason::WrongVersion => &self.wrong_version,
            RejectReason::WrongCluster => &self.wrong_cluster,
            RejectReason::UnknownNode => &self.unknown_node,
            RejectReason::BadAuth => &self.bad_auth,
            RejectReason::Timeout => &self.timeout,
            RejectReason::Closed => &self.closed,
            RejectReason::Busy => &self.busy,
        };
        counter.bump();
    }

    pub(crate) fn snapshot(&self) -> Rejections {
        Rejections {
            malformed: self.malformed.get(),
            wrong_version: self.wrong_version.get(),
            wrong_cluster: self.wrong_cluster.get(),
            unknown_node: self.unknown_node.get(),
            bad_auth: self.bad_auth.get(),
            timeout: self.timeout.get(),
            closed: self.closed.get(),
            busy: self.busy.get(),
        }
    }
}
