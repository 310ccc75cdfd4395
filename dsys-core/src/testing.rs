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
//! fails, names the seed so it can be replayed exactly;
//! [`check_properties`] does so for a registered algorithm's scenario and
//! its named properties.

use std::fmt;
use std::time::Duration;

pub mod heap;

use crate::driver::Driver;
use crate::node::{EffectOf, Input, InputOf, Node, NodeId};
use crate::scenario::{Algorithm, SimOptions, Verdict};

/// Drives one node by hand, with a clock the test sets.
pub struct Harness<N: Node> {
    node: N,
    driver: Driver<N>,
    now: Duration,
}

impl<N: Node + fmt::Debug> fmt::Debug for Harness<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Harness")
            .field("node", &self.node)
            .field("id", &self.driver.id())
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl<N: Node> Harness<N> {
    /// Wraps `node` as `id` in a cluster of `cluster_size` nodes
    /// (`NodeId(0)` to `NodeId(cluster_size - 1)`), at local time 0, with the
    /// RNG seeded by 0.
    pub fn new(node: N, id: NodeId, cluster_size: usize) -> Self {
        let peers: Vec<NodeId> = (0..cluster_size as u32)
            .map(NodeId)
            .filter(|&p| p != id)
            .collect();
        Harness {
            node,
            driver: Driver::seeded(id, peers, 0, 0),
            now: Duration::ZERO,
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

    /// The node, taken out of the harness.
    pub fn into_node(self) -> N {
        self.node
    }

    /// Sets the local clock the next handlers will read.
    pub fn set_now(&mut self, now: Duration) {
        self.now = now;
    }

    /// Runs `on_start`.
    pub fn start(&mut self) -> Vec<EffectOf<N>> {
        self.handle(Input::Start)
    }

    /// Delivers `msg` from `from`.
    pub fn message(&mut self, from: NodeId, msg: N::Msg) -> Vec<EffectOf<N>> {
        self.handle(Input::Message { from, msg })
    }

    /// Fires `timer`.
    pub fn timer(&mut self, timer: N::Timer) -> Vec<EffectOf<N>> {
        self.handle(Input::Timer(timer))
    }

    /// Hands over `request`.
    pub fn request(&mut self, request: N::Request) -> Vec<EffectOf<N>> {
        self.handle(Input::Request(request))
    }

    /// Runs any input and returns the effects it recorded.
    pub fn handle(&mut self, input: InputOf<N>) -> Vec<EffectOf<N>> {
        self.driver.handle(&mut self.node, self.now, input)
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

/// Runs a registered algorithm's scenario ([`Algorithm::run`]) once per
/// seed, with the options `options(seed)` builds, and requires every
/// property that `judged` accepts (by name) to hold — neither violated nor
/// skipped. At the first failure it panics naming the seed, with the run's
/// report and the `dsys sim` command that replays it.
///
/// ```
/// use dsys_core::ping_pong::ALGORITHM;
/// use dsys_core::scenario::SimOptions;
///
/// dsys_core::testing::check_properties(
///     &ALGORITHM,
///     0..10,
///     |seed| SimOptions { nodes: 3, seed, ..SimOptions::default() },
///     |_property| true,
/// );
/// ```
pub fn check_properties(
    algorithm: &Algorithm,
    seeds: impl IntoIterator<Item = u64>,
    options: impl Fn(u64) -> SimOptions,
    judged: impl Fn(&str) -> bool,
) {
    check_seeds(seeds, |seed| {
        let report = (algorithm.run)(&options(seed))
            .map_err(|e| e.to_string())?
            .report;
        let failed = report
            .verdicts
            .iter()
            .any(|(name, verdict)| judged(name) && *verdict != Verdict::Holds);
        if !failed {
            Ok(())
        } else if report.passed() {
            // Skipped, not violated: the report prints no replay line itself.
            Err(format!("{report}replay: {}", report.replay_command()))
        } else {
            Err(report.to_string())
        }
    });
}
