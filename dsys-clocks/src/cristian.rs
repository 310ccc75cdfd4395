//! Cristian's algorithm: external synchronisation against a time server.
//!
//! # The problem
//!
//! A client wants its clock to read true time (UTC). A **time server** has a
//! reference clock that does (a GPS or radio receiver). The server can tell
//! the client the time — but the answer is already old when it arrives, by
//! an unknown message delay.
//!
//! # The algorithm
//!
//! 1. **Ask.** The client sends a request and notes its hardware clock:
//!    `T1`.
//! 2. **Answer.** The server notes its clock when the request arrives,
//!    `T2`, and when the reply leaves, `T3`, and sends both back.
//! 3. **Estimate.** The reply arrives at client time `T4`. The round trip,
//!    less the time the server held the request, is
//!    `RTT = (T4 − T1) − (T3 − T2)`. The reply spent somewhere between
//!    `min` (the least one-way delay the network allows) and `RTT − min` in
//!    flight, so the server's clock read between `T3 + min` and
//!    `T3 + RTT − min` at `T4`. The middle of that interval is the estimate,
//!    **`T3 + RTT/2`**, and it is wrong by at most
//!    **`±(RTT/2 − min)`**.
//! 4. **Choose.** Round trips vary; a short one gives a tight bound. The
//!    client takes `samples_per_sync` samples, discards any whose round trip
//!    exceeds `round_trip_max`, retries a request that is not answered within
//!    `timeout` (a lost request or reply), and keeps the sample with the
//!    **smallest round trip**.
//! 5. **Adjust.** The client corrects its [`SoftwareClock`] to the chosen
//!    estimate (stepping or slewing, by its [`Discipline`]) and repeats every
//!    `period`.
//!
//! # Assumptions
//!
//! - The server's clock is right (it is the reference: in the simulator,
//!   give it a perfect clock — the default [`ClockConfig`]). If it is wrong,
//!   every client is wrong with it.
//! - Every one-way delay is at least `min_one_way_delay` (0 if unknown).
//!   Asymmetric delays are fine: the bound allows for any split of the round
//!   trip above `min`.
//! - Hardware clocks drift by at most `drift_max_ppm` (ρ).
//!
//! # Guarantees
//!
//! - **Accuracy** (external synchronisation): right after an adjustment the
//!   client's error against true time is at most
//!   `RTT/2 − min + ρ·(RTT + age)` (the last term covers the client's drift
//!   while measuring and since the sample was taken), and it grows by at
//!   most `ρ·elapsed` until the next one. The client claims this bound in
//!   every [`SyncEvent::Adjusted`], and [`check_external`] checks it.
//! - **Liveness**: on a network that eventually answers, every client
//!   synchronises (retries cover lost messages; `attempts_max` bounds them).
//!
//! The worst case over all accepted samples is
//! [`CristianConfig::error_bound`]: `round_trip_max/2 − min` plus drift.
//!
//! # Message cost
//!
//! Two messages per sample: at most `2 × attempts_max` per client per
//! `period`, and `2 × samples_per_sync` when nothing is lost. The server
//! keeps no state per client.
//!
//! # Source
//!
//! F. Cristian, "Probabilistic clock synchronization", *Distributed
//! Computing* 3(3), 1989; Coulouris et al., *Distributed Systems*, 5th ed.,
//! §14.3.2; van Steen & Tanenbaum, *Distributed Systems*, 3rd ed., §6.1.
//!
//! ```
//! use std::time::Duration;
//! use dsys_clocks::cristian::{Cristian, CristianConfig};
//! use dsys_clocks::sync;
//! use dsys_core::sim::{ClockConfig, Simulation};
//! use dsys_core::NodeId;
//!
//! let config = CristianConfig { min_one_way_delay: Duration::from_millis(1), ..CristianConfig::default() };
//! let mut sim = Simulation::new(3, 1, move |id| Cristian::new(id, config).unwrap());
//! // n0 is the server (perfect clock); the clients start 80 ms and 30 ms off, drifting.
//! sim.set_clock(NodeId(1), ClockConfig::default().offset_ms(80).drift_ppm(300.0)).unwrap();
//! sim.set_clock(NodeId(2), ClockConfig::default().offset_ms(30).drift_ppm(-200.0)).unwrap();
//! sim.run_until(Duration::from_secs(2)).unwrap();
//!
//! let nodes: Vec<NodeId> = sim.ids().collect();
//! sync::check_external(&sim, &nodes, config.drift_max_ppm).unwrap();
//! let measures = sync::measure(&sim, &nodes, sync::converged_at(&sim, &nodes).unwrap());
//! assert!(measures.error_max < config.error_bound());
//! ```
//!
//! [`ClockConfig`]: dsys_core::sim::ClockConfig
//! [`check_external`]: crate::sync::check_external

use std::time::Duration;

use dsys_core::scenario::{Algorithm, Check, Outcome, Property, SimOptions, Verdict};
use dsys_core::sim::{ClockConfig, Simulation};
use dsys_core::{Context, Message, Node, NodeId};
use serde::{Deserialize, Serialize};

use crate::software_clock::{drift_over, to_ns, Discipline, SoftwareClock};
use crate::sync::{self, DriftingClocks, ErrorBound, SyncEvent};
use crate::{Error, Result};

/// How a Cristian client synchronises (the server uses only
/// `sample_interval`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CristianConfig {
    /// The time server.
    pub server: NodeId,
    /// Time between synchronisations, on the client's clock.
    pub period: Duration,
    /// Answered requests per synchronisation; the one with the smallest
    /// round trip is used.
    pub samples_per_sync: u32,
    /// Requests per synchronisation at most, retries included.
    pub attempts_max: u32,
    /// How long to wait for a reply before retrying.
    pub timeout: Duration,
    /// Samples with a longer round trip are discarded (their bound is too
    /// loose to be worth it).
    pub round_trip_max: Duration,
    /// The least one-way delay of the network (`min` in the bound).
    pub min_one_way_delay: Duration,
    /// The assumed bound ρ on hardware drift, in parts per million.
    pub drift_max_ppm: u32,
    /// Step or slew corrections.
    pub discipline: Discipline,
    /// Emit a [`SyncEvent::Reading`] this often (`None`: only on adjustments).
    pub sample_interval: Option<Duration>,
    /// Add half the round trip to the server's time (Cristian's estimate).
    /// `false` sets the clock to `T3` as received — the classic mistake,
    /// kept so tests and the tutorial can show the checker catching it.
    pub delay_correction: bool,
}

impl Default for CristianConfig {
    /// Server n0; every 250 ms the best of 4 samples (at most 8 requests,
    /// 50 ms timeout, round trips over 40 ms discarded); no known minimum
    /// delay; ρ = 500 ppm; stepping; a reading every 20 ms.
    fn default() -> Self {
        CristianConfig {
            server: NodeId(0),
            period: Duration::from_millis(250),
            samples_per_sync: 4,
            attempts_max: 8,
            timeout: Duration::from_millis(50),
            round_trip_max: Duration::from_millis(40),
            min_one_way_delay: Duration::ZERO,
            drift_max_ppm: 500,
            discipline: Discipline::STEP,
            sample_interval: Some(Duration::from_millis(20)),
            delay_correction: true,
        }
    }
}

impl CristianConfig {
    /// Checks the configuration.
    pub fn validate(&self) -> Result<()> {
        self.discipline.validate()?;
        let invalid = |why: String| Err(Error::InvalidConfig(why));
        if self.samples_per_sync == 0 || self.attempts_max < self.samples_per_sync {
            return invalid(format!(
                "samples_per_sync ({}) must be at least 1 and at most attempts_max ({})",
                self.samples_per_sync, self.attempts_max
            ));
        }
        if self.period.is_zero() || self.timeout.is_zero() {
            return invalid("period and timeout must be longer than zero".to_string());
        }
        if self.sample_interval.is_some_and(|i| i.is_zero()) {
            return invalid("sample_interval must be longer than zero (or None)".to_string());
        }
        if self.round_trip_max < self.min_one_way_delay * 2 {
            return invalid(format!(
                "round_trip_max {:?} is below two minimum one-way delays ({:?}): every sample would be discarded",
                self.round_trip_max, self.min_one_way_delay
            ));
        }
        Ok(())
    }

    /// The accuracy of a sample with round trip `round_trip`, measured
    /// `age` ago: `RTT/2 − min + ρ·(RTT + age)`.
    pub fn accuracy(&self, round_trip: Duration, age: Duration) -> Duration {
        (round_trip / 2).saturating_sub(self.min_one_way_delay)
            + drift_over(round_trip + age, self.drift_max_ppm)
    }

    /// The worst error right after any synchronisation, stepping: the
    /// accuracy of the longest round trip accepted, taken at the start of
    /// the longest possible synchronisation round.
    pub fn error_bound(&self) -> Duration {
        self.accuracy(self.round_trip_max, self.timeout * self.attempts_max)
    }
}

/// Messages between a client and the server.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Msg {
    /// "What time is it?"
    Request {
        /// Matches the reply to the request (a late reply to a retried
        /// request is recognised and ignored).
        request: u64,
    },
    /// The server's clock when the request arrived and when the reply left.
    Reply {
        /// The request answered.
        request: u64,
        /// `T2`.
        server_receive: Duration,
        /// `T3`.
        server_send: Duration,
    },
}

impl Message for Msg {}

/// Timers of a Cristian node. A request's timeout names the request, so the
/// reply cancels exactly that timeout (by its value), and the timeouts of
/// two requests never replace one another.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Timer {
    /// Start a synchronisation.
    Sync,
    /// A request went unanswered for `timeout`.
    Timeout {
        /// The request.
        request: u64,
    },
    /// Emit a reading.
    Sample,
}

/// One answered request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Sample {
    /// Estimated server time minus the client's hardware clock at `T4`.
    offset_ns: i64,
    /// `(T4 − T1) − (T3 − T2)`.
    round_trip: Duration,
    /// The client's hardware clock at `T4`.
    taken_at: Duration,
}

/// The request in flight; its timeout is `Timer::Timeout { request }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Outstanding {
    request: u64,
    sent_at: Duration,
}

/// A client's state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Client {
    next_request: u64,
    outstanding: Option<Outstanding>,
    /// Requests sent in this synchronisation.
    attempts: u32,
    /// Replies received in this synchronisation (kept or discarded).
    answered: u32,
    best: Option<Sample>,
    syncs: u64,
}

/// A node of Cristian's algorithm: the server, or a client (see the
/// [module docs](self)). Emits [`SyncEvent`]s.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Cristian {
    config: CristianConfig,
    clock: SoftwareClock,
    /// `None` on the server.
    client: Option<Client>,
}

impl Cristian {
    /// The node `id`: the server if `id == config.server`, else a client.
    pub fn new(id: NodeId, config: CristianConfig) -> Result<Self> {
        config.validate()?;
        Ok(Cristian {
            config,
            clock: SoftwareClock::new(config.discipline)?,
            client: (id != config.server).then(Client::default),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &CristianConfig {
        &self.config
    }

    /// Whether this node is the server.
    pub fn is_server(&self) -> bool {
        self.client.is_none()
    }

    /// The software clock (read it with the node's hardware clock).
    pub fn clock(&self) -> &SoftwareClock {
        &self.clock
    }

    /// Synchronisations completed (0 on the server).
    pub fn syncs(&self) -> u64 {
        self.client.as_ref().map_or(0, |c| c.syncs)
    }

    /// Sends the next request of this synchronisation, or ends it.
    fn next_request_or_finish(&mut self, ctx: &mut Context<'_, Self>) {
        let config = self.config;
        let Some(client) = self.client.as_mut() else {
            return;
        };
        if client.answered < config.samples_per_sync && client.attempts < config.attempts_max {
            let request = client.next_request;
            client.next_request += 1;
            client.attempts += 1;
            ctx.send(config.server, Msg::Request { request });
            ctx.set_timer(config.timeout, Timer::Timeout { request });
            client.outstanding = Some(Outstanding {
                request,
                sent_at: ctx.now(),
            });
            return;
        }
        // Done: apply the best sample, if any, and sleep until the next one.
        let best = client.best.take();
        client.attempts = 0;
        client.answered = 0;
        if let Some(sample) = best {
            client.syncs += 1;
            self.apply(ctx, sample);
        }
        ctx.set_timer(config.period, Timer::Sync);
    }

    fn apply(&mut self, ctx: &mut Context<'_, Self>, sample: Sample) {
        let now = ctx.now();
        let delta_ns = sample.offset_ns.saturating_sub(self.clock.offset_ns(now));
        let accuracy = self
            .config
            .accuracy(sample.round_trip, now.saturating_sub(sample.taken_at));
        let (event, _) = sync::correct(
            &mut self.clock,
            now,
            delta_ns,
            accuracy,
            ErrorBound::External,
        );
        ctx.emit(event);
    }
}

impl Node for Cristian {
    type Msg = Msg;
    type Timer = Timer;
    type Request = ();
    type Event = SyncEvent;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if self.is_server() {
            // The reference clock: exact by assumption, and claimed so, so
            // that the checkers verify the assumption too.
            let clock = self.clock.read(ctx.now());
            ctx.emit(SyncEvent::Adjusted {
                before: clock,
                after: clock,
                bound: ErrorBound::External(Duration::ZERO),
            });
        }
        sync::sample_later(ctx, self.config.sample_interval, Timer::Sample);
        self.next_request_or_finish(ctx);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Request { request } => {
                if self.is_server() {
                    let now = self.clock.read(ctx.now());
                    ctx.send(
                        from,
                        Msg::Reply {
                            request,
                            server_receive: now,
                            server_send: now,
                        },
                    );
                }
            }
            Msg::Reply {
                request,
                server_receive,
                server_send,
            } => {
                let config = self.config;
                let Some(client) = self.client.as_mut() else {
                    return;
                };
                // Only the reply to the request in flight counts: a late reply
                // to a timed-out request, or a duplicate, is ignored.
                let Some(out) = client.outstanding.filter(|o| o.request == request) else {
                    return;
                };
                client.outstanding = None;
                ctx.cancel_timer(&Timer::Timeout { request });
                let t4 = ctx.now();
                let held = server_send.saturating_sub(server_receive);
                let round_trip = t4.saturating_sub(out.sent_at).saturating_sub(held);
                client.answered += 1;
                if round_trip <= config.round_trip_max {
                    let estimate = if config.delay_correction {
                        server_send + round_trip / 2
                    } else {
                        server_send
                    };
                    let sample = Sample {
                        offset_ns: to_ns(estimate) - to_ns(t4),
                        round_trip,
                        taken_at: t4,
                    };
                    if client.best.is_none_or(|b| sample.round_trip < b.round_trip) {
                        client.best = Some(sample);
                    }
                }
                self.next_request_or_finish(ctx);
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Timer) {
        match timer {
            Timer::Sync => self.next_request_or_finish(ctx),
            Timer::Timeout { request } => {
                let Some(client) = self.client.as_mut() else {
                    return;
                };
                if client.outstanding.is_some_and(|o| o.request == request) {
                    client.outstanding = None;
                    self.next_request_or_finish(ctx);
                }
            }
            Timer::Sample => {
                sync::sample(ctx, &self.clock, self.config.sample_interval, Timer::Sample)
            }
        }
    }
}

/// The configuration `dsys sim cristian` uses for a run's options: the
/// minimum delay is the options' minimum latency; timeouts and the round
/// trip limit follow the maximum latency.
pub fn scenario_config(options: &SimOptions) -> CristianConfig {
    let latency_max = options.latency.max;
    CristianConfig {
        min_one_way_delay: options.latency.min,
        timeout: latency_max * 2 + Duration::from_millis(10),
        round_trip_max: latency_max * 2 + Duration::from_millis(1),
        drift_max_ppm: DriftingClocks::default().drift_max_ppm,
        ..CristianConfig::default()
    }
}

/// The hardware clocks of a scenario: [`DriftingClocks::default`] from the
/// seed, except the server's, which is perfect (it is the reference).
pub fn scenario_clocks(options: &SimOptions) -> Vec<ClockConfig> {
    let mut clocks = DriftingClocks::default().clocks(options.seed, options.nodes);
    if let Some(server) = clocks.first_mut() {
        *server = ClockConfig::default();
    }
    clocks
}

/// Accuracy (external synchronisation): every node's error against true
/// time stays within the bound it claimed (`RTT/2 − min` plus drift) —
/// [`sync::check_external`] with the configured ρ.
pub fn accuracy(sim: &Simulation<Cristian>) -> std::result::Result<(), String> {
    let nodes: Vec<NodeId> = sim.ids().collect();
    let drift_max_ppm = sim
        .nodes()
        .map(|(_, n)| n.config.drift_max_ppm)
        .max()
        .unwrap_or(0);
    sync::check_external(sim, &nodes, drift_max_ppm)
}

/// `dsys sim cristian`: n0 is a time server with a perfect clock, the other
/// nodes are clients with skewed, drifting clocks from the seed; judges
/// accuracy and (on a reliable network) that every client synchronises.
pub const ALGORITHM: Algorithm = Algorithm {
    name: "cristian",
    summary: "Cristian's algorithm: clients track a time server, error within RTT/2 - min",
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
        move |id| Cristian::new(id, config).expect("configuration validated above"),
        &[
            Property {
                name: "accuracy (RTT/2 - min)",
                check: Check::at_end(|sim, _| Verdict::from(accuracy(sim))),
            },
            Property {
                name: "every client synchronises",
                check: Check::at_end(|sim, options| {
                    if let Some(skipped) = sync::unreliable(options) {
                        return skipped;
                    }
                    if options.until < scenario_config(options).period * 2 {
                        return Verdict::Skipped("the run is shorter than two periods".into());
                    }
                    let nodes: Vec<NodeId> = sim.ids().collect();
                    Verdict::from(sync::check_synchronised(sim, &nodes))
                }),
            },
            Property {
                name: "clocks",
                check: Check::figure(|sim, _| {
                    let nodes: Vec<NodeId> = sim.ids().collect();
                    sync::story(sim, &nodes, None)
                }),
            },
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsys_core::testing::Harness;
    use dsys_core::Effect;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn config() -> CristianConfig {
        CristianConfig {
            samples_per_sync: 2,
            attempts_max: 3,
            min_one_way_delay: MS(1),
            sample_interval: None,
            ..CristianConfig::default()
        }
    }

    #[test]
    fn invalid_configurations_say_what_to_fix() {
        let bad = CristianConfig {
            samples_per_sync: 5,
            attempts_max: 4,
            ..CristianConfig::default()
        };
        let err = Cristian::new(NodeId(1), bad).unwrap_err();
        assert!(err.to_string().contains("attempts_max (4)"), "{err}");
        let bad = CristianConfig {
            round_trip_max: MS(1),
            min_one_way_delay: MS(1),
            ..CristianConfig::default()
        };
        assert!(Cristian::new(NodeId(1), bad).is_err());
    }

    #[test]
    fn the_error_bound_is_half_the_longest_round_trip_less_min_plus_drift() {
        let config = config();
        // 40/2 − 1 = 19 ms, plus 500 ppm of (40 + 3 × 50) ms = 95 µs.
        assert_eq!(config.error_bound(), MS(19) + Duration::from_micros(95));
    }

    #[test]
    fn server_answers_with_its_clock() {
        let mut h = Harness::new(Cristian::new(NodeId(0), config()).unwrap(), NodeId(0), 2);
        h.set_now(MS(500));
        assert_eq!(
            h.start(),
            vec![Effect::Emit(SyncEvent::Adjusted {
                before: MS(500),
                after: MS(500),
                bound: ErrorBound::External(Duration::ZERO)
            })]
        );
        h.set_now(MS(700));
        assert_eq!(
            h.message(NodeId(1), Msg::Request { request: 4 }),
            vec![Effect::Send {
                to: NodeId(1),
                msg: Msg::Reply {
                    request: 4,
                    server_receive: MS(700),
                    server_send: MS(700)
                }
            }]
        );
    }

    #[test]
    fn each_invalid_field_is_rejected_alone_and_the_limits_are_accepted() {
        let base = CristianConfig::default();
        let rejected = |c: CristianConfig| c.validate().is_err();
        // No samples at all (attempts_max is still above it).
        assert!(rejected(CristianConfig {
            samples_per_sync: 0,
            ..base
        }));
        // A zero period or a zero timeout, each on its own.
        assert!(rejected(CristianConfig {
            period: Duration::ZERO,
            ..base
        }));
        assert!(rejected(CristianConfig {
            timeout: Duration::ZERO,
            ..base
        }));
        assert!(rejected(CristianConfig {
            sample_interval: Some(Duration::ZERO),
            ..base
        }));
        // As many attempts as samples (no retry to spare), and a round trip
        // limit of exactly two minimum delays, are the tightest valid ones.
        assert_eq!(
            CristianConfig {
                samples_per_sync: 3,
                attempts_max: 3,
                ..base
            }
            .validate(),
            Ok(())
        );
        assert_eq!(
            CristianConfig {
                round_trip_max: MS(4),
                min_one_way_delay: MS(2),
                ..base
            }
            .validate(),
            Ok(())
        );
    }

    #[test]
    fn a_node_keeps_its_configuration_and_counts_its_synchronisations() {
        let server = Cristian::new(NodeId(0), config()).unwrap();
        assert!(server.is_server());
        assert_eq!(server.config(), &config());
        let mut h = Harness::new(Cristian::new(NodeId(1), config()).unwrap(), NodeId(1), 2);
        assert!(!h.node().is_server());
        assert_eq!(h.node().syncs(), 0);
        h.start();
        let reply = |request| Msg::Reply {
            request,
            server_receive: MS(5),
            server_send: MS(5),
        };
        h.message(NodeId(0), reply(0));
        h.message(NodeId(0), reply(1));
        assert_eq!(h.node().syncs(), 1);
        // A synchronisation whose requests all time out does not count.
        h.timer(Timer::Sync);
        for request in 2..5 {
            h.timer(Timer::Timeout { request });
        }
        assert_eq!(h.node().syncs(), 1);
        h.timer(Timer::Sync);
        h.message(NodeId(0), reply(5));
        h.message(NodeId(0), reply(6));
        assert_eq!(h.node().syncs(), 2);
    }

    #[test]
    fn of_two_samples_with_the_same_round_trip_the_first_is_kept() {
        let mut h = Harness::new(Cristian::new(NodeId(1), config()).unwrap(), NodeId(1), 2);
        h.start();
        // Both round trips are 4 ms; the servers' times differ.
        h.set_now(MS(4));
        h.message(
            NodeId(0),
            Msg::Reply {
                request: 0,
                server_receive: MS(100),
                server_send: MS(100),
            },
        );
        h.set_now(MS(8));
        h.message(
            NodeId(0),
            Msg::Reply {
                request: 1,
                server_receive: MS(900),
                server_send: MS(900),
            },
        );
        // The first: T3 + RTT/2 = 102 ms at client time 4 ms, i.e. 98 ms ahead.
        assert_eq!(h.node().clock().read(MS(8)), MS(106));
    }

    #[test]
    fn readings_are_emitted_every_sample_interval() {
        let config = CristianConfig {
            sample_interval: Some(MS(20)),
            ..config()
        };
        let mut h = Harness::new(Cristian::new(NodeId(1), config).unwrap(), NodeId(1), 2);
        h.set_now(MS(3));
        assert_eq!(
            h.start()[0],
            Effect::SetTimer {
                after: MS(20),
                timer: Timer::Sample
            }
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
    fn the_scenario_derives_its_configuration_from_the_latencies() {
        let options = SimOptions {
            latency: dsys_core::scenario::LatencyRange {
                min: MS(2),
                max: MS(10),
            },
            ..SimOptions::default()
        };
        let config = scenario_config(&options);
        assert_eq!(
            (
                config.min_one_way_delay,
                config.timeout,
                config.round_trip_max
            ),
            (MS(2), MS(30), MS(21))
        );
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn the_scenario_server_keeps_true_time_and_the_clients_drift() {
        let options = SimOptions {
            nodes: 4,
            seed: 9,
            ..SimOptions::default()
        };
        let clocks = scenario_clocks(&options);
        let drifting = DriftingClocks::default().clocks(9, 4);
        assert_eq!(clocks.len(), 4);
        assert_eq!(clocks[0], ClockConfig::default());
        assert_eq!(clocks[1..], drifting[1..]);
        assert_ne!(drifting[0], ClockConfig::default());
    }

    #[test]
    fn the_scenario_judges_synchronisation_only_after_two_periods() {
        let verdict = |until| {
            let options = SimOptions {
                until,
                ..SimOptions::default()
            };
            let outcome = simulate(&options).unwrap();
            let names: Vec<&str> = outcome
                .report
                .verdicts
                .iter()
                .map(|(name, _)| name.as_str())
                .collect();
            assert_eq!(
                names,
                ["accuracy (RTT/2 - min)", "every client synchronises"]
            );
            outcome.report.verdicts[1].1.clone()
        };
        assert!(matches!(verdict(MS(200)), Verdict::Skipped(_)));
        assert_eq!(verdict(MS(500)), Verdict::Holds);
    }
}
