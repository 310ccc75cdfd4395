//! The counters every transport keeps, shared by the in-process transports
//! here and the network transports of dsys-net:
//!
//! - [`Counter`], one relaxed atomic, the building block of every count;
//! - [`TransportCounters`], what became of the messages handed to a
//!   transport, read as a [`TransportStats`];
//! - [`KindTable`], messages and bytes per message kind, read as
//!   [`KindStats`] rows.
//!
//! All of them are bumped from any thread without a lock on the way (the
//! kind table takes a read lock) and read as plain snapshots.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

/// An event counter: one atomic, bumped from any thread.
///
/// Updates are relaxed: a counter orders no other memory, and a snapshot of
/// several counters is exact for each one, not a single instant for all.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// A counter at zero.
    pub const fn new() -> Counter {
        Counter(AtomicU64::new(0))
    }

    /// Counts one event and returns the new total (see [`worth_warning`]).
    #[inline]
    pub fn bump(&self) -> u64 {
        self.add(1)
    }

    /// Counts `n` events and returns the new total.
    #[inline]
    pub fn add(&self, n: u64) -> u64 {
        self.0.fetch_add(n, Ordering::Relaxed).wrapping_add(n)
    }

    /// The total so far.
    #[inline]
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Whether the `count`th occurrence of a problem deserves a `warn!`: the
/// first, then every power of two. A flood of drops then costs a few log
/// lines, and the log still shows it grow.
///
/// ```
/// use dsys_core::runtime::worth_warning;
/// let warned: Vec<u64> = (1..=20).filter(|&n| worth_warning(n)).collect();
/// assert_eq!(warned, [1, 2, 4, 8, 16]);
/// ```
pub fn worth_warning(count: u64) -> bool {
    count.is_power_of_two()
}

/// Counters every transport keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransportStats {
    /// Messages handed to `send`.
    pub sent: u64,
    /// Messages put into a destination's inbox.
    pub delivered: u64,
    /// Messages dropped because no inbox was registered for the destination
    /// (it is down, crashed, or unknown).
    pub dropped_no_inbox: u64,
    /// Messages dropped because the destination's mailbox was full.
    pub dropped_full: u64,
    /// Messages dropped on purpose (loss or partition,
    /// [`FaultyTransport`](super::FaultyTransport)).
    pub dropped_fault: u64,
    /// Extra copies made on purpose
    /// ([`FaultyTransport`](super::FaultyTransport)).
    pub duplicated: u64,
}

/// The live counters behind a [`TransportStats`], one [`Counter`] per field.
///
/// An [`Inboxes`](super::Inboxes) table owns one set and moves `delivered`,
/// `dropped_full` and `dropped_no_inbox` itself; the transport moves the
/// others (`sent` when a message is handed to it, `dropped_no_inbox` when it
/// has no route to the destination, …).
#[derive(Debug, Default)]
pub struct TransportCounters {
    /// Messages handed to `send`.
    pub sent: Counter,
    /// Messages put into a destination's inbox.
    pub delivered: Counter,
    /// Messages dropped for want of an inbox or a route to the destination.
    pub dropped_no_inbox: Counter,
    /// Messages dropped because the destination's mailbox was full.
    pub dropped_full: Counter,
    /// Messages dropped on purpose (fault injection).
    pub dropped_fault: Counter,
    /// Extra copies made on purpose (fault injection).
    pub duplicated: Counter,
}

impl TransportCounters {
    /// Every count, as it is now.
    pub fn snapshot(&self) -> TransportStats {
        TransportStats {
            sent: self.sent.get(),
            delivered: self.delivered.get(),
            dropped_no_inbox: self.dropped_no_inbox.get(),
            dropped_full: self.dropped_full.get(),
            dropped_fault: self.dropped_fault.get(),
            duplicated: self.duplicated.get(),
        }
    }
}

/// Counts for one message kind ([`Message::kind`](crate::Message::kind)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindStats {
    /// Messages of this kind encoded and put on the wire.
    pub sent: u64,
    /// Their encoded bytes, as the transport counts them: the frame payload
    /// over TCP (destination id and message), the message over UDP; headers
    /// and tags not included.
    pub bytes_sent: u64,
    /// Messages of this kind received and decoded.
    pub received: u64,
    /// Their encoded bytes.
    pub bytes_received: u64,
}

/// Messages and bytes per message kind, sent and received, as the
/// simulator's metrics count them; read with [`KindTable::snapshot`].
///
/// An algorithm has a handful of kinds, so the table is a short vector
/// scanned by address first (kinds are `&'static str` literals: one kind is
/// almost always one pointer) and by content second, which beats hashing.
/// Counting takes a read lock and two atomic adds; only the first message of
/// a new kind takes the write lock to add its row.
///
/// ```
/// use dsys_core::runtime::{KindStats, KindTable};
/// let kinds = KindTable::new();
/// kinds.count_sent("Ping", 10);
/// kinds.count_sent("Ping", 12);
/// kinds.count_received("Pong", 7);
/// assert_eq!(kinds.snapshot(), [
///     ("Ping", KindStats { sent: 2, bytes_sent: 22, ..KindStats::default() }),
///     ("Pong", KindStats { received: 1, bytes_received: 7, ..KindStats::default() }),
/// ]);
/// ```
#[derive(Debug, Default)]
pub struct KindTable {
    rows: RwLock<Vec<KindRow>>,
}

#[derive(Debug)]
struct KindRow {
    kind: &'static str,
    sent: Counter,
    bytes_sent: Counter,
    received: Counter,
    bytes_received: Counter,
}

impl KindTable {
    /// An empty table.
    pub fn new() -> KindTable {
        KindTable::default()
    }

    /// Counts one message of `kind` sent, of `bytes` encoded bytes.
    pub fn count_sent(&self, kind: &'static str, bytes: usize) {
        self.with_row(kind, |row| {
            row.sent.bump();
            row.bytes_sent.add(bytes as u64);
        });
    }

    /// Counts one message of `kind` received, of `bytes` encoded bytes.
    pub fn count_received(&self, kind: &'static str, bytes: usize) {
        self.with_row(kind, |row| {
            row.received.bump();
            row.bytes_received.add(bytes as u64);
        });
    }

    /// Every kind's counts, sorted by kind name.
    pub fn snapshot(&self) -> Vec<(&'static str, KindStats)> {
        let rows = self.rows.read().unwrap_or_else(|e| e.into_inner());
        let mut stats: Vec<_> = rows
            .iter()
            .map(|row| {
                let stats = KindStats {
                    sent: row.sent.get(),
                    bytes_sent: row.bytes_sent.get(),
                    received: row.received.get(),
                    bytes_received: row.bytes_received.get(),
                };
                (row.kind, stats)
            })
            .collect();
        drop(rows);
        stats.sort_by_key(|(kind, _)| *kind);
        stats
    }

    fn with_row(&self, kind: &'static str, count: impl FnOnce(&KindRow)) {
        {
            let rows = self.rows.read().unwrap_or_else(|e| e.into_inner());
            if let Some(i) = position(&rows, kind) {
                return count(&rows[i]);
            }
        }
        let mut rows = self.rows.write().unwrap_or_else(|e| e.into_inner());
        // Another thread may have added the row between the two locks.
        let i = position(&rows, kind).unwrap_or_else(|| {
            rows.push(KindRow {
                kind,
                sent: Counter::new(),
                bytes_sent: Counter::new(),
                received: Counter::new(),
                bytes_received: Counter::new(),
            });
            rows.len() - 1
        });
        count(&rows[i]);
    }
}

fn position(rows: &[KindRow], kind: &'static str) -> Option<usize> {
    rows.iter()
        .position(|row| std::ptr::eq(row.kind, kind))
        .or_else(|| rows.iter().position(|row| row.kind == kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_returns_the_new_total() {
        let c = Counter::new();
        assert_eq!(c.bump(), 1);
        assert_eq!(c.add(5), 6);
        assert_eq!(c.get(), 6);
    }

    #[test]
    fn transport_counters_snapshot_every_field() {
        let c = TransportCounters::default();
        c.sent.add(6);
        c.delivered.add(5);
        c.dropped_no_inbox.add(4);
        c.dropped_full.add(3);
        c.dropped_fault.add(2);
        c.duplicated.add(1);
        assert_eq!(
            c.snapshot(),
            TransportStats {
                sent: 6,
                delivered: 5,
                dropped_no_inbox: 4,
                dropped_full: 3,
                dropped_fault: 2,
                duplicated: 1,
            }
        );
    }

    #[test]
    fn one_row_per_kind_name_whatever_its_address() {
        let kinds = KindTable::new();
        // The same name at another address (built at run time, leaked to
        // get a `&'static str`) is the same kind.
        let elsewhere: &'static str = String::from("Vote").leak();
        kinds.count_sent("Vote", 3);
        kinds.count_received(elsewhere, 4);
        kinds.count_sent("Append", 100);
        let snapshot = kinds.snapshot();
        assert_eq!(
            snapshot,
            [
                (
                    "Append",
                    KindStats {
                        sent: 1,
                        bytes_sent: 100,
                        ..KindStats::default()
                    }
                ),
                (
                    "Vote",
                    KindStats {
                        sent: 1,
                        bytes_sent: 3,
                        received: 1,
                        bytes_received: 4
                    }
                ),
            ]
        );
    }

    #[test]
    fn kinds_count_exactly_from_many_threads() {
        let kinds = KindTable::new();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for i in 0..1000 {
                        kinds.count_sent(if i % 2 == 0 { "A" } else { "B" }, 2);
                    }
                });
            }
        });
        let snapshot = kinds.snapshot();
        assert_eq!(snapshot.len(), 2);
        for (_, stats) in snapshot {
            assert_eq!((stats.sent, stats.bytes_sent), (2000, 4000));
        }
    }
}
