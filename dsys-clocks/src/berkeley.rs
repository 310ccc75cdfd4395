//! The Berkeley algorithm: internal synchronisation by a fault-tolerant
//! average.
//!
//! # The problem
//!
//! A group of machines has no reference clock, but needs the machines'
//! clocks to **agree** — to within a bound `D` of each other — for example
//! to compare file times or to expire leases. Nobody is right; agreeing is
//! enough (internal synchronisation).
//!
//! # The algorithm (one round, every `period`)
//!
//! 1. **Poll.** The **master** asks every slave for its clock
//!    (`polls_per_round` times each, one after the other).
//! 2. **Estimate.** For each reply the master estimates the slave's offset
//!    from its own clock with Cristian's method: the slave's reading plus
//!    half the round trip, minus the master's clock now. It keeps, per
//!    slave, the estimate with the smallest round trip, and discards round
//!    trips over `round_trip_max`. An estimate is right to within
//!    `RTT/2 − min` (plus drift).
//! 3. **Average, fault-tolerantly.** The master takes the largest set of
//!    clocks (its own included, offset 0) that lie within `threshold` of one
//!    another, and averages their offsets. A clock outside that set — a
//!    broken one, wildly fast or set years off — does not move the average.
//! 4. **Adjust.** The master sends every slave it heard from the
//!    **adjustment** `average − offset` (not an absolute time: the time a
//!    message would carry is stale on arrival, a difference is not), and
//!    adjusts itself by `average`. Slaves outside the set are corrected too.
//!
//! # Assumptions
//!
//! - The master is correct, and a majority — strictly, the largest group
//!   agreeing within `threshold` — of clocks are correct (drift at most
//!   `drift_max_ppm`, ρ). `threshold` is at least `D + 2a` (below), so that
//!   correct clocks, estimated within `a` each, always fall in one group;
//!   and a faulty clock is further than that from them when polled.
//! - One-way delays are at least `min_one_way_delay`; the adjustments reach
//!   the slaves within `latency_max` (the argument of
//!   [`BerkeleyConfig::skew_bound`]).
//!
//! # Guarantees
//!
//! - **Agreement** (internal synchronisation): once every correct node has
//!   been adjusted, the correct clocks stay within
//!   `D = 4·a + 8ρ·span` of each other, where `a = round_trip_max/2 − min +
//!   ρ·round_trip_max` bounds an estimate's error and `span = period +
//!   poll_timeout + latency_max` is the longest a clock runs between
//!   adjustments ([`BerkeleyConfig::skew_bound`]). After a round every clock
//!   is within `a` of the master's new clock (`2a` apart); while
//!   adjustments are in flight some clocks follow the master's old clock
//!   and some its new one, which differ by the average (at most `2a`, plus
//!   drift).
//!   Checked by [`agreement`].
//! - **Validity**: the agreed time stays within `D` of the envelope of the
//!   correct hardware clocks (the group runs at their average rate, and a
//!   faulty clock cannot drag it away). Checked by [`validity`]; without
//!   the threshold, one wild clock breaks it.
//! - **No external accuracy**: nothing ties the group to true time. The
//!   group's clock starts at the average of the clocks and drifts with
//!   their average rate.
//!
//! # Message cost
//!
//! Per round, `(2 × polls_per_round + 1)(n − 1)` messages: polls and
//! replies, then one adjustment per slave.
//!
//! # Source
//!
//! R. Gusella & S. Zatti, "The accuracy of the clock synchronization
//! achieved by TEMPO in Berkeley UNIX 4.3BSD", *IEEE Trans. Software Eng.*
//! 15(7), 1989; Coulouris et al., *Distributed Systems*, 5th ed., §14.3.3.
//!
//! ```
//! use std::time::Duration;
//! use dsys_clocks::berkeley::{Berkeley, BerkeleyConfig};
//! use dsys_clocks::sync::{self, DriftingClocks};
//! use dsys_core::sim::Simulation;
//! use dsys_core::NodeId;
//!
//! let config = BerkeleyConfig { min_one_way_delay: Duration::from_millis(1), ..BerkeleyConfig::default() };
//! let mut sim = Simulation::new(4, 5, move |id| Berkeley::new(id, config).unwrap());
//! for (i, clock) in DriftingClocks::default().clocks(5, 4).into_iter().enumerate() {
//!     sim.set_clock(NodeId(i as u32), clock).unwrap();
//! }
//! sim.run_until(Duration::from_secs(2)).unwrap();
//!
//! let nodes: Vec<NodeId> = sim.ids().collect();
//! let from = sync::converged_at(&sim, &nodes).unwrap();
//! let d = config.skew_bound(Duration::from_millis(10));
//! sync::check_skew(&sim, &nodes, d, from).unwrap();
//! let measures = sync::measure(&sim, &nodes, from);
//! println!("skew {:?} (D = {d:?}); error vs true time {:?}", measures.skew_max, measures.error_max);
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use dsys_core::scenario::{Algorithm, Check, Outcome, Property, SimOptions, Verdict};
use dsys_core::sim::{ClockConfig, Simulation};
use dsys_core::{Context, Message, Node, NodeId};
use serde::{Deserialize, Serialize};

use crate::software_clock::{drift_over, to_ns, Discipline, SoftwareClock};
use crate::sync::{self, DriftingClocks, ErrorBound, SyncEvent};
use crate::{Error, Result};

/// How the Berkeley master and slaves behave.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BerkeleyConfig {
    /// The master.
    pub master: NodeId,
    /// Time between rounds, on the master's clock.
    pub period: Duration,
    /// Polls per slave per round; the reply with the smallest round trip is
    /// used.
    pub polls_per_round: u32,
    /// How long a round collects replies before averaging.
    pub poll_timeout: Duration,
    /// Replies with a longer round trip are discarded.
    pub round_trip_max: Duration,
    /// Fault-tolerant averaging: only the largest group of clocks within
    /// this of one another is averaged. `None` averages every clock — not
    /// fault tolerant; kept to show what one wild clock does.
    pub threshold: Option<Duration>,
    /// The least one-way delay of the network.
    pub min_one_way_delay: Duration,
    /// The assumed bound ρ on the drift of correct clocks, in ppm.
    pub drift_max_ppm: u32,
    /// Step or slew corrections ([`BerkeleyConfig::skew_bound`] assumes
    /// stepping).
    pub discipline: Discipline,
    /// Emit a [`SyncEvent::Reading`] this often (`None`: only on adjustments).
    pub sample_interval: Option<Duration>,
}

impl Default for BerkeleyConfig {
    /// Master n0; a round every 250 ms, 3 polls per slave, replies
    /// collected for 50 ms, round trips over 40 ms discarded; threshold
    /// 150 ms; no known minimum delay; ρ = 500 ppm; stepping; a reading
    /// every 20 ms.
    fn default() -> Self {
        BerkeleyConfig {
            master: NodeId(0),
            period: Duration::from_millis(250),
            polls_per_round: 3,
            poll_timeout: Duration::from_millis(50),
            round_trip_max: Duration::from_millis(40),
            threshold: Some(Duration::from_millis(150)),
            min_one_way_delay: Duration::ZERO,
            drift_max_ppm: 500,
            discipline: Discipline::STEP,
            sample_interval: Some(Duration::from_millis(20)),
        }
    }
}

impl BerkeleyConfig {
    /// Checks the configuration.
    pub fn validate(&self) -> Result<()> {
        self.discipline.validate()?;
        let invalid = |why: String| Err(Error::InvalidConfig(why));
        if self.polls_per_round == 0 {
            return invalid("polls_per_round must be at least 1".to_string());
        }
        if self.poll_timeout.is_zero() || self.period <= self.poll_timeout {
            return invalid(format!(
                "poll_timeout {:?} must be longer than zero and shorter than the period {:?}: a round must end before the next begins",
                self.poll_timeout, self.period
            ));
        }
        if self.sample_interval.is_some_and(|i| i.is_zero()) {
            return invalid("sample_interval must be longer than zero (or None)".to_string());
        }
        if self.round_trip_max < self.min_one_way_delay * 2 {
            return invalid(format!(
                "round_trip_max {:?} is below two minimum one-way delays ({:?}): every reply would be discarded",
                self.round_trip_max, self.min_one_way_delay
            ));
        }
        Ok(())
    }

    /// The error of an offset estimate from a round trip of `round_trip`:
    /// `RTT/2 − min + ρ·RTT`.
    pub fn estimate_accuracy(&self, round_trip: Duration) -> Duration {
        (round_trip / 2).saturating_sub(self.min_one_way_delay)
            + drift_over(round_trip, self.drift_max_ppm)
    }

    /// The agreement bound `D = 4·a + 8ρ·span` (see the [module
    /// docs](self)), for adjustments that arrive within `latency_max`.
    pub fn skew_bound(&self, latency_max: Duration) -> Duration {
        let a = self.estimate_accuracy(self.round_trip_max);
        let span = self.period + self.poll_timeout + latency_max;
        a * 4 + drift_over(span, self.drift_max_ppm) * 8 + sync::SLACK
    }
}

/// Messages between the master and the slaves.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Msg {
    /// The master asks for a slave's clock.
    Poll {
        /// The round.
        round: u64,
        /// Which poll of the round (to match the reply).
        poll: u32,
    },
    /// A slave's clock, in answer to a poll.
    Time {
        /// The round.
        round: u64,
        /// The poll answered.
        poll: u32,
        /// The slave's synchronised clock when it answered.
        clock: Duration,
    },
    /// What the slave should add to its clock.
    Adjust {
        /// The round.
        round: u64,
        /// The correction, signed.
        adjustment_ns: i64,
        /// How far the slave may be from the master's clock after applying
        /// it (the estimate's error plus drift so far).
        accuracy: Duration,
    },
}

impl Message for Msg {}

/// Timers of a Berkeley node.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Timer {
    /// Start a round (master).
    Round,
    /// Stop collecting replies and average (master).
    Average {
        /// The round.
        round: u64,
    },
    /// Emit a reading.
    Sample,
}

/// The master's estimate of one clock's offset from its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Estimate {
    /// The clock minus the master's clock, in nanoseconds.
    offset_ns: i64,
    /// The round trip it was measured with.
    round_trip: Duration,
    /// The master's hardware clock when it was measured.
    taken_at: Duration,
}

/// The master's view of one slave during a round.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Polling {
    poll: u32,
    sent_at: Duration,
    answered: bool,
    best: Option<Estimate>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Master {
    round: u64,
    collecting: bool,
    slaves: BTreeMap<NodeId, Polling>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Slave {
    /// The last round this slave reported its clock in.
    replied: Option<u64>,
    /// Whether it has applied that round's adjustment.
    adjusted: bool,
    /// Adjustments applied.
    adjustments: u64,
}

/// A node of the Berkeley algorithm: the master or a slave (see the
/// [module docs](self)). Emits [`SyncEvent`]s.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Berkeley {
    config: BerkeleyConfig,
    clock: SoftwareClock,
    master: Option<Master>,
    slave: Slave,
}

impl Berkeley {
    /// The node `id`: the master if `id == config.master`, else a slave.
    pub fn new(id: NodeId, config: BerkeleyConfig) -> Result<Self> {
        config.validate()?;
        Ok(Berkeley {
            config,
            clock: SoftwareClock::new(config.discipline)?,
            master: (id == config.master).then(Master::default),
            slave: Slave::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &BerkeleyConfig {
        &self.config
    }

    /// Whether this node is the master.
    pub fn is_master(&self) -> bool {
        self.master.is_some()
    }

    /// The software clock.
    pub fn clock(&self) -> &SoftwareClock {
        &self.clock
    }

    /// Rounds started (master) or adjustments applied (slave).
    pub fn rounds(&self) -> u64 {
        match &self.master {
            Some(master) => master.round,
            None => self.slave.adjustments,
        }
    }

    fn start_round(&mut self, ctx: &mut Context<'_, Self>) {
        let config = self.config;
        let Some(master) = self.master.as_mut() else {
            return;
        };
        master.round += 1;
        master.collecting = true;
        master.slaves.clear();
        let now = ctx.now();
        for &slave in ctx.peers() {
            master.slaves.insert(
                slave,
                Polling {
                    poll: 0,
                    sent_at: now,
                    answered: false,
                    best: None,
                },
            );
        }
        let round = master.round;
        for slave in master.slaves.keys() {
            ctx.send(*slave, Msg::Poll { round, poll: 0 });
        }
        ctx.set_timer(config.poll_timeout, Timer::Average { round });
        ctx.set_timer(config.period, Timer::Round);
    }

    fn on_time(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        (round, poll, clock): (u64, u32, Duration),
    ) {
        let config = self.config;
        let now = ctx.now();
        let own_clock = self.clock.read_ns(now);
        let Some(master) = self.master.as_mut() else {
            return;
        };
        if !master.collecting || master.round != round {
            return;
        }
        let Some(polling) = master.slaves.get_mut(&from) else {
            return;
        };
        if polling.poll != poll || polling.answered {
            return; // a duplicate, or a reply to an earlier poll
        }
        polling.answered = true;
        let round_trip = now.saturating_sub(polling.sent_at);
        if round_trip <= config.round_trip_max {
            let estimate = Estimate {
                offset_ns: to_ns(clock + round_trip / 2) - own_clock,
                round_trip,
                taken_at: now,
            };
            if polling.best.is_none_or(|b| round_trip < b.round_trip) {
                polling.best = Some(estimate);
            }
        }
        if polling.poll + 1 < config.polls_per_round {
            polling.poll += 1;
            polling.sent_at = now;
            polling.answered = false;
            let poll = polling.poll;
            ctx.send(from, Msg::Poll { round, poll });
        }
    }

    fn average(&mut self, ctx: &mut Context<'_, Self>, round: u64) {
        let config = self.config;
        let id = ctx.id();
        let now = ctx.now();
        let Some(master) = self.master.as_mut() else {
            return;
        };
        if !master.collecting || master.round != round {
            return;
        }
        master.collecting = false;
        let mut estimates: Vec<(NodeId, i64)> = vec![(id, 0)];
        estimates.extend(
            master
                .slaves
                .iter()
                .filter_map(|(&slave, p)| p.best.map(|b| (slave, b.offset_ns))),
        );
        let (average_ns, _) = fault_tolerant_average(&estimates, config.threshold, id);
        for (&slave, polling) in &master.slaves {
            let Some(best) = polling.best else {
                continue; // not heard from (well enough): cannot be corrected
            };
            let accuracy = config.estimate_accuracy(best.round_trip)
                + drift_over(now.saturating_sub(best.taken_at), config.drift_max_ppm) * 2;
            ctx.send(
                slave,
                Msg::Adjust {
                    round,
                    adjustment_ns: average_ns - best.offset_ns,
                    accuracy,
                },
            );
        }
        self.adjust(ctx, average_ns, Duration::ZERO);
    }

    fn adjust(&mut self, ctx: &mut Context<'_, Self>, adjustment_ns: i64, accuracy: Duration) {
        let (event, _) = sync::correct(
            &mut self.clock,
            ctx.now(),
            adjustment_ns,
            accuracy,
            ErrorBound::Internal,
        );
        ctx.emit(event);
    }
}

/// The fault-tolerant average of `estimates` (each clock's offset from the
/// master's, in nanoseconds; the master's own is 0): the average over the
/// largest set of clocks lying within `threshold` of one another, and that
/// set. Among equally large sets, one containing `master` is preferred,
/// then the lowest. With `threshold` `None`, every clock is averaged.
///
/// ```
/// use std::time::Duration;
/// use dsys_clocks::berkeley::fault_tolerant_average;
/// use dsys_core::NodeId;
///
/// let ms = |x: i64| x * 1_000_000;
/// // n3's clock is ten seconds off.
/// let estimates = [(NodeId(0), 0), (NodeId(1), ms(20)), (NodeId(2), ms(-8)), (NodeId(3), ms(10_000))];
/// let threshold = Some(Duration::from_millis(100));
/// let (average, used) = fault_tolerant_average(&estimates, threshold, NodeId(0));
/// assert_eq!(average, ms(4)); // (0 + 20 − 8) / 3
/// assert_eq!(used, vec![NodeId(0), NodeId(1), NodeId(2)]);
/// // Without the threshold, n3 drags everyone 2.5 s ahead.
/// let (average, _) = fault_tolerant_average(&estimates, None, NodeId(0));
/// assert_eq!(average, ms(2503));
/// ```
pub fn fault_tolerant_average(
    estimates: &[(NodeId, i64)],
    threshold: Option<Duration>,
    master: NodeId,
) -> (i64, Vec<NodeId>) {
    let mut sorted: Vec<(i64, NodeId)> = estimates.iter().map(|&(id, o)| (o, id)).collect();
    sorted.sort_unstable();
    let (mut start, mut end) = (0, sorted.len());
    if let Some(threshold) = threshold {
        let width = to_ns(threshold);
        let master_offset = estimates.iter().find(|(id, _)| *id == master).map(|e| e.1);
        let mut best: Option<(usize, bool, usize, usize)> = None; // (size, has master, start, end)
        let mut j = 0;
        for i in 0..sorted.len() {
            j = j.max(i);
            while j < sorted.len() && sorted[j].0.saturating_sub(sorted[i].0) <= width {
                j += 1;
            }
            let has_master =
                master_offset.is_some_and(|m| sorted[i].0 <= m && m <= sorted[j - 1].0);
            let better =
                best.is_none_or(|(size, master_in, _, _)| (j - i, has_master) > (size, master_in));
            if better {
                best = Some((j - i, has_master, i, j));
            }
        }
        if let Some((_, _, s, e)) = best {
            (start, end) = (s, e);
        }
    }
    let chosen = &sorted[start..end];
    if chosen.is_empty() {
        return (0, Vec::new());
    }
    let sum: i128 = chosen.iter().map(|&(o, _)| i128::from(o)).sum();
    let average = (sum / chosen.len() as i128) as i64;
    let mut used: Vec<NodeId> = chosen.iter().map(|&(_, id)| id).collect();
    used.sort_unstable();
    (average, used)
}

impl Node for Berkeley {
    type Msg = Msg;
    type Timer = Timer;
    type Request = ();
    type Event = SyncEvent;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        sync::sample_later(ctx, self.config.sample_interval, Timer::Sample);
        self.start_round(ctx);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Poll { round, poll } => {
                if from != self.config.master || self.is_master() {
                    return;
                }
                if self.slave.replied != Some(round) {
                    self.slave.replied = Some(round);
                    self.slave.adjusted = false;
                }
                let clock = self.clock.read(ctx.now());
                ctx.send(from, Msg::Time { round, poll, clock });
            }
            Msg::Time { round, poll, clock } => self.on_time(ctx, from, (round, poll, clock)),
            Msg::Adjust {
                round,
                adjustment_ns,
                accuracy,
            } => {
                // The adjustment corrects the clock this slave reported in
                // `round`: apply it once, and only if the slave has not
                // reported in another round since. (Not "a round later than
                // the last": a restarted master counts from 1 again.)
                let fresh = self.slave.replied == Some(round) && !self.slave.adjusted;
                if from == self.config.master && !self.is_master() && fresh {
                    self.slave.adjusted = true;
                    self.slave.adjustments += 1;
                    self.adjust(ctx, adjustment_ns, accuracy);
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Timer) {
        match timer {
            Timer::Round => self.start_round(ctx),
            Timer::Average { round } => self.average(ctx, round),
            Timer::Sample => {
                sync::sample(ctx, &self.clock, self.config.sample_interval, Timer::Sample)
            }
        }
    }
}

/// Validity: from true time `from` on, every clock in `correct` stays within
/// `margin` of the envelope of the **hardware** clocks of `correct` — the
/// group's time is an average of correct clocks, not dragged away by a
/// faulty one.
pub fn validity(
    sim: &Simulation<Berkeley>,
    correct: &[NodeId],
    margin: Duration,
    from: Duration,
) -> std::result::Result<(), String> {
    let tracks = sync::tracks(sim, correct);
    let margin_ns = to_ns(margin);
    for (id, track) in &tracks {
        for point in track.points().iter().filter(|p| p.time >= from) {
            // The envelope is judged only where every correct clock is known.
            let Some(hardware) = tracks
                .iter()
                .map(|(_, t)| t.hardware_at(point.time))
                .collect::<Option<Vec<i64>>>()
            else {
                continue;
            };
            let (Some(&low), Some(&high)) = (hardware.iter().min(), hardware.iter().max()) else {
                continue;
            };
            if point.clock_ns < low - margin_ns || point.clock_ns > high + margin_ns {
                return Err(format!(
                    "at true time {:?} {id} reads {:.3} ms, outside the correct hardware clocks' range \
                     {:.3}..{:.3} ms widened by {margin:?}: the group was dragged away",
                    point.time,
                    point.clock_ns as f64 / 1e6,
                    low as f64 / 1e6,
                    high as f64 / 1e6,
                ));
            }
        }
    }
    Ok(())
}

/// Agreement: once every node in `correct` has been adjusted, no two of them
/// differ by more than `bound` ([`sync::check_skew`]).
pub fn agreement(
    sim: &Simulation<Berkeley>,
    correct: &[NodeId],
    bound: Duration,
) -> std::result::Result<(), String> {
    let Some(from) = sync::converged_at(sim, correct) else {
        return Err(format!(
            "not every correct node ({correct:?}) was adjusted in {:?}",
            sim.now()
        ));
    };
    sync::check_skew(sim, correct, bound, from)
}

/// How wrong the scenario's faulty clock is: 10 s ahead, and running twice
/// as fast as it should (+1,000,000 ppm), so that even right after a
/// correction it is a whole period off by the next round.
pub const FAULTY_CLOCK: ClockConfig = ClockConfig {
    offset_ns: 10_000_000_000,
    drift_ppm: 1_000_000.0,
};

/// The node whose clock the scenario makes faulty: the last one, when there
/// are at least four nodes (so the correct clocks outnumber it by 3 to 1).
pub fn scenario_faulty(nodes: usize) -> Option<NodeId> {
    (nodes >= 4).then(|| NodeId(nodes as u32 - 1))
}

/// The correct nodes of a scenario.
pub fn scenario_correct(nodes: usize) -> Vec<NodeId> {
    let faulty = scenario_faulty(nodes);
    (0..nodes as u32)
        .map(NodeId)
        .filter(|&id| Some(id) != faulty)
        .collect()
}

/// The hardware clocks of a scenario: [`DriftingClocks::default`] from the
/// seed, and [`FAULTY_CLOCK`] for [`scenario_faulty`].
pub fn scenario_clocks(options: &SimOptions) -> Vec<ClockConfig> {
    let mut clocks = DriftingClocks::default().clocks(options.seed, options.nodes);
    if let Some(faulty) = scenario_faulty(options.nodes) {
        clocks[faulty.index()] = FAULTY_CLOCK;
    }
    clocks
}

/// The configuration `dsys sim berkeley` uses for a run's options: the
/// minimum delay is the options' minimum latency; the poll window fits
/// three round trips at the maximum latency, a round is at least twice that;
/// and the threshold is `D + 2a`, wide enough that correct clocks (within
/// `D` of each other, each estimated within `a`) always fall in one group.
pub fn scenario_config(options: &SimOptions) -> BerkeleyConfig {
    let latency_max = options.latency.max;
    let mut config = BerkeleyConfig {
        min_one_way_delay: options.latency.min,
        round_trip_max: latency_max * 2 + Duration::from_millis(1),
        drift_max_ppm: DriftingClocks::default().drift_max_ppm,
        ..BerkeleyConfig::default()
    };
    config.poll_timeout = latency_max * 2 * config.polls_per_round + Duration::from_millis(10);
    config.period = (config.poll_timeout * 2).max(Duration::from_millis(250));
    let a = config.estimate_accuracy(config.round_trip_max);
    config.threshold = Some(config.skew_bound(latency_max) + a * 2);
    config
}

/// `dsys sim berkeley`: n0 is the master; every clock is skewed and drifts
/// (from the seed), and with four nodes or more the last one is wildly wrong
/// ([`FAULTY_CLOCK`]). Judges agreement (skew within D) and validity among
/// the correct clocks.
pub const ALGORITHM: Algorithm = Algorithm {
    name: "berkeley",
    summary:
        "Berkeley algorithm: a master averages the clocks, ignoring a faulty one; skew within D",
    run: simulate,
    settings: &[],
    model: None,
    defects: &[],
};

fn simulate(options: &SimOptions) -> dsys_core::Result<Outcome> {
    let config = scenario_config(options);
    config
        .validate()
        .map_err(|e| dsys_core::Error::InvalidConfig(e.to_string()))?;
    sync::run_with_clocks(
        ALGORITHM.name,
        options,
        &scenario_clocks(options),
        move |id| Berkeley::new(id, config).expect("configuration validated above"),
        &[
            Property {
                name: "agreement (skew <= D)",
                check: Check::at_end(|sim, options| {
                    if let Some(skipped) = skip(options) {
                        return skipped;
                    }
                    let bound = scenario_config(options).skew_bound(options.latency.max);
                    Verdict::from(agreement(sim, &scenario_correct(options.nodes), bound))
                }),
            },
            Property {
                name: "validity (no dragging)",
                check: Check::at_end(|sim, options| {
                    if let Some(skipped) = sync::unreliable(options) {
                        return skipped;
                    }
                    let correct = scenario_correct(options.nodes);
                    let margin = scenario_config(options).skew_bound(options.latency.max);
                    Verdict::from(validity(sim, &correct, margin, Duration::ZERO))
                }),
            },
            Property {
                name: "every node synchronises",
                check: Check::at_end(|sim, options| {
                    if let Some(skipped) = skip(options) {
                        return skipped;
                    }
                    let nodes: Vec<NodeId> = sim.ids().collect();
                    Verdict::from(sync::check_synchronised(sim, &nodes))
                }),
            },
            Property {
                name: "correct clocks",
                check: Check::figure(|sim, options| {
                    let bound = scenario_config(options).skew_bound(options.latency.max);
                    sync::story(sim, &scenario_correct(options.nodes), Some(bound))
                }),
            },
        ],
    )
}

/// Why agreement and liveness are not judged on this run, if they are not:
/// faults the algorithm does not tolerate, or a run too short to converge.
fn skip(options: &SimOptions) -> Option<Verdict> {
    sync::unreliable(options).or_else(|| {
        (options.until < scenario_config(options).period * 2)
            .then(|| Verdict::Skipped("the run is shorter than two rounds".to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use dsys_core::sim::{Latency, LinkConfig};
    use dsys_core::testing::Harness;
    use dsys_core::Effect;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn each_invalid_field_is_rejected_alone_and_the_limits_are_accepted() {
        let base = BerkeleyConfig::default();
        let rejected = |c: BerkeleyConfig| c.validate().is_err();
        assert!(rejected(BerkeleyConfig {
            polls_per_round: 0,
            ..base
        }));
        // A zero poll timeout on its own (the period is still longer).
        assert!(rejected(BerkeleyConfig {
            poll_timeout: Duration::ZERO,
            ..base
        }));
        // A round must end before the next begins: equal is too long.
        assert!(rejected(BerkeleyConfig {
            poll_timeout: base.period,
            ..base
        }));
        assert!(rejected(BerkeleyConfig {
            sample_interval: Some(Duration::ZERO),
            ..base
        }));
        // Below two minimum delays every reply would be discarded; exactly
        // two is the tightest valid limit.
        assert!(rejected(BerkeleyConfig {
            round_trip_max: MS(3),
            min_one_way_delay: MS(2),
            ..base
        }));
        assert_eq!(
            BerkeleyConfig {
                round_trip_max: MS(4),
                min_one_way_delay: MS(2),
                ..base
            }
            .validate(),
            Ok(())
        );
        assert_eq!(
            BerkeleyConfig {
                polls_per_round: 1,
                ..base
            }
            .validate(),
            Ok(())
        );
    }

    fn quiet() -> BerkeleyConfig {
        BerkeleyConfig {
            polls_per_round: 2,
            sample_interval: None,
            ..BerkeleyConfig::default()
        }
    }

    #[test]
    fn a_node_keeps_its_configuration_counts_its_rounds_and_shows_its_clock() {
        let (n0, n1) = (NodeId(0), NodeId(1));
        let mut master = Harness::new(Berkeley::new(n0, quiet()).unwrap(), n0, 2);
        assert!(master.node().is_master());
        assert_eq!(master.node().config(), &quiet());
        assert_eq!(master.node().rounds(), 0);
        master.start();
        master.timer(Timer::Round);
        assert_eq!(master.node().rounds(), 2);
        let mut slave = Harness::new(Berkeley::new(n1, quiet()).unwrap(), n1, 2);
        assert!(!slave.node().is_master());
        slave.start();
        for round in 1..=3 {
            slave.message(n0, Msg::Poll { round, poll: 0 });
            slave.message(
                n0,
                Msg::Adjust {
                    round,
                    adjustment_ns: 1,
                    accuracy: Duration::ZERO,
                },
            );
        }
        assert_eq!(slave.node().rounds(), 3);
        // Its clock took the three adjustments of 1 ns.
        assert_eq!(slave.node().clock().offset_ns(Duration::ZERO), 3);
    }

    #[test]
    fn readings_are_emitted_every_sample_interval() {
        let config = BerkeleyConfig {
            sample_interval: Some(MS(20)),
            ..quiet()
        };
        let n1 = NodeId(1);
        let mut h = Harness::new(Berkeley::new(n1, config).unwrap(), n1, 2);
        h.set_now(MS(3));
        assert_eq!(
            h.start(),
            vec![Effect::SetTimer {
                after: MS(20),
                timer: Timer::Sample
            }]
        );
        h.set_now(MS(23));
        assert_eq!(
            h.timer(Timer::Sample),
            vec![
                Effect::Emit(SyncEvent::Reading { clock: MS(23) }),
                Effect::SetTimer {
                    after: MS(20),
                    timer: Timer::Sample
                },
            ]
        );
    }

    #[test]
    fn a_reply_after_the_average_is_ignored() {
        let (n0, n1) = (NodeId(0), NodeId(1));
        let mut h = Harness::new(Berkeley::new(n0, quiet()).unwrap(), n0, 2);
        h.start();
        h.set_now(MS(50));
        h.timer(Timer::Average { round: 1 });
        // n1's answer to the first poll of round 1 comes too late: no
        // second poll, no estimate.
        let late = Msg::Time {
            round: 1,
            poll: 0,
            clock: MS(60),
        };
        assert_eq!(h.message(n1, late), vec![]);
    }

    #[test]
    fn of_two_estimates_with_the_same_round_trip_the_first_is_kept() {
        let (n0, n1) = (NodeId(0), NodeId(1));
        let config = BerkeleyConfig {
            threshold: None,
            ..quiet()
        };
        let mut h = Harness::new(Berkeley::new(n0, config).unwrap(), n0, 2);
        h.start();
        // Both round trips are 4 ms: n1 is +98 ms, then +498 ms.
        h.set_now(MS(4));
        h.message(
            n1,
            Msg::Time {
                round: 1,
                poll: 0,
                clock: MS(100),
            },
        );
        h.set_now(MS(8));
        h.message(
            n1,
            Msg::Time {
                round: 1,
                poll: 1,
                clock: MS(504),
            },
        );
        h.set_now(MS(50));
        // The average of 0 and +98 ms: n1 is told −49 ms.
        let effects = h.timer(Timer::Average { round: 1 });
        assert!(
            matches!(
                effects[0],
                Effect::Send {
                    msg: Msg::Adjust {
                        adjustment_ns: -49_000_000,
                        ..
                    },
                    ..
                }
            ),
            "{effects:?}"
        );
    }

    #[test]
    fn clocks_exactly_the_threshold_apart_are_one_group() {
        let ms = |x: i64| x * 1_000_000;
        let estimates = [(NodeId(0), 0), (NodeId(1), ms(10)), (NodeId(2), ms(21))];
        let (average, used) =
            fault_tolerant_average(&estimates, Some(Duration::from_millis(10)), NodeId(0));
        assert_eq!((average, used), (ms(5), vec![NodeId(0), NodeId(1)]));
    }

    #[test]
    fn among_equal_groups_without_the_master_the_lowest_is_averaged() {
        let ms = |x: i64| x * 1_000_000;
        let estimates = [
            (NodeId(1), ms(500)),
            (NodeId(2), ms(505)),
            (NodeId(3), 0),
            (NodeId(4), ms(5)),
        ];
        // The master (n0) is not among the estimates.
        let (average, used) =
            fault_tolerant_average(&estimates, Some(Duration::from_millis(10)), NodeId(0));
        assert_eq!(
            (average, used),
            (ms(2) + 500_000, vec![NodeId(3), NodeId(4)])
        );
    }

    #[test]
    fn the_scenario_derives_its_configuration_from_the_latencies() {
        let options = SimOptions {
            latency: dsys_core::scenario::LatencyRange {
                min: MS(1),
                max: MS(30),
            },
            ..SimOptions::default()
        };
        let config = scenario_config(&options);
        // Round trips up to 2 × 30 + 1 ms; three of them, plus 10 ms, per
        // round; a round twice that.
        assert_eq!(
            (
                config.min_one_way_delay,
                config.round_trip_max,
                config.poll_timeout,
                config.period
            ),
            (MS(1), MS(61), MS(190), MS(380))
        );
        // a = 30.5 − 1 ms + 500 ppm of 61 ms; D = 4a + 8 × 500 ppm of
        // (380 + 190 + 30) ms + 1 µs; the threshold is D + 2a.
        assert_eq!(
            config.threshold,
            Some(Duration::from_nanos(120_523_000 + 59_061_000))
        );
        assert_eq!(config.validate(), Ok(()));
        // At low latencies, the period is at least 250 ms.
        assert_eq!(scenario_config(&SimOptions::default()).period, MS(250));
    }

    #[test]
    fn the_scenario_makes_the_last_of_four_or_more_clocks_faulty() {
        assert_eq!(scenario_faulty(3), None);
        assert_eq!(scenario_faulty(4), Some(NodeId(3)));
        assert_eq!(scenario_correct(3), vec![NodeId(0), NodeId(1), NodeId(2)]);
        assert_eq!(scenario_correct(4), vec![NodeId(0), NodeId(1), NodeId(2)]);
        let options = SimOptions {
            nodes: 5,
            seed: 4,
            ..SimOptions::default()
        };
        let clocks = scenario_clocks(&options);
        assert_eq!(clocks[..4], DriftingClocks::default().clocks(4, 5)[..4]);
        assert_eq!(clocks[4], FAULTY_CLOCK);
        assert_eq!(clocks.len(), 5);
    }

    #[test]
    fn the_scenario_judges_agreement_only_after_two_rounds() {
        let verdicts = |until| {
            let options = SimOptions {
                until,
                ..SimOptions::default()
            };
            let outcome = simulate(&options).unwrap();
            outcome.report.verdicts
        };
        let short = verdicts(MS(400));
        let names: Vec<&str> = short.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "agreement (skew <= D)",
                "validity (no dragging)",
                "every node synchronises"
            ]
        );
        assert!(matches!(short[0].1, Verdict::Skipped(_)));
        assert!(matches!(short[2].1, Verdict::Skipped(_)));
        assert!(verdicts(MS(500)).iter().all(|(_, v)| *v == Verdict::Holds));
    }

    #[test]
    fn the_largest_group_wins_even_after_a_smaller_one_later_in_the_order() {
        let ms = |x: i64| x * 1_000_000;
        // Sorted: a lone clock, a pair, then a group of three; the master
        // (n0) is not among them.
        let estimates = [
            (NodeId(1), 0),
            (NodeId(2), ms(100)),
            (NodeId(3), ms(105)),
            (NodeId(4), ms(200)),
            (NodeId(5), ms(203)),
            (NodeId(6), ms(206)),
        ];
        let (average, used) =
            fault_tolerant_average(&estimates, Some(Duration::from_millis(10)), NodeId(0));
        assert_eq!(
            (average, used),
            (ms(203), vec![NodeId(4), NodeId(5), NodeId(6)])
        );
    }

    #[test]
    fn ties_prefer_the_group_with_the_master() {
        let ms = |x: i64| x * 1_000_000;
        let estimates = [
            (NodeId(0), 0),
            (NodeId(1), ms(5)),
            (NodeId(2), ms(500)),
            (NodeId(3), ms(505)),
        ];
        let threshold = Some(Duration::from_millis(10));
        let (average, used) = fault_tolerant_average(&estimates, threshold, NodeId(0));
        assert_eq!(
            (average, used),
            (ms(2) + 500_000, vec![NodeId(0), NodeId(1)])
        );
        let (_, used) = fault_tolerant_average(&estimates, threshold, NodeId(3));
        assert_eq!(used, vec![NodeId(2), NodeId(3)]);
        assert_eq!(
            fault_tolerant_average(&[], threshold, NodeId(0)),
            (0, vec![])
        );
    }

    /// Master n0 and slave n1 on clocks that keep true time's rate, n1's
    /// 10 ms ahead, over links of exactly 1 ms each way: every estimate is
    /// exact, and the round of 0 ms moves both to true time + 5 ms.
    fn two_clocks_10_ms_apart(until: Duration) -> Simulation<Berkeley> {
        let mut sim = Simulation::new(2, 0, |id| {
            Berkeley::new(id, BerkeleyConfig::default()).unwrap()
        });
        sim.set_all_links(LinkConfig::reliable(Latency::uniform_ms(1, 1)))
            .unwrap();
        sim.set_clock(NodeId(1), ClockConfig::default().offset_ms(10))
            .unwrap();
        sim.run_until(until).unwrap();
        sim
    }

    #[test]
    fn validity_admits_clocks_exactly_on_the_edges_of_the_hardware_range() {
        // Until the average at 50 ms, n0 reads the lowest hardware clock and
        // n1 the highest; then both read the middle. Not one nanosecond
        // outside: a margin of zero holds.
        let sim = two_clocks_10_ms_apart(MS(1000));
        let both = [NodeId(0), NodeId(1)];
        assert_eq!(
            validity(&sim, &both, Duration::ZERO, Duration::ZERO),
            Ok(())
        );
    }

    #[test]
    fn agreement_needs_every_correct_node_adjusted_and_then_skew_within_the_bound() {
        let both = [NodeId(0), NodeId(1)];
        let why = agreement(&two_clocks_10_ms_apart(MS(40)), &both, MS(1)).unwrap_err();
        assert!(why.starts_with("not every correct node"), "{why}");
        // From n1's adjustment on, both read exactly true time + 5 ms.
        let sim = two_clocks_10_ms_apart(MS(1000));
        assert_eq!(agreement(&sim, &both, Duration::ZERO), Ok(()));
    }

    #[test]
    fn invalid_configurations_say_what_to_fix() {
        let bad = BerkeleyConfig {
            poll_timeout: Duration::from_secs(1),
            ..BerkeleyConfig::default()
        };
        let err = Berkeley::new(NodeId(0), bad).unwrap_err();
        assert!(err.to_string().contains("shorter than the period"), "{err}");
    }

    #[test]
    fn the_skew_bound_follows_its_formula() {
        let config = BerkeleyConfig::default();
        // a = 20 ms + 20 µs; span = 250 + 50 + 10 ms, ρ·span = 155 µs.
        let expected = Duration::from_micros(4 * 20_020 + 8 * 155 + 1);
        assert_eq!(config.skew_bound(Duration::from_millis(10)), expected);
    }
}
