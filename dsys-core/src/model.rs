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
//! - deliver one message in flight (the oldest on its link when the
//!   network is [FIFO](Network::fifo); a crash loses the messages on their
//!   way to the node, as in the simulator; one sent to it while it is down
//!   reaches it if it restarts before delivery);
//! - drop it, when the network [loses](Network::lossy) messages;
//! - deliver a copy and keep it in flight, when it
//!   [duplicates](Network::duplicates_max) them (up to a bound per run);
//! - fire one pending timer;
//! - issue a node's next scripted [request](Model::request), when its guard
//!   holds;
//! - crash a node, or restart a crashed one (up to [`Model::crashes_max`]
//!   crashes): from the factory, or from what the node had made durable
//!   when [`Model::restart_from`] says what survives.
//!
//! States are deduplicated by a 64-bit hash (of node states, messages,
//! timers and the script's progress), so node types must be `Clone + Eq +
//! Hash`, as every dsys node is. Properties are [`always`](Property::always)
//! (an invariant over node states: a violation comes with the path that
//! reaches it, shortest first) and [`sometimes`](Property::sometimes) (a
//! state is reachable: the sanity check that a test can reach a grant, a
//! decision, a leader at all) and [`eventually`](Property::eventually)
//! (liveness on the runs that end: in every state where nothing more can
//! happen, the predicate holds — a deadlock is such a state), and
//! [`history`](Property::history) properties, over what the clients saw:
//! the requests issued and the events emitted on the path to a state, in
//! order ([`History`]). Linearizability is such a property; with one, the
//! history is part of the state.
//!
//! What is abstracted: the nodes' local clocks read zero ([`Context::now`]
//! is not meaningful) unless [`Model::local_clocks`] gives each node a
//! clock that its timers move, and timers fire in any order — a run the model finds
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

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;
use std::time::{Duration, Instant};

use state::State;

use crate::node::{Node, NodeId};
use crate::sim::Simulation;

mod property;
mod replay;
mod report;
mod state;
pub mod two_phase;
mod walks;
pub use property::{History, HistoryCheck, Invariant, Observed, Predicate, Property};
pub use report::{
    Bound, Finding, ModelOptions, ModelReport, ModelVerdict, SearchProgress, SearchWatch,
};

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
    /// Each link delivers in the order it was sent on (per-link FIFO
    /// queues, as TCP gives and Chandy–Lamport assumes): only the oldest
    /// message in flight from one node to another may be delivered,
    /// dropped or duplicated next. Without it the messages in flight are a
    /// multiset, and any may come next.
    pub fifo: bool,
}

/// How a crashed node restarts: see [`Model::restart_from`].
pub type Restart<N> = Arc<dyn Fn(NodeId, &N) -> N + Send + Sync>;

/// What a Byzantine node's message may arrive as: see [`Model::byzantine`].
pub type Lies<N> = Arc<dyn Fn(&<N as Node>::Msg) -> Vec<Option<<N as Node>::Msg>> + Send + Sync>;

/// Which observations a model's history keeps: see [`Model::observes`].
pub type Keep<N> = Arc<dyn Fn(&Observed<N>) -> bool + Send + Sync>;

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
    /// `to` receives `msg`, which `from`, a Byzantine node, made up: not
    /// what its code sent (see [`Model::byzantine`]).
    Forged {
        /// The Byzantine sender.
        from: NodeId,
        /// The receiver.
        to: NodeId,
        /// The message as it arrived.
        msg: N::Msg,
    },
    /// The network loses `msg` (or its Byzantine sender keeps it back).
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
            Action::Forged { from, to, msg } => {
                write!(f, "{to} delivers {msg:?} from {from}, a lie")
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

/// Per visited state (by hash): its parent's hash (its own for the initial
/// state) and its depth. The actions are not kept: a path is found again,
/// when one is needed, by expanding the states along it (a state's
/// messages can be large, and most states are never on a reported path).
type Visited = HashMap<u64, (u64, u32), foldhash::fast::FixedState>;

fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
    // Fixed seeds: fingerprints, and so the search, are the same on every
    // run and machine.
    foldhash::quality::FixedState::with_seed(0x6473_7973_6d6f_646c).hash_one(value)
}

/// What a search has decided so far.
struct Judged<N: Node> {
    /// Per property, its finding once decided.
    findings: Vec<Option<Finding>>,
    /// The path to the first violation.
    trail: Option<Vec<Action<N>>>,
    /// The hashes of the histories every history property held of.
    histories: std::collections::HashSet<u64, foldhash::fast::FixedState>,
}

impl<N: Node> Judged<N> {
    fn new(properties: usize) -> Self {
        Judged {
            findings: vec![None; properties],
            trail: None,
            histories: Default::default(),
        }
    }
}

/// A path run in the simulator by [`Model::replay`].
#[derive(Debug)]
pub struct Replayed<N: Node> {
    /// The simulation after the last step run, with its trace.
    pub sim: Simulation<N>,
    /// The first `always` or history property broken: its name, why, and
    /// after how many steps of the path (0: right after the nodes started).
    pub violated: Option<(&'static str, String, usize)>,
    /// What the clients saw, as the model's history records it.
    pub history: History<N>,
}

/// A configuration to explore: nodes from a factory, a network, a script
/// of client requests, faults, properties and bounds.
pub struct Model<N: Node> {
    /// Each node's peers (every other node), built once: every step's
    /// driver needs them.
    peers: Vec<Arc<[NodeId]>>,
    factory: Arc<dyn Fn(NodeId) -> N + Send + Sync>,
    network: Network,
    script: Vec<Scripted<N>>,
    crashes_max: u32,
    crash_stop: bool,
    timers_max: Option<u32>,
    timers_when_quiet: bool,
    local_clocks: bool,
    synchronous: bool,
    keeps_messages: bool,
    byzantine: Vec<(NodeId, Lies<N>)>,
    all_violations: bool,
    restart_from: Option<Restart<N>>,
    properties: Vec<Property<N>>,
    /// Whether states carry the clients' history: a history property is
    /// judged.
    records: bool,
    /// Whether history entries carry vector timestamps.
    causal: bool,
    /// Whether a node's random numbers continue from step to step.
    continuous_rng: bool,
    keep: Option<Keep<N>>,
    depth_max: usize,
    states_max: usize,
    time_max: Duration,
    seed: u64,
    strategy: Strategy,
    watch: Option<SearchWatch>,
}

/// Why an `eventually` property is violated.
const ENDS_WITHOUT: &str = "a run ends (nothing more can happen) without it";

/// How many states a search expands between two calls of its watch.
const WATCH_EVERY: usize = 1 << 13;

impl<N: Node> fmt::Debug for Model<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Model")
            .field("nodes", &self.peers.len())
            .field("network", &self.network)
            .field("requests", &self.script.len())
            .field("crashes_max", &self.crashes_max)
            .field("crash_stop", &self.crash_stop)
            .field("timers_max", &self.timers_max)
            .field("timers_when_quiet", &self.timers_when_quiet)
            .field("local_clocks", &self.local_clocks)
            .field("synchronous", &self.synchronous)
            .field("keeps_messages", &self.keeps_messages)
            .field(
                "byzantine",
                &self.byzantine.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
            )
            .field("restart_from", &self.restart_from.is_some())
            .field("properties", &self.properties)
            .field("observes", &self.keep.is_some())
            .field("causal_history", &self.causal)
            .field("continuous_rng", &self.continuous_rng)
            .field("depth_max", &self.depth_max)
            .field("states_max", &self.states_max)
            .finish_non_exhaustive()
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
            peers: (0..nodes as u32)
                .map(|id| (0..nodes as u32).filter(|&p| p != id).map(NodeId).collect())
                .collect(),
            factory: Arc::new(factory),
            network: Network::default(),
            script: Vec::new(),
            crashes_max: 0,
            crash_stop: false,
            timers_max: None,
            timers_when_quiet: false,
            local_clocks: false,
            synchronous: false,
            keeps_messages: false,
            byzantine: Vec::new(),
            all_violations: false,
            restart_from: None,
            properties: Vec::new(),
            records: false,
            causal: false,
            continuous_rng: false,
            keep: None,
            depth_max: 64,
            states_max: 1_000_000,
            time_max: Duration::from_secs(60),
            seed: 0,
            strategy: Strategy::BreadthFirst,
            watch: None,
        }
    }

    /// The network, crash and search settings of `options` (its node count
    /// and defect are for the algorithm that builds the model).
    /// A timer bound in `options` replaces the model's own; without one
    /// the model keeps what its algorithm chose. The network's settings add
    /// to the model's: a model of a channel built for a lossy network stays
    /// lossy, and one of an algorithm that assumes FIFO links (Chandy–Lamport)
    /// keeps them, whatever the options say.
    pub fn options(self, options: &ModelOptions) -> Self {
        let network = Network {
            lossy: self.network.lossy || options.network.lossy,
            duplicates_max: self
                .network
                .duplicates_max
                .max(options.network.duplicates_max),
            fifo: self.network.fifo || options.network.fifo,
        };
        let model = self
            .network(network)
            .crashes_max(options.crashes_max)
            .depth_max(options.depth_max)
            .states_max(options.states_max)
            .time_max(options.time_max)
            .strategy(options.strategy)
            .watch(options.watch.clone());
        match options.timers_max {
            Some(firings) => model.timers_max(firings),
            None => model,
        }
    }

    /// Calls `watch` every few thousand states with how far the search
    /// has got (a progress line), or nothing with `None`.
    pub fn watch(mut self, watch: Option<SearchWatch>) -> Self {
        self.watch = watch;
        self
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

    /// At most `firings` timer firings in a run (default: no bound). Time
    /// is abstract here, so a timer that re-arms itself (a retry, a
    /// heartbeat) can fire for ever and a run never ends; with a bound, a
    /// run stops when the budget is spent, and the report says the search
    /// was bounded if any run was cut with timers still pending. `0` is the
    /// run where every timeout is longer than the whole exchange.
    pub fn timers_max(mut self, firings: u32) -> Self {
        self.timers_max = Some(firings);
        self
    }

    /// Timers fire only when no message is in flight: every timeout
    /// outlasts every message delay. This is the synchrony that timeout-based
    /// algorithms such as the bully election assume (an answer always comes
    /// before the answer timeout); without it the model also explores the
    /// runs where a timer beats a message, which break them by design.
    pub fn timers_when_quiet(mut self) -> Self {
        self.timers_when_quiet = true;
        self
    }

    /// Gives each node a clock of its own, which moves only when one of its
    /// timers fires: to that timer's deadline (the time of setting plus its
    /// delay). A node's timers then fire in the order of their deadlines,
    /// and a node that reads [`Context::now`] sees the time its timers
    /// measured out; messages take no time, and the clocks of different
    /// nodes are unrelated (any node may be ahead). Without it every clock
    /// reads zero and a node's timers fire in any order.
    ///
    /// For algorithms that compare the time with a deadline of their own —
    /// Raft re-arms its election timer until the deadline that the last
    /// heartbeat pushed back has passed, so with clocks at zero no election
    /// ever starts. The clocks are part of the state, so pair this with a
    /// timer or depth bound: a run whose timers re-arm never ends.
    ///
    /// [`Context::now`]: crate::Context::now
    pub fn local_clocks(mut self) -> Self {
        self.local_clocks = true;
        self
    }

    /// Synchronous rounds, as lock-step algorithms assume (Dolev–Strong,
    /// the bully algorithm's timeouts): one clock for all nodes, moved by
    /// the timers, which fire in deadline order across nodes; every
    /// message is delivered before the next instant at which a timer is
    /// due, and a message sent at an instant only after every timer due
    /// then has fired. A round's messages are thus delivered within the
    /// round, whatever its length: delay below the round length is the
    /// synchrony the algorithms assume.
    pub fn synchronous(mut self) -> Self {
        self.local_clocks = true;
        self.synchronous = true;
        self
    }

    /// What survives a crash: at a crash, `survivor` builds, from the node
    /// as it was, the node its restart will start (before `on_start`),
    /// typically the algorithm's constructor over what the old node had
    /// made durable. Without it a restart calls the factory and nothing
    /// survives, which is right for algorithms that keep nothing on disk.
    ///
    /// The survivor is part of the state, so two crashed nodes with
    /// different durable state are different states. A storage handle
    /// shared by reference (every clone of a state sees the same disk) must
    /// not carry what survives: branches of the search would write to one
    /// disk. Rebuild the storage from a value instead.
    pub fn restart_from(
        mut self,
        survivor: impl Fn(NodeId, &N) -> N + Send + Sync + 'static,
    ) -> Self {
        self.restart_from = Some(Arc::new(survivor));
        self
    }

    /// Whether `state` has timers pending that the timer budget keeps
    /// from firing.
    fn timers_cut(&self, state: &State<N>) -> bool {
        self.timers_max.is_some_and(|max| state.fired >= max) && !state.timers.is_empty()
    }

    /// Allows up to `crashes` crashes in one run (each crashed node may
    /// restart, unless the model is [crash-stop](Model::crash_stop)).
    pub fn crashes_max(mut self, crashes: u32) -> Self {
        self.crashes_max = crashes;
        self
    }

    /// Crash-stop: a crashed node stays down. For algorithms that assume
    /// it (a primary-backup replica that restarted would have forgotten
    /// its votes): a restart would make runs their assumptions exclude.
    pub fn crash_stop(mut self) -> Self {
        self.crash_stop = true;
        self
    }

    /// Makes the network a *set* of messages, as in TLA+ specifications
    /// such as Lamport's TwoPhase: a message sent stays in flight for ever
    /// and may be delivered any number of times, and sending one already
    /// in flight changes nothing. For algorithms written to tolerate
    /// duplicates, and to compare state counts with TLC's; a message can
    /// then neither be dropped nor duplicated (the [`Network`] settings
    /// are moot), and a crash loses nothing in flight.
    pub fn keeps_messages(mut self) -> Self {
        self.keeps_messages = true;
        self
    }

    /// Makes `node` Byzantine: it runs its code, but each message it sends
    /// arrives as any of the variants `lies` gives for it (`None`: it never
    /// arrives), the model exploring every choice, message by message. The
    /// Byzantine node's own state then means nothing; properties should
    /// judge the others only. Include the message itself among the lies
    /// for a traitor that may also tell the truth.
    ///
    /// A made-up message (an [`Action::Forged`] step) cannot be replayed
    /// in the simulator, whose Byzantine strategies are its own.
    pub fn byzantine(
        mut self,
        node: NodeId,
        lies: impl Fn(&N::Msg) -> Vec<Option<N::Msg>> + Send + Sync + 'static,
    ) -> Self {
        self.byzantine.retain(|(b, _)| *b != node);
        self.byzantine.push((node, Arc::new(lies)));
        self
    }

    /// Searches on after the first violation, until every property is
    /// violated or reached, or a bound stops it: the shortest
    /// counterexample of each property, not just of the first one broken.
    /// By default the search stops at the first violation, as TLC does.
    pub fn all_violations(mut self) -> Self {
        self.all_violations = true;
        self
    }

    /// Adds a property to judge.
    pub fn property(mut self, property: Property<N>) -> Self {
        self.records |= matches!(property, Property::History(..));
        self.properties.push(property);
        self
    }

    /// Keeps in the clients' [`History`] only what `keep` accepts (by
    /// default, every request and every event). Each entry kept makes
    /// states that differ in it distinct, so a history property's model
    /// is smaller when the history holds only what the property reads:
    /// the calls and their answers, not a node's role changes.
    pub fn observes(mut self, keep: impl Fn(&Observed<N>) -> bool + Send + Sync + 'static) -> Self {
        self.keep = Some(Arc::new(keep));
        self
    }

    /// Stamps each entry of the clients' [`History`] with a vector
    /// timestamp, so that a history property can ask which entries
    /// [happened before](History::happened_before) which: ME3, the order
    /// of entries to a critical section, is judged so. The model keeps a
    /// vector clock per node, ticked at each entry the node makes, and
    /// every message carries its sender's clock, merged into the
    /// receiver's on delivery (clocks survive a crash: they belong to the
    /// process, as in the simulator's trace).
    ///
    /// The clocks are part of the state, so states that differ only in
    /// what happened before what are distinct, and the space grows.
    pub fn causal_history(mut self) -> Self {
        self.causal = true;
        self
    }

    /// Continues each node's random numbers from one of its steps to the
    /// next, as the simulator does, instead of drawing them afresh at
    /// every step: the position of the node's RNG is then part of the
    /// state, and a counterexample that depends on what a node drew (a
    /// random sequence number, a nonce) replays in the simulator exactly.
    /// States that differ only in how far a node's RNG got are distinct,
    /// so the space grows for nodes that draw at every step (a randomised
    /// timeout): leave it off for them.
    pub fn continuous_rng(mut self) -> Self {
        self.continuous_rng = true;
        self
    }

    /// Whether `observed` goes into the history: the model records one and
    /// [`Model::observes`] keeps it.
    fn keeps(&self, observed: &Observed<N>) -> bool {
        self.records && self.keep.as_ref().is_none_or(|keep| keep(observed))
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

    /// How many nodes the model runs.
    fn nodes(&self) -> usize {
        self.peers.len()
    }

    /// Explores the states as the [`Strategy`] says (breadth-first by
    /// default) and judges every property.
    pub fn check(&self) -> ModelReport<N> {
        if let Strategy::RandomWalks { walks, seed } = self.strategy {
            return self.random_walks(walks, seed);
        }
        let started = Instant::now();
        let initial = self.initial();
        let mut seen: Visited = Visited::default();
        let mut judged = Judged::new(self.properties.len());
        let mut queue: VecDeque<(State<N>, u64)> = VecDeque::new();
        let initial_hash = hash_of(&initial);
        seen.insert(initial_hash, (initial_hash, 0));
        let mut bound = None;
        let (mut depth, mut expanded) = (0, 0usize);
        let root = initial.clone();
        let path_to = |seen: &Visited, at: u64| self.path(&root, seen, at);
        // A state's invariants are judged when it is found, its end (for
        // `eventually`) when it is expanded: breadth-first, the first
        // violation is found a level earlier than by judging at expansion.
        self.judge(&initial, true, None, Vec::new, &mut judged);
        let mut stopped_early = self.decided(&judged.findings);
        if !stopped_early {
            queue.push_back((initial, initial_hash));
        }
        'search: loop {
            let next = match self.strategy {
                Strategy::DepthFirst => queue.pop_back(),
                _ => queue.pop_front(),
            };
            let Some((state, hash)) = next else { break };
            let here = seen[&hash].1 as usize;
            depth = depth.max(here);
            expanded += 1;
            self.tell(expanded, || SearchProgress {
                states: seen.len(),
                queued: queue.len(),
                depth,
                elapsed: started.elapsed(),
            });
            // Successors are needed to tell a finished run; past the depth
            // bound a state is judged but not expanded.
            let successors = if here < self.depth_max {
                Some(self.successors(&state))
            } else {
                None
            };
            let cut = self.timers_cut(&state);
            if cut {
                bound.get_or_insert(Bound::Timers(self.timers_max.unwrap_or(0)));
            }
            let finished = successors.as_ref().is_some_and(Vec::is_empty) && !cut;
            self.judge(
                &state,
                false,
                Some(finished),
                || path_to(&seen, hash),
                &mut judged,
            );
            if self.decided(&judged.findings) {
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
            for (_, next) in successors {
                let next_hash = hash_of(&next);
                if seen.contains_key(&next_hash) {
                    continue;
                }
                if seen.len() >= self.states_max {
                    bound = Some(Bound::States(self.states_max));
                    break;
                }
                seen.insert(next_hash, (hash, here as u32 + 1));
                depth = depth.max(here + 1);
                self.judge(&next, true, None, || path_to(&seen, next_hash), &mut judged);
                if self.decided(&judged.findings) {
                    stopped_early = true;
                    break 'search;
                }
                queue.push_back((next, next_hash));
            }
            if matches!(bound, Some(Bound::States(_))) {
                break;
            }
        }
        ModelReport {
            findings: self.conclude(judged.findings),
            trail: judged.trail,
            states: seen.len(),
            depth,
            exhaustive: bound.is_none() && !stopped_early,
            bound,
        }
    }

    /// The actions from `root` to the state whose hash is `at`, found again
    /// from the fingerprints along the way: each step is the successor of
    /// the state before whose hash is the next fingerprint.
    fn path(&self, root: &State<N>, seen: &Visited, mut at: u64) -> Vec<Action<N>> {
        let mut hashes = Vec::new();
        while let Some(&(parent, _)) = seen.get(&at).filter(|(parent, _)| *parent != at) {
            hashes.push(at);
            at = parent;
        }
        let mut state = root.clone();
        let mut steps = Vec::with_capacity(hashes.len());
        for wanted in hashes.into_iter().rev() {
            let (action, next) = self
                .successors(&state)
                .into_iter()
                .find(|(_, next)| hash_of(next) == wanted)
                .expect("a visited state is a successor of its parent");
            steps.push(action);
            state = next;
        }
        steps
    }

    /// Calls the watch, if there is one, on every [`WATCH_EVERY`]th `count`.
    fn tell(&self, count: usize, progress: impl FnOnce() -> SearchProgress) {
        if let Some(watch) = self
            .watch
            .as_ref()
            .filter(|_| count.is_multiple_of(WATCH_EVERY))
        {
            (watch.0)(&progress());
        }
    }

    /// Judges the undecided properties in `state`: with `states`, the
    /// `always` and `sometimes` ones; with `ends`, the `eventually` ones
    /// (`Some(true)` when the run ends there). `path` gives the steps that
    /// reached the state, when a finding needs them.
    fn judge(
        &self,
        state: &State<N>,
        states: bool,
        ends: Option<bool>,
        path: impl Fn() -> Vec<Action<N>>,
        judged: &mut Judged<N>,
    ) {
        let readable = |steps: &[Action<N>]| steps.iter().map(ToString::to_string).collect();
        // A history's verdicts depend on the history alone: one that every
        // history property held of (many states share one) is not judged
        // again.
        let history = (self.records && states).then(|| hash_of(&state.history));
        let known = history.is_some_and(|h| judged.histories.contains(&h));
        let mut held = true;
        for (slot, property) in judged.findings.iter_mut().zip(&self.properties) {
            if slot.is_some() {
                held &= !matches!(property, Property::History(..));
                continue;
            }
            let why = match property {
                Property::Always(_, check) if states => check(&state.nodes).err(),
                Property::History(_, check) if states && !known => check(&state.history).err(),
                Property::Sometimes(_, found) if states => {
                    if found(&state.nodes) {
                        *slot = Some(Finding::Reached(readable(&path())));
                    }
                    None
                }
                Property::Eventually(_, done) => {
                    (ends == Some(true) && !done(&state.nodes)).then(|| ENDS_WITHOUT.to_string())
                }
                Property::Always(..) | Property::Sometimes(..) | Property::History(..) => None,
            };
            if let Some(why) = why {
                held &= !matches!(property, Property::History(..));
                let steps = path();
                *slot = Some(Finding::Violated {
                    why,
                    path: readable(&steps),
                });
                judged.trail.get_or_insert(steps);
            }
        }
        if let (Some(history), true) = (history, held) {
            judged.histories.insert(history);
        }
    }

    /// Whether the search may stop: at the first violation, or with
    /// [`Model::all_violations`] once every property is decided (an
    /// `always` or `eventually` is decided only by a violation).
    fn decided(&self, findings: &[Option<Finding>]) -> bool {
        // Without properties, nothing is decided: the search counts states.
        (!findings.is_empty() && findings.iter().all(Option::is_some))
            || (!self.all_violations
                && findings
                    .iter()
                    .any(|f| matches!(f, Some(Finding::Violated { .. }))))
    }

    /// The findings, undecided ones concluded from a search that ended.
    fn conclude(&self, findings: Vec<Option<Finding>>) -> Vec<(&'static str, Finding)> {
        self.properties
            .iter()
            .zip(findings)
            .map(|(p, f)| {
                let finding = f.unwrap_or(match p {
                    Property::Always(..) | Property::Eventually(..) | Property::History(..) => {
                        Finding::Held
                    }
                    Property::Sometimes(..) => Finding::Unreached,
                });
                (p.name(), finding)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
