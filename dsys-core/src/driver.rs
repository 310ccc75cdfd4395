//! The one place a node's handler runs: [`Driver`].
//!
//! Every runtime — the simulator, the actix `NodeActor`, the test
//! [`Harness`](crate::testing::Harness), the model checker — keeps one
//! driver per node and calls [`Driver::handle`] with an [`Input`](crate::Input). The
//! driver holds what a handler needs besides the node's own state (its id,
//! its peers, its seeded RNG, the buffer its effects go into), builds the
//! [`Context`], runs the handler and returns the effects. Runtimes differ
//! only in how they schedule inputs and carry effects out.
//!
//! The node's state is not inside the driver but handed to each call: the
//! simulator keeps every node's state side by side, so invariants and
//! checkers read them all at once (`&[Option<N>]`), and a crash drops the
//! state while the driver (the runtime's bookkeeping) is rebuilt for the
//! next incarnation.
//!
//! ```
//! use std::time::Duration;
//! use dsys_core::driver::Driver;
//! use dsys_core::ping_pong::{Msg, PingPong, PingPongConfig};
//! use dsys_core::{Effect, Input, NodeId};
//!
//! let mut node = PingPong::new(PingPongConfig::default());
//! let mut driver = Driver::seeded(NodeId(1), vec![NodeId(0)], 7, 0);
//! driver.handle(&mut node, Duration::ZERO, Input::Start);
//! let ping = Input::Message { from: NodeId(0), msg: Msg::Ping { round: 3 } };
//! let effects = driver.handle(&mut node, Duration::from_millis(1), ping);
//! assert_eq!(effects, vec![Effect::Send { to: NodeId(0), msg: Msg::Pong { round: 3 } }]);
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::node::{node_rng, Context, EffectOf, InputOf, Node, NodeId, NodeRng};

/// Runs one node's handlers: owns the node's id, peers, RNG and effect
/// buffer, and builds the [`Context`] each handler sees.
pub struct Driver<N: Node> {
    id: NodeId,
    peers: Arc<[NodeId]>,
    rng: NodeRng,
    effects: Vec<EffectOf<N>>,
}

impl<N: Node> fmt::Debug for Driver<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("id", &self.id)
            .field("peers", &self.peers)
            .finish_non_exhaustive()
    }
}

impl<N: Node> Driver<N> {
    /// A driver for node `id` whose peers (the other nodes of its cluster,
    /// not `id` itself) are `peers`, with its own RNG.
    pub fn new(id: NodeId, peers: impl Into<Arc<[NodeId]>>, rng: NodeRng) -> Self {
        Driver {
            id,
            peers: peers.into(),
            rng,
            effects: Vec::new(),
        }
    }

    /// A driver whose RNG is derived from a run's `seed`, the node's id and
    /// its `incarnation` (0 until the first restart), as every dsys runtime
    /// seeds it: each node and each restart gets its own stream.
    pub fn seeded(
        id: NodeId,
        peers: impl Into<Arc<[NodeId]>>,
        seed: u64,
        incarnation: u64,
    ) -> Self {
        Driver::new(id, peers, node_rng(seed, id, incarnation))
    }

    /// How far the node's RNG has got in its stream (in 32-bit words):
    /// with [`Driver::seek_rng`], a driver rebuilt later continues the
    /// same random numbers, as the model checker's steps do with
    /// `Model::continuous_rng`.
    pub fn rng_position(&self) -> u128 {
        self.rng.get_word_pos()
    }

    /// Moves the node's RNG to `position` in its stream (see
    /// [`Driver::rng_position`]).
    pub fn seek_rng(&mut self, position: u128) {
        self.rng.set_word_pos(position);
    }

    /// The node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The node's peers.
    pub fn peers(&self) -> &[NodeId] {
        &self.peers
    }

    /// Runs the handler of `node` that `input` is for, with the local clock
    /// reading `now`, and returns the effects it recorded, in order. Hand
    /// the emptied vector back with [`Driver::recycle`] to spare the next
    /// call an allocation.
    pub fn handle(&mut self, node: &mut N, now: Duration, input: InputOf<N>) -> Vec<EffectOf<N>> {
        let mut effects = std::mem::take(&mut self.effects);
        effects.clear();
        let mut ctx = Context::new(self.id, &self.peers, now, &mut self.rng, &mut effects);
        input.apply(node, &mut ctx);
        effects
    }

    /// Takes back an effect buffer returned by [`Driver::handle`], to reuse
    /// its capacity.
    pub fn recycle(&mut self, mut buffer: Vec<EffectOf<N>>) {
        buffer.clear();
        self.effects = buffer;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ping_pong::{Msg, PingPong, PingPongConfig};
    use crate::{Effect, Input};

    #[test]
    fn the_context_sees_the_drivers_id_and_peers() {
        let mut driver: Driver<PingPong> =
            Driver::seeded(NodeId(3), vec![NodeId(1), NodeId(5)], 9, 0);
        assert_eq!(driver.id(), NodeId(3));
        assert_eq!(driver.peers(), &[NodeId(1), NodeId(5)]);
        assert!(format!("{driver:?}").contains("id: n3"));
        // The handler sees them too: start pings exactly the peers, and a
        // ping is answered to its sender.
        let mut node = PingPong::new(PingPongConfig::default());
        let effects = driver.handle(&mut node, Duration::ZERO, Input::Start);
        let sent: Vec<NodeId> = effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send { to, .. } => Some(*to),
                _ => None,
            })
            .collect();
        assert_eq!(sent, vec![NodeId(1), NodeId(5)]);
        driver.recycle(effects);
        let ping = Input::Message {
            from: NodeId(5),
            msg: Msg::Ping { round: 0 },
        };
        assert_eq!(
            driver.handle(&mut node, Duration::from_millis(1), ping),
            vec![Effect::Send {
                to: NodeId(5),
                msg: Msg::Pong { round: 0 }
            }]
        );
    }

    #[test]
    fn a_recycled_buffer_is_reused_by_the_next_call() {
        let mut driver: Driver<PingPong> = Driver::seeded(NodeId(0), vec![NodeId(1)], 1, 0);
        let mut node = PingPong::new(PingPongConfig::default());
        let mut buffer = Vec::with_capacity(64);
        buffer.push(Effect::Send {
            to: NodeId(9),
            msg: Msg::Ping { round: 9 },
        });
        driver.recycle(buffer);
        let effects = driver.handle(&mut node, Duration::ZERO, Input::Start);
        assert!(effects.capacity() >= 64, "capacity {}", effects.capacity());
        assert!(
            !effects.contains(&Effect::Send {
                to: NodeId(9),
                msg: Msg::Ping { round: 9 }
            }),
            "the recycled buffer is emptied first"
        );
    }
}
