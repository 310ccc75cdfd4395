//! Ring election (Chang & Roberts): the highest id wins, found by passing
//! the largest id seen so far around a ring.
//!
//! # The problem
//!
//! A group of processes must agree on one of them, the **coordinator** (a
//! lock server, a primary, a token generator). Every process has a unique,
//! totally ordered id; by convention the live process with the highest id
//! wins. Any process may start an election, several may start at once.
//!
//! # The algorithm
//!
//! The processes form a logical ring: `n0 → n1 → … → n(N−1) → n0` (each
//! sends only to its successor). Every process is first a
//! *non-participant*.
//!
//! 1. **Start.** A process that starts an election marks itself
//!    *participant* and sends `Election(own id)` to its successor.
//! 2. **Forward the largest.** On `Election(j)`:
//!    - `j > own id`: forward `Election(j)`, mark participant;
//!    - `j < own id` and non-participant: send `Election(own id)` instead,
//!      mark participant;
//!    - `j < own id` and already participant: discard it (a concurrent
//!      election with a smaller candidate dies here);
//!    - `j == own id`: the id went all the way round, so it is the largest:
//!      this process is the **coordinator**.
//! 3. **Announce.** The coordinator marks itself non-participant and sends
//!    `Elected(own id)`; each process records the coordinator, marks itself
//!    non-participant and forwards `Elected` until it returns to the
//!    coordinator.
//!
//! # Assumptions
//!
//! No process crashes during an election (a crashed process breaks the
//! ring: the election stops, E2 fails); no message is lost. Messages may be
//! delayed and reordered arbitrarily: each message carries all it needs.
//!
//! # Guarantees
//!
//! - **E1 (safety)**: only the highest id ever comes back to its sender, so
//!   only it declares itself; every process records that id.
//! - **E2 (liveness)**: every process records the coordinator, once the
//!   messages are delivered.
//!
//! See [`crate::properties`] (the checkers) for how they are judged.
//!
//! # Message cost
//!
//! One election started alone: between `2N` messages (started by the
//! highest) and **`3N − 1`** (started by the successor of the highest: `N − 1`
//! messages until the highest sees it, `N` for its own id to go round, `N`
//! `Elected`); in general a lone start by `ns` costs `3N − 1 − s` (the
//! hops to the highest, then `2N`). [`worst_case_starter`] names the
//! costliest starter; a test measures
//! exactly `3N − 1` for N = 5, 8, 13. Concurrent elections cost more, at
//! most `N(2N − 1) + N` messages on FIFO links. On links that reorder, a
//! stale `Election` may arrive after the `Elected` and start a redundant
//! round: more messages, the same leader (no second decision).
//!
//! # Source
//!
//! E. Chang, R. Roberts, "An improved algorithm for decentralized
//! extrema-finding in circular configurations of processes", *CACM* 22(5),
//! 1979; Coulouris et al., *Distributed Systems*, 5th ed., §15.3.1.
//!
//! ```
//! use std::time::Duration;
//! use dsys_core::sim::Simulation;
//! use dsys_core::NodeId;
//! use dsys_election::ring::{worst_case_starter, Ring, RingConfig};
//! use dsys_election::Elector;
//!
//! let n = 5;
//! let config = RingConfig::started_by(&[worst_case_starter(n)]);
//! let mut sim = Simulation::new(n, 1, move |_| Ring::new(config.clone()));
//! sim.run_until(Duration::from_secs(1)).unwrap();
//! assert!(sim.nodes().all(|(_, node)| node.leader() == Some(NodeId(4))));
//! assert_eq!(sim.metrics().sent, 3 * n as u64 - 1);
//! ```

use dsys_core::model::{self, Model, ModelOptions, ModelVerdict};
use dsys_core::scenario::{
    run_scenario_with, Algorithm, Check, Outcome, Property, SimOptions, Verdict,
};
use dsys_core::{Context, Message, Node, NodeId};
use serde::{Deserialize, Serialize};

use crate::event::{ElectionEvent, ElectionRequest, Elector};
use crate::properties;

/// Which candidate a process forwards when two meet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Keep {
    /// Chang & Roberts: the larger id (correct).
    Larger,
    /// The smaller id: a deliberately broken variant, kept so that tests
    /// show the E1 checker catching it.
    Smaller,
}

/// How a ring node behaves.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RingConfig {
    /// The processes that start an election when they start.
    pub starters: Vec<NodeId>,
    /// Which candidate to forward ([`Keep::Larger`] unless demonstrating a bug).
    pub keep: Keep,
}

impl Default for RingConfig {
    /// n0 starts an election; the larger id wins.
    fn default() -> Self {
        RingConfig::started_by(&[NodeId(0)])
    }
}

impl RingConfig {
    /// The correct algorithm, with these processes starting elections at
    /// time 0 (concurrent elections when there are several).
    pub fn started_by(starters: &[NodeId]) -> Self {
        RingConfig {
            starters: starters.to_vec(),
            keep: Keep::Larger,
        }
    }
}

/// Messages around the ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Msg {
    /// The largest candidate seen so far.
    Election {
        /// The candidate.
        candidate: NodeId,
    },
    /// The coordinator, announced around the ring.
    Elected {
        /// The coordinator.
        leader: NodeId,
    },
}

impl Message for Msg {}

/// One process of a ring election; see the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ring {
    config: RingConfig,
    participant: bool,
    leader: Option<NodeId>,
}

impl Ring {
    /// A non-participant process with no leader yet.
    pub fn new(config: RingConfig) -> Self {
        Ring {
            config,
            participant: false,
            leader: None,
        }
    }

    /// Whether this process is taking part in an election now.
    pub fn is_participant(&self) -> bool {
        self.participant
    }

    /// The successor of `id` on a ring of `cluster_size` processes.
    pub fn successor(id: NodeId, cluster_size: usize) -> NodeId {
        NodeId((id.0 + 1) % cluster_size as u32)
    }

    fn next(ctx: &Context<'_, Self>) -> NodeId {
        Ring::successor(ctx.id(), ctx.cluster_size())
    }

    fn start_election(&mut self, ctx: &mut Context<'_, Self>) {
        if self.participant {
            return; // an election this process takes part in is under way
        }
        self.participant = true;
        ctx.emit(ElectionEvent::Started);
        let me = ctx.id();
        let next = Ring::next(ctx);
        ctx.send(next, Msg::Election { candidate: me });
    }

    fn adopt(&mut self, ctx: &mut Context<'_, Self>, leader: NodeId) {
        self.participant = false;
        if self.leader != Some(leader) {
            self.leader = Some(leader);
            ctx.emit(ElectionEvent::Elected(leader));
        }
    }
}

impl Elector for Ring {
    fn leader(&self) -> Option<NodeId> {
        self.leader
    }
}

impl Node for Ring {
    type Msg = Msg;
    type Timer = ();
    type Request = ElectionRequest;
    type Event = ElectionEvent;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if self.config.starters.contains(&ctx.id()) {
            self.start_election(ctx);
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, _from: NodeId, msg: Msg) {
        let me = ctx.id();
        let next = Ring::next(ctx);
        match msg {
            Msg::Election { candidate } if candidate == me => {
                // My id went all the way round: nobody had a better one.
                self.adopt(ctx, me);
                ctx.send(next, Msg::Elected { leader: me });
            }
            Msg::Election { candidate } => {
                let better = match self.config.keep {
                    Keep::Larger => candidate > me,
                    Keep::Smaller => candidate < me,
                };
                if better {
                    self.participant = true;
                    ctx.send(next, Msg::Election { candidate });
                } else if !self.participant {
                    self.participant = true;
                    ctx.send(next, Msg::Election { candidate: me });
                }
                // else: a worse candidate of a concurrent election: swallow it.
            }
            Msg::Elected { leader } => {
                if leader != me {
                    self.adopt(ctx, leader);
                    ctx.send(next, Msg::Elected { leader });
                }
            }
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: ElectionRequest) {
        match request {
            ElectionRequest::Start => self.start_election(ctx),
        }
    }
}

/// The process whose lone election costs the most, `3N − 1` messages: the
/// successor of the highest id (`n0`), so its id must travel `N − 1` hops
/// before the highest id takes over.
pub fn worst_case_starter(cluster_size: usize) -> NodeId {
    Ring::successor(NodeId(cluster_size as u32 - 1), cluster_size)
}

/// The starters `dsys sim ring-election` uses for a seed: the nodes whose
/// bit is set in the seed (n0 alone if none is), so different seeds give
/// different concurrent elections.
pub fn scenario_starters(options: &SimOptions) -> Vec<NodeId> {
    let starters: Vec<NodeId> = (0..options.nodes.min(64) as u32)
        .filter(|i| options.seed >> i & 1 == 1)
        .map(NodeId)
        .collect();
    if starters.is_empty() {
        vec![NodeId(0)]
    } else {
        starters
    }
}

/// `dsys sim ring-election`: Chang & Roberts with the starters of
/// [`scenario_starters`]; judges E1 and (without loss, partitions or
/// crashes, which ring does not tolerate) E2.
pub const ALGORITHM: Algorithm = Algorithm {
    name: "ring-election",
    summary:
        "ring election (Chang & Roberts): the highest id wins, 3N-1 messages at worst (E1, E2)",
    run: simulate,
    settings: &[],
    model: Some(check_model),
    defects: &[],
};

/// The model of a ring election: every process starts one at once (the
/// most concurrent elections there can be), judged by E1 in every state
/// ([`properties::e1_states`]) and E2 in every run that ends.
///
/// ```
/// use dsys_election::ring::{model, Keep, RingConfig};
///
/// let report = model(3, Keep::Larger).check();
/// assert!(report.passed() && report.exhaustive, "{report}");
/// // Forwarding the smaller id elects n0: E1 fails.
/// let broken = model(3, Keep::Smaller).check();
/// assert_eq!(broken.counterexample().map(|(name, _)| name), Some("E1"));
/// ```
pub fn model(nodes: usize, keep: Keep) -> Model<Ring> {
    let starters: Vec<NodeId> = (0..nodes as u32).map(NodeId).collect();
    let config = RingConfig {
        keep,
        ..RingConfig::started_by(&starters)
    };
    Model::new(nodes, move |_| Ring::new(config.clone()))
        .property(model::Property::always("E1", properties::e1_states::<Ring>))
        .property(model::Property::eventually(
            "E2",
            |states: &[Option<Ring>]| properties::e2_liveness(states).is_ok(),
        ))
}

/// `dsys check ring-election`: [`model`] with the options given.
fn check_model(options: &ModelOptions) -> dsys_core::Result<ModelVerdict> {
    ALGORITHM.defect_named(options.defect.as_deref())?; // it ships none
    Ok(model(options.nodes, Keep::Larger)
        .options(options)
        .verdict())
}

fn simulate(options: &SimOptions) -> dsys_core::Result<Outcome> {
    let mut options = options.clone();
    options.trace = true; // E1 reads the decisions and crashes from the trace
    let config = RingConfig::started_by(&scenario_starters(&options));
    run_scenario_with(
        ALGORITHM.name,
        &options,
        move |_| Ring::new(config.clone()),
        &[
            Property {
                name: "E1 safety",
                check: Check::at_end(|sim, _| properties::e1_safety(sim, None).into()),
            },
            Property {
                name: "E2 liveness",
                check: Check::at_end(|sim, options| {
                    if options.loss > 0.0
                        || options.duplicate > 0.0
                        || !options.partitions.is_empty()
                        || properties::last_fault(options).is_some()
                    {
                        return Verdict::Skipped(
                            "ring assumes no loss, duplication, partition or crash".into(),
                        );
                    }
                    properties::e2_liveness(sim.states()).into()
                }),
            },
            Property {
                name: "elections",
                check: Check::figure(|sim, _| properties::story(sim)),
            },
        ],
        |_| Ok(()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsys_core::testing::Harness;
    use dsys_core::Effect;
    use std::time::Duration;

    fn node(id: u32, n: usize, config: RingConfig) -> Harness<Ring> {
        Harness::new(Ring::new(config), NodeId(id), n)
    }

    #[test]
    fn a_starter_marks_itself_participant_and_sends_its_id() {
        let mut h = node(2, 4, RingConfig::started_by(&[NodeId(2)]));
        assert_eq!(
            h.start(),
            vec![
                Effect::Emit(ElectionEvent::Started),
                Effect::Send {
                    to: NodeId(3),
                    msg: Msg::Election {
                        candidate: NodeId(2)
                    }
                },
            ]
        );
        assert!(h.node().is_participant());
        assert_eq!(h.request(ElectionRequest::Start), vec![], "already running");
    }

    #[test]
    fn forwards_larger_replaces_smaller_swallows_smaller_when_participant() {
        let mut h = node(2, 4, RingConfig::started_by(&[]));
        h.start();
        let election = |c: u32| Msg::Election {
            candidate: NodeId(c),
        };
        assert_eq!(
            h.message(NodeId(1), election(0)),
            vec![Effect::Send {
                to: NodeId(3),
                msg: election(2)
            }]
        );
        assert_eq!(h.message(NodeId(1), election(1)), vec![]);
        assert_eq!(
            h.message(NodeId(1), election(3)),
            vec![Effect::Send {
                to: NodeId(3),
                msg: election(3)
            }]
        );
    }

    #[test]
    fn own_id_back_means_elected_and_the_announcement_stops_at_the_coordinator() {
        let mut h = node(3, 4, RingConfig::started_by(&[NodeId(3)]));
        h.start();
        assert_eq!(
            h.message(
                NodeId(2),
                Msg::Election {
                    candidate: NodeId(3)
                }
            ),
            vec![
                Effect::Emit(ElectionEvent::Elected(NodeId(3))),
                Effect::Send {
                    to: NodeId(0),
                    msg: Msg::Elected { leader: NodeId(3) }
                },
            ]
        );
        assert!(!h.node().is_participant());
        assert_eq!(
            h.message(NodeId(2), Msg::Elected { leader: NodeId(3) }),
            vec![]
        );
    }

    #[test]
    fn elected_is_recorded_and_forwarded() {
        let mut h = node(0, 4, RingConfig::started_by(&[]));
        h.start();
        assert_eq!(
            h.message(NodeId(3), Msg::Elected { leader: NodeId(3) }),
            vec![
                Effect::Emit(ElectionEvent::Elected(NodeId(3))),
                Effect::Send {
                    to: NodeId(1),
                    msg: Msg::Elected { leader: NodeId(3) }
                },
            ]
        );
        assert_eq!(h.node().leader(), Some(NodeId(3)));
    }

    #[test]
    fn the_broken_variant_forwards_the_smaller_id() {
        let config = RingConfig {
            keep: Keep::Smaller,
            ..RingConfig::started_by(&[])
        };
        let mut h = node(2, 4, config);
        assert_eq!(
            h.message(
                NodeId(1),
                Msg::Election {
                    candidate: NodeId(1)
                }
            ),
            vec![Effect::Send {
                to: NodeId(3),
                msg: Msg::Election {
                    candidate: NodeId(1)
                }
            }]
        );
    }

    #[test]
    fn a_start_request_starts_an_election_on_any_process() {
        let mut h = node(1, 4, RingConfig::started_by(&[]));
        assert_eq!(h.start(), vec![]);
        assert_eq!(
            h.request(ElectionRequest::Start),
            vec![
                Effect::Emit(ElectionEvent::Started),
                Effect::Send {
                    to: NodeId(2),
                    msg: Msg::Election {
                        candidate: NodeId(1)
                    }
                },
            ]
        );
    }

    #[test]
    fn the_costliest_starter_is_the_successor_of_the_highest() {
        for n in 1..=8 {
            let starter = worst_case_starter(n);
            assert_eq!(starter, NodeId(0), "N = {n}");
            assert_eq!(Ring::successor(NodeId(n as u32 - 1), n), starter);
        }
        assert_eq!(Ring::successor(NodeId(2), 5), NodeId(3));
    }

    #[test]
    fn scenario_starters_are_the_seeds_bits_or_n0() {
        let starters = |nodes, seed| {
            scenario_starters(&SimOptions {
                nodes,
                seed,
                ..SimOptions::default()
            })
        };
        assert_eq!(starters(6, 0b101101), [0, 2, 3, 5].map(NodeId));
        assert_eq!(starters(6, 0b000010), vec![NodeId(1)]);
        assert_eq!(starters(6, 0), vec![NodeId(0)], "no bit: n0 alone");
        assert_eq!(starters(3, 0b11000), vec![NodeId(0)], "bits past the ring");
        assert_eq!(starters(3, 0b11100), vec![NodeId(2)]);
        assert_eq!(starters(70, 1 << 63), vec![NodeId(63)], "64 bits at most");
    }

    #[test]
    fn the_model_checks_the_variant_it_is_given() {
        let report = model(3, Keep::Larger).check();
        assert!(report.passed() && report.exhaustive, "{report}");
        let broken = model(3, Keep::Smaller).check();
        assert_eq!(
            broken.counterexample().map(|(name, _)| name),
            Some("E1"),
            "{broken}"
        );
    }

    /// The E2 verdict of `dsys sim ring-election` with these options.
    fn e2_verdict(options: SimOptions) -> Verdict {
        let outcome = simulate(&options).unwrap();
        let (_, verdict) = outcome
            .report
            .verdicts
            .iter()
            .find(|(name, _)| name == "E2 liveness")
            .expect("an E2 verdict");
        verdict.clone()
    }

    #[test]
    fn e2_is_judged_only_on_runs_that_keep_the_rings_assumptions() {
        let clean = SimOptions {
            nodes: 4,
            seed: 0b0110,
            ..SimOptions::default()
        };
        assert_eq!(e2_verdict(clean.clone()), Verdict::Holds);
        let skipped = |options: SimOptions| matches!(e2_verdict(options), Verdict::Skipped(_));
        assert!(skipped(SimOptions {
            loss: 0.1,
            ..clean.clone()
        }));
        assert!(skipped(SimOptions {
            duplicate: 0.1,
            ..clean.clone()
        }));
        assert!(skipped(SimOptions {
            partitions: vec![dsys_core::scenario::PartitionSpec {
                a: vec![NodeId(0)],
                b: vec![NodeId(1), NodeId(2), NodeId(3)],
                from: Duration::from_millis(500),
                to: None,
            }],
            ..clean.clone()
        }));
        assert!(skipped(SimOptions {
            crashes: vec!["3@500".parse().unwrap()],
            ..clean
        }));
    }
}
