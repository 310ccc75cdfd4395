//! Ping-pong: the first protocol, small enough to read in a minute, used to
//! exercise the runtimes, the CLI, the tests and the benchmarks.
//!
//! # The protocol
//!
//! Every node pings every peer once per round and answers every ping it gets
//! with a pong carrying the same round number. A node counts, per peer, which
//! rounds were answered; a round whose pongs have all come back is reported
//! to the application as [`Event::RoundComplete`].
//!
//! Two modes ([`PingPongConfig::closed_loop`]):
//! - **timed** (the default): a new round starts every `interval` on the
//!   node's local clock, until `rounds` rounds have started;
//! - **closed loop**: the first pong of round `r` from a peer immediately
//!   triggers that peer's ping of round `r + 1` — as fast as the network
//!   goes, which is what the benchmarks measure. Only the last round is
//!   reported as complete.
//!
//! There is no retransmission: a lost ping or pong stays lost (and in closed
//! loop that peer's loop stops). Duplicated pongs are recognised and counted
//! once.
//!
//! # Assumptions and properties
//!
//! - **Validity** (safety, any network): a node only records a pong for a
//!   round it actually pinged that peer in — [`replies_match_pings`].
//! - **Completeness** (liveness, needs a reliable network and no crashes):
//!   by the end every node has every round answered by every peer —
//!   [`all_rounds_answered`].
//!
//! # Message cost
//!
//! `2 (n − 1)` messages per node per round: `n − 1` pings out, `n − 1` pongs
//! back; `2 n (n − 1)` per round for the cluster.
//!
//! ```
//! use std::time::Duration;
//! use dsys_core::ping_pong::{all_rounds_answered, PingPong, PingPongConfig};
//! use dsys_core::sim::Simulation;
//!
//! let config = PingPongConfig { rounds: 3, ..PingPongConfig::default() };
//! let mut sim = Simulation::new(4, 1, move |_| PingPong::new(config));
//! sim.run_until(Duration::from_secs(1)).unwrap();
//! assert_eq!(all_rounds_answered(sim.states()), Ok(()));
//! assert_eq!(sim.metrics().sent, 3 * 2 * 4 * 3); // rounds × 2 × n × (n − 1)
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::node::{Context, Message, Node, NodeId};
use crate::scenario::{run_scenario, Algorithm, Check, Outcome, Property, SimOptions, Verdict};

/// How a [`PingPong`] node behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PingPongConfig {
    /// Rounds to run (per peer in closed loop).
    pub rounds: u32,
    /// Time between rounds on the local clock (timed mode only).
    pub interval: Duration,
    /// Start the next round with a peer as soon as its pong arrives.
    pub closed_loop: bool,
}

impl Default for PingPongConfig {
    fn default() -> Self {
        PingPongConfig {
            rounds: 10,
            interval: Duration::from_millis(100),
            closed_loop: false,
        }
    }
}

impl PingPongConfig {
    /// Closed loop for `rounds` rounds per peer: as fast as the network allows.
    pub fn closed_loop(rounds: u32) -> Self {
        PingPongConfig {
            rounds,
            closed_loop: true,
            ..PingPongConfig::default()
        }
    }
}

/// Messages between ping-pong nodes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Msg {
    /// "Are you there?" — round number.
    Ping {
        /// The round.
        round: u32,
    },
    /// "Yes." — echoes the ping's round.
    Pong {
        /// The round being answered.
        round: u32,
    },
}

impl Message for Msg {}

/// The one timer: start the next round.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NextRound;

/// Requests from the application.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Request {
    /// Start one extra round now, outside the schedule.
    PingNow,
}

/// Events to the application.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Event {
    /// Every peer has answered this round.
    RoundComplete {
        /// The round.
        round: u32,
    },
}

/// What one node knows about one peer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PeerState {
    /// Rounds `0..pinged` have been pinged to this peer.
    pub pinged: u32,
    /// Which rounds this peer answered (bit `r` of the words).
    answered: Vec<u64>,
    /// Distinct rounds answered.
    pub answered_count: u32,
    /// Pongs received from this peer, duplicates and strays included.
    pub pongs_received: u64,
}

impl PeerState {
    /// Whether round `round` was answered.
    pub fn answered(&self, round: u32) -> bool {
        let (word, bit) = (round as usize / 64, round % 64);
        self.answered.get(word).is_some_and(|w| w & (1 << bit) != 0)
    }

    /// The answered rounds, ascending.
    pub fn answered_rounds(&self) -> impl Iterator<Item = u32> + '_ {
        self.answered.iter().enumerate().flat_map(|(w, &bits)| {
            (0..64)
                .filter(move |b| bits & (1 << b) != 0)
                .map(move |b| (w * 64) as u32 + b)
        })
    }

    /// Marks `round` answered; false if it already was.
    fn mark(&mut self, round: u32) -> bool {
        let (word, bit) = (round as usize / 64, round % 64);
        if self.answered.len() <= word {
            self.answered.resize(word + 1, 0);
        }
        let fresh = self.answered[word] & (1 << bit) == 0;
        self.answered[word] |= 1 << bit;
        self.answered_count += u32::from(fresh);
        fresh
    }
}

/// A ping-pong node.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PingPong {
    config: PingPongConfig,
    /// Rounds started in timed mode (broadcast rounds).
    rounds_started: u32,
    peers: BTreeMap<NodeId, PeerState>,
    /// Pings this node answered.
    pub pings_received: u64,
}

impl PingPong {
    /// A node with the given behaviour.
    pub fn new(config: PingPongConfig) -> Self {
        PingPong {
            config,
            rounds_started: 0,
            peers: BTreeMap::new(),
            pings_received: 0,
        }
    }

    /// The node's configuration.
    pub fn config(&self) -> &PingPongConfig {
        &self.config
    }

    /// What this node knows about each peer it pinged or heard from.
    pub fn peers(&self) -> &BTreeMap<NodeId, PeerState> {
        &self.peers
    }

    /// Distinct (peer, round) pongs received.
    pub fn replies(&self) -> u64 {
        self.peers
            .values()
            .map(|p| u64::from(p.answered_count))
            .sum()
    }

    fn ping(&mut self, ctx: &mut Context<'_, Self>, to: NodeId, round: u32) {
        let peer = self.peers.entry(to).or_default();
        peer.pinged = peer.pinged.max(round + 1);
        ctx.send(to, Msg::Ping { round });
    }

    fn start_round(&mut self, ctx: &mut Context<'_, Self>) {
        let round = self.rounds_started;
        self.rounds_started += 1;
        for i in 0..ctx.peers().len() {
            let to = ctx.peers()[i];
            self.ping(ctx, to, round);
        }
    }
}

impl Node for PingPong {
    type Msg = Msg;
    type Timer = NextRound;
    type Request = Request;
    type Event = Event;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if self.config.rounds == 0 {
            return;
        }
        self.start_round(ctx);
        if !self.config.closed_loop && self.config.rounds > 1 {
            ctx.set_timer(self.config.interval, NextRound);
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Ping { round } => {
                self.pings_received += 1;
                ctx.send(from, Msg::Pong { round });
            }
            Msg::Pong { round } => {
                let peer = self.peers.entry(from).or_default();
                peer.pongs_received += 1;
                // A pong for a round never pinged is a stray (a broken or
                // hostile peer): count it, record nothing.
                if round >= peer.pinged || !peer.mark(round) {
                    return;
                }
                if self.config.closed_loop && round + 1 < self.config.rounds {
                    self.ping(ctx, from, round + 1);
                } else if ctx
                    .peers()
                    .iter()
                    .all(|p| self.peers.get(p).is_some_and(|s| s.answered(round)))
                {
                    ctx.emit(Event::RoundComplete { round });
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _timer: NextRound) {
        if self.rounds_started < self.config.rounds {
            self.start_round(ctx);
        }
        if self.rounds_started < self.config.rounds {
            ctx.set_timer(self.config.interval, NextRound);
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Request) {
        match request {
            Request::PingNow => self.start_round(ctx),
        }
    }
}

/// Validity: every round a node recorded as answered by a peer is a round it
/// pinged that peer in.
pub fn replies_match_pings(nodes: &[Option<PingPong>]) -> Result<(), String> {
    for (i, node) in nodes.iter().enumerate() {
        if let Some(node) = node {
            node_replies_match_pings(NodeId(i as u32), node)?;
        }
    }
    Ok(())
}

/// [`replies_match_pings`] for one node: what `dsys sim ping-pong` checks
/// after each event, of the node the event ran on (so that a run of a
/// hundred nodes does not look at all of them every time).
pub fn node_replies_match_pings(id: NodeId, node: &PingPong) -> Result<(), String> {
    for (peer, state) in &node.peers {
        if let Some(round) = state.answered_rounds().find(|&r| r >= state.pinged) {
            return Err(format!(
                "{id} recorded a pong from {peer} for round {round}, but pinged only rounds 0..{}",
                state.pinged
            ));
        }
    }
    Ok(())
}

/// Completeness: every live node has every round answered by every other
/// node (meaningful only on a reliable network without crashes).
pub fn all_rounds_answered(nodes: &[Option<PingPong>]) -> Result<(), String> {
    for (i, node) in nodes.iter().enumerate() {
        let Some(node) = node else { continue };
        let expected = node.config.rounds;
        for j in (0..nodes.len()).filter(|&j| j != i) {
            let peer = NodeId(j as u32);
            let answered = node.peers.get(&peer).map_or(0, |s| s.answered_count);
            if answered < expected {
                return Err(format!(
                    "n{i} has {answered} of {expected} rounds answered by {peer}"
                ));
            }
        }
    }
    Ok(())
}

/// `dsys sim ping-pong`: every node pings every peer for 10 rounds, 100 ms
/// apart; validity is an invariant, completeness is judged at the end when
/// the run injects no fault.
pub const ALGORITHM: Algorithm = Algorithm {
    name: "ping-pong",
    summary: "every node pings every peer each round and counts the pongs (the first protocol)",
    run: simulate,
    settings: &[],
    model: None,
    defects: &[],
};

fn simulate(options: &SimOptions) -> crate::Result<Outcome> {
    let config = PingPongConfig::default();
    run_scenario(
        ALGORITHM.name,
        options,
        move |_| PingPong::new(config),
        &[
            Property {
                name: "validity",
                check: Check::node_invariant(node_replies_match_pings),
            },
            Property {
                name: "completeness",
                check: Check::at_end(|sim, options| {
                    if options.has_faults() {
                        return Verdict::Skipped(
                            "needs a reliable network without crashes".to_string(),
                        );
                    }
                    all_rounds_answered(sim.states()).into()
                }),
            },
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Harness;

    // Handler tests assert exact effects (STYLE.md #9).
    #[test]
    fn start_pings_every_peer_and_sets_the_round_timer() {
        let mut h = Harness::new(PingPong::new(PingPongConfig::default()), NodeId(0), 3);
        let effects = h.start();
        assert_eq!(
            effects,
            vec![
                crate::Effect::Send {
                    to: NodeId(1),
                    msg: Msg::Ping { round: 0 }
                },
                crate::Effect::Send {
                    to: NodeId(2),
                    msg: Msg::Ping { round: 0 }
                },
                crate::Effect::SetTimer {
                    after: Duration::from_millis(100),
                    timer: NextRound
                },
            ]
        );
    }

    #[test]
    fn ping_is_answered_and_stray_pongs_are_ignored() {
        let mut h = Harness::new(PingPong::new(PingPongConfig::default()), NodeId(1), 2);
        h.start();
        assert_eq!(
            h.message(NodeId(0), Msg::Ping { round: 4 }),
            vec![crate::Effect::Send {
                to: NodeId(0),
                msg: Msg::Pong { round: 4 }
            }]
        );
        // Round 7 was never pinged: no effect, nothing recorded.
        assert_eq!(h.message(NodeId(0), Msg::Pong { round: 7 }), vec![]);
        assert_eq!(h.node().replies(), 0);
        // Round 0 was: the round is complete (n0 is the only peer).
        assert_eq!(
            h.message(NodeId(0), Msg::Pong { round: 0 }),
            vec![crate::Effect::Emit(Event::RoundComplete { round: 0 })]
        );
        // A duplicate changes nothing.
        assert_eq!(h.message(NodeId(0), Msg::Pong { round: 0 }), vec![]);
        assert_eq!(h.node().replies(), 1);
    }

    #[test]
    fn validity_checker_catches_a_phantom_pong() {
        let mut node = PingPong::new(PingPongConfig::default());
        let peer = node.peers.entry(NodeId(1)).or_default();
        peer.pinged = 2;
        peer.mark(5); // a pong recorded for a round never pinged
        let err = replies_match_pings(&[Some(node), None]).unwrap_err();
        assert!(err.contains("round 5"), "{err}");
    }

    #[test]
    fn completeness_checker_catches_a_missing_round() {
        let mut node = PingPong::new(PingPongConfig {
            rounds: 2,
            ..PingPongConfig::default()
        });
        let peer = node.peers.entry(NodeId(1)).or_default();
        peer.pinged = 2;
        peer.mark(0);
        let other = node.clone();
        let err = all_rounds_answered(&[Some(node), Some(other)]).unwrap_err();
        assert!(err.contains("1 of 2"), "{err}");
    }
}
