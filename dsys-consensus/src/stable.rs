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
//! for algorithms whose durable state is one value: writes are whole
//! updates. [`Stable::open`] keeps the value in a directory on disk too,
//! for a process that must survive its own crash (`dsys kv serve
//! --backend multi-paxos`): each update rewrites the whole value (a
//! temporary file, fsync, rename, fsync of the directory — the same
//! atomic write as [`FileStorage`](crate::raft::FileStorage)'s), so it
//! costs time in proportion to the value's size; a write that fails stops
//! the process (a panic naming the file), because a node that goes on
//! after failing to store a promise may break it.
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
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::raft::storage::file::{
    encode_frame, read_single_record_file, take_lock, write_atomically,
};
use crate::Result;

/// The file [`Stable::open`] keeps the value in, and its first bytes.
const STABLE_FILE: &str = "stable";
const STABLE_MAGIC: &[u8; 8] = b"DSYSSTB1";

/// A value in "stable storage": clones are handles to the same value, so
/// what one incarnation of a node stored, the next one loads.
pub struct Stable<T> {
    inner: Arc<Mutex<T>>,
    disk: Option<Arc<Disk<T>>>,
}

/// Where [`Stable::open`] keeps the value, and how it writes it.
struct Disk<T> {
    dir: PathBuf,
    write: fn(&Path, &T) -> Result<()>,
    /// Held while the value is open: a second process is refused.
    _lock: File,
}

impl<T> Clone for Stable<T> {
    fn clone(&self) -> Self {
        Stable {
            inner: Arc::clone(&self.inner),
            disk: self.disk.clone(),
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
            disk: None,
        }
    }

    /// Storage kept in directory `dir` (created if missing): the value it
    /// holds, or `T::default()` if it holds none yet. Refused with
    /// [`Error::Locked`](crate::Error::Locked) while another process has
    /// it open, and with [`Error::Corrupt`](crate::Error::Corrupt) if the
    /// file is damaged.
    ///
    /// ```
    /// use dsys_consensus::stable::Stable;
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let disk: Stable<u64> = Stable::open(dir.path()).unwrap();
    /// disk.update(|promised| *promised = 7);
    /// drop(disk); // the process ends
    /// assert_eq!(Stable::<u64>::open(dir.path()).unwrap().load(), 7);
    /// ```
    pub fn open(dir: impl AsRef<Path>) -> Result<Self>
    where
        T: Serialize + DeserializeOwned + Default,
    {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|source| crate::Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let lock = take_lock(dir)?;
        let value = read_single_record_file(&dir.join(STABLE_FILE), STABLE_MAGIC)?;
        let write: fn(&Path, &T) -> Result<()> = |dir, value| {
            let mut bytes = STABLE_MAGIC.to_vec();
            bytes.extend(encode_frame(value)?);
            write_atomically(dir, STABLE_FILE, &bytes).map(drop)
        };
        Ok(Stable {
            inner: Arc::new(Mutex::new(value.unwrap_or_default())),
            disk: Some(Arc::new(Disk {
                dir: dir.to_path_buf(),
                write,
                _lock: lock,
            })),
        })
    }

    /// A copy of what is stored (at start or restart).
    pub fn load(&self) -> T
    where
        T: Clone,
    {
        self.lock().clone()
    }

    /// Changes the stored value in place; durable when it returns.
    ///
    /// # Panics
    ///
    /// If the value is kept on disk ([`Stable::open`]) and writing it
    /// fails: the node must not act on a value it could not store.
    pub fn update<R>(&self, change: impl FnOnce(&mut T) -> R) -> R {
        let mut value = self.lock();
        let answer = change(&mut value);
        if let Some(disk) = &self.disk
            && let Err(error) = (disk.write)(&disk.dir, &value)
        {
            panic!(
                "stable storage in {} could not be written ({error}); stopping rather than \
                     acting on a value that is not stored. Fix the cause (e.g. free disk space), \
                     then start the node again",
                disk.dir.display()
            );
        }
        answer
    }

    fn lock(&self) -> MutexGuard<'_, T> {
        // Every update is one step over plain data: a panic elsewhere while
        // the lock was held leaves a consistent value behind.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::multi_paxos::{Durable, Entry};
    use crate::paxos::Ballot;
    use crate::Error;

    #[test]
    fn a_second_process_is_refused_and_a_damaged_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let first: Stable<u64> = Stable::open(dir.path()).unwrap();
        assert!(matches!(
            Stable::<u64>::open(dir.path()),
            Err(Error::Locked(_))
        ));
        first.update(|v| *v = 3);
        drop(first);
        let file = dir.path().join(STABLE_FILE);
        let mut bytes = std::fs::read(&file).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&file, bytes).unwrap();
        assert!(matches!(
            Stable::<u64>::open(dir.path()),
            Err(Error::Corrupt(_))
        ));
    }

    #[test]
    fn a_multi_paxos_durable_state_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let stable: Stable<Durable<String>> = Stable::open(dir.path()).unwrap();
        let ballot = Ballot::default();
        stable.update(|d| {
            d.promised = Some(ballot);
            d.round = 4;
            d.log.push(Entry::Noop);
        });
        let before = stable.load();
        drop(stable);
        let again: Stable<Durable<String>> = Stable::open(dir.path()).unwrap();
        assert_eq!(again.load(), before);
        // Memory-only storage never touches a disk.
        assert!(Stable::new(0u8).disk.is_none());
    }

    #[test]
    fn the_debug_form_shows_the_stored_value() {
        // A trace of a node shows what its disk holds, after an update too.
        let stable = Stable::new(vec![1u8, 2]);
        assert_eq!(format!("{stable:?}"), "Stable([1, 2])");
        stable.update(|v| v.push(3));
        assert_eq!(format!("{stable:?}"), "Stable([1, 2, 3])");
    }
}
