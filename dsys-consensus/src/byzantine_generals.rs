//! # The Byzantine generals: oral messages, OM(m)
//!
//! **Problem.** A commander and n − 1 lieutenants must agree on a plan,
//! attack or retreat, though some of them — the commander too — may be
//! traitors who say anything to anyone. Only the commander proposes. The
//! loyal generals must satisfy:
//!
//! - **IC1** (agreement): all loyal lieutenants obey the same order;
//! - **IC2** (validity, the lecture's "integrity"): if the commander is
//!   loyal, every loyal lieutenant obeys the order it sent.
//!
//! **Assumptions** (the paper's "oral messages"): A1, every message sent
//! between loyal generals is delivered correctly; A2, the receiver knows who
//! sent it (the channel, not the message, names the sender); A3, the absence
//! of a message can be detected. A3 needs a synchronous system: a known
//! bound, here [`GeneralsConfig::round`], on how long a message takes. A
//! traitor may lie about anything it *sends*, but cannot forge another
//! general's message, and there are at most m traitors.
//!
//! **Algorithm.** OM(0): the commander sends its order to every lieutenant;
//! a lieutenant obeys what it received, or [`DEFAULT_ORDER`] (retreat) if
//! nothing came. OM(m), m > 0:
//!
//! 1. The commander sends its order to every lieutenant.
//! 2. Each lieutenant i, with vᵢ the value it received (retreat if none),
//!    acts as the commander of OM(m − 1) and sends vᵢ to the n − 2 other
//!    lieutenants.
//! 3. Each lieutenant i takes, for every other lieutenant j, the value vⱼ
//!    it decided in j's OM(m − 1), and obeys majority(vᵢ, vⱼ …): the value
//!    most of them hold, or retreat if there is none.
//!
//! As messages, the recursion unrolls into m + 1 rounds of relaying. Every
//! message carries its *path*, the chain of generals that relayed it
//! (`[c]` "the commander says", `[c, 2]` "2 says the commander says", …).
//! A lieutenant that receives a message with a path of length k ≤ m relays
//! it at once, with its own id appended, to every general not yet on the
//! path; so the messages of round k are those with paths of length k.
//! Each lieutenant stores what it received under the path and, at the end,
//! evaluates the recursion over these stored values: the value at a path
//! of length m + 1 is taken as it is (OM(0)), the value at a shorter path P
//! is the majority of what arrived at P and of the values of P extended by
//! each general not on P.
//!
//! **Rounds by the clock, decision by a deadline or by count.** A3 is what
//! makes the algorithm work: a lieutenant must know when a traitor's
//! message is not coming, and all loyal lieutenants must see the same
//! rounds. Each lieutenant reads its clock at start, when the commander
//! sends. A message of round k (a path of length k) counts only if it
//! arrives before k × round: a loyal relay always does, since it relays the
//! moment it accepts and every message takes less than `round`. A traitor's
//! late message is treated as no message; arriving in time at one
//! lieutenant and late at another is then just one more way of telling
//! them different things, which OM(m) is built to survive. (Without the
//! window, a traitor could make a loyal lieutenant relay so late that its
//! relay reaches some loyal lieutenants before they decide and others
//! after: two views of a loyal general, which OM(m) does not survive.)
//! Each lieutenant decides when its timer fires at (m + 1) × round,
//! counting every missing message as retreat, or as soon as every message
//! the rounds can hold has arrived (with only loyal generals, long before
//! the deadline); either way it decides on the same values. Relaying is
//! driven by arrivals, deciding by the clock.
//!
//! **Traitors are the simulator's.** Every lie of an oral-messages traitor
//! is a lie in what it sends: a different order to each lieutenant, a
//! different value than it received when it relays, or nothing at all. So a
//! traitor here is the loyal code made Byzantine by the simulator
//! ([`dsys_core::sim::Simulation::byzantine`]) with a strategy that rewrites
//! its outgoing messages ([`simulation::traitor`] from a table of lies,
//! [`simulation::random_traitor`], or `dsys sim byzantine-generals
//! --byzantine 0:equivocate`). The loyal algorithm is the only code, and a
//! test enumerates lies without touching it. Lies in the *path* are caught
//! by A2: a message whose path does not end with its sender, does not start
//! with the commander, repeats a general or is too long is ignored, which
//! makes it a missing message.
//!
//! **Properties** ([`properties`]):
//!
//! | property | statement | paper | checker |
//! |---|---|---|---|
//! | IC1 | all loyal lieutenants obey the same order | §1, Theorem 1 | [`properties::ic1`] |
//! | IC2 | if the commander is loyal, every loyal lieutenant obeys its order | §1, Lemma 1 | [`properties::ic2`] |
//! | Termination | every loyal lieutenant decides by (m + 1) × round | §3 (A3) | [`properties::termination`] |
//!
//! OM(m) satisfies IC1 and IC2 with more than 3m generals and at most m
//! traitors (Theorem 1). With 3m or fewer it fails for some traitors: with
//! three generals and one traitor, a lieutenant cannot tell a traitorous
//! commander from a traitorous fellow lieutenant (§2); the example
//! `byzantine_generals` finds such a run by search and prints it.
//!
//! **Cost.** m + 1 rounds; the commander sends n − 1 messages, and each
//! round multiplies by the number of generals not yet on the path:
//! (n − 1) + (n − 1)(n − 2) + … + (n − 1)(n − 2)⋯(n − m − 1) messages
//! ([`message_count`]), exponential in m. Each lieutenant stores one value
//! per path it can receive ([`expected_messages`]).
//!
//! **Source.** L. Lamport, R. Shostak and M. Pease, "The Byzantine Generals
//! Problem", *ACM TOPLAS* 4(3), 1982, §2 (impossibility with three
//! generals), §3 (OM(m), Lemma 1, Theorem 1). Coulouris, Dollimore,
//! Kindberg and Blair, *Distributed Systems*, 5th ed., §15.5.3.
//!
//! ```
//! use std::time::Duration;
//! use dsys_core::sim::{Simulation, Strategy};
//! use dsys_core::NodeId;
//! use dsys_consensus::byzantine_generals::{properties, General, GeneralsConfig, Msg, Order};
//!
//! // Four generals, OM(1); the commander is a traitor telling n1 and n3 to
//! // attack and n2 to retreat.
//! let config = GeneralsConfig::new(Order::Attack, 1);
//! let mut sim = Simulation::new(4, 7, move |_| General::new(config));
//! sim.byzantine(NodeId(0), Strategy::equivocate(|to, msg: &Msg| {
//!     let order = if to.0 == 2 { Order::Retreat } else { Order::Attack };
//!     msg.with_order(order)
//! })).unwrap();
//! sim.run_until(Duration::from_secs(1)).unwrap();
//! let decisions = properties::decisions(&sim);
//! assert_eq!(properties::ic1(&decisions, NodeId(0), &sim.byzantine_nodes()), Ok(()));
//! println!("{decisions:?}"); // every loyal lieutenant attacks: two of three heard "attack"
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use dsys_core::{Context, Message, Node, NodeId};
use serde::{Deserialize, Serialize};

pub mod model;
pub mod properties;
pub mod simulation;

/// A general's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Order {
    /// Attack.
    Attack,
    /// Retreat.
    Retreat,
}

impl Order {
    /// The other order.
    pub fn flipped(self) -> Order {
        match self {
            Order::Attack => Order::Retreat,
            Order::Retreat => Order::Attack,
        }
    }
}

/// What a lieutenant assumes when a message is missing, and obeys when
/// there is no majority: retreat (the paper's choice).
pub const DEFAULT_ORDER: Order = Order::Retreat;

/// The one message of the algorithm.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Msg {
    /// "The last general on `path` says that the one before says … that the
    /// commander (first on `path`) ordered `order`."
    Order {
        /// Who relayed it, commander first, sender last.
        path: Vec<NodeId>,
        /// The order.
        order: Order,
    },
}

impl Message for Msg {}

impl Msg {
    /// The same message saying `order` instead: a traitor's lie.
    pub fn with_order(&self, order: Order) -> Msg {
        let Msg::Order { path, .. } = self;
        Msg::Order {
            path: path.clone(),
            order,
        }
    }

    /// The relay path.
    pub fn path(&self) -> &[NodeId] {
        let Msg::Order { path, .. } = self;
        path
    }

    /// The order it carries.
    pub fn order(&self) -> Order {
        let Msg::Order { order, .. } = self;
        *order
    }
}

/// A general's one timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// The end of the last round: decide with what has arrived.
    Decide,
}

/// What a general tells its application.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Event {
    /// The order this general obeys (the commander obeys its own).
    Decided(Order),
}

/// A deliberate bug, so that the checkers can be seen to catch it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Defect {
    /// Lieutenants neither relay nor vote: each obeys what the commander
    /// told it, as in OM(0) (a traitorous commander breaks IC1).
    NoRelay,
    /// A lieutenant leaves the order it received itself out of the vote and
    /// counts only what the others relayed (a traitorous lieutenant then
    /// outvotes a loyal commander: IC2 breaks).
    IgnoresDirectOrder,
}

/// The configuration every general shares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GeneralsConfig {
    /// The commander.
    pub commander: NodeId,
    /// The commander's order (what a loyal commander sends).
    pub order: Order,
    /// m: the number of traitors OM(m) is run to tolerate, and the number
    /// of relaying rounds after the commander's.
    pub traitors_max: usize,
    /// The synchronous bound: every message between loyal generals takes
    /// less than this. A lieutenant decides at (m + 1) × `round`.
    pub round: Duration,
    /// A deliberate bug, for checker tests.
    pub defect: Option<Defect>,
}

impl GeneralsConfig {
    /// Commander `NodeId(0)` ordering `order`, OM(`traitors_max`), rounds
    /// of 20 ms (twice the simulator's default maximum latency).
    pub fn new(order: Order, traitors_max: usize) -> Self {
        GeneralsConfig {
            commander: NodeId(0),
            order,
            traitors_max,
            round: Duration::from_millis(20),
            defect: None,
        }
    }

    /// The same configuration with a deliberate bug.
    pub fn broken(self, defect: Defect) -> Self {
        GeneralsConfig {
            defect: Some(defect),
            ..self
        }
    }

    /// The rounds of relaying this configuration runs (m, or 0 for
    /// [`Defect::NoRelay`]).
    fn relay_rounds(&self) -> usize {
        if self.defect == Some(Defect::NoRelay) {
            0
        } else {
            self.traitors_max
        }
    }

    /// When a lieutenant decides at the latest, on its local clock.
    pub fn deadline(&self) -> Duration {
        self.round
            .saturating_mul(u32::try_from(self.relay_rounds() + 1).unwrap_or(u32::MAX))
    }
}

/// Messages OM(m) sends among `n` generals when everyone relays:
/// (n − 1) + (n − 1)(n − 2) + … + (n − 1)(n − 2)⋯(n − m − 1).
///
/// ```
/// use dsys_consensus::byzantine_generals::message_count;
/// assert_eq!(message_count(4, 1), 3 + 3 * 2);
/// assert_eq!(message_count(7, 2), 6 + 6 * 5 + 6 * 5 * 4);
/// ```
pub fn message_count(n: usize, m: usize) -> u64 {
    let mut total = 0u64;
    let mut round = 1u64;
    for k in 1..=m + 1 {
        let Some(fan_out) = n.checked_sub(k) else {
            break;
        };
        round = round.saturating_mul(fan_out as u64);
        total = total.saturating_add(round);
    }
    total
}

/// Messages one lieutenant receives in OM(m) among `n` generals when
/// everyone relays: one per path from the commander through distinct other
/// lieutenants, of length 1 to m + 1.
pub fn expected_messages(n: usize, m: usize) -> u64 {
    // A path of length k + 1 runs through k of the n − 2 other lieutenants,
    // in order: (n − 2)(n − 3)⋯(n − k − 1) paths, and none once k > n − 2.
    let others = n.saturating_sub(2) as u64;
    let mut total = 1u64; // the commander's own message, path [c]
    let mut paths = 1u64;
    for k in 0..(m as u64).min(others) {
        paths = paths.saturating_mul(others - k);
        total = total.saturating_add(paths);
    }
    total
}

/// The majority of `votes`, or [`DEFAULT_ORDER`] if no order has more than
/// half of them.
pub fn majority(votes: &[Order]) -> Order {
    let attack = votes.iter().filter(|&&v| v == Order::Attack).count();
    if 2 * attack > votes.len() {
        Order::Attack
    } else {
        // Retreat has a majority, or nothing has and the default applies:
        // the default is retreat, so both answers are the same.
        DEFAULT_ORDER
    }
}

const _: () = assert!(
    matches!(DEFAULT_ORDER, Order::Retreat),
    "majority() answers a retreat majority with DEFAULT_ORDER, so it must be retreat"
);

/// One general: the commander or a lieutenant, by its id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct General {
    config: GeneralsConfig,
    /// What arrived, by path (lieutenants only).
    received: BTreeMap<Vec<NodeId>, Order>,
    decision: Option<Order>,
    /// The local clock at start: round k ends k × round after it.
    started_at: Duration,
}

impl General {
    /// A general of a cluster configured by `config`.
    pub fn new(config: GeneralsConfig) -> Self {
        General {
            config,
            received: BTreeMap::new(),
            decision: None,
            started_at: Duration::ZERO,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &GeneralsConfig {
        &self.config
    }

    /// The order this general obeys, once decided.
    pub fn decision(&self) -> Option<Order> {
        self.decision
    }

    /// What arrived, by path.
    pub fn received(&self) -> &BTreeMap<Vec<NodeId>, Order> {
        &self.received
    }

    /// Whether a message is well formed for this receiver (A2: its path
    /// ends with its sender, starts with the commander, repeats nobody,
    /// does not name the receiver, and is not longer than m + 1).
    fn acceptable(&self, me: NodeId, from: NodeId, path: &[NodeId]) -> bool {
        let distinct = path.iter().enumerate().all(|(i, a)| !path[..i].contains(a));
        path.first() == Some(&self.config.commander)
            && path.last() == Some(&from)
            && path.len() <= self.config.relay_rounds() + 1
            && !path.contains(&me)
            && distinct
    }

    /// Whether a message of round `round` (its path's length) arriving at
    /// local time `now` is in time: before the end of its round.
    fn in_round(&self, now: Duration, round: usize) -> bool {
        let end = self
            .config
            .round
            .saturating_mul(u32::try_from(round).unwrap_or(u32::MAX));
        now.saturating_sub(self.started_at) < end
    }

    /// The value of the sub-instance whose commander is the last general
    /// on `path`, as `me` sees it: OM(0) at the deepest level, a majority
    /// above it.
    fn resolve(&self, me: NodeId, generals: &[NodeId], path: &mut Vec<NodeId>) -> Order {
        let direct = self.received.get(path).copied().unwrap_or(DEFAULT_ORDER);
        if path.len() > self.config.relay_rounds() {
            return direct;
        }
        let top = path.len() == 1;
        let mut votes = Vec::with_capacity(generals.len());
        if !(top && self.config.defect == Some(Defect::IgnoresDirectOrder)) {
            votes.push(direct);
        }
        for &j in generals {
            if j != me && !path.contains(&j) {
                path.push(j);
                votes.push(self.resolve(me, generals, path));
                path.pop();
            }
        }
        majority(&votes)
    }

    fn decide(&mut self, ctx: &mut Context<'_, Self>) {
        if self.decision.is_some() {
            return;
        }
        let me = ctx.id();
        let mut generals: Vec<NodeId> = ctx.peers().to_vec();
        generals.push(me);
        generals.sort();
        let order = self.resolve(me, &generals, &mut vec![self.config.commander]);
        self.decision = Some(order);
        ctx.cancel_timer(&Timer::Decide);
        ctx.emit(Event::Decided(order));
    }
}

impl Node for General {
    type Msg = Msg;
    type Timer = Timer;
    type Request = ();
    type Event = Event;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.started_at = ctx.now();
        if ctx.id() == self.config.commander {
            let order = self.config.order;
            self.decision = Some(order);
            ctx.emit(Event::Decided(order));
            ctx.broadcast(Msg::Order {
                path: vec![ctx.id()],
                order,
            });
        } else {
            ctx.set_timer(self.config.deadline(), Timer::Decide);
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        let Msg::Order { path, order } = msg;
        let me = ctx.id();
        if self.decision.is_some()
            || !self.acceptable(me, from, &path)
            || self.received.contains_key(&path)
            || !self.in_round(ctx.now(), path.len())
        {
            return; // late, malformed (a traitor's) or a duplicate
        }
        if path.len() <= self.config.relay_rounds() {
            let mut relayed = path.clone();
            relayed.push(me);
            let recipients: Vec<NodeId> = ctx
                .peers()
                .iter()
                .copied()
                .filter(|to| !relayed.contains(to))
                .collect();
            for to in recipients {
                let path = relayed.clone();
                ctx.send(to, Msg::Order { path, order });
            }
        }
        self.received.insert(path, order);
        let expected = expected_messages(ctx.cluster_size(), self.config.relay_rounds());
        if self.received.len() as u64 >= expected {
            self.decide(ctx);
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, Timer::Decide: Timer) {
        self.decide(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsys_core::testing::Harness;
    use dsys_core::Effect;

    fn n(i: u32) -> NodeId {
        NodeId(i)
    }

    fn order(path: &[u32], order: Order) -> Msg {
        Msg::Order {
            path: path.iter().copied().map(NodeId).collect(),
            order,
        }
    }

    // Handler tests assert exact effects (STYLE.md #9). Lamport et al. §3, OM(m) step 1.
    #[test]
    fn the_commander_orders_every_lieutenant_and_obeys_itself() {
        let mut h = Harness::new(General::new(GeneralsConfig::new(Order::Attack, 1)), n(0), 4);
        assert_eq!(
            h.start(),
            vec![
                Effect::Emit(Event::Decided(Order::Attack)),
                Effect::Send {
                    to: n(1),
                    msg: order(&[0], Order::Attack)
                },
                Effect::Send {
                    to: n(2),
                    msg: order(&[0], Order::Attack)
                },
                Effect::Send {
                    to: n(3),
                    msg: order(&[0], Order::Attack)
                },
            ]
        );
        assert_eq!(h.node().decision(), Some(Order::Attack));
    }

    // Lamport et al. §3, OM(m) step 2: relay to every general not on the path.
    #[test]
    fn a_lieutenant_relays_what_it_hears_until_round_m_plus_one() {
        let config = GeneralsConfig::new(Order::Attack, 2);
        let mut h = Harness::new(General::new(config), n(1), 5);
        assert_eq!(
            h.start(),
            vec![Effect::SetTimer {
                after: Duration::from_millis(60),
                timer: Timer::Decide
            }]
        );
        assert_eq!(
            h.message(n(0), order(&[0], Order::Attack)),
            vec![
                Effect::Send {
                    to: n(2),
                    msg: order(&[0, 1], Order::Attack)
                },
                Effect::Send {
                    to: n(3),
                    msg: order(&[0, 1], Order::Attack)
                },
                Effect::Send {
                    to: n(4),
                    msg: order(&[0, 1], Order::Attack)
                },
            ]
        );
        assert_eq!(
            h.message(n(2), order(&[0, 2], Order::Retreat)),
            vec![
                Effect::Send {
                    to: n(3),
                    msg: order(&[0, 2, 1], Order::Retreat)
                },
                Effect::Send {
                    to: n(4),
                    msg: order(&[0, 2, 1], Order::Retreat)
                },
            ]
        );
        // Round m + 1 = 3 is the last: stored, not relayed.
        assert_eq!(h.message(n(3), order(&[0, 2, 3], Order::Attack)), vec![]);
        assert_eq!(h.node().received().len(), 3);
    }

    // A2: the channel names the sender; a path that lies about it is ignored.
    #[test]
    fn malformed_late_and_duplicate_messages_are_ignored() {
        let mut h = Harness::new(General::new(GeneralsConfig::new(Order::Attack, 1)), n(1), 4);
        h.start();
        for (from, msg) in [
            (n(2), order(&[0], Order::Attack)),    // not from its last relay
            (n(2), order(&[3, 2], Order::Attack)), // does not start with the commander
            (n(2), order(&[0, 1, 2], Order::Attack)), // names the receiver
            (n(2), order(&[0, 2, 2], Order::Attack)), // too long, repeats
            (n(3), order(&[0, 2, 3], Order::Attack)), // too long for OM(1)
        ] {
            assert_eq!(h.message(from, msg), vec![]);
        }
        assert!(h.node().received().is_empty());
        h.message(n(2), order(&[0, 2], Order::Retreat));
        assert_eq!(
            h.message(n(2), order(&[0, 2], Order::Attack)),
            vec![],
            "duplicate"
        );
        assert_eq!(h.node().received()[&vec![n(0), n(2)]], Order::Retreat);
    }

    // Lamport et al. §3, OM(1) step 3: majority(v1, v2, v3).
    #[test]
    fn a_lieutenant_decides_by_majority_as_soon_as_every_message_is_in() {
        let mut h = Harness::new(General::new(GeneralsConfig::new(Order::Attack, 1)), n(1), 4);
        h.start();
        h.message(n(2), order(&[0, 2], Order::Retreat));
        h.message(n(0), order(&[0], Order::Attack));
        assert_eq!(
            h.message(n(3), order(&[0, 3], Order::Attack)),
            vec![
                Effect::CancelTimer {
                    timer: Timer::Decide
                },
                Effect::Emit(Event::Decided(Order::Attack))
            ]
        );
        assert_eq!(h.message(n(2), order(&[0, 3], Order::Retreat)), vec![]);
    }

    // A3: a missing message counts as retreat when the deadline passes.
    #[test]
    fn at_the_deadline_missing_messages_count_as_retreat() {
        let mut h = Harness::new(General::new(GeneralsConfig::new(Order::Attack, 1)), n(1), 4);
        h.start();
        h.message(n(0), order(&[0], Order::Attack));
        h.message(n(2), order(&[0, 2], Order::Attack));
        assert_eq!(h.node().decision(), None, "n3's relay may still come");
        assert_eq!(
            h.timer(Timer::Decide),
            vec![
                Effect::CancelTimer {
                    timer: Timer::Decide
                },
                Effect::Emit(Event::Decided(Order::Attack))
            ],
            "attack, attack, (missing = retreat): attack"
        );
        assert_eq!(h.node().decision(), Some(Order::Attack));
        let mut h = Harness::new(General::new(GeneralsConfig::new(Order::Attack, 1)), n(1), 4);
        h.start();
        h.message(n(0), order(&[0], Order::Attack));
        assert_eq!(
            h.timer(Timer::Decide).last(),
            Some(&Effect::Emit(Event::Decided(Order::Retreat)))
        );
    }

    // A3 and the rounds: a message after the end of its round is no message.
    #[test]
    fn a_message_after_the_end_of_its_round_is_ignored() {
        let mut h = Harness::new(General::new(GeneralsConfig::new(Order::Attack, 1)), n(1), 4);
        h.start();
        h.set_now(Duration::from_millis(20));
        assert_eq!(
            h.message(n(0), order(&[0], Order::Attack)),
            vec![],
            "round 1 ended at 20 ms"
        );
        assert_eq!(h.message(n(2), order(&[0, 2], Order::Attack)), vec![]);
        assert_eq!(h.node().received().len(), 1, "round 2 lasts until 40 ms");
    }

    #[test]
    fn the_broken_variants_decide_differently() {
        let config = GeneralsConfig::new(Order::Attack, 1);
        let mut h = Harness::new(General::new(config.broken(Defect::NoRelay)), n(1), 4);
        assert_eq!(
            h.start(),
            vec![Effect::SetTimer {
                after: Duration::from_millis(20),
                timer: Timer::Decide
            }]
        );
        assert_eq!(
            h.message(n(0), order(&[0], Order::Attack)),
            vec![
                Effect::CancelTimer {
                    timer: Timer::Decide
                },
                Effect::Emit(Event::Decided(Order::Attack))
            ],
            "obeys at once, relays nothing"
        );
        let mut h = Harness::new(
            General::new(config.broken(Defect::IgnoresDirectOrder)),
            n(1),
            4,
        );
        h.start();
        h.message(n(0), order(&[0], Order::Attack));
        h.message(n(2), order(&[0, 2], Order::Attack));
        let effects = h.message(n(3), order(&[0, 3], Order::Retreat));
        assert_eq!(
            effects.last(),
            Some(&Effect::Emit(Event::Decided(Order::Retreat))),
            "attack vs retreat among the relays: a tie, so retreat"
        );
    }

    #[test]
    fn counts_match_small_cases_by_hand() {
        assert_eq!(message_count(3, 1), 2 + 2);
        assert_eq!(message_count(4, 0), 3);
        assert_eq!(message_count(4, 2), 3 + 6 + 6);
        assert_eq!(
            message_count(4, 5),
            3 + 6 + 6,
            "paths cannot outgrow the generals"
        );
        assert_eq!(expected_messages(4, 1), 1 + 2);
        assert_eq!(expected_messages(5, 2), 1 + 3 + 6);
        assert_eq!(expected_messages(4, 3), 1 + 2 + 2);
        assert_eq!(expected_messages(7, 3), 1 + 5 + 5 * 4 + 5 * 4 * 3);
        assert_eq!(expected_messages(3, 0), 1, "OM(0): the commander's order");
        assert_eq!(expected_messages(2, 3), 1, "no other lieutenant to relay");
        for n in 2..9 {
            for m in 0..n {
                assert_eq!(
                    message_count(n, m),
                    (n as u64 - 1) * expected_messages(n, m),
                    "each message reaches one lieutenant (n = {n}, m = {m})"
                );
            }
        }
        assert_eq!(majority(&[Order::Attack, Order::Retreat]), DEFAULT_ORDER);
        assert_eq!(majority(&[]), DEFAULT_ORDER);
        assert_eq!(
            majority(&[Order::Retreat, Order::Attack, Order::Retreat]),
            Order::Retreat
        );
        assert_eq!(
            majority(&[Order::Attack, Order::Attack, Order::Retreat]),
            Order::Attack
        );
    }
}
