//! The Dolev–Strong node: configuration, messages, events, the traitor
//! strategies and the broken variants, and the handlers.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use dsys_core::{Context, Message, Node, NodeId};
use serde::{Deserialize, Serialize};

use super::chain::{Keyring, NodeKey, Rejection, SignedChain, Value};
use crate::{Error, Result};

/// The one message of the protocol: a value and its signature chain, sent
/// by the sender in round 1 and relayed by everyone who accepts it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Msg {
    /// A signed chain for a value.
    Chain(SignedChain),
}

impl Message for Msg {}

/// The node's one timer: the end of a round, on the local clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Round `r` is over: relay what it accepted (or decide, after round
    /// f + 1).
    RoundEnd(u32),
}

/// What a node decides at the end of round f + 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Decision {
    /// Exactly one value was accepted: this one.
    Value(Value),
    /// None, or several, were accepted: the default, ⊥ (the sender is
    /// certainly a traitor).
    Default,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Value(v) => write!(f, "{v}"),
            Decision::Default => f.write_str("⊥"),
        }
    }
}

/// What a node tells its application (and the checkers).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// A chain for `value` passed every check in `round`: the value is
    /// accepted (the sender accepts its own value in round 1).
    Accepted {
        /// The round it was accepted in.
        round: u32,
        /// The value.
        value: Value,
        /// The chain's signers, sender first.
        signers: Vec<NodeId>,
    },
    /// This node signed a chain for `value` in `round` and sent it to `to`
    /// (for a traitor: what it really sent, distortions included).
    Signed {
        /// The round it was sent in.
        round: u32,
        /// The value the chain carries.
        value: Value,
        /// The chain's signers, sender first, this node last.
        signers: Vec<NodeId>,
        /// Who it went to.
        to: Vec<NodeId>,
    },
    /// A chain from `from` failed a check in `round`.
    Rejected {
        /// The round it arrived in.
        round: u32,
        /// Who sent it (not necessarily a signer).
        from: NodeId,
        /// The value it was about.
        value: Value,
        /// Which check it failed.
        reason: Rejection,
    },
    /// The end of round f + 1: the decision.
    Decided(Decision),
}

/// How a traitor misbehaves: a Byzantine node scripted through its own
/// configuration, for tests and demonstrations.
///
/// This is not a general Byzantine fault injector (the simulator's is
/// another module, applied from outside to any node): a traitor here is a
/// Dolev–Strong node that runs the protocol but distorts what it sends in
/// the named way. Sender-only strategies make a relay behave correctly.
/// Whatever the strategy, a traitor signs only with its own key (and, in
/// [`Traitor::LateReveal`], its coalition's): no strategy can forge a
/// correct node's signature, which is what the algorithm relies on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Traitor {
    /// Sends nothing at all: as the sender, a crash before round 1; as a
    /// relay, one that drops everything it should pass on.
    Silent,
    /// Every chain it sends carries a different value than the one
    /// signed (value + 1): the signatures no longer verify.
    Forge,
    /// Holds every chain it sends back by one round, so that it arrives
    /// with one signature fewer than its round requires.
    Delay,
    /// Signs every chain it sends twice: a repeated signer.
    RepeatSigner,
    /// As the sender: signs its value for the first half of its peers
    /// (by id) and `other` for the rest.
    Equivocate {
        /// The second value.
        other: Value,
    },
    /// As the sender: signs its value for these nodes only.
    OnlyTo(Vec<NodeId>),
    /// As the sender, with a coalition of traitors: sends its value to
    /// everyone in round 1, then, at the start of `round`, a chain for
    /// `other` signed by itself and every coalition member, to `to` alone.
    /// The chain has 1 + coalition signatures: in time if `round` is at
    /// most that, and rejected as too short after.
    LateReveal {
        /// The second value.
        other: Value,
        /// The other traitors' keys (traitors collude).
        coalition: Vec<NodeKey>,
        /// The one correct node that hears of `other`.
        to: NodeId,
        /// The round it is revealed in.
        round: u32,
    },
}

/// A deliberate bug, so the checkers can be seen to catch it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Defect {
    /// Accepts a chain with fewer than r signatures in round r (one, the
    /// sender's, is enough): a late chain then reaches some correct nodes
    /// in round f + 1, too late for them to pass it on.
    AcceptsShortChains,
    /// Never relays what it accepts: what the sender told one node stays
    /// with that node.
    NoRelay,
}

/// One node's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DolevStrongConfig {
    /// This node's signing key; its public half must be in the keyring.
    pub key: NodeKey,
    /// Every node's public key, by id.
    pub keyring: Keyring,
    /// The designated sender (the commander).
    pub sender: NodeId,
    /// The sender's value (used by the sender only).
    pub value: Value,
    /// f, the most traitors tolerated; the protocol runs f + 1 rounds.
    /// Any f < N.
    pub faults: u32,
    /// How long a round lasts on the local clock. Synchrony is the
    /// assumption: it must exceed the longest message delay plus the
    /// largest clock difference between nodes.
    pub round_length: Duration,
    /// Which broadcast this is: signed into every signature, so a chain
    /// cannot be replayed from one broadcast into another.
    pub instance: u64,
    /// How this node misbehaves, if it is a traitor.
    pub traitor: Option<Traitor>,
    /// A deliberate bug, if any.
    pub defect: Option<Defect>,
}

impl DolevStrongConfig {
    /// A correct node's configuration: round length 20 ms, instance 0,
    /// value 0.
    pub fn new(key: NodeKey, keyring: Keyring, sender: NodeId, faults: u32) -> Self {
        DolevStrongConfig {
            key,
            keyring,
            sender,
            value: 0,
            faults,
            round_length: Duration::from_millis(20),
            instance: 0,
            traitor: None,
            defect: None,
        }
    }

    /// The number of rounds, f + 1.
    pub fn rounds(&self) -> u32 {
        self.faults + 1
    }
}

/// One node of Dolev–Strong authenticated broadcast.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DolevStrong {
    config: DolevStrongConfig,
    /// This node's id: the position of its key in the keyring.
    me: NodeId,
    /// The current round, 1 ..= f + 1; f + 2 once decided.
    round: u32,
    /// Accepted values, with the round each was accepted in. At most two
    /// are kept: two already mean ⊥ (see the module essay).
    accepted: BTreeMap<Value, u32>,
    /// Chains accepted this round, relayed when it ends.
    to_relay: Vec<SignedChain>,
    /// Chains a [`Traitor::Delay`] holds back one more round.
    held_back: Vec<SignedChain>,
    decision: Option<Decision>,
    signatures_made: u64,
    signatures_verified: u64,
}

impl DolevStrong {
    /// A node with `config`, checked.
    ///
    /// ```
    /// use dsys_consensus::dolev_strong::{DolevStrong, DolevStrongConfig, Keyring, NodeKey};
    /// use dsys_core::NodeId;
    ///
    /// let ring = Keyring::derived(1, 4);
    /// let config = DolevStrongConfig::new(NodeKey::derived(1, NodeId(2)), ring.clone(), NodeId(0), 3);
    /// assert_eq!(DolevStrong::new(config.clone()).unwrap().id(), NodeId(2));
    /// let too_many = DolevStrongConfig { faults: 4, ..config };
    /// assert!(DolevStrong::new(too_many).is_err(), "f must be below N");
    /// ```
    pub fn new(config: DolevStrongConfig) -> Result<Self> {
        let invalid = |why: String| Err(Error::DolevStrongConfig(why));
        let n = config.keyring.len();
        let Some(me) = config.keyring.position(&config.key.public()) else {
            return invalid("the node's key is not in the keyring: give it its own key".into());
        };
        if config.faults as usize >= n {
            return invalid(format!(
                "f = {} but there are {n} nodes: Dolev–Strong tolerates any f < N",
                config.faults
            ));
        }
        if config.sender.index() >= n {
            return invalid(format!(
                "the sender {} is not one of the {n} nodes",
                config.sender
            ));
        }
        if config.round_length.is_zero() {
            return invalid("round_length is zero: make it exceed the longest delay".into());
        }
        if let Some(Traitor::LateReveal { coalition, .. }) = &config.traitor
            && coalition
                .iter()
                .any(|k| config.keyring.position(&k.public()).is_none())
        {
            return invalid("a coalition key is not in the keyring".into());
        }
        Ok(DolevStrong {
            config,
            me,
            round: 1,
            accepted: BTreeMap::new(),
            to_relay: Vec::new(),
            held_back: Vec::new(),
            decision: None,
            signatures_made: 0,
            signatures_verified: 0,
        })
    }

    /// This node's id, from its key's place in the keyring.
    pub fn id(&self) -> NodeId {
        self.me
    }

    /// The configuration.
    pub fn config(&self) -> &DolevStrongConfig {
        &self.config
    }

    /// Whether this node is scripted as a traitor.
    pub fn is_traitor(&self) -> bool {
        self.config.traitor.is_some()
    }

    /// The current round (f + 2 once decided).
    pub fn round(&self) -> u32 {
        self.round
    }

    /// Accepted values and the round each was accepted in (at most two).
    pub fn accepted(&self) -> &BTreeMap<Value, u32> {
        &self.accepted
    }

    /// The decision, once round f + 1 is over.
    pub fn decision(&self) -> Option<Decision> {
        self.decision
    }

    /// Signatures this node has made.
    pub fn signatures_made(&self) -> u64 {
        self.signatures_made
    }

    /// Signatures this node has verified.
    pub fn signatures_verified(&self) -> u64 {
        self.signatures_verified
    }

    fn is_sender(&self) -> bool {
        self.me == self.config.sender
    }

    fn append_mine(&mut self, chain: &mut SignedChain) {
        let c = &self.config;
        chain.append(c.instance, c.sender, self.me, &c.key);
        self.signatures_made += 1;
    }

    /// Sends `chain` (already carrying this node's signature) to every peer
    /// that has not signed it: a signer has accepted the value already.
    fn send_chain(&self, ctx: &mut Context<'_, Self>, chain: &SignedChain) {
        let to = ctx
            .peers()
            .iter()
            .copied()
            .filter(|&p| !chain.signed_by(p))
            .collect();
        self.send_to(ctx, chain, to);
    }

    /// Sends `chain` to `to`, and tells the application so.
    fn send_to(&self, ctx: &mut Context<'_, Self>, chain: &SignedChain, to: Vec<NodeId>) {
        if to.is_empty() {
            return;
        }
        for &peer in &to {
            ctx.send(peer, Msg::Chain(chain.clone()));
        }
        ctx.emit(Event::Signed {
            round: self.round,
            value: chain.value,
            signers: chain.signers(),
            to,
        });
    }

    /// Sends `chain` as this node's traitor strategy has it (a correct node
    /// sends it as it is).
    fn send_distorted(&mut self, ctx: &mut Context<'_, Self>, mut chain: SignedChain) {
        match &self.config.traitor {
            Some(Traitor::Silent) => {}
            Some(Traitor::Forge) => {
                chain.value = chain.value.wrapping_add(1);
                self.send_chain(ctx, &chain);
            }
            Some(Traitor::Delay) => self.held_back.push(chain),
            Some(Traitor::RepeatSigner) => {
                self.append_mine(&mut chain);
                self.send_chain(ctx, &chain);
            }
            _ => self.send_chain(ctx, &chain),
        }
    }

    /// What happens at the start of `round`: the sender's first message
    /// (round 1), relays of what the last round accepted, a traitor's
    /// held-back or late chains.
    fn start_round(&mut self, ctx: &mut Context<'_, Self>, round: u32) {
        self.round = round;
        ctx.set_timer(self.config.round_length, Timer::RoundEnd(round));
        for chain in std::mem::take(&mut self.held_back) {
            self.send_chain(ctx, &chain);
        }
        if round == 1 && self.is_sender() {
            self.send_first(ctx);
        } else if self.config.defect != Some(Defect::NoRelay) {
            for mut chain in std::mem::take(&mut self.to_relay) {
                self.append_mine(&mut chain);
                self.send_distorted(ctx, chain);
            }
        }
        self.to_relay.clear();
        if let Some(Traitor::LateReveal {
            other,
            coalition,
            to,
            round: reveal,
        }) = self.config.traitor.clone()
            && reveal == round
            && self.is_sender()
        {
            let c = &self.config;
            let mut chain = SignedChain::start(c.instance, c.sender, other, &c.key);
            for key in &coalition {
                let signer = c.keyring.position(&key.public()).expect("validated");
                chain.append(c.instance, c.sender, signer, key);
            }
            self.signatures_made += 1 + coalition.len() as u64;
            self.send_to(ctx, &chain, vec![to]);
        }
    }

    /// Round 1 at the sender: sign the value and send it to everyone.
    fn send_first(&mut self, ctx: &mut Context<'_, Self>) {
        let c = &self.config;
        let (instance, sender, value) = (c.instance, c.sender, c.value);
        let first = SignedChain::start(instance, sender, value, &c.key);
        self.signatures_made += 1;
        self.accepted.insert(value, 1);
        ctx.emit(Event::Accepted {
            round: 1,
            value,
            signers: vec![self.me],
        });
        match self.config.traitor.clone() {
            Some(Traitor::Equivocate { other }) => {
                let second = SignedChain::start(instance, sender, other, &self.config.key);
                self.signatures_made += 1;
                let mut peers = ctx.peers().to_vec();
                let rest = peers.split_off(peers.len().div_ceil(2));
                self.send_to(ctx, &first, peers);
                self.send_to(ctx, &second, rest);
            }
            Some(Traitor::OnlyTo(nodes)) => self.send_to(ctx, &first, nodes),
            _ => self.send_distorted(ctx, first),
        }
    }

    fn decide(&mut self, ctx: &mut Context<'_, Self>) {
        let decision = match self.accepted.keys().collect::<Vec<_>>()[..] {
            [&value] => Decision::Value(value),
            _ => Decision::Default,
        };
        self.decision = Some(decision);
        self.round = self.config.rounds() + 1;
        self.to_relay.clear();
        self.held_back.clear();
        ctx.emit(Event::Decided(decision));
    }
}

impl Node for DolevStrong {
    type Msg = Msg;
    type Timer = Timer;
    type Request = ();
    type Event = Event;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        assert_eq!(
            ctx.id(),
            self.me,
            "node {} was given node {}'s key: each node needs its own",
            ctx.id(),
            self.me
        );
        self.start_round(ctx, 1);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        let Msg::Chain(chain) = msg;
        let round = self.round;
        let reject = |ctx: &mut Context<'_, Self>, reason| {
            ctx.emit(Event::Rejected {
                round,
                from,
                value: chain.value,
                reason,
            })
        };
        if self.decision.is_some() {
            return reject(ctx, Rejection::AfterDecision);
        }
        // A value accepted already needs no second look, and two accepted
        // values already mean ⊥: nothing a chain says can change that.
        if self.accepted.contains_key(&chain.value) || self.accepted.len() >= 2 {
            return;
        }
        let need = match self.config.defect {
            Some(Defect::AcceptsShortChains) => 1,
            _ => round as usize,
        };
        let c = &self.config;
        if let Err(reason) = chain.check(
            c.instance,
            c.sender,
            need,
            &c.keyring,
            &mut self.signatures_verified,
        ) {
            return reject(ctx, reason);
        }
        self.accepted.insert(chain.value, round);
        ctx.emit(Event::Accepted {
            round,
            value: chain.value,
            signers: chain.signers(),
        });
        if round < self.config.rounds() {
            self.to_relay.push(chain);
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Timer) {
        let Timer::RoundEnd(round) = timer;
        if round >= self.config.rounds() {
            self.decide(ctx);
        } else {
            self.start_round(ctx, round + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsys_core::testing::Harness;
    use dsys_core::{Effect, EffectOf};

    const MS20: Duration = Duration::from_millis(20);

    fn key(i: u32) -> NodeKey {
        NodeKey::derived(3, NodeId(i))
    }

    fn config(n: usize, me: u32, faults: u32) -> DolevStrongConfig {
        DolevStrongConfig {
            value: 7,
            ..DolevStrongConfig::new(key(me), Keyring::derived(3, n), NodeId(0), faults)
        }
    }

    fn harness(config: DolevStrongConfig, n: usize) -> Harness<DolevStrong> {
        let node = DolevStrong::new(config).unwrap();
        let id = node.id();
        Harness::new(node, id, n)
    }

    /// `value` signed by the sender, then by each of `relays` in order.
    fn chain(value: Value, relays: &[u32]) -> SignedChain {
        let mut chain = SignedChain::start(0, NodeId(0), value, &key(0));
        for &r in relays {
            chain.append(0, NodeId(0), NodeId(r), &key(r));
        }
        chain
    }

    fn send(to: u32, chain: &SignedChain) -> EffectOf<DolevStrong> {
        Effect::Send {
            to: NodeId(to),
            msg: Msg::Chain(chain.clone()),
        }
    }

    fn timer(round: u32) -> EffectOf<DolevStrong> {
        Effect::SetTimer {
            after: MS20,
            timer: Timer::RoundEnd(round),
        }
    }

    fn accepted(round: u32, value: Value, signers: &[u32]) -> EffectOf<DolevStrong> {
        Effect::Emit(Event::Accepted {
            round,
            value,
            signers: signers.iter().map(|&i| NodeId(i)).collect(),
        })
    }

    fn signed(round: u32, value: Value, signers: &[u32], to: &[u32]) -> EffectOf<DolevStrong> {
        let ids = |v: &[u32]| v.iter().map(|&i| NodeId(i)).collect();
        Effect::Emit(Event::Signed {
            round,
            value,
            signers: ids(signers),
            to: ids(to),
        })
    }

    fn rejected(round: u32, from: u32, value: Value, reason: Rejection) -> EffectOf<DolevStrong> {
        Effect::Emit(Event::Rejected {
            round,
            from: NodeId(from),
            value,
            reason,
        })
    }

    // Handler tests assert exact effects (STYLE.md #9). Dolev & Strong
    // 1983, round 1 (LSP 1982 §4, SM(m) step 1): the sender signs its
    // value and sends it to all.
    #[test]
    fn the_sender_signs_its_value_and_sends_it_to_everyone_in_round_one() {
        let mut h = harness(config(3, 0, 1), 3);
        let first = chain(7, &[]);
        assert_eq!(
            h.start(),
            vec![
                timer(1),
                accepted(1, 7, &[0]),
                send(1, &first),
                send(2, &first),
                signed(1, 7, &[0], &[1, 2])
            ]
        );
        assert_eq!(h.node().round(), 1);
        assert_eq!(h.node().accepted(), &BTreeMap::from([(7, 1)]));
        assert_eq!(h.timer(Timer::RoundEnd(1)), vec![timer(2)]);
        assert_eq!(h.node().round(), 2);
        assert_eq!(
            h.timer(Timer::RoundEnd(2)),
            vec![Effect::Emit(Event::Decided(Decision::Value(7)))]
        );
        assert_eq!(h.node().round(), 3, "f + 2 once decided");
        assert_eq!(h.node().decision(), Some(Decision::Value(7)));
    }

    // The algorithm, rounds 2 … f + 1: accept in round r with r signatures, the sender's first; relay
    // with one's own appended at the start of the next round, to those
    // who have not signed.
    #[test]
    fn a_relay_accepts_in_round_one_and_relays_in_round_two() {
        let mut h = harness(config(4, 1, 2), 4);
        assert_eq!(h.start(), vec![timer(1)]);
        assert_eq!(
            h.message(NodeId(0), Msg::Chain(chain(7, &[]))),
            vec![accepted(1, 7, &[0])]
        );
        assert_eq!(
            h.message(NodeId(0), Msg::Chain(chain(7, &[]))),
            vec![],
            "a value accepted already is not looked at again"
        );
        let relayed = chain(7, &[1]);
        assert_eq!(
            h.timer(Timer::RoundEnd(1)),
            vec![
                timer(2),
                send(2, &relayed),
                send(3, &relayed),
                signed(2, 7, &[0, 1], &[2, 3])
            ]
        );
        assert_eq!(h.node().signatures_made(), 1);
        assert_eq!(h.node().signatures_verified(), 1);
    }

    #[test]
    fn a_second_value_is_accepted_and_relayed_a_third_is_not_looked_at() {
        let mut h = harness(config(4, 1, 2), 4);
        h.start();
        h.message(NodeId(0), Msg::Chain(chain(7, &[])));
        h.timer(Timer::RoundEnd(1));
        assert_eq!(
            h.message(NodeId(2), Msg::Chain(chain(8, &[2]))),
            vec![accepted(2, 8, &[0, 2])]
        );
        assert_eq!(h.message(NodeId(3), Msg::Chain(chain(9, &[3]))), vec![]);
        assert_eq!(
            h.node().accepted(),
            &BTreeMap::from([(7, 1), (8, 2)]),
            "each value with the round it was accepted in"
        );
        let relayed = chain(8, &[2, 1]);
        assert_eq!(
            h.timer(Timer::RoundEnd(2)),
            vec![timer(3), send(3, &relayed), signed(3, 8, &[0, 2, 1], &[3])]
        );
        assert_eq!(
            h.timer(Timer::RoundEnd(3)),
            vec![Effect::Emit(Event::Decided(Decision::Default))],
            "two values: the sender equivocated, decide ⊥"
        );
    }

    #[test]
    fn late_forged_repeated_and_foreign_chains_are_rejected() {
        let mut h = harness(config(4, 1, 2), 4);
        h.start();
        h.timer(Timer::RoundEnd(1));
        assert_eq!(
            h.message(NodeId(0), Msg::Chain(chain(7, &[]))),
            vec![rejected(
                2,
                0,
                7,
                Rejection::TooFewSignatures { have: 1, need: 2 }
            )],
            "held back past round 1"
        );
        let mut forged = chain(7, &[2]);
        forged.value = 8;
        assert_eq!(
            h.message(NodeId(2), Msg::Chain(forged)),
            vec![rejected(2, 2, 8, Rejection::BadSignature(NodeId(0)))]
        );
        assert_eq!(
            h.message(NodeId(3), Msg::Chain(chain(7, &[3, 3]))),
            vec![rejected(2, 3, 7, Rejection::RepeatedSigner(NodeId(3)))]
        );
        let mut from_n2 = SignedChain::start(0, NodeId(0), 7, &key(2));
        from_n2.links[0].signer = NodeId(2);
        from_n2.append(0, NodeId(0), NodeId(3), &key(3));
        assert_eq!(
            h.message(NodeId(3), Msg::Chain(from_n2)),
            vec![rejected(2, 3, 7, Rejection::NotFromSender(NodeId(2)))]
        );
        assert!(h.node().accepted().is_empty());
        h.timer(Timer::RoundEnd(2));
        assert_eq!(
            h.timer(Timer::RoundEnd(3)),
            vec![Effect::Emit(Event::Decided(Decision::Default))]
        );
        assert_eq!(
            h.message(NodeId(2), Msg::Chain(chain(7, &[2, 3]))),
            vec![rejected(4, 2, 7, Rejection::AfterDecision)]
        );
    }

    #[test]
    fn what_is_accepted_in_the_last_round_is_not_relayed() {
        let mut h = harness(config(3, 1, 1), 3);
        h.start();
        h.timer(Timer::RoundEnd(1));
        assert_eq!(
            h.message(NodeId(2), Msg::Chain(chain(7, &[2]))),
            vec![accepted(2, 7, &[0, 2])]
        );
        assert_eq!(
            h.timer(Timer::RoundEnd(2)),
            vec![Effect::Emit(Event::Decided(Decision::Value(7)))]
        );
    }

    #[test]
    fn an_equivocating_sender_splits_its_peers() {
        let mut c = config(5, 0, 1);
        c.traitor = Some(Traitor::Equivocate { other: 8 });
        let mut h = harness(c, 5);
        let (a, b) = (chain(7, &[]), chain(8, &[]));
        assert_eq!(
            h.start(),
            vec![
                timer(1),
                accepted(1, 7, &[0]),
                send(1, &a),
                send(2, &a),
                signed(1, 7, &[0], &[1, 2]),
                send(3, &b),
                send(4, &b),
                signed(1, 8, &[0], &[3, 4])
            ]
        );
        assert_eq!(h.node().signatures_made(), 2, "one chain per value");
    }

    #[test]
    fn traitor_relays_distort_what_they_send() {
        let relay = |traitor: Traitor| {
            let mut c = config(3, 1, 2);
            c.traitor = Some(traitor);
            let mut h = harness(c, 3);
            h.start();
            h.message(NodeId(0), Msg::Chain(chain(7, &[])));
            (h.timer(Timer::RoundEnd(1)), h)
        };
        assert_eq!(relay(Traitor::Silent).0, vec![timer(2)]);
        let mut forged = chain(7, &[1]);
        forged.value = 8;
        assert_eq!(
            relay(Traitor::Forge).0,
            vec![timer(2), send(2, &forged), signed(2, 8, &[0, 1], &[2])]
        );
        assert_eq!(
            relay(Traitor::RepeatSigner).0,
            vec![
                timer(2),
                send(2, &chain(7, &[1, 1])),
                signed(2, 7, &[0, 1, 1], &[2])
            ]
        );
        let (effects, mut h) = relay(Traitor::Delay);
        assert_eq!(effects, vec![timer(2)]);
        assert_eq!(
            h.timer(Timer::RoundEnd(2)),
            vec![
                timer(3),
                send(2, &chain(7, &[1])),
                signed(3, 7, &[0, 1], &[2])
            ],
            "sent in round 3 with 2 signatures: too few"
        );
    }

    #[test]
    fn a_late_reveal_sends_a_coalition_chain_to_one_node() {
        let mut c = config(4, 0, 2);
        c.traitor = Some(Traitor::LateReveal {
            other: 8,
            coalition: vec![key(3)],
            to: NodeId(1),
            round: 2,
        });
        let mut h = harness(c, 4);
        h.start();
        assert_eq!(
            h.timer(Timer::RoundEnd(1)),
            vec![
                timer(2),
                send(1, &chain(8, &[3])),
                signed(2, 8, &[0, 3], &[1])
            ]
        );
        assert_eq!(
            h.node().signatures_made(),
            3,
            "round 1's chain, then its own and the coalition's on the second"
        );
    }

    #[test]
    fn the_broken_variants_accept_short_chains_and_do_not_relay() {
        let mut c = config(3, 1, 1);
        c.defect = Some(Defect::AcceptsShortChains);
        let mut h = harness(c, 3);
        h.start();
        h.timer(Timer::RoundEnd(1));
        assert_eq!(
            h.message(NodeId(0), Msg::Chain(chain(7, &[]))),
            vec![accepted(2, 7, &[0])]
        );

        let mut c = config(3, 1, 1);
        c.defect = Some(Defect::NoRelay);
        let mut h = harness(c, 3);
        h.start();
        h.message(NodeId(0), Msg::Chain(chain(7, &[])));
        assert_eq!(h.timer(Timer::RoundEnd(1)), vec![timer(2)]);
    }

    #[test]
    fn bad_configurations_are_errors() {
        let c = config(3, 1, 1);
        let stranger = DolevStrongConfig {
            key: NodeKey::derived(99, NodeId(1)),
            ..c.clone()
        };
        assert!(DolevStrong::new(stranger)
            .unwrap_err()
            .to_string()
            .contains("not in the keyring"));
        let far = DolevStrongConfig {
            sender: NodeId(3),
            ..c.clone()
        };
        assert!(DolevStrong::new(far).is_err());
        let instant = DolevStrongConfig {
            round_length: Duration::ZERO,
            ..c
        };
        assert!(DolevStrong::new(instant).is_err());
    }
}
