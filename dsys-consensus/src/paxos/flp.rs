//! FLP as a run: an adversary that only chooses the order of events keeps
//! two Paxos proposers from ever deciding, while every message arrives.
//!
//! Fischer, Lynch and Paterson (1985) proved that no deterministic protocol
//! solves consensus in an asynchronous system if one process may crash: an
//! adversary that controls the order of events can always keep the system
//! *bivalent* — with both outcomes still possible — one step longer.
//! [`Adversary`] is such an adversary for Paxos, as a simulator
//! [`Scheduler`]. It holds the current leader's Accept messages and lets a
//! rival's Prepare with a higher ballot overtake them; the Accepts then
//! fail, the leader retries with a higher ballot whose Prepare overtakes the
//! rival's Accepts, and so on. Each overtaking is a *bivalent choice*: had
//! it delivered the Accepts first, the leader's value would have been
//! chosen; it chose the order that keeps both values possible, and records
//! it ([`Choice`]).
//!
//! It stays within the model: it loses nothing, holds no message longer
//! than a bound it is given (so every message is eventually delivered —
//! and promptly), and fires timers no earlier than due (clocks are
//! honest). Against a **fixed** back-off shorter than that bound it wins for
//! ever: the rival always retries before the held Accepts must go. Against
//! a **randomised** back-off that may exceed the bound, it soon meets a
//! retry it cannot wait for, must deliver the Accepts, and a value is
//! chosen. That is what randomisation buys: not escaping FLP (an adversary
//! that may hold messages for ever still wins), but termination once
//! message delays are bounded and the coin is not on the adversary's side —
//! the same partial synchrony Raft's randomised election timeouts rely on.
//!
//! ```
//! use std::time::Duration;
//! use dsys_core::sim::Simulation;
//! use dsys_core::NodeId;
//! use dsys_consensus::paxos::flp::Adversary;
//! use dsys_consensus::paxos::simulation::cluster;
//! use dsys_consensus::paxos::{Backoff, PaxosConfig};
//!
//! let fixed = PaxosConfig { backoff: Backoff::Fixed(Duration::from_millis(25)), ..PaxosConfig::default() };
//! let mut sim = Simulation::new(3, 1, cluster(fixed, vec![NodeId(0), NodeId(1)]));
//! let adversary = Adversary::new(Duration::from_millis(40));
//! sim.set_scheduler(adversary.clone());
//! for _ in 0..2_000 {
//!     sim.step().unwrap();
//! }
//! assert!(sim.nodes().all(|(_, n)| n.decided().is_none()), "undecided");
//! assert_eq!(sim.metrics().dropped, 0, "nothing lost");
//! assert!(adversary.longest_hold() <= Duration::from_millis(40));
//! assert!(adversary.choices().len() > 20, "a bivalent choice every round");
//! ```
//!
//! [`Scheduler`]: dsys_core::sim::Scheduler

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use dsys_core::sim::{Pending, Scheduler};
use dsys_core::NodeId;

use super::message::{Ballot, Msg, Timer};

/// One bivalent choice: a Prepare with a higher ballot delivered while the
/// current leader's Accepts were held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice<V> {
    /// Virtual time of the choice.
    pub at: Duration,
    /// The leader whose Accepts were held, their ballot and value.
    pub held: (NodeId, Ballot, V),
    /// How many of its Accepts were pending.
    pub held_count: usize,
    /// The rival whose Prepare went first, and its ballot.
    pub preferred: (NodeId, Ballot),
}

impl<V: fmt::Debug> fmt::Display for Choice<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (leader, ballot, value) = &self.held;
        let (rival, higher) = &self.preferred;
        write!(
            f,
            "{:>7.1} ms: held {leader}'s {} Accept({}.{}, {value:?}); delivered {rival}'s Prepare({}.{}) first — both values still possible",
            self.at.as_secs_f64() * 1e3,
            self.held_count,
            ballot.round,
            ballot.node,
            higher.round,
            higher.node,
        )
    }
}

/// The adversarial scheduler (see the [module](self) documentation).
/// Cloning shares its record, so keep a clone to read it after handing one
/// to [`Simulation::set_scheduler`](dsys_core::sim::Simulation::set_scheduler).
#[derive(Clone, Debug)]
pub struct Adversary<V> {
    shared: Rc<RefCell<State<V>>>,
}

#[derive(Debug)]
struct State<V> {
    hold_max: Duration,
    /// When each pending message was first seen.
    first_seen: HashMap<u64, Duration>,
    /// The highest ballot whose Prepare was delivered.
    top: Option<Ballot>,
    /// The highest ballot whose Prepare each node received.
    prepared: HashMap<NodeId, Ballot>,
    choices: Vec<Choice<V>>,
    longest_hold: Duration,
}

impl<V: Clone> Adversary<V> {
    /// An adversary that holds no message longer than `hold_max`.
    pub fn new(hold_max: Duration) -> Self {
        Adversary {
            shared: Rc::new(RefCell::new(State {
                hold_max,
                first_seen: HashMap::new(),
                top: None,
                prepared: HashMap::new(),
                choices: Vec::new(),
                longest_hold: Duration::ZERO,
            })),
        }
    }

    /// The bivalent choices made so far.
    pub fn choices(&self) -> Vec<Choice<V>> {
        self.shared.borrow().choices.clone()
    }

    /// The longest any delivered message was held (from when the adversary
    /// first saw it to its delivery): at most the bound given.
    pub fn longest_hold(&self) -> Duration {
        self.shared.borrow().longest_hold
    }
}

impl<V: Clone> Scheduler<Msg<V>, Timer> for Adversary<V> {
    fn choose(&mut self, now: Duration, pending: &[Pending<'_, Msg<V>, Timer>]) -> usize {
        let mut state = self.shared.borrow_mut();
        state.choose(now, pending)
    }
}

impl<V: Clone> State<V> {
    fn choose(&mut self, now: Duration, pending: &[Pending<'_, Msg<V>, Timer>]) -> usize {
        // Forget delivered messages; note new ones.
        let ids: Vec<u64> = pending
            .iter()
            .filter_map(|p| match p {
                Pending::Message { id, .. } => Some(*id),
                _ => None,
            })
            .collect();
        self.first_seen.retain(|id, _| ids.contains(id));
        for &id in &ids {
            self.first_seen.entry(id).or_insert(now);
        }
        // A live Accept: one its acceptor would still take (it received
        // no Prepare above it).
        let live_accept = |p: &Pending<'_, Msg<V>, Timer>| match p {
            Pending::Message {
                to,
                msg: Msg::Accept { ballot, .. },
                ..
            } => self.prepared.get(to).is_none_or(|p| ballot >= p),
            _ => false,
        };
        let seen = |p: &Pending<'_, Msg<V>, Timer>| match p {
            Pending::Message { id, .. } => self.first_seen[id],
            _ => Duration::MAX,
        };
        let is_prepare = |p: &Pending<'_, Msg<V>, Timer>| {
            matches!(
                p,
                Pending::Message {
                    msg: Msg::Prepare { .. },
                    ..
                }
            )
        };
        // Every other message goes at once, Prepares first, then the
        // oldest: higher ballots spread, doomed Accepts fail, answers
        // come back.
        let other = (0..pending.len())
            .filter(|&i| matches!(pending[i], Pending::Message { .. }) && !live_accept(&pending[i]))
            .min_by_key(|&i| (!is_prepare(&pending[i]), seen(&pending[i])));
        let chosen = match other {
            Some(i) => i,
            None => {
                // Live Accepts wait for the next timer, unless one would
                // then have waited too long.
                let held = (0..pending.len())
                    .filter(|&i| live_accept(&pending[i]))
                    .min_by_key(|&i| seen(&pending[i]));
                let clock = (0..pending.len())
                    .filter(|&i| !matches!(pending[i], Pending::Message { .. }))
                    .min_by_key(|&i| pending[i].due());
                match (held, clock) {
                    (Some(h), Some(c))
                        if seen(&pending[h]) + self.hold_max < pending[c].due().max(now) =>
                    {
                        h
                    }
                    (_, Some(c)) => c,
                    (Some(h), None) => h,
                    (None, None) => 0,
                }
            }
        };
        self.record(now, pending, chosen);
        chosen
    }

    /// Notes the hold time of a delivered message, and a bivalent choice
    /// when a higher Prepare overtakes held Accepts.
    fn record(&mut self, now: Duration, pending: &[Pending<'_, Msg<V>, Timer>], chosen: usize) {
        let Pending::Message {
            id, from, to, msg, ..
        } = &pending[chosen]
        else {
            return;
        };
        let held_for = now.saturating_sub(self.first_seen[id]);
        self.longest_hold = self.longest_hold.max(held_for);
        let Msg::Prepare { ballot } = msg else {
            return;
        };
        let prepared = self.prepared.entry(*to).or_insert(*ballot);
        *prepared = (*prepared).max(*ballot);
        if self.top.is_some_and(|top| *ballot <= top) {
            return;
        }
        let accepts: Vec<(NodeId, Ballot, &V)> = pending
            .iter()
            .filter_map(|p| match p {
                Pending::Message {
                    from,
                    msg: Msg::Accept { ballot: b, value },
                    ..
                } if Some(*b) == self.top => Some((*from, *b, value)),
                _ => None,
            })
            .collect();
        if let Some(&(leader, held, value)) = accepts.first() {
            self.choices.push(Choice {
                at: now,
                held: (leader, held, value.clone()),
                held_count: accepts.len(),
                preferred: (*from, *ballot),
            });
        }
        self.top = Some(*ballot);
    }
}
