//! [`FileStorage`]: a [`Storage`] on disk. The format, the durability
//! rule and recovery are documented on the type, which users see (this
//! module is private).

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{check_append, Recovered, Storage};

use crate::raft::types::{Entry, HardState, LogIndex, Snapshot};
use crate::{Error, Result};

mod durable;
mod manifest;
use durable::Durable;
use manifest::{holds_state, Manifest};

const HARD_STATE_FILE: &str = "hard_state";
const SNAPSHOT_FILE: &str = "snapshot";
const LOCK_FILE: &str = "LOCK";
const MANIFEST_FILE: &str = "MANIFEST";
const MANIFEST_MAGIC: &[u8; 8] = b"DSYSMAN1";
const HARD_STATE_MAGIC: &[u8; 8] = b"DSYSHST1";
const SNAPSHOT_MAGIC: &[u8; 8] = b"DSYSSNP1";
const SEGMENT_MAGIC: &[u8; 8] = b"DSYSLOG1";
const MAGIC_BYTES: usize = 8;
const HEADER_BYTES: usize = 12;
/// Segment numbers beyond this are not ours (and would overflow).
const SEGMENT_NUMBER_MAX: u64 = 1 << 48;
/// Entries per `Append` record when a segment is rewritten.
const REWRITE_ENTRIES_PER_RECORD: usize = 1024;

/// How [`FileStorage`] lays out its log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileOptions {
    /// A record that would take the active segment past this size goes to a
    /// new segment (a record larger than this gets a segment of its own).
    /// Must be positive.
    pub segment_bytes_max: u64,
}

impl Default for FileOptions {
    fn default() -> Self {
        FileOptions {
            segment_bytes_max: 64 * 1024 * 1024,
        }
    }
}

/// Raft's durable state in a directory of its own: a [`Storage`] on disk.
///
/// One `FileStorage` per directory: [`FileStorage::open`] takes an advisory
/// lock and fails with [`Error::Locked`] while another handle holds it.
///
/// # On-disk format
///
/// ```text
/// <dir>/LOCK               held (advisory lock) while a FileStorage has the directory open
/// <dir>/MANIFEST           magic "DSYSMAN1" + one record: which segments exist, sealed sizes
/// <dir>/durable            magic "DSYSDUR1" + two checksummed slots: how far the log was synced
/// <dir>/hard_state         magic "DSYSHST1" + one record: the HardState
/// <dir>/snapshot           magic "DSYSSNP1" + one record: the latest Snapshot
/// <dir>/log-000001.seg     magic "DSYSLOG1" + records, appended
/// <dir>/log-000002.seg     ... numbered consecutively; the last one is active
/// ```
///
/// A record is a 12-byte header followed by its payload:
///
/// ```text
/// | length: u32 LE | payload CRC32: u32 LE | header CRC32: u32 LE | payload: postcard |
/// ```
///
/// The header CRC covers the length and the payload CRC. Without it a flipped
/// bit in a length field would read as a record running past the end of the
/// file — a torn tail — and recovery would silently cut away acknowledged
/// entries; with it, a damaged header is told apart from a short file. The
/// log's records are `Append(entries)`, `Truncate(from)`, `Compact(index)`
/// (a snapshot at `index` was saved: the rule of [`Storage::save_snapshot`]
/// applies to the log) and `Reset(index)` (the log is empty after `index`;
/// first record of a rewritten segment, see below).
///
/// `MANIFEST`, `hard_state`, `snapshot` and every new segment are written
/// atomically:
/// write `<name>.tmp`, fsync it, rename it over `<name>`, fsync the
/// directory. A crash leaves either the old file or the new one, never half
/// of one. A record that would take the active segment past
/// [`FileOptions::segment_bytes_max`] starts the next one.
///
/// # Durability
///
/// Every mutating method syncs (`fsync`/`fdatasync`) before it returns `Ok`:
/// Raft's rule is "persist before you answer", and a node that answers from
/// state its disk did not keep can elect two leaders in one term or lose
/// committed entries. A failed write is rolled back where possible, and the
/// handle refuses further writes: the node halts, and a restart recovers
/// from what is on disk.
///
/// # Compaction
///
/// [`Storage::save_snapshot`] writes the snapshot file, then appends a
/// `Compact` record. When closed segments exist, it instead writes a new
/// segment holding `Reset(snapshot index)` and the entries that follow the
/// snapshot, and deletes every older segment: all they held is either in the
/// snapshot or rewritten. Replay is correct whichever of these steps a
/// crash interrupts: the new segment resets the log it follows, and a
/// snapshot file newer than the log's last `Compact` record is applied to
/// the log at recovery, which then writes the missing record.
///
/// # What must exist
///
/// The `MANIFEST` says what the directory must hold: the log's segments,
/// first to active, and the length of every sealed (closed) segment. It is
/// rewritten (atomically) when a segment is sealed and when the log is
/// rewritten, never on an append. At open, a listed segment that is
/// missing, or a sealed one of another length, is [`Error::Corrupt`] naming
/// what was lost: acknowledged entries lived there, and a node that went on
/// without them could vote for a leader that lacks committed entries.
/// Segments the manifest does not list are what a crash left of a roll or a
/// rewrite (the listed ones hold everything) and are removed. A directory
/// without a `MANIFEST` is a new node's: [`FileStorage::open`] initialises
/// it, [`FileStorage::open_existing`] refuses it with [`Error::NoState`] —
/// use the latter when a missing directory means lost data.
///
/// The `durable` file says how far the log was synced: after every append
/// its index is raised (one more small write and sync beside the
/// segment's), and before a truncation it is lowered, so it is always a
/// lower bound of what the log holds. Two checksummed slots, written in
/// turn, survive a crash in the middle of a write. A log that recovers
/// shorter than that bound — the active segment cut, even at a record
/// boundary, which no segment can show — is [`Error::Corrupt`]: entries
/// that may have been acknowledged are gone. A torn tail is still cut
/// silently: the append it belonged to never returned, so its bound was
/// never raised.
///
/// # Recovery
///
/// [`FileStorage::open`] and [`Storage::load`] replay the segments in order.
/// - An incomplete record, or one whose checksum fails with no valid record
///   after it, at the end of the **last** segment is a torn tail: the write
///   that the crash interrupted, never acknowledged. It is cut away (logged
///   with `tracing::warn!`) and appending resumes there.
/// - A damaged record followed by a valid one, damage in any earlier
///   segment, a missing segment, a file without its magic, or records that
///   contradict each other is [`Error::Corrupt`], naming the file and the
///   byte offset: the data directory must be restored or the node rejoin
///   empty. No file content makes recovery panic.
///
/// ```
/// use dsys_consensus::raft::{Entry, FileStorage, HardState, Payload, Storage};
///
/// let dir = tempfile::tempdir().unwrap();
/// let mut storage = FileStorage::<String>::open(dir.path()).unwrap();
/// storage.save_hard_state(&HardState { term: 2, voted_for: None }).unwrap();
/// let command = Payload::Command { session: None, command: "x=1".to_string() };
/// storage.append(&[Entry { term: 2, index: 1, payload: command }]).unwrap();
/// drop(storage); // a crash: only what was synced remains
///
/// let mut storage = FileStorage::<String>::open(dir.path()).unwrap();
/// let recovered = storage.load().unwrap();
/// assert_eq!(recovered.hard_state.term, 2);
/// assert_eq!(recovered.entries.len(), 1);
/// ```
pub struct FileStorage<C> {
    dir: PathBuf,
    options: FileOptions,
    /// What the directory must hold (as on disk).
    manifest: Manifest,
    /// The numbers of the segments on disk, consecutive; the last is active.
    segments: Vec<u64>,
    active: File,
    active_bytes: u64,
    /// The snapshot's index (0 without one): entries start after it.
    snapshot_index: LogIndex,
    /// The index the next appended entry must have.
    next_index: LogIndex,
    /// What `open` recovered, handed to the first `load` if nothing changed
    /// in between (saves reading the log twice at start).
    recovered: Option<Recovered<C>>,
    /// Set when a write failed: what is on disk is no longer known.
    failed: bool,
    /// How far the log was synced, on disk (see "What must exist").
    durable: Durable,
    _lock: File,
    _entries: PhantomData<fn() -> C>,
}

impl<C> fmt::Debug for FileStorage<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStorage")
            .field("dir", &self.dir)
            .field("segments", &self.segments)
            .field("snapshot_index", &self.snapshot_index)
            .field("next_index", &self.next_index)
            .field("failed", &self.failed)
            .finish()
    }
}

/// A log record as written (borrowing the entries).
#[derive(Serialize)]
enum RecordOut<'a, C> {
    Append(&'a [Entry<C>]),
    Truncate(LogIndex),
    Compact(LogIndex),
    Reset(LogIndex),
}

/// A log record as read back; the same encoding as [`RecordOut`].
#[derive(Deserialize)]
#[serde(bound = "C: DeserializeOwned")]
enum RecordIn<C> {
    Append(Vec<Entry<C>>),
    Truncate(LogIndex),
    Compact(LogIndex),
    Reset(LogIndex),
}

impl<C> FileStorage<C>
where
    C: Serialize + DeserializeOwned + Clone + Send + 'static,
{
    /// Opens (creating it if missing) the data directory `dir` with default
    /// options, and recovers what it holds.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(dir, FileOptions::default())
    }

    /// Opens `dir` with `options`, and recovers what it holds; a directory
    /// that is missing or holds no state is initialised.
    pub fn open_with(dir: impl AsRef<Path>, options: FileOptions) -> Result<Self> {
        Self::open_inner(dir.as_ref(), options, true)
    }

    /// Opens a directory that must already hold a node's state: a missing
    /// directory, or one without a `MANIFEST`, is [`Error::NoState`] (the
    /// node's data was lost, or it was never initialised), never taken for
    /// a new node's.
    pub fn open_existing(dir: impl AsRef<Path>, options: FileOptions) -> Result<Self> {
        let dir = dir.as_ref();
        if !dir.join(MANIFEST_FILE).exists() {
            return Err(Error::NoState(dir.to_path_buf()));
        }
        Self::open_inner(dir, options, false)
    }

    fn open_inner(dir: &Path, options: FileOptions, create: bool) -> Result<Self> {
        if options.segment_bytes_max == 0 {
            return Err(Error::InvalidConfig(
                "FileOptions::segment_bytes_max is 0; give a positive size such as 64 MiB".into(),
            ));
        }
        let dir = dir.to_path_buf();
        let existed = dir.exists();
        fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        if !existed {
            // Make the new directory's own entry durable.
            match dir.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent)?,
                _ => sync_dir(Path::new("."))?,
            }
        }
        let lock = take_lock(&dir)?;
        remove_temporary_files(&dir)?;
        let manifest = match read_single_record_file::<Manifest>(
            &dir.join(MANIFEST_FILE),
            MANIFEST_MAGIC,
        )? {
            Some(manifest) => {
                manifest.check(&dir)?;
                manifest
            }
            None if !create => return Err(Error::NoState(dir)),
            None if holds_state(&dir)? => {
                return Err(Error::Corrupt(format!(
                    "{} holds Raft files but no MANIFEST, so what is missing cannot be told (written by an older dsys, or the MANIFEST was deleted)",
                    dir.display()
                )))
            }
            None => {
                write_atomically(&dir, &segment_name(1), SEGMENT_MAGIC)?;
                Durable::create(&dir)?;
                let manifest = Manifest {
                    first: 1,
                    sealed: Vec::new(),
                };
                manifest.write(&dir)?;
                manifest
            }
        };
        let recovery = recover::<C>(&dir)?;
        let durable = Durable::open(&dir)?;
        if recovery.next_index < durable.next_index() {
            return Err(Error::Corrupt(format!(
                "the log in {} ends before index {}, but entries up to {} were synced (and may \
                 have been acknowledged): the active segment lost its tail",
                dir.display(),
                recovery.next_index,
                durable.next_index() - 1
            )));
        }
        let segments = recovery.segments;
        let active_bytes = recovery.active_bytes;
        let active =
            open_for_append(&dir.join(segment_name(*segments.last().expect("one segment"))))?;
        let unrecorded_compaction = recovery.unrecorded_compaction;
        let recovered = recovery.recovered;
        let mut storage = FileStorage {
            options,
            manifest,
            segments,
            active,
            active_bytes,
            snapshot_index: recovery.snapshot_index,
            next_index: recovery.next_index,
            recovered: Some(recovered),
            failed: false,
            durable,
            dir,
            _lock: lock,
            _entries: PhantomData,
        };
        if unrecorded_compaction {
            storage.record_compaction()?;
        }
        Ok(storage)
    }

    /// Writes the `Compact` record a crash kept from following the snapshot
    /// file: appends must find it before them on the next replay.
    fn record_compaction(&mut self) -> Result<()> {
        tracing::warn!(
            dir = %self.dir.display(),
            snapshot_index = self.snapshot_index,
            "completing a snapshot save the crash interrupted"
        );
        self.write_record(&RecordOut::<C>::Compact(self.snapshot_index))
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Refuses to write after a failed write (see "Durability" on the type).
    fn check_usable(&mut self) -> Result<()> {
        self.recovered = None;
        if self.failed {
            return Err(Error::Io {
                path: self.dir.clone(),
                source: io::Error::other(
                    "an earlier write failed, so the state on disk is uncertain; reopen the storage to recover",
                ),
            });
        }
        Ok(())
    }

    /// Appends one record to the active segment (rolling first if it is
    /// full) and syncs it.
    fn write_record(&mut self, record: &RecordOut<'_, C>) -> Result<()> {
        let frame = encode_frame(record)?;
        if self.active_bytes > MAGIC_BYTES as u64
            && self.active_bytes + frame.len() as u64 > self.options.segment_bytes_max
        {
            self.roll().inspect_err(|_| self.failed = true)?;
        }
        let path = self.active_path();
        let written = self
            .active
            .write_all(&frame)
            .and_then(|()| self.active.sync_data());
        if let Err(source) = written {
            self.failed = true;
            // Leave no partial record behind for the next write to follow:
            // recovery would take it for damage in the middle.
            let _ = self.active.set_len(self.active_bytes);
            return Err(Error::Io { path, source });
        }
        self.active_bytes += frame.len() as u64;
        Ok(())
    }

    /// Records `next_index` as the durable bound (raised only after the
    /// write that made it true is synced); a failure halts writes.
    fn set_bound(&mut self, next_index: LogIndex) -> Result<()> {
        self.durable
            .set(next_index)
            .inspect_err(|_| self.failed = true)
    }

    /// Brings the durable bound down to `next_index` if it is above, before
    /// a write that may shorten the log: the bound never exceeds the log.
    fn lower_bound(&mut self, next_index: LogIndex) -> Result<()> {
        let lowered = next_index.min(self.durable.next_index());
        self.set_bound(lowered)
    }

    /// Seals the active segment (its length goes into the manifest) and
    /// opens the next.
    fn roll(&mut self) -> Result<()> {
        let number = self.segments.last().map_or(1, |n| n + 1);
        let path = write_atomically(&self.dir, &segment_name(number), SEGMENT_MAGIC)?;
        let mut manifest = self.manifest.clone();
        manifest.sealed.push(self.active_bytes);
        manifest.write(&self.dir)?;
        self.manifest = manifest;
        self.active = open_for_append(&path)?;
        self.segments.push(number);
        self.active_bytes = MAGIC_BYTES as u64;
        Ok(())
    }

    fn active_path(&self) -> PathBuf {
        self.dir
            .join(segment_name(*self.segments.last().expect("one segment")))
    }

    /// Replaces every segment by one holding `Reset(snapshot index)` and the
    /// entries after the snapshot.
    fn rewrite_log(&mut self) -> Result<()> {
        let recovery = recover::<C>(&self.dir)?;
        if recovery.snapshot_index != self.snapshot_index || recovery.next_index != self.next_index
        {
            return Err(Error::Corrupt(format!(
                "the log in {} changed under this process (another writer?); stop the node and check the directory",
                self.dir.display()
            )));
        }
        let mut bytes = SEGMENT_MAGIC.to_vec();
        bytes.extend(encode_frame(&RecordOut::<C>::Reset(self.snapshot_index))?);
        for chunk in recovery
            .recovered
            .entries
            .chunks(REWRITE_ENTRIES_PER_RECORD)
        {
            bytes.extend(encode_frame(&RecordOut::Append(chunk))?);
        }
        let number = self.segments.last().map_or(1, |n| n + 1);
        let path = write_atomically(&self.dir, &segment_name(number), &bytes)?;
        // From here the new segment is the log; the old ones are leftovers
        // that the next open would remove if a crash came first.
        let manifest = Manifest {
            first: number,
            sealed: Vec::new(),
        };
        manifest.write(&self.dir)?;
        self.manifest = manifest;
        let active = open_for_append(&path)?;
        self.segments.push(number);
        self.active = active;
        self.active_bytes = bytes.len() as u64;
        // Oldest first, so that a crash leaves a consecutive run behind.
        while self.segments.len() > 1 {
            let old_path = self.dir.join(segment_name(self.segments[0]));
            if let Err(source) = fs::remove_file(&old_path) {
                self.failed = true;
                return Err(Error::Io {
                    path: old_path,
                    source,
                });
            }
            self.segments.remove(0);
        }
        sync_dir(&self.dir)
    }
}

impl<C> Storage<C> for FileStorage<C>
where
    C: Serialize + DeserializeOwned + Clone + Send + 'static,
{
    fn load(&mut self) -> Result<Recovered<C>> {
        if let Some(recovered) = self.recovered.take() {
            return Ok(recovered);
        }
        let recovery = recover::<C>(&self.dir)?;
        if recovery.segments != self.segments {
            return Err(Error::Corrupt(format!(
                "the segments in {} changed under this process (another writer?); stop the node and check the directory",
                self.dir.display()
            )));
        }
        self.active_bytes = recovery.active_bytes;
        self.snapshot_index = recovery.snapshot_index;
        self.next_index = recovery.next_index;
        if recovery.unrecorded_compaction {
            self.record_compaction()?;
        }
        Ok(recovery.recovered)
    }

    fn save_hard_state(&mut self, state: &HardState) -> Result<()> {
        self.check_usable()?;
        let mut bytes = HARD_STATE_MAGIC.to_vec();
        bytes.extend(encode_frame(state)?);
        write_atomically(&self.dir, HARD_STATE_FILE, &bytes).inspect_err(|_| self.failed = true)?;
        Ok(())
    }

    fn append(&mut self, entries: &[Entry<C>]) -> Result<()> {
        self.check_usable()?;
        check_append_checked(self.next_index, entries)?;
        if entries.is_empty() {
            return Ok(());
        }
        self.write_record(&RecordOut::Append(entries))?;
        self.next_index += entries.len() as u64;
        self.set_bound(self.next_index)
    }

    fn truncate(&mut self, from: LogIndex) -> Result<()> {
        self.check_usable()?;
        let first = self.snapshot_index.saturating_add(1);
        if self.next_index == first || from >= self.next_index {
            return Ok(()); // nothing to remove
        }
        // Lowered first: the bound must never exceed what the log holds.
        let next_index = from.max(first);
        self.lower_bound(next_index)?;
        self.write_record(&RecordOut::Truncate(from))?;
        self.next_index = next_index;
        Ok(())
    }

    fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<()> {
        self.check_usable()?;
        let mut bytes = SNAPSHOT_MAGIC.to_vec();
        bytes.extend(encode_frame(snapshot)?);
        write_atomically(&self.dir, SNAPSHOT_FILE, &bytes).inspect_err(|_| self.failed = true)?;
        let index = snapshot.meta.index;
        // The entries after the snapshot stay only if they follow it.
        let next_index = if self.snapshot_index <= index && index < self.next_index {
            self.next_index
        } else {
            index.saturating_add(1)
        };
        self.lower_bound(next_index)?;
        if self.segments.len() > 1 {
            self.snapshot_index = index;
            self.next_index = next_index;
            self.rewrite_log().inspect_err(|_| self.failed = true)?;
        } else {
            self.write_record(&RecordOut::<C>::Compact(index))?;
            self.snapshot_index = index;
            self.next_index = next_index;
        }
        self.set_bound(next_index)
    }
}

/// What recovery found.
struct Recovery<C> {
    recovered: Recovered<C>,
    snapshot_index: LogIndex,
    next_index: LogIndex,
    segments: Vec<u64>,
    active_bytes: u64,
    /// The snapshot file is newer than the log's last `Compact` record.
    unrecorded_compaction: bool,
}

/// The log as replay rebuilds it.
struct Replay<C> {
    snapshot_index: LogIndex,
    entries: Vec<Entry<C>>,
}

impl<C> Replay<C> {
    fn next_index(&self) -> LogIndex {
        self.entries
            .last()
            .map_or(self.snapshot_index, |e| e.index)
            .saturating_add(1)
    }

    fn apply(&mut self, record: RecordIn<C>) -> Result<(), String> {
        match record {
            RecordIn::Append(entries) => {
                check_append_checked(self.next_index(), &entries).map_err(|e| e.to_string())?;
                self.entries.extend(entries);
            }
            RecordIn::Truncate(from) => {
                if let Some(first) = self.entries.first().map(|e| e.index) {
                    self.entries.truncate(from.saturating_sub(first) as usize);
                }
            }
            RecordIn::Compact(index) => self.compact(index),
            RecordIn::Reset(index) => {
                self.entries.clear();
                self.snapshot_index = index;
            }
        }
        Ok(())
    }

    /// The rule of [`Storage::save_snapshot`].
    fn compact(&mut self, index: LogIndex) {
        self.entries.retain(|e| e.index > index);
        if self
            .entries
            .first()
            .is_some_and(|e| Some(e.index) != index.checked_add(1))
        {
            self.entries.clear();
        }
        self.snapshot_index = index;
    }
}

/// [`check_append`], refusing first a batch whose indices would overflow.
fn check_append_checked<C>(next: LogIndex, entries: &[Entry<C>]) -> Result<()> {
    if next.checked_add(entries.len() as u64).is_none() {
        return Err(Error::Contract(format!(
            "{} entries after index {next} overflow the log index",
            entries.len()
        )));
    }
    check_append(next, entries)
}

/// Reads the whole directory back, cutting a torn tail off the last segment.
fn recover<C: DeserializeOwned>(dir: &Path) -> Result<Recovery<C>> {
    let hard_state: HardState =
        read_single_record_file(&dir.join(HARD_STATE_FILE), HARD_STATE_MAGIC)?.unwrap_or_default();
    let snapshot: Option<Snapshot> =
        read_single_record_file(&dir.join(SNAPSHOT_FILE), SNAPSHOT_MAGIC)?;
    let segments = list_segments(dir)?;
    let mut replay = Replay {
        snapshot_index: 0,
        entries: Vec::new(),
    };
    let mut active_bytes = 0;
    for (position, &number) in segments.iter().enumerate() {
        let path = dir.join(segment_name(number));
        let is_last = position + 1 == segments.len();
        active_bytes = replay_segment(&path, is_last, &mut replay)?;
    }
    let mut unrecorded_compaction = false;
    if let Some(snapshot) = &snapshot {
        // A crash between writing the snapshot file and its Compact record
        // leaves the log behind the snapshot: compact it here.
        let (index, next) = (replay.snapshot_index, replay.next_index());
        replay.compact(snapshot.meta.index);
        unrecorded_compaction = (index, next) != (replay.snapshot_index, replay.next_index());
    }
    Ok(Recovery {
        snapshot_index: replay.snapshot_index,
        next_index: replay.next_index(),
        recovered: Recovered {
            hard_state,
            snapshot,
            entries: replay.entries,
        },
        segments,
        active_bytes,
        unrecorded_compaction,
    })
}

/// Replays one segment into `replay`; returns the length of its valid part.
fn replay_segment<C: DeserializeOwned>(
    path: &Path,
    is_last: bool,
    replay: &mut Replay<C>,
) -> Result<u64> {
    let bytes = fs::read(path).map_err(io_error(path))?;
    if !bytes.starts_with(SEGMENT_MAGIC) {
        return Err(corrupt(path, 0, "not a dsys log segment (bad magic)"));
    }
    let mut offset = MAGIC_BYTES;
    while offset < bytes.len() {
        let payload = match read_frame(&bytes, offset) {
            Ok(payload) => payload,
            Err(damage) => {
                if !is_last {
                    return Err(corrupt(
                        path,
                        offset,
                        &format!("{} in a segment that is not the last", damage.what),
                    ));
                }
                if valid_record_after(&bytes, damage.resume) {
                    return Err(corrupt(
                        path,
                        offset,
                        &format!("{}, and valid records follow it", damage.what),
                    ));
                }
                tracing::warn!(
                    path = %path.display(),
                    offset,
                    cut_bytes = bytes.len() - offset,
                    "cutting a torn tail ({}) off the log: a write the crash interrupted, never acknowledged",
                    damage.what
                );
                cut_at(path, offset as u64)?;
                return Ok(offset as u64);
            }
        };
        let record: RecordIn<C> = postcard::from_bytes(payload).map_err(|e| {
            corrupt(
                path,
                offset,
                &format!("a record with a valid checksum does not decode ({e})"),
            )
        })?;
        replay.apply(record).map_err(|e| {
            corrupt(
                path,
                offset,
                &format!("a record contradicts the log before it ({e})"),
            )
        })?;
        offset += HEADER_BYTES + payload.len();
    }
    Ok(offset as u64)
}

/// Why a frame could not be read.
struct Damage {
    what: &'static str,
    /// Where a valid record could start after the damage.
    resume: usize,
}

/// The payload of the frame at `offset`.
fn read_frame(bytes: &[u8], offset: usize) -> Result<&[u8], Damage> {
    let rest = &bytes[offset..];
    if rest.len() < HEADER_BYTES {
        return Err(Damage {
            what: "an incomplete record header",
            resume: bytes.len(),
        });
    }
    let word = |i: usize| u32::from_le_bytes([rest[i], rest[i + 1], rest[i + 2], rest[i + 3]]);
    let (length, payload_crc, header_crc) = (word(0) as usize, word(4), word(8));
    if crc32fast::hash(&rest[..8]) != header_crc || length == 0 {
        return Err(Damage {
            what: "a record header with a bad checksum",
            resume: offset + 1,
        });
    }
    let Some(payload) = rest.get(HEADER_BYTES..HEADER_BYTES + length) else {
        return Err(Damage {
            what: "a record cut short",
            resume: bytes.len(),
        });
    };
    if crc32fast::hash(payload) != payload_crc {
        return Err(Damage {
            what: "a record with a bad checksum",
            resume: offset + HEADER_BYTES + length,
        });
    }
    Ok(payload)
}

/// Is there a complete, valid record starting anywhere from `start` on?
fn valid_record_after(bytes: &[u8], start: usize) -> bool {
    (start..bytes.len()).any(|offset| read_frame(bytes, offset).is_ok())
}

pub(crate) fn encode_frame<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    let payload = postcard::to_stdvec(value).map_err(|e| {
        Error::Contract(format!(
            "a record could not be encoded ({e}); check the command type's Serialize"
        ))
    })?;
    let length = u32::try_from(payload.len()).map_err(|_| {
        Error::Contract(format!(
            "a record of {} bytes exceeds the 4 GiB limit; append fewer entries at once",
            payload.len()
        ))
    })?;
    let length = length.to_le_bytes();
    let payload_crc = crc32fast::hash(&payload).to_le_bytes();
    let mut frame = Vec::with_capacity(HEADER_BYTES + payload.len());
    frame.extend_from_slice(&length);
    frame.extend_from_slice(&payload_crc);
    let header_crc = crc32fast::hash(&frame);
    frame.extend_from_slice(&header_crc.to_le_bytes());
    frame.extend_from_slice(&payload);
    Ok(frame)
}

/// Reads a file holding `magic` and one record; `None` if it does not exist.
pub(crate) fn read_single_record_file<T: DeserializeOwned>(
    path: &Path,
    magic: &[u8; 8],
) -> Result<Option<T>> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    if !bytes.starts_with(magic) {
        return Err(corrupt(path, 0, "bad magic: not the file dsys wrote here"));
    }
    // Written atomically, so any damage is real corruption, never a torn write.
    let payload = read_frame(&bytes, MAGIC_BYTES)
        .map_err(|damage| corrupt(path, MAGIC_BYTES, damage.what))?;
    let end = MAGIC_BYTES + HEADER_BYTES + payload.len();
    if end != bytes.len() {
        return Err(corrupt(path, end, "unexpected bytes after the record"));
    }
    postcard::from_bytes(payload).map(Some).map_err(|e| {
        corrupt(
            path,
            MAGIC_BYTES,
            &format!("a record with a valid checksum does not decode ({e})"),
        )
    })
}

fn segment_name(number: u64) -> String {
    format!("log-{number:06}.seg")
}

fn segment_number(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("log-")?.strip_suffix(".seg")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The numbers of the segment files in `dir`, ascending.
fn segment_numbers(dir: &Path) -> Result<Vec<u64>> {
    let mut numbers = Vec::new();
    for item in fs::read_dir(dir).map_err(io_error(dir))? {
        let item = item.map_err(io_error(dir))?;
        if let Some(number) = item.file_name().to_str().and_then(segment_number) {
            numbers.push(number);
        }
    }
    numbers.sort_unstable();
    Ok(numbers)
}

/// The segment numbers in `dir`, ascending; an error if one is missing.
fn list_segments(dir: &Path) -> Result<Vec<u64>> {
    let numbers = segment_numbers(dir)?;
    if let Some(&number) = numbers.last().filter(|&&n| n > SEGMENT_NUMBER_MAX) {
        return Err(Error::Corrupt(format!(
            "{} has an implausible number; remove files that dsys did not write",
            dir.join(segment_name(number)).display()
        )));
    }
    for pair in numbers.windows(2) {
        if pair[1] == pair[0] {
            return Err(Error::Corrupt(format!(
                "two files in {} are segment {}; keep only {}",
                dir.display(),
                pair[0],
                segment_name(pair[0])
            )));
        }
        if pair[1] != pair[0] + 1 {
            return Err(Error::Corrupt(format!(
                "{} is missing between {} and {}; restore the data directory from a backup or let the node rejoin empty",
                dir.join(segment_name(pair[0] + 1)).display(),
                segment_name(pair[0]),
                segment_name(pair[1])
            )));
        }
    }
    Ok(numbers)
}

/// Removes the `*.tmp` files a crash during an atomic write left behind.
fn remove_temporary_files(dir: &Path) -> Result<()> {
    for item in fs::read_dir(dir).map_err(io_error(dir))? {
        let item = item.map_err(io_error(dir))?;
        if item
            .file_name()
            .to_str()
            .is_some_and(|n| n.ends_with(".tmp"))
        {
            let path = item.path();
            fs::remove_file(&path).map_err(io_error(&path))?;
        }
    }
    Ok(())
}

/// Writes `dir/name` so that a crash leaves the old content or the new,
/// durably: temporary file, fsync, rename, fsync of the directory.
pub(crate) fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    let temporary = dir.join(format!("{name}.tmp"));
    let path = dir.join(name);
    let mut file = File::create(&temporary).map_err(io_error(&temporary))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io_error(&temporary))?;
    drop(file);
    fs::rename(&temporary, &path).map_err(io_error(&path))?;
    sync_dir(dir)?;
    Ok(path)
}

/// Makes creations, renames and removals in `dir` durable.
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

fn open_for_append(path: &Path) -> Result<File> {
    OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(io_error(path))
}

/// Shortens the file at `path` to `length` bytes, durably.
fn cut_at(path: &Path, length: u64) -> Result<()> {
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| {
            f.set_len(length)?;
            f.sync_all()
        })
        .map_err(io_error(path))
}

pub(crate) fn take_lock(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_error(&path))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => return Err(Error::Locked(dir.to_path_buf())),
        Err(fs::TryLockError::Error(source)) => return Err(Error::Io { path, source }),
    }
    Ok(file)
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn corrupt(path: &Path, offset: usize, what: &str) -> Error {
    Error::Corrupt(format!("{} at byte {offset}: {what}", path.display()))
}
