//! Bounds that stop a runaway simulation with a clear error, and a hook
//! that watches a long run (for a progress line, or a wall-time budget the
//! caller keeps: the simulator itself never reads the wall clock).

use std::fmt;
use std::time::Duration;

/// Bounds on a run. Past one, [`Simulation::step`](super::Simulation::step)
/// returns [`Error::LimitExceeded`](crate::Error::LimitExceeded), naming
/// what grew. The default suits `dsys sim` (about a minute of work, a few
/// hundred megabytes); [`Limits::NONE`] checks nothing, which is what
/// [`Simulation::new`](super::Simulation::new) starts with.
///
/// ```
/// use std::time::Duration;
/// use dsys_core::ping_pong::{PingPong, PingPongConfig};
/// use dsys_core::sim::{Limits, Simulation};
/// use dsys_core::Error;
///
/// let mut sim = Simulation::new(3, 1, |_| PingPong::new(PingPongConfig::default()));
/// sim.set_limits(Limits { events_max: 20, ..Limits::NONE });
/// let error = sim.run_until(Duration::from_secs(1)).unwrap_err();
/// assert!(matches!(error, Error::LimitExceeded { .. }));
/// assert!(error.to_string().contains("events processed"), "{error}");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most events (deliveries, timers, requests, faults) a run may
    /// process.
    pub events_max: u64,
    /// The most events that may wait in the queue at once: messages in
    /// flight, pending timers, scheduled requests and faults. A run whose
    /// messages multiply (a duplicated token that is passed on twice)
    /// grows here first.
    pub pending_max: usize,
    /// The most memory, in bytes, the run may hold by the simulator's
    /// estimate: the queue, the trace and the events nodes emitted (node
    /// states are not counted). Checked every [`MEMORY_CHECK_EVERY`]
    /// events.
    pub memory_max: u64,
}

/// How many events apart the memory estimate is checked.
pub const MEMORY_CHECK_EVERY: u64 = 1024;

impl Limits {
    /// No bounds.
    pub const NONE: Limits = Limits {
        events_max: u64::MAX,
        pending_max: usize::MAX,
        memory_max: u64::MAX,
    };
}

impl Default for Limits {
    /// 100 million events (half a minute or so at the simulator's few
    /// million events a second), 2 million pending and 1 GiB.
    fn default() -> Self {
        Limits {
            events_max: 100_000_000,
            pending_max: 2_000_000,
            memory_max: 1 << 30,
        }
    }
}

/// Where a run stands, as a [watch](super::Simulation::set_watch) sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Virtual time.
    pub now: Duration,
    /// Events processed so far.
    pub events: u64,
    /// Events waiting in the queue.
    pub pending: usize,
    /// The simulator's estimate of the memory it holds, in bytes (see
    /// [`Limits::memory_max`]).
    pub memory: u64,
}

impl fmt::Display for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.3} s of virtual time, {} events, {} pending, about {} MiB",
            self.now.as_secs_f64(),
            self.events,
            self.pending,
            self.memory >> 20
        )
    }
}

/// Called every so many events with the run's [`Progress`]; an `Err`
/// stops the run with [`Error::Stopped`](crate::Error::Stopped).
pub type WatchFn = Box<dyn FnMut(&Progress) -> Result<(), String>>;
