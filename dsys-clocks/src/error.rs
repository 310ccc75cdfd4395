//! The crate's error type.

/// What can go wrong in dsys-clocks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
}

/// `Result` with dsys-clocks' [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
