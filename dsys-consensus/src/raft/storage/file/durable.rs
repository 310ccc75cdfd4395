//! The `durable` file: how far the log was durably appended, so that a log
//! that lost its tail (the active segment cut at a record boundary, which
//! no segment can tell) is noticed at start.
//!
//! ```text
//! <dir>/durable   magic "DSYSDUR1" + slot 0 + slot 1
//! slot            | seq: u64 LE | next_index: u64 LE | CRC32 of the 16 bytes: u32 LE | 0u32 |
//! ```
//!
//! `next_index` is a lower bound of the log's next index: every entry below
//! it was appended and synced (and so may have been acknowledged). It is
//! raised after an append is synced and lowered *before* a `Truncate`
//! record is written, so it never exceeds what the log holds. Writes
//! alternate between the two slots (slot `seq % 2`) and are synced; a
//! crash tears at most the slot being written, and the other still holds
//! the previous value, which was a valid bound too. The reader takes the
//! valid slot with the higher `seq`.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{io_error, write_atomically};
use crate::raft::types::LogIndex;
use crate::{Error, Result};

pub(super) const DURABLE_FILE: &str = "durable";
const MAGIC: &[u8; 8] = b"DSYSDUR1";
const SLOT_BYTES: usize = 24;
const FILE_BYTES: usize = 8 + 2 * SLOT_BYTES;

/// The open `durable` file and the last value written.
pub(super) struct Durable {
    file: File,
    path: PathBuf,
    seq: u64,
    next_index: LogIndex,
}

fn slot(seq: u64, next_index: LogIndex) -> [u8; SLOT_BYTES] {
    let mut bytes = [0u8; SLOT_BYTES];
    bytes[..8].copy_from_slice(&seq.to_le_bytes());
    bytes[8..16].copy_from_slice(&next_index.to_le_bytes());
    let crc = crc32fast::hash(&bytes[..16]);
    bytes[16..20].copy_from_slice(&crc.to_le_bytes());
    bytes
}

/// The slot's `(seq, next_index)`, if its checksum holds.
fn read_slot(bytes: &[u8]) -> Option<(u64, LogIndex)> {
    let crc = u32::from_le_bytes(bytes[16..20].try_into().ok()?);
    (crc32fast::hash(&bytes[..16]) == crc).then(|| {
        (
            u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")),
            u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes")),
        )
    })
}

impl Durable {
    /// Writes a new directory's file: nothing appended yet (next index 1).
    pub(super) fn create(dir: &Path) -> Result<()> {
        // Slot `seq % 2`: seq 0 in slot 0, seq 1 (the latest) in slot 1.
        let mut bytes = MAGIC.to_vec();
        bytes.extend(slot(0, 1));
        bytes.extend(slot(1, 1));
        write_atomically(dir, DURABLE_FILE, &bytes).map(drop)
    }

    /// Opens the file of a directory that has a MANIFEST.
    pub(super) fn open(dir: &Path) -> Result<Durable> {
        let path = dir.join(DURABLE_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::Corrupt(format!(
                    "{} is missing: without it, a log that lost its tail cannot be told from one \
                     that never had it",
                    path.display()
                )))
            }
            Err(source) => return Err(Error::Io { path, source }),
        };
        if bytes.len() != FILE_BYTES || &bytes[..8] != MAGIC {
            return Err(Error::Corrupt(format!(
                "{} is not a durable-index file ({} bytes)",
                path.display(),
                bytes.len()
            )));
        }
        let slots = [&bytes[8..8 + SLOT_BYTES], &bytes[8 + SLOT_BYTES..]];
        let Some((seq, next_index)) = slots.iter().filter_map(|s| read_slot(s)).max() else {
            return Err(Error::Corrupt(format!(
                "{}: both slots are damaged, so how far the log was synced is unknown",
                path.display()
            )));
        };
        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(io_error(&path))?;
        Ok(Durable {
            file,
            path,
            seq,
            next_index,
        })
    }

    /// The lower bound of the log's next index on disk.
    pub(super) fn next_index(&self) -> LogIndex {
        self.next_index
    }

    /// Records `next_index` durably (in the slot not holding the last value).
    pub(super) fn set(&mut self, next_index: LogIndex) -> Result<()> {
        if next_index == self.next_index {
            return Ok(());
        }
        let seq = self.seq + 1;
        let offset = (8 + (seq % 2) as usize * SLOT_BYTES) as u64;
        self.file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| self.file.write_all(&slot(seq, next_index)))
            .and_then(|()| self.file.sync_data())
            .map_err(io_error(&self.path))?;
        self.seq = seq;
        self.next_index = next_index;
        Ok(())
    }
}
