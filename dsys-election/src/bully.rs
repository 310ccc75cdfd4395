//! The bully algorithm (Garcia-Molina): the highest live id becomes
//! coordinator; a process that notices the coordinator fail, or that
//! recovers, "bullies" every lower process into accepting a higher one.
//!
//! # The problem
//!
//! As for [`crate::ring`]: agree on the live process with the highest
//! id. Unlike the ring, processes may **crash** (and recover) at any time,
//! during an election too, and every process may talk to every other.
//!
//! # The algorithm
//!
//! Three messages: `Election` (to higher ids: "is anyone above me alive?"),
//! `Answer` ("yes, leave it to me"), `Coordinator` (to lower ids: "I am the
//! leader").
//!
//! 1. **Detect.** The coordinator sends a `Heartbeat` to everyone every
//!    `period`. Each process watches its coordinator with an embedded
//!    heartbeat [`FailureDetector`]; when it suspects the coordinator, it
//!    starts an election. Detection timeouts are **staggered by rank**
//!    (`timeout + detection_stagger × (N − 1 − id)`), so the highest
//!    survivor notices first and usually settles the matter alone.
//! 2. **Elect.** A process starting an election sends `Election` to every
//!    higher process it does not know to be down. If there is none, it
//!    declares itself at once (step 4). Otherwise it waits `answer_timeout`.
//! 3. **Answer.** A process receiving `Election` from a lower one replies
//!    `Answer` and starts its own election (if it is not already in one). A
//!    process that receives an `Answer` waits `coordinator_timeout` for a
//!    `Coordinator`; if none comes, it starts again (the answerer crashed).
//! 4. **Declare.** A process whose answer timeout expires with no `Answer`
//!    is the highest live one: it holds itself leader and sends
//!    `Coordinator` to every lower process, which holds it leader.
//! 5. **Bully.** A recovered process starts an election; if it has the
//!    highest id it declares itself at once and replaces the current
//!    leader. A process that receives `Coordinator` (or a coordinator's
//!    `Heartbeat`) from a *lower* id starts an election instead of accepting
//!    it; a coordinator that hears a heartbeat from a lower process tells it
//!    `Coordinator` again.
//!
//! Crash detection is twofold, and both are timeouts: the coordinator's
//! failure by the reused heartbeat detector (it watches only the current
//! coordinator, so heartbeats cost `N − 1` messages per period rather than
//! `N(N − 1)`; every message from the coordinator counts as a heartbeat;
//! the detector is rebuilt for each new coordinator), and a silent
//! higher process during an election by per-request timers
//! (`answer_timeout`, `coordinator_timeout`), which is what the algorithm's
//! synchronous-system assumption is about.
//!
//! # Assumptions
//!
//! - **Synchronous system**: every message arrives within a known bound
//!   `T` and a live process answers at once, so `answer_timeout ≥ 2T`
//!   (the default, 50 ms, assumes one-way delays up to 25 ms). Crashes are
//!   then detected reliably.
//! - Reliable links; crash (not Byzantine) failures; a recovering process
//!   keeps its id.
//!
//! # Guarantees
//!
//! - **E1 (safety)** when the timeouts hold: only the highest live process
//!   declares itself. With delays beyond `answer_timeout`, a process takes a
//!   slow higher one for dead and declares itself too: two live leaders.
//!   That is not a bug of this implementation but of the assumption, and a
//!   test (and the `bully` example) shows it. E1 can also fail, as Coulouris
//!   notes, when a process recovers while another announcement is still in
//!   flight.
//! - **E2 (liveness)**: every live process eventually holds the highest live
//!   id, once crashes stop.
//!
//! # Message cost
//!
//! Best case **`N − 2`**: the second-highest process notices the crash of
//! the highest and sends `Coordinator` to the `N − 2` others. Worst case
//! **`O(N²)`**: the lowest notices, and every process above it answers the
//! processes below it and starts an election of its own: with the top one
//! crashed, `N(N−1)/2` `Election` + `(N−1)(N−2)/2` `Answer` + `N − 2`
//! `Coordinator` = **`N² − N − 1`**. Tests measure both exactly. Heartbeats
//! (`N − 1` per period) are counted separately.
//!
//! # Embedding
//!
//! [`Bully`] is a [`Node`] of its own, and also a building block: a host
//! node keeps a `Bully` field, wraps its [`Msg`] and [`Timer`] in its own
//! enums, and hands it every election input with [`Bully::step`], which
//! records the election's sends and timers in the host's context and returns
//! the [`ElectionEvent`]s (leader changes) for the host to act on.
//!
//! ```
//! use std::time::Duration;
//! use dsys_core::sim::Simulation;
//! use dsys_core::{Context, Message, Node, NodeId};
//! use dsys_election::bully::{self, Bully, BullyConfig, Input};
//! use dsys_election::ElectionEvent;
//! use serde::{Deserialize, Serialize};
//!
//! /// A service whose leader does the work; it learns who leads from Bully.
//! #[derive(Debug)]
//! struct Service { election: Bully, leading: bool }
//!
//! #[derive(Clone, Debug, Serialize, Deserialize)]
//! enum ServiceMsg { Election(bully::Msg), Work(u32) }
//! impl Message for ServiceMsg {}
//!
//! impl Service {
//!     fn election(&mut self, ctx: &mut Context<'_, Self>, input: Input) {
//!         let events = self.election.step(ctx, input, ServiceMsg::Election, |t| t);
//!         for event in events {
//!             if let ElectionEvent::Elected(leader) = event {
//!                 self.leading = leader == ctx.id();
//!                 ctx.emit(leader);
//!             }
//!         }
//!     }
//! }
//!
//! impl Node for Service {
//!     type Msg = ServiceMsg;
//!     type Timer = bully::Timer; // the service has no timers of its own
//!     type Request = ();
//!     type Event = NodeId; // "the leader is now …"
//!     fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
//!         self.election(ctx, Input::Start);
//!     }
//!     fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: ServiceMsg) {
//!         match msg {
//!             ServiceMsg::Election(msg) => self.election(ctx, Input::Message { from, msg }),
//!             ServiceMsg::Work(_) => {} // the service's own protocol
//!         }
//!     }
//!     fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: bully::Timer) {
//!         self.election(ctx, Input::Timer(timer));
//!     }
//! }
//!
//! let config = BullyConfig::default();
//! let mut sim = Simulation::new(4, 3, move |_| Service {
//!     election: Bully::new(config).unwrap(),
//!     leading: false,
//! });
//! sim.run_until(Duration::from_secs(1)).unwrap();
//! sim.crash(NodeId(3)).unwrap(); // the leader
//! sim.run_until(Duration::from_secs(3)).unwrap();
//! assert!(sim.node(NodeId(2)).unwrap().leading);
//! assert_eq!(sim.events(NodeId(0)).last().unwrap().event, NodeId(2));
//! ```
//!
//! # Source
//!
//! H. Garcia-Molina, "Elections in a distributed computing system", *IEEE
//! Trans. Computers* C-31(1), 1982; Coulouris et al., *Distributed Systems*,
//! 5th ed., §15.3.1; van Steen & Tanenbaum, *Distributed Systems*, 3rd ed.,
//! §6.4.

use std::collections::BTreeSet;
use std::time::Duration;

use dsys_core::failure_detector::{Change, FailureDetector, HeartbeatConfig};
use dsys_core::model::{Model, ModelOptions, ModelVerdict, Property as ModelProperty};
use dsys_core::scenario::{
    run_scenario, Algorithm, Check, DefectInfo, Outcome, Property, SettingInfo, SimOptions, Verdict,
};
use dsys_core::{Context, Effect, InputOf, Message, Node, NodeId};
use serde::{Deserialize, Serialize};

use crate::event::{ElectionEvent, ElectionRequest, Elector};
use crate::{properties, Error, Result};

/// Timing and behaviour of a bully process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BullyConfig {
    /// The coordinator's heartbeat period and the base detection timeout.
    pub heartbeat: HeartbeatConfig,
    /// Extra detection timeout per rank below the top, so that higher
    /// processes notice a crashed coordinator first.
    pub detection_stagger: Duration,
    /// How long to wait for an `Answer` from a higher process (≥ twice the
    /// largest one-way delay, or E1 fails).
    pub answer_timeout: Duration,
    /// How long to wait for `Coordinator` after an `Answer`.
    pub coordinator_timeout: Duration,
    /// Start an election when the process starts (and so when it recovers).
    pub elect_on_start: bool,
    /// The leader every process holds at start (for scenarios that begin
    /// with a coordinator in place).
    pub initial_leader: Option<NodeId>,
    /// Wait `answer_timeout` before declaring (`false` is a deliberately
    /// broken variant: declares without waiting, breaking E1).
    pub waits_for_answers: bool,
    /// Bully: start an election on a `Coordinator` or a `Heartbeat` from a
    /// lower id (`false` is a deliberately broken variant: a process that
    /// recovers without an election accepts a lower leader, breaking E2).
    /// A process with no leader adopts the sender of a heartbeat it may not
    /// bully.
    pub bullies: bool,
}

impl Default for BullyConfig {
    /// Heartbeats every 50 ms, suspicion after 200 ms plus 100 ms per rank,
    /// 50 ms answer timeout, 150 ms coordinator timeout; every process
    /// starts an election when it starts.
    fn default() -> Self {
        BullyConfig {
            heartbeat: HeartbeatConfig::default(),
            detection_stagger: Duration::from_millis(100),
            answer_timeout: Duration::from_millis(50),
            coordinator_timeout: Duration::from_millis(150),
            elect_on_start: true,
            initial_leader: None,
            waits_for_answers: true,
            bullies: true,
        }
    }
}

impl BullyConfig {
    /// Checks the configuration.
    pub fn validate(&self) -> Result<()> {
        if self.heartbeat.period.is_zero() || self.answer_timeout.is_zero() {
            return Err(Error::InvalidConfig(
                "heartbeat.period and answer_timeout must be longer than zero".to_string(),
            ));
        }
        if self.coordinator_timeout < self.answer_timeout {
            return Err(Error::InvalidConfig(format!(
                "coordinator_timeout ({:?}) must be at least answer_timeout ({:?}): \
                 the answering process needs that long to declare itself",
                self.coordinator_timeout, self.answer_timeout
            )));
        }
        Ok(())
    }
}

/// Messages of the bully algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Msg {
    /// To a higher process: "is anyone above me alive?"
    Election,
    /// To a lower process that sent `Election`: "I am, leave it to me."
    Answer,
    /// To every lower process: "I am the coordinator."
    Coordinator,
    /// From the coordinator to everyone, every period: "still alive."
    Heartbeat,
}

impl Message for Msg {}

/// Timers of a bully process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Timer {
    /// Every heartbeat period: send a heartbeat (coordinator) or check the
    /// coordinator (everyone else).
    Tick,
    /// No `Answer` came for election `round`.
    AnswerTimeout {
        /// The election.
        round: u64,
    },
    /// No `Coordinator` came after an `Answer` in election `round`.
    CoordinatorTimeout {
        /// The election.
        round: u64,
    },
}

/// One input for an embedded [`Bully`], see [`Bully::step`]: the core's
/// [`dsys_core::Input`] with the bully's types (`Start`, `Message { from,
/// msg }`, `Timer(timer)`, `Request(request)`).
pub type Input = InputOf<Bully>;

/// Where a process is in an election.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Phase {
    Idle,
    /// Sent `Election` to the higher processes; waiting for an `Answer`.
    Electing {
        round: u64,
    },
    /// Got an `Answer`; waiting for `Coordinator`.
    AwaitingCoordinator {
        round: u64,
    },
}

/// One process of the bully algorithm; see the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Bully {
    config: BullyConfig,
    leader: Option<NodeId>,
    phase: Phase,
    round: u64,
    /// Coordinators this process suspected and has not heard from since.
    down: BTreeSet<NodeId>,
    /// Watches the coordinator (`None` when this process is coordinator or
    /// has none).
    detector: Option<FailureDetector>,
}

impl Bully {
    /// A process with this configuration.
    pub fn new(config: BullyConfig) -> Result<Self> {
        config.validate()?;
        Ok(Bully {
            config,
            leader: None,
            phase: Phase::Idle,
            round: 0,
            down: BTreeSet::new(),
            detector: None,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &BullyConfig {
        &self.config
    }

    /// Whether an election is under way at this process.
    pub fn is_electing(&self) -> bool {
        self.phase != Phase::Idle
    }

    /// Elections this process has started.
    pub fn elections_started(&self) -> u64 {
        self.round
    }

    /// Feeds one input to this process as part of a host node `H`: the
    /// election's sends and timers are recorded in the host's context,
    /// wrapped by `wrap_msg` and `wrap_timer` (the host unwraps them and
    /// hands them back as [`Input::Message`] and [`Input::Timer`]); its
    /// events are returned for the host to act on. See the
    /// [module docs](self) for a whole host node.
    pub fn step<H: Node>(
        &mut self,
        ctx: &mut Context<'_, H>,
        input: Input,
        wrap_msg: impl Fn(Msg) -> H::Msg,
        wrap_timer: impl Fn(Timer) -> H::Timer,
    ) -> Vec<ElectionEvent> {
        let effects = ctx.nested::<Bully>(|inner| input.apply(self, inner));
        let mut events = Vec::new();
        for effect in effects {
            match effect {
                Effect::Send { to, msg } => ctx.send(to, wrap_msg(msg)),
                Effect::SetTimer { after, timer } => ctx.set_timer(after, wrap_timer(timer)),
                Effect::CancelTimer { timer } => ctx.cancel_timer(&wrap_timer(timer)),
                Effect::Emit(event) => events.push(event),
            }
        }
        events
    }

    /// The detector's configuration for this process: the base timeout
    /// plus one stagger per rank below the top.
    fn detector_config(&self, ctx: &Context<'_, Self>) -> HeartbeatConfig {
        let rank = (ctx.cluster_size() - 1).saturating_sub(ctx.id().index()) as u32;
        HeartbeatConfig {
            timeout: self.config.heartbeat.timeout + self.config.detection_stagger * rank,
            ..self.config.heartbeat
        }
    }

    fn set_phase(&mut self, ctx: &mut Context<'_, Self>, phase: Phase) {
        match self.phase {
            Phase::Idle => {}
            Phase::Electing { round } => ctx.cancel_timer(&Timer::AnswerTimeout { round }),
            Phase::AwaitingCoordinator { round } => {
                ctx.cancel_timer(&Timer::CoordinatorTimeout { round })
            }
        }
        self.phase = phase;
    }

    fn set_leader(&mut self, ctx: &mut Context<'_, Self>, leader: NodeId) {
        self.set_phase(ctx, Phase::Idle);
        if self.leader != Some(leader) {
            self.leader = Some(leader);
            ctx.emit(ElectionEvent::Elected(leader));
        }
        self.detector = (leader != ctx.id())
            .then(|| FailureDetector::new(self.detector_config(ctx), &[leader], ctx.now()));
    }

    fn start_election(&mut self, ctx: &mut Context<'_, Self>) {
        self.round += 1;
        ctx.emit(ElectionEvent::Started);
        let me = ctx.id();
        let higher: Vec<NodeId> = ctx
            .peers()
            .iter()
            .copied()
            .filter(|&p| p > me && !self.down.contains(&p))
            .collect();
        for &p in &higher {
            ctx.send(p, Msg::Election);
        }
        if higher.is_empty() || !self.config.waits_for_answers {
            self.declare(ctx);
        } else {
            let round = self.round;
            ctx.set_timer(self.config.answer_timeout, Timer::AnswerTimeout { round });
            self.set_phase(ctx, Phase::Electing { round });
        }
    }

    fn declare(&mut self, ctx: &mut Context<'_, Self>) {
        let me = ctx.id();
        self.set_leader(ctx, me);
        let lower: Vec<NodeId> = ctx.peers().iter().copied().filter(|&p| p < me).collect();
        for p in lower {
            ctx.send(p, Msg::Coordinator);
        }
    }
}

impl Elector for Bully {
    fn leader(&self) -> Option<NodeId> {
        self.leader
    }
}

impl Node for Bully {
    type Msg = Msg;
    type Timer = Timer;
    type Request = ElectionRequest;
    type Event = ElectionEvent;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        ctx.set_timer(self.config.heartbeat.period, Timer::Tick);
        if let Some(leader) = self.config.initial_leader {
            self.set_leader(ctx, leader);
        }
        if self.config.elect_on_start {
            self.start_election(ctx);
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        // Any message proves its sender alive.
        self.down.remove(&from);
        let now = ctx.now();
        if let Some(detector) = self.detector.as_mut() {
            detector.heartbeat(from, now);
        }
        let me = ctx.id();
        match msg {
            Msg::Election if from < me => {
                ctx.send(from, Msg::Answer);
                if self.phase == Phase::Idle {
                    self.start_election(ctx);
                }
            }
            Msg::Election => {} // only lower processes send us elections
            Msg::Answer => {
                if let Phase::Electing { round, .. } = self.phase {
                    ctx.set_timer(
                        self.config.coordinator_timeout,
                        Timer::CoordinatorTimeout { round },
                    );
                    self.set_phase(ctx, Phase::AwaitingCoordinator { round });
                }
            }
            Msg::Coordinator if from < me && self.config.bullies => {
                // A lower process declared itself: bully it.
                if self.phase == Phase::Idle {
                    self.start_election(ctx);
                }
            }
            Msg::Coordinator => self.set_leader(ctx, from),
            Msg::Heartbeat if self.phase != Phase::Idle => {}
            Msg::Heartbeat if from < me && self.config.bullies && self.leader == Some(me) => {
                // A lower process still acts as coordinator (it has not yet
                // heard, or missed, our announcement): tell it again.
                ctx.send(from, Msg::Coordinator);
            }
            Msg::Heartbeat if from < me && self.config.bullies => {
                // A lower process acts as coordinator while this one is up
                // (this one recovered, or its announcement was missed):
                // bully it.
                self.start_election(ctx);
            }
            Msg::Heartbeat if self.leader.is_none() => self.set_leader(ctx, from),
            Msg::Heartbeat => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Timer) {
        match timer {
            Timer::Tick => {
                ctx.set_timer(self.config.heartbeat.period, Timer::Tick);
                let me = ctx.id();
                if self.leader == Some(me) {
                    ctx.broadcast(Msg::Heartbeat);
                }
                let now = ctx.now();
                let (Some(leader), Some(detector)) = (self.leader, self.detector.as_mut()) else {
                    return;
                };
                // The detector watches the coordinator only; `check` reports
                // a suspicion once.
                if detector.check(now).contains(&Change::Suspect(leader)) {
                    self.down.insert(leader);
                    if self.phase == Phase::Idle {
                        self.start_election(ctx);
                    }
                }
            }
            Timer::AnswerTimeout { round } => {
                if matches!(self.phase, Phase::Electing { round: r, .. } if r == round) {
                    self.phase = Phase::Idle; // the timer has fired: nothing to cancel
                    self.declare(ctx);
                }
            }
            Timer::CoordinatorTimeout { round } => {
                if matches!(self.phase, Phase::AwaitingCoordinator { round: r, .. } if r == round) {
                    self.phase = Phase::Idle;
                    self.start_election(ctx);
                }
            }
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: ElectionRequest) {
        match request {
            ElectionRequest::Start => {
                if self.phase == Phase::Idle {
                    self.start_election(ctx);
                }
            }
        }
    }
}

/// How long after the last crash or restart a bully election of
/// `cluster_size` processes is surely over with this configuration, on
/// links whose latency is at most `latency_max`: the slowest detection plus
/// a few election rounds.
pub fn settle_time(config: &BullyConfig, cluster_size: usize, latency_max: Duration) -> Duration {
    config.heartbeat.timeout
        + config.detection_stagger * cluster_size as u32
        + config.heartbeat.period * 2
        + (config.coordinator_timeout + latency_max * 4) * 3
}

/// `dsys sim bully`: every process starts an election at start (concurrent
/// elections), with the default configuration (answer timeout 50 ms:
/// `--latency-ms` above 25 breaks its assumption, and E1 with it, as
/// expected). Judges E1 and, when the network is reliable and the run
/// lasts long enough after the last crash or restart, E2.
///
/// A restart is the other assumption E1 needs (Coulouris §15.3.1): a
/// process replaced by one with the same id may announce itself while
/// another election is running, so an E1 failure in a run with restarts is
/// expected. `--defect declares-without-waiting` runs the broken variant
/// that breaks E1 without any fault.
pub const ALGORITHM: Algorithm = Algorithm {
    name: "bully",
    summary:
        "bully election: the highest live id wins despite crashes; N-2 to O(N^2) messages (E1, E2)",
    run: simulate,
    model: Some(check_model),
    settings: &[
        SettingInfo {
            name: "answer-timeout-ms",
            default: "50",
            help: "how long an election waits for an Answer from a higher process; below a round \
                   trip, a process declares itself while a higher one is alive (E1)",
        },
        SettingInfo {
            name: "coordinator-timeout-ms",
            default: "150",
            help: "how long a process waits for Coordinator after an Answer before it starts \
                   again",
        },
    ],
    defects: &[DefectInfo {
        name: "declares-without-waiting",
        breaks: "E1: a process declares itself coordinator without waiting for answers",
    }],
};

/// The configuration `options`' settings and defect choose.
fn configured(options: &SimOptions) -> dsys_core::Result<BullyConfig> {
    let defect = ALGORITHM.defect(options)?;
    let config = BullyConfig {
        answer_timeout: Duration::from_millis(ALGORITHM.setting(options, "answer-timeout-ms")?),
        coordinator_timeout: Duration::from_millis(
            ALGORITHM.setting(options, "coordinator-timeout-ms")?,
        ),
        waits_for_answers: defect != Some("declares-without-waiting"),
        ..BullyConfig::default()
    };
    Bully::new(config).map_err(|e| {
        dsys_core::Error::InvalidConfig(format!("the settings do not make a valid bully: {e}"))
    })?;
    Ok(config)
}

/// How many times timers may fire in a run of [`model`]: ticks re-arm for
/// ever, and every election's timeouts need a few.
pub const MODEL_TIMERS_MAX: u32 = 6;

/// The model `dsys check bully` explores: `nodes` processes that all start
/// an election at once, every interleaving of their messages, and timers
/// that fire only when no message is in flight (the synchrony the bully
/// algorithm assumes: an `Answer` always beats the answer timeout), at most
/// [`MODEL_TIMERS_MAX`] times. E1 is judged in every state
/// ([`properties::e1_states`]: a process holds no leader or the highest
/// id), and some state must have every process agree on the highest.
/// Crash-free: with crashes E1 holds only up to the detection window (see
/// [`properties::e1_safety`]).
///
/// ```
/// use dsys_election::bully::{model, BullyConfig};
///
/// let report = model(3, BullyConfig::default()).check();
/// assert!(report.passed(), "{report}");
/// let broken = BullyConfig { waits_for_answers: false, ..BullyConfig::default() };
/// let report = model(3, broken).check();
/// // n0 declares itself at once, before any answer: E1 fails at the start.
/// assert_eq!(report.counterexample().map(|(name, path)| (name, path.len())), Some(("E1", 0)));
/// ```
pub fn model(nodes: usize, config: BullyConfig) -> Model<Bully> {
    let highest = NodeId(nodes.saturating_sub(1) as u32);
    Model::new(nodes, move |_| {
        Bully::new(config).expect("a valid configuration")
    })
    .timers_when_quiet()
    .timers_max(MODEL_TIMERS_MAX)
    .property(ModelProperty::always("E1", properties::e1_states::<Bully>))
    .property(ModelProperty::sometimes(
        "every process holds the highest id",
        move |nodes: &[Option<Bully>]| nodes.iter().flatten().all(|n| n.leader == Some(highest)),
    ))
}

/// `dsys check bully`: [`model`] with the options' defect.
fn check_model(options: &ModelOptions) -> dsys_core::Result<ModelVerdict> {
    if options.crashes_max > 0 {
        return Err(dsys_core::Error::InvalidConfig(
            "the bully model is crash-free: E1 as a state invariant holds only without crashes \
             (a correct election breaks it until the crash is detected); `dsys sim bully --crash \
             ID@MS` judges crashed runs with the detection window"
                .to_string(),
        ));
    }
    let defect = ALGORITHM.defect_named(options.defect.as_deref())?;
    let config = BullyConfig {
        waits_for_answers: defect != Some("declares-without-waiting"),
        ..BullyConfig::default()
    };
    Ok(model(options.nodes, config).options(options).verdict())
}

fn simulate(options: &SimOptions) -> dsys_core::Result<Outcome> {
    let config = configured(options)?;
    let mut options = options.clone();
    options.trace = true; // E1 reads the decisions and crashes from the trace
    run_scenario(
        ALGORITHM.name,
        &options,
        move |_| Bully::new(config).expect("configured() validated it"),
        &[
            Property {
                name: "E1 safety",
                check: Check::at_end(move |sim, options| {
                    let result = properties::e1_safety(sim, Some(config.answer_timeout));
                    let round_trip = options.latency.max * 2;
                    let broken = if !config.waits_for_answers {
                        None
                    } else if round_trip > config.answer_timeout {
                        Some(format!(
                            "the bully algorithm assumes an Answer comes within the answer \
                             timeout ({:?}), and this run's round trip reaches {round_trip:?}",
                            config.answer_timeout
                        ))
                    } else if !options.restarts.is_empty() {
                        Some(
                            "a restarted process may announce itself while another election \
                             runs: bully does not guarantee E1 when crashed processes are \
                             replaced by ones with the same id"
                                .to_string(),
                        )
                    } else {
                        None
                    };
                    Verdict::unless_broken(result, broken)
                }),
            },
            Property {
                name: "E2 liveness",
                check: Check::at_end(move |sim, options| {
                    if options.loss > 0.0 || !options.partitions.is_empty() {
                        return Verdict::Skipped("bully assumes reliable links".into());
                    }
                    let settle = settle_time(&config, options.nodes, options.latency.max);
                    let last = properties::last_fault(options).unwrap_or_default();
                    if options.until < last + settle {
                        return Verdict::Skipped(format!(
                            "the run ends less than {settle:?} after the last crash or restart"
                        ));
                    }
                    properties::e2_liveness(sim.states()).into()
                }),
            },
            Property {
                name: "elections",
                check: Check::figure(|sim, _| properties::story(sim)),
            },
        ],
    )
}

#[cfg(test)]
mod tests;
