//! Byzantine nodes: a node whose outgoing messages lie.
//!
//! A Byzantine (arbitrary) fault is the worst a process can do: send wrong
//! values, different values to different peers, nothing at all, or old
//! messages again. dsys injects it without a new node type. The node's
//! handlers still run as written; what they send passes through a
//! [`Strategy`] on its way to the network, and the strategy decides what the
//! network actually carries: nothing, the message later, an altered message,
//! different messages to different peers, extra copies of earlier messages,
//! or anything a closure returns.
//!
//! ```
//! use std::time::Duration;
//! use dsys_core::ping_pong::{PingPong, PingPongConfig};
//! use dsys_core::sim::{Simulation, Strategy};
//! use dsys_core::NodeId;
//!
//! let mut sim = Simulation::new(3, 7, |_| PingPong::new(PingPongConfig::default()));
//! sim.byzantine(NodeId(2), Strategy::silent()).unwrap();
//! sim.run_until(Duration::from_secs(1)).unwrap();
//! assert_eq!(sim.byzantine_nodes(), vec![NodeId(2)]);
//! assert_eq!(sim.metrics().node(NodeId(2)).unwrap().sent, 0, "n2 says nothing");
//! ```
//!
//! Lying is about what a node *sends*; its state stays the honest code's
//! state, which is meaningless for a liar: property checkers skip the nodes
//! [`Simulation::byzantine_nodes`](super::Simulation::byzantine_nodes) names.
//!
//! **Determinism.** Each Byzantine node's strategy draws from its own RNG,
//! seeded from the simulation's seed and the node's id, never from the
//! network's: the same seed gives the same lies, and making a node Byzantine
//! does not change the latencies and losses the other messages see.
//!
//! **Timing.** A message a strategy delays (or replays) is held by the node
//! and put on the network when its extra delay is over, as if the node sent
//! it then (so FIFO links keep the order of what was *put on the network*).
//! A held message dies with its node if the node crashes first.
//!
//! **Trace.** Turning a node Byzantine records `byzantine` (with the
//! strategy's name), turning it honest again `honest`; every message a
//! strategy puts on the network is followed by a `byzantine_send` record
//! with the message the handler had sent (`original`), and a withheld
//! message leaves a `byzantine_send` without a `msg_id`. See
//! [`crate::trace`] for the format.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use rand::RngExt;

use super::network::nanos;
use crate::error::{Error, Result};
use crate::node::{NodeId, NodeRng};

/// How many of its own earlier messages a Byzantine node remembers for
/// [`Strategy::Replay`] and [`ByzantineCtx::sent`] (the oldest are forgotten).
pub const SENT_REMEMBERED_MAX: usize = 256;

/// What a strategy's closure sees: the node, virtual time, the cluster size,
/// the node's own seeded RNG and what its handlers sent before.
pub struct ByzantineCtx<'a, M> {
    node: NodeId,
    now: Duration,
    nodes: usize,
    rng: &'a mut NodeRng,
    sent: &'a VecDeque<(NodeId, M)>,
}

impl<M> fmt::Debug for ByzantineCtx<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ByzantineCtx")
            .field("node", &self.node)
            .field("now", &self.now)
            .field("nodes", &self.nodes)
            .field("sent", &self.sent.len())
            .finish_non_exhaustive()
    }
}

impl<M> ByzantineCtx<'_, M> {
    /// The lying node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// Virtual time.
    pub fn now(&self) -> Duration {
        self.now
    }

    /// The number of nodes in the cluster.
    pub fn cluster_size(&self) -> usize {
        self.nodes
    }

    /// The other nodes of the cluster, in id order.
    pub fn peers(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.nodes as u32)
            .map(NodeId)
            .filter(move |&p| p != self.node)
    }

    /// The strategy's RNG: seeded from the simulation's seed and this node.
    pub fn rng(&mut self) -> &mut NodeRng {
        self.rng
    }

    /// What this node's handlers sent before the message being handled (not
    /// what the network carried), oldest first, at most
    /// [`SENT_REMEMBERED_MAX`] of them.
    pub fn sent(&self) -> impl ExactSizeIterator<Item = &(NodeId, M)> + '_ {
        self.sent.iter()
    }
}

/// What the network carries for one message a strategy handled: the
/// destination, the message, and how much later than now it is sent.
pub type Forged<M> = (NodeId, M, Duration);

type AlterFn<M> = Box<dyn FnMut(NodeId, &M) -> M>;
type TamperFn<M> = Box<dyn FnMut(&M) -> M>;
type CustomFn<M> = Box<dyn FnMut(&mut ByzantineCtx<'_, M>, NodeId, M) -> Vec<Forged<M>>>;

/// What a Byzantine node does to each message its handlers send.
pub enum Strategy<M> {
    /// Withholds each message with probability `probability` (send
    /// omission); the rest pass unchanged.
    Drop {
        /// In `[0, 1]`; 1 makes the node silent.
        probability: f64,
    },
    /// Holds each message back for an extra delay, uniform in `min..=max`.
    Delay {
        /// Shortest extra delay.
        min: Duration,
        /// Longest extra delay.
        max: Duration,
    },
    /// Sends each destination its own version: the closure gets the
    /// destination and the message, and returns what that destination gets.
    /// Different peers can be told different things.
    Equivocate(AlterFn<M>),
    /// Replaces every message by the closure's version of it, the same for
    /// every destination.
    Tamper(TamperFn<M>),
    /// Passes each message, and with probability `probability` also sends
    /// again one of the node's earlier messages (chosen uniformly, to its
    /// original destination), held for an extra delay uniform in `min..=max`.
    Replay {
        /// In `[0, 1]`.
        probability: f64,
        /// Shortest extra delay of a replayed copy.
        min: Duration,
        /// Longest extra delay of a replayed copy.
        max: Duration,
    },
    /// Anything: the closure gets the context, the destination and the
    /// message, and returns what to send instead (destination, message,
    /// extra delay), possibly nothing or several messages.
    Custom(CustomFn<M>),
}

impl<M> fmt::Debug for Strategy<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl<M> Strategy<M> {
    /// A node that says nothing at all ([`Strategy::Drop`] with probability 1).
    pub fn silent() -> Self {
        Strategy::Drop { probability: 1.0 }
    }

    /// [`Strategy::Drop`].
    pub fn drop(probability: f64) -> Self {
        Strategy::Drop { probability }
    }

    /// [`Strategy::Delay`].
    pub fn delay(min: Duration, max: Duration) -> Self {
        Strategy::Delay { min, max }
    }

    /// [`Strategy::Equivocate`].
    pub fn equivocate(alter: impl FnMut(NodeId, &M) -> M + 'static) -> Self {
        Strategy::Equivocate(Box::new(alter))
    }

    /// [`Strategy::Tamper`].
    pub fn tamper(tamper: impl FnMut(&M) -> M + 'static) -> Self {
        Strategy::Tamper(Box::new(tamper))
    }

    /// [`Strategy::Replay`].
    pub fn replay(probability: f64, min: Duration, max: Duration) -> Self {
        Strategy::Replay {
            probability,
            min,
            max,
        }
    }

    /// [`Strategy::Custom`].
    pub fn custom(
        forge: impl FnMut(&mut ByzantineCtx<'_, M>, NodeId, M) -> Vec<Forged<M>> + 'static,
    ) -> Self {
        Strategy::Custom(Box::new(forge))
    }

    /// A short description, as the trace's `byzantine` record gives it.
    pub fn describe(&self) -> String {
        match self {
            Strategy::Drop { probability } => format!("drop {probability}"),
            Strategy::Delay { min, max } => format!("delay {min:?}..{max:?}"),
            Strategy::Equivocate(_) => "equivocate".to_string(),
            Strategy::Tamper(_) => "tamper".to_string(),
            Strategy::Replay {
                probability,
                min,
                max,
            } => format!("replay {probability} after {min:?}..{max:?}"),
            Strategy::Custom(_) => "custom".to_string(),
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let probability = |p: f64| {
            if (0.0..=1.0).contains(&p) {
                Ok(())
            } else {
                Err(Error::InvalidConfig(format!(
                    "Byzantine strategy `{}`: probability {p} is outside [0, 1]",
                    self.describe()
                )))
            }
        };
        let range = |min: Duration, max: Duration| {
            if min <= max {
                Ok(())
            } else {
                Err(Error::InvalidConfig(format!(
                    "Byzantine strategy `{}`: delay range is empty (min must not exceed max)",
                    self.describe()
                )))
            }
        };
        match *self {
            Strategy::Drop { probability: p } => probability(p),
            Strategy::Delay { min, max } => range(min, max),
            Strategy::Replay {
                probability: p,
                min,
                max,
            } => probability(p).and(range(min, max)),
            Strategy::Equivocate(_) | Strategy::Tamper(_) | Strategy::Custom(_) => Ok(()),
        }
    }
}

fn sample(rng: &mut NodeRng, min: Duration, max: Duration) -> Duration {
    let (lo, hi) = (nanos(min), nanos(max));
    if lo >= hi {
        min
    } else {
        Duration::from_nanos(rng.random_range(lo..=hi))
    }
}

/// A Byzantine node's bookkeeping in the simulator.
pub(crate) struct ByzantineSlot<M> {
    strategy: Strategy<M>,
    rng: NodeRng,
    sent: VecDeque<(NodeId, M)>,
}

impl<M: Clone> ByzantineSlot<M> {
    pub(crate) fn new(strategy: Strategy<M>, rng: NodeRng) -> Self {
        ByzantineSlot {
            strategy,
            rng,
            sent: VecDeque::new(),
        }
    }

    pub(crate) fn describe(&self) -> String {
        self.strategy.describe()
    }

    /// What the network carries for `msg`, which node `node`'s handler sent
    /// to `to` at virtual time `now`.
    pub(crate) fn intercept(
        &mut self,
        node: NodeId,
        nodes: usize,
        now: Duration,
        to: NodeId,
        msg: M,
    ) -> Vec<Forged<M>> {
        let remembered = msg.clone();
        let out = match &mut self.strategy {
            Strategy::Drop { probability } => {
                if *probability > 0.0 && self.rng.random_bool(*probability) {
                    Vec::new()
                } else {
                    vec![(to, msg, Duration::ZERO)]
                }
            }
            Strategy::Delay { min, max } => {
                vec![(to, msg, sample(&mut self.rng, *min, *max))]
            }
            Strategy::Equivocate(alter) => vec![(to, alter(to, &msg), Duration::ZERO)],
            Strategy::Tamper(tamper) => vec![(to, tamper(&msg), Duration::ZERO)],
            Strategy::Replay {
                probability,
                min,
                max,
            } => {
                let mut out = vec![(to, msg, Duration::ZERO)];
                if !self.sent.is_empty() && *probability > 0.0 && self.rng.random_bool(*probability)
                {
                    let pick = self.rng.random_range(0..self.sent.len());
                    let (old_to, old) = self.sent[pick].clone();
                    out.push((old_to, old, sample(&mut self.rng, *min, *max)));
                }
                out
            }
            Strategy::Custom(forge) => {
                let mut ctx = ByzantineCtx {
                    node,
                    now,
                    nodes,
                    rng: &mut self.rng,
                    sent: &self.sent,
                };
                forge(&mut ctx, to, msg)
            }
        };
        if self.sent.len() == SENT_REMEMBERED_MAX {
            self.sent.pop_front();
        }
        self.sent.push_back((to, remembered));
        out
    }
}
