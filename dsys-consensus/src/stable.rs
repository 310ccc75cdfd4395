//! Stable storage in memory: [`Stable`], a shared handle to a value that
//! outlives a crash.
//!
//! Paxos is safe only if an acceptor keeps its word: a promise or an
//! acceptance it sent survives its crash ("Paxos Made Simple" §2.2: "an
//! acceptor must remember this information even if it fails and then
//! restarts", so it writes to *stable storage* before replying). In the
//! simulator a crash drops the node's value; the factory keeps a clone of
//! the node's [`Stable`] handle and passes it to the next incarnation, which
//! reads back exactly what the old one wrote, as it would from a disk. What
//! the node kept only in its own fields is gone.
//!
//! This is the same idea as Raft's [`MemStorage`](crate::raft::MemStorage),
//! for algorithms whose durable state is one small value: writes are whole
//! updates, and they cannot fail (a file-backed twin would return this
//! crate's [`Error::Io`](crate::Error::Io)).
//!
//! ```
//! use dsys_consensus::stable::Stable;
//!
//! let disk: Stable<u64> = Stable::default();
//! let survivor = disk.clone(); // what the factory keeps
//! disk.update(|promised| *promised = 7);
//! drop(disk); // the crash
//! assert_eq!(survivor.load(), 7);
//! ```

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

/// A value in "stable storage": clones are handles to the same value, so
/// what one incarnation of a node stored, the next one loads.
pub struct Stable<T> {
    inner: Arc<Mutex<T>>,
}

impl<T> Clone for Stable<T> {
    fn clone(&self) -> Self {
        Stable {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T: Default> Default for Stable<T> {
    fn default() -> Self {
        Stable::new(T::default())
    }
}

impl<T: fmt::Debug> fmt::Debug for Stable<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Stable").field(&*self.lock()).finish()
    }
}

impl<T> Stable<T> {
    /// Storage holding `value`.
    pub fn new(value: T) -> Self {
        Stable {
            inner: Arc::new(Mutex::new(value)),
        }
    }

    /// A copy of what is stored (at start or restart).
    pub fn load(&self) -> T
    where
        T: Clone,
    {
        self.lock().clone()
    }

    /// Changes the stored value in place; durable when it returns.
    pub fn update<R>(&self, change: impl FnOnce(&mut T) -> R) -> R {
        change(&mut self.lock())
    }

    fn lock(&self) -> MutexGuard<'_, T> {
        // Every update is one step over plain data: a panic elsewhere while
        // the lock was held leaves a consistent value behind.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
