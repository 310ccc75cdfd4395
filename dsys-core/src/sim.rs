//! The deterministic simulator: one thread, virtual time, a seeded network
//! that loses, delays, duplicates and reorders messages, partitions, crashes,
//! pauses and drifting clocks.
//!
//! A [`Simulation`] owns `n` nodes of one [`Node`] type (use an enum for
//! clusters with several roles) and a priority queue of pending events keyed
//! by (virtual time, sequence number): the order is total and nothing is left
//! to chance but the seeded ChaCha RNG. The same seed and the same inputs give
//! the same run, event for event and byte for byte in the trace.
//!
//! # The model
//!
//! - **Network.** Each directed link has a [`LinkConfig`]: a [`Latency`]
//!   distribution, a loss and a duplication probability, FIFO or reordering.
//!   The default is reliable and FIFO with 1–10 ms latency. Links can be cut
//!   ([`Simulation::partition`], [`Simulation::cut_link`]) and restored
//!   ([`Simulation::heal`], [`Simulation::restore_link`]); a message on a cut
//!   link is dropped when sent and when it arrives.
//! - **Nodes.** [`Simulation::crash`] drops a node's state, its timers and the
//!   messages in flight to it; [`Simulation::restart`] calls the factory again
//!   (durable state is whatever the factory hands the new node). A message
//!   sent to a node that is already down is dropped on arrival if the node is
//!   still down then, and delivered if it has restarted (like a packet that
//!   reaches a rebooted host).
//!   [`Simulation::pause`] freezes a node: what arrives for it waits until
//!   [`Simulation::resume`].
//! - **Clocks.** Each node's [`Context::now`](crate::Context::now) reads its own [`ClockConfig`]:
//!   an offset and a drift in ppm. Timers are measured on the local clock, so
//!   a fast clock fires its timers early in virtual time.
//!
//! # Driving a run
//!
//! [`Simulation::step`] runs one event, [`Simulation::run_until`] runs to a
//! virtual time, [`Simulation::run_until_condition`] until a predicate over
//! the simulation holds. Requests ([`Simulation::request_at`]), faults
//! ([`Simulation::fault_at`], [`Simulation::schedule`] with a [`Script`]) and
//! closures ([`Simulation::call_at`]) are scheduled at virtual times.
//! Invariants ([`Simulation::invariant`]) are checked after every event; the
//! first violation ends the run with [`Error::InvariantViolated`](crate::Error::InvariantViolated), which
//! carries the seed, the invariant's name and the trace up to that event.
//! [`Simulation::set_scheduler`] hands the order of events to an adversary
//! ([`Scheduler`]) that sees every pending message and timer: the FLP run
//! (`dsys_consensus::paxos::flp`) is built on it.
//!
//! ```
//! use std::time::Duration;
//! use dsys_core::ping_pong::{PingPong, PingPongConfig};
//! use dsys_core::sim::{LinkConfig, Script, Simulation};
//! use dsys_core::NodeId;
//!
//! let config = PingPongConfig::default();
//! let mut sim = Simulation::new(3, 7, move |_| PingPong::new(config));
//! sim.set_all_links(LinkConfig::default().with_loss(0.1)).unwrap();
//! sim.enable_trace();
//! sim.schedule(&Script::new().wait(Duration::from_millis(300)).crash(NodeId(2))).unwrap();
//! sim.invariant("no phantom pongs", |nodes| {
//!     dsys_core::ping_pong::replies_match_pings(nodes)
//! });
//! sim.run_until(Duration::from_secs(2)).unwrap();
//! println!("{}", sim.metrics());
//! assert!(sim.metrics().dropped > 0);
//! assert!(sim.node(NodeId(2)).is_none(), "n2 crashed");
//! ```

mod adversary;
mod byzantine;
mod engine;
mod limits;
mod metrics;
mod network;
mod queue;
mod script;

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use adversary::{Pending, Scheduler};
use byzantine::ByzantineSlot;
pub use byzantine::{ByzantineCtx, Forged, Strategy, SENT_REMEMBERED_MAX};
pub use limits::{Limits, Progress, WatchFn, MEMORY_CHECK_EVERY};
use metrics::KindId;
pub use metrics::{KindMetrics, Metrics, NodeMetrics};
use network::LocalClock;
pub use network::{ClockConfig, Latency, LinkConfig, Ordering};
pub use script::{Fault, Script, Step};

use crate::driver::Driver;
use crate::error::Result;
use crate::node::{Node, NodeId};
use crate::trace::{Trace, TraceKind};
use network::nanos;
use queue::EventQueue;

/// An event a node emitted, with when it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Emitted<E> {
    /// Virtual time of the emission.
    pub time: Duration,
    /// The emitting node's local clock at that moment.
    pub local_time: Duration,
    /// The node's incarnation (0 until its first restart).
    pub incarnation: u64,
    /// The index of this emission's `emit` record in the trace, when tracing
    /// was on: links the typed event to its vector timestamp.
    pub trace_index: Option<usize>,
    /// The event.
    pub event: E,
}

/// Mixed into the seed of each Byzantine node's strategy RNG, so that its
/// stream differs from the node's own [`Context::rng`](crate::Context::rng).
const BYZANTINE_STREAM: u64 = 0xB12A_4717_E5EE_D5ED;

type Factory<N> = Box<dyn FnMut(NodeId) -> N>;
type InvariantFn<N> = Box<dyn FnMut(&[Option<N>]) -> std::result::Result<(), String>>;
type NodeInvariantFn<N> = Box<dyn FnMut(NodeId, &N) -> std::result::Result<(), String>>;
type Call<N> = Box<dyn FnOnce(&mut Simulation<N>)>;
type ShowState<N> = Box<dyn Fn(&N) -> String>;

enum Action<N: Node> {
    Start {
        node: usize,
        incarnation: u64,
    },
    Deliver {
        from: usize,
        to: usize,
        epoch: u64,
        msg_id: u64,
        kind: KindId,
        bytes: u32,
        msg: N::Msg,
        clock: Option<Box<[u64]>>,
    },
    Timer {
        node: usize,
        incarnation: u64,
        timer: N::Timer,
        /// Which setting of this timer value this is: a later setting of an
        /// equal timer replaces this one, which then does not fire.
        generation: u64,
    },
    Request {
        node: usize,
        request: N::Request,
    },
    /// A message a Byzantine node's strategy held back, put on the network now.
    HeldSend {
        from: usize,
        incarnation: u64,
        to: NodeId,
        msg: N::Msg,
        /// The handler's message, for the trace (when tracing).
        original: Option<String>,
        delay_ns: u64,
    },
    Fault(Fault),
    Call(Call<N>),
}

/// Per-node bookkeeping of the simulator (not the node's own state).
struct Slot<N: Node> {
    up: bool,
    paused: bool,
    /// Bumped at every crash: messages stamped with an older epoch were in
    /// flight at the crash and are lost.
    epoch: u64,
    incarnation: u64,
    driver: Driver<N>,
    /// Pending timers, by value, with the generation of their latest setting.
    timers: HashMap<N::Timer, u64>,
    next_generation: u64,
    clock: LocalClock,
    /// Events that arrived while paused, in arrival order.
    deferred: Vec<Action<N>>,
    emitted: Vec<Emitted<N::Event>>,
}

/// A deterministic simulation of `n` nodes of type `N`.
pub struct Simulation<N: Node> {
    seed: u64,
    n: usize,
    now: u64,
    events_processed: u64,
    next_msg_id: u64,
    rng: ChaCha8Rng,
    /// Pending actions by (virtual time, sequence number).
    queue: EventQueue<Action<N>>,
    factory: Factory<N>,
    nodes: Vec<Option<N>>,
    slots: Vec<Slot<N>>,
    peers: Vec<Vec<NodeId>>,
    links: Vec<LinkConfig>,
    cut: Vec<bool>,
    last_arrival: Vec<u64>,
    measure_bytes: bool,
    trace: Option<Trace>,
    /// How a node's state is written into the trace, when states are
    /// recorded ([`Simulation::record_states`]).
    show_state: Option<ShowState<N>>,
    clocks: Vec<Vec<u64>>,
    metrics: Metrics,
    invariants: Vec<(String, InvariantFn<N>)>,
    node_invariants: Vec<(String, NodeInvariantFn<N>)>,
    /// The strategy of each Byzantine node, by id; empty until the first
    /// [`Simulation::byzantine`], so honest runs pay one length check a send.
    byzantine: Vec<Option<ByzantineSlot<N::Msg>>>,
    /// The adversary that orders events, if any ([`Simulation::set_scheduler`]).
    scheduler: Option<Box<dyn Scheduler<N::Msg, N::Timer>>>,
    limits: Limits,
    /// The watch and how many events apart it is called.
    watch: Option<(u64, WatchFn)>,
}

impl<N: Node> fmt::Debug for Simulation<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulation")
            .field("seed", &self.seed)
            .field("nodes", &self.n)
            .field("now", &self.now())
            .field("pending", &self.queue.len())
            .field("events_processed", &self.events_processed)
            .finish_non_exhaustive()
    }
}

impl<N: Node> Simulation<N> {
    /// A simulation of `nodes` nodes, `NodeId(0)` to `NodeId(nodes - 1)`, each
    /// built by `factory`, with the default network (reliable, FIFO, 1–10 ms)
    /// and perfect clocks. Every node's `on_start` runs at virtual time 0, in
    /// id order. Tracing is off until [`Simulation::enable_trace`].
    pub fn new(nodes: usize, seed: u64, factory: impl FnMut(NodeId) -> N + 'static) -> Self {
        let ids: Vec<NodeId> = (0..nodes as u32).map(NodeId).collect();
        let mut sim = Simulation {
            seed,
            n: nodes,
            now: 0,
            events_processed: 0,
            next_msg_id: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
            queue: EventQueue::new(),
            factory: Box::new(factory),
            nodes: Vec::with_capacity(nodes),
            slots: Vec::with_capacity(nodes),
            peers: ids
                .iter()
                .map(|me| ids.iter().copied().filter(|p| p != me).collect())
                .collect(),
            links: vec![LinkConfig::default(); nodes * nodes],
            cut: vec![false; nodes * nodes],
            last_arrival: vec![0; nodes * nodes],
            measure_bytes: true,
            trace: None,
            show_state: None,
            clocks: Vec::new(),
            metrics: Metrics::new(nodes),
            invariants: Vec::new(),
            node_invariants: Vec::new(),
            byzantine: Vec::new(),
            scheduler: None,
            limits: Limits::NONE,
            watch: None,
        };
        for &id in &ids {
            let node = (sim.factory)(id);
            sim.nodes.push(Some(node));
            sim.slots.push(Slot {
                up: true,
                paused: false,
                epoch: 0,
                incarnation: 0,
                driver: Driver::seeded(id, sim.peers[id.index()].clone(), seed, 0),
                timers: HashMap::new(),
                next_generation: 0,
                clock: LocalClock::default(),
                deferred: Vec::new(),
                emitted: Vec::new(),
            });
            sim.push(
                0,
                Action::Start {
                    node: id.index(),
                    incarnation: 0,
                },
            );
        }
        sim
    }

    // ----- configuration -------------------------------------------------

    /// Bounds the run: past one, [`step`](Simulation::step) returns
    /// [`Error::LimitExceeded`](crate::Error::LimitExceeded) naming what
    /// grew. A new simulation has [`Limits::NONE`].
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// Calls `watch` every `every` events (at least 1) with the run's
    /// [`Progress`]: for a progress line, or to stop a run that took too
    /// long by the caller's clock — an `Err(why)` stops the run with
    /// [`Error::Stopped`](crate::Error::Stopped).
    pub fn set_watch(
        &mut self,
        every: u64,
        watch: impl FnMut(&Progress) -> std::result::Result<(), String> + 'static,
    ) {
        self.watch = Some((every.max(1), Box::new(watch)));
    }

    /// Where the run stands.
    pub fn progress(&self) -> Progress {
        Progress {
            now: self.now(),
            events: self.events_processed,
            pending: self.queue.len(),
            memory: self.memory_estimate(),
        }
    }

    /// An estimate, in bytes, of the memory the simulator holds for the
    /// run: the queue, the trace and the events nodes emitted (what a run
    /// grows; node states are the algorithm's own).
    pub fn memory_estimate(&self) -> u64 {
        let (queue, trace, emitted) = self.memory_parts();
        queue + trace + emitted
    }

    /// [`memory_estimate`](Simulation::memory_estimate) in parts: the
    /// queue, the trace, the emitted events.
    fn memory_parts(&self) -> (u64, u64, u64) {
        let queued = self.queue.len() * (std::mem::size_of::<Action<N>>() + 16);
        let traced = self.trace.as_ref().map_or(0, |t| {
            // A record, its vector timestamp, and the text of a message.
            t.len() * (std::mem::size_of::<crate::trace::TraceEvent>() + 8 * self.n + 64)
        });
        let emitted: usize = self.slots.iter().map(|s| s.emitted.capacity()).sum();
        let emitted = emitted * std::mem::size_of::<Emitted<N::Event>>();
        (queued as u64, traced as u64, emitted as u64)
    }

    /// Records a trace from now on (call before the first step to record the
    /// whole run). Tracing costs time: leave it off in benchmarks.
    pub fn enable_trace(&mut self) {
        if self.trace.is_none() {
            self.trace = Some(Trace::new());
            self.clocks = vec![vec![0; self.n]; self.n];
        }
    }

    /// Turns measuring message sizes with the real codec on (the default) or off.
    pub fn set_measure_bytes(&mut self, on: bool) {
        self.measure_bytes = on;
    }

    /// Sets the configuration of the directed link `from → to`.
    pub fn set_link(&mut self, from: NodeId, to: NodeId, link: LinkConfig) -> Result<()> {
        link.validate()?;
        let i = self.link_index(from, to)?;
        self.links[i] = link;
        Ok(())
    }

    /// Sets the configuration of every link.
    pub fn set_all_links(&mut self, link: LinkConfig) -> Result<()> {
        link.validate()?;
        self.links.fill(link);
        Ok(())
    }

    /// Sets a node's clock. Mid-run, the reading never moves backwards: a
    /// clock set back stands still until the new model catches up.
    pub fn set_clock(&mut self, node: NodeId, clock: ClockConfig) -> Result<()> {
        clock.validate()?;
        let i = self.check(node)?;
        self.slots[i].clock.set(clock, self.now);
        Ok(())
    }

    /// Adds an invariant over all node states (`None` for crashed nodes),
    /// checked after every event. Return `Err(description)` when it fails.
    pub fn invariant(
        &mut self,
        name: impl Into<String>,
        check: impl FnMut(&[Option<N>]) -> std::result::Result<(), String> + 'static,
    ) {
        self.invariants.push((name.into(), Box::new(check)));
    }

    /// Registers an invariant that each node must satisfy on its own (a
    /// property of one node's state, such as "every pong it counted
    /// answers a ping it sent"). It is checked after every event for the
    /// node the event ran on only — every live node after a fault or a
    /// scheduled call — so it costs the same per event however many nodes
    /// there are, where [`invariant`](Simulation::invariant) looks at them
    /// all. A violation stops the run like an invariant's.
    ///
    /// ```
    /// use std::time::Duration;
    /// use dsys_core::ping_pong::{PingPong, PingPongConfig};
    /// use dsys_core::sim::Simulation;
    ///
    /// let mut sim = Simulation::new(3, 1, |_| PingPong::new(PingPongConfig::default()));
    /// sim.node_invariant("no more than 4 pings answered", |_, node: &PingPong| {
    ///     match node.pings_received {
    ///         n if n > 4 => Err(format!("{n} pings answered")),
    ///         _ => Ok(()),
    ///     }
    /// });
    /// let error = sim.run_until(Duration::from_secs(1)).unwrap_err();
    /// assert!(error.to_string().contains("5 pings answered"), "{error}");
    /// ```
    pub fn node_invariant(
        &mut self,
        name: impl Into<String>,
        check: impl FnMut(NodeId, &N) -> std::result::Result<(), String> + 'static,
    ) {
        self.node_invariants.push((name.into(), Box::new(check)));
    }

    // ----- inspection ----------------------------------------------------

    /// The seed this simulation was built with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the simulation has no nodes.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Every node id.
    pub fn ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.n as u32).map(NodeId)
    }

    /// Virtual time.
    pub fn now(&self) -> Duration {
        Duration::from_nanos(self.now)
    }

    /// A node's local clock reading now.
    pub fn local_time(&self, node: NodeId) -> Option<Duration> {
        self.slots
            .get(node.index())
            .map(|s| Duration::from_nanos(s.clock.read(self.now)))
    }

    /// Events processed so far.
    pub fn events_processed(&self) -> u64 {
        self.events_processed
    }

    /// Events waiting in the queue.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// A node's state, `None` if it is crashed (or the id is unknown).
    pub fn node(&self, node: NodeId) -> Option<&N> {
        self.nodes.get(node.index()).and_then(Option::as_ref)
    }

    /// A node's state, mutably. Changing it bypasses the algorithm: for tests.
    pub fn node_mut(&mut self, node: NodeId) -> Option<&mut N> {
        self.nodes.get_mut(node.index()).and_then(Option::as_mut)
    }

    /// Every live node with its id.
    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, &N)> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.as_ref().map(|n| (NodeId(i as u32), n)))
    }

    /// All node states, indexed by id, `None` for crashed nodes (what
    /// invariants see).
    pub fn states(&self) -> &[Option<N>] {
        &self.nodes
    }

    /// Whether a node is up (not crashed; a paused node is up).
    pub fn is_up(&self, node: NodeId) -> bool {
        self.slots.get(node.index()).is_some_and(|s| s.up)
    }

    /// A node's incarnation: 0 until its first restart, then one more per restart.
    pub fn incarnation(&self, node: NodeId) -> Option<u64> {
        self.slots.get(node.index()).map(|s| s.incarnation)
    }

    /// The events a node emitted, across all its incarnations, in order.
    pub fn events(&self, node: NodeId) -> &[Emitted<N::Event>] {
        self.slots
            .get(node.index())
            .map_or(&[], |s| s.emitted.as_slice())
    }

    /// Every emitted event, with its node, ordered by virtual time (ties by node id).
    pub fn all_events(&self) -> Vec<(NodeId, &Emitted<N::Event>)> {
        let mut all: Vec<_> = self
            .slots
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.emitted.iter().map(move |e| (NodeId(i as u32), e)))
            .collect();
        all.sort_by_key(|(id, e)| (e.time, *id));
        all
    }

    /// What the run did so far.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Records each node's state, in `Debug` form (`{:#?}`), after every
    /// handler it runs: in [`TraceEvent::state`](crate::trace::TraceEvent::state)
    /// of the handler's `start`, `deliver`, `timer` or `request` record.
    /// Turns tracing on. The viewer (`dsys view`) shows the state at each
    /// step; a trace with states is larger, so this is opt-in
    /// (`dsys sim --trace-states`).
    ///
    /// ```
    /// use dsys_core::ping_pong::{PingPong, PingPongConfig};
    /// use dsys_core::sim::Simulation;
    /// use std::time::Duration;
    ///
    /// let mut sim = Simulation::new(2, 7, |_| PingPong::new(PingPongConfig::default()));
    /// sim.record_states();
    /// sim.run_until(Duration::from_millis(50)).unwrap();
    /// let trace = sim.trace().unwrap();
    /// let start = &trace.events()[0];
    /// assert!(start.state.as_deref().unwrap().starts_with("PingPong {"));
    /// ```
    pub fn record_states(&mut self)
    where
        N: fmt::Debug,
    {
        self.enable_trace();
        self.show_state = Some(Box::new(|node: &N| format!("{node:#?}")));
    }

    /// The trace so far, if tracing is on.
    pub fn trace(&self) -> Option<&Trace> {
        self.trace.as_ref()
    }

    /// Takes the trace out, leaving an empty one (tracing stays on).
    pub fn take_trace(&mut self) -> Option<Trace> {
        self.trace.as_mut().map(std::mem::take)
    }

    // ----- driving -------------------------------------------------------

    /// Runs the next event (the earliest, or the one the
    /// [scheduler](Simulation::set_scheduler) picks). `Ok(false)` when
    /// nothing is left to run.
    pub fn step(&mut self) -> Result<bool> {
        if self.scheduler.is_some() {
            return self.step_scheduled();
        }
        let Some((time, action)) = self.queue.pop() else {
            return Ok(false);
        };
        // An adversary may have moved the clock past events it left.
        self.now = self.now.max(time);
        self.run_action(action)?;
        Ok(true)
    }

    /// Hands the order of events to `scheduler`: from now on every
    /// [`step`](Simulation::step) runs the pending event it picks (see
    /// [`Scheduler`] for the rules that keep it within the asynchronous
    /// model). With a scheduler, [`run_until`](Simulation::run_until) steps
    /// while some event is due by the time given, and the scheduler may
    /// pick a later one.
    pub fn set_scheduler(&mut self, scheduler: impl Scheduler<N::Msg, N::Timer> + 'static) {
        self.scheduler = Some(Box::new(scheduler));
    }

    /// Back to the simulator's own order (earliest due first).
    pub fn clear_scheduler(&mut self) {
        self.scheduler = None;
    }

    /// Runs every event up to and including virtual time `time`, then sets
    /// the clock to `time` (if it is not already past it).
    pub fn run_until(&mut self, time: Duration) -> Result<()> {
        let until = nanos(time);
        while self.queue.peek_time().is_some_and(|time| time <= until) {
            self.step()?;
        }
        self.now = self.now.max(until);
        Ok(())
    }

    /// Runs for `duration` of virtual time from now.
    pub fn run_for(&mut self, duration: Duration) -> Result<()> {
        self.run_until(self.now().saturating_add(duration))
    }

    /// Runs until `condition` holds (checked before the first event and after
    /// each one) or virtual time passes `deadline`. Returns whether the
    /// condition held.
    pub fn run_until_condition(
        &mut self,
        deadline: Duration,
        mut condition: impl FnMut(&Simulation<N>) -> bool,
    ) -> Result<bool> {
        let until = nanos(deadline);
        if condition(self) {
            return Ok(true);
        }
        while self.queue.peek_time().is_some_and(|time| time <= until) {
            self.step()?;
            if condition(self) {
                return Ok(true);
            }
        }
        self.now = self.now.max(until);
        Ok(false)
    }

    /// Hands `request` to `node` now (after the events already due now).
    pub fn request(&mut self, node: NodeId, request: N::Request) -> Result<()> {
        self.request_at(self.now(), node, request)
    }

    /// Hands `request` to `node` at virtual time `time` (now, if `time` is past).
    pub fn request_at(&mut self, time: Duration, node: NodeId, request: N::Request) -> Result<()> {
        let i = self.check(node)?;
        let at = nanos(time).max(self.now);
        self.push(at, Action::Request { node: i, request });
        Ok(())
    }

    /// Injects `fault` at virtual time `time` (now, if `time` is past).
    pub fn fault_at(&mut self, time: Duration, fault: Fault) -> Result<()> {
        self.check_fault(&fault)?;
        let at = nanos(time).max(self.now);
        self.push(at, Action::Fault(fault));
        Ok(())
    }

    /// Schedules a fault script starting now. Every node it names is checked
    /// first: an unknown node schedules nothing.
    pub fn schedule(&mut self, script: &Script) -> Result<()> {
        for step in script.steps() {
            if let Step::Fault(fault) = step {
                self.check_fault(fault)?;
            }
        }
        let mut at = self.now;
        for step in script.steps() {
            match step {
                Step::Wait(d) => at = at.saturating_add(nanos(*d)),
                Step::Fault(fault) => self.push(at, Action::Fault(fault.clone())),
            }
        }
        Ok(())
    }

    /// Calls `f` with the simulation at virtual time `time`, between events.
    pub fn call_at(&mut self, time: Duration, f: impl FnOnce(&mut Simulation<N>) + 'static) {
        let at = nanos(time).max(self.now);
        self.push(at, Action::Call(Box::new(f)));
    }

    // ----- faults, now ---------------------------------------------------

    /// Injects `fault` now, after checking every node it names.
    pub fn inject(&mut self, fault: Fault) -> Result<()> {
        self.check_fault(&fault)?;
        self.do_fault(fault);
        Ok(())
    }

    /// Crashes `node` now: its state, timers and in-flight messages are lost.
    /// Crashing a crashed node does nothing.
    pub fn crash(&mut self, node: NodeId) -> Result<()> {
        self.inject(Fault::Crash(node))
    }

    /// Rebuilds `node` from its factory now and runs its `on_start`. A live
    /// node is crashed first (a reboot).
    pub fn restart(&mut self, node: NodeId) -> Result<()> {
        self.inject(Fault::Restart(node))
    }

    /// Pauses `node` now: what arrives for it waits until it resumes.
    pub fn pause(&mut self, node: NodeId) -> Result<()> {
        self.inject(Fault::Pause(node))
    }

    /// Resumes a paused node now; what waited for it is handled first, in order.
    pub fn resume(&mut self, node: NodeId) -> Result<()> {
        self.inject(Fault::Resume(node))
    }

    /// Cuts every link between side `a` and side `b`, both ways. Nodes on
    /// neither side keep their links.
    pub fn partition(&mut self, a: &[NodeId], b: &[NodeId]) -> Result<()> {
        self.inject(Fault::Partition(a.to_vec(), b.to_vec()))
    }

    /// Restores every cut link (partitions and one-way cuts).
    pub fn heal(&mut self) {
        self.do_fault(Fault::Heal);
    }

    /// Cuts the one-way link `from → to`.
    pub fn cut_link(&mut self, from: NodeId, to: NodeId) -> Result<()> {
        self.inject(Fault::CutLink(from, to))
    }

    /// Restores the one-way link `from → to`.
    pub fn restore_link(&mut self, from: NodeId, to: NodeId) -> Result<()> {
        self.inject(Fault::RestoreLink(from, to))
    }

    // ----- Byzantine nodes -------------------------------------------------

    /// Makes `node` Byzantine from now on: its handlers still run, and every
    /// message they send passes through `strategy` first (see [`Strategy`]).
    /// Replaces the node's earlier strategy, if any. The strategy survives
    /// the node's crashes and restarts: it belongs to the process, not to
    /// one incarnation.
    ///
    /// ```
    /// use std::time::Duration;
    /// use dsys_core::ping_pong::{Msg, PingPong, PingPongConfig};
    /// use dsys_core::sim::{Simulation, Strategy};
    /// use dsys_core::NodeId;
    ///
    /// let mut sim = Simulation::new(2, 1, |_| PingPong::new(PingPongConfig::default()));
    /// // n1 answers every ping with a pong for a round nobody asked about.
    /// sim.byzantine(NodeId(1), Strategy::tamper(|msg: &Msg| match msg {
    ///     Msg::Pong { round } => Msg::Pong { round: round + 100 },
    ///     other => other.clone(),
    /// })).unwrap();
    /// sim.run_until(Duration::from_secs(1)).unwrap();
    /// assert_eq!(sim.node(NodeId(0)).unwrap().replies(), 0, "no pong matched a ping");
    /// ```
    pub fn byzantine(&mut self, node: NodeId, strategy: Strategy<N::Msg>) -> Result<()> {
        let i = self.check(node)?;
        strategy.validate()?;
        if self.byzantine.is_empty() {
            self.byzantine.resize_with(self.n, || None);
        }
        // The strategy's own stream: lying draws nothing from the network's RNG.
        let rng = crate::node::node_rng(self.seed ^ BYZANTINE_STREAM, node, 0);
        let slot = ByzantineSlot::new(strategy, rng);
        let text = slot.describe();
        self.byzantine[i] = Some(slot);
        self.record_network(Some(i), || TraceKind::Byzantine { strategy: text });
        Ok(())
    }

    /// Makes `node` Byzantine with `strategy` at virtual time `time` (now,
    /// if `time` is past): a step of a scripted test.
    pub fn byzantine_at(
        &mut self,
        time: Duration,
        node: NodeId,
        strategy: Strategy<N::Msg>,
    ) -> Result<()> {
        self.check(node)?;
        strategy.validate()?;
        self.call_at(time, move |sim| {
            sim.byzantine(node, strategy)
                .expect("node and strategy were checked when scheduled");
        });
        Ok(())
    }

    /// Makes `node` honest again: its messages go out as its handlers sent
    /// them. Messages its strategy is holding back still go out later.
    pub fn honest(&mut self, node: NodeId) -> Result<()> {
        let i = self.check(node)?;
        if self.byzantine.get_mut(i).and_then(Option::take).is_some() {
            self.record_network(Some(i), || TraceKind::Honest);
        }
        Ok(())
    }

    /// The nodes that are Byzantine now, in id order: property checkers
    /// judge the other nodes only.
    pub fn byzantine_nodes(&self) -> Vec<NodeId> {
        self.byzantine
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.is_some())
            .map(|(i, _)| NodeId(i as u32))
            .collect()
    }

    /// Whether `node` is Byzantine now.
    pub fn is_byzantine(&self, node: NodeId) -> bool {
        self.byzantine
            .get(node.index())
            .is_some_and(Option::is_some)
    }

    /// Whether the link `from → to` is cut.
    pub fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        self.link_index(from, to).is_ok_and(|i| self.cut[i])
    }
}
