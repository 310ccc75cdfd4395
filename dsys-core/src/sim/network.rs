//! The simulated network's configuration: latency, loss, duplication and
//! ordering per link, and per-node clocks.

use std::time::Duration;

use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How long a message takes on a link.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Latency {
    /// Always the same delay.
    Fixed(Duration),
    /// Uniformly distributed between `min` and `max` (inclusive).
    Uniform {
        /// Shortest delay.
        min: Duration,
        /// Longest delay.
        max: Duration,
    },
    /// `min` plus an exponentially distributed extra delay with mean
    /// `mean_extra`: mostly fast, with a long tail.
    Exponential {
        /// Shortest delay.
        min: Duration,
        /// Mean of the extra delay.
        mean_extra: Duration,
    },
}

impl Latency {
    /// Uniform latency between `min_ms` and `max_ms` milliseconds.
    pub fn uniform_ms(min_ms: u64, max_ms: u64) -> Self {
        Latency::Uniform {
            min: Duration::from_millis(min_ms),
            max: Duration::from_millis(max_ms),
        }
    }

    pub(crate) fn sample_ns(&self, rng: &mut impl rand::Rng) -> u64 {
        match *self {
            Latency::Fixed(d) => nanos(d),
            Latency::Uniform { min, max } => {
                let (min, max) = (nanos(min), nanos(max));
                if min >= max {
                    min
                } else {
                    rng.random_range(min..=max)
                }
            }
            Latency::Exponential { min, mean_extra } => {
                let u: f64 = rng.random();
                let extra = -(1.0 - u).ln() * nanos(mean_extra) as f64;
                nanos(min).saturating_add(extra.min(u64::MAX as f64 / 2.0) as u64)
            }
        }
    }

    fn validate(&self) -> Result<()> {
        if let Latency::Uniform { min, max } = self
            && min > max
        {
            return Err(Error::InvalidConfig(format!(
                "latency range {min:?}..{max:?} is empty: min must not exceed max"
            )));
        }
        Ok(())
    }
}

/// Whether a link keeps messages in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Ordering {
    /// First in, first out: a message never overtakes an earlier one on the
    /// same link (as over one TCP connection).
    Fifo,
    /// Each message takes its own sampled latency, so later messages may
    /// arrive first (as datagrams may).
    Reorder,
}

/// The behaviour of one directed link. The default is reliable and FIFO with
/// latency uniform in 1–10 ms.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkConfig {
    /// The delay distribution.
    pub latency: Latency,
    /// Probability that a message is lost, in `[0, 1]`.
    pub loss: f64,
    /// Probability that a message is delivered twice, in `[0, 1]`.
    pub duplicate: f64,
    /// FIFO or reordering.
    pub ordering: Ordering,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            latency: Latency::uniform_ms(1, 10),
            loss: 0.0,
            duplicate: 0.0,
            ordering: Ordering::Fifo,
        }
    }
}

impl LinkConfig {
    /// A reliable FIFO link with the given latency.
    pub fn reliable(latency: Latency) -> Self {
        LinkConfig {
            latency,
            ..LinkConfig::default()
        }
    }

    /// Sets the loss probability.
    pub fn with_loss(mut self, loss: f64) -> Self {
        self.loss = loss;
        self
    }

    /// Sets the duplication probability.
    pub fn with_duplicate(mut self, duplicate: f64) -> Self {
        self.duplicate = duplicate;
        self
    }

    /// Sets the ordering.
    pub fn with_ordering(mut self, ordering: Ordering) -> Self {
        self.ordering = ordering;
        self
    }

    /// Sets the latency.
    pub fn with_latency(mut self, latency: Latency) -> Self {
        self.latency = latency;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        for (name, p) in [("loss", self.loss), ("duplicate", self.duplicate)] {
            if !(0.0..=1.0).contains(&p) {
                return Err(Error::InvalidConfig(format!(
                    "{name} probability {p} is outside [0, 1]"
                )));
            }
        }
        self.latency.validate()
    }
}

/// A node's local clock against virtual time: `local = t + offset + t × drift`.
///
/// ```
/// use dsys_core::sim::ClockConfig;
/// // 20 ms ahead, gaining 100 µs per second.
/// let clock = ClockConfig::default().offset_ms(20).drift_ppm(100.0);
/// # let _ = clock;
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClockConfig {
    /// Offset from virtual time at t = 0, in nanoseconds (negative: behind).
    pub offset_ns: i64,
    /// Rate error in parts per million (positive: the clock runs fast). Must
    /// be above -1,000,000 so the clock moves forward.
    pub drift_ppm: f64,
}

impl ClockConfig {
    /// Sets the offset in milliseconds.
    pub fn offset_ms(mut self, offset_ms: i64) -> Self {
        self.offset_ns = offset_ms.saturating_mul(1_000_000);
        self
    }

    /// Sets the drift in parts per million.
    pub fn drift_ppm(mut self, drift_ppm: f64) -> Self {
        self.drift_ppm = drift_ppm;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if !self.drift_ppm.is_finite() || self.drift_ppm <= -1_000_000.0 {
            return Err(Error::InvalidConfig(format!(
                "clock drift {} ppm must be finite and above -1000000 (the clock must move forward)",
                self.drift_ppm
            )));
        }
        Ok(())
    }

    /// The local reading at virtual time `t_ns` (never below zero).
    ///
    /// Inlined: it runs before every handler call, and the common case (a
    /// perfect clock) is two comparisons.
    #[inline]
    pub(crate) fn local_ns(&self, t_ns: u64) -> u64 {
        let drift = if self.drift_ppm == 0.0 {
            0
        } else {
            (t_ns as f64 * self.drift_ppm / 1e6) as i64
        };
        (t_ns as i64)
            .saturating_add(self.offset_ns)
            .saturating_add(drift)
            .max(0) as u64
    }

    /// The earliest virtual time, not before `now`, at which this clock
    /// reads at least `target_local`.
    pub(crate) fn virtual_time_at(&self, target_local: u64, now: u64) -> u64 {
        let rate = 1.0 + self.drift_ppm / 1e6;
        let mut t = if self.drift_ppm == 0.0 {
            (i128::from(target_local) - i128::from(self.offset_ns)).clamp(0, i128::from(u64::MAX))
                as u64
        } else {
            ((target_local as f64 - self.offset_ns as f64) / rate)
                .ceil()
                .max(0.0) as u64
        };
        t = t.max(now);
        // Floating-point rounding can leave the reading a hair short: step on.
        while self.local_ns(t) < target_local {
            let short = (target_local - self.local_ns(t)) as f64;
            t = t.saturating_add((short / rate).ceil().max(1.0) as u64);
        }
        t
    }
}

/// A node's clock as the simulator keeps it: the configured model, and a
/// floor that keeps readings monotonic when the model is changed mid-run.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LocalClock {
    pub(crate) config: ClockConfig,
    /// No reading is below this (the reading when the model last changed).
    floor: u64,
}

impl LocalClock {
    /// The reading at virtual time `t`.
    #[inline]
    pub(crate) fn read(&self, t: u64) -> u64 {
        self.config.local_ns(t).max(self.floor)
    }

    /// Switches to `config` at virtual time `now` without moving the reading
    /// backwards: a clock set back stands still until the new model catches up.
    pub(crate) fn set(&mut self, config: ClockConfig, now: u64) {
        self.floor = self.read(now);
        self.config = config;
    }

    /// The virtual time at which a timer of `after_local` nanoseconds on this
    /// clock, set at virtual time `now`, fires.
    pub(crate) fn deadline(&self, now: u64, after_local: u64) -> u64 {
        let target = self.read(now).saturating_add(after_local);
        self.config.virtual_time_at(target, now)
    }
}

#[inline]
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
