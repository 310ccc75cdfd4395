/// What can go wrong in dsys-replication.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A history breaks the rules every history keeps (an operation that
    /// completes before it is invoked, a client with two operations open at
    /// once, …).
    #[error("invalid history: {0}")]
    InvalidHistory(String),
    /// A history file could not be parsed.
    #[error("line {line}, column {column}: {message}")]
    Parse {
        /// The line, from 1.
        line: usize,
        /// The column, from 1.
        column: usize,
        /// What is wrong, and what was expected.
        message: String,
    },
    /// A simulation refused a step (an unknown node, a run over its
    /// limits, an invariant violated).
    #[error("simulation: {0}")]
    Simulation(#[from] dsys_core::Error),
    /// Reading or writing a file failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
