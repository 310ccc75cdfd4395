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

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::NodeRng;

    fn samples(latency: Latency, count: usize) -> Vec<u64> {
        let mut rng = NodeRng::seed_from_u64(11);
        (0..count).map(|_| latency.sample_ns(&mut rng)).collect()
    }

    #[test]
    fn exponential_latency_is_min_plus_a_long_tail_with_the_configured_mean() {
        let (min, mean) = (1_000_000u64, 2_000_000u64);
        let latency = Latency::Exponential {
            min: Duration::from_nanos(min),
            mean_extra: Duration::from_nanos(mean),
        };
        let extras: Vec<u64> = samples(latency, 20_000)
            .into_iter()
            .map(|ns| ns.checked_sub(min).expect("never below min"))
            .collect();
        let average = extras.iter().sum::<u64>() as f64 / extras.len() as f64;
        // The standard error of the mean of 20,000 draws is 0.7% of it.
        assert!(
            (average / mean as f64 - 1.0).abs() < 0.05,
            "mean extra {average} ns, configured {mean} ns"
        );
        // Mostly fast, with a long tail: an exponential puts 5% of its draws
        // below a twentieth of its mean and 5% above three times it.
        let below = extras.iter().filter(|&&e| e < mean / 20).count();
        let above = extras.iter().filter(|&&e| e > 3 * mean).count();
        assert!((800..1_200).contains(&below), "{below} draws below mean/20");
        assert!(
            (800..1_200).contains(&above),
            "{above} draws above 3 × mean"
        );
    }

    #[test]
    fn exponential_latency_caps_the_extra_delay_at_half_of_u64_max() {
        // A mean of u64::MAX ns puts most draws beyond the cap, which keeps
        // `min + extra` (and the delivery time after it) from overflowing.
        let latency = Latency::Exponential {
            min: Duration::from_nanos(5),
            mean_extra: Duration::MAX,
        };
        let drawn = samples(latency, 100);
        let cap = 5 + (1u64 << 63);
        assert!(drawn.iter().all(|&ns| (5..=cap).contains(&ns)), "{drawn:?}");
        assert!(
            drawn.iter().filter(|&&ns| ns == cap).count() > 30,
            "{drawn:?}"
        );
        assert!(drawn.iter().any(|&ns| ns < cap), "{drawn:?}");
    }

    #[test]
    fn uniform_latency_draws_every_value_from_min_to_max_inclusive() {
        let latency = Latency::Uniform {
            min: Duration::from_nanos(3),
            max: Duration::from_nanos(5),
        };
        let mut drawn = samples(latency, 1_000);
        drawn.sort_unstable();
        drawn.dedup();
        assert_eq!(drawn, vec![3, 4, 5]);
        assert_eq!(samples(Latency::uniform_ms(2, 2), 3), vec![2_000_000; 3]);
        assert_eq!(
            samples(Latency::Fixed(Duration::from_micros(7)), 2),
            vec![7_000; 2]
        );
    }

    #[test]
    fn local_time_adds_offset_and_drift_and_never_reads_below_zero() {
        let clock = ClockConfig::default().offset_ms(20).drift_ppm(100.0);
        // 1 s of virtual time: 20 ms ahead, plus 100 µs gained.
        assert_eq!(clock.local_ns(1_000_000_000), 1_020_100_000);
        let slow = ClockConfig::default().offset_ms(-1).drift_ppm(-250_000.0);
        assert_eq!(slow.local_ns(4_000_000), 2_000_000);
        assert_eq!(slow.local_ns(1_000_000), 0, "750 µs - 1 ms is clamped to 0");
        assert_eq!(ClockConfig::default().local_ns(12_345), 12_345);
        assert_eq!(ClockConfig::default().offset_ms(3).local_ns(0), 3_000_000);
    }

    /// The earliest `t >= now` at which `clock` reads at least `target`, by
    /// search: the clock's reading never decreases.
    fn earliest(clock: &ClockConfig, target: u64, now: u64) -> u64 {
        let (mut lo, mut hi) = (now, now.max(1));
        while clock.local_ns(hi) < target {
            lo = hi;
            hi = hi.saturating_mul(2);
        }
        if clock.local_ns(lo) >= target {
            return lo;
        }
        // local(lo) < target <= local(hi)
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if clock.local_ns(mid) >= target {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        hi
    }

    #[test]
    fn virtual_time_at_is_the_first_instant_the_local_clock_reaches_the_target() {
        let clocks = [
            ClockConfig::default(),
            ClockConfig::default().offset_ms(-2),
            ClockConfig::default().offset_ms(5),
            ClockConfig::default().drift_ppm(250.0),
            ClockConfig::default().offset_ms(3).drift_ppm(100_000.0),
            ClockConfig::default().offset_ms(-4).drift_ppm(1.0),
        ];
        for clock in clocks {
            for target in (1..20_000_000u64).step_by(999_983).chain([7]) {
                for now in [0, 3_000_000] {
                    assert_eq!(
                        clock.virtual_time_at(target, now),
                        earliest(&clock, target, now),
                        "{clock:?}, target {target}, now {now}"
                    );
                }
            }
        }
        // Without drift the answer is integer arithmetic, exact even where
        // an f64 cannot hold every nanosecond (2^55 + 5 would round to
        // 2^55 + 8).
        for clock in &clocks[..3] {
            let target = (1u64 << 55) + 5;
            assert_eq!(
                clock.virtual_time_at(target, 0),
                earliest(clock, target, 0),
                "{clock:?}"
            );
        }
    }

    #[test]
    fn virtual_time_at_steps_on_when_rounding_leaves_the_estimate_short() {
        // Near 2^55 ns (a year) an f64 cannot hold every nanosecond: the
        // first estimate often falls a few nanoseconds short, and the loop
        // steps on to the first instant that reads enough (at worst 1 ns
        // after it: a step is rounded up too).
        let clock = ClockConfig {
            offset_ns: 3,
            drift_ppm: 250.0,
        };
        let rate = 1.0 + clock.drift_ppm / 1e6;
        let (mut stepped, mut exact) = (0, 0);
        for k in 0..2_000u64 {
            let target = (1u64 << 55) + k * 7_919;
            let estimate = ((target as f64 - clock.offset_ns as f64) / rate).ceil() as u64;
            if clock.local_ns(estimate) >= target {
                continue;
            }
            stepped += 1;
            let t = clock.virtual_time_at(target, 0);
            let first = earliest(&clock, target, 0);
            assert!(
                t == first || t == first + 1,
                "target {target}: {t}, the first instant is {first}"
            );
            if t == first {
                exact += 1;
            }
        }
        assert!(stepped > 900, "only {stepped} of 2000 estimates fell short");
        assert!(exact * 100 >= stepped * 99, "{exact} of {stepped} exact");
    }

    #[test]
    fn a_local_clock_set_back_stands_still_until_the_new_model_catches_up() {
        let mut clock = LocalClock::default();
        assert_eq!(clock.read(10_000_000), 10_000_000);
        clock.set(ClockConfig::default().offset_ms(-4), 10_000_000);
        assert_eq!(clock.config, ClockConfig::default().offset_ms(-4));
        // At 10 ms the new model reads 6 ms: the reading holds at 10 ms
        // until virtual time 14 ms, then moves on.
        assert_eq!(clock.read(12_000_000), 10_000_000);
        assert_eq!(clock.read(14_000_000), 10_000_000);
        assert_eq!(clock.read(15_000_000), 11_000_000);
        // A 1 ms timer set at 12 ms waits until the clock reads 11 ms.
        assert_eq!(clock.deadline(12_000_000, 1_000_000), 15_000_000);
        assert_eq!(clock.deadline(20_000_000, 1_000_000), 21_000_000);
    }
}
