//! The actix runtime: the same [`Node`] that runs in the simulator, run as
//! an actix actor, with messages moving through a pluggable [`Transport`].
//!
//! - [`NodeActor`] is the one generic adapter (no algorithm writes its own
//!   actor): [`Deliver`] → [`Node::on_message`], [`Request`] →
//!   [`Node::on_request`], actix timers → [`Node::on_timer`]; after every
//!   handler call the recorded effects go to the transport, the timer table
//!   and the event subscribers.
//! - [`Transport`] with [`LocalTransport`] (in-process) and
//!   [`FaultyTransport`] (seeded loss, delay, duplication and partitions over
//!   any transport); TCP and UDP are in dsys-net.
//! - [`Cluster`] builds `n` node actors spread over arbiters (threads), so
//!   every core is used; a [`NodeHandle`] sends requests, streams events,
//!   inspects state, crashes a node and restarts it from its factory.
//!
//! Each node's handlers run inside a `tracing` span naming the node; set
//! `RUST_LOG` to see them. A node's [`Context::now`](crate::Context::now) is the time since the
//! cluster started (a real, monotonic clock here), and its RNG is seeded
//! from the cluster's seed, the node id and its incarnation.
//!
//! [`run`] starts the actix system a cluster needs, so a program that
//! depends on dsys needs no other crate for it (the runtime's own crates
//! are re-exported: [`actix_rt`], and [`tokio`] for its timers):
//!
//! ```
//! use std::time::Duration;
//! use dsys_core::ping_pong::{Event, PingPong, PingPongConfig};
//! use dsys_core::runtime::{self, Cluster};
//!
//! runtime::run(async {
//!     let config = PingPongConfig { rounds: 3, interval: Duration::from_millis(5), ..Default::default() };
//!     let cluster = Cluster::builder(3).seed(1).start(move |_| PingPong::new(config));
//!     let mut events = cluster.node(dsys_core::NodeId(0)).subscribe();
//!     // Round 2 completes once both peers have answered its pings.
//!     while events.next().await.unwrap() != (Event::RoundComplete { round: 2 }) {}
//!     let replies = cluster.node(dsys_core::NodeId(0)).inspect(|n| n.replies()).await.unwrap();
//!     assert_eq!(replies, 6);
//!     cluster.stop();
//! });
//! ```

mod transport;

pub use actix_rt;
pub use tokio;

/// Runs `future` to completion inside a fresh actix system (on this
/// thread), as a [`Cluster`] needs: the same as
/// `actix_rt::System::new().block_on(future)`.
pub fn run<F: std::future::Future>(future: F) -> F::Output {
    actix_rt::System::new().block_on(future)
}

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::broadcast;

pub use transport::{worth_warning, Counter, Inboxes, KindStats, KindTable, TransportCounters};
pub use transport::{FaultConfig, FaultyTransport, LocalTransport, Transport, TransportStats};

use crate::driver::Driver;
use crate::node::{Effect, EffectOf, Input, InputOf, Node, NodeId};

/// A message from `from`, delivered to a node actor.
#[derive(Debug)]
pub struct Deliver<M> {
    /// The sender.
    pub from: NodeId,
    /// The message.
    pub msg: M,
}

impl<M: 'static> actix::Message for Deliver<M> {
    type Result = ();
}

/// A request from the local application to a node actor.
#[derive(Debug)]
pub struct Request<R>(pub R);

impl<R: 'static> actix::Message for Request<R> {
    type Result = ();
}

/// Run `on_start` (sent once every node of the cluster is registered).
struct Boot;

impl actix::Message for Boot {
    type Result = ();
}

/// Crash the actor: stop at once, dropping state, timers and mailbox.
struct Crash;

impl actix::Message for Crash {
    type Result = ();
}

/// Run a closure over the node's state and return its result.
struct Inspect<N, R>(Box<dyn FnOnce(&N) -> R + Send>);

impl<N: 'static, R: Send + 'static> actix::Message for Inspect<N, R> {
    type Result = R;
}

/// What the runtime can fail at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The node is crashed or stopped; restart it first.
    #[error("node {0} is down (crashed or stopped); restart it with NodeHandle::restart")]
    NodeDown(NodeId),
    /// The node's mailbox is full; the request was not queued.
    #[error("node {0}'s mailbox is full; retry later or raise ClusterBuilder::mailbox_capacity")]
    MailboxFull(NodeId),
    /// An event subscriber fell behind and events were discarded.
    #[error("{missed} events were missed because the subscriber fell behind; raise ClusterBuilder::event_capacity or read faster")]
    EventsMissed {
        /// How many events were skipped.
        missed: u64,
    },
    /// The node stopped (or crashed) and will send no more events on this
    /// subscription's incarnation... or the cluster is gone.
    #[error("the event stream ended: the cluster was dropped")]
    EventsClosed,
    /// A cluster was started outside a running actix system.
    #[error("no actix system is running on this thread: start the cluster inside `actix_rt::System::new().block_on(async {{ … }})`, or in an `#[actix_rt::main]` or `#[actix_rt::test]` function")]
    NoSystem,
}

/// One node as an actix actor. Built by [`Cluster`]; no algorithm writes its own.
pub struct NodeActor<N: Node> {
    id: NodeId,
    // Boxed: a Box is Unpin whatever it holds, as actix requires of actors,
    // so algorithms need not promise Unpin for their types.
    node: Box<N>,
    // Boxed for Unpin too: the driver holds the node's effect buffer.
    driver: Box<Driver<N>>,
    started: Instant,
    /// Pending timers by value; setting an equal one cancels this handle.
    /// Boxed for Unpin, as `node` is.
    #[allow(clippy::box_collection)]
    timers: Box<HashMap<N::Timer, SpawnHandle>>,
    transport: Arc<dyn Transport<N::Msg>>,
    events: broadcast::Sender<N::Event>,
    booted: bool,
    /// Cleared by [`NodeHandle::crash`] at once, so a crashed incarnation
    /// handles nothing more even while its mailbox still holds messages.
    alive: Arc<AtomicBool>,
    span: tracing::Span,
}

impl<N: Node> fmt::Debug for NodeActor<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeActor")
            .field("id", &self.id)
            .field("timers", &self.timers.len())
            .finish_non_exhaustive()
    }
}

impl<N: Node> NodeActor<N> {
    /// Runs one input through the node's driver, then carries out its effects.
    fn call(&mut self, ctx: &mut actix::Context<Self>, input: InputOf<N>) {
        if !self.alive.load(AtomicOrdering::Acquire) {
            return;
        }
        let _entered = self.span.clone().entered();
        let now = self.started.elapsed();
        let effects = self.driver.handle(&mut self.node, now, input);
        self.apply_effects(ctx, effects);
    }

    /// Carries out the effects the last handler recorded.
    fn apply_effects(&mut self, ctx: &mut actix::Context<Self>, mut effects: Vec<EffectOf<N>>) {
        for effect in effects.drain(..) {
            match effect {
                Effect::Send { to, msg } => self.transport.send(self.id, to, msg),
                Effect::SetTimer { after, timer } => {
                    let key = timer.clone();
                    let handle = ctx.run_later(after, move |actor, ctx| {
                        if actor.timers.remove(&timer).is_some() {
                            actor.call(ctx, Input::Timer(timer));
                        }
                    });
                    if let Some(replaced) = self.timers.insert(key, handle) {
                        ctx.cancel_future(replaced);
                    }
                }
                Effect::CancelTimer { timer } => {
                    if let Some(handle) = self.timers.remove(&timer) {
                        ctx.cancel_future(handle);
                    }
                }
                Effect::Emit(event) => {
                    tracing::debug!(?event, "event");
                    // No subscriber is not an error: events are also kept by nobody.
                    let _ = self.events.send(event);
                }
            }
        }
        self.driver.recycle(effects);
    }
}

impl<N: Node> Actor for NodeActor<N> {
    type Context = actix::Context<Self>;

    fn started(&mut self, _: &mut Self::Context) {
        tracing::debug!(parent: &self.span, "actor started");
    }
}

impl<N: Node> NodeActor<N> {
    /// Runs `on_start` once, before anything else reaches the node. The
    /// cluster registers every node with the transport before it boots any,
    /// so no start-up message finds its destination missing; a message that
    /// overtakes the destination's own boot signal boots it first.
    fn boot(&mut self, ctx: &mut actix::Context<Self>) {
        if !self.booted {
            self.booted = true;
            self.call(ctx, Input::Start);
        }
    }
}

impl<N: Node> Handler<Boot> for NodeActor<N> {
    type Result = ();

    fn handle(&mut self, _: Boot, ctx: &mut Self::Context) {
        self.boot(ctx);
    }
}

impl<N: Node> Handler<Deliver<N::Msg>> for NodeActor<N> {
    type Result = ();

    fn handle(&mut self, deliver: Deliver<N::Msg>, ctx: &mut Self::Context) {
        self.boot(ctx);
        let Deliver { from, msg } = deliver;
        self.call(ctx, Input::Message { from, msg });
    }
}

impl<N: Node> Handler<Request<N::Request>> for NodeActor<N> {
    type Result = ();

    fn handle(&mut self, request: Request<N::Request>, ctx: &mut Self::Context) {
        self.boot(ctx);
        self.call(ctx, Input::Request(request.0));
    }
}

impl<N: Node> Handler<Crash> for NodeActor<N> {
    type Result = ();

    fn handle(&mut self, _: Crash, ctx: &mut Self::Context) {
        // The handle already unregistered this incarnation (and may have
        // registered its successor: unregistering here would cut that one off).
        tracing::info!(parent: &self.span, "crashed");
        ctx.stop();
    }
}

impl<N: Node, R: Send + 'static> Handler<Inspect<N, R>> for NodeActor<N> {
    type Result = MessageResult<Inspect<N, R>>;

    fn handle(&mut self, inspect: Inspect<N, R>, _: &mut Self::Context) -> Self::Result {
        MessageResult((inspect.0)(&self.node))
    }
}

/// Where `id` sits among the local nodes (for round-robin placement).
fn handle_slot(local: &[NodeId], id: NodeId) -> usize {
    local.iter().position(|&l| l == id).unwrap_or(0)
}

type SharedFactory<N> = Arc<Mutex<dyn FnMut(NodeId) -> N + Send>>;

/// Builds a [`Cluster`].
pub struct ClusterBuilder<N: Node> {
    nodes: usize,
    seed: u64,
    arbiters: usize,
    on_current: bool,
    local: Option<Vec<NodeId>>,
    mailbox_capacity: usize,
    event_capacity: usize,
    transport: Option<Arc<dyn Transport<N::Msg>>>,
}

impl<N: Node> fmt::Debug for ClusterBuilder<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterBuilder")
            .field("nodes", &self.nodes)
            .field("seed", &self.seed)
            .field("arbiters", &self.arbiters)
            .field("mailbox_capacity", &self.mailbox_capacity)
            .field("event_capacity", &self.event_capacity)
            .finish_non_exhaustive()
    }
}

impl<N: Node> ClusterBuilder<N> {
    /// Seeds the nodes' RNGs (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// How many arbiters (threads) to spread the nodes over (default: the
    /// number of cores). Nodes are assigned round-robin.
    pub fn arbiters(mut self, arbiters: usize) -> Self {
        self.arbiters = arbiters.max(1);
        self.on_current = false;
        self
    }

    /// Runs every node on the caller's own arbiter (the thread of the
    /// running actix System or Arbiter) instead of new threads: no
    /// cross-thread wake-ups between nodes, or between the nodes and a
    /// caller awaiting their events on the same thread. Best for latency
    /// and for benchmarks of one process; uses one core. Must be called
    /// from within an actix runtime.
    pub fn on_current_arbiter(mut self) -> Self {
        self.on_current = true;
        self
    }

    /// Runs only `ids` in this process; the cluster's other nodes run
    /// elsewhere (other processes or machines) and the transport reaches
    /// them, e.g. dsys-net's TCP transport. Every node still knows all
    /// `nodes` as its peers. Ids outside the cluster are ignored.
    pub fn local(mut self, ids: impl IntoIterator<Item = NodeId>) -> Self {
        self.local = Some(
            ids.into_iter()
                .filter(|id| id.index() < self.nodes)
                .collect(),
        );
        self
    }

    /// Each node's mailbox capacity (default 65,536 messages). A transport
    /// drops and counts a message for a full mailbox.
    pub fn mailbox_capacity(mut self, capacity: usize) -> Self {
        self.mailbox_capacity = capacity.max(1);
        self
    }

    /// Events kept per node for slow subscribers (default 4,096); a
    /// subscriber further behind is told how many it missed.
    pub fn event_capacity(mut self, capacity: usize) -> Self {
        self.event_capacity = capacity.max(1);
        self
    }

    /// The transport (default: a fresh [`LocalTransport`]).
    pub fn transport(mut self, transport: Arc<dyn Transport<N::Msg>>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Starts every node. Must be called inside a running actix system
    /// (`actix_rt::System::new().block_on(…)` or `#[actix_rt::main]`).
    ///
    /// # Panics
    ///
    /// Outside a running actix system, with [`RuntimeError::NoSystem`]'s
    /// message; [`ClusterBuilder::try_start`] returns it instead.
    pub fn start(self, factory: impl FnMut(NodeId) -> N + Send + 'static) -> Cluster<N> {
        match self.try_start(factory) {
            Ok(cluster) => cluster,
            Err(error) => panic!("{error}"),
        }
    }

    /// [`ClusterBuilder::start`], or [`RuntimeError::NoSystem`] outside a
    /// running actix system.
    ///
    /// ```
    /// use dsys_core::ping_pong::{PingPong, PingPongConfig};
    /// use dsys_core::runtime::{Cluster, RuntimeError};
    ///
    /// let outside = Cluster::builder(2).try_start(|_| PingPong::new(PingPongConfig::default()));
    /// assert!(matches!(outside, Err(RuntimeError::NoSystem)));
    /// ```
    pub fn try_start(
        self,
        factory: impl FnMut(NodeId) -> N + Send + 'static,
    ) -> Result<Cluster<N>, RuntimeError> {
        if System::try_current().is_none() {
            return Err(RuntimeError::NoSystem);
        }
        Ok(self.start_in_system(factory))
    }

    fn start_in_system(self, factory: impl FnMut(NodeId) -> N + Send + 'static) -> Cluster<N> {
        let transport = self
            .transport
            .unwrap_or_else(|| Arc::new(LocalTransport::new()));
        let factory: SharedFactory<N> = Arc::new(Mutex::new(factory));
        let arbiters: Vec<Arbiter> = if self.on_current {
            Vec::new()
        } else {
            (0..self.arbiters.min(self.nodes.max(1)))
                .map(|_| Arbiter::new())
                .collect()
        };
        let ids: Vec<NodeId> = (0..self.nodes as u32).map(NodeId).collect();
        let local = self.local.clone().unwrap_or_else(|| ids.clone());
        let started = Instant::now();
        let handles = local
            .iter()
            .map(|&id| {
                let peers: Arc<[NodeId]> = ids.iter().copied().filter(|&p| p != id).collect();
                let events = broadcast::channel(self.event_capacity).0;
                let shared = Arc::new(NodeShared {
                    id,
                    peers,
                    seed: self.seed,
                    started,
                    mailbox_capacity: self.mailbox_capacity,
                    arbiter: if arbiters.is_empty() {
                        Arbiter::current()
                    } else {
                        arbiters[handle_slot(&local, id) % arbiters.len()].handle()
                    },
                    transport: Arc::clone(&transport),
                    factory: Arc::clone(&factory),
                    events: events.clone(),
                    from_start: Mutex::new(Some(events.subscribe())),
                    state: Mutex::new(NodeSlot {
                        addr: None,
                        alive: Arc::new(AtomicBool::new(false)),
                        incarnation: 0,
                    }),
                });
                let handle = NodeHandle { shared };
                handle.spawn(0);
                handle
            })
            .collect::<Vec<_>>();
        for handle in &handles {
            handle.boot();
        }
        Cluster {
            handles,
            arbiters,
            transport,
        }
    }
}

struct NodeSlot<N: Node> {
    addr: Option<Addr<NodeActor<N>>>,
    alive: Arc<AtomicBool>,
    incarnation: u64,
}

struct NodeShared<N: Node> {
    id: NodeId,
    peers: Arc<[NodeId]>,
    seed: u64,
    started: Instant,
    mailbox_capacity: usize,
    arbiter: ArbiterHandle,
    transport: Arc<dyn Transport<N::Msg>>,
    factory: SharedFactory<N>,
    events: broadcast::Sender<N::Event>,
    /// A subscription made before the node booted, for the first caller of
    /// [`NodeHandle::subscribe_from_start`].
    from_start: Mutex<Option<broadcast::Receiver<N::Event>>>,
    state: Mutex<NodeSlot<N>>,
}

/// A running set of node actors.
pub struct Cluster<N: Node> {
    handles: Vec<NodeHandle<N>>,
    arbiters: Vec<Arbiter>,
    transport: Arc<dyn Transport<N::Msg>>,
}

impl<N: Node> fmt::Debug for Cluster<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("nodes", &self.handles.len())
            .field("arbiters", &self.arbiters.len())
            .field("transport", &self.transport.stats())
            .finish()
    }
}

impl<N: Node> Cluster<N> {
    /// A builder for a cluster of `nodes` nodes, `NodeId(0)` to `NodeId(nodes - 1)`.
    pub fn builder(nodes: usize) -> ClusterBuilder<N> {
        ClusterBuilder {
            nodes,
            seed: 0,
            arbiters: std::thread::available_parallelism().map_or(2, |n| n.get()),
            on_current: false,
            local: None,
            mailbox_capacity: 65_536,
            event_capacity: 4_096,
            transport: None,
        }
    }

    /// The handle of one node.
    ///
    /// # Panics
    ///
    /// If `id` is not a node of this cluster (see [`Cluster::get`]).
    pub fn node(&self, id: NodeId) -> &NodeHandle<N> {
        self.get(id).unwrap_or_else(|| {
            panic!(
                "{id} is not a node of this {}-node cluster",
                self.handles.len()
            )
        })
    }

    /// The handle of one node, `None` for an unknown id (or one that runs
    /// in another process, see [`ClusterBuilder::local`]).
    pub fn get(&self, id: NodeId) -> Option<&NodeHandle<N>> {
        match self.handles.get(id.index()) {
            Some(handle) if handle.id() == id => Some(handle),
            _ => self.handles.iter().find(|h| h.id() == id),
        }
    }

    /// Every local node's handle.
    pub fn nodes(&self) -> &[NodeHandle<N>] {
        &self.handles
    }

    /// The transport's counters.
    pub fn transport_stats(&self) -> TransportStats {
        self.transport.stats()
    }

    /// Stops every node and the arbiters' threads.
    pub fn stop(&self) {
        for handle in &self.handles {
            handle.stop();
        }
        for arbiter in &self.arbiters {
            arbiter.stop();
        }
    }
}

/// Controls one node of a [`Cluster`]; cheap to clone, usable from any thread.
pub struct NodeHandle<N: Node> {
    shared: Arc<NodeShared<N>>,
}

impl<N: Node> Clone for NodeHandle<N> {
    fn clone(&self) -> Self {
        NodeHandle {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<N: Node> fmt::Debug for NodeHandle<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeHandle")
            .field("id", &self.shared.id)
            .field("up", &self.is_up())
            .finish()
    }
}

impl<N: Node> NodeHandle<N> {
    /// The node's id.
    pub fn id(&self) -> NodeId {
        self.shared.id
    }

    /// How many times the node was restarted.
    pub fn incarnation(&self) -> u64 {
        self.slot().incarnation
    }

    /// Whether the node's actor is running.
    pub fn is_up(&self) -> bool {
        self.slot().addr.as_ref().is_some_and(Addr::connected)
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, NodeSlot<N>> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn addr(&self) -> Result<Addr<NodeActor<N>>, RuntimeError> {
        match &self.slot().addr {
            Some(addr) if addr.connected() => Ok(addr.clone()),
            _ => Err(RuntimeError::NodeDown(self.id())),
        }
    }

    /// Builds the node from the factory and starts its actor on its arbiter.
    fn spawn(&self, incarnation: u64) {
        let shared = &self.shared;
        let node = {
            let mut factory = shared.factory.lock().unwrap_or_else(|e| e.into_inner());
            factory(shared.id)
        };
        let alive = Arc::new(AtomicBool::new(true));
        let actor = NodeActor {
            id: shared.id,
            node: Box::new(node),
            driver: Box::new(Driver::seeded(
                shared.id,
                Arc::clone(&shared.peers),
                shared.seed,
                incarnation,
            )),
            started: shared.started,
            timers: Box::default(),
            transport: Arc::clone(&shared.transport),
            events: shared.events.clone(),
            booted: false,
            alive: Arc::clone(&alive),
            span: tracing::info_span!("node", id = shared.id.0, incarnation),
        };
        let capacity = shared.mailbox_capacity;
        let addr = NodeActor::start_in_arbiter(&shared.arbiter, move |ctx| {
            ctx.set_mailbox_capacity(capacity);
            actor
        });
        shared
            .transport
            .register(shared.id, addr.clone().recipient::<Deliver<N::Msg>>());
        let mut slot = self.slot();
        slot.addr = Some(addr);
        slot.alive = alive;
        slot.incarnation = incarnation;
    }

    /// Lets the node run `on_start` (after every node is registered).
    fn boot(&self) {
        if let Some(addr) = &self.slot().addr {
            addr.do_send(Boot);
        }
    }

    /// Hands `request` to the node.
    pub fn request(&self, request: N::Request) -> Result<(), RuntimeError> {
        self.addr()?
            .try_send(Request(request))
            .map_err(|e| match e {
                SendError::Full(_) => RuntimeError::MailboxFull(self.id()),
                SendError::Closed(_) => RuntimeError::NodeDown(self.id()),
            })
    }

    /// Runs `f` over the node's state on its own thread and returns the result.
    pub async fn inspect<R: Send + 'static>(
        &self,
        f: impl FnOnce(&N) -> R + Send + 'static,
    ) -> Result<R, RuntimeError> {
        self.addr()?
            .send(Inspect(Box::new(f)))
            .await
            .map_err(|_| RuntimeError::NodeDown(self.id()))
    }

    /// Events the node emits from now on (across restarts). The node is
    /// already running: what it emitted before this call (in `on_start`,
    /// say) is not seen — use [`NodeHandle::subscribe_from_start`] for that.
    pub fn subscribe(&self) -> Events<N::Event> {
        Events {
            receiver: self.shared.events.subscribe(),
        }
    }

    /// Every event the node emitted since the cluster started (up to
    /// [`ClusterBuilder::event_capacity`] of them kept), then the rest as
    /// they come. The subscription was made before the node booted, so
    /// nothing is missed; only the first caller gets it (`None` after).
    pub fn subscribe_from_start(&self) -> Option<Events<N::Event>> {
        let receiver = self
            .shared
            .from_start
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()?;
        Some(Events { receiver })
    }

    /// Crashes the node: its actor stops at once; its state, timers and
    /// queued messages are lost; messages sent to it are dropped until it
    /// restarts. No shutdown code runs, as on a real crash.
    pub fn crash(&self) {
        let addr = {
            let mut slot = self.slot();
            slot.alive.store(false, AtomicOrdering::Release);
            slot.addr.take()
        };
        self.shared.transport.unregister(self.shared.id);
        if let Some(addr) = addr {
            addr.do_send(Crash);
        }
    }

    /// Rebuilds the node from its factory and starts it (crashing the
    /// running one first, if any).
    pub fn restart(&self) {
        self.crash();
        let incarnation = self.slot().incarnation + 1;
        self.spawn(incarnation);
        self.boot();
    }

    /// Stops the node (as a crash: algorithm nodes keep no shutdown state).
    pub fn stop(&self) {
        self.crash();
    }
}

/// A node's events, as an async stream.
#[derive(Debug)]
pub struct Events<E> {
    receiver: broadcast::Receiver<E>,
}

impl<E: Clone> Events<E> {
    /// The next event. Fails with [`RuntimeError::EventsMissed`] if this
    /// subscriber fell so far behind that events were discarded (the next
    /// call continues with the oldest kept event).
    pub async fn next(&mut self) -> Result<E, RuntimeError> {
        match self.receiver.recv().await {
            Ok(event) => Ok(event),
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                Err(RuntimeError::EventsMissed { missed })
            }
            Err(broadcast::error::RecvError::Closed) => Err(RuntimeError::EventsClosed),
        }
    }

    /// The next event, or `None` if none arrives within `timeout`.
    pub async fn next_within(&mut self, timeout: Duration) -> Option<Result<E, RuntimeError>> {
        actix_rt::time::timeout(timeout, self.next()).await.ok()
    }
}
