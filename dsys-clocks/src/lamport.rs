//! Lamport clocks: logical time that respects causality, and a total order
//! of all events built on it.
//!
//! # The problem
//!
//! Processes have no common clock, and their physical clocks drift, so
//! "which happened first?" cannot be answered by reading clocks. What can be
//! known is Lamport's **happened-before** relation `→`: `a → b` if `a` comes
//! before `b` on the same process, or `a` sends a message that `b` receives,
//! or by transitivity. Events related by neither `a → b` nor `b → a` are
//! **concurrent** (`a ‖ b`). We want numbers that respect `→`.
//!
//! # The algorithm (Lamport, 1978)
//!
//! Each process keeps a counter `L`, starting at 0.
//!
//! 1. Before each event (local, send, receive) the process ticks:
//!    `L := L + 1` ([`LamportClock::tick`]); a send carries the new value
//!    ([`LamportClock::stamp`]).
//! 2. On receiving a message stamped `t`: `L := max(L, t) + 1`
//!    ([`LamportClock::merge`]), and the receive event gets that value.
//!
//! Ties between processes are broken by the process id: the pair
//! [`LamportTimestamp`] `(L, id)` orders *all* events totally, in an order
//! consistent with `→` — the order Lamport's mutual-exclusion algorithm and
//! totally ordered multicast use.
//!
//! # Guarantees
//!
//! - **Clock condition**: `a → b ⇒ L(a) < L(b)` ([`clock_condition`]).
//! - **Total order**: no two events share a timestamp `(L, id)`
//!   ([`total_order`]).
//! - Not the converse: `L(a) < L(b)` does *not* imply `a → b`. In the
//!   textbook figure, `L(e) = 1 < L(b) = 2` although `e ‖ b`. A Lamport
//!   timestamp squeezes a partial order into a line, so it cannot tell
//!   concurrency; [vector clocks](crate::vector) can.
//!
//! # Assumptions
//!
//! None on the network (loss, duplication and reordering are fine). The
//! counter must survive a restart (stable storage), or the clock condition
//! breaks against the process's own earlier events.
//!
//! # Cost
//!
//! No extra messages; one integer per message (a few bytes as a varint),
//! O(1) work per event.
//!
//! # Bounds
//!
//! A counter is a `u64`. [`LamportClock::merge`] refuses a received time
//! above [`TIME_MAX`] (`2⁶³ − 1`) with an error, so the clock never exceeds
//! `2⁶³` through merges, and reaching `u64::MAX` by ticking from there would
//! take 2⁶³ local events — three centuries at a billion events a second. (In
//! that unreachable case the counter saturates; it never wraps or panics.)
//!
//! # Running it
//!
//! `dsys sim lamport` ([`ALGORITHM`]) runs [`Chatter`] nodes exchanging
//! messages at random, wrapped by [`Stamped`] with a Lamport clock, and
//! judges both properties against the simulator's own vector timestamps.
//! Source: L. Lamport, *Time, Clocks, and the Ordering of Events in a
//! Distributed System*, CACM 21(7), 1978; Coulouris et al., *Distributed
//! Systems*, §14.4.
//!
//! ```
//! use dsys_clocks::lamport::{LamportClock, LamportTimestamp};
//! use dsys_core::NodeId;
//!
//! let (mut p1, mut p2) = (LamportClock::new(), LamportClock::new());
//! let a = p1.tick(); // a local event
//! let m1 = p1.stamp(); // b: send m1
//! let c = p2.merge(m1).unwrap(); // c: receive m1
//! assert_eq!((a, m1, c), (1, 2, 3));
//! // Ties between processes are broken by id: a total order.
//! let x = LamportTimestamp { time: 3, node: NodeId(0) };
//! let y = LamportTimestamp { time: 3, node: NodeId(1) };
//! assert!(x < y);
//! ```

use std::fmt;

use dsys_core::model::{self, Model, ModelOptions, ModelVerdict};
use dsys_core::scenario::{run_scenario, Algorithm, Check, Outcome, Property, SimOptions, Verdict};
use dsys_core::sim::Simulation;
use dsys_core::trace::Trace;
use dsys_core::NodeId;
use serde::{Deserialize, Serialize};

use crate::stamped::{
    chatter_model, history_stamps, traced_stamps, Causality, Chatter, ChatterConfig, LogicalClock,
    Stamped, TracedStamp,
};
use crate::{Error, Result};

/// The largest received time [`LamportClock::merge`] accepts: `2⁶³ − 1`.
pub const TIME_MAX: u64 = u64::MAX >> 1;

/// A process's Lamport clock: a counter ticked on every event and merged
/// (`max + 1`) on every receive.
///
/// ```
/// use dsys_clocks::lamport::LamportClock;
///
/// let mut clock = LamportClock::new();
/// assert_eq!(clock.tick(), 1);
/// assert_eq!(clock.merge(7).unwrap(), 8); // max(1, 7) + 1
/// assert_eq!(clock.merge(3).unwrap(), 9); // max(8, 3) + 1
/// assert!(clock.merge(u64::MAX).is_err()); // out of range: refused
/// assert_eq!(clock.time(), 9);
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct LamportClock {
    time: u64,
}

impl LamportClock {
    /// A clock at 0 (before any event).
    pub fn new() -> Self {
        LamportClock::default()
    }

    /// A clock restored at `time` (from stable storage, after a restart).
    pub fn at(time: u64) -> Self {
        LamportClock { time }
    }

    /// The timestamp of the last event (0 before any).
    pub fn time(&self) -> u64 {
        self.time
    }

    /// A local event: `L := L + 1`; returns the event's time.
    pub fn tick(&mut self) -> u64 {
        self.time = self.time.saturating_add(1);
        self.time
    }

    /// A send event: ticks and returns the time to put in the message (the
    /// send event's own time).
    pub fn stamp(&mut self) -> u64 {
        self.tick()
    }

    /// A receive event of a message stamped `received`: `L := max(L,
    /// received) + 1`; returns the receive event's time.
    ///
    /// Fails, leaving the clock unchanged, if `received` exceeds
    /// [`TIME_MAX`]: no correct process gets there, so the sender is broken
    /// or hostile, and merging would push this clock to its limit.
    pub fn merge(&mut self, received: u64) -> Result<u64> {
        if received > TIME_MAX {
            return Err(Error::StampRefused(format!(
                "Lamport timestamp {received} is above the maximum {TIME_MAX}: the sender's clock is broken or hostile; the message is refused"
            )));
        }
        self.time = self.time.max(received);
        Ok(self.tick())
    }

    /// The clock's current time as a totally ordered timestamp of `node`.
    pub fn timestamp(&self, node: NodeId) -> LamportTimestamp {
        LamportTimestamp {
            time: self.time,
            node,
        }
    }
}

/// A Lamport time with its process id: `(time, node)`, ordered by time
/// first and id second, a total order of all events consistent with `→`.
///
/// ```
/// use dsys_clocks::lamport::LamportTimestamp;
/// use dsys_core::NodeId;
///
/// let a = LamportTimestamp { time: 2, node: NodeId(5) };
/// let b = LamportTimestamp { time: 3, node: NodeId(0) };
/// assert!(a < b);
/// assert_eq!(a.to_string(), "2.n5");
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct LamportTimestamp {
    /// The Lamport time of the event.
    pub time: u64,
    /// The process the event happened on (the tie-breaker).
    pub node: NodeId,
}

impl fmt::Display for LamportTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.time, self.node)
    }
}

impl LogicalClock for LamportClock {
    type Timestamp = LamportTimestamp;

    fn tick(&mut self, me: NodeId) -> LamportTimestamp {
        LamportClock::tick(self);
        self.timestamp(me)
    }

    fn receive(&mut self, me: NodeId, stamp: &LamportTimestamp) -> Result<LamportTimestamp> {
        self.merge(stamp.time)?;
        Ok(self.timestamp(me))
    }
}

// ----- properties -----------------------------------------------------------

/// The clock condition, judged against `truth`: for every two stamped
/// events `a`, `b` with `a → b` there (in a trace, by the simulator's own
/// vector timestamps; in a model's causal history, by the model's),
/// `L(a) < L(b)`. Lamport 1978, "Clock Condition".
///
/// Checks every pair: O(k²) for k events (the chatter bounds k).
pub fn clock_condition(
    truth: &impl Causality,
    stamps: &[TracedStamp<LamportTimestamp>],
) -> Result<(), String> {
    for (i, a) in stamps.iter().enumerate() {
        for b in &stamps[i + 1..] {
            for (x, y) in [(a, b), (b, a)] {
                if truth.happens_before(x.index, y.index) && x.timestamp.time >= y.timestamp.time {
                    return Err(format!(
                        "{} happened before {}, but L = {} is not below L = {}",
                        truth.describe(x),
                        truth.describe(y),
                        x.timestamp.time,
                        y.timestamp.time
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The total order: each timestamp `(L, id)` names the node it was taken on,
/// and no two events share one.
pub fn total_order(stamps: &[TracedStamp<LamportTimestamp>]) -> Result<(), String> {
    let mut seen = std::collections::BTreeMap::new();
    for s in stamps {
        if s.timestamp.node != s.node {
            return Err(format!(
                "trace event {} on {} is stamped with {}'s id",
                s.index, s.node, s.timestamp.node
            ));
        }
        if let Some(other) = seen.insert(s.timestamp, s.index) {
            return Err(format!(
                "trace events {other} and {} share the timestamp {}",
                s.index, s.timestamp
            ));
        }
    }
    Ok(())
}

fn judge<N: dsys_core::Node, C: LogicalClock<Timestamp = LamportTimestamp>>(
    sim: &Simulation<Stamped<N, C>>,
    options: &SimOptions,
    property: impl FnOnce(&Trace, &[TracedStamp<LamportTimestamp>]) -> Result<(), String>,
) -> Verdict {
    let trace = match sim.trace() {
        Some(trace) => trace,
        None => return Verdict::Skipped("needs a trace".to_string()),
    };
    traced_stamps(sim)
        .and_then(|stamps| property(trace, &stamps))
        .map_err(|why| restart_hint(why, options))
        .into()
}

/// Adds the likely cause to a violation in a run with restarts.
pub(crate) fn restart_hint(why: String, options: &SimOptions) -> String {
    if options.restarts.is_empty() {
        why
    } else {
        format!("{why} (a restarted node's clock starts again from zero: a logical clock must be kept on stable storage to survive a restart)")
    }
}

/// The node `dsys sim lamport` runs.
pub type LamportChatter = Stamped<Chatter, LamportClock>;

/// `dsys sim lamport`: [`Chatter`] nodes stamped with Lamport clocks; judges
/// the clock condition and the total order against the trace.
pub const ALGORITHM: Algorithm = Algorithm {
    name: "lamport",
    summary:
        "Lamport clocks on random messages: a → b implies L(a) < L(b); (L, id) is a total order",
    run: simulate,
    settings: &[],
    model: Some(check_model),
    defects: &[],
};

/// The model of `dsys check lamport`: [`chatter_model`] with Lamport
/// clocks, judged by the clock condition and the total order against the
/// model's own causality, in every state. With crashes, a restarted node's
/// clock starts again from zero, and the clock condition fails: a Lamport
/// clock must be kept on stable storage to survive a restart.
///
/// ```
/// use dsys_clocks::lamport::model;
///
/// let report = model(3).check();
/// assert!(report.passed() && report.exhaustive, "{report}");
/// ```
pub fn model(nodes: usize) -> Model<LamportChatter> {
    model_of(nodes, LamportClock::new())
}

/// [`model`] with any clock that gives Lamport timestamps: a broken one of
/// your own, to see the model checker catch it.
pub fn model_of<C>(nodes: usize, clock: C) -> Model<Stamped<Chatter, C>>
where
    C: LogicalClock<Timestamp = LamportTimestamp> + Sync,
{
    chatter_model(nodes, clock)
        .property(model::Property::history("clock-condition", |h| {
            clock_condition(h, &history_stamps(h))
        }))
        .property(model::Property::history("total-order", |h| {
            total_order(&history_stamps(h))
        }))
}

/// `dsys check lamport`: [`model`] with the options given.
fn check_model(options: &ModelOptions) -> dsys_core::Result<ModelVerdict> {
    ALGORITHM.defect_named(options.defect.as_deref())?; // it ships none
    Ok(model(options.nodes).options(options).verdict())
}

/// The properties of `dsys sim lamport`, for any node wrapped with a clock
/// that gives [`LamportTimestamp`]s.
pub fn properties<N: dsys_core::Node, C: LogicalClock<Timestamp = LamportTimestamp>>(
) -> Vec<Property<Stamped<N, C>>> {
    vec![
        Property {
            name: "clock-condition",
            check: Check::at_end(|sim, options| judge(sim, options, clock_condition)),
        },
        Property {
            name: "total-order",
            check: Check::at_end(|sim, options| {
                judge(sim, options, |_, stamps| total_order(stamps))
            }),
        },
    ]
}

fn simulate(options: &SimOptions) -> dsys_core::Result<Outcome> {
    let mut options = options.clone();
    options.trace = true; // the properties are judged against the trace
    let config = ChatterConfig::default();
    run_scenario(
        ALGORITHM.name,
        &options,
        move |_| Stamped::new(Chatter::new(config), LamportClock::new()),
        &properties::<Chatter, LamportClock>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsys_core::sim::Simulation;
    use std::time::Duration;

    /// Long enough for every chatter action (40 actions, at most 60 ms apart).
    const CHATTER_SPAN: Duration = Duration::from_millis(2_400);

    fn stamp(index: usize, node: u32, time: u64) -> TracedStamp<LamportTimestamp> {
        TracedStamp {
            index,
            node: NodeId(node),
            timestamp: LamportTimestamp {
                time,
                node: NodeId(node),
            },
        }
    }

    #[test]
    fn merge_is_max_plus_one_and_refuses_out_of_range_stamps() {
        let mut clock = LamportClock::new();
        assert_eq!(clock.stamp(), 1);
        assert_eq!(clock.merge(0).unwrap(), 2);
        assert_eq!(clock.merge(10).unwrap(), 11);
        assert_eq!(clock.merge(TIME_MAX).unwrap(), TIME_MAX + 1);
        let before = clock;
        let err = clock.merge(TIME_MAX + 1).unwrap_err();
        assert!(err.to_string().contains("refused"), "{err}");
        assert_eq!(clock, before, "a refused merge changes nothing");
        // Saturates rather than wrapping or panicking, in the unreachable case.
        let mut full = LamportClock::at(u64::MAX);
        assert_eq!(full.tick(), u64::MAX);
    }

    #[test]
    fn the_largest_accepted_time_is_2_to_the_63_minus_1() {
        assert_eq!(TIME_MAX, (1 << 63) - 1);
        let mut clock = LamportClock::new();
        assert!(clock.merge(1 << 63).is_err(), "2⁶³ is refused");
        assert_eq!(clock.time(), 0);
        assert_eq!(clock.merge(TIME_MAX).unwrap(), 1 << 63);
        assert_eq!(clock.time(), 1 << 63);
    }

    #[test]
    fn the_clock_reads_the_time_of_its_last_event() {
        let mut clock = LamportClock::new();
        assert_eq!(clock.time(), 0);
        clock.tick();
        clock.tick();
        assert_eq!(clock.time(), 2);
        assert_eq!(LamportClock::at(41).time(), 41);
        assert_eq!(
            LamportClock::at(41).timestamp(NodeId(3)),
            LamportTimestamp {
                time: 41,
                node: NodeId(3)
            }
        );
    }

    #[test]
    fn clock_condition_catches_a_receive_not_above_its_send() {
        let trace = crate::vector::tests::two_node_trace();
        let good = [
            stamp(0, 0, 1),
            stamp(1, 0, 2),
            stamp(2, 1, 1),
            stamp(3, 1, 3),
        ];
        assert_eq!(clock_condition(&trace, &good), Ok(()));
        // Concurrent events may have any order: index 2 (L=1) ‖ index 1 (L=2).
        let bad = [
            stamp(0, 0, 1),
            stamp(1, 0, 2),
            stamp(2, 1, 1),
            stamp(3, 1, 2),
        ];
        let err = clock_condition(&trace, &bad).unwrap_err();
        assert!(
            err.contains(
                "n0's event at 1ns (trace event 1) happened before n1's event at 5ns (trace event 3)"
            ),
            "{err}"
        );
    }

    #[test]
    fn total_order_catches_shared_and_foreign_timestamps() {
        assert_eq!(total_order(&[stamp(0, 0, 1), stamp(2, 1, 1)]), Ok(()));
        let err = total_order(&[stamp(0, 0, 1), stamp(1, 0, 1)]).unwrap_err();
        assert!(err.contains("share the timestamp 1.n0"), "{err}");
        let mut foreign = stamp(3, 1, 4);
        foreign.timestamp.node = NodeId(0);
        assert!(total_order(&[foreign]).unwrap_err().contains("n0's id"));
    }

    /// A broken Lamport clock: merge takes the max but forgets the `+ 1`.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
    struct NoIncrementOnMerge(LamportClock);

    impl LogicalClock for NoIncrementOnMerge {
        type Timestamp = LamportTimestamp;
        fn tick(&mut self, me: NodeId) -> LamportTimestamp {
            LogicalClock::tick(&mut self.0, me)
        }
        fn receive(&mut self, me: NodeId, stamp: &LamportTimestamp) -> Result<LamportTimestamp> {
            self.0 = LamportClock::at(self.0.time().max(stamp.time));
            Ok(self.0.timestamp(me))
        }
    }

    fn run<C: LogicalClock<Timestamp = LamportTimestamp> + Default>(
        seed: u64,
    ) -> Simulation<Stamped<Chatter, C>> {
        let mut sim = Simulation::new(3, seed, |_| {
            Stamped::new(Chatter::new(ChatterConfig::default()), C::default())
        });
        sim.enable_trace();
        sim.run_until(CHATTER_SPAN).unwrap();
        sim
    }

    #[test]
    fn the_model_checker_catches_a_merge_without_increment_and_a_restart() {
        // n1's receive takes n0's time without passing it: both are 1.
        let report = model_of(2, NoIncrementOnMerge::default()).check();
        assert_eq!(
            report.counterexample(),
            Some((
                "clock-condition",
                &[
                    "n0 is asked Send { to: n1, label: \"n0.1\" }".to_string(),
                    "n1 delivers StampedMsg { stamp: LamportTimestamp { time: 1, node: n0 }, msg: Chat { label: \"n0.1\" } } from n0".to_string(),
                ][..]
            )),
            "{report}"
        );
        // A restarted node's clock starts from zero again, and stamps its
        // next event as it stamped its first.
        let report = model(2).crashes_max(1).check();
        let (property, path) = report.counterexample().expect("a violation");
        assert_eq!(property, "clock-condition", "{report}");
        assert_eq!(
            path,
            [
                "n0 is asked Send { to: n1, label: \"n0.1\" }",
                "n0 crashes",
                "n0 restarts",
                "n0 is asked Local { label: \"n0.2\" }"
            ],
            "{report}"
        );
    }

    #[test]
    fn the_properties_hold_over_many_seeds() {
        dsys_core::testing::check_seeds(0..20, |seed| {
            let sim = run::<LamportClock>(seed);
            let stamps = traced_stamps(&sim)?;
            assert!(
                stamps.len() > 100,
                "a real workload: {} events",
                stamps.len()
            );
            clock_condition(sim.trace().unwrap(), &stamps)?;
            total_order(&stamps)
        });
    }

    #[test]
    fn a_clock_that_forgets_the_increment_is_caught() {
        let sim = run::<NoIncrementOnMerge>(1);
        let stamps = traced_stamps(&sim).unwrap();
        let err = clock_condition(sim.trace().unwrap(), &stamps).unwrap_err();
        assert!(err.contains("is not below"), "{err}");
    }

    #[test]
    fn the_scenario_passes_and_a_restart_without_stable_storage_is_caught() {
        let options = SimOptions {
            nodes: 4,
            seed: 3,
            loss: 0.1,
            duplicate: 0.1,
            reorder: true,
            ..SimOptions::default()
        };
        let outcome = (ALGORITHM.run)(&options).unwrap();
        assert!(outcome.report.passed(), "{}", outcome.report);
        assert!(outcome.trace.is_some());
        // n1 restarts at 1 s with a fresh clock: its new events are stamped
        // below its own earlier ones.
        let options = SimOptions {
            crashes: vec!["1@1000".parse().unwrap()],
            restarts: vec!["1@1100".parse().unwrap()],
            ..options
        };
        let outcome = (ALGORITHM.run)(&options).unwrap();
        assert!(!outcome.report.passed(), "{}", outcome.report);
        assert!(outcome.report.to_string().contains("stable storage"));
    }
}
