//! One Paxos node: proposer, acceptor and learner in one state machine.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::time::Duration;

use dsys_core::rand::RngExt;
use dsys_core::{Context, Node, NodeId};

use super::message::{Ballot, Msg, PaxosEvent, PaxosRequest, Timer, Value};
use crate::stable::Stable;
use crate::{Error, Result};

/// How long a proposer waits after its ballot is rejected before it tries
/// a higher one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backoff {
    /// Always the same wait. Two dueling proposers can then preempt each
    /// other for ever under a hostile schedule (§2.4, "progress").
    Fixed(Duration),
    /// A wait drawn uniformly from `min..=max` with the node's seeded RNG,
    /// so that one proposer soon gets a quiet stretch to finish in.
    Randomised {
        /// The shortest wait.
        min: Duration,
        /// The longest wait.
        max: Duration,
    },
}

/// A deliberate bug, so that the checkers can be seen to catch it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Defect {
    /// The proposer sends its own value in phase 2 even when a promise
    /// reported an accepted one (breaks "only a single value is chosen").
    IgnoresAcceptedValues,
    /// The acceptor does not read its promise back at restart, only what it
    /// accepted: it may then accept below a ballot it promised to ignore.
    ForgetsPromiseAtRestart,
}

/// A node's timing and behaviour.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PaxosConfig {
    /// How long a proposer first waits for a majority (of promises, then
    /// of acceptances) before it starts a higher ballot. Each attempt that
    /// times out doubles the wait, up to `attempt_timeout_max`: a fixed
    /// wait shorter than a round trip would never see a majority answer,
    /// and the proposer would never decide.
    pub attempt_timeout: Duration,
    /// The longest the attempt timeout grows to.
    pub attempt_timeout_max: Duration,
    /// The wait after a rejection.
    pub backoff: Backoff,
    /// How often an undecided node asks the others for the chosen value.
    pub inquire_interval: Duration,
    /// A deliberate bug, for checker tests (`None` in real use).
    pub defect: Option<Defect>,
}

impl Default for PaxosConfig {
    fn default() -> Self {
        PaxosConfig {
            attempt_timeout: Duration::from_millis(60),
            attempt_timeout_max: Duration::from_secs(2),
            backoff: Backoff::Randomised {
                min: Duration::from_millis(5),
                max: Duration::from_millis(60),
            },
            inquire_interval: Duration::from_millis(150),
            defect: None,
        }
    }
}

impl PaxosConfig {
    /// Checks the configuration, saying what to fix.
    pub fn validate(&self) -> Result<()> {
        if self.attempt_timeout.is_zero() || self.inquire_interval.is_zero() {
            return Err(Error::InvalidConfig(
                "Paxos: attempt_timeout and inquire_interval must be above zero".into(),
            ));
        }
        if self.attempt_timeout_max < self.attempt_timeout {
            return Err(Error::InvalidConfig(format!(
                "Paxos: attempt_timeout_max ({:?}) is below attempt_timeout ({:?}); raise it",
                self.attempt_timeout_max, self.attempt_timeout
            )));
        }
        if let Backoff::Randomised { min, max } = self.backoff
            && min > max
        {
            return Err(Error::InvalidConfig(format!(
                "Paxos: back-off range {min:?}..={max:?} is empty; write min <= max"
            )));
        }
        Ok(())
    }
}

/// What a node keeps in stable storage: written before any message that
/// depends on it leaves.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Durable<V> {
    /// Acceptor: the highest ballot promised.
    pub promised: Option<Ballot>,
    /// Acceptor: the highest-numbered proposal accepted.
    pub accepted: Option<(Ballot, V)>,
    /// Proposer: the highest round it used, so that after a restart it
    /// never reuses a ballot (with, perhaps, a different value).
    pub round: u64,
    /// Learner: the chosen value, once known.
    pub decided: Option<V>,
}

impl<V> Default for Durable<V> {
    fn default() -> Self {
        Durable {
            promised: None,
            accepted: None,
            round: 0,
            decided: None,
        }
    }
}

/// A proposer's ballot in progress.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Attempt<V> {
    /// Phase 1: promises gathered so far, with what each acceptor accepted.
    Preparing {
        ballot: Ballot,
        promises: BTreeMap<NodeId, Option<(Ballot, V)>>,
    },
    /// Phase 2: acceptances gathered so far for `value`.
    Accepting {
        ballot: Ballot,
        value: V,
        accepted: BTreeSet<NodeId>,
    },
}

impl<V> Attempt<V> {
    fn ballot(&self) -> Ballot {
        match self {
            Attempt::Preparing { ballot, .. } | Attempt::Accepting { ballot, .. } => *ballot,
        }
    }
}

/// A Paxos node (single decree): proposer, acceptor and learner.
///
/// Built by [`Paxos::new`] over a [`Stable`] handle that the caller keeps,
/// so a restarted node finds its promise, its accepted proposal, its last
/// round and its decision. See the [module essay](super) for the
/// algorithm.
///
/// ```
/// use std::time::Duration;
/// use dsys_core::sim::Simulation;
/// use dsys_consensus::paxos::{Paxos, PaxosConfig, PaxosRequest};
/// use dsys_consensus::stable::Stable;
/// use dsys_core::NodeId;
///
/// let mut sim = Simulation::new(3, 1, |_| Paxos::<String>::new(PaxosConfig::default(), Stable::default()).unwrap());
/// sim.request(NodeId(0), PaxosRequest::Propose("tea".to_string())).unwrap();
/// sim.run_until(Duration::from_secs(1)).unwrap();
/// assert!(sim.nodes().all(|(_, n)| n.decided() == Some(&"tea".to_string())));
/// ```
#[derive(Clone, Debug)]
pub struct Paxos<V> {
    config: PaxosConfig,
    stable: Stable<Durable<V>>,
    /// The node's copy of what is in stable storage.
    durable: Durable<V>,
    /// The value this node's application proposed, if any (not durable:
    /// an application that restarts proposes again, or not).
    proposal: Option<V>,
    attempt: Option<Attempt<V>>,
    /// The highest round seen in any ballot, so a retry outbids it.
    seen_round: u64,
    /// Attempts that timed out (no majority, no rejection): each doubles
    /// the next attempt's timeout.
    timed_out: u32,
}

// Equality and hashing leave out the storage handle: it mirrors `durable`,
// which is compared (what a model checker needs).
impl<V: PartialEq> PartialEq for Paxos<V> {
    fn eq(&self, other: &Self) -> bool {
        let Paxos {
            config,
            stable: _,
            durable,
            proposal,
            attempt,
            seen_round,
            timed_out,
        } = self;
        *config == other.config
            && *durable == other.durable
            && *proposal == other.proposal
            && *attempt == other.attempt
            && *seen_round == other.seen_round
            && *timed_out == other.timed_out
    }
}

impl<V: Eq> Eq for Paxos<V> {}

impl<V: Hash> Hash for Paxos<V> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let Paxos {
            config,
            stable: _,
            durable,
            proposal,
            attempt,
            seen_round,
            timed_out,
        } = self;
        (config, durable, proposal, attempt, seen_round, timed_out).hash(state);
    }
}

impl<V: Value> Paxos<V> {
    /// A node over `stable`, reading back what an earlier incarnation
    /// stored there.
    pub fn new(config: PaxosConfig, stable: Stable<Durable<V>>) -> Result<Self> {
        config.validate()?;
        let mut durable = stable.load();
        if config.defect == Some(Defect::ForgetsPromiseAtRestart) {
            durable.promised = durable.accepted.as_ref().map(|(b, _)| *b);
        }
        Ok(Paxos {
            config,
            stable,
            seen_round: durable.round,
            durable,
            proposal: None,
            attempt: None,
            timed_out: 0,
        })
    }

    /// The same node, proposing `value` as soon as it starts (and again
    /// after every restart, since the factory builds it this way).
    pub fn proposing(mut self, value: V) -> Self {
        self.proposal = Some(value);
        self
    }

    /// The value this node's application proposed, if any.
    pub fn proposal(&self) -> Option<&V> {
        self.proposal.as_ref()
    }

    /// Acceptor: the highest ballot promised.
    pub fn promised(&self) -> Option<Ballot> {
        self.durable.promised
    }

    /// Acceptor: the highest-numbered proposal accepted.
    pub fn accepted(&self) -> Option<&(Ballot, V)> {
        self.durable.accepted.as_ref()
    }

    /// Learner: the chosen value, once this node knows it.
    pub fn decided(&self) -> Option<&V> {
        self.durable.decided.as_ref()
    }

    /// Proposer: the ballot in progress, if any.
    pub fn ballot(&self) -> Option<Ballot> {
        self.attempt.as_ref().map(Attempt::ballot)
    }

    /// Proposer: the ballot and value of phase 2, while this node asks
    /// the acceptors to accept them.
    pub fn accepting(&self) -> Option<(Ballot, &V)> {
        match &self.attempt {
            Some(Attempt::Accepting { ballot, value, .. }) => Some((*ballot, value)),
            _ => None,
        }
    }

    /// What this node has written to stable storage: it writes its copy
    /// after every change, before any message that depends on it, so this
    /// is what a restart reads back.
    pub fn durable(&self) -> &Durable<V> {
        &self.durable
    }

    /// The configuration.
    pub fn config(&self) -> &PaxosConfig {
        &self.config
    }

    /// Writes the node's copy of its durable state to stable storage. Called
    /// after every change and before the message that reports it.
    fn persist(&mut self) {
        let durable = self.durable.clone();
        self.stable.update(|stored| *stored = durable);
    }

    fn majority(ctx: &Context<'_, Self>) -> usize {
        ctx.cluster_size() / 2 + 1
    }

    /// Sends `msg` to every node, this one included (an acceptor like the
    /// others, through the network), in id order.
    fn send_to_all(ctx: &mut Context<'_, Self>, msg: Msg<V>) {
        let me = ctx.id();
        let mut all: Vec<NodeId> = ctx.peers().to_vec();
        all.push(me);
        all.sort();
        for to in all {
            ctx.send(to, msg.clone());
        }
    }

    // ----- proposer --------------------------------------------------------

    /// The current attempt timeout: doubled for each attempt that timed
    /// out, at most `attempt_timeout_max`.
    fn attempt_timeout(&self) -> Duration {
        let grown = self
            .config
            .attempt_timeout
            .saturating_mul(1 << self.timed_out.min(20));
        grown.min(self.config.attempt_timeout_max)
    }

    /// Phase 1a: a ballot above every round seen, made durable first.
    fn start_ballot(&mut self, ctx: &mut Context<'_, Self>) {
        let highest_promised = self.durable.promised.map_or(0, |b| b.round);
        let round = self
            .seen_round
            .max(highest_promised)
            .max(self.durable.round)
            + 1;
        self.durable.round = round;
        self.seen_round = round;
        self.persist();
        let ballot = Ballot {
            round,
            node: ctx.id(),
        };
        self.attempt = Some(Attempt::Preparing {
            ballot,
            promises: BTreeMap::new(),
        });
        ctx.emit(PaxosEvent::Preparing { ballot });
        Self::send_to_all(ctx, Msg::Prepare { ballot });
        ctx.set_timer(self.attempt_timeout(), Timer::Retry);
    }

    fn on_promise(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        ballot: Ballot,
        accepted: Option<(Ballot, V)>,
    ) {
        let Some(Attempt::Preparing {
            ballot: current,
            promises,
        }) = &mut self.attempt
        else {
            return;
        };
        if *current != ballot {
            return; // an answer to an abandoned ballot
        }
        promises.insert(from, accepted);
        if promises.len() < Self::majority(ctx) {
            return;
        }
        // Phase 2a: the value of the highest-numbered proposal any promise
        // reports, else our own (§2.2, P2c).
        let highest = promises.values().flatten().max_by_key(|(b, _)| *b).cloned();
        let (value, adopted) = match (highest, self.config.defect) {
            (Some((_, value)), None | Some(Defect::ForgetsPromiseAtRestart)) => (value, true),
            (_, _) => match &self.proposal {
                Some(own) => (own.clone(), false),
                None => return, // nothing to propose (cannot happen: we only prepare with a proposal)
            },
        };
        self.attempt = Some(Attempt::Accepting {
            ballot,
            value: value.clone(),
            accepted: BTreeSet::new(),
        });
        ctx.emit(PaxosEvent::Proposing {
            ballot,
            value: value.clone(),
            adopted,
        });
        Self::send_to_all(ctx, Msg::Accept { ballot, value });
        ctx.set_timer(self.attempt_timeout(), Timer::Retry);
    }

    fn on_accepted(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, ballot: Ballot) {
        let Some(Attempt::Accepting {
            ballot: current,
            value,
            accepted,
        }) = &mut self.attempt
        else {
            return;
        };
        if *current != ballot {
            return;
        }
        accepted.insert(from);
        if accepted.len() < Self::majority(ctx) {
            return;
        }
        // A majority accepted: the value is chosen (§2.4).
        let value = value.clone();
        self.decide(ctx, value.clone(), None);
        ctx.broadcast(Msg::Chosen { value });
    }

    fn on_reject(&mut self, ctx: &mut Context<'_, Self>, ballot: Ballot, promised: Ballot) {
        self.seen_round = self.seen_round.max(promised.round);
        if self.ballot() != Some(ballot) {
            return;
        }
        self.attempt = None;
        ctx.emit(PaxosEvent::Preempted {
            ballot,
            by: promised,
        });
        let wait = match self.config.backoff {
            Backoff::Fixed(wait) => wait,
            Backoff::Randomised { min, max } => {
                let ms = ctx
                    .rng()
                    .random_range(min.as_micros() as u64..=max.as_micros() as u64);
                Duration::from_micros(ms)
            }
        };
        ctx.set_timer(wait, Timer::Retry);
    }

    // ----- acceptor --------------------------------------------------------

    /// Whether this acceptor may answer `ballot`: it promised nothing
    /// higher. Equal passes, so a duplicated message gets the same answer.
    fn admits(&self, ballot: Ballot) -> bool {
        self.durable.promised.is_none_or(|p| ballot >= p)
    }

    fn reject(&self, ctx: &mut Context<'_, Self>, to: NodeId, ballot: Ballot) {
        let promised = self
            .durable
            .promised
            .expect("only a promise can make an acceptor reject");
        ctx.send(to, Msg::Reject { ballot, promised });
    }

    fn on_prepare(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, ballot: Ballot) {
        self.seen_round = self.seen_round.max(ballot.round);
        if !self.admits(ballot) {
            return self.reject(ctx, from, ballot);
        }
        self.durable.promised = Some(ballot);
        self.persist(); // the promise is kept before it is given
        ctx.emit(PaxosEvent::Promised { ballot });
        let accepted = self.durable.accepted.clone();
        ctx.send(from, Msg::Promise { ballot, accepted });
    }

    fn on_accept(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, ballot: Ballot, value: V) {
        self.seen_round = self.seen_round.max(ballot.round);
        if !self.admits(ballot) {
            return self.reject(ctx, from, ballot);
        }
        self.durable.promised = Some(ballot);
        self.durable.accepted = Some((ballot, value.clone()));
        self.persist();
        ctx.emit(PaxosEvent::Accepted { ballot, value });
        ctx.send(from, Msg::Accepted { ballot });
    }

    // ----- learner ---------------------------------------------------------

    fn decide(&mut self, ctx: &mut Context<'_, Self>, value: V, learned_from: Option<NodeId>) {
        if self.durable.decided.is_some() {
            return; // decided once, for good (Integrity)
        }
        self.durable.decided = Some(value.clone());
        self.persist();
        self.attempt = None;
        ctx.cancel_timer(&Timer::Retry);
        ctx.cancel_timer(&Timer::Inquire);
        ctx.emit(PaxosEvent::Decided {
            value,
            learned_from,
        });
    }
}

impl<V: Value> Node for Paxos<V> {
    type Msg = Msg<V>;
    type Timer = Timer;
    type Request = PaxosRequest<V>;
    type Event = PaxosEvent<V>;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if self.durable.decided.is_some() {
            return;
        }
        ctx.set_timer(self.config.inquire_interval, Timer::Inquire);
        if self.proposal.is_some() {
            self.start_ballot(ctx);
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg<V>) {
        match msg {
            Msg::Prepare { ballot } => self.on_prepare(ctx, from, ballot),
            Msg::Promise { ballot, accepted } => self.on_promise(ctx, from, ballot, accepted),
            Msg::Accept { ballot, value } => self.on_accept(ctx, from, ballot, value),
            Msg::Accepted { ballot } => self.on_accepted(ctx, from, ballot),
            Msg::Reject { ballot, promised } => self.on_reject(ctx, ballot, promised),
            Msg::Chosen { value } => self.decide(ctx, value, Some(from)),
            Msg::Inquire => {
                if let Some(value) = self.durable.decided.clone() {
                    ctx.send(from, Msg::Chosen { value });
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Timer) {
        if self.durable.decided.is_some() {
            return;
        }
        match timer {
            Timer::Retry if self.proposal.is_some() => {
                if self.attempt.is_some() {
                    // No majority and no rejection within the timeout: the
                    // network may be slower than we thought.
                    self.timed_out = self.timed_out.saturating_add(1);
                }
                self.start_ballot(ctx)
            }
            Timer::Retry => {}
            Timer::Inquire => {
                ctx.broadcast(Msg::Inquire);
                ctx.set_timer(self.config.inquire_interval, Timer::Inquire);
            }
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: PaxosRequest<V>) {
        let PaxosRequest::Propose(value) = request;
        if self.durable.decided.is_some() {
            return;
        }
        let idle = self.proposal.is_none();
        self.proposal = Some(value);
        if idle {
            self.start_ballot(ctx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsys_core::testing::Harness;
    use dsys_core::Effect;

    type Fx = Vec<dsys_core::EffectOf<Paxos<u64>>>;

    /// A named change to a node, for tests that try one at a time.
    use crate::test_support::{assert_every_field_counts, assert_handle_ignored, Change};

    fn node(id: u32, n: usize) -> Harness<Paxos<u64>> {
        let paxos = Paxos::new(PaxosConfig::default(), Stable::default()).unwrap();
        Harness::new(paxos, NodeId(id), n)
    }

    fn to_all(n: u32, msg: Msg<u64>) -> Fx {
        (0..n)
            .map(|to| Effect::Send {
                to: NodeId(to),
                msg: msg.clone(),
            })
            .collect()
    }

    const TIMEOUT: Duration = Duration::from_millis(60);

    // A configuration that could never decide is refused; the limits
    // themselves (a timeout cap equal to the timeout, a back-off range of
    // one value) are fine.
    #[test]
    fn a_configuration_that_cannot_work_is_refused() {
        let ms = Duration::from_millis;
        let base = PaxosConfig::default();
        assert!(base.validate().is_ok());
        let refused = [
            (
                "zero attempt_timeout",
                PaxosConfig {
                    attempt_timeout: Duration::ZERO,
                    ..base.clone()
                },
            ),
            (
                "zero inquire_interval",
                PaxosConfig {
                    inquire_interval: Duration::ZERO,
                    ..base.clone()
                },
            ),
            (
                "attempt_timeout_max below attempt_timeout",
                PaxosConfig {
                    attempt_timeout_max: base.attempt_timeout - ms(1),
                    ..base.clone()
                },
            ),
            (
                "empty back-off range",
                PaxosConfig {
                    backoff: Backoff::Randomised {
                        min: ms(6),
                        max: ms(5),
                    },
                    ..base.clone()
                },
            ),
        ];
        for (why, config) in refused {
            assert!(config.validate().is_err(), "{why}");
            assert!(
                Paxos::<u64>::new(config, Stable::default()).is_err(),
                "{why}"
            );
        }
        let limits = [
            PaxosConfig {
                attempt_timeout_max: base.attempt_timeout,
                ..base.clone()
            },
            PaxosConfig {
                backoff: Backoff::Randomised {
                    min: ms(5),
                    max: ms(5),
                },
                ..base.clone()
            },
        ];
        for config in limits {
            assert!(config.validate().is_ok(), "{config:?}");
            let node = Paxos::<u64>::new(config.clone(), Stable::default()).unwrap();
            assert_eq!(node.config(), &config);
        }
    }

    // A node's state is compared and hashed to deduplicate states when
    // model checking: every field counts, except the storage handle, which
    // mirrors `durable`.
    #[test]
    fn equality_and_hashing_see_every_field_but_the_storage_handle() {
        let mut h = node(1, 3);
        h.request(PaxosRequest::Propose(7)); // preparing ballot (1, n1)
        let base = h.node().clone();
        let changes: [Change<Paxos<u64>>; 6] = [
            ("config", |p| {
                p.config.attempt_timeout += Duration::from_millis(1)
            }),
            ("durable", |p| p.durable.decided = Some(7)),
            ("proposal", |p| p.proposal = Some(8)),
            ("attempt", |p| p.attempt = None),
            ("seen_round", |p| p.seen_round += 1),
            ("timed_out", |p| p.timed_out += 1),
        ];
        assert_every_field_counts(&base, &changes);
        // The storage mirrors `durable`, which equality and hashing read.
        assert_handle_ignored(&base, |other| {
            other.stable = Stable::new(Durable {
                round: 9,
                ..Durable::default()
            })
        });
    }

    // Paxos Made Simple §2.2, phase 1a: a ballot above anything seen, to
    // every acceptor (this node included), and a timeout.
    #[test]
    fn a_proposal_starts_phase_one_with_a_fresh_ballot() {
        let mut h = node(1, 3);
        let b = Ballot::new(1, 1);
        let mut expected = vec![Effect::Emit(PaxosEvent::Preparing { ballot: b })];
        expected.extend(to_all(3, Msg::Prepare { ballot: b }));
        expected.push(Effect::SetTimer {
            after: TIMEOUT,
            timer: Timer::Retry,
        });
        assert_eq!(h.request(PaxosRequest::Propose(7)), expected);
        assert_eq!(h.node().durable.round, 1, "the round is stored before use");
    }

    // §2.2, phase 1b: promise, report what was accepted; refuse lower ballots.
    #[test]
    fn an_acceptor_promises_higher_ballots_and_rejects_lower_ones() {
        let mut h = node(2, 3);
        let high = Ballot::new(3, 0);
        assert_eq!(
            h.message(NodeId(0), Msg::Prepare { ballot: high }),
            vec![
                Effect::Emit(PaxosEvent::Promised { ballot: high }),
                Effect::Send {
                    to: NodeId(0),
                    msg: Msg::Promise {
                        ballot: high,
                        accepted: None
                    }
                },
            ]
        );
        let low = Ballot::new(2, 1);
        assert_eq!(
            h.message(NodeId(1), Msg::Prepare { ballot: low }),
            vec![Effect::Send {
                to: NodeId(1),
                msg: Msg::Reject {
                    ballot: low,
                    promised: high
                }
            }]
        );
        assert_eq!(
            h.message(
                NodeId(1),
                Msg::Accept {
                    ballot: low,
                    value: 9
                }
            ),
            vec![Effect::Send {
                to: NodeId(1),
                msg: Msg::Reject {
                    ballot: low,
                    promised: high
                }
            }]
        );
        // §2.2, phase 2b: accept at the promised ballot, and say so.
        assert_eq!(
            h.message(
                NodeId(0),
                Msg::Accept {
                    ballot: high,
                    value: 5
                }
            ),
            vec![
                Effect::Emit(PaxosEvent::Accepted {
                    ballot: high,
                    value: 5
                }),
                Effect::Send {
                    to: NodeId(0),
                    msg: Msg::Accepted { ballot: high }
                },
            ]
        );
        // A later Prepare learns of the accepted proposal.
        let higher = Ballot::new(4, 1);
        assert_eq!(
            h.message(NodeId(1), Msg::Prepare { ballot: higher })[1],
            Effect::Send {
                to: NodeId(1),
                msg: Msg::Promise {
                    ballot: higher,
                    accepted: Some((high, 5))
                }
            }
        );
    }

    // §2.2, P2c: the proposer adopts the value of the highest-numbered
    // proposal among a majority of promises, not its own.
    #[test]
    fn the_proposer_adopts_the_highest_accepted_value() {
        let mut h = node(0, 5);
        h.request(PaxosRequest::Propose(7));
        let b = Ballot::new(1, 0);
        let promise = |accepted| Msg::Promise {
            ballot: b,
            accepted,
        };
        assert_eq!(
            h.message(NodeId(1), promise(Some((Ballot::new(0, 3), 40)))),
            vec![]
        );
        assert_eq!(h.message(NodeId(2), promise(None)), vec![]);
        let mut expected = vec![Effect::Emit(PaxosEvent::Proposing {
            ballot: b,
            value: 41,
            adopted: true,
        })];
        expected.extend(to_all(
            5,
            Msg::Accept {
                ballot: b,
                value: 41,
            },
        ));
        expected.push(Effect::SetTimer {
            after: TIMEOUT,
            timer: Timer::Retry,
        });
        assert_eq!(
            h.message(NodeId(3), promise(Some((Ballot::new(0, 4), 41)))),
            expected,
            "(0, n4) outranks (0, n3): 41, not 40 and not our 7"
        );
    }

    #[test]
    fn the_broken_proposer_ignores_accepted_values() {
        let config = PaxosConfig {
            defect: Some(Defect::IgnoresAcceptedValues),
            ..PaxosConfig::default()
        };
        let mut h = Harness::new(Paxos::new(config, Stable::default()).unwrap(), NodeId(0), 3);
        h.request(PaxosRequest::Propose(7));
        let b = Ballot::new(1, 0);
        let accepted = Some((Ballot::new(0, 2), 40));
        h.message(
            NodeId(1),
            Msg::Promise {
                ballot: b,
                accepted,
            },
        );
        let effects = h.message(
            NodeId(2),
            Msg::Promise {
                ballot: b,
                accepted: None,
            },
        );
        assert_eq!(
            effects[0],
            Effect::Emit(PaxosEvent::Proposing {
                ballot: b,
                value: 7,
                adopted: false
            })
        );
    }

    // §2.4: a majority of Accepted chooses the value; learners are told.
    #[test]
    fn a_majority_of_accepted_decides_and_tells_the_learners() {
        let mut h = node(0, 3);
        h.request(PaxosRequest::Propose(7));
        let b = Ballot::new(1, 0);
        h.message(
            NodeId(0),
            Msg::Promise {
                ballot: b,
                accepted: None,
            },
        );
        h.message(
            NodeId(1),
            Msg::Promise {
                ballot: b,
                accepted: None,
            },
        );
        assert_eq!(h.message(NodeId(2), Msg::Accepted { ballot: b }), vec![]);
        assert_eq!(
            h.message(NodeId(1), Msg::Accepted { ballot: b }),
            vec![
                Effect::CancelTimer {
                    timer: Timer::Retry
                },
                Effect::CancelTimer {
                    timer: Timer::Inquire
                },
                Effect::Emit(PaxosEvent::Decided {
                    value: 7,
                    learned_from: None
                }),
                Effect::Send {
                    to: NodeId(1),
                    msg: Msg::Chosen { value: 7 }
                },
                Effect::Send {
                    to: NodeId(2),
                    msg: Msg::Chosen { value: 7 }
                },
            ]
        );
        // Decided once: a late Chosen and a duplicate Accepted change nothing.
        assert_eq!(h.message(NodeId(2), Msg::Chosen { value: 7 }), vec![]);
        assert_eq!(h.message(NodeId(2), Msg::Accepted { ballot: b }), vec![]);
        // An undecided learner's Inquire is answered.
        assert_eq!(
            h.message(NodeId(2), Msg::Inquire),
            vec![Effect::Send {
                to: NodeId(2),
                msg: Msg::Chosen { value: 7 }
            }]
        );
    }

    #[test]
    fn a_rejected_ballot_backs_off_then_outbids_the_rejection() {
        let config = PaxosConfig {
            backoff: Backoff::Fixed(Duration::from_millis(25)),
            ..PaxosConfig::default()
        };
        let mut h = Harness::new(Paxos::new(config, Stable::default()).unwrap(), NodeId(0), 3);
        h.request(PaxosRequest::Propose(7));
        let mine = Ballot::new(1, 0);
        let theirs = Ballot::new(4, 2);
        assert_eq!(
            h.message(
                NodeId(1),
                Msg::Reject {
                    ballot: mine,
                    promised: theirs
                }
            ),
            vec![
                Effect::Emit(PaxosEvent::Preempted {
                    ballot: mine,
                    by: theirs
                }),
                Effect::SetTimer {
                    after: Duration::from_millis(25),
                    timer: Timer::Retry
                },
            ]
        );
        let retry = h.timer(Timer::Retry);
        assert_eq!(
            retry[0],
            Effect::Emit(PaxosEvent::Preparing {
                ballot: Ballot::new(5, 0)
            })
        );
    }

    /// The Retry timer each effect list sets, as its wait.
    fn retry_wait(effects: &[Effect<Msg<u64>, Timer, PaxosEvent<u64>>]) -> Option<Duration> {
        effects.iter().find_map(|e| match e {
            Effect::SetTimer {
                after,
                timer: Timer::Retry,
            } => Some(*after),
            _ => None,
        })
    }

    #[test]
    fn attempts_that_time_out_double_the_timeout_up_to_its_maximum() {
        let config = PaxosConfig {
            attempt_timeout: Duration::from_millis(60),
            attempt_timeout_max: Duration::from_millis(400),
            backoff: Backoff::Fixed(Duration::from_millis(25)),
            ..PaxosConfig::default()
        };
        let mut h = Harness::new(Paxos::new(config, Stable::default()).unwrap(), NodeId(0), 3);
        let first = h.request(PaxosRequest::Propose(7));
        assert_eq!(retry_wait(&first), Some(Duration::from_millis(60)));
        let waits: Vec<u64> = (0..5)
            .map(|_| retry_wait(&h.timer(Timer::Retry)).unwrap().as_millis() as u64)
            .collect();
        assert_eq!(waits, vec![120, 240, 400, 400, 400]);
        // A rejection is an answer, not a timeout: the back-off's retry
        // keeps the grown timeout and does not grow it.
        let mine = h.node().ballot().unwrap();
        let rejected = h.message(
            NodeId(1),
            Msg::Reject {
                ballot: mine,
                promised: Ballot::new(mine.round + 1, 2),
            },
        );
        assert_eq!(retry_wait(&rejected), Some(Duration::from_millis(25)));
        assert_eq!(
            retry_wait(&h.timer(Timer::Retry)),
            Some(Duration::from_millis(400))
        );
        let too_small = PaxosConfig {
            attempt_timeout_max: Duration::from_millis(10),
            ..PaxosConfig::default()
        };
        let why = Paxos::<u64>::new(too_small, Stable::default()).unwrap_err();
        assert!(why.to_string().contains("attempt_timeout_max"), "{why}");
    }

    #[test]
    fn a_restarted_acceptor_keeps_its_promise_unless_broken() {
        for (defect, kept) in [(None, true), (Some(Defect::ForgetsPromiseAtRestart), false)] {
            let config = PaxosConfig {
                defect,
                ..PaxosConfig::default()
            };
            let disk = Stable::default();
            let mut h = Harness::new(
                Paxos::<u64>::new(config.clone(), disk.clone()).unwrap(),
                NodeId(2),
                3,
            );
            h.message(
                NodeId(1),
                Msg::Prepare {
                    ballot: Ballot::new(5, 1),
                },
            );
            drop(h); // the crash
            let mut h = Harness::new(Paxos::<u64>::new(config, disk).unwrap(), NodeId(2), 3);
            let low = Ballot::new(2, 0);
            let answer = h.message(
                NodeId(0),
                Msg::Accept {
                    ballot: low,
                    value: 1,
                },
            );
            let rejected = matches!(
                answer[..],
                [Effect::Send {
                    msg: Msg::Reject { .. },
                    ..
                }]
            );
            assert_eq!(rejected, kept, "defect {defect:?}: {answer:?}");
        }
    }
}
