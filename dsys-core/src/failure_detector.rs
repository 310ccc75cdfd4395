//! A heartbeat failure detector: every node tells every other node "I am
//! alive" every `period`; a node that has not been heard from for `timeout`
//! is **suspected**; a heartbeat from a suspected node clears the suspicion.
//!
//! # Why it is only a suspicion
//!
//! In an asynchronous system a crashed process and a slow one (or one behind
//! a slow or partitioned link) look the same from outside: no message
//! arrives. A failure detector can therefore be wrong. Two properties
//! describe how good it is (Chandra & Toueg, 1996):
//!
//! - **Completeness**: every crashed process is eventually suspected by every
//!   correct process. A heartbeat detector has it: a crashed node sends no
//!   more heartbeats, so its timeout expires everywhere.
//! - **Accuracy**: no correct process is suspected. This needs a bound on
//!   delays: if every heartbeat arrives within `timeout − period` of the one
//!   before it, nobody is falsely suspected.
//!
//! When delays are unbounded, false suspicions happen. This detector is
//! *eventually perfect* in style (◇P): after a false suspicion it raises its
//! timeout for that peer by `timeout_increment` (up to `timeout_max`), so once
//! delays stop growing it stops being wrong.
//!
//! # Assumptions
//!
//! Crash failures (no Byzantine peers: a heartbeat is believed); local clocks
//! that run at about the right rate (timeouts are measured on them).
//!
//! # Message cost
//!
//! `n − 1` heartbeats per node per period: `n (n − 1)` per period for the
//! cluster.
//!
//! # Using it
//!
//! [`FailureDetector`] is the sans-IO core: it is told of heartbeats and asked
//! to check, and says who changed status. Embed it in any node (send your own
//! heartbeat message on your own timer), or run [`Heartbeat`], the ready-made
//! node that does exactly that and emits a [`Change`] for every suspicion and
//! un-suspicion.
//!
//! ```
//! use std::time::Duration;
//! use dsys_core::failure_detector::{Change, Heartbeat, HeartbeatConfig};
//! use dsys_core::sim::Simulation;
//! use dsys_core::NodeId;
//!
//! let config = HeartbeatConfig::default(); // period 50 ms, timeout 200 ms
//! let mut sim = Simulation::new(3, 1, move |_| Heartbeat::new(config));
//! sim.run_until(Duration::from_secs(1)).unwrap();
//! sim.crash(NodeId(2)).unwrap();
//! sim.run_until(Duration::from_secs(2)).unwrap();
//! for id in [NodeId(0), NodeId(1)] {
//!     let suspected: Vec<_> = sim.events(id).iter().map(|e| e.event.clone()).collect();
//!     assert_eq!(suspected, vec![Change::Suspect(NodeId(2))]);
//! }
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::node::{Context, Message, Node, NodeId};
use crate::scenario::{
    run_scenario, Algorithm, Check, Outcome, Property, SettingInfo, SimOptions, Verdict,
};
use crate::sim::Simulation;

/// Timing of a heartbeat failure detector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HeartbeatConfig {
    /// How often a node sends its heartbeat (and checks its peers).
    pub period: Duration,
    /// Silence after which a peer is suspected, at first.
    pub timeout: Duration,
    /// How much a peer's timeout grows after each false suspicion.
    pub timeout_increment: Duration,
    /// The largest a timeout may grow.
    pub timeout_max: Duration,
}

impl Default for HeartbeatConfig {
    fn default() -> Self {
        HeartbeatConfig {
            period: Duration::from_millis(50),
            timeout: Duration::from_millis(200),
            timeout_increment: Duration::from_millis(100),
            timeout_max: Duration::from_secs(5),
        }
    }
}

/// A change of a peer's status, as the detector sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Change {
    /// The peer has been silent for longer than its timeout.
    Suspect(NodeId),
    /// A suspected peer was heard from again: the suspicion was false.
    Trust(NodeId),
}

/// What the detector knows about one peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct PeerStatus {
    last_heard: Duration,
    timeout: Duration,
    suspected: bool,
}

/// The sans-IO core of a heartbeat failure detector.
///
/// ```
/// use std::time::Duration;
/// use dsys_core::failure_detector::{Change, FailureDetector, HeartbeatConfig};
/// use dsys_core::NodeId;
///
/// let ms = Duration::from_millis;
/// let mut fd = FailureDetector::new(HeartbeatConfig::default(), &[NodeId(1)], ms(0));
/// assert_eq!(fd.check(ms(150)), vec![]);
/// assert_eq!(fd.check(ms(201)), vec![Change::Suspect(NodeId(1))]);
/// // A late heartbeat: the suspicion was false, and the timeout grows.
/// assert_eq!(fd.heartbeat(NodeId(1), ms(250)), Some(Change::Trust(NodeId(1))));
/// assert_eq!(fd.timeout_of(NodeId(1)), Some(ms(300)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FailureDetector {
    config: HeartbeatConfig,
    peers: BTreeMap<NodeId, PeerStatus>,
}

impl FailureDetector {
    /// A detector watching `peers`, counting their silence from `now`.
    pub fn new(config: HeartbeatConfig, peers: &[NodeId], now: Duration) -> Self {
        let status = PeerStatus {
            last_heard: now,
            timeout: config.timeout,
            suspected: false,
        };
        FailureDetector {
            config,
            peers: peers.iter().map(|&p| (p, status)).collect(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &HeartbeatConfig {
        &self.config
    }

    /// A heartbeat (or any message: all prove life) from `from` arrived at
    /// `now`. Returns [`Change::Trust`] if `from` was suspected. Unknown
    /// peers are watched from now on.
    pub fn heartbeat(&mut self, from: NodeId, now: Duration) -> Option<Change> {
        let config = self.config;
        let status = self.peers.entry(from).or_insert(PeerStatus {
            last_heard: now,
            timeout: config.timeout,
            suspected: false,
        });
        status.last_heard = status.last_heard.max(now);
        if status.suspected {
            status.suspected = false;
            status.timeout = (status.timeout + config.timeout_increment).min(config.timeout_max);
            Some(Change::Trust(from))
        } else {
            None
        }
    }

    /// Suspects every peer silent for longer than its timeout at `now`;
    /// returns the newly suspected ones, in id order.
    pub fn check(&mut self, now: Duration) -> Vec<Change> {
        let mut changes = Vec::new();
        for (&peer, status) in &mut self.peers {
            if !status.suspected && now.saturating_sub(status.last_heard) > status.timeout {
                status.suspected = true;
                changes.push(Change::Suspect(peer));
            }
        }
        changes
    }

    /// Whether `peer` is suspected now.
    pub fn is_suspected(&self, peer: NodeId) -> bool {
        self.peers.get(&peer).is_some_and(|s| s.suspected)
    }

    /// Every suspected peer, in id order.
    pub fn suspects(&self) -> Vec<NodeId> {
        self.peers
            .iter()
            .filter(|(_, s)| s.suspected)
            .map(|(&p, _)| p)
            .collect()
    }

    /// The current timeout for `peer` (grown by false suspicions).
    pub fn timeout_of(&self, peer: NodeId) -> Option<Duration> {
        self.peers.get(&peer).map(|s| s.timeout)
    }
}

/// The heartbeat message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Alive;

impl Message for Alive {}

/// The one timer: send heartbeats and check peers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tick;

/// A node that runs the failure detector and nothing else, emitting every
/// [`Change`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Heartbeat {
    config: HeartbeatConfig,
    detector: Option<FailureDetector>,
}

impl Heartbeat {
    /// A node with the given timing.
    pub fn new(config: HeartbeatConfig) -> Self {
        Heartbeat {
            config,
            detector: None,
        }
    }

    /// The detector (`None` before the node starts).
    pub fn detector(&self) -> Option<&FailureDetector> {
        self.detector.as_ref()
    }

    /// The detector, mutably (for tests and embedding).
    pub fn detector_mut(&mut self) -> Option<&mut FailureDetector> {
        self.detector.as_mut()
    }

    fn emit_all(ctx: &mut Context<'_, Self>, changes: impl IntoIterator<Item = Change>) {
        for change in changes {
            ctx.emit(change);
        }
    }
}

impl Node for Heartbeat {
    type Msg = Alive;
    type Timer = Tick;
    type Request = ();
    type Event = Change;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.detector = Some(FailureDetector::new(self.config, ctx.peers(), ctx.now()));
        ctx.broadcast(Alive);
        ctx.set_timer(self.config.period, Tick);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, _: Alive) {
        let now = ctx.now();
        if let Some(change) = self.detector.as_mut().and_then(|d| d.heartbeat(from, now)) {
            ctx.emit(change);
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _: Tick) {
        ctx.broadcast(Alive);
        ctx.set_timer(self.config.period, Tick);
        let now = ctx.now();
        if let Some(detector) = self.detector.as_mut() {
            let changes = detector.check(now);
            Self::emit_all(ctx, changes);
        }
    }
}

/// Completeness: every node crashed (and not restarted) at least
/// `timeout + 2 × period + latency` before the end is suspected by every live
/// node. Judged on the nodes' current suspicions.
pub fn completeness(sim: &Simulation<Heartbeat>, latency_max: Duration) -> Result<(), String> {
    let crashed: Vec<NodeId> = sim.ids().filter(|&id| !sim.is_up(id)).collect();
    for (id, node) in sim.nodes() {
        let Some(detector) = node.detector() else {
            continue;
        };
        let config = detector.config();
        let settle = config.timeout_max.min(config.timeout) + config.period * 2 + latency_max;
        for &dead in &crashed {
            let crashed_at = sim
                .trace()
                .and_then(|t| {
                    t.events()
                        .iter()
                        .rev()
                        .find(|e| {
                            e.node == Some(dead) && matches!(e.kind, crate::trace::TraceKind::Crash)
                        })
                        .map(|e| e.time())
                })
                .unwrap_or(Duration::ZERO);
            if sim.now() >= crashed_at + settle && !detector.is_suspected(dead) {
                return Err(format!(
                    "{id} does not suspect {dead}, crashed at {crashed_at:?}"
                ));
            }
        }
    }
    Ok(())
}

/// Accuracy: no node suspected a node before that node first crashed.
/// Holds when every heartbeat arrives within `timeout − period` (no loss,
/// no partition, latency below that bound). Crash times come from the trace
/// when tracing is on; without a trace, a node that was ever crashed counts
/// as crashed from the start (a coarser judgement).
pub fn accuracy(sim: &Simulation<Heartbeat>) -> Result<(), String> {
    let first_crash = |peer: NodeId| -> Option<Duration> {
        match sim.trace() {
            Some(trace) => trace
                .events()
                .iter()
                .find(|e| e.node == Some(peer) && matches!(e.kind, crate::trace::TraceKind::Crash))
                .map(|e| e.time()),
            None => (sim.incarnation(peer).is_some_and(|i| i > 0) || !sim.is_up(peer))
                .then_some(Duration::ZERO),
        }
    };
    for id in sim.ids() {
        for emitted in sim.events(id) {
            if let Change::Suspect(peer) = emitted.event {
                match first_crash(peer) {
                    Some(crashed_at) if crashed_at <= emitted.time => {}
                    Some(crashed_at) => {
                        return Err(format!(
                        "{id} suspected {peer} at {:?}, before {peer} crashed at {crashed_at:?}",
                        emitted.time
                    ))
                    }
                    None => {
                        return Err(format!(
                            "{id} suspected {peer} at {:?}, but {peer} never crashed",
                            emitted.time
                        ))
                    }
                }
            }
        }
    }
    Ok(())
}

/// `dsys sim heartbeat`: the failure detector with default timing; judges
/// completeness and accuracy. Accuracy needs every heartbeat to arrive
/// within timeout − period; when the run breaks that (loss, a partition,
/// latency or settings), a false suspicion is reported as expected.
///
/// `dsys sim heartbeat --set timeout-ms=60` shows false suspicions once the
/// timeout is close to the period plus the latency.
pub const ALGORITHM: Algorithm = Algorithm {
    name: "heartbeat",
    summary: "heartbeat failure detector: suspects silent nodes (completeness, accuracy)",
    run: simulate,
    model: None,
    settings: &[
        SettingInfo {
            name: "period-ms",
            default: "50",
            help: "how often a node sends its heartbeat (1 or more)",
        },
        SettingInfo {
            name: "timeout-ms",
            default: "200",
            help: "silence after which a peer is suspected, at first (above the period); it \
                   grows by 100 ms after each false suspicion",
        },
    ],
    defects: &[],
};

/// The timing `options`' settings choose.
fn configured(options: &SimOptions) -> crate::Result<HeartbeatConfig> {
    let period: u64 = ALGORITHM.setting(options, "period-ms")?;
    let timeout: u64 = ALGORITHM.setting(options, "timeout-ms")?;
    if period == 0 || timeout <= period {
        return Err(crate::Error::InvalidConfig(format!(
            "--set period-ms={period}, timeout-ms={timeout}: the period must be 1 ms or more and \
             the timeout longer than the period"
        )));
    }
    Ok(HeartbeatConfig {
        period: Duration::from_millis(period),
        timeout: Duration::from_millis(timeout),
        ..HeartbeatConfig::default()
    })
}

/// Why `options` and `config` give no accuracy guarantee, if they do not.
fn accuracy_unassured(config: &HeartbeatConfig, options: &SimOptions) -> Option<String> {
    if options.loss > 0.0 {
        Some(format!("--loss {} drops heartbeats", options.loss))
    } else if !options.partitions.is_empty() {
        Some("a partition silences live nodes".into())
    } else if options.latency.max >= config.timeout - config.period {
        Some(format!(
            "accuracy needs latency below timeout − period ({:?}), and this run's reaches {:?}",
            config.timeout - config.period,
            options.latency.max
        ))
    } else {
        None
    }
}

fn simulate(options: &SimOptions) -> crate::Result<Outcome> {
    let config = configured(options)?;
    let mut options = options.clone();
    options.trace = true; // completeness needs the crash times
    run_scenario(
        ALGORITHM.name,
        &options,
        move |_| Heartbeat::new(config),
        &[
            Property {
                name: "completeness",
                check: Check::at_end(|sim, options| completeness(sim, options.latency.max).into()),
            },
            Property {
                name: "accuracy",
                check: Check::at_end(move |sim, options| {
                    Verdict::unless_broken(accuracy(sim), accuracy_unassured(&config, options))
                }),
            },
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::SimOptions;
    use crate::sim::{Fault, Latency, LinkConfig, Script};
    use crate::testing::Harness;
    use crate::Effect;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn tick_sends_heartbeats_then_suspects_the_silent() {
        let mut h = Harness::new(Heartbeat::new(HeartbeatConfig::default()), NodeId(0), 3);
        h.start();
        h.set_now(MS(150));
        h.message(NodeId(1), Alive);
        h.set_now(MS(250));
        assert_eq!(
            h.timer(Tick),
            vec![
                Effect::Send {
                    to: NodeId(1),
                    msg: Alive
                },
                Effect::Send {
                    to: NodeId(2),
                    msg: Alive
                },
                Effect::SetTimer {
                    after: MS(50),
                    timer: Tick
                },
                Effect::Emit(Change::Suspect(NodeId(2))),
            ]
        );
        // n2 is alive after all: trusted again.
        assert_eq!(
            h.message(NodeId(2), Alive),
            vec![Effect::Emit(Change::Trust(NodeId(2)))]
        );
    }

    #[test]
    fn false_suspicions_grow_the_timeout_up_to_the_maximum() {
        let config = HeartbeatConfig {
            timeout_max: MS(350),
            ..HeartbeatConfig::default()
        };
        let mut fd = FailureDetector::new(config, &[NodeId(1)], MS(0));
        let mut now = MS(0);
        for expected in [300, 350, 350] {
            now += MS(1000);
            assert_eq!(fd.check(now), vec![Change::Suspect(NodeId(1))]);
            assert_eq!(fd.check(now), vec![], "a suspicion is reported once");
            assert_eq!(fd.heartbeat(NodeId(1), now), Some(Change::Trust(NodeId(1))));
            assert_eq!(fd.timeout_of(NodeId(1)), Some(MS(expected)));
        }
        assert!(fd.suspects().is_empty());
    }

    #[test]
    fn a_peer_is_suspected_once_its_silence_exceeds_the_timeout_not_when_it_equals_it() {
        let mut fd = FailureDetector::new(HeartbeatConfig::default(), &[NodeId(1)], MS(10));
        assert_eq!(fd.check(MS(210)), vec![], "silent for exactly the timeout");
        assert!(!fd.is_suspected(NodeId(1)));
        assert_eq!(
            fd.check(MS(210) + Duration::from_nanos(1)),
            vec![Change::Suspect(NodeId(1))]
        );
        assert!(fd.is_suspected(NodeId(1)));
        assert!(
            !fd.is_suspected(NodeId(7)),
            "an unknown peer is not suspected"
        );
        assert_eq!(fd.suspects(), vec![NodeId(1)]);
        assert_eq!(fd.timeout_of(NodeId(7)), None);
    }

    #[test]
    fn a_heartbeat_from_an_unknown_peer_watches_it_from_then_on() {
        let config = HeartbeatConfig {
            timeout: MS(70),
            ..HeartbeatConfig::default()
        };
        let mut fd = FailureDetector::new(config, &[], MS(0));
        assert_eq!(fd.config(), &config);
        assert_eq!(fd.heartbeat(NodeId(4), MS(100)), None);
        assert_eq!(fd.timeout_of(NodeId(4)), Some(MS(70)));
        assert_eq!(fd.check(MS(170)), vec![]);
        assert_eq!(fd.check(MS(171)), vec![Change::Suspect(NodeId(4))]);
    }

    #[test]
    fn the_node_builds_its_detector_on_start_over_its_peers() {
        let mut h = Harness::new(Heartbeat::new(HeartbeatConfig::default()), NodeId(1), 3);
        assert!(h.node().detector().is_none());
        h.start();
        let detector = h.node_mut().detector_mut().expect("started");
        assert_eq!(detector.timeout_of(NodeId(0)), Some(MS(200)));
        assert_eq!(detector.timeout_of(NodeId(2)), Some(MS(200)));
        assert_eq!(detector.timeout_of(NodeId(1)), None, "not itself");
        assert_eq!(h.node().detector().unwrap().suspects(), vec![]);
    }

    /// Three nodes on 5 ms links, traced; `crashes` are (node, ms) pairs.
    fn run_with_crashes(crashes: &[(u32, u64)], until_ms: u64) -> Simulation<Heartbeat> {
        let mut sim = Simulation::new(3, 1, |_| Heartbeat::new(HeartbeatConfig::default()));
        sim.set_all_links(LinkConfig::reliable(Latency::Fixed(MS(5))))
            .unwrap();
        sim.enable_trace();
        for &(node, at) in crashes {
            sim.fault_at(MS(at), Fault::Crash(NodeId(node))).unwrap();
        }
        sim.run_until(MS(until_ms)).unwrap();
        sim
    }

    /// Makes `node` trust `peer` again, as a detector that lost a suspicion
    /// would.
    fn forget_suspicion(sim: &mut Simulation<Heartbeat>, node: NodeId, peer: NodeId) {
        let now = sim.local_time(node).unwrap();
        let detector = sim.node_mut(node).unwrap().detector_mut().unwrap();
        assert_eq!(detector.heartbeat(peer, now), Some(Change::Trust(peer)));
    }

    #[test]
    fn completeness_allows_timeout_two_periods_and_the_latency_after_the_crash() {
        // n2 crashes at 100 ms; at 1000 ms n0 trusts it again. The settling
        // time is 200 ms + 2 × 50 ms + the latency bound, so with a latency
        // of 600 ms the deadline is exactly now (a failure), and 1 ns more
        // puts it in the future.
        n2s_deadline_is_600ms_of_latency_after_its_crash(run_with_crashes(&[(2, 100)], 1_000));
    }

    /// With n0's suspicion of n2 (crashed at 100 ms) forgotten, completeness
    /// fails with a latency bound of 600 ms and holds 1 ns above it.
    fn n2s_deadline_is_600ms_of_latency_after_its_crash(mut sim: Simulation<Heartbeat>) {
        assert_eq!(completeness(&sim, MS(10)), Ok(()));
        forget_suspicion(&mut sim, NodeId(0), NodeId(2));
        assert_eq!(
            completeness(&sim, MS(600)),
            Err("n0 does not suspect n2, crashed at 100ms".to_string())
        );
        assert_eq!(
            completeness(&sim, MS(600) + Duration::from_nanos(1)),
            Ok(())
        );
    }

    #[test]
    fn completeness_dates_each_crash_by_that_nodes_own_last_crash() {
        // n2 crashes at 100 ms, n1 at 300 ms: n2's deadline counts from
        // 100 ms, not from the later crash of n1.
        n2s_deadline_is_600ms_of_latency_after_its_crash(run_with_crashes(
            &[(2, 100), (1, 300)],
            1_000,
        ));
    }

    /// Three untraced nodes on 5 ms links.
    fn untraced() -> Simulation<Heartbeat> {
        let mut sim = Simulation::new(3, 1, |_| Heartbeat::new(HeartbeatConfig::default()));
        sim.set_all_links(LinkConfig::reliable(Latency::Fixed(MS(5))))
            .unwrap();
        sim
    }

    #[test]
    fn accuracy_without_a_trace_accepts_suspicions_of_crashed_and_restarted_nodes() {
        let mut sim = untraced();
        sim.schedule(&Script::new().wait(MS(100)).crash(NodeId(2)))
            .unwrap();
        sim.run_until(MS(1_000)).unwrap();
        assert_eq!(suspicions(&sim), 2);
        assert_eq!(accuracy(&sim), Ok(()));

        let mut sim = untraced();
        sim.schedule(
            &Script::new()
                .wait(MS(100))
                .crash(NodeId(2))
                .wait(MS(500))
                .restart(NodeId(2)),
        )
        .unwrap();
        sim.run_until(MS(1_000)).unwrap();
        assert!(sim.is_up(NodeId(2)));
        assert_eq!(suspicions(&sim), 2);
        assert_eq!(accuracy(&sim), Ok(()));
    }

    #[test]
    fn accuracy_without_a_trace_rejects_suspicions_of_nodes_that_never_crashed() {
        let mut sim = untraced();
        sim.schedule(
            &Script::new()
                .wait(MS(100))
                .partition(&[NodeId(0), NodeId(1)], &[NodeId(2)])
                .wait(MS(500))
                .heal(),
        )
        .unwrap();
        sim.run_until(MS(1_000)).unwrap();
        assert_eq!(suspicions(&sim), 4);
        let error = accuracy(&sim).unwrap_err();
        assert!(error.contains("never crashed"), "{error}");
    }

    fn suspicions(sim: &Simulation<Heartbeat>) -> usize {
        sim.all_events()
            .iter()
            .filter(|(_, e)| matches!(e.event, Change::Suspect(_)))
            .count()
    }

    fn with_settings(settings: &[&str]) -> SimOptions {
        SimOptions {
            settings: settings.iter().map(|s| s.parse().unwrap()).collect(),
            ..SimOptions::default()
        }
    }

    #[test]
    fn settings_choose_the_period_and_timeout_which_must_exceed_it() {
        let config = configured(&with_settings(&["period-ms=20", "timeout-ms=21"])).unwrap();
        assert_eq!(
            config,
            HeartbeatConfig {
                period: MS(20),
                timeout: MS(21),
                ..HeartbeatConfig::default()
            }
        );
        assert_eq!(
            configured(&SimOptions::default()).unwrap(),
            HeartbeatConfig::default()
        );
        for bad in [
            ["period-ms=20", "timeout-ms=20"],
            ["period-ms=20", "timeout-ms=19"],
            ["period-ms=0", "timeout-ms=100"],
        ] {
            let error = configured(&with_settings(&bad)).unwrap_err().to_string();
            assert!(
                error.contains("the timeout longer than the period"),
                "{error}"
            );
        }
        assert!(configured(&with_settings(&["period-ms=1", "timeout-ms=2"])).is_ok());
    }

    #[test]
    fn accuracy_is_unassured_by_loss_partitions_or_latency_reaching_timeout_minus_period() {
        let config = HeartbeatConfig::default(); // timeout − period = 150 ms
        let mut options = SimOptions::default();
        assert_eq!(accuracy_unassured(&config, &options), None);
        options.latency.max = MS(150) - Duration::from_nanos(1);
        assert_eq!(accuracy_unassured(&config, &options), None);
        options.latency.max = MS(150);
        assert_eq!(
            accuracy_unassured(&config, &options),
            Some(
                "accuracy needs latency below timeout − period (150ms), and this run's reaches 150ms"
                    .to_string()
            )
        );
        let lossy = SimOptions {
            loss: 0.25,
            ..SimOptions::default()
        };
        assert_eq!(
            accuracy_unassured(&config, &lossy),
            Some("--loss 0.25 drops heartbeats".to_string())
        );
        let partitioned = SimOptions {
            partitions: vec!["0|1,2@100..600".parse().unwrap()],
            ..SimOptions::default()
        };
        assert_eq!(
            accuracy_unassured(&config, &partitioned),
            Some("a partition silences live nodes".to_string())
        );
    }

    #[test]
    fn the_scenario_judges_completeness_and_accuracy_on_a_traced_run() {
        let options = SimOptions {
            crashes: vec!["2@300".parse().unwrap()],
            ..SimOptions::default()
        };
        let outcome = simulate(&options).unwrap();
        assert!(outcome.trace.is_some(), "completeness needs the trace");
        assert_eq!(
            outcome.report.verdicts,
            vec![
                ("completeness".to_string(), Verdict::Holds),
                ("accuracy".to_string(), Verdict::Holds),
            ]
        );
    }
}
