//! An adjustable software clock over a hardware clock: **step** and **slew**.
//!
//! # The problem
//!
//! A computer's hardware clock (a quartz oscillator and a counter) cannot be
//! corrected by software: it runs at whatever rate its crystal has, which is
//! a little off (its **drift**, in parts per million), and it started at
//! whatever value it started at (its **skew** against other clocks). What a
//! synchronisation algorithm corrects is a **software clock** kept on top of
//! it:
//!
//! ```text
//! C(t) = H(t) + offset            (offset: what synchronisation has learnt)
//! ```
//!
//! In dsys the hardware clock is [`Context::now`](dsys_core::Context::now):
//! the simulator skews and drifts it per node
//! ([`ClockConfig`](dsys_core::sim::ClockConfig)). Every synchronisation
//! algorithm in this crate keeps a [`SoftwareClock`] and adjusts it.
//!
//! # Two ways to correct a clock
//!
//! - **Step**: set the offset at once. Exact and immediate, but the clock
//!   jumps — backwards, if it was fast. A program that measured an interval
//!   across the step sees it negative; a `make` that compares file times gets
//!   confused.
//! - **Slew**: spread the correction over time by running the clock slightly
//!   fast or slow — at most `slew_rate_ppm` parts per million — until the
//!   correction is absorbed (Unix `adjtime`, NTP's clock discipline). Because
//!   the rate stays below 1,000,000 ppm, a slewed clock **never runs
//!   backwards**: applications that need monotonic time keep it. The price is
//!   time: absorbing 10 ms at 500 ppm takes 20 s of hardware time.
//!
//! A [`Discipline`] says which to use: step every correction
//! ([`Discipline::STEP`], the default), slew every correction
//! ([`Discipline::slew`]: the clock is then monotonic), or step only those
//! larger than a threshold ([`Discipline::step_above`], what NTP does with
//! its 128 ms step threshold).
//!
//! # Guarantees
//!
//! - Reading is a pure function of the hardware reading: no hidden state.
//! - While slewing, the reading is non-decreasing in the hardware reading
//!   (proved by the rate bound; checked by a property test): with a
//!   discipline that never steps, the software clock never runs backwards.
//! - A slew of `d` nanoseconds is complete after `|d| × 10⁶ / slew_rate_ppm`
//!   nanoseconds of hardware time; a new correction replaces the rest of an
//!   unfinished one (it was measured against the current reading).
//!
//! # Source
//!
//! Coulouris, Dollimore, Kindberg & Blair, *Distributed Systems: Concepts and
//! Design*, 5th ed., §14.2–14.3; D. L. Mills, *Computer Network Time
//! Synchronization*, ch. 4 (the clock discipline); RFC 5905 §10–12.
//!
//! ```
//! use std::time::Duration;
//! use dsys_clocks::software_clock::{Discipline, SoftwareClock};
//!
//! let ms = Duration::from_millis;
//! // A clock that only slews, at 1% (10,000 ppm) at most.
//! let mut clock = SoftwareClock::new(Discipline::slew(10_000)).unwrap();
//! // The hardware clock reads 1000 ms and is 5 ms fast: take 5 ms off.
//! clock.adjust(ms(1000), -5_000_000);
//! assert_eq!(clock.read(ms(1000)), ms(1000)); // no jump
//! assert_eq!(clock.read(ms(1100)), ms(1099)); // 1% slower: 1 ms absorbed
//! assert_eq!(clock.read(ms(1500)), ms(1495)); // all 5 ms absorbed after 500 ms
//! assert_eq!(clock.read(ms(1600)), ms(1595)); // then back to the hardware rate
//!
//! // A stepping clock jumps at once, backwards if need be.
//! let mut clock = SoftwareClock::default();
//! clock.adjust(ms(1000), -5_000_000);
//! assert_eq!(clock.read(ms(1000)), ms(995));
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Parts per million in one.
pub(crate) const PPM: u128 = 1_000_000;

/// How a [`SoftwareClock`] applies a correction: step it (jump at once) or
/// slew it (absorb it gradually at a bounded rate).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Discipline {
    /// Corrections larger than this (in magnitude) are stepped; the others
    /// are slewed. `Duration::ZERO` steps every correction;
    /// `Duration::MAX` slews every correction, so the clock never jumps.
    pub step_threshold: Duration,
    /// How fast a slew runs, in parts per million of hardware time: a slew
    /// at 500 ppm absorbs 0.5 ms per second. Must be in `1..1_000_000`, so
    /// a slewing clock keeps moving forward.
    pub slew_rate_ppm: u32,
}

impl Discipline {
    /// Step every correction (the default): exact at once, but the clock
    /// may jump backwards. Slewing (only by [`SoftwareClock::slew`]) runs at
    /// 500 ppm, the most Unix `adjtime` allows.
    pub const STEP: Discipline = Discipline {
        step_threshold: Duration::ZERO,
        slew_rate_ppm: 500,
    };

    /// Slew every correction at `slew_rate_ppm`: the clock never jumps and
    /// never runs backwards.
    pub fn slew(slew_rate_ppm: u32) -> Self {
        Discipline {
            step_threshold: Duration::MAX,
            slew_rate_ppm,
        }
    }

    /// Step corrections larger than `step_threshold`, slew the rest at
    /// `slew_rate_ppm` (NTP steps above 128 ms and slews below).
    pub fn step_above(step_threshold: Duration, slew_rate_ppm: u32) -> Self {
        Discipline {
            step_threshold,
            slew_rate_ppm,
        }
    }

    /// Whether a correction can make the clock jump (backwards, too).
    pub fn may_step(&self) -> bool {
        self.step_threshold != Duration::MAX
    }

    /// Checks the slew rate.
    pub fn validate(&self) -> Result<()> {
        if self.slew_rate_ppm == 0 || u128::from(self.slew_rate_ppm) >= PPM {
            return Err(Error::InvalidConfig(format!(
                "slew rate {} ppm must be in 1..1000000: 0 never corrects, and 1000000 or more would stop or reverse the clock",
                self.slew_rate_ppm
            )));
        }
        Ok(())
    }
}

impl Default for Discipline {
    fn default() -> Self {
        Discipline::STEP
    }
}

/// What [`SoftwareClock::adjust`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Adjustment {
    /// The correction was zero: nothing changed.
    None,
    /// The clock jumped by this many nanoseconds.
    Stepped {
        /// The jump (negative: backwards).
        by_ns: i64,
    },
    /// The clock is slewing this many nanoseconds; it will be done after
    /// `duration` of hardware time.
    Slewing {
        /// The correction being absorbed.
        by_ns: i64,
        /// Hardware time until it is absorbed.
        duration: Duration,
    },
}

/// A slew in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Slew {
    /// Hardware reading when it started.
    start_hw_ns: u64,
    /// The whole correction (signed).
    total_ns: i64,
}

/// An adjustable clock over a hardware clock: `reading = hardware + offset`,
/// where the offset changes by steps and slews (see the [module
/// docs](self)).
///
/// The clock does not read the hardware itself: every method takes the
/// hardware reading (in a node, `ctx.now()`), which must never decrease
/// from one call to the next.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SoftwareClock {
    discipline: Discipline,
    /// Settled offset (slews in progress not included).
    offset_ns: i64,
    slew: Option<Slew>,
}

impl SoftwareClock {
    /// A clock reading exactly the hardware clock, correcting by `discipline`.
    pub fn new(discipline: Discipline) -> Result<Self> {
        discipline.validate()?;
        Ok(SoftwareClock {
            discipline,
            offset_ns: 0,
            slew: None,
        })
    }

    /// The discipline.
    pub fn discipline(&self) -> Discipline {
        self.discipline
    }

    /// The reading at hardware reading `hardware` (never below zero).
    pub fn read(&self, hardware: Duration) -> Duration {
        from_ns(self.read_ns(hardware))
    }

    /// The reading in nanoseconds, signed (it can be negative when a clock
    /// near zero was corrected backwards).
    pub fn read_ns(&self, hardware: Duration) -> i64 {
        to_ns(hardware).saturating_add(self.offset_ns(hardware))
    }

    /// `reading − hardware` now, slew progress included.
    pub fn offset_ns(&self, hardware: Duration) -> i64 {
        self.offset_ns.saturating_add(self.slewed_ns(hardware))
    }

    /// How much of a slew in progress is still to be absorbed (0 if none).
    pub fn slew_remaining_ns(&self, hardware: Duration) -> i64 {
        self.slew
            .map_or(0, |s| s.total_ns.saturating_sub(self.slewed_ns(hardware)))
    }

    /// Jumps the clock by `delta_ns` now, cancelling what a slew in progress
    /// had not yet absorbed.
    pub fn step(&mut self, hardware: Duration, delta_ns: i64) {
        self.settle(hardware);
        self.offset_ns = self.offset_ns.saturating_add(delta_ns);
    }

    /// Sets the clock to read `reading` now (a step).
    pub fn set(&mut self, hardware: Duration, reading: Duration) {
        self.settle(hardware);
        self.offset_ns = to_ns(reading).saturating_sub(to_ns(hardware));
    }

    /// Starts absorbing `delta_ns` gradually, at the discipline's slew rate.
    /// What an earlier slew had not yet absorbed is dropped: `delta_ns` is a
    /// correction of the current reading. Returns the hardware time the slew
    /// takes.
    pub fn slew(&mut self, hardware: Duration, delta_ns: i64) -> Duration {
        self.settle(hardware);
        if delta_ns == 0 {
            return Duration::ZERO;
        }
        self.slew = Some(Slew {
            start_hw_ns: to_ns(hardware).max(0) as u64,
            total_ns: delta_ns,
        });
        let rate = u128::from(self.discipline.slew_rate_ppm);
        let takes_ns = (u128::from(delta_ns.unsigned_abs()) * PPM).div_ceil(rate);
        Duration::from_nanos(u64::try_from(takes_ns).unwrap_or(u64::MAX))
    }

    /// Corrects the reading by `delta_ns`, stepping or slewing as the
    /// discipline says.
    pub fn adjust(&mut self, hardware: Duration, delta_ns: i64) -> Adjustment {
        if delta_ns == 0 {
            // A zero correction still supersedes an unfinished one.
            self.settle(hardware);
            return Adjustment::None;
        }
        let magnitude = Duration::from_nanos(delta_ns.unsigned_abs());
        if magnitude > self.discipline.step_threshold {
            self.step(hardware, delta_ns);
            Adjustment::Stepped { by_ns: delta_ns }
        } else {
            let duration = self.slew(hardware, delta_ns);
            Adjustment::Slewing {
                by_ns: delta_ns,
                duration,
            }
        }
    }

    /// Sets the clock's offset to `offset_ns` (`reading = hardware +
    /// offset_ns`), stepping or slewing the difference as the discipline
    /// says. This is how the algorithms apply a measured "true time minus
    /// hardware time".
    pub fn adjust_offset_to(&mut self, hardware: Duration, offset_ns: i64) -> Adjustment {
        let delta_ns = offset_ns.saturating_sub(self.offset_ns(hardware));
        self.adjust(hardware, delta_ns)
    }

    /// How far a slew in progress has got (signed).
    fn slewed_ns(&self, hardware: Duration) -> i64 {
        let Some(slew) = self.slew else {
            return 0;
        };
        let elapsed = u128::from((to_ns(hardware).max(0) as u64).saturating_sub(slew.start_hw_ns));
        let progress = elapsed * u128::from(self.discipline.slew_rate_ppm) / PPM;
        let done = progress.min(u128::from(slew.total_ns.unsigned_abs())) as i64;
        if slew.total_ns < 0 {
            -done
        } else {
            done
        }
    }

    /// Folds a slew's progress into the settled offset and ends it.
    fn settle(&mut self, hardware: Duration) {
        self.offset_ns = self.offset_ns(hardware);
        self.slew = None;
    }
}

/// A duration in nanoseconds, saturating at `i64::MAX`.
pub(crate) fn to_ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// Signed nanoseconds as a duration, negative values clamped to zero.
pub(crate) fn from_ns(ns: i64) -> Duration {
    Duration::from_nanos(ns.max(0) as u64)
}

/// How far a clock drifting at up to `drift_ppm` can wander in `elapsed`
/// (rounded up).
pub(crate) fn drift_over(elapsed: Duration, drift_ppm: u32) -> Duration {
    let ns = (elapsed.as_nanos() * u128::from(drift_ppm)).div_ceil(PPM);
    Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn step_jumps_and_cancels_a_slew() {
        let mut clock = SoftwareClock::new(Discipline::step_above(MS(10), 1000)).unwrap();
        assert_eq!(
            clock.adjust(MS(100), 2_000_000),
            Adjustment::Slewing {
                by_ns: 2_000_000,
                duration: Duration::from_secs(2)
            }
        );
        assert_eq!(clock.read(MS(1100)), MS(1101)); // half absorbed
        assert_eq!(clock.slew_remaining_ns(MS(1100)), 1_000_000);
        assert_eq!(
            clock.adjust(MS(1100), -20_000_000),
            Adjustment::Stepped { by_ns: -20_000_000 }
        );
        assert_eq!(clock.read(MS(1100)), MS(1081));
        assert_eq!(clock.slew_remaining_ns(MS(1100)), 0);
        assert_eq!(clock.read(MS(5000)), MS(4981));
    }

    #[test]
    fn a_new_slew_replaces_the_rest_of_the_old_one() {
        let mut clock = SoftwareClock::new(Discipline::slew(1000)).unwrap();
        clock.adjust(MS(0), 10_000_000); // 10 s to absorb
        assert_eq!(clock.offset_ns(MS(1000)), 1_000_000);
        clock.adjust(MS(1000), -1_000_000);
        assert_eq!(clock.offset_ns(MS(1000)), 1_000_000);
        assert_eq!(clock.offset_ns(MS(3000)), 0);
        assert_eq!(clock.offset_ns(MS(9000)), 0);
    }

    #[test]
    fn adjust_offset_to_moves_to_an_absolute_offset() {
        let mut clock = SoftwareClock::default();
        clock.adjust_offset_to(MS(50), 7_000_000);
        assert_eq!(clock.read(MS(50)), MS(57));
        assert_eq!(clock.adjust_offset_to(MS(60), 7_000_000), Adjustment::None);
        clock.set(MS(60), MS(10));
        assert_eq!(clock.read_ns(MS(55)), 5_000_000);
        assert_eq!(clock.offset_ns(MS(60)), -50_000_000);
    }

    #[test]
    fn invalid_slew_rates_are_rejected() {
        for rate in [0, 1_000_000, u32::MAX] {
            let err = SoftwareClock::new(Discipline::slew(rate)).unwrap_err();
            assert!(err.to_string().contains("1..1000000"), "{err}");
        }
        assert!(SoftwareClock::new(Discipline::slew(999_999)).is_ok());
    }

    #[test]
    fn drift_over_rounds_up() {
        assert_eq!(
            drift_over(Duration::from_secs(1), 500),
            Duration::from_micros(500)
        );
        assert_eq!(
            drift_over(Duration::from_nanos(1), 1),
            Duration::from_nanos(1)
        );
        assert_eq!(drift_over(Duration::ZERO, 500), Duration::ZERO);
    }

    #[test]
    fn a_correction_of_exactly_the_threshold_is_slewed_and_one_above_it_stepped() {
        let discipline = Discipline::step_above(MS(10), 1000);
        let mut clock = SoftwareClock::new(discipline).unwrap();
        assert_eq!(clock.discipline(), discipline);
        assert_eq!(
            clock.adjust(MS(0), 10_000_000),
            Adjustment::Slewing {
                by_ns: 10_000_000,
                duration: Duration::from_secs(10)
            }
        );
        assert_eq!(
            clock.adjust(MS(0), 10_000_001),
            Adjustment::Stepped { by_ns: 10_000_001 }
        );
    }

    #[test]
    fn only_a_discipline_that_slews_everything_never_steps() {
        assert_eq!(Discipline::default(), Discipline::STEP);
        assert!(Discipline::STEP.may_step());
        assert!(Discipline::step_above(MS(128), 500).may_step());
        assert!(!Discipline::slew(500).may_step());
    }
}
