//! The crate's error type.

/// What can go wrong in dsys-clocks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A received timestamp was refused (out of range, or too far ahead of
    /// this node's clock); the message carrying it is not delivered.
    #[error("timestamp refused: {0}")]
    StampRefused(String),
    /// A clock reached its bound (an HLC's logical counter) and cannot tick
    /// until its physical clock moves on.
    #[error("clock exhausted: {0}")]
    ClockExhausted(String),
}

/// `Result` with dsys-clocks' [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
