//! The contract every algorithm implements: [`Node`], [`Message`], [`Context`].
//!
//! A node is a deterministic state machine. It reacts to one input at a time —
//! start, a message from a peer, a timer it set, a request from its local
//! application — and records what it wants done (send, set or cancel a timer,
//! emit an event to the application) in the [`Context`]. The runtime that
//! drives it (the simulator, the actix runtime, a test harness) carries those
//! [`Effect`]s out after the handler returns. A node never sleeps, spawns,
//! reads the wall clock or touches a socket; its only source of time is
//! [`Context::now`] and its only source of randomness is [`Context::rng`], so
//! the same inputs always give the same behaviour.

use std::fmt::{self, Debug};
use std::time::Duration;

use rand::SeedableRng;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// The identity of a node in a cluster. In the simulator the nodes of an
/// `n`-node cluster are `NodeId(0)` to `NodeId(n - 1)`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The id as an index into per-node tables.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

impl From<u32> for NodeId {
    fn from(id: u32) -> Self {
        NodeId(id)
    }
}

/// Anything that can cross a transport between nodes.
///
/// The one method has a default: [`Message::kind`] names the message for
/// metrics and traces. For an enum it is the variant's name (`"Ping"`), for a
/// struct the struct's name, found through the message's own `Serialize`
/// implementation, so most messages implement the trait with one empty line:
///
/// ```
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
/// enum Msg {
///     Ping { round: u32 },
///     Pong { round: u32 },
/// }
/// impl dsys_core::Message for Msg {}
///
/// use dsys_core::Message;
/// assert_eq!(Msg::Pong { round: 3 }.kind(), "Pong");
/// ```
pub trait Message: Clone + Debug + Send + Serialize + DeserializeOwned + 'static {
    /// A short, static name for this message's kind, used to group metrics
    /// and to label trace events.
    fn kind(&self) -> &'static str {
        crate::kind::kind_of(self)
    }
}

/// The id of a timer, returned by [`Context::set_timer`] and accepted by
/// [`Context::cancel_timer`]. Ids are unique per node incarnation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TimerId(pub u64);

/// The random number generator a node gets from [`Context::rng`]: ChaCha8,
/// seeded by the runtime (in the simulator, from the simulation's seed, the
/// node's id and its incarnation), so a run is reproducible.
///
/// Use it through [`rand::RngExt`] (re-exported as `dsys_core::rand`):
///
/// ```
/// use dsys_core::rand::{RngExt, SeedableRng};
/// let mut rng = dsys_core::NodeRng::seed_from_u64(7);
/// let timeout_ms: u64 = rng.random_range(150..300);
/// assert!((150..300).contains(&timeout_ms));
/// ```
pub type NodeRng = rand_chacha::ChaCha8Rng;

/// An algorithm: a deterministic state machine driven by a runtime.
///
/// Handlers react to one input and record effects in the [`Context`]. The
/// node's behaviour must depend only on its own state, the input and the
/// context (its clock reading and its RNG): that is what makes a simulation
/// reproducible from its seed, and what will let small configurations be
/// model-checked later. Derive `Clone, PartialEq, Eq, Hash, Debug` on node
/// state, messages and timers wherever you can.
///
/// ```
/// use std::time::Duration;
/// use dsys_core::{Context, Message, Node, NodeId};
/// use serde::{Deserialize, Serialize};
///
/// /// Counts the hellos it hears; says hello to every peer at start.
/// #[derive(Debug, Default)]
/// struct Greeter { heard: u32 }
///
/// #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
/// struct Hello;
/// impl Message for Hello {}
///
/// impl Node for Greeter {
///     type Msg = Hello;
///     type Timer = ();
///     type Request = ();
///     type Event = u32;
///
///     fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
///         ctx.broadcast(Hello);
///     }
///     fn on_message(&mut self, ctx: &mut Context<'_, Self>, _from: NodeId, _msg: Hello) {
///         self.heard += 1;
///         ctx.emit(self.heard);
///     }
/// }
///
/// let mut sim = dsys_core::sim::Simulation::new(3, 42, |_| Greeter::default());
/// sim.run_until(Duration::from_secs(1)).unwrap();
/// assert!(sim.nodes().all(|(_, g)| g.heard == 2));
/// ```
pub trait Node: Send + Sized + 'static {
    /// Messages between nodes of this algorithm.
    type Msg: Message;
    /// What a timer carries back to [`Node::on_timer`] when it fires.
    type Timer: Clone + Debug + Send + 'static;
    /// Requests from the local application (a client asking for the lock, a
    /// value to propose, …).
    type Request: Debug + Send + 'static;
    /// Events to the local application (lock granted, leader elected, value
    /// committed, …). Checkers judge runs by them.
    type Event: Clone + Debug + Send + 'static;

    /// Called once when the node starts, and again after every restart (on
    /// the fresh value the factory built).
    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        let _ = ctx;
    }

    /// A message from `from` has been delivered.
    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Self::Msg);

    /// A timer set with [`Context::set_timer`] has fired (and was not
    /// cancelled).
    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Self::Timer) {
        let _ = (ctx, timer);
    }

    /// A request from the local application.
    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Self::Request) {
        let _ = (ctx, request);
    }
}

/// Something a handler asked the runtime to do, recorded in the [`Context`]
/// and carried out after the handler returns.
pub enum Effect<N: Node> {
    /// Send `msg` to `to`. [`Context::broadcast`] records one `Send` per peer.
    Send {
        /// The destination.
        to: NodeId,
        /// The message.
        msg: N::Msg,
    },
    /// Fire `timer` after `after` has passed on this node's local clock.
    SetTimer {
        /// The id [`Context::set_timer`] returned.
        id: TimerId,
        /// The delay, measured on the node's (possibly drifting) local clock.
        after: Duration,
        /// What [`Node::on_timer`] will receive.
        timer: N::Timer,
    },
    /// Cancel a timer set earlier; cancelling a fired or unknown timer does nothing.
    CancelTimer {
        /// The id [`Context::set_timer`] returned.
        id: TimerId,
    },
    /// Hand an event to the local application.
    Emit(N::Event),
}

impl<N: Node> Clone for Effect<N> {
    fn clone(&self) -> Self {
        match self {
            Effect::Send { to, msg } => Effect::Send {
                to: *to,
                msg: msg.clone(),
            },
            Effect::SetTimer { id, after, timer } => Effect::SetTimer {
                id: *id,
                after: *after,
                timer: timer.clone(),
            },
            Effect::CancelTimer { id } => Effect::CancelTimer { id: *id },
            Effect::Emit(event) => Effect::Emit(event.clone()),
        }
    }
}

impl<N: Node> Debug for Effect<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Effect::Send { to, msg } => f
                .debug_struct("Send")
                .field("to", to)
                .field("msg", msg)
                .finish(),
            Effect::SetTimer { id, after, timer } => f
                .debug_struct("SetTimer")
                .field("id", id)
                .field("after", after)
                .field("timer", timer)
                .finish(),
            Effect::CancelTimer { id } => f.debug_struct("CancelTimer").field("id", id).finish(),
            Effect::Emit(event) => f.debug_tuple("Emit").field(event).finish(),
        }
    }
}

impl<N: Node> PartialEq for Effect<N>
where
    N::Msg: PartialEq,
    N::Timer: PartialEq,
    N::Event: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Effect::Send { to: a, msg: m }, Effect::Send { to: b, msg: n }) => a == b && m == n,
            (
                Effect::SetTimer {
                    id: a,
                    after: x,
                    timer: s,
                },
                Effect::SetTimer {
                    id: b,
                    after: y,
                    timer: t,
                },
            ) => a == b && x == y && s == t,
            (Effect::CancelTimer { id: a }, Effect::CancelTimer { id: b }) => a == b,
            (Effect::Emit(a), Effect::Emit(b)) => a == b,
            _ => false,
        }
    }
}

impl<N: Node> Eq for Effect<N>
where
    N::Msg: Eq,
    N::Timer: Eq,
    N::Event: Eq,
{
}

/// What a handler sees of the world, and where it records its effects.
///
/// A runtime builds one per handler call with [`Context::new`], calls the
/// handler, then carries out the effects it finds in the buffer.
pub struct Context<'a, N: Node> {
    id: NodeId,
    peers: &'a [NodeId],
    now: Duration,
    rng: &'a mut NodeRng,
    next_timer: &'a mut u64,
    effects: &'a mut Vec<Effect<N>>,
}

impl<N: Node> Debug for Context<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("id", &self.id)
            .field("peers", &self.peers)
            .field("now", &self.now)
            .field("effects", &self.effects)
            .finish_non_exhaustive()
    }
}

impl<'a, N: Node> Context<'a, N> {
    /// Builds a context for one handler call. For runtimes: an algorithm
    /// never builds its own.
    ///
    /// `peers` are the other nodes of the cluster (not `id` itself), `now`
    /// the node's local clock reading, `next_timer` the node's timer-id
    /// counter (kept by the runtime across calls), and `effects` the buffer
    /// the handler's effects are appended to.
    pub fn new(
        id: NodeId,
        peers: &'a [NodeId],
        now: Duration,
        rng: &'a mut NodeRng,
        next_timer: &'a mut u64,
        effects: &'a mut Vec<Effect<N>>,
    ) -> Self {
        Context {
            id,
            peers,
            now,
            rng,
            next_timer,
            effects,
        }
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The other nodes of the cluster, in ascending id order.
    pub fn peers(&self) -> &[NodeId] {
        self.peers
    }

    /// The number of nodes in the cluster, this one included.
    pub fn cluster_size(&self) -> usize {
        self.peers.len() + 1
    }

    /// This node's local clock. In the simulator it may be skewed and drift
    /// against virtual time, so two nodes may read different values at the
    /// same instant; it never goes backwards.
    pub fn now(&self) -> Duration {
        self.now
    }

    /// The node's seeded random number generator.
    pub fn rng(&mut self) -> &mut NodeRng {
        self.rng
    }

    /// Sends `msg` to `to`. Sending to oneself is allowed and goes through
    /// the network like any other message.
    pub fn send(&mut self, to: NodeId, msg: N::Msg) {
        self.effects.push(Effect::Send { to, msg });
    }

    /// Sends `msg` to every peer (not to this node).
    pub fn broadcast(&mut self, msg: N::Msg) {
        for &to in self.peers {
            self.effects.push(Effect::Send {
                to,
                msg: msg.clone(),
            });
        }
    }

    /// Asks for `timer` to be handed to [`Node::on_timer`] once `after` has
    /// passed on this node's local clock.
    pub fn set_timer(&mut self, after: Duration, timer: N::Timer) -> TimerId {
        let id = TimerId(*self.next_timer);
        *self.next_timer += 1;
        self.effects.push(Effect::SetTimer { id, after, timer });
        id
    }

    /// Cancels a timer; a timer that already fired, or an unknown id, is ignored.
    pub fn cancel_timer(&mut self, id: TimerId) {
        self.effects.push(Effect::CancelTimer { id });
    }

    /// Hands `event` to the local application (and to checkers).
    pub fn emit(&mut self, event: N::Event) {
        self.effects.push(Effect::Emit(event));
    }

    /// Records an effect as it is. For wrapper nodes that translate an inner
    /// node's effects (see [`Context::nested`]); a `SetTimer` keeps the id
    /// the inner node was given.
    pub fn record(&mut self, effect: Effect<N>) {
        self.effects.push(effect);
    }

    /// Runs a handler of an inner node `M` that this node wraps (a
    /// timestamping layer, a snapshot layer, an embedded failure detector),
    /// with a context of its own that shares this node's id, peers, clock,
    /// RNG and timer ids. Returns the inner node's effects, for the wrapper
    /// to translate into its own with [`Context::record`].
    ///
    /// A wrapper's message type should override [`Message::kind`] to return
    /// the inner message's kind, so metrics keep naming `Ping` rather than
    /// the wrapper's envelope.
    ///
    /// ```
    /// use dsys_core::ping_pong::{Msg, PingPong, PingPongConfig};
    /// use dsys_core::testing::Harness;
    /// use dsys_core::{Context, Effect, Message, Node, NodeId};
    /// use serde::{Deserialize, Serialize};
    ///
    /// /// Ping-pong whose messages carry a hop count (a toy wrapper).
    /// #[derive(Debug)]
    /// struct Counted(PingPong);
    /// #[derive(Clone, Debug, Serialize, Deserialize)]
    /// struct Hop(u32, Msg);
    /// impl Message for Hop {}
    ///
    /// impl Counted {
    ///     fn forward(ctx: &mut Context<'_, Self>, effects: Vec<Effect<PingPong>>) {
    ///         for effect in effects {
    ///             ctx.record(match effect {
    ///                 Effect::Send { to, msg } => Effect::Send { to, msg: Hop(1, msg) },
    ///                 Effect::SetTimer { id, after, timer } => Effect::SetTimer { id, after, timer },
    ///                 Effect::CancelTimer { id } => Effect::CancelTimer { id },
    ///                 Effect::Emit(event) => Effect::Emit(event),
    ///             });
    ///         }
    ///     }
    /// }
    ///
    /// impl Node for Counted {
    ///     type Msg = Hop;
    ///     type Timer = <PingPong as Node>::Timer;
    ///     type Request = ();
    ///     type Event = <PingPong as Node>::Event;
    ///     fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
    ///         let effects = ctx.nested(|inner| self.0.on_start(inner));
    ///         Self::forward(ctx, effects);
    ///     }
    ///     fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, Hop(_, msg): Hop) {
    ///         let effects = ctx.nested(|inner| self.0.on_message(inner, from, msg));
    ///         Self::forward(ctx, effects);
    ///     }
    /// }
    ///
    /// let mut h = Harness::new(Counted(PingPong::new(PingPongConfig::default())), NodeId(0), 2);
    /// let effects = h.start();
    /// assert!(matches!(&effects[0], Effect::Send { msg: Hop(1, Msg::Ping { round: 0 }), .. }));
    /// ```
    pub fn nested<M: Node>(&mut self, handler: impl FnOnce(&mut Context<'_, M>)) -> Vec<Effect<M>> {
        let mut effects = Vec::new();
        let mut inner = Context::new(
            self.id,
            self.peers,
            self.now,
            self.rng,
            self.next_timer,
            &mut effects,
        );
        handler(&mut inner);
        effects
    }
}

/// Derives the seed of a node's RNG from a run's seed, the node and its
/// incarnation, so that every node and every restart gets its own stream.
pub(crate) fn node_rng(seed: u64, node: NodeId, incarnation: u64) -> NodeRng {
    let mut x = seed ^ 0x9E37_79B9_7F4A_7C15;
    x = splitmix(x ^ u64::from(node.0).wrapping_mul(0xD1B5_4A32_D192_ED03));
    x = splitmix(x ^ incarnation.wrapping_mul(0xA24B_AED4_963E_E407));
    NodeRng::seed_from_u64(x)
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
