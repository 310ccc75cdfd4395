//! Logical timestamps for any node, without hand work: [`Stamped`] wraps a
//! node, stamps every message it sends with a Lamport or vector timestamp,
//! merges the stamps of the messages it receives, and hands the application
//! each event together with its timestamp.
//!
//! # The problem
//!
//! A Lamport or vector clock is only correct if *every* event ticks it and
//! *every* message carries it: forget one send, and a causal chain is lost.
//! Doing that by hand in each algorithm is repetitive and easy to get wrong.
//! Because a dsys node only acts through the effects it records in its
//! [`Context`], one wrapper can do it for all of them.
//!
//! # The algorithm
//!
//! [`Stamped<N, C>`](Stamped) is a [`Wrapper`]: it runs the inner node `N`
//! ([`Wrapper::run_inner`]) and translates each of its effects
//! ([`Wrapper::translate`]):
//!
//! 1. **receive**: a message arrives as [`StampedMsg`] `{ stamp, msg }`. The
//!    clock merges the stamp and ticks ([`LogicalClock::receive`]); the
//!    event is emitted as [`LogicalEvent::Receive`]; then the inner node
//!    handles `msg`. A stamp the clock refuses (from a broken or hostile
//!    peer) is not merged and the message is *not* delivered: the wrapper
//!    ticks and emits [`LogicalEvent::Refused`] instead.
//! 2. **send**: every `Send` of the inner node is one event: the clock ticks
//!    ([`LogicalClock::tick`]), the event is emitted as
//!    [`LogicalEvent::Send`], and the message leaves with the new stamp. A
//!    broadcast to `n − 1` peers is `n − 1` send events.
//! 3. **local event**: every event the inner node emits to its application
//!    ticks the clock and is handed on as [`LogicalEvent::Local`] with its
//!    timestamp.
//! 4. timers pass through untouched (the same values: setting, replacing
//!    and cancelling them is the inner node's business), and so do requests.
//!
//! Start, timer and request handlers are not events by themselves: what they
//! *do* (send, emit) is. Lamport's events are sends, receives and local
//! events; a handler that changes only private state is invisible to every
//! other process, so stamping it would change no order.
//!
//! Each emitted [`Timestamped`] event is in the run's event list
//! ([`Simulation::events`]) and in its trace, in the order the events
//! happened; [`traced_stamps`] pairs them with the simulator's own vector
//! timestamps, which is how the checkers of [`crate::lamport`] and
//! [`crate::vector`] judge a clock. [`Record::LocalEvents`] keeps only the
//! inner node's own events (and refusals) for applications that do not want
//! one event per message.
//!
//! # Assumptions
//!
//! None on the network: loss, duplication and reordering are fine (a
//! duplicate is simply a second receive event). A node's clock lives in its
//! state, so a crash loses it: a restarted node starts again from zero,
//! which breaks the clock condition against its own earlier events (the
//! checkers report it). Keep the clock on stable storage if timestamps must
//! survive restarts.
//!
//! # Guarantees
//!
//! Those of the clock `C`: with [`LamportClock`](crate::lamport::LamportClock),
//! `a → b ⇒ L(a) < L(b)`; with [`VectorClock`](crate::vector::VectorClock),
//! `a → b ⇔ V(a) < V(b)`.
//!
//! # Cost
//!
//! No extra messages. Each message carries one timestamp: a few bytes for
//! Lamport, one `(node, count)` pair per node known for vector clocks. With
//! [`Record::AllEvents`] the application gets one event per send and per
//! receive, each holding a copy of the message.
//!
//! # Source
//!
//! Instrumenting every send and receive with a clock is how vector time is
//! recorded for debugging and visualisation: Fidge (1988) and Mattern
//! (1989) describe it; GoVector and ShiViz (Beschastnikh et al.,
//! *Debugging Distributed Systems*, CACM 59(8), 2016) do it for real
//! programs. Coulouris et al., *Distributed Systems*, §14.4.
//!
//! ```
//! use std::time::Duration;
//! use dsys_clocks::lamport::LamportClock;
//! use dsys_clocks::stamped::{Chatter, ChatterConfig, LogicalEvent, Stamped};
//! use dsys_core::sim::Simulation;
//! use dsys_core::NodeId;
//!
//! let mut sim = Simulation::new(3, 7, |_| {
//!     Stamped::new(Chatter::new(ChatterConfig::default()), LamportClock::new())
//! });
//! sim.run_until(Duration::from_secs(1)).unwrap();
//! for emitted in sim.events(NodeId(0)).iter().take(5) {
//!     let stamped = &emitted.event;
//!     match &stamped.event {
//!         LogicalEvent::Send { to, .. } => println!("{} send to {to}", stamped.timestamp),
//!         LogicalEvent::Receive { from, .. } => println!("{} receive from {from}", stamped.timestamp),
//!         other => println!("{} {other:?}", stamped.timestamp),
//!     }
//! }
//! ```
//!
//! The chatter node [`Chatter`] defined here is what `dsys sim lamport` and
//! `dsys sim vector` wrap: processes exchanging messages at random.

use std::fmt::Debug;
use std::hash::Hash;
use std::time::Duration;

use dsys_core::model::{History, Model, Observed};
use dsys_core::rand::RngExt;
use dsys_core::sim::Simulation;
use dsys_core::trace::Trace;
use dsys_core::{Context, Effect, EffectOf, Input, Message, Node, NodeId, Wrapper};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::Result;

/// A logical clock that [`Stamped`] can drive: one tick per event, a merge
/// per receive. Implemented by [`LamportClock`](crate::lamport::LamportClock)
/// and [`VectorClock`](crate::vector::VectorClock); implement it for a
/// variant of your own (a deliberately broken one, to see a checker catch
/// it).
pub trait LogicalClock: Clone + Debug + PartialEq + Eq + Hash + Send + 'static {
    /// What an event is stamped with, and what a message carries.
    type Timestamp: Clone
        + Debug
        + PartialEq
        + Eq
        + Hash
        + Send
        + Serialize
        + DeserializeOwned
        + 'static;

    /// A send or local event at node `me`: advances the clock and returns the
    /// event's timestamp.
    fn tick(&mut self, me: NodeId) -> Self::Timestamp;

    /// A receive event at node `me` of a message stamped `stamp`: merges the
    /// stamp, advances the clock and returns the event's timestamp. Fails,
    /// leaving the clock unchanged, if the stamp cannot be merged (it is out
    /// of range: a broken or hostile sender).
    fn receive(&mut self, me: NodeId, stamp: &Self::Timestamp) -> Result<Self::Timestamp>;
}

/// A message of a [`Stamped`] node: the inner node's message and the
/// sender's timestamp of the send event.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StampedMsg<M, T> {
    /// The timestamp of the send event.
    pub stamp: T,
    /// The inner node's message.
    pub msg: M,
}

impl<M, T> Message for StampedMsg<M, T>
where
    M: Message,
    T: Clone + Debug + Send + Serialize + DeserializeOwned + 'static,
{
    /// The inner message's kind: metrics and traces count `Ping`, not
    /// `StampedMsg`.
    fn kind(&self) -> &'static str {
        self.msg.kind()
    }
}

/// What happened, in Lamport's terms.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LogicalEvent<M, E> {
    /// The node sent `msg` to `to`.
    Send {
        /// The destination.
        to: NodeId,
        /// The inner node's message.
        msg: M,
    },
    /// The node received `msg` from `from` (and merged its stamp).
    Receive {
        /// The sender.
        from: NodeId,
        /// The inner node's message.
        msg: M,
    },
    /// The inner node emitted this event to its application.
    Local(E),
    /// A message from `from` was refused, not delivered: its stamp could not
    /// be merged. A local event of this node.
    Refused {
        /// The sender.
        from: NodeId,
        /// Why the stamp was refused.
        reason: String,
    },
}

/// An event with its logical timestamp: the event type of [`Stamped`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Timestamped<T, M, E> {
    /// The event's timestamp.
    pub timestamp: T,
    /// The event.
    pub event: LogicalEvent<M, E>,
}

/// Which events [`Stamped`] hands to the application. Every event ticks the
/// clock either way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Record {
    /// Every send, receive, local event and refusal (the default; what the
    /// checkers need).
    #[default]
    AllEvents,
    /// Only the inner node's own events ([`LogicalEvent::Local`]) and
    /// refusals.
    LocalEvents,
}

/// The event type of `Stamped<N, C>`.
pub type EventOf<N, C> =
    Timestamped<<C as LogicalClock>::Timestamp, <N as Node>::Msg, <N as Node>::Event>;

/// A node wrapped with a logical clock: see the [module docs](self).
///
/// ```
/// use dsys_clocks::stamped::{Chatter, ChatterConfig, ChatterRequest, LogicalEvent, Stamped, StampedMsg};
/// use dsys_clocks::vector::VectorClock;
/// use dsys_core::testing::Harness;
/// use dsys_core::{Effect, NodeId};
///
/// let node = Stamped::new(Chatter::new(ChatterConfig::scripted()), VectorClock::new());
/// let mut h = Harness::new(node, NodeId(0), 2);
/// h.start();
/// let effects = h.request(ChatterRequest::Send { to: NodeId(1), label: "m1".into() });
/// let Effect::Send { msg: StampedMsg { stamp, .. }, .. } = &effects[1] else { panic!() };
/// assert_eq!(stamp, &VectorClock::from_entries([(NodeId(0), 1)]));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Stamped<N, C> {
    inner: N,
    clock: C,
    record: Record,
}

impl<N: Node, C: LogicalClock> Stamped<N, C> {
    /// Wraps `inner`, with `clock` as its clock (usually a fresh one).
    pub fn new(inner: N, clock: C) -> Self {
        Stamped {
            inner,
            clock,
            record: Record::AllEvents,
        }
    }

    /// Chooses which events are handed to the application.
    pub fn recording(mut self, record: Record) -> Self {
        self.record = record;
        self
    }

    /// The inner node.
    pub fn inner(&self) -> &N {
        &self.inner
    }

    /// The inner node, mutably.
    pub fn inner_mut(&mut self) -> &mut N {
        &mut self.inner
    }

    /// Unwraps the inner node.
    pub fn into_inner(self) -> N {
        self.inner
    }

    /// The clock as it is now (the timestamp of the last event, for Lamport
    /// and vector clocks).
    pub fn clock(&self) -> &C {
        &self.clock
    }

    fn emit(
        &self,
        ctx: &mut Context<'_, Self>,
        timestamp: C::Timestamp,
        event: LogicalEvent<N::Msg, N::Event>,
    ) {
        ctx.emit(Timestamped { timestamp, event });
    }
}

impl<N: Node, C: LogicalClock> Wrapper for Stamped<N, C> {
    type Inner = N;

    fn inner_mut(&mut self) -> &mut N {
        &mut self.inner
    }

    /// One tick per send and per emit; timers pass through.
    fn translate(&mut self, ctx: &mut Context<'_, Self>, effect: EffectOf<N>) {
        let me = ctx.id();
        match effect {
            Effect::Send { to, msg } => {
                let stamp = self.clock.tick(me);
                if self.record == Record::AllEvents {
                    let event = LogicalEvent::Send {
                        to,
                        msg: msg.clone(),
                    };
                    self.emit(ctx, stamp.clone(), event);
                }
                ctx.send(to, StampedMsg { stamp, msg });
            }
            Effect::Emit(event) => {
                let stamp = self.clock.tick(me);
                self.emit(ctx, stamp, LogicalEvent::Local(event));
            }
            Effect::SetTimer { after, timer } => ctx.set_timer(after, timer),
            Effect::CancelTimer { timer } => ctx.cancel_timer(&timer),
        }
    }
}

impl<N: Node, C: LogicalClock> Node for Stamped<N, C> {
    type Msg = StampedMsg<N::Msg, C::Timestamp>;
    type Timer = N::Timer;
    type Request = N::Request;
    type Event = EventOf<N, C>;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.run_inner(ctx, Input::Start);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Self::Msg) {
        let me = ctx.id();
        let StampedMsg { stamp, msg } = msg;
        match self.clock.receive(me, &stamp) {
            Ok(timestamp) => {
                if self.record == Record::AllEvents {
                    let event = LogicalEvent::Receive {
                        from,
                        msg: msg.clone(),
                    };
                    self.emit(ctx, timestamp, event);
                }
                self.run_inner(ctx, Input::Message { from, msg });
            }
            Err(error) => {
                let timestamp = self.clock.tick(me);
                let reason = error.to_string();
                self.emit(ctx, timestamp, LogicalEvent::Refused { from, reason });
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Self::Timer) {
        self.run_inner(ctx, Input::Timer(timer));
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Self::Request) {
        self.run_inner(ctx, Input::Request(request));
    }
}

/// A stamped event located in a simulator trace.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TracedStamp<T> {
    /// The index of the event's `emit` record in the trace: its vector
    /// timestamp there is the simulator's, kept without the node's help.
    pub index: usize,
    /// The node of the event.
    pub node: NodeId,
    /// The timestamp the node's logical clock gave the event.
    pub timestamp: T,
}

/// What happened before what: the truth a logical clock is judged
/// against, without the clock's help. A simulator [`Trace`] knows it by its
/// own vector timestamps; a model's [`History`] by the ones
/// [`Model::causal_history`](dsys_core::model::Model::causal_history) keeps.
/// A [`TracedStamp`]'s `index` is a position in it.
pub trait Causality {
    /// Whether the event at `a` happened before the one at `b`.
    fn happens_before(&self, a: usize, b: usize) -> bool;

    /// Whether the events at `a` and `b` are distinct and neither happened
    /// before the other.
    fn concurrent(&self, a: usize, b: usize) -> bool {
        a != b && !self.happens_before(a, b) && !self.happens_before(b, a)
    }

    /// The event of `stamp`, for a checker's message: `n2's event at 5.1ms
    /// (trace event 17)`.
    fn describe<T>(&self, stamp: &TracedStamp<T>) -> String;

    /// What knows the truth, for a checker's message: `the trace`.
    fn name(&self) -> &'static str;
}

impl Causality for Trace {
    fn happens_before(&self, a: usize, b: usize) -> bool {
        Trace::happens_before(self, a, b)
    }

    fn concurrent(&self, a: usize, b: usize) -> bool {
        Trace::concurrent(self, a, b)
    }

    fn describe<T>(&self, stamp: &TracedStamp<T>) -> String {
        let time = self
            .events()
            .get(stamp.index)
            .map_or(Duration::ZERO, |e| e.time());
        format!(
            "{}'s event at {time:?} (trace event {})",
            stamp.node, stamp.index
        )
    }

    fn name(&self) -> &'static str {
        "the trace"
    }
}

impl<N: Node> Causality for History<N> {
    fn happens_before(&self, a: usize, b: usize) -> bool {
        self.happened_before(a, b)
    }

    /// `n2's event (history entry 5)`.
    fn describe<T>(&self, stamp: &TracedStamp<T>) -> String {
        format!("{}'s event (history entry {})", stamp.node, stamp.index)
    }

    fn name(&self) -> &'static str {
        "the model"
    }
}

/// Every event a [`Stamped`] node emitted in a model's history, located by
/// its position there (see [`Causality`]).
pub fn history_stamps<N: Node, C: LogicalClock>(
    history: &History<Stamped<N, C>>,
) -> Vec<TracedStamp<C::Timestamp>> {
    history
        .iter()
        .enumerate()
        .filter_map(|(index, observed)| match observed {
            Observed::Event { node, event } => Some(TracedStamp {
                index,
                node: *node,
                timestamp: event.timestamp.clone(),
            }),
            Observed::Request { .. } => None,
        })
        .collect()
}

/// Pairs every event a [`Stamped`] node emitted with its record in the
/// simulation's trace, in trace order: the `k`-th `emit` record of a node in
/// the trace is the `k`-th event in [`Simulation::events`] of that node.
///
/// Happens-before between these records in the trace is happens-before
/// between the logical events: a send event is emitted just before its
/// message leaves, and a receive event first thing after the delivery.
///
/// Fails if the simulation has no trace, or tracing started after the first
/// event (the two lists then disagree).
pub fn traced_stamps<N: Node, C: LogicalClock>(
    sim: &Simulation<Stamped<N, C>>,
) -> std::result::Result<Vec<TracedStamp<C::Timestamp>>, String> {
    if sim.trace().is_none() {
        return Err("the simulation has no trace: call enable_trace before running it".into());
    }
    let mut out = Vec::new();
    for node in sim.ids() {
        for emitted in sim.events(node) {
            let index = emitted.trace_index.ok_or_else(|| {
                format!("{node} emitted events before tracing began: enable tracing before the first step")
            })?;
            out.push(TracedStamp {
                index,
                node,
                timestamp: emitted.event.timestamp.clone(),
            });
        }
    }
    out.sort_by_key(|s| s.index);
    Ok(out)
}

// ----- the chatter node ---------------------------------------------------

/// How a [`Chatter`] node behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChatterConfig {
    /// Time between two spontaneous actions, drawn uniformly from
    /// `min..=max` on the local clock; `None`: act only when asked by a
    /// request.
    pub interval: Option<(Duration, Duration)>,
    /// Chance, in percent, that a spontaneous action is a send to a random
    /// peer rather than a local event.
    pub send_percent: u8,
    /// Chance, in percent, that a received message is passed on to a random
    /// peer (this builds causal chains across several nodes).
    pub forward_percent: u8,
    /// Spontaneous actions per node, at most: a run's length in events is
    /// bounded whatever its virtual duration.
    pub actions_max: u32,
}

impl Default for ChatterConfig {
    /// An action every 10–60 ms, 60% sends, 30% of messages forwarded, 40
    /// actions per node.
    fn default() -> Self {
        ChatterConfig {
            interval: Some((Duration::from_millis(10), Duration::from_millis(60))),
            send_percent: 60,
            forward_percent: 30,
            actions_max: 40,
        }
    }
}

impl ChatterConfig {
    /// A node that does nothing by itself: local events and sends happen
    /// when requests ask for them, and messages are never forwarded. For
    /// scripted runs such as the textbook figures.
    pub fn scripted() -> Self {
        ChatterConfig {
            interval: None,
            send_percent: 0,
            forward_percent: 0,
            actions_max: 0,
        }
    }
}

/// The chatter's message: a label, e.g. `n2.7` (node 2's seventh action).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Chat {
    /// What the message is called.
    pub label: String,
}

impl Message for Chat {}

/// The chatter's one timer: time for a spontaneous action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Speak;

/// What an application can ask a chatter node to do.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChatterRequest {
    /// A local event, emitted with this label.
    Local {
        /// The event's label.
        label: String,
    },
    /// Send [`Chat`] `{ label }` to `to`.
    Send {
        /// The destination.
        to: NodeId,
        /// The message's label.
        label: String,
    },
}

/// A node that exchanges messages at random (or on request): the workload
/// of `dsys sim lamport` and `dsys sim vector`. Its events are labels of its
/// local events.
///
/// All randomness comes from [`Context::rng`], so a run is a function of its
/// seed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Chatter {
    config: ChatterConfig,
    actions: u32,
}

impl Chatter {
    /// A node with the given behaviour.
    pub fn new(config: ChatterConfig) -> Self {
        Chatter { config, actions: 0 }
    }

    /// Spontaneous actions taken so far.
    pub fn actions(&self) -> u32 {
        self.actions
    }

    fn schedule(&self, ctx: &mut Context<'_, Self>) {
        if let Some((min, max)) = self.config.interval
            && self.actions < self.config.actions_max
        {
            let after = if min >= max {
                min
            } else {
                ctx.rng().random_range(min..=max)
            };
            ctx.set_timer(after, Speak);
        }
    }

    fn random_peer(ctx: &mut Context<'_, Self>) -> Option<NodeId> {
        let count = ctx.peers().len();
        if count == 0 {
            return None;
        }
        let i = ctx.rng().random_range(0..count);
        Some(ctx.peers()[i])
    }

    fn percent(ctx: &mut Context<'_, Self>, percent: u8) -> bool {
        percent > 0 && ctx.rng().random_range(0..100u8) < percent
    }
}

impl Node for Chatter {
    type Msg = Chat;
    type Timer = Speak;
    type Request = ChatterRequest;
    type Event = String;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.schedule(ctx);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, _from: NodeId, msg: Chat) {
        if Self::percent(ctx, self.config.forward_percent)
            && let Some(to) = Self::random_peer(ctx)
        {
            ctx.send(to, msg);
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _: Speak) {
        self.actions += 1;
        let label = format!("{}.{}", ctx.id(), self.actions);
        let send = Self::percent(ctx, self.config.send_percent);
        match Self::random_peer(ctx).filter(|_| send) {
            Some(to) => ctx.send(to, Chat { label }),
            None => ctx.emit(label),
        }
        self.schedule(ctx);
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: ChatterRequest) {
        match request {
            ChatterRequest::Local { label } => ctx.emit(label),
            ChatterRequest::Send { to, label } => ctx.send(to, Chat { label }),
        }
    }
}

/// The model of `dsys check lamport` and `dsys check vector`: `nodes`
/// scripted [`Chatter`] nodes stamped by `clock`, each sending one message
/// to the next node round the ring and then doing a local event, in every
/// interleaving of those requests and the deliveries. A node that sends
/// after it received makes a causal chain across nodes; one that sends
/// before, concurrent events. The history keeps the stamped events, and
/// [`Model::causal_history`] stamps them with the model's own vector
/// clocks: the truth ([`Causality`]) that the node's clock is judged
/// against, by the properties its caller adds.
///
/// ```
/// use dsys_clocks::lamport::LamportClock;
/// use dsys_clocks::stamped::chatter_model;
///
/// // Three nodes, three messages, three local events: every interleaving.
/// let report = chatter_model(3, LamportClock::new()).check();
/// assert!(report.exhaustive, "{report}");
/// ```
///
/// [`Model::causal_history`]: dsys_core::model::Model::causal_history
pub fn chatter_model<C: LogicalClock + Sync>(nodes: usize, clock: C) -> Model<Stamped<Chatter, C>> {
    let mut model = Model::new(nodes, move |_| {
        Stamped::new(Chatter::new(ChatterConfig::scripted()), clock.clone())
    })
    .causal_history()
    .observes(|seen: &Observed<Stamped<Chatter, C>>| matches!(seen, Observed::Event { .. }));
    for i in 0..nodes {
        let node = NodeId(i as u32);
        if nodes > 1 {
            let to = NodeId(((i + 1) % nodes) as u32);
            let label = format!("{node}.1");
            model = model.request(node, ChatterRequest::Send { to, label });
        }
        let label = format!("{node}.2");
        model = model.request(node, ChatterRequest::Local { label });
    }
    model
}

/// The classic three-process figure (Coulouris et al., *Distributed
/// Systems*, Figures 14.5–14.7) as a simulated run of [`Chatter`] nodes
/// stamped by `clock`: p1 (`n0`) does a at 1 ms and sends m1 (b) at 2 ms;
/// p3 (`n2`) does e at 1 ms; p2 (`n1`) receives m1 (c) at 7 ms and sends m2
/// (d) at 10 ms, which p3 receives (f) at 15 ms. Every message takes 5 ms.
/// Tracing is on, so [`traced_stamps`] pairs each event with the truth.
///
/// ```
/// use dsys_clocks::lamport::LamportClock;
/// use dsys_clocks::stamped::{classic_figure, traced_stamps};
///
/// let sim = classic_figure(LamportClock::new()).unwrap();
/// let times: Vec<u64> = traced_stamps(&sim).unwrap().iter().map(|s| s.timestamp.time).collect();
/// assert_eq!(times.len(), 6);
/// ```
pub fn classic_figure<C: LogicalClock>(
    clock: C,
) -> dsys_core::Result<Simulation<Stamped<Chatter, C>>> {
    use dsys_core::sim::{Latency, LinkConfig};
    let ms = Duration::from_millis;
    let mut sim = Simulation::new(3, 1, move |_| {
        Stamped::new(Chatter::new(ChatterConfig::scripted()), clock.clone())
    });
    sim.set_all_links(LinkConfig::reliable(Latency::Fixed(ms(5))))?;
    sim.enable_trace();
    let (p1, p2, p3) = (NodeId(0), NodeId(1), NodeId(2));
    let local = |label: &str| ChatterRequest::Local {
        label: label.to_string(),
    };
    let send = |to, label: &str| ChatterRequest::Send {
        to,
        label: label.to_string(),
    };
    sim.request_at(ms(1), p1, local("a"))?;
    sim.request_at(ms(1), p3, local("e"))?;
    sim.request_at(ms(2), p1, send(p2, "m1"))?; // b; m1 arrives at 7 ms: c
    sim.request_at(ms(10), p2, send(p3, "m2"))?; // d; m2 arrives at 15 ms: f
    sim.run_until(ms(50))?;
    Ok(sim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lamport::{LamportClock, LamportTimestamp};
    use crate::vector::VectorClock;
    use dsys_core::testing::Harness;

    type LamportChatter = Stamped<Chatter, LamportClock>;

    fn at(time: u64, node: u32) -> LamportTimestamp {
        LamportTimestamp {
            time,
            node: NodeId(node),
        }
    }

    fn chat(label: &str) -> Chat {
        Chat {
            label: label.to_string(),
        }
    }

    fn scripted_lamport(id: u32) -> Harness<LamportChatter> {
        let node = Stamped::new(Chatter::new(ChatterConfig::scripted()), LamportClock::new());
        let mut h = Harness::new(node, NodeId(id), 3);
        assert_eq!(
            h.start(),
            vec![],
            "a scripted chatter does nothing at start"
        );
        h
    }

    // Handler tests assert exact effects (STYLE.md #9).
    #[test]
    fn a_send_ticks_is_emitted_then_leaves_with_its_stamp() {
        let mut h = scripted_lamport(0);
        let effects = h.request(ChatterRequest::Send {
            to: NodeId(1),
            label: "m1".into(),
        });
        assert_eq!(
            effects,
            vec![
                Effect::Emit(Timestamped {
                    timestamp: at(1, 0),
                    event: LogicalEvent::Send {
                        to: NodeId(1),
                        msg: chat("m1")
                    },
                }),
                Effect::Send {
                    to: NodeId(1),
                    msg: StampedMsg {
                        stamp: at(1, 0),
                        msg: chat("m1")
                    }
                },
            ]
        );
        assert_eq!(h.node().clock().time(), 1);
    }

    #[test]
    fn a_local_event_ticks_and_is_stamped() {
        let mut h = scripted_lamport(2);
        assert_eq!(
            h.request(ChatterRequest::Local { label: "e".into() }),
            vec![Effect::Emit(Timestamped {
                timestamp: at(1, 2),
                event: LogicalEvent::Local("e".to_string()),
            })]
        );
    }

    #[test]
    fn a_receive_merges_max_plus_one_before_the_inner_node_runs() {
        // Forwarding always: the inner node's send comes after the receive.
        let config = ChatterConfig {
            forward_percent: 100,
            ..ChatterConfig::scripted()
        };
        let mut h = Harness::new(
            Stamped::new(Chatter::new(config), LamportClock::new()),
            NodeId(1),
            2,
        );
        h.start();
        let effects = h.message(
            NodeId(0),
            StampedMsg {
                stamp: at(7, 0),
                msg: chat("m1"),
            },
        );
        assert_eq!(
            effects,
            vec![
                Effect::Emit(Timestamped {
                    timestamp: at(8, 1),
                    event: LogicalEvent::Receive {
                        from: NodeId(0),
                        msg: chat("m1")
                    },
                }),
                Effect::Emit(Timestamped {
                    timestamp: at(9, 1),
                    event: LogicalEvent::Send {
                        to: NodeId(0),
                        msg: chat("m1")
                    },
                }),
                Effect::Send {
                    to: NodeId(0),
                    msg: StampedMsg {
                        stamp: at(9, 1),
                        msg: chat("m1")
                    }
                },
            ]
        );
    }

    #[test]
    fn a_stamp_out_of_range_is_refused_and_not_delivered() {
        let config = ChatterConfig {
            forward_percent: 100,
            ..ChatterConfig::scripted()
        };
        let mut h = Harness::new(
            Stamped::new(Chatter::new(config), LamportClock::new()),
            NodeId(1),
            2,
        );
        h.start();
        let effects = h.message(
            NodeId(0),
            StampedMsg {
                stamp: at(u64::MAX, 0),
                msg: chat("evil"),
            },
        );
        assert_eq!(effects.len(), 1, "{effects:?}");
        let Effect::Emit(Timestamped {
            timestamp,
            event: LogicalEvent::Refused { from, reason },
        }) = &effects[0]
        else {
            panic!("expected a refusal, got {effects:?}");
        };
        assert_eq!((*timestamp, *from), (at(1, 1), NodeId(0)));
        assert!(reason.contains("Lamport"), "{reason}");
    }

    #[test]
    fn timers_pass_through_unchanged() {
        let config = ChatterConfig {
            interval: Some((Duration::from_millis(5), Duration::from_millis(5))),
            send_percent: 100,
            forward_percent: 0,
            actions_max: 2,
        };
        let node = Stamped::new(Chatter::new(config), VectorClock::new());
        let mut h = Harness::new(node, NodeId(0), 2);
        assert_eq!(
            h.start(),
            vec![Effect::SetTimer {
                after: Duration::from_millis(5),
                timer: Speak
            }]
        );
        let me = |count| VectorClock::from_entries([(NodeId(0), count)]);
        assert_eq!(
            h.timer(Speak),
            vec![
                Effect::Emit(Timestamped {
                    timestamp: me(1),
                    event: LogicalEvent::Send {
                        to: NodeId(1),
                        msg: chat("n0.1")
                    },
                }),
                Effect::Send {
                    to: NodeId(1),
                    msg: StampedMsg {
                        stamp: me(1),
                        msg: chat("n0.1")
                    }
                },
                Effect::SetTimer {
                    after: Duration::from_millis(5),
                    timer: Speak
                },
            ]
        );
    }

    #[test]
    fn vector_receive_merges_then_ticks_own_entry() {
        let node = Stamped::new(Chatter::new(ChatterConfig::scripted()), VectorClock::new());
        let mut h = Harness::new(node, NodeId(2), 3);
        h.start();
        h.request(ChatterRequest::Local { label: "e".into() });
        let sent = VectorClock::from_entries([(NodeId(0), 2), (NodeId(1), 2)]);
        assert_eq!(
            h.message(
                NodeId(1),
                StampedMsg {
                    stamp: sent,
                    msg: chat("m2")
                }
            ),
            vec![Effect::Emit(Timestamped {
                timestamp: VectorClock::from_entries([
                    (NodeId(0), 2),
                    (NodeId(1), 2),
                    (NodeId(2), 2)
                ]),
                event: LogicalEvent::Receive {
                    from: NodeId(1),
                    msg: chat("m2")
                },
            })]
        );
    }

    #[test]
    fn recording_local_events_only_still_ticks_for_every_event() {
        let node = Stamped::new(Chatter::new(ChatterConfig::scripted()), LamportClock::new())
            .recording(Record::LocalEvents);
        let mut h = Harness::new(node, NodeId(0), 2);
        h.start();
        let send = h.request(ChatterRequest::Send {
            to: NodeId(1),
            label: "m".into(),
        });
        assert_eq!(
            send,
            vec![Effect::Send {
                to: NodeId(1),
                msg: StampedMsg {
                    stamp: at(1, 0),
                    msg: chat("m")
                }
            }]
        );
        assert_eq!(
            h.message(
                NodeId(1),
                StampedMsg {
                    stamp: at(4, 1),
                    msg: chat("r")
                }
            ),
            vec![]
        );
        assert_eq!(
            h.request(ChatterRequest::Local { label: "x".into() }),
            vec![Effect::Emit(Timestamped {
                timestamp: at(6, 0),
                event: LogicalEvent::Local("x".to_string()),
            })]
        );
    }

    #[test]
    fn stamped_messages_keep_the_inner_kind() {
        let msg = StampedMsg {
            stamp: at(1, 0),
            msg: chat("m"),
        };
        assert_eq!(msg.kind(), "Chat");
    }

    #[test]
    fn traced_stamps_need_a_trace_from_the_start() {
        let mut sim = Simulation::new(2, 1, |_| {
            Stamped::new(Chatter::new(ChatterConfig::default()), LamportClock::new())
        });
        let err = traced_stamps(&sim).unwrap_err();
        assert!(err.contains("enable_trace"), "{err}");
        sim.run_until(Duration::from_millis(200)).unwrap();
        sim.enable_trace();
        sim.run_until(Duration::from_secs(2)).unwrap();
        let err = traced_stamps(&sim).unwrap_err();
        assert!(err.contains("before the first step"), "{err}");
    }

    #[test]
    fn the_chatter_stops_after_its_actions() {
        let config = ChatterConfig::default();
        let mut sim = Simulation::new(3, 5, move |_| Chatter::new(config));
        sim.run_until(Duration::from_secs(60)).unwrap();
        assert!(sim.nodes().all(|(_, n)| n.actions() == config.actions_max));
        assert_eq!(sim.pending(), 0, "nothing left to do");
    }
}
