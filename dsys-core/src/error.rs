//! The crate's error type.

use std::time::Duration;

use crate::node::NodeId;
use crate::trace::Trace;

/// Everything that can go wrong in dsys-core, with what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A node id outside the cluster was named.
    #[error("unknown node {node}: this cluster has nodes n0..n{} ({nodes} in all)", .nodes.saturating_sub(1))]
    UnknownNode {
        /// The id that was named.
        node: NodeId,
        /// How many nodes the cluster has.
        nodes: usize,
    },
    /// A configuration value is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A simulation invariant failed; the run stopped at the first violation.
    #[error("{0}")]
    InvariantViolated(Box<Violation>),
    /// A frame declared a payload larger than the configured maximum.
    #[error("frame of {declared} bytes exceeds the maximum of {max} bytes: the peer is broken or hostile, or frame_bytes_max is too small for this protocol")]
    FrameTooLarge {
        /// The length the frame's header declared.
        declared: usize,
        /// The configured `frame_bytes_max`.
        max: usize,
    },
    /// The input ended in the middle of a frame.
    #[error("truncated frame: {needed} bytes needed, {available} available")]
    Truncated {
        /// Bytes the frame needs in all (header included).
        needed: usize,
        /// Bytes that were there.
        available: usize,
    },
    /// Bytes could not be decoded as the expected message type.
    #[error("cannot decode message: {0} (wrong message type, a different dsys version, or corrupted bytes)")]
    Decode(String),
    /// A value could not be encoded.
    #[error("cannot encode message: {0}")]
    Encode(String),
    /// A simulation's [`Scheduler`](crate::sim::Scheduler) chose an event
    /// that is not pending.
    #[error("the scheduler chose pending event {chosen}, but only {pending} are pending: answer an index into the slice it is given")]
    BadSchedule {
        /// The index the scheduler answered.
        chosen: usize,
        /// How many events were pending.
        pending: usize,
    },
    /// A simulation grew past one of its [`Limits`](crate::sim::Limits).
    #[error("the run stopped at {time:?} of virtual time: {reached} {what}, over the limit of {limit}; {hint}")]
    LimitExceeded {
        /// What grew.
        what: String,
        /// How far it got.
        reached: u64,
        /// The limit.
        limit: u64,
        /// Virtual time when it was noticed.
        time: std::time::Duration,
        /// What to do about it.
        hint: &'static str,
    },
    /// A simulation's watch ([`Simulation::set_watch`](crate::sim::Simulation::set_watch))
    /// stopped the run, saying why.
    #[error("the run was stopped: {0}")]
    Stopped(String),
    /// Writing an export failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// `Result` with dsys-core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The details of a failed simulation invariant.
#[derive(Debug)]
pub struct Violation {
    /// The invariant's name, as it was registered.
    pub invariant: String,
    /// What the invariant said was wrong.
    pub detail: String,
    /// The simulation's seed: the same seed and inputs replay the failure.
    pub seed: u64,
    /// Virtual time of the event after which the invariant failed.
    pub time: Duration,
    /// The trace up to and including that event, when tracing was on.
    pub trace: Option<Trace>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "invariant `{}` violated at {:?} of virtual time (seed {}): {}",
            self.invariant, self.time, self.seed, self.detail
        )?;
        if let Some(trace) = &self.trace {
            write!(f, " [trace of {} events attached]", trace.len())?;
        }
        Ok(())
    }
}
