//! Durable state: the [`Storage`] trait, its in-memory implementation
//! [`MemStorage`], the file-backed [`FileStorage`], and the conformance
//! suite any implementation can run ([`conformance`]).
//!
//! Raft's safety rests on a promise: what a server said (a vote, an
//! acknowledgement of entries) survives its crash. So every method that
//! changes state returns only once the change is durable, and the node
//! calls it *before* it sends the message that relies on it. The node keeps
//! its own copy of the log in memory and reads storage only at start
//! ([`Storage::load`]): storage is the write-ahead record, not a cache.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use super::types::{Entry, HardState, LogIndex, Snapshot};
use crate::{Error, Result};

pub mod conformance;
pub(crate) mod file;

pub use file::{FileOptions, FileStorage};

/// What [`Storage::load`] finds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovered<C> {
    /// Term and vote.
    pub hard_state: HardState,
    /// The latest snapshot, if any.
    pub snapshot: Option<Snapshot>,
    /// The log after the snapshot: contiguous, the first entry's index one
    /// past the snapshot's (or 1).
    pub entries: Vec<Entry<C>>,
}

impl<C> Default for Recovered<C> {
    fn default() -> Self {
        Recovered {
            hard_state: HardState::default(),
            snapshot: None,
            entries: Vec::new(),
        }
    }
}

/// Durable storage for one Raft server: term, vote, log and snapshot.
///
/// Every mutating method is durable when it returns `Ok` (a file-backed
/// implementation syncs to disk first). An `Err` is fatal to the node: it
/// stops taking part ([`super::RaftEvent::Halted`]) rather than risk
/// answering with state it did not keep.
///
/// The contract, which [`conformance::run`] checks:
/// - `load` returns what the last successful calls left: the latest hard
///   state, the latest snapshot, and the log entries after it, contiguous;
/// - `append` takes contiguous entries starting exactly one past the last
///   stored entry (or one past the snapshot when the log is empty);
/// - `truncate(from)` removes every entry with index ≥ `from`;
/// - `save_snapshot` stores the snapshot and drops the entries it covers
///   (index ≤ its index); later entries stay, unless they do not follow it
///   (the caller truncates first when installing a snapshot over a
///   conflicting log).
pub trait Storage<C>: Send + 'static {
    /// Reads everything back, at start or restart.
    fn load(&mut self) -> Result<Recovered<C>>;
    /// Makes term and vote durable.
    fn save_hard_state(&mut self, state: &HardState) -> Result<()>;
    /// Makes `entries` durable at the end of the log.
    fn append(&mut self, entries: &[Entry<C>]) -> Result<()>;
    /// Removes the entries from `from` on.
    fn truncate(&mut self, from: LogIndex) -> Result<()>;
    /// Makes `snapshot` durable and compacts the log it covers.
    fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<()>;
}

/// Storage in memory, shared by handle: clones see the same state.
///
/// The simulator's crash drops a node but not the handle its factory kept,
/// so what the node stored survives the crash and its restart reads it back,
/// as a disk would; what it did not store is lost. Each operation takes a
/// mutex, so a handle can also cross into the actix runtime.
///
/// ```
/// use dsys_consensus::raft::{Entry, HardState, MemStorage, Payload, Storage};
///
/// let mut storage = MemStorage::<u64>::new();
/// let survivor = storage.clone(); // what the factory keeps
/// storage.save_hard_state(&HardState { term: 3, voted_for: None }).unwrap();
/// storage.append(&[Entry { term: 3, index: 1, payload: Payload::Noop }]).unwrap();
/// drop(storage); // the crash
/// let recovered = survivor.clone().load().unwrap();
/// assert_eq!(recovered.hard_state.term, 3);
/// assert_eq!(recovered.entries.len(), 1);
/// ```
pub struct MemStorage<C> {
    inner: Arc<Mutex<Recovered<C>>>,
}

impl<C> Clone for MemStorage<C> {
    fn clone(&self) -> Self {
        MemStorage {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<C> Default for MemStorage<C> {
    fn default() -> Self {
        MemStorage {
            inner: Arc::new(Mutex::new(Recovered::default())),
        }
    }
}

impl<C: fmt::Debug> fmt::Debug for MemStorage<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("MemStorage")
            .field("hard_state", &inner.hard_state)
            .field(
                "snapshot_index",
                &inner.snapshot.as_ref().map(|s| s.meta.index),
            )
            .field("entries", &inner.entries.len())
            .finish()
    }
}

impl<C> MemStorage<C> {
    /// Empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Recovered<C>> {
        // A panic elsewhere while holding the lock leaves plain data behind,
        // still consistent (every method below is a single step); go on.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The index the next appended entry must have.
pub(crate) fn next_index<C>(snapshot: Option<&Snapshot>, entries: &[Entry<C>]) -> LogIndex {
    match entries.last() {
        Some(last) => last.index.saturating_add(1),
        None => snapshot.map_or(0, |s| s.meta.index).saturating_add(1),
    }
}

/// Checks that `entries` are contiguous and start at `next`.
pub(crate) fn check_append<C>(next: LogIndex, entries: &[Entry<C>]) -> Result<()> {
    for (offset, entry) in entries.iter().enumerate() {
        let expected = next.saturating_add(offset as u64);
        if entry.index != expected {
            return Err(Error::Contract(format!(
                "append expected index {expected}, got {}; truncate first or append in order",
                entry.index
            )));
        }
    }
    Ok(())
}

/// A [`Recovered`] is itself a storage: a value, whose clones are copies.
/// For a model checker, whose branches must each have a disk of their own
/// (a [`MemStorage`] handle is shared by its clones), and for tests that
/// want to look at what a server stored.
///
/// ```
/// use dsys_consensus::raft::{conformance, Entry, Payload, Recovered, Storage};
///
/// let mut disk = Recovered::<u64>::default();
/// disk.append(&[Entry { term: 1, index: 1, payload: Payload::Noop }]).unwrap();
/// let copy = disk.clone();
/// disk.truncate(1).unwrap();
/// assert_eq!((disk.entries.len(), copy.entries.len()), (0, 1));
///
/// // It keeps the whole contract: the value is its durable state.
/// conformance::run(Recovered::default, |disk| disk, |i| i);
/// ```
impl<C: Clone + Send + 'static> Storage<C> for Recovered<C> {
    fn load(&mut self) -> Result<Recovered<C>> {
        Ok(self.clone())
    }

    fn save_hard_state(&mut self, state: &HardState) -> Result<()> {
        self.hard_state = *state;
        Ok(())
    }

    fn append(&mut self, entries: &[Entry<C>]) -> Result<()> {
        check_append(next_index(self.snapshot.as_ref(), &self.entries), entries)?;
        self.entries.extend_from_slice(entries);
        Ok(())
    }

    fn truncate(&mut self, from: LogIndex) -> Result<()> {
        if let Some(first) = self.entries.first().map(|e| e.index) {
            let keep = from.saturating_sub(first) as usize;
            self.entries.truncate(keep);
        }
        Ok(())
    }

    fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<()> {
        let covered = snapshot.meta.index;
        self.entries.retain(|e| e.index > covered);
        if self.entries.first().is_some_and(|e| e.index != covered + 1) {
            // What is left does not follow the snapshot: it cannot be part
            // of a log that does.
            self.entries.clear();
        }
        self.snapshot = Some(snapshot.clone());
        Ok(())
    }
}

impl<C: Clone + Send + 'static> Storage<C> for MemStorage<C> {
    fn load(&mut self) -> Result<Recovered<C>> {
        self.lock().load()
    }

    fn save_hard_state(&mut self, state: &HardState) -> Result<()> {
        self.lock().save_hard_state(state)
    }

    fn append(&mut self, entries: &[Entry<C>]) -> Result<()> {
        self.lock().append(entries)
    }

    fn truncate(&mut self, from: LogIndex) -> Result<()> {
        self.lock().truncate(from)
    }

    fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<()> {
        self.lock().save_snapshot(snapshot)
    }
}
