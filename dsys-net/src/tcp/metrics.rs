//! Counters shared by the TCP and UDP transports: per message kind (as the
//! simulator's metrics) and per handshake rejection reason.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::handshake::RejectReason;

/// Counts for one message kind ([`dsys_core::Message::kind`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindStats {
    /// Messages of this kind encoded and put on the wire.
    pub sent: u64,
    /// Their encoded bytes: the frame payload over TCP (destination id and
    /// message), the message over UDP; headers and tags not included.
    pub bytes_sent: u64,
    /// Messages of this kind received and decoded.
    pub received: u64,
    /// Their encoded bytes.
    pub bytes_received: u64,
}

/// Per-kind counters. A handful of kinds per algorithm: a short vector
/// scanned by address first (kinds are `&'static str` literals) beats a hash.
#[derive(Debug, Default)]
pub(crate) struct KindTable {
    rows: Mutex<Vec<(&'static str, KindStats)>>,
}

impl KindTable {
    pub(crate) fn count(&self, kind: &'static str, sent: bool, bytes: usize) {
        let mut rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        let position = rows
            .iter()
            .position(|(k, _)| std::ptr::eq(*k, kind))
            .or_else(|| rows.iter().position(|(k, _)| *k == kind));
        let row = match position {
            Some(i) => &mut rows[i].1,
            None => {
                rows.push((kind, KindStats::default()));
                &mut rows.last_mut().expect("just pushed").1
            }
        };
        if sent {
            row.sent += 1;
            row.bytes_sent += bytes as u64;
        } else {
            row.received += 1;
            row.bytes_received += bytes as u64;
        }
    }

    /// Every kind's counts, sorted by kind name.
    pub(crate) fn snapshot(&self) -> Vec<(&'static str, KindStats)> {
        let mut rows = self.rows.lock().unwrap_or_else(|e| e.into_inner()).clone();
        rows.sort_by_key(|(k, _)| *k);
        rows
    }
}

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
    malformed: AtomicU64,
    wrong_version: AtomicU64,
    wrong_cluster: AtomicU64,
    unknown_node: AtomicU64,
    bad_auth: AtomicU64,
    timeout: AtomicU64,
    closed: AtomicU64,
    busy: AtomicU64,
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
        bump(counter);
    }

    pub(crate) fn snapshot(&self) -> Rejections {
        Rejections {
            malformed: get(&self.malformed),
            wrong_version: get(&self.wrong_version),
            wrong_cluster: get(&self.wrong_cluster),
            unknown_node: get(&self.unknown_node),
            bad_auth: get(&self.bad_auth),
            timeout: get(&self.timeout),
            closed: get(&self.closed),
            busy: get(&self.busy),
        }
    }
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

pub(crate) fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}
