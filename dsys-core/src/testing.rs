//! A harness for handler tests: feed a node one event, get back the exact
//! list of effects it recorded (STYLE.md #9: assert whole effect lists).
//!
//! ```
//! use dsys_core::ping_pong::{Msg, PingPong, PingPongConfig};
//! use dsys_core::testing::Harness;
//! use dsys_core::{Effect, NodeId};
//!
//! let mut h = Harness::new(PingPong::new(PingPongConfig::default()), NodeId(1), 2);
//! h.start();
//! assert_eq!(
//!     h.message(NodeId(0), Msg::Ping { round: 3 }),
//!     vec![Effect::Send { to: NodeId(0), msg: Msg::Pong { round: 3 } }],
//! );
//! ```
//!
//! [`check_seeds`] runs a simulation test over many seeds and, when one
//! fails, names the seed so it can be replayed exactly.

use std::fmt;
use std::time::Duration;

use crate::node::{node_rng, Context, Effect, Node, NodeId, NodeRng};

/// Drives one node by hand, with a clock the test sets.
pub struct Harness<N: Node> {
    node: N,
    id: NodeId,
    peers: Vec<NodeId>,
    now: Duration,
    rng: NodeRng,
    next_timer: u64,
}

impl<N: Node + fmt::Debug> fmt::Debug for Harness<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Harness")
            .field("node", &self.node)
            .field("id", &self.id)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl<N: Node> Harness<N> {
    /// Wraps `node` as `id` in a cluster of `cluster_size` nodes
    /// (`NodeId(0)` to `NodeId(cluster_size - 1)`), at local time 0, with the
    /// RNG seeded by 0.
    pub fn new(node: N, id: NodeId, cluster_size: usize) -> Self {
        Harness {
            node,
            id,
            peers: (0..cluster_size as u32)
                .map(NodeId)
                .filter(|&p| p != id)
                .collect(),
            now: Duration::ZERO,
            rng: node_rng(0, id, 0),
            next_timer: 0,
        }
    }

    /// The node's state.
    pub fn node(&self) -> &N {
        &self.node
    }

    /// The node's state, mutably.
    pub fn node_mut(&mut self) -> &mut N {
        &mut self.node
    }

    /// Sets the local clock the next handlers will read.
    pub fn set_now(&mut self, now: Duration) {
        self.now = now;
    }

    /// Runs `on_start`.
    pub fn start(&mut self) -> Vec<Effect<N>> {
        self.call(|node, ctx| node.on_start(ctx))
    }

    /// Delivers `msg` from `from`.
    pub fn message(&mut self, from: NodeId, msg: N::Msg) -> Vec<Effect<N>> {
        self.call(|node, ctx| node.on_message(ctx, from, msg))
    }

    /// Fires `timer`.
    pub fn timer(&mut self, timer: N::Timer) -> Vec<Effect<N>> {
        self.call(|node, ctx| node.on_timer(ctx, timer))
    }

    /// Hands over `request`.
    pub fn request(&mut self, request: N::Request) -> Vec<Effect<N>> {
        self.call(|node, ctx| node.on_request(ctx, request))
    }

    fn call(&mut self, handler: impl FnOnce(&mut N, &mut Context<'_, N>)) -> Vec<Effect<N>> {
        let mut effects = Vec::new();
        let mut ctx = Context::new(
            self.id,
            &self.peers,
            self.now,
            &mut self.rng,
            &mut self.next_timer,
            &mut effects,
        );
        handler(&mut self.node, &mut ctx);
        effects
    }
}

/// Runs `test` for every seed in `seeds`; panics at the first failure with a
/// message naming the seed, so the failing run can be replayed exactly (a
/// simulation is a function of its seed).
///
/// ```
/// use std::time::Duration;
/// use dsys_core::ping_pong::{replies_match_pings, PingPong, PingPongConfig};
/// use dsys_core::sim::{LinkConfig, Simulation};
///
/// dsys_core::testing::check_seeds(0..20, |seed| {
///     let mut sim = Simulation::new(3, seed, |_| PingPong::new(PingPongConfig::default()));
///     sim.set_all_links(LinkConfig::default().with_loss(0.2)).map_err(|e| e.to_string())?;
///     sim.invariant("validity", replies_match_pings);
///     sim.run_until(Duration::from_secs(2)).map_err(|e| e.to_string())
/// });
/// ```
pub fn check_seeds<E: fmt::Display>(
    seeds: impl IntoIterator<Item = u64>,
    mut test: impl FnMut(u64) -> Result<(), E>,
) {
    for seed in seeds {
        if let Err(error) = test(seed) {
            panic!("seed {seed} failed: {error}\n(the run is a function of its seed: run this seed alone to replay it exactly)");
        }
    }
}
