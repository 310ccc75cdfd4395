//! A model checker: every interleaving of a small configuration, explored
//! breadth-first, so that the first violation found is one of the shortest.
//!
//! A seeded simulation samples runs; a model checker visits all of them.
//! The [`Model`] of a configuration is the nodes' states, the messages in
//! flight (a multiset: any may be delivered next, so links reorder), the
//! pending timers (any may fire next: time is abstracted away, a timer only
//! says *that* it will fire, not when), the crashed nodes and the scripted
//! client requests not yet issued. From each state every enabled action is
//! taken:
//!
//! - deliver one message in flight (a crash loses the messages on their
//!   way to the node, as in the simulator; one sent to it while it is down
//!   reaches it if it restarts before delivery);
//! - drop it, when the network [loses](Network::lossy) messages;
//! - deliver a copy and keep it in flight, when it
//!   [duplicates](Network::duplicates_max) them (up to a bound per run);
//! - fire one pending timer;
//! - issue a node's next scripted [request](Model::request), when its guard
//!   holds;
//! - crash a node, or restart a crashed one from the factory (up to
//!   [`Model::crashes_max`] crashes).
//!
//! States are deduplicated by a 64-bit hash (of node states, messages,
//! timers and the script's progress), so node types must be `Clone + Eq +
//! Hash`, as every dsys node is. Properties are [`always`](Property::always)
//! (an invariant over node states: a violation comes with the path that
//! reaches it, shortest first) and [`sometimes`](Property::sometimes) (a
//! state is reachable: the sanity check that a test can reach a grant, a
//! decision, a leader at all) and [`eventually`](Property::eventually)
//! (liveness on the runs that end: in every state where nothing more can
//! happen, the predicate holds — a deadlock is such a state).
//!
//! What is abstracted: the nodes' local clocks read zero ([`Context::now`]
//! is not meaningful), and timers fire in any order — a run the model finds
//! may need timings a real network would not produce, which makes the
//! checker sound for safety (it over-approximates the runs) and blind to
//! liveness that depends on timing. Each node's RNG is seeded from the
//! model's seed and the node's incarnation, freshly for every step, so the
//! exploration is deterministic.
//!
//! ```
//! use dsys_core::model::{Model, Network, Property};
//! use dsys_core::ping_pong::{replies_match_pings, PingPong, PingPongConfig};
//!
//! // Two nodes, one closed-loop round each, on a network that loses messages.
//! let report = Model::new(2, |_| PingPong::new(PingPongConfig::closed_loop(1)))
//!     .network(Network { lossy: true, ..Network::default() })
//!     .property(Property::always("replies match pings", replies_match_pings))
//!     .property(Property::sometimes("a pong arrives", |nodes: &[Option<PingPong>]| {
//!         nodes.iter().flatten().any(|n| n.replies() > 0)
//!     }))
//!     .check();
//! assert!(report.passed(), "{report}");
//! assert!(report.exhaustive, "{report}");
//! ```
//!
//! [`Context::now`]: crate::Context::now

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::driver::Driver;
use crate::error::{Error, Result};
use crate::node::{Effect, Input, Node, NodeId};
use crate::sim::{Fault, Latency, LinkConfig, Pending, Simulation};

/// How the state space is explored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Strategy {
    /// Level by level: the first violation found is one of the shortest.
    #[default]
    BreadthFirst,
    /// Deepest first: reaches long runs sooner; a counterexample may be
    /// longer than needed. With a depth bound, a state first reached by a
    /// long path is not explored again from a shorter one, so a bounded
    /// search may miss what breadth-first finds.
    DepthFirst,
    /// `walks` random runs from the initial state (seeded by `seed`), for
    /// configurations too big to explore: never exhaustive.
    RandomWalks {
        /// How many runs.
        walks: u32,
        /// The seed of the choices.
        seed: u64,
    },
}

/// What the network may do to a message in flight.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Network {
    /// A message may be lost.
    pub lossy: bool,
    /// How many times in one run a message may be delivered while a copy
    /// stays in flight (0: never duplicates).
    pub duplicates_max: u32,
}

/// An invariant over node states: `Err(why)` when violated.
pub type Invariant<N> = Arc<dyn Fn(&[Option<N>]) -> Result<(), String> + Send + Sync>;

/// A predicate over node states.
pub type Predicate<N> = Arc<dyn Fn(&[Option<N>]) -> bool + Send + Sync>;

/// A property the checker judges over every reachable state.
#[derive(Clone)]
pub enum Property<N> {
    /// Holds in every reachable state.
    Always(&'static str, Invariant<N>),
    /// Holds in some reachable state.
    Sometimes(&'static str, Predicate<N>),
    /// Holds in every state where nothing more can happen (no message in
    /// flight, no timer pending, no request left to issue, no node down):
    /// liveness judged on the runs that end. A run that goes on forever is
    /// not judged, so this is sound but not complete.
    Eventually(&'static str, Predicate<N>),
}

impl<N> Property<N> {
    /// An invariant: `check` holds in every reachable state.
    pub fn always(
        name: &'static str,
        check: impl Fn(&[Option<N>]) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        Property::Always(name, Arc::new(check))
    }

    /// A reachability check: `found` holds in some reachable state.
    pub fn sometimes(
        name: &'static str,
        found: impl Fn(&[Option<N>]) -> bool + Send + Sync + 'static,
    ) -> Self {
        Property::Sometimes(name, Arc::new(found))
    }

    /// Liveness on finished runs: `done` holds whenever nothing more can
    /// happen (see [`Property::Eventually`]).
    pub fn eventually(
        name: &'static str,
        done: impl Fn(&[Option<N>]) -> bool + Send + Sync + 'static,
    ) -> Self {
        Property::Eventually(name, Arc::new(done))
    }

    /// The property's name.
    pub fn name(&self) -> &'static str {
        match self {
            Property::Always(name, _)
            | Property::Sometimes(name, _)
            | Property::Eventually(name, _) => name,
        }
    }
}

impl<N> fmt::Debug for Property<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Property::Always(name, _) => write!(f, "Always({name:?})"),
            Property::Sometimes(name, _) => write!(f, "Sometimes({name:?})"),
            Property::Eventually(name, _) => write!(f, "Eventually({name:?})"),
        }
    }
}

/// A guard on a scripted request: it is issued only in a state where the
/// guard holds of its node.
pub type Guard<N> = Arc<dyn Fn(&N) -> bool + Send + Sync>;

struct Scripted<N: Node> {
    node: NodeId,
    request: N::Request,
    when: Option<Guard<N>>,
}

/// One step of a path through the model.
#[derive(Clone, Debug)]
pub enum Action<N: Node> {
    /// `to` receives `msg` from `from`.
    Deliver {
        /// The sender.
        from: NodeId,
        /// The receiver.
        to: NodeId,
        /// The message.
        msg: N::Msg,
    },
    /// `to` receives a copy of `msg`; another stays in flight.
    Duplicate {
        /// The sender.
        from: NodeId,
        /// The receiver.
        to: NodeId,
        /// The message.
        msg: N::Msg,
    },
    /// The network loses `msg`.
    Drop {
        /// The sender.
        from: NodeId,
        /// The receiver.
        to: NodeId,
        /// The message.
        msg: N::Msg,
    },
    /// `node`'s `timer` fires.
    Fire {
        /// The node.
        node: NodeId,
        /// The timer.
        timer: N::Timer,
    },
    /// `node` is asked `request` (the next one of its script).
    Request {
        /// The node.
        node: NodeId,
        /// The request.
        request: N::Request,
    },
    /// `node` crashes: its state and timers are gone.
    Crash(NodeId),
    /// `node` restarts from the factory.
    Restart(NodeId),
}

impl<N: Node> fmt::Display for Action<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Deliver { from, to, msg } => write!(f, "{to} delivers {msg:?} from {from}"),
            Action::Duplicate { from, to, msg } => {
                write!(f, "{to} delivers a duplicate of {msg:?} from {from}")
            }
            Action::Drop { from, to, msg } => {
                write!(f, "the network drops {msg:?} from {from} to {to}")
            }
            Action::Fire { node, timer } => write!(f, "{node}'s timer {timer:?} fires"),
            Action::Request { node, request } => write!(f, "{node} is asked {request:?}"),
            Action::Crash(node) => write!(f, "{node} crashes"),
            Action::Restart(node) => write!(f, "{node} restarts"),
        }
    }
}

/// A message in flight.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Envelope<M> {
    from: NodeId,
    to: NodeId,
    msg: M,
}

/// One state of the model.
#[derive(Clone, PartialEq, Eq, Hash)]
struct State<N: Node> {
    nodes: Vec<Option<N>>,
    /// Messages in flight, in a canonical order (sorted by hash), so that
    /// two states with the same multiset are equal.
    network: Vec<Envelope<N::Msg>>,
    /// Pending timers per node, in the order they were set.
    timers: Vec<Vec<N::Timer>>,
    /// How many of each node's scripted requests were issued.
    issued: Vec<usize>,
    incarnations: Vec<u64>,
    crashes: u32,
    duplicates: u32,
}

/// Per visited state (by hash): its parent's hash and the action that led
/// there (`None` for the initial state), and its depth.
type Visited<N> = HashMap<u64, (Option<(u64, Action<N>)>, usize)>;

fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// The options of `dsys check ALGO`: what an algorithm's
/// [`Algorithm::model`](crate::scenario::Algorithm::model) builds its
/// model from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelOptions {
    /// Number of nodes.
    pub nodes: usize,
    /// A deliberate bug to check instead of the correct algorithm, by the
    /// name in [`Algorithm::defects`](crate::scenario::Algorithm::defects).
    pub defect: Option<String>,
    /// What the network may do.
    pub network: Network,
    /// Crashes per run.
    pub crashes_max: u32,
    /// Bounds of the search.
    pub depth_max: usize,
    /// See [`Model::states_max`].
    pub states_max: usize,
    /// See [`Model::time_max`].
    pub time_max: Duration,
    /// See [`Strategy`].
    pub strategy: Strategy,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            nodes: 3,
            defect: None,
            network: Network::default(),
            crashes_max: 0,
            depth_max: 64,
            states_max: 1_000_000,
            time_max: Duration::from_secs(60),
            strategy: Strategy::BreadthFirst,
        }
    }
}

/// What `dsys check` prints and how it exits: a [`ModelReport`] without
/// its node type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelVerdict {
    /// The report, as [`ModelReport`]'s `Display` writes it.
    pub text: String,
    /// [`ModelReport::passed`].
    pub passed: bool,
    /// [`ModelReport::exhaustive`].
    pub exhaustive: bool,
}

impl<N: Node> From<&ModelReport<N>> for ModelVerdict {
    fn from(report: &ModelReport<N>) -> Self {
        ModelVerdict {
            text: report.to_string(),
            passed: report.passed(),
            exhaustive: report.exhaustive,
        }
    }
}

/// A path run in the simulator by [`Model::replay`].
#[derive(Debug)]
pub struct Replayed<N: Node> {
    /// The simulation after the last step run, with its trace.
    pub sim: Simulation<N>,
    /// The first `always` property broken: its name, why, and after how
    /// many steps of the path (0: right after the nodes started).
    pub violated: Option<(&'static str, String, usize)>,
}

/// A configuration to explore: nodes from a factory, a network, a script
/// of client requests, faults, properties and bounds.
pub struct Model<N: Node> {
    nodes: usize,
    factory: Arc<dyn Fn(NodeId) -> N + Send + Sync>,
    network: Network,
    script: Vec<Scripted<N>>,
    crashes_max: u32,
    properties: Vec<Property<N>>,
    depth_max: usize,
    states_max: usize,
    time_max: Duration,
    seed: u64,
    strategy: Strategy,
}

impl<N: Node> fmt::Debug for Model<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Model")
            .field("nodes", &self.nodes)
            .field("network", &self.network)
            .field("requests", &self.script.len())
            .field("crashes_max", &self.crashes_max)
            .field("properties", &self.properties)
            .field("depth_max", &self.depth_max)
            .field("states_max", &self.states_max)
            .finish_non_exhaustive()
    }
}

/// Why a search stopped before visiting every reachable state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bound {
    /// Paths were cut at this many steps.
    Depth(usize),
    /// This many distinct states were visited.
    States(usize),
    /// The wall-time budget ran out.
    Time(Duration),
    /// This many random walks were run ([`Strategy::RandomWalks`]).
    Walks(u32),
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::Depth(d) => write!(f, "paths cut at {d} steps (Model::depth_max)"),
            Bound::States(s) => write!(f, "stopped after {s} states (Model::states_max)"),
            Bound::Time(t) => write!(f, "stopped after {t:?} (Model::time_max)"),
            Bound::Walks(w) => write!(f, "{w} random walks (Strategy::RandomWalks)"),
        }
    }
}

/// What the checker found for one property.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// An `always` property held in every state visited (an `eventually`
    /// one, in every finished run visited).
    Held,
    /// An `always` property failed, or an `eventually` one in a finished
    /// run: why, and the path that breaks it (one of the shortest, the
    /// search being breadth-first).
    Violated {
        /// The invariant's message.
        why: String,
        /// The steps from the initial state, readable.
        path: Vec<String>,
    },
    /// A `sometimes` property was found to hold, after these steps.
    Reached(Vec<String>),
    /// A `sometimes` property held in no state visited.
    Unreached,
}

/// The verdicts of a search, and how far it went.
#[derive(Debug)]
pub struct ModelReport<N: Node> {
    /// Per property, in the order given.
    pub findings: Vec<(&'static str, Finding)>,
    /// The steps of the first violation found, as values: what
    /// [`Model::replay`] runs in the simulator.
    pub trail: Option<Vec<Action<N>>>,
    /// Distinct states visited.
    pub states: usize,
    /// The longest path explored.
    pub depth: usize,
    /// Whether every reachable state was visited. A `Held` or `Unreached`
    /// finding of a search that was not exhaustive is not a proof; a
    /// `Violated` or `Reached` one always is. A search stops early, without
    /// a bound, once every property is decided.
    pub exhaustive: bool,
    /// What bounded the search, if a bound did.
    pub bound: Option<Bound>,
}

impl<N: Node> ModelReport<N> {
    /// Whether every `always` held and every `sometimes` was reached.
    pub fn passed(&self) -> bool {
        self.findings
            .iter()
            .all(|(_, f)| matches!(f, Finding::Held | Finding::Reached(_)))
    }

    /// The path of the first violated property, if any.
    pub fn counterexample(&self) -> Option<(&'static str, &[String])> {
        self.findings.iter().find_map(|(name, f)| match f {
            Finding::Violated { path, .. } => Some((*name, path.as_slice())),
            _ => None,
        })
    }
}

impl<N: Node> fmt::Display for ModelReport<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let extent = match &self.bound {
            None if self.exhaustive => "exhaustive".to_string(),
            None => "stopped once every property was decided".to_string(),
            Some(bound) => format!("bounded: {bound}"),
        };
        writeln!(
            f,
            "{} states, paths up to {} steps ({extent})",
            self.states, self.depth
        )?;
        for (name, finding) in &self.findings {
            match finding {
                Finding::Held if self.exhaustive => writeln!(f, "  {name}: holds")?,
                Finding::Held => writeln!(f, "  {name}: holds in every state visited")?,
                Finding::Unreached => writeln!(f, "  {name}: NOT REACHED")?,
                Finding::Reached(path) => writeln!(f, "  {name}: reached in {} steps", path.len())?,
                Finding::Violated { why, path } => {
                    writeln!(f, "  {name}: VIOLATED in {} steps: {why}", path.len())?;
                    for (i, step) in path.iter().enumerate() {
                        writeln!(f, "    {:>3}. {step}", i + 1)?;
                    }
                }
            }
        }
        Ok(())
    }
}

impl<N> Model<N>
where
    N: Node + Clone + Eq + Hash,
    N::Msg: Eq + Hash,
    N::Request: Clone,
{
    /// `nodes` nodes made by `factory`, started in id order, on a network
    /// that reorders but neither loses nor duplicates; no requests, no
    /// crashes; bounds of 64 steps, a million states and a minute.
    pub fn new(nodes: usize, factory: impl Fn(NodeId) -> N + Send + Sync + 'static) -> Self {
        Model {
            nodes,
            factory: Arc::new(factory),
            network: Network::default(),
            script: Vec::new(),
            crashes_max: 0,
            properties: Vec::new(),
            depth_max: 64,
            states_max: 1_000_000,
            time_max: Duration::from_secs(60),
            seed: 0,
            strategy: Strategy::BreadthFirst,
        }
    }

    /// The network, crash and search settings of `options` (its node count
    /// and defect are for the algorithm that builds the model).
    pub fn options(self, options: &ModelOptions) -> Self {
        self.network(options.network)
            .crashes_max(options.crashes_max)
            .depth_max(options.depth_max)
            .states_max(options.states_max)
            .time_max(options.time_max)
            .strategy(options.strategy)
    }

    /// How to explore (breadth-first by default).
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// What the network may do.
    pub fn network(mut self, network: Network) -> Self {
        self.network = network;
        self
    }

    /// Adds `request` to `node`'s script: a node's requests are issued in
    /// the order added, each at any point after the one before.
    pub fn request(mut self, node: NodeId, request: N::Request) -> Self {
        self.script.push(Scripted {
            node,
            request,
            when: None,
        });
        self
    }

    /// Like [`Model::request`], issued only in a state where `when` holds
    /// of the node (e.g. "leave the section" only once inside it).
    pub fn request_when(
        mut self,
        node: NodeId,
        request: N::Request,
        when: impl Fn(&N) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.script.push(Scripted {
            node,
            request,
            when: Some(Arc::new(when)),
        });
        self
    }

    /// Allows up to `crashes` crashes in one run (each crashed node may
    /// restart).
    pub fn crashes_max(mut self, crashes: u32) -> Self {
        self.crashes_max = crashes;
        self
    }

    /// Adds a property to judge.
    pub fn property(mut self, property: Property<N>) -> Self {
        self.properties.push(property);
        self
    }

    /// Cuts paths at `steps` steps.
    pub fn depth_max(mut self, steps: usize) -> Self {
        self.depth_max = steps;
        self
    }

    /// Stops after visiting `states` distinct states.
    pub fn states_max(mut self, states: usize) -> Self {
        self.states_max = states;
        self
    }

    /// Stops after `time` of wall time.
    pub fn time_max(mut self, time: Duration) -> Self {
        self.time_max = time;
        self
    }

    /// The seed of the nodes' RNGs.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The peers of `id`: every other node.
    fn peers(&self, id: NodeId) -> Vec<NodeId> {
        (0..self.nodes as u32)
            .map(NodeId)
            .filter(|&p| p != id)
            .collect()
    }

    /// Runs `input` on node `id` of `state`, applying its effects.
    fn step(&self, state: &mut State<N>, id: NodeId, input: crate::node::InputOf<N>) {
        let i = id.index();
        let Some(node) = state.nodes[i].as_mut() else {
            return;
        };
        let mut driver: Driver<N> =
            Driver::seeded(id, self.peers(id), self.seed, state.incarnations[i]);
        let effects = driver.handle(node, Duration::ZERO, input);
        for effect in effects {
            match effect {
                Effect::Send { to, msg } => state.network.push(Envelope { from: id, to, msg }),
                Effect::SetTimer { timer, .. } => {
                    let timers = &mut state.timers[i];
                    timers.retain(|t| *t != timer);
                    timers.push(timer);
                }
                Effect::CancelTimer { timer } => state.timers[i].retain(|t| *t != timer),
                Effect::Emit(_) => {}
            }
        }
    }

    fn canonical(mut state: State<N>) -> State<N> {
        state.network.sort_by_cached_key(hash_of);
        state
    }

    fn initial(&self) -> State<N> {
        let mut state = State {
            nodes: (0..self.nodes as u32)
                .map(|i| Some((self.factory)(NodeId(i))))
                .collect(),
            network: Vec::new(),
            timers: vec![Vec::new(); self.nodes],
            issued: vec![0; self.nodes],
            incarnations: vec![0; self.nodes],
            crashes: 0,
            duplicates: 0,
        };
        for i in 0..self.nodes as u32 {
            self.step(&mut state, NodeId(i), Input::Start);
        }
        Self::canonical(state)
    }

    /// The next scripted request of `node` in `state`, if any.
    fn next_request(&self, state: &State<N>, node: NodeId) -> Option<&Scripted<N>> {
        self.script
            .iter()
            .filter(|s| s.node == node)
            .nth(state.issued[node.index()])
    }

    /// Every action enabled in `state`, with the state it leads to.
    fn successors(&self, state: &State<N>) -> Vec<(Action<N>, State<N>)> {
        let mut next = Vec::new();
        for (k, envelope) in state.network.iter().enumerate() {
            // Equal envelopes give equal successors: take the first only.
            if state.network[..k].contains(envelope) {
                continue;
            }
            let Envelope { from, to, msg } = envelope.clone();
            let mut delivered = state.clone();
            delivered.network.remove(k);
            self.step(
                &mut delivered,
                to,
                Input::Message {
                    from,
                    msg: msg.clone(),
                },
            );
            next.push((
                Action::Deliver {
                    from,
                    to,
                    msg: msg.clone(),
                },
                delivered,
            ));
            if self.network.lossy {
                let mut dropped = state.clone();
                dropped.network.remove(k);
                next.push((
                    Action::Drop {
                        from,
                        to,
                        msg: msg.clone(),
                    },
                    dropped,
                ));
            }
            if state.duplicates < self.network.duplicates_max {
                let mut duplicated = state.clone();
                duplicated.duplicates += 1;
                self.step(
                    &mut duplicated,
                    to,
                    Input::Message {
                        from,
                        msg: msg.clone(),
                    },
                );
                next.push((Action::Duplicate { from, to, msg }, duplicated));
            }
        }
        for i in 0..self.nodes {
            let id = NodeId(i as u32);
            for timer in &state.timers[i] {
                let mut fired = state.clone();
                fired.timers[i].retain(|t| t != timer);
                self.step(&mut fired, id, Input::Timer(timer.clone()));
                next.push((
                    Action::Fire {
                        node: id,
                        timer: timer.clone(),
                    },
                    fired,
                ));
            }
            if let (Some(node), Some(scripted)) = (&state.nodes[i], self.next_request(state, id)) {
                if scripted.when.as_ref().is_none_or(|when| when(node)) {
                    let mut asked = state.clone();
                    asked.issued[i] += 1;
                    self.step(&mut asked, id, Input::Request(scripted.request.clone()));
                    next.push((
                        Action::Request {
                            node: id,
                            request: scripted.request.clone(),
                        },
                        asked,
                    ));
                }
            }
            match &state.nodes[i] {
                Some(_) if state.crashes < self.crashes_max => {
                    let mut crashed = state.clone();
                    crashed.nodes[i] = None;
                    crashed.timers[i].clear();
                    // As in the simulator: what was on its way to it is lost.
                    crashed.network.retain(|e| e.to != id);
                    crashed.crashes += 1;
                    next.push((Action::Crash(id), crashed));
                }
                None => {
                    let mut restarted = state.clone();
                    restarted.incarnations[i] += 1;
                    restarted.nodes[i] = Some((self.factory)(id));
                    self.step(&mut restarted, id, Input::Start);
                    next.push((Action::Restart(id), restarted));
                }
                Some(_) => {}
            }
        }
        next.into_iter()
            .map(|(action, state)| (action, Self::canonical(state)))
            .collect()
    }

    /// Runs `path` (a [`ModelReport::trail`]) in the simulator, step by
    /// step, with the model's nodes and seed on reliable links, and judges
    /// the model's `always` properties after every step: the counterexample
    /// as a simulation, to trace, export to ShiViz or the viewer, and step
    /// through. A scheduler picks each step's message or timer; requests
    /// and crashes are scheduled at the current time. A dropped message
    /// simply stays undelivered; a duplicate cannot be replayed (the
    /// simulator duplicates only by its own draw) and is an error.
    ///
    /// The simulator gives nodes their real virtual clock and one running
    /// RNG, where the model gives a zero clock and a fresh RNG per step: a
    /// node whose choices depend on either may take another branch, and
    /// the replay then stops with an error naming the step it cannot find.
    pub fn replay(&self, path: &[Action<N>]) -> Result<Replayed<N>>
    where
        N::Timer: PartialEq,
    {
        let factory = Arc::clone(&self.factory);
        let mut sim = Simulation::new(self.nodes, self.seed, move |id| factory(id));
        sim.set_all_links(LinkConfig::reliable(Latency::Fixed(Duration::from_millis(
            1,
        ))))?;
        sim.enable_trace();
        let target: Arc<std::sync::Mutex<Option<Action<N>>>> = Arc::default();
        let wanted = Arc::clone(&target);
        sim.set_scheduler(
            move |_: Duration, pending: &[Pending<'_, N::Msg, N::Timer>]| {
                let wanted = wanted.lock().unwrap_or_else(|e| e.into_inner());
                pending
                    .iter()
                    .position(|p| match (&*wanted, p) {
                        (
                            Some(Action::Deliver { from, to, msg }),
                            Pending::Message {
                                from: f,
                                to: t,
                                msg: m,
                                ..
                            },
                        ) => from == f && to == t && msg == *m,
                        (
                            Some(Action::Fire { node, timer }),
                            Pending::Timer {
                                node: n, timer: t, ..
                            },
                        ) => node == n && timer == *t,
                        // Starts, requests and faults: the simulator's own order.
                        (
                            None
                            | Some(Action::Request { .. } | Action::Crash(_) | Action::Restart(_)),
                            Pending::Other { .. },
                        ) => true,
                        _ => false,
                    })
                    .unwrap_or(usize::MAX)
            },
        );
        let set = |action: Option<Action<N>>| {
            *target.lock().unwrap_or_else(|e| e.into_inner()) = action;
        };
        set(None);
        for _ in 0..self.nodes {
            sim.step()?;
        }
        let mut replayed = Replayed {
            violated: self.violated(&sim, 0),
            sim,
        };
        for (k, action) in path.iter().enumerate() {
            if replayed.violated.is_some() {
                break;
            }
            let sim = &mut replayed.sim;
            let now = sim.now();
            match action {
                Action::Drop { .. } => continue,
                Action::Duplicate { .. } => {
                    return Err(Error::InvalidConfig(format!(
                        "step {}: {action}: the simulator duplicates only by its own draw, so a \
                         path with a duplicate cannot be replayed",
                        k + 1
                    )))
                }
                Action::Request { node, request } => sim.request_at(now, *node, request.clone())?,
                Action::Crash(node) => sim.fault_at(now, Fault::Crash(*node))?,
                Action::Restart(node) => sim.fault_at(now, Fault::Restart(*node))?,
                Action::Deliver { .. } | Action::Fire { .. } => {}
            }
            set(Some(action.clone()));
            match sim.step() {
                Ok(true) => {}
                Ok(false) | Err(Error::BadSchedule { .. }) => {
                    return Err(Error::InvalidConfig(format!(
                        "step {}: {action}: no such event is pending in the simulator (a node \
                         that reads its clock or draws random numbers took another branch)",
                        k + 1
                    )))
                }
                Err(other) => return Err(other),
            }
            replayed.violated = self.violated(sim, k + 1);
        }
        Ok(replayed)
    }

    /// The first `always` property `sim`'s states break, after `steps` steps.
    fn violated(&self, sim: &Simulation<N>, steps: usize) -> Option<(&'static str, String, usize)> {
        self.properties.iter().find_map(|p| match p {
            Property::Always(name, check) => {
                check(sim.states()).err().map(|why| (*name, why, steps))
            }
            _ => None,
        })
    }

    /// Explores the states as the [`Strategy`] says (breadth-first by
    /// default) and judges every property.
    pub fn check(&self) -> ModelReport<N> {
        if let Strategy::RandomWalks { walks, seed } = self.strategy {
            return self.random_walks(walks, seed);
        }
        let started = Instant::now();
        let initial = self.initial();
        let mut seen: Visited<N> = HashMap::new();
        let mut findings: Vec<Option<Finding>> = vec![None; self.properties.len()];
        let mut queue: VecDeque<(State<N>, u64)> = VecDeque::new();
        let initial_hash = hash_of(&initial);
        seen.insert(initial_hash, (None, 0));
        queue.push_back((initial, initial_hash));
        let mut bound = None;
        let mut stopped_early = false;
        let mut depth = 0;
        let mut trail: Option<Vec<Action<N>>> = None;
        let path_to = |seen: &Visited<N>, mut at: u64| {
            let mut steps = Vec::new();
            while let Some((Some((parent, action)), _)) = seen.get(&at) {
                steps.push(action.clone());
                at = *parent;
            }
            steps.reverse();
            steps
        };
        loop {
            let next = match self.strategy {
                Strategy::DepthFirst => queue.pop_back(),
                _ => queue.pop_front(),
            };
            let Some((state, hash)) = next else { break };
            let here = seen[&hash].1;
            depth = depth.max(here);
            // Successors are needed to tell a finished run; past the depth
            // bound a state is judged but not expanded.
            let successors = if here < self.depth_max {
                Some(self.successors(&state))
            } else {
                None
            };
            let finished = successors.as_ref().is_some_and(Vec::is_empty);
            self.judge(
                &state,
                finished,
                || path_to(&seen, hash),
                &mut findings,
                &mut trail,
            );
            if self.decided(&findings) {
                stopped_early = true;
                break;
            }
            let Some(successors) = successors else {
                bound.get_or_insert(Bound::Depth(self.depth_max));
                continue;
            };
            if started.elapsed() > self.time_max {
                bound = Some(Bound::Time(self.time_max));
                break;
            }
            for (action, next) in successors {
                let next_hash = hash_of(&next);
                if seen.contains_key(&next_hash) {
                    continue;
                }
                if seen.len() >= self.states_max {
                    bound = Some(Bound::States(self.states_max));
                    break;
                }
                seen.insert(next_hash, (Some((hash, action)), here + 1));
                queue.push_back((next, next_hash));
            }
            if matches!(bound, Some(Bound::States(_))) {
                break;
            }
        }
        ModelReport {
            findings: self.conclude(findings),
            trail,
            states: seen.len(),
            depth,
            exhaustive: bound.is_none() && !stopped_early,
            bound,
        }
    }

    /// Judges every undecided property in `state`; `path` gives the steps
    /// that reached it, when a finding needs them.
    fn judge(
        &self,
        state: &State<N>,
        finished: bool,
        path: impl Fn() -> Vec<Action<N>>,
        findings: &mut [Option<Finding>],
        trail: &mut Option<Vec<Action<N>>>,
    ) {
        let readable = |steps: &[Action<N>]| steps.iter().map(ToString::to_string).collect();
        for (slot, property) in findings.iter_mut().zip(&self.properties) {
            if slot.is_some() {
                continue;
            }
            let why = match property {
                Property::Always(_, check) => check(&state.nodes).err(),
                Property::Sometimes(_, found) => {
                    if found(&state.nodes) {
                        *slot = Some(Finding::Reached(readable(&path())));
                    }
                    None
                }
                Property::Eventually(_, done) => (finished && !done(&state.nodes))
                    .then(|| "a run ends (nothing more can happen) without it".to_string()),
            };
            if let Some(why) = why {
                let steps = path();
                *slot = Some(Finding::Violated {
                    why,
                    path: readable(&steps),
                });
                trail.get_or_insert(steps);
            }
        }
    }

    /// Whether the search may stop: every property decided (an `always`
    /// or `eventually` is decided only by a violation).
    fn decided(&self, findings: &[Option<Finding>]) -> bool {
        findings.iter().all(Option::is_some)
    }

    /// The findings, undecided ones concluded from a search that ended.
    fn conclude(&self, findings: Vec<Option<Finding>>) -> Vec<(&'static str, Finding)> {
        self.properties
            .iter()
            .zip(findings)
            .map(|(p, f)| {
                let finding = f.unwrap_or(match p {
                    Property::Always(..) | Property::Eventually(..) => Finding::Held,
                    Property::Sometimes(..) => Finding::Unreached,
                });
                (p.name(), finding)
            })
            .collect()
    }

    /// `walks` random walks from the initial state, each to a finished
    /// state or the depth bound, choosing among the enabled actions with a
    /// RNG seeded by `seed`: for configurations too big to explore. Never
    /// exhaustive.
    fn random_walks(&self, walks: u32, seed: u64) -> ModelReport<N> {
        use rand::{RngExt, SeedableRng};
        let started = Instant::now();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut findings: Vec<Option<Finding>> = vec![None; self.properties.len()];
        let mut trail = None;
        let mut visited: std::collections::HashSet<u64> = std::collections::HashSet::new();
        let (mut depth, mut bound) = (0, Some(Bound::Walks(walks)));
        'walks: for _ in 0..walks {
            let mut state = self.initial();
            let mut path: Vec<Action<N>> = Vec::new();
            loop {
                visited.insert(hash_of(&state));
                depth = depth.max(path.len());
                let mut successors = if path.len() < self.depth_max {
                    self.successors(&state)
                } else {
                    Vec::new()
                };
                let finished = successors.is_empty() && path.len() < self.depth_max;
                self.judge(&state, finished, || path.clone(), &mut findings, &mut trail);
                if self.decided(&findings) {
                    bound = None;
                    break 'walks;
                }
                if successors.is_empty() {
                    break;
                }
                if started.elapsed() > self.time_max {
                    bound = Some(Bound::Time(self.time_max));
                    break 'walks;
                }
                let (action, next) = successors.swap_remove(rng.random_range(0..successors.len()));
                path.push(action);
                state = next;
            }
        }
        ModelReport {
            findings: self.conclude(findings),
            trail,
            states: visited.len(),
            depth,
            exhaustive: false,
            bound,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::Context;
    use serde::{Deserialize, Serialize};

    /// A lock with a deliberate race: a node asks every peer, and enters
    /// once it has one grant (not all), so two nodes can be inside at once
    /// after four steps; a node leaves on a timer.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
    struct Racy {
        wants: bool,
        inside: bool,
        grants: u32,
        /// Each grant given: a counter the model sees grow.
        given: u32,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    enum RacyMsg {
        Ask,
        Grant,
    }

    impl crate::Message for RacyMsg {}

    impl Node for Racy {
        type Msg = RacyMsg;
        type Timer = ();
        type Request = bool;
        type Event = ();

        fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: RacyMsg) {
            match msg {
                RacyMsg::Ask => {
                    self.given += 1;
                    ctx.send(from, RacyMsg::Grant);
                }
                RacyMsg::Grant if self.wants => {
                    self.grants += 1;
                    self.inside = true;
                    self.wants = false;
                    ctx.set_timer(Duration::from_millis(1), ());
                }
                RacyMsg::Grant => {}
            }
        }

        fn on_timer(&mut self, _: &mut Context<'_, Self>, (): ()) {
            self.inside = false;
        }

        fn on_request(&mut self, ctx: &mut Context<'_, Self>, enter: bool) {
            if enter && !self.wants && !self.inside {
                self.wants = true;
                ctx.broadcast(RacyMsg::Ask);
            }
        }
    }

    fn one_inside(nodes: &[Option<Racy>]) -> Result<(), String> {
        let inside = nodes.iter().flatten().filter(|n| n.inside).count();
        if inside > 1 {
            return Err(format!("{inside} nodes inside at once"));
        }
        Ok(())
    }

    fn racy() -> Model<Racy> {
        Model::new(2, |_| Racy::default())
            .request(NodeId(0), true)
            .request(NodeId(1), true)
            .property(Property::always("one inside", one_inside))
    }

    #[test]
    fn a_violation_comes_with_a_shortest_path_that_reproduces_it() {
        let report = racy().check();
        let (name, path) = report.counterexample().expect("the race is found");
        assert_eq!(name, "one inside");
        // Both ask (2), both asks are delivered (2), both grants (2): 6.
        assert_eq!(path.len(), 6, "{report}");
        assert!(path[0].contains("is asked true"), "{report}");
        assert!(
            path.iter().filter(|s| s.contains("delivers Grant")).count() == 2,
            "{report}"
        );
        assert!(!report.passed());
        assert!(
            report.to_string().contains("VIOLATED in 6 steps"),
            "{report}"
        );
    }

    #[test]
    fn the_counterexample_replays_in_the_simulator() {
        let model = racy();
        let report = model.check();
        let trail = report.trail.as_ref().expect("a violation has a trail");
        assert_eq!(trail.len(), 6);
        let replayed = model
            .replay(trail)
            .expect("the schedule exists in the simulator");
        let (name, why, step) = replayed.violated.expect("the violation is reproduced");
        assert_eq!((name, step), ("one inside", 6), "{why}");
        assert!(replayed.sim.trace().is_some_and(|t| !t.is_empty()));
        // Cut before its last step, the path does not break the invariant.
        let short = model.replay(&trail[..5]).unwrap();
        assert!(short.violated.is_none());
        // A duplicate cannot be forced on the simulator.
        let duplicate = [Action::Duplicate {
            from: NodeId(0),
            to: NodeId(1),
            msg: RacyMsg::Ask,
        }];
        let err = model.replay(&duplicate).unwrap_err().to_string();
        assert!(err.contains("cannot be replayed"), "{err}");
        // A step the simulator has no event for is a bad schedule.
        let missing = [Action::Deliver {
            from: NodeId(0),
            to: NodeId(1),
            msg: RacyMsg::Grant,
        }];
        let err = model.replay(&missing).unwrap_err().to_string();
        assert!(
            err.contains("step 1: n1 delivers Grant from n0: no such event"),
            "{err}"
        );
    }

    #[test]
    fn a_safe_configuration_is_explored_exhaustively_and_holds() {
        // One node asks: nobody else can be inside.
        let report = Model::new(2, |_| Racy::default())
            .request(NodeId(0), true)
            .property(Property::always("one inside", one_inside))
            .property(Property::sometimes(
                "someone enters",
                |nodes: &[Option<Racy>]| nodes.iter().flatten().any(|n| n.inside),
            ))
            .check();
        assert!(report.passed(), "{report}");
        assert!(report.exhaustive && report.bound.is_none(), "{report}");
        assert!(matches!(&report.findings[1].1, Finding::Reached(path) if path.len() == 3));
        // The states: n0 asks; the ask in flight / delivered; the grant in
        // flight / delivered (n0 inside, timer pending); the timer fires.
        assert_eq!(report.states, 5, "{report}");
        assert!(report.to_string().contains("exhaustive"), "{report}");
    }

    #[test]
    fn an_unreachable_state_is_reported_and_fails_the_check() {
        let report = Model::new(2, |_| Racy::default())
            .property(Property::sometimes(
                "someone enters",
                |nodes: &[Option<Racy>]| nodes.iter().flatten().any(|n| n.inside),
            ))
            .check();
        assert_eq!(report.findings[0].1, Finding::Unreached);
        assert!(report.exhaustive && !report.passed(), "{report}");
        assert_eq!(report.states, 1);
    }

    #[test]
    fn losses_duplicates_crashes_and_guards_open_and_close_paths() {
        let entered = |nodes: &[Option<Racy>]| nodes.iter().flatten().any(|n| n.inside);
        // A lossy network may lose the ask or the grant: two more states
        // than the five of a reliable one (n0 waiting with nothing in
        // flight, before and after n1 granted).
        let lossy = Model::new(2, |_| Racy::default())
            .request(NodeId(0), true)
            .network(Network {
                lossy: true,
                duplicates_max: 0,
            })
            .property(Property::sometimes("someone enters", entered))
            .property(Property::always("one inside", one_inside))
            .check();
        assert_eq!(lossy.states, 7, "{lossy}");
        assert!(lossy.exhaustive && lossy.passed(), "{lossy}");
        // Duplicates: n1 grants twice.
        let twice = |nodes: &[Option<Racy>]| nodes[1].as_ref().is_some_and(|n| n.given >= 2);
        let no_dup = Model::new(2, |_| Racy::default())
            .request(NodeId(0), true)
            .property(Property::sometimes("granted twice", twice))
            .check();
        assert_eq!(no_dup.findings[0].1, Finding::Unreached);
        let dup = Model::new(2, |_| Racy::default())
            .request(NodeId(0), true)
            .network(Network {
                lossy: false,
                duplicates_max: 1,
            })
            .property(Property::sometimes("granted twice", twice))
            .check();
        assert!(
            matches!(&dup.findings[0].1, Finding::Reached(p) if p.iter().any(|s| s.contains("duplicate"))),
            "{dup}"
        );
        // Crashes: n1 can be down.
        let down = |nodes: &[Option<Racy>]| nodes[1].is_none();
        let crash = Model::new(2, |_| Racy::default())
            .crashes_max(1)
            .property(Property::sometimes("n1 down", down))
            .check();
        assert!(
            matches!(&crash.findings[0].1, Finding::Reached(p) if p == &["n1 crashes"]),
            "{crash}"
        );
        // A guard: n0 asks only once n1 has granted something (never).
        let guarded = Model::new(2, |_| Racy::default())
            .request_when(NodeId(0), true, |n: &Racy| n.given > 0)
            .property(Property::sometimes("someone enters", entered))
            .check();
        assert_eq!(guarded.findings[0].1, Finding::Unreached);
    }

    #[test]
    fn eventually_is_judged_where_runs_end() {
        let served = |nodes: &[Option<Racy>]| nodes.iter().flatten().all(|n| !n.wants);
        // Reliable: every finished run has n0 served.
        let reliable = Model::new(2, |_| Racy::default())
            .request(NodeId(0), true)
            .property(Property::eventually("served", served))
            .check();
        assert!(reliable.passed() && reliable.exhaustive, "{reliable}");
        // Lossy: the shortest finished run that leaves n0 waiting loses
        // its ask.
        let lossy = Model::new(2, |_| Racy::default())
            .request(NodeId(0), true)
            .network(Network {
                lossy: true,
                duplicates_max: 0,
            })
            .property(Property::eventually("served", served))
            .check();
        let (_, path) = lossy.counterexample().expect("a lost ask starves n0");
        assert_eq!(
            path,
            ["n0 is asked true", "the network drops Ask from n0 to n1"]
        );
    }

    /// Sets timer 1 twice and timer 2 once, then cancels 2, at start; on
    /// timer 1, sets it again if `again`. Draws a number from its RNG at
    /// start.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    struct Ticker {
        drawn: u64,
        ticks: u32,
    }

    impl Node for Ticker {
        type Msg = RacyMsg;
        type Timer = u8;
        type Request = bool;
        type Event = ();

        fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
            use rand::RngExt;
            self.drawn = ctx.rng().random();
            ctx.set_timer(Duration::from_millis(1), 1);
            ctx.set_timer(Duration::from_millis(2), 1);
            ctx.set_timer(Duration::from_millis(3), 2);
            ctx.cancel_timer(&2);
        }

        fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, _: RacyMsg) {}

        fn on_timer(&mut self, _: &mut Context<'_, Self>, timer: u8) {
            assert_eq!(timer, 1, "timer 2 was cancelled");
            self.ticks += 1;
        }
    }

    fn ticker() -> Model<Ticker> {
        Model::new(1, |_| Ticker { drawn: 0, ticks: 0 })
    }

    #[test]
    fn timers_are_values_set_replaces_cancel_removes_fire_consumes() {
        // One pending timer (1, set twice), fired once: two states, and
        // the run ends.
        let report = ticker()
            .property(Property::sometimes(
                "ticked twice",
                |n: &[Option<Ticker>]| n[0].as_ref().is_some_and(|t| t.ticks >= 2),
            ))
            .property(Property::eventually("ticked", |n: &[Option<Ticker>]| {
                n[0].as_ref().is_some_and(|t| t.ticks == 1)
            }))
            .check();
        assert_eq!(report.states, 2, "{report}");
        assert_eq!(report.findings[0].1, Finding::Unreached, "{report}");
        assert_eq!(report.findings[1].1, Finding::Held, "{report}");
    }

    #[test]
    fn eventually_fails_where_a_run_ends_without_it() {
        // Racy's runs end with nobody inside: "eventually inside" fails at
        // the end, once the timer has fired.
        let report = Model::new(2, |_| Racy::default())
            .request(NodeId(0), true)
            .property(Property::eventually(
                "inside at the end",
                |nodes: &[Option<Racy>]| nodes.iter().flatten().any(|n| n.inside),
            ))
            .check();
        let (_, path) = report.counterexample().expect("the run ends outside");
        assert_eq!(path.last().map(String::as_str), Some("n0's timer () fires"));
    }

    #[test]
    fn crashes_and_duplicates_are_bounded_per_run_and_restarts_reseed() {
        let both_down = |nodes: &[Option<Racy>]| nodes.iter().all(Option::is_none);
        let one = Model::new(2, |_| Racy::default())
            .crashes_max(1)
            .property(Property::sometimes("both down", both_down))
            .check();
        assert_eq!(one.findings[0].1, Finding::Unreached, "{one}");
        let two = Model::new(2, |_| Racy::default())
            .crashes_max(2)
            .property(Property::sometimes("both down", both_down))
            .check();
        assert!(matches!(two.findings[0].1, Finding::Reached(_)), "{two}");
        let thrice = |nodes: &[Option<Racy>]| nodes[1].as_ref().is_some_and(|n| n.given >= 3);
        let dup = Model::new(2, |_| Racy::default())
            .request(NodeId(0), true)
            .network(Network {
                lossy: false,
                duplicates_max: 1,
            })
            .property(Property::sometimes("granted three times", thrice))
            .check();
        assert_eq!(dup.findings[0].1, Finding::Unreached, "{dup}");
        // A restarted node gets its incarnation's own RNG stream.
        let first = ticker().check_initial_draw();
        let restarted = ticker()
            .crashes_max(1)
            .property(Property::sometimes(
                "another draw",
                move |n: &[Option<Ticker>]| n[0].as_ref().is_some_and(|t| t.drawn != first),
            ))
            .check();
        assert!(
            matches!(&restarted.findings[0].1, Finding::Reached(p) if p == &["n0 crashes", "n0 restarts"]),
            "{restarted}"
        );
    }

    impl Model<Ticker> {
        /// What node 0 drew in the initial state.
        fn check_initial_draw(&self) -> u64 {
            self.initial().nodes[0].as_ref().unwrap().drawn
        }
    }

    #[test]
    fn a_search_stops_once_every_property_is_decided_and_says_so() {
        let report = racy()
            .property(Property::sometimes(
                "someone wants",
                |nodes: &[Option<Racy>]| nodes.iter().flatten().any(|n| n.wants),
            ))
            .check();
        // The invariant is violated and the sometimes reached: no need to
        // go on, and the search is not exhaustive.
        assert!(!report.exhaustive && report.bound.is_none(), "{report}");
        assert!(
            report
                .to_string()
                .contains("stopped once every property was decided"),
            "{report}"
        );
        // An open `always` keeps it going to the end.
        let full = Model::new(2, |_| Racy::default())
            .request(NodeId(0), true)
            .property(Property::sometimes(
                "someone wants",
                |nodes: &[Option<Racy>]| nodes.iter().flatten().any(|n| n.wants),
            ))
            .property(Property::always("one inside", one_inside))
            .check();
        assert!(full.exhaustive && full.states == 5, "{full}");
        assert!(full.to_string().contains("  one inside: holds\n"), "{full}");
        // Only `sometimes`, reached at once: stops at the first state.
        let first = Model::new(2, |_| Racy::default())
            .property(Property::sometimes("anything", |_: &[Option<Racy>]| true))
            .check();
        assert_eq!(first.states, 1, "{first}");
        assert!(!first.exhaustive);
    }

    #[test]
    fn models_properties_and_bounds_print_what_they_are() {
        let model = racy().property(Property::sometimes("s", |_: &[Option<Racy>]| true));
        let text = format!("{model:?}");
        assert!(
            text.contains("nodes: 2") && text.contains("requests: 2"),
            "{text}"
        );
        assert!(
            text.contains(r#"Always("one inside")"#) && text.contains(r#"Sometimes("s")"#),
            "{text}"
        );
        let eventually = Property::<Racy>::eventually("e", |_: &[Option<Racy>]| true);
        assert_eq!(format!("{eventually:?}"), r#"Eventually("e")"#);
        assert_eq!(
            Bound::Depth(3).to_string(),
            "paths cut at 3 steps (Model::depth_max)"
        );
        assert_eq!(
            Bound::States(9).to_string(),
            "stopped after 9 states (Model::states_max)"
        );
        assert!(Bound::Time(Duration::from_secs(1))
            .to_string()
            .contains("1s"));
    }

    #[test]
    fn depth_first_and_random_walks_find_the_race_too() {
        let dfs = racy().strategy(Strategy::DepthFirst).check();
        let (_, path) = dfs.counterexample().expect("depth-first finds the race");
        assert!(path.len() >= 6, "{dfs}");
        assert!(dfs.trail.as_ref().is_some_and(|t| t.len() == path.len()));
        // Exhaustive either way on a safe configuration: the same states.
        let safe = |strategy| {
            Model::new(2, |_| Racy::default())
                .request(NodeId(0), true)
                .property(Property::always("one inside", one_inside))
                .strategy(strategy)
                .check()
        };
        let (bfs, dfs) = (safe(Strategy::BreadthFirst), safe(Strategy::DepthFirst));
        assert!(bfs.exhaustive && dfs.exhaustive);
        assert_eq!((bfs.states, dfs.states), (5, 5));
        let walks = racy()
            .strategy(Strategy::RandomWalks {
                walks: 200,
                seed: 7,
            })
            .check();
        assert!(!walks.exhaustive, "{walks}");
        let (_, path) = walks.counterexample().expect("200 walks meet the race");
        assert_eq!(path.len(), walks.trail.as_ref().unwrap().len());
        assert!(racy()
            .replay(walks.trail.as_ref().unwrap())
            .unwrap()
            .violated
            .is_some());
        // The same seed, the same walks.
        let again = racy()
            .strategy(Strategy::RandomWalks {
                walks: 200,
                seed: 7,
            })
            .check();
        assert_eq!(again.findings, walks.findings);
        // A safe configuration's walks find nothing, and say they are not a proof.
        let safe_walks = safe(Strategy::RandomWalks { walks: 20, seed: 1 });
        assert!(safe_walks.passed() && !safe_walks.exhaustive);
        assert!(safe_walks.states <= 5);
        assert!(
            safe_walks
                .to_string()
                .contains("holds in every state visited"),
            "{safe_walks}"
        );
    }

    #[test]
    fn depth_first_goes_deeper_than_breadth_first_on_the_same_budget() {
        let reach = |strategy| racy().strategy(strategy).states_max(12).check().depth;
        let (bfs, dfs) = (reach(Strategy::BreadthFirst), reach(Strategy::DepthFirst));
        assert!(dfs > bfs, "depth-first {dfs}, breadth-first {bfs}");
    }

    #[test]
    fn a_crash_loses_what_was_on_its_way_to_the_node_only() {
        // n1's grant is in flight when n1 crashes: it still reaches n0.
        let report = Model::new(2, |_| Racy::default())
            .request(NodeId(0), true)
            .crashes_max(1)
            .property(Property::sometimes(
                "n0 inside, n1 down",
                |nodes: &[Option<Racy>]| {
                    nodes[0].as_ref().is_some_and(|n| n.inside) && nodes[1].is_none()
                },
            ))
            .check();
        assert!(
            matches!(report.findings[0].1, Finding::Reached(_)),
            "{report}"
        );
        // n0's ask is in flight when n1 crashes: the restarted n1 never
        // sees it, so n0 waits in a run that ends.
        let report = Model::new(2, |_| Racy::default())
            .request(NodeId(0), true)
            .crashes_max(1)
            .property(Property::eventually(
                "n0 served",
                |nodes: &[Option<Racy>]| nodes[0].as_ref().is_some_and(|n| !n.wants),
            ))
            .check();
        let (_, path) = report.counterexample().expect("the ask dies with n1");
        assert_eq!(
            path,
            ["n0 is asked true", "n1 crashes", "n1 restarts"],
            "{report}"
        );
    }

    #[test]
    fn a_replay_takes_exactly_the_message_and_timer_each_step_names() {
        let model = Model::new(3, |_| Racy::default())
            .request(NodeId(0), true)
            .request(NodeId(1), true);
        let ask = |to: u32| Action::Deliver {
            from: NodeId(0),
            to: NodeId(to),
            msg: RacyMsg::Ask,
        };
        // Of n0's two asks, the one to n2 is delivered.
        let replayed = model
            .replay(&[
                Action::Request {
                    node: NodeId(0),
                    request: true,
                },
                ask(2),
            ])
            .unwrap();
        let given: Vec<u32> = replayed
            .sim
            .states()
            .iter()
            .flatten()
            .map(|n| n.given)
            .collect();
        assert_eq!(given, [0, 0, 1]);
        // Both inside; then n1's timer fires, not n0's.
        let grant = |from: u32, to: u32| Action::Deliver {
            from: NodeId(from),
            to: NodeId(to),
            msg: RacyMsg::Grant,
        };
        let ask1 = Action::Deliver {
            from: NodeId(1),
            to: NodeId(2),
            msg: RacyMsg::Ask,
        };
        let path = [
            Action::Request {
                node: NodeId(0),
                request: true,
            },
            Action::Request {
                node: NodeId(1),
                request: true,
            },
            ask(2),
            ask1,
            grant(2, 0),
            grant(2, 1),
            Action::Fire {
                node: NodeId(1),
                timer: (),
            },
        ];
        let replayed = model.replay(&path).unwrap();
        let inside: Vec<bool> = replayed
            .sim
            .states()
            .iter()
            .flatten()
            .map(|n| n.inside)
            .collect();
        assert_eq!(inside, [true, false, false]);
    }

    #[test]
    fn random_walks_keep_to_the_depth_and_time_bounds() {
        let walks = |depth| {
            Model::new(2, |_| Racy::default())
                .request(NodeId(0), true)
                .property(Property::eventually(
                    "inside at the end",
                    |nodes: &[Option<Racy>]| nodes.iter().flatten().any(|n| n.inside),
                ))
                .depth_max(depth)
                .strategy(Strategy::RandomWalks { walks: 20, seed: 2 })
                .check()
        };
        // Cut before the runs end: nothing to judge, and no deeper than asked.
        let cut = walks(2);
        assert_eq!(cut.findings[0].1, Finding::Held, "{cut}");
        assert_eq!(cut.depth, 2, "{cut}");
        // Long enough: every run ends with nobody inside.
        let full = walks(64);
        assert!(
            matches!(full.findings[0].1, Finding::Violated { .. }),
            "{full}"
        );
        let timed = racy()
            .strategy(Strategy::RandomWalks { walks: 5, seed: 0 })
            .time_max(Duration::ZERO)
            .check();
        assert_eq!(timed.bound, Some(Bound::Time(Duration::ZERO)), "{timed}");
    }

    #[test]
    fn bounds_make_a_search_bounded_and_say_which() {
        let by_depth = racy().depth_max(2).check();
        assert_eq!(by_depth.bound, Some(Bound::Depth(2)));
        assert_eq!(by_depth.depth, 2, "{by_depth}");
        assert!(!by_depth.exhaustive);
        assert_eq!(by_depth.findings[0].1, Finding::Held);
        assert!(
            by_depth
                .to_string()
                .contains("holds in every state visited"),
            "{by_depth}"
        );
        let by_states = racy().states_max(3).check();
        assert_eq!(by_states.bound, Some(Bound::States(3)));
        assert_eq!(by_states.states, 3);
        let by_time = racy().time_max(Duration::ZERO).check();
        assert_eq!(by_time.bound, Some(Bound::Time(Duration::ZERO)));
    }
}
