//! Measuring a synchronised group: the **maximum pairwise skew** (internal
//! synchronisation) and the **maximum error against true time** (external
//! synchronisation), over a run — and the checkers built on them.
//!
//! # Internal and external synchronisation
//!
//! Let `t` be true time (in the simulator: virtual time) and `Cᵢ(t)` the
//! synchronised clock of node `i`. For a bound `D > 0`:
//!
//! - **external** synchronisation: `|Cᵢ(t) − t| < D` for every `i` — every
//!   clock is accurate against an authoritative source (UTC; here, virtual
//!   time). Cristian's algorithm and NTP do this: they track a reference.
//! - **internal** synchronisation: `|Cᵢ(t) − Cⱼ(t)| < D` for every `i, j` —
//!   the clocks agree with each other, whatever the true time is. The
//!   Berkeley algorithm does this: the group agrees, and drifts from true
//!   time as a whole.
//!
//! External within `D` implies internal within `2D`; the converse does not
//! hold.
//!
//! # How a run is measured
//!
//! Every synchronising node in this crate emits a [`SyncEvent`]: a
//! [`SyncEvent::Reading`] of its synchronised clock every `sample_interval`,
//! and a [`SyncEvent::Adjusted`] (reading before and after, and the error
//! bound the node claims) at every correction. The simulator stamps each
//! with the true time ([`Emitted::time`]) and the hardware reading
//! ([`Emitted::local_time`]). Between two of its events a node's clock runs
//! at its (constant) hardware rate, so a [`ClockTrack`] rebuilds each clock
//! as a piecewise-linear function of true time, exactly (up to slews, which
//! bend it slightly between samples). Skew is the largest difference
//! between two tracks at any instant; because the tracks are piecewise
//! linear, its maximum is reached at one of their break points, which is
//! where [`measure`] evaluates it.
//!
//! # Properties and their checkers
//!
//! | property | algorithms | checker | source |
//! |---|---|---|---|
//! | accuracy: `\|C − t\|` within the bound claimed at the last adjustment, plus `drift_max_ppm × elapsed` | Cristian, NTP | [`check_external`] | Cristian 1989 §3; RFC 5905 §8 |
//! | agreement: pairwise skew within `D` | Berkeley | [`check_skew`], [`berkeley::agreement`] | Gusella & Zatti 1989; Coulouris §14.3.3 |
//! | validity: the group stays within `D` of the correct hardware clocks | Berkeley | [`berkeley::validity`] | Coulouris §14.3.3 (fault-tolerant average) |
//! | strata: each node one stratum below its server | NTP | [`ntp::strata`] | RFC 5905 §3 |
//! | liveness: every node synchronises | all | [`check_synchronised`] | — |
//!
//! [`berkeley::agreement`]: crate::berkeley::agreement
//! [`berkeley::validity`]: crate::berkeley::validity
//! [`ntp::strata`]: crate::ntp::strata
//!
//! ```
//! use std::time::Duration;
//! use dsys_clocks::cristian::{Cristian, CristianConfig};
//! use dsys_clocks::sync::{self, DriftingClocks};
//! use dsys_core::sim::Simulation;
//! use dsys_core::NodeId;
//!
//! let config = CristianConfig::default();
//! let mut sim = Simulation::new(4, 3, move |id| Cristian::new(id, config).unwrap());
//! let clocks = DriftingClocks::default().clocks(3, 4);
//! for (id, clock) in sim.ids().collect::<Vec<_>>().into_iter().zip(clocks).skip(1) {
//!     sim.set_clock(id, clock).unwrap(); // n0, the server, keeps a perfect clock
//! }
//! sim.run_until(Duration::from_secs(2)).unwrap();
//!
//! let nodes: Vec<NodeId> = sim.ids().collect();
//! let converged = sync::converged_at(&sim, &nodes).unwrap();
//! let measures = sync::measure(&sim, &nodes, converged);
//! println!("{measures}");
//! assert!(measures.error_max < Duration::from_millis(10));
//! sync::check_external(&sim, &nodes, config.drift_max_ppm).unwrap();
//! ```

use std::fmt;
use std::time::Duration;

use dsys_core::scenario::{run_scenario_with, Outcome, Property, SimOptions, Verdict};
use dsys_core::sim::{ClockConfig, Emitted, Simulation};
use dsys_core::{Context, Node, NodeId};
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::software_clock::{drift_over, to_ns, SoftwareClock};

/// What the checkers allow for integer rounding in the algorithms'
/// arithmetic (halving round trips, ppm products): one microsecond.
pub const SLACK: Duration = Duration::from_micros(1);

/// What a synchronising node tells its application — and the checkers —
/// about its synchronised clock.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SyncEvent {
    /// A periodic reading of the synchronised clock.
    Reading {
        /// The synchronised clock.
        clock: Duration,
    },
    /// The synchronised clock was corrected (stepped, or a slew begun).
    Adjusted {
        /// The reading just before the correction.
        before: Duration,
        /// The reading just after it (equal to `before` when slewing).
        after: Duration,
        /// The error bound the node claims from now on, before its hardware
        /// drifts again.
        bound: ErrorBound,
    },
}

/// The error a node claims for its synchronised clock right after an
/// adjustment. Between adjustments the claim grows with the hardware's
/// drift (`drift_max_ppm × elapsed`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorBound {
    /// `|clock − true time| ≤` this (external synchronisation: Cristian, NTP).
    External(Duration),
    /// `|clock − the group's reference clock| ≤` this (internal
    /// synchronisation: Berkeley, against the master's clock).
    Internal(Duration),
}

impl ErrorBound {
    /// The bound, whichever kind.
    pub fn value(&self) -> Duration {
        match *self {
            ErrorBound::External(d) | ErrorBound::Internal(d) => d,
        }
    }
}

/// Skewed, drifting hardware clocks derived from a seed, for scenarios:
/// each node's clock starts `0..=offset_max` ahead of true time and drifts
/// by `-drift_max_ppm..=drift_max_ppm`.
///
/// Offsets are never negative because a simulated clock cannot read below
/// zero: a clock that started behind would stand still at zero until true
/// time caught up — a stopped clock, not a skewed one.
///
/// ```
/// use dsys_clocks::sync::DriftingClocks;
///
/// let clocks = DriftingClocks::default().clocks(7, 3);
/// assert_eq!(clocks.len(), 3);
/// assert_eq!(clocks, DriftingClocks::default().clocks(7, 3)); // a function of the seed
/// assert!(clocks.iter().all(|c| c.drift_ppm.abs() <= 500.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DriftingClocks {
    /// The largest initial offset.
    pub offset_max: Duration,
    /// The largest drift either way, in parts per million.
    pub drift_max_ppm: u32,
}

impl Default for DriftingClocks {
    /// Up to 100 ms ahead, drifting up to ±500 ppm (0.5 ms per second: a
    /// poor quartz exaggerated tenfold, so drift shows within seconds).
    fn default() -> Self {
        DriftingClocks {
            offset_max: Duration::from_millis(100),
            drift_max_ppm: 500,
        }
    }
}

impl DriftingClocks {
    /// The clocks of `nodes` nodes for `seed`.
    pub fn clocks(&self, seed: u64, nodes: usize) -> Vec<ClockConfig> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0xC10C_5EED_D21F_7A11);
        let offset_max_ns = to_ns(self.offset_max).max(0);
        let drift = i64::from(self.drift_max_ppm);
        (0..nodes)
            .map(|_| ClockConfig {
                offset_ns: rng.random_range(0..=offset_max_ns),
                // Whole ppm tenths: readable in a table, and exact in f64.
                drift_ppm: rng.random_range(-drift * 10..=drift * 10) as f64 / 10.0,
            })
            .collect()
    }
}

/// One break point of a [`ClockTrack`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TrackPoint {
    /// True (virtual) time.
    pub time: Duration,
    /// The synchronised clock, in nanoseconds (signed).
    pub clock_ns: i64,
    /// The hardware clock.
    pub hardware: Duration,
    /// The node's incarnation: the track is broken between incarnations.
    pub incarnation: u64,
}

/// A node's synchronised clock as a function of true time, rebuilt from the
/// [`SyncEvent`]s it emitted: linear between consecutive events of one
/// incarnation, with a jump at each step.
///
/// ```
/// use std::time::Duration;
/// use dsys_clocks::sync::{ClockTrack, ErrorBound, SyncEvent};
/// use dsys_core::sim::Emitted;
///
/// let ms = Duration::from_millis;
/// let at = |t, local_time, event| Emitted { time: ms(t), local_time: ms(local_time), incarnation: 0, trace_index: None, event };
/// let track = ClockTrack::new(&[
///     at(0, 50, SyncEvent::Reading { clock: ms(50) }),
///     at(10, 60, SyncEvent::Adjusted { before: ms(60), after: ms(10), bound: ErrorBound::External(ms(1)) }),
///     at(20, 70, SyncEvent::Reading { clock: ms(20) }),
/// ]);
/// assert_eq!(track.clock_at(ms(5)), Some(55_000_000));
/// assert_eq!(track.clock_at(ms(10)), Some(10_000_000)); // after the step
/// assert_eq!(track.clock_just_before(ms(10)), Some(60_000_000));
/// assert_eq!(track.clock_at(ms(30)), None); // no events after 20 ms
/// assert_eq!(track.first_adjustment(), Some(ms(10)));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClockTrack {
    points: Vec<TrackPoint>,
    first_adjustment: Option<Duration>,
}

impl ClockTrack {
    /// The track of a node's events (in the order it emitted them).
    pub fn new(events: &[Emitted<SyncEvent>]) -> Self {
        let mut track = ClockTrack::default();
        for e in events {
            let mut push = |clock: Duration| {
                track.points.push(TrackPoint {
                    time: e.time,
                    clock_ns: to_ns(clock),
                    hardware: e.local_time,
                    incarnation: e.incarnation,
                })
            };
            match e.event {
                SyncEvent::Reading { clock } => push(clock),
                SyncEvent::Adjusted { before, after, .. } => {
                    push(before);
                    push(after);
                    track.first_adjustment.get_or_insert(e.time);
                }
            }
        }
        track
    }

    /// The break points, in time order.
    pub fn points(&self) -> &[TrackPoint] {
        &self.points
    }

    /// When the node first adjusted its clock, if it did.
    pub fn first_adjustment(&self) -> Option<Duration> {
        self.first_adjustment
    }

    /// The clock at true time `t` (after any step at `t`), in nanoseconds;
    /// `None` outside the track (before the first event, after the last,
    /// between incarnations).
    pub fn clock_at(&self, t: Duration) -> Option<i64> {
        self.value_at(t, false, |p| p.clock_ns)
    }

    /// The clock just before true time `t` (before any step at `t`).
    pub fn clock_just_before(&self, t: Duration) -> Option<i64> {
        self.value_at(t, true, |p| p.clock_ns)
    }

    /// The hardware clock at true time `t`, in nanoseconds.
    pub fn hardware_at(&self, t: Duration) -> Option<i64> {
        self.value_at(t, false, |p| to_ns(p.hardware))
    }

    fn value_at(&self, t: Duration, left: bool, value: impl Fn(&TrackPoint) -> i64) -> Option<i64> {
        let points = &self.points;
        let first_at_or_after = points.partition_point(|p| p.time < t);
        if points.get(first_at_or_after).is_some_and(|p| p.time == t) {
            let index = if left {
                first_at_or_after
            } else {
                points.partition_point(|p| p.time <= t) - 1
            };
            return Some(value(&points[index]));
        }
        if first_at_or_after == 0 || first_at_or_after == points.len() {
            return None;
        }
        let (p, q) = (&points[first_at_or_after - 1], &points[first_at_or_after]);
        if p.incarnation != q.incarnation {
            return None;
        }
        let span = (q.time - p.time).as_nanos() as i128;
        let into = (t - p.time).as_nanos() as i128;
        let (a, b) = (i128::from(value(p)), i128::from(value(q)));
        Some((a + (b - a) * into / span) as i64)
    }
}

/// The tracks of `nodes` in a simulation.
pub fn tracks<N: Node<Event = SyncEvent>>(
    sim: &Simulation<N>,
    nodes: &[NodeId],
) -> Vec<(NodeId, ClockTrack)> {
    nodes
        .iter()
        .map(|&id| (id, ClockTrack::new(sim.events(id))))
        .collect()
}

/// What [`measure`] found over a window of true time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SyncMeasures {
    /// Start of the window.
    pub from: Duration,
    /// End of the window.
    pub until: Duration,
    /// The largest difference between two nodes' clocks (internal).
    pub skew_max: Duration,
    /// When it was reached.
    pub skew_max_at: Duration,
    /// The largest `|clock − true time|` of any node (external).
    pub error_max: Duration,
    /// When it was reached.
    pub error_max_at: Duration,
    /// Which node had it.
    pub error_max_node: Option<NodeId>,
    /// How many instants were judged (0: no node had events in the window).
    pub instants: usize,
}

impl fmt::Display for SyncMeasures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "from {:?} to {:?}: max skew {:?} (at {:?}), max error vs true time {:?}",
            self.from, self.until, self.skew_max, self.skew_max_at, self.error_max
        )?;
        if let Some(node) = self.error_max_node {
            write!(f, " ({node} at {:?})", self.error_max_at)?;
        }
        Ok(())
    }
}

/// Maximum skew and maximum error of `nodes` from true time `from` to the
/// end of the run.
pub fn measure<N: Node<Event = SyncEvent>>(
    sim: &Simulation<N>,
    nodes: &[NodeId],
    from: Duration,
) -> SyncMeasures {
    measure_tracks(&tracks(sim, nodes), from, sim.now())
}

/// [`measure`] over tracks built by hand, in the window `from..=until`.
pub fn measure_tracks(
    tracks: &[(NodeId, ClockTrack)],
    from: Duration,
    until: Duration,
) -> SyncMeasures {
    let mut m = SyncMeasures {
        from,
        until,
        skew_max: Duration::ZERO,
        skew_max_at: from,
        error_max: Duration::ZERO,
        error_max_at: from,
        error_max_node: None,
        instants: 0,
    };
    for_each_skew(tracks, from, until, |t, skew, _, _| {
        m.instants += 1;
        if skew > m.skew_max {
            m.skew_max = skew;
            m.skew_max_at = t;
        }
    });
    for (id, track) in tracks {
        let edges = [from, until]
            .into_iter()
            .filter_map(|t| track.clock_at(t).map(|c| (t, c)));
        let inside = track
            .points()
            .iter()
            // At `from` itself only the value after any step counts (an edge).
            .filter(|p| p.time > from && p.time <= until)
            .map(|p| (p.time, p.clock_ns));
        for (t, clock_ns) in edges.chain(inside) {
            let error = Duration::from_nanos(clock_ns.abs_diff(to_ns(t)));
            if error > m.error_max || m.error_max_node.is_none() {
                m.error_max = m.error_max.max(error);
                m.error_max_at = t;
                m.error_max_node = Some(*id);
            }
        }
    }
    m
}

/// The measures in consecutive windows of `bucket` from time 0 to the end
/// of the run: how skew and error evolve.
pub fn timeline<N: Node<Event = SyncEvent>>(
    sim: &Simulation<N>,
    nodes: &[NodeId],
    bucket: Duration,
) -> Vec<SyncMeasures> {
    assert!(
        !bucket.is_zero(),
        "timeline buckets must be longer than zero"
    );
    let tracks = tracks(sim, nodes);
    let mut windows = Vec::new();
    let mut from = Duration::ZERO;
    while from < sim.now() {
        let until = (from + bucket).min(sim.now());
        windows.push(measure_tracks(&tracks, from, until));
        from = until;
    }
    windows
}

/// Calls `f(t, skew, highest node, lowest node)` at every instant of
/// `from..=until` where the skew may peak: every break point of every track
/// (just before and just after it) and the window's ends.
fn for_each_skew(
    tracks: &[(NodeId, ClockTrack)],
    from: Duration,
    until: Duration,
    mut f: impl FnMut(Duration, Duration, NodeId, NodeId),
) {
    let mut instants: Vec<Duration> = tracks
        .iter()
        .flat_map(|(_, track)| track.points().iter().map(|p| p.time))
        .filter(|&t| t >= from && t <= until)
        .chain([from, until])
        .collect();
    instants.sort_unstable();
    instants.dedup();
    for t in instants {
        for left in [true, false] {
            if left && t == from {
                continue;
            }
            let mut high: Option<(i64, NodeId)> = None;
            let mut low: Option<(i64, NodeId)> = None;
            for (id, track) in tracks {
                let value = if left {
                    track.clock_just_before(t)
                } else {
                    track.clock_at(t)
                };
                if let Some(v) = value {
                    if high.is_none_or(|(h, _)| v > h) {
                        high = Some((v, *id));
                    }
                    if low.is_none_or(|(l, _)| v < l) {
                        low = Some((v, *id));
                    }
                }
            }
            if let (Some((h, hi)), Some((l, lo))) = (high, low)
                && hi != lo
            {
                f(t, Duration::from_nanos(h.abs_diff(l)), hi, lo);
            }
        }
    }
}

/// When every node in `nodes` had adjusted its clock at least once (the
/// latest first adjustment), or `None` if one never did.
pub fn converged_at<N: Node<Event = SyncEvent>>(
    sim: &Simulation<N>,
    nodes: &[NodeId],
) -> Option<Duration> {
    nodes.iter().try_fold(Duration::ZERO, |latest, &id| {
        ClockTrack::new(sim.events(id))
            .first_adjustment()
            .map(|t| latest.max(t))
    })
}

/// A report's line for a synchronisation run: from when every node of
/// `nodes` that ever adjusted its clock had done so, the largest skew
/// between them (beside the bound D, when the algorithm promises one) and
/// the largest error against true time.
pub fn story<N: Node<Event = SyncEvent>>(
    sim: &Simulation<N>,
    nodes: &[NodeId],
    bound: Option<Duration>,
) -> String {
    let adjusted: Vec<NodeId> = nodes
        .iter()
        .copied()
        .filter(|&id| ClockTrack::new(sim.events(id)).first_adjustment().is_some())
        .collect();
    let Some(from) = converged_at(sim, &adjusted).filter(|_| !adjusted.is_empty()) else {
        return "no clock was adjusted".into();
    };
    let m = measure(sim, &adjusted, from);
    let ms = |t: Duration| format!("{:.3} ms", t.as_secs_f64() * 1000.0);
    let bound = bound.map_or(String::new(), |b| format!(" (bound D = {})", ms(b)));
    let worst = m
        .error_max_node
        .map_or(String::new(), |n| format!(" ({n})"));
    format!(
        "{} of {} clocks adjusted by {}; since then max skew {}{bound}, max error {}{worst}",
        adjusted.len(),
        nodes.len(),
        ms(from),
        ms(m.skew_max),
        ms(m.error_max)
    )
}

/// Liveness: every node in `nodes` adjusted its clock at least once.
pub fn check_synchronised<N: Node<Event = SyncEvent>>(
    sim: &Simulation<N>,
    nodes: &[NodeId],
) -> Result<(), String> {
    for &id in nodes {
        if ClockTrack::new(sim.events(id)).first_adjustment().is_none() {
            return Err(format!(
                "{id} never adjusted its clock in {:?} of virtual time",
                sim.now()
            ));
        }
    }
    Ok(())
}

/// External accuracy, judged per node: from a node's first adjustment
/// claiming an [`ErrorBound::External`] bound `b` at true time `tₐ`, every
/// reading `C` at true time `t` (until the next adjustment, or the next
/// incarnation) satisfies
///
/// ```text
/// |C − t| ≤ b + drift_max_ppm × (t − tₐ) + SLACK
/// ```
///
/// The node's clock runs at its hardware's rate between adjustments, so its
/// error can only grow by the drift. Readings before the first claim are
/// not judged (the clock has not been synchronised yet).
pub fn check_external<N: Node<Event = SyncEvent>>(
    sim: &Simulation<N>,
    nodes: &[NodeId],
    drift_max_ppm: u32,
) -> Result<(), String> {
    nodes
        .iter()
        .try_for_each(|&id| check_external_events(id, sim.events(id), drift_max_ppm))
}

/// [`check_external`] for one node's events.
pub fn check_external_events(
    node: NodeId,
    events: &[Emitted<SyncEvent>],
    drift_max_ppm: u32,
) -> Result<(), String> {
    // The claim in force: (bound, when it was made, incarnation).
    let mut claim: Option<(Duration, Duration, u64)> = None;
    let judge = |claim: Option<(Duration, Duration, u64)>, t: Duration, clock: Duration| {
        let Some((bound, since, _)) = claim else {
            return Ok(());
        };
        let allowed = bound + drift_over(t - since, drift_max_ppm) + SLACK;
        let error = clock.abs_diff(t);
        if error > allowed {
            let sign = if clock >= t { "+" } else { "-" };
            Err(format!(
                "{node} reads {clock:?} at true time {t:?}: error {sign}{error:?} exceeds its bound {allowed:?} \
                 (claimed {bound:?} at {since:?}, plus drift since)"
            ))
        } else {
            Ok(())
        }
    };
    for e in events {
        if claim.is_some_and(|(_, _, incarnation)| incarnation != e.incarnation) {
            claim = None;
        }
        match e.event {
            SyncEvent::Reading { clock } => judge(claim, e.time, clock)?,
            SyncEvent::Adjusted {
                before,
                after,
                bound,
            } => {
                judge(claim, e.time, before)?;
                if let ErrorBound::External(b) = bound {
                    claim = Some((b, e.time, e.incarnation));
                }
                judge(claim, e.time, after)?;
            }
        }
    }
    Ok(())
}

/// Internal synchronisation: from true time `from` on, no two of `nodes`
/// differ by more than `bound` (at any instant where both have a track).
pub fn check_skew<N: Node<Event = SyncEvent>>(
    sim: &Simulation<N>,
    nodes: &[NodeId],
    bound: Duration,
    from: Duration,
) -> Result<(), String> {
    let mut first_violation = None;
    for_each_skew(&tracks(sim, nodes), from, sim.now(), |t, skew, hi, lo| {
        if skew > bound && first_violation.is_none() {
            first_violation = Some(format!(
                "at true time {t:?} {hi} is {skew:?} ahead of {lo}, more than the bound D = {bound:?}"
            ));
        }
    });
    first_violation.map_or(Ok(()), Err)
}

/// Arms `timer` for the node's next clock reading, `interval` from now,
/// when readings are asked for (`interval` is `Some`): what Cristian,
/// Berkeley and NTP do at start and after each reading.
pub(crate) fn sample_later<N: Node>(
    ctx: &mut Context<'_, N>,
    interval: Option<Duration>,
    timer: N::Timer,
) {
    if let Some(interval) = interval {
        ctx.set_timer(interval, timer);
    }
}

/// A sampling timer fired: emits a [`SyncEvent::Reading`] of `clock` now,
/// for the tracks, and arms the next reading.
pub(crate) fn sample<N: Node<Event = SyncEvent>>(
    ctx: &mut Context<'_, N>,
    clock: &SoftwareClock,
    interval: Option<Duration>,
    timer: N::Timer,
) {
    ctx.emit(SyncEvent::Reading {
        clock: clock.read(ctx.now()),
    });
    sample_later(ctx, interval, timer);
}

/// Applies a correction of `delta_ns` to `clock` at hardware time `now` and
/// returns the event that reports it, with `bound` widened by whatever is
/// still being slewed (the clock is not there yet), and that widened bound.
/// One place for what Cristian, Berkeley and NTP each do after measuring.
pub(crate) fn correct(
    clock: &mut SoftwareClock,
    now: Duration,
    delta_ns: i64,
    bound: Duration,
    kind: fn(Duration) -> ErrorBound,
) -> (SyncEvent, Duration) {
    let before = clock.read(now);
    clock.adjust(now, delta_ns);
    let bound = bound + Duration::from_nanos(clock.slew_remaining_ns(now).unsigned_abs());
    let event = SyncEvent::Adjusted {
        before,
        after: clock.read(now),
        bound: kind(bound),
    };
    (event, bound)
}

/// Runs a scenario whose nodes have the given hardware clocks:
/// [`dsys_core::scenario::run_scenario_with`] with [`Simulation::set_clock`]
/// for each node before the run.
pub(crate) fn run_with_clocks<N: Node + std::fmt::Debug>(
    algorithm: &str,
    options: &SimOptions,
    clocks: &[ClockConfig],
    factory: impl FnMut(NodeId) -> N + 'static,
    properties: &[Property<N>],
) -> dsys_core::Result<Outcome> {
    run_scenario_with(algorithm, options, factory, properties, |sim| {
        for (i, &clock) in clocks.iter().enumerate().take(options.nodes) {
            sim.set_clock(NodeId(i as u32), clock)?;
        }
        Ok(())
    })
}

/// Whether a run injects faults that break the assumptions of the
/// liveness and internal-skew properties (lost messages, partitions,
/// crashes): those are skipped, with this reason.
pub(crate) fn unreliable(options: &SimOptions) -> Option<Verdict> {
    (options.loss > 0.0
        || !options.partitions.is_empty()
        || !options.crashes.is_empty()
        || !options.restarts.is_empty())
    .then(|| {
        Verdict::Skipped(
            "needs a network that loses nothing and nodes that do not crash".to_string(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn at(t: u64, local: u64, incarnation: u64, event: SyncEvent) -> Emitted<SyncEvent> {
        Emitted {
            time: MS(t),
            local_time: MS(local),
            incarnation,
            trace_index: None,
            event,
        }
    }

    fn reading(clock: u64) -> SyncEvent {
        SyncEvent::Reading { clock: MS(clock) }
    }

    #[test]
    fn skew_peaks_are_found_between_samples_of_other_nodes() {
        // n0 is exact; n1 gains 1 ms per 10 ms and is stepped back at 20 ms.
        let n0 = ClockTrack::new(&[at(0, 0, 0, reading(0)), at(40, 40, 0, reading(40))]);
        let n1 = ClockTrack::new(&[
            at(0, 0, 0, reading(0)),
            at(
                20,
                22,
                0,
                SyncEvent::Adjusted {
                    before: MS(22),
                    after: MS(20),
                    bound: ErrorBound::External(MS(1)),
                },
            ),
            at(40, 42, 0, reading(42)),
        ]);
        let tracks = vec![(NodeId(0), n0), (NodeId(1), n1)];
        let m = measure_tracks(&tracks, MS(0), MS(40));
        assert_eq!(m.skew_max, MS(2));
        assert_eq!(m.skew_max_at, MS(20)); // just before the step
        assert_eq!(m.error_max, MS(2));
        assert_eq!(m.error_max_node, Some(NodeId(1)));
        let m = measure_tracks(&tracks, MS(21), MS(30));
        assert_eq!(m.skew_max, Duration::from_micros(1000));
    }

    #[test]
    fn tracks_break_between_incarnations() {
        let track = ClockTrack::new(&[at(0, 0, 0, reading(0)), at(10, 10, 1, reading(99))]);
        assert_eq!(track.clock_at(MS(5)), None);
        assert_eq!(track.clock_at(MS(10)), Some(99_000_000));
    }

    #[test]
    fn external_checker_grows_the_claim_with_drift_and_resets_on_restart() {
        let adjusted = |clock, bound| SyncEvent::Adjusted {
            before: MS(clock),
            after: MS(clock),
            bound: ErrorBound::External(MS(bound)),
        };
        let ok = [
            at(0, 0, 0, reading(500)), // not yet synchronised: not judged
            at(100, 0, 0, adjusted(101, 1)),
            // 1 s later at 1000 ppm: 1 ms of drift allowed on top of 1 ms.
            at(1100, 0, 0, reading(1102)),
            at(1200, 0, 1, reading(9000)), // restarted: not judged again
        ];
        assert_eq!(check_external_events(NodeId(3), &ok, 1000), Ok(()));
        let bad = [
            at(100, 0, 0, adjusted(101, 1)),
            at(1100, 0, 0, reading(1103)),
        ];
        let why = check_external_events(NodeId(3), &bad, 1000).unwrap_err();
        assert!(why.contains("n3 reads 1.103s at true time 1.1s"), "{why}");
    }

    #[test]
    fn an_error_bound_has_one_value_whichever_its_kind() {
        assert_eq!(ErrorBound::External(MS(3)).value(), MS(3));
        assert_eq!(ErrorBound::Internal(MS(4)).value(), MS(4));
    }

    #[test]
    fn drifting_clocks_fill_both_ranges_and_differ_from_seed_to_seed() {
        let clocks = DriftingClocks::default().clocks(3, 200);
        assert_eq!(clocks.len(), 200);
        assert!(clocks
            .iter()
            .all(|c| (0..=100_000_000).contains(&c.offset_ns) && c.drift_ppm.abs() <= 500.0));
        // Near both ends of the drift range, and of the offset range.
        assert!(clocks.iter().any(|c| c.drift_ppm > 450.0));
        assert!(clocks.iter().any(|c| c.drift_ppm < -450.0));
        assert!(clocks.iter().any(|c| c.offset_ns > 90_000_000));
        // No two of the first seeds give the same clock.
        let firsts: Vec<ClockConfig> = (0..8)
            .map(|seed| DriftingClocks::default().clocks(seed, 1)[0])
            .collect();
        for (i, a) in firsts.iter().enumerate() {
            assert!(firsts[i + 1..].iter().all(|b| b != a), "seed {i}: {a:?}");
        }
    }

    /// No messages: a [`Scripted`] node only emits.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    struct Silence;

    impl dsys_core::Message for Silence {}

    /// A node that emits its script's events at the given local times (in
    /// ms), and nothing else: a run whose tracks are known exactly.
    #[derive(Clone, Debug)]
    struct Scripted(Vec<(u64, SyncEvent)>);

    impl Node for Scripted {
        type Msg = Silence;
        type Timer = usize;
        type Request = ();
        type Event = SyncEvent;

        fn on_start(&mut self, ctx: &mut dsys_core::Context<'_, Self>) {
            for (i, (at, _)) in self.0.iter().enumerate() {
                ctx.set_timer(MS(*at), i);
            }
        }

        fn on_message(&mut self, _: &mut dsys_core::Context<'_, Self>, _: NodeId, _: Silence) {}

        fn on_timer(&mut self, ctx: &mut dsys_core::Context<'_, Self>, i: usize) {
            ctx.emit(self.0[i].1.clone());
        }
    }

    /// Perfect clocks, run to 60 ms: n0 is adjusted at 10 ms and reads
    /// true time; n1 is stepped 4 ms ahead at 20 ms; n2 is never adjusted.
    fn scripted_run() -> Simulation<Scripted> {
        let adjusted = |before, after| SyncEvent::Adjusted {
            before: MS(before),
            after: MS(after),
            bound: ErrorBound::External(MS(1)),
        };
        let scripts = [
            vec![(10, adjusted(10, 10)), (30, reading(30)), (50, reading(50))],
            vec![(20, adjusted(20, 24)), (40, reading(44)), (50, reading(54))],
            vec![(10, reading(10)), (50, reading(50))],
        ];
        let mut sim = Simulation::new(3, 0, move |id| Scripted(scripts[id.index()].clone()));
        sim.run_until(MS(60)).unwrap();
        sim
    }

    #[test]
    fn a_run_is_measured_from_its_tracks_and_told_in_one_line() {
        let sim = scripted_run();
        let (n0, n1, n2) = (NodeId(0), NodeId(1), NodeId(2));
        assert_eq!(converged_at(&sim, &[n0, n1]), Some(MS(20)));
        assert_eq!(converged_at(&sim, &[n0, n1, n2]), None);
        let m = measure(&sim, &[n0, n1], MS(20));
        assert_eq!(
            m.to_string(),
            "from 20ms to 60ms: max skew 4ms (at 20ms), max error vs true time 4ms (n1 at 20ms)"
        );
        assert_eq!(
            story(&sim, &[n0, n1, n2], Some(MS(2))),
            "2 of 3 clocks adjusted by 20.000 ms; since then max skew 4.000 ms \
             (bound D = 2.000 ms), max error 4.000 ms (n1)"
        );
        assert_eq!(story(&sim, &[n2], None), "no clock was adjusted");
        // No node: nothing judged, and no worst node to name.
        let none = measure(&sim, &[], MS(0));
        assert_eq!(none.instants, 0);
        assert_eq!(
            none.to_string(),
            "from 0ns to 60ms: max skew 0ns (at 0ns), max error vs true time 0ns"
        );
    }

    #[test]
    fn a_timeline_measures_consecutive_windows_to_the_end_of_the_run() {
        let sim = scripted_run();
        let windows: Vec<(Duration, Duration, Duration, Duration)> =
            timeline(&sim, &[NodeId(0), NodeId(1)], MS(25))
                .iter()
                .map(|m| (m.from, m.until, m.skew_max, m.skew_max_at))
                .collect();
        assert_eq!(
            windows,
            [
                (MS(0), MS(25), MS(4), MS(20)),
                (MS(25), MS(50), MS(4), MS(25)),
                (MS(50), MS(60), MS(4), MS(50)),
            ]
        );
    }

    #[test]
    fn the_checkers_name_the_first_skew_over_the_bound_and_a_node_never_adjusted() {
        let sim = scripted_run();
        let (n0, n1, n2) = (NodeId(0), NodeId(1), NodeId(2));
        assert_eq!(check_skew(&sim, &[n0, n1], MS(4), MS(0)), Ok(()));
        assert_eq!(
            check_skew(&sim, &[n0, n1], MS(3), MS(0)),
            Err("at true time 20ms n1 is 4ms ahead of n0, more than the bound D = 3ms".to_string())
        );
        assert_eq!(check_synchronised(&sim, &[n0, n1]), Ok(()));
        assert_eq!(
            check_synchronised(&sim, &[n0, n1, n2]),
            Err("n2 never adjusted its clock in 60ms of virtual time".to_string())
        );
        // n1 claimed 1 ms but is 4 ms ahead.
        assert_eq!(check_external(&sim, &[n0], 0), Ok(()));
        let why = check_external(&sim, &[n0, n1], 0).unwrap_err();
        assert!(
            why.starts_with("n1 reads 24ms at true time 20ms: error +4ms"),
            "{why}"
        );
    }

    #[test]
    fn each_fault_alone_makes_a_run_unreliable() {
        assert_eq!(unreliable(&SimOptions::default()), None);
        let skipped =
            |options: SimOptions| matches!(unreliable(&options), Some(Verdict::Skipped(_)));
        assert!(skipped(SimOptions {
            loss: 0.1,
            ..SimOptions::default()
        }));
        assert!(skipped(SimOptions {
            partitions: vec!["0|1,2@100".parse().unwrap()],
            ..SimOptions::default()
        }));
        assert!(skipped(SimOptions {
            crashes: vec!["1@100".parse().unwrap()],
            ..SimOptions::default()
        }));
        assert!(skipped(SimOptions {
            restarts: vec!["1@100".parse().unwrap()],
            ..SimOptions::default()
        }));
    }

    /// n0 reads 10 ms at 10 ms, is stepped back from 22 ms to 20 ms at
    /// 20 ms and reads 42 ms at 40 ms; its hardware reads 1 ms more than
    /// true time until 20 ms, and 4 ms more at 40 ms.
    fn stepped_track() -> ClockTrack {
        ClockTrack::new(&[
            at(10, 11, 0, reading(10)),
            at(
                20,
                21,
                0,
                SyncEvent::Adjusted {
                    before: MS(22),
                    after: MS(20),
                    bound: ErrorBound::External(MS(1)),
                },
            ),
            at(40, 44, 0, reading(42)),
        ])
    }

    #[test]
    fn a_window_judges_its_edges_and_the_points_inside_it_only() {
        let n0 = (NodeId(0), stepped_track());
        // n1 reads 1 ms behind true time throughout.
        let n1 = (
            NodeId(1),
            ClockTrack::new(&[at(1, 0, 0, reading(0)), at(61, 60, 0, reading(60))]),
        );
        // From the step on: the value before the step (2 ms off) is outside
        // the window. n0 is 1 ms off at 30 ms, as n1 is throughout: n0,
        // judged first, keeps the largest error.
        let m = measure_tracks(&[n0.clone(), n1.clone()], MS(20), MS(30));
        assert_eq!((m.error_max, m.error_max_at), (MS(1), MS(30)));
        assert_eq!(m.error_max_node, Some(NodeId(0)));
        // n0 reads 31 ms at 30 ms, n1 29 ms.
        assert_eq!((m.skew_max, m.skew_max_at), (MS(2), MS(30)));
        // 20 ms (after the step only: the window starts there), and 30 ms
        // (before and after).
        assert_eq!(m.instants, 3);
        // Up to the step: the value before it counts, and the one after.
        let m = measure_tracks(&[n0, n1], MS(12), MS(20));
        assert_eq!((m.error_max, m.error_max_at), (MS(2), MS(20)));
        assert_eq!(m.error_max_node, Some(NodeId(0)));
        // n0 reads 22 ms just before 20 ms, n1 19 ms.
        assert_eq!((m.skew_max, m.skew_max_at), (MS(3), MS(20)));
        // 12 ms, and 20 ms before and after the step.
        assert_eq!(m.instants, 3);
        // Errors equal to the largest so far do not move it: both nodes
        // are exact, so n0, judged first, keeps the error 0 at the start.
        let exact = || ClockTrack::new(&[at(0, 0, 0, reading(0)), at(60, 60, 0, reading(60))]);
        let m = measure_tracks(&[(NodeId(0), exact()), (NodeId(1), exact())], MS(5), MS(50));
        assert_eq!(m.error_max, Duration::ZERO);
        assert_eq!((m.error_max_at, m.error_max_node), (MS(5), Some(NodeId(0))));
    }

    #[test]
    fn skew_names_the_first_of_nodes_tied_highest_or_lowest() {
        let flat = |clock| {
            ClockTrack::new(&[
                at(0, 0, 0, reading(clock)),
                at(10, 10, 0, reading(clock + 10)),
            ])
        };
        let tracks = [
            (NodeId(0), flat(5)),
            (NodeId(1), flat(5)),
            (NodeId(2), flat(1)),
            (NodeId(3), flat(1)),
        ];
        let mut seen = Vec::new();
        for_each_skew(&tracks, MS(0), MS(10), |t, skew, hi, lo| {
            seen.push((t, skew, hi, lo))
        });
        let all = |t| (t, MS(4), NodeId(0), NodeId(2));
        // 0 ms (after only: the window starts there), 10 ms before and after.
        assert_eq!(seen, [all(MS(0)), all(MS(10)), all(MS(10))]);
    }

    #[test]
    fn the_external_claim_holds_up_to_its_bound_plus_drift_plus_slack_exactly() {
        let adjusted = SyncEvent::Adjusted {
            before: MS(100),
            after: MS(100),
            bound: ErrorBound::External(MS(1)),
        };
        let read = |clock: Duration| {
            [
                at(100, 0, 0, adjusted.clone()),
                at(1100, 0, 0, SyncEvent::Reading { clock }),
            ]
        };
        // 1 ms claimed, 1 ms of drift over 1 s at 1000 ppm, and 1 µs of slack.
        let allowed = MS(2) + SLACK;
        assert_eq!(
            check_external_events(NodeId(1), &read(MS(1100) + allowed), 1000),
            Ok(())
        );
        assert_eq!(
            check_external_events(NodeId(1), &read(MS(1100) - allowed), 1000),
            Ok(())
        );
        let nanosecond = Duration::from_nanos(1);
        let ahead = check_external_events(NodeId(1), &read(MS(1100) + allowed + nanosecond), 1000);
        assert_eq!(
            ahead,
            Err("n1 reads 1.102001001s at true time 1.1s: error +2.001001ms exceeds its bound 2.001ms \
                 (claimed 1ms at 100ms, plus drift since)"
                .to_string())
        );
        let behind = check_external_events(NodeId(1), &read(MS(1100) - allowed - nanosecond), 1000);
        assert_eq!(
            behind,
            Err("n1 reads 1.097998999s at true time 1.1s: error -2.001001ms exceeds its bound 2.001ms \
                 (claimed 1ms at 100ms, plus drift since)"
                .to_string())
        );
        // An internal bound is no claim against true time.
        let internal = [
            at(
                100,
                0,
                0,
                SyncEvent::Adjusted {
                    before: MS(100),
                    after: MS(100),
                    bound: ErrorBound::Internal(MS(1)),
                },
            ),
            at(1100, 0, 0, reading(2000)),
        ];
        assert_eq!(check_external_events(NodeId(1), &internal, 1000), Ok(()));
    }
}
