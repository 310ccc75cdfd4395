use std::path::PathBuf;

/// What can go wrong in dsys-consensus.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range.
    #[error("invalid Raft configuration: {0}")]
    InvalidConfig(String),
    /// Storage could not read or write.
    #[error("storage I/O failed on {path}: {source}; check the data directory's permissions and free space")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Stored data is damaged beyond the torn tail that recovery repairs.
    #[error("storage is corrupt: {0}; restore the data directory from a backup or let the node rejoin empty")]
    Corrupt(String),
    /// Another process (or another handle in this one) has the data
    /// directory open.
    #[error("{0} is in use: another process has it open (its LOCK is held); stop that node first — one node per data directory")]
    Locked(PathBuf),
    /// A data directory that must hold a node's state holds none (it was
    /// lost, or the node was never initialised there).
    #[error("no Raft state in {0} (no MANIFEST): a new node is initialised once (`dsys node --init`); a node that lost its data must not restart as if it had never voted or acknowledged — restore the directory from a backup, or remove the node from the cluster and add it back as a new member")]
    NoState(PathBuf),
    /// The caller broke the storage contract (e.g. appended with a gap).
    #[error("storage contract violated: {0}")]
    Contract(String),
    /// A snapshot could not be decoded or restored.
    #[error("snapshot rejected: {0}")]
    Snapshot(String),
    /// A Dolev–Strong configuration is inconsistent.
    #[error("invalid Dolev–Strong configuration: {0}")]
    DolevStrongConfig(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
