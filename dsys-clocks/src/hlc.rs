//! Hybrid logical clocks (HLC): Lamport's causality with timestamps that stay
//! close to physical time.
//!
//! # The problem
//!
//! Lamport timestamps respect causality but mean nothing to a person: "event
//! 4 711" says nothing about *when*. Physical timestamps mean something but
//! break causality when clocks are skewed: a reply can carry an earlier
//! time than its request. Databases that order transactions by timestamp
//! and also answer "as of 10:00" queries (CockroachDB, YugabyteDB, MongoDB)
//! want both.
//!
//! # The algorithm (Kulkarni, Demirbas, Madappa, Avva, Leone, 2014)
//!
//! A timestamp is a pair [`HlcTimestamp`] `(l, c)`, compared
//! lexicographically: `l` is the largest physical time the node has heard
//! of, `c` a logical counter that orders events sharing the same `l`. With
//! `pt` the node's physical clock reading (in dsys, [`Context::now`], the
//! node's own drifting clock):
//!
//! 1. **local or send event** ([`HybridLogicalClock::now`]):
//!    `l' := l; l := max(l', pt); c := if l = l' { c + 1 } else { 0 }`.
//! 2. **receive** of `(l_m, c_m)` ([`HybridLogicalClock::update`]):
//!    `l' := l; l := max(l', l_m, pt)`; then `c := max(c, c_m) + 1` if
//!    `l = l' = l_m`, `c + 1` if only `l = l'`, `c_m + 1` if only `l = l_m`,
//!    and `0` if `pt` won.
//!
//! [`Context::now`]: dsys_core::Context::now
//!
//! # Guarantees
//!
//! - **Monotone**: every timestamp this clock returns is strictly greater
//!   than the one before, even if the physical readings go backwards.
//! - **Causality**: `e → f ⇒ hlc(e) < hlc(f)`, as for Lamport clocks.
//! - **Close to physical time**: `l ≥ pt` at every event (never behind the
//!   local clock), and `l − pt ≤ max_offset` (never ahead of the largest
//!   physical reading so far by more than [`HlcConfig::max_offset`]): a
//!   received timestamp further ahead than that is refused, as CockroachDB
//!   does, so a single broken clock cannot drag the cluster into the future.
//!   With clocks synchronised within ε ≤ `max_offset` no correct peer is
//!   ever refused, and `l − pt ≤ ε` (the paper's Theorem 1).
//! - **Bounded counter**: `c ≤` [`HlcConfig::logical_max`]. `c` only grows
//!   while `l` stands still: within one tick of the physical clock, or while
//!   the node is running on a time received from a clock ahead of its own
//!   (at most `max_offset` ahead). The paper bounds it by the number of
//!   events in such a window; in practice it stays in single digits. The
//!   default bound is 65 535 (the paper's 16 bits), enough for 131 000
//!   events a second on a peer's time a full default `max_offset` (500 ms)
//!   ahead. **At the bound** the operation returns an error and leaves the
//!   clock unchanged: the event cannot be given a timestamp until the
//!   physical clock moves past `l`. It never panics and never wraps.
//!
//! # Assumptions
//!
//! The physical clock is roughly synchronised (Cristian, Berkeley or NTP,
//! see [`crate::cristian`]) within `max_offset`; correctness of the order
//! does not depend on it, only the closeness to physical time and the
//! acceptance of peers' timestamps. The clock must survive restarts (or a
//! restarted node must wait out `max_offset` before timestamping, so that
//! its physical clock is past anything it handed out).
//!
//! # Cost
//!
//! No extra messages; a timestamp is a 64-bit time and a counter (about 10
//! bytes as postcard varints); O(1) work per event.
//!
//! ```
//! use std::time::Duration;
//! use dsys_clocks::hlc::{HlcConfig, HlcTimestamp, HybridLogicalClock};
//!
//! let ms = Duration::from_millis;
//! let mut fast = HybridLogicalClock::new(HlcConfig::default()).unwrap(); // reads 105 ms
//! let mut slow = HybridLogicalClock::new(HlcConfig::default()).unwrap(); // reads 100 ms
//! let sent = fast.now(ms(105)).unwrap();
//! // The slow node receives at its 100 ms: it adopts the sender's time, so the
//! // receive is ordered after the send, and counts with c.
//! let received = slow.update(ms(100), sent).unwrap();
//! assert!(sent < received);
//! assert_eq!(received, HlcTimestamp { wall_ns: 105_000_000, logical: 1 });
//! // Once its own clock passes 105 ms, physical time takes over again.
//! assert_eq!(slow.now(ms(106)).unwrap(), HlcTimestamp { wall_ns: 106_000_000, logical: 0 });
//! ```
//!
//! Source: S. Kulkarni, M. Demirbas, D. Madappa, B. Avva, M. Leone, *Logical
//! Physical Clocks and Consistent Snapshots in Globally Distributed
//! Databases*, OPODIS 2014.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The limits of a [`HybridLogicalClock`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HlcConfig {
    /// The furthest a received timestamp may be ahead of the local physical
    /// clock; further is refused. Set it to the bound your clock
    /// synchronisation guarantees (CockroachDB's default is 500 ms).
    pub max_offset: Duration,
    /// The largest logical counter; an event that would need a larger one
    /// is refused with an error.
    pub logical_max: u32,
}

impl Default for HlcConfig {
    /// `max_offset` 500 ms, `logical_max` 65 535.
    fn default() -> Self {
        HlcConfig {
            max_offset: Duration::from_millis(500),
            logical_max: u32::from(u16::MAX),
        }
    }
}

impl HlcConfig {
    /// Checks the limits, with a message saying what to fix.
    pub fn validate(&self) -> Result<()> {
        if self.max_offset.is_zero() || self.max_offset.as_nanos() > u128::from(u64::MAX / 2) {
            return Err(Error::InvalidConfig(format!(
                "HLC max_offset {:?} must be above zero and below 2^63 ns (about 292 years)",
                self.max_offset
            )));
        }
        if self.logical_max == 0 {
            return Err(Error::InvalidConfig(
                "HLC logical_max must be at least 1: two events within one physical tick need distinct counters"
                    .to_string(),
            ));
        }
        Ok(())
    }
}

/// A hybrid timestamp `(l, c)`, ordered by `l` then `c`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct HlcTimestamp {
    /// `l`: the largest physical time heard of, in nanoseconds.
    pub wall_ns: u64,
    /// `c`: orders the events that share `wall_ns`.
    pub logical: u32,
}

impl HlcTimestamp {
    /// `l` as a duration.
    pub fn wall(&self) -> Duration {
        Duration::from_nanos(self.wall_ns)
    }
}

impl fmt::Display for HlcTimestamp {
    /// `105ms+1`: `l` and `c`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}+{}", self.wall(), self.logical)
    }
}

/// A hybrid logical clock; physical time is passed in (sans-IO): read it
/// from [`Context::now`](dsys_core::Context::now).
///
/// ```
/// use std::time::Duration;
/// use dsys_clocks::hlc::{HlcConfig, HybridLogicalClock};
///
/// let config = HlcConfig { logical_max: 2, ..HlcConfig::default() };
/// let mut clock = HybridLogicalClock::new(config).unwrap();
/// let t = Duration::from_millis(7);
/// assert_eq!(clock.now(t).unwrap().logical, 0);
/// assert_eq!(clock.now(t).unwrap().logical, 1); // same physical instant
/// assert_eq!(clock.now(t).unwrap().logical, 2);
/// assert!(clock.now(t).is_err()); // the counter is at its bound: refused, no panic
/// assert_eq!(clock.now(t + Duration::from_nanos(1)).unwrap().logical, 0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HybridLogicalClock {
    config: HlcConfig,
    last: HlcTimestamp,
    /// The largest physical reading so far (the `max_offset` check is
    /// against it, so a clock stepped back cannot refuse what it accepted).
    physical_max_ns: u64,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl HybridLogicalClock {
    /// A clock at `(0, 0)`.
    pub fn new(config: HlcConfig) -> Result<Self> {
        config.validate()?;
        Ok(HybridLogicalClock {
            config,
            last: HlcTimestamp::default(),
            physical_max_ns: 0,
        })
    }

    /// A clock restored at `last` (from stable storage).
    pub fn restored(config: HlcConfig, last: HlcTimestamp) -> Result<Self> {
        let mut clock = HybridLogicalClock::new(config)?;
        clock.last = last;
        Ok(clock)
    }

    /// The limits.
    pub fn config(&self) -> &HlcConfig {
        &self.config
    }

    /// The timestamp of the last event.
    pub fn last(&self) -> HlcTimestamp {
        self.last
    }

    /// A local or send event at physical time `physical`: returns its
    /// timestamp. Fails (clock unchanged) if the logical counter would pass
    /// [`HlcConfig::logical_max`].
    pub fn now(&mut self, physical: Duration) -> Result<HlcTimestamp> {
        let pt = nanos(physical);
        let next = if pt > self.last.wall_ns {
            HlcTimestamp {
                wall_ns: pt,
                logical: 0,
            }
        } else {
            HlcTimestamp {
                wall_ns: self.last.wall_ns,
                logical: self.next_logical(self.last.logical)?,
            }
        };
        Ok(self.advance(pt, next))
    }

    /// A receive event at physical time `physical` of a message stamped
    /// `remote`: returns the receive's timestamp, above both `remote` and
    /// every earlier timestamp of this clock.
    ///
    /// Fails (clock unchanged) if `remote` is more than
    /// [`HlcConfig::max_offset`] ahead of the local physical clock, or if the
    /// logical counter would pass [`HlcConfig::logical_max`].
    pub fn update(&mut self, physical: Duration, remote: HlcTimestamp) -> Result<HlcTimestamp> {
        let pt = nanos(physical);
        let horizon = pt
            .max(self.physical_max_ns)
            .saturating_add(nanos(self.config.max_offset));
        if remote.wall_ns > horizon {
            return Err(Error::StampRefused(format!(
                "HLC timestamp {remote} is {:?} ahead of the local physical clock ({:?}), more than max_offset {:?}: the sender's clock is out of sync; the message is refused",
                Duration::from_nanos(remote.wall_ns - pt.max(self.physical_max_ns)),
                physical,
                self.config.max_offset
            )));
        }
        let old = self.last;
        let wall_ns = old.wall_ns.max(remote.wall_ns).max(pt);
        let logical = if wall_ns == old.wall_ns && wall_ns == remote.wall_ns {
            self.next_logical(old.logical.max(remote.logical))?
        } else if wall_ns == old.wall_ns {
            self.next_logical(old.logical)?
        } else if wall_ns == remote.wall_ns {
            self.next_logical(remote.logical)?
        } else {
            0
        };
        Ok(self.advance(pt, HlcTimestamp { wall_ns, logical }))
    }

    fn next_logical(&self, logical: u32) -> Result<u32> {
        match logical.checked_add(1) {
            Some(next) if next <= self.config.logical_max => Ok(next),
            _ => Err(Error::ClockExhausted(format!(
                "HLC logical counter would pass its bound {} at l = {:?}: more events than that while the physical clock stood still; wait for the physical clock to pass l, or raise HlcConfig::logical_max",
                self.config.logical_max,
                self.last.wall()
            ))),
        }
    }

    fn advance(&mut self, pt: u64, next: HlcTimestamp) -> HlcTimestamp {
        debug_assert!(next > self.last, "HLC must be monotone");
        self.physical_max_ns = self.physical_max_ns.max(pt);
        self.last = next;
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(wall_ns: u64, logical: u32) -> HlcTimestamp {
        HlcTimestamp { wall_ns, logical }
    }

    fn clock() -> HybridLogicalClock {
        HybridLogicalClock::new(HlcConfig {
            max_offset: Duration::from_nanos(100),
            logical_max: 5,
        })
        .unwrap()
    }

    const NS: fn(u64) -> Duration = Duration::from_nanos;

    #[test]
    fn send_rule() {
        let mut c = clock();
        assert_eq!(c.now(NS(10)).unwrap(), ts(10, 0));
        assert_eq!(c.now(NS(10)).unwrap(), ts(10, 1));
        // The physical clock went backwards: l holds, c counts.
        assert_eq!(c.now(NS(4)).unwrap(), ts(10, 2));
        assert_eq!(c.now(NS(11)).unwrap(), ts(11, 0));
    }

    #[test]
    fn receive_rule_all_four_cases() {
        // l = l' = l_m: max(c, c_m) + 1.
        let mut c = HybridLogicalClock::restored(clock().config, ts(50, 2)).unwrap();
        assert_eq!(c.update(NS(40), ts(50, 4)).unwrap(), ts(50, 5));
        // only l = l': c + 1.
        let mut c = HybridLogicalClock::restored(clock().config, ts(50, 2)).unwrap();
        assert_eq!(c.update(NS(40), ts(45, 4)).unwrap(), ts(50, 3));
        // only l = l_m: c_m + 1.
        let mut c = HybridLogicalClock::restored(clock().config, ts(50, 2)).unwrap();
        assert_eq!(c.update(NS(40), ts(60, 1)).unwrap(), ts(60, 2));
        // the physical clock wins: 0.
        let mut c = HybridLogicalClock::restored(clock().config, ts(50, 2)).unwrap();
        assert_eq!(c.update(NS(70), ts(60, 1)).unwrap(), ts(70, 0));
    }

    #[test]
    fn a_timestamp_too_far_ahead_is_refused_and_changes_nothing() {
        let mut c = clock();
        c.now(NS(1_000)).unwrap();
        let before = c.clone();
        let err = c.update(NS(1_000), ts(1_101, 0)).unwrap_err();
        assert!(err.to_string().contains("more than max_offset"), "{err}");
        assert_eq!(c, before);
        assert_eq!(c.update(NS(1_000), ts(1_100, 0)).unwrap(), ts(1_100, 1));
    }

    #[test]
    fn the_counter_bound_is_an_error_not_a_panic() {
        let mut c = clock();
        for logical in 0..=5 {
            assert_eq!(c.now(NS(9)).unwrap(), ts(9, logical));
        }
        let before = c.clone();
        assert!(c.now(NS(9)).unwrap_err().to_string().contains("bound 5"));
        assert!(c.update(NS(9), ts(9, 5)).is_err());
        assert!(c.update(NS(9), ts(3, 0)).is_err());
        assert_eq!(c, before);
        // A received counter at u32::MAX cannot overflow either.
        let mut c = HybridLogicalClock::restored(
            HlcConfig {
                logical_max: u32::MAX,
                ..HlcConfig::default()
            },
            ts(9, 0),
        )
        .unwrap();
        assert!(c.update(NS(9), ts(9, u32::MAX)).is_err());
    }

    #[test]
    fn bad_configs_are_refused() {
        let zero = HlcConfig {
            logical_max: 0,
            ..HlcConfig::default()
        };
        assert!(HybridLogicalClock::new(zero).is_err());
        let no_offset = HlcConfig {
            max_offset: Duration::ZERO,
            ..HlcConfig::default()
        };
        assert!(HybridLogicalClock::new(no_offset).is_err());
    }

    #[test]
    fn display_shows_both_parts() {
        assert_eq!(ts(105_000_000, 1).to_string(), "105ms+1");
    }

    #[test]
    fn max_offset_must_be_above_zero_and_below_2_to_the_63_ns() {
        let with_offset = |max_offset| HlcConfig {
            max_offset,
            ..HlcConfig::default()
        };
        let limit = NS(u64::MAX / 2);
        assert_eq!(with_offset(limit).validate(), Ok(()));
        assert!(with_offset(limit + NS(1)).validate().is_err());
        assert_eq!(with_offset(NS(1)).validate(), Ok(()));
        // One bad field is enough.
        let err = HlcConfig {
            max_offset: Duration::ZERO,
            logical_max: 7,
        }
        .validate()
        .unwrap_err();
        assert!(err.to_string().contains("max_offset"), "{err}");
        let ok = HlcConfig {
            logical_max: 1,
            ..HlcConfig::default()
        };
        assert_eq!(ok.validate(), Ok(()));
    }

    #[test]
    fn the_clock_shows_its_limits_and_last_timestamp() {
        let mut c = clock();
        assert_eq!(c.config().logical_max, 5);
        assert_eq!(c.config().max_offset, NS(100));
        assert_eq!(c.last(), ts(0, 0));
        c.now(NS(42)).unwrap();
        assert_eq!(c.last(), ts(42, 0));
        assert_eq!(c.last().wall(), NS(42));
        let restored = HybridLogicalClock::restored(*c.config(), ts(7, 3)).unwrap();
        assert_eq!(restored.last(), ts(7, 3));
    }

    #[test]
    fn the_offset_check_uses_the_largest_physical_reading_so_far() {
        // The physical clock read 1000 ns, then was stepped back to 500 ns:
        // a timestamp accepted before (1100 ns) is still accepted.
        let mut c = clock();
        c.now(NS(1_000)).unwrap();
        assert_eq!(c.update(NS(500), ts(1_100, 0)).unwrap(), ts(1_100, 1));
        let err = c.update(NS(500), ts(1_150, 0)).unwrap_err().to_string();
        assert!(err.contains("is 150ns ahead"), "{err}");
        // The largest reading is also kept through receives.
        let mut c = clock();
        c.update(NS(2_000), ts(0, 0)).unwrap();
        assert!(c.update(NS(0), ts(2_100, 0)).is_ok());
    }

    #[test]
    fn a_physical_time_beyond_u64_nanoseconds_saturates() {
        let mut c = clock();
        let far = Duration::from_secs(u64::MAX);
        assert_eq!(c.now(far).unwrap(), ts(u64::MAX, 0));
        assert_eq!(c.now(far).unwrap(), ts(u64::MAX, 1));
    }
}
