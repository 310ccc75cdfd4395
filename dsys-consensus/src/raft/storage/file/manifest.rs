//! The `MANIFEST`: which segments a data directory must hold, and the
//! length of each sealed one (see "What must exist" on
//! [`FileStorage`](super::FileStorage)).

use std::fs;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{
    encode_frame, io_error, segment_name, segment_numbers, write_atomically, HARD_STATE_FILE,
    MANIFEST_FILE, MANIFEST_MAGIC, SNAPSHOT_FILE,
};
use crate::{Error, Result};

/// What a data directory must hold: segments `first` to `active()`, the
/// sealed ones with these lengths.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Manifest {
    /// The first segment's number.
    pub(super) first: u64,
    /// The byte length of each sealed segment, from `first` on; the
    /// segment after them is the active one.
    pub(super) sealed: Vec<u64>,
}

impl Manifest {
    pub(super) fn active(&self) -> u64 {
        self.first + self.sealed.len() as u64
    }

    pub(super) fn write(&self, dir: &Path) -> Result<()> {
        let mut bytes = MANIFEST_MAGIC.to_vec();
        bytes.extend(encode_frame(self)?);
        write_atomically(dir, MANIFEST_FILE, &bytes).map(drop)
    }

    /// Checks that `dir` holds what the manifest lists, and removes the
    /// segments a crash left outside it.
    pub(super) fn check(&self, dir: &Path) -> Result<()> {
        let (first, active) = (self.first, self.active());
        for number in segment_numbers(dir)? {
            if number < first || number > active {
                let path = dir.join(segment_name(number));
                tracing::warn!(path = %path.display(), "removing a segment the MANIFEST does not list (left by a crash during a roll or a rewrite)");
                fs::remove_file(&path).map_err(io_error(&path))?;
            }
        }
        for number in first..=active {
            let path = dir.join(segment_name(number));
            let bytes = match fs::metadata(&path) {
                Ok(meta) => meta.len(),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(Error::Corrupt(format!(
                        "{} is missing: the MANIFEST says the log runs from {} to {}, and the entries it held were acknowledged",
                        path.display(),
                        segment_name(first),
                        segment_name(active)
                    )))
                }
                Err(source) => return Err(Error::Io { path, source }),
            };
            if let Some(&sealed) = self.sealed.get((number - first) as usize)
                && bytes != sealed
            {
                return Err(Error::Corrupt(format!(
                        "{} has {bytes} bytes, but {sealed} were sealed in it: acknowledged entries were {}",
                        path.display(),
                        if bytes < sealed { "lost" } else { "changed" }
                    )));
            }
        }
        Ok(())
    }
}

/// Whether `dir` holds any file of a node's state (besides the lock).
pub(super) fn holds_state(dir: &Path) -> Result<bool> {
    Ok(!segment_numbers(dir)?.is_empty()
        || dir.join(HARD_STATE_FILE).exists()
        || dir.join(SNAPSHOT_FILE).exists())
}
