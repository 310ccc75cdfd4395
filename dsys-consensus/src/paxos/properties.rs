//! Paxos's safety requirements ("Paxos Made Simple" §2.1), one checker
//! each, run over all nodes' states after every simulator event.
//!
//! | property | says | checker |
//! |---|---|---|
//! | only a proposed value is chosen | a chosen value was some proposer's own | [`OnlyProposedChosen`] |
//! | only a single value is chosen | every chosen proposal carries the same value | [`OnlySingleChosen`] |
//! | only a chosen value is learned | a node decides a value only once it has been chosen | [`OnlyChosenLearned`] |
//!
//! *Chosen* is the paper's definition, judged from outside: a proposal
//! (ballot, value) is chosen once a majority of acceptors have accepted it.
//! An acceptor's state shows only its latest acceptance, so the checkers
//! remember every acceptance they have seen — one event changes one node,
//! so none is missed — including those of acceptors that later crashed
//! (what they accepted is on their stable storage, and counts). They read
//! only what a node exposes ([`Paxos::proposal`], [`Paxos::accepted`],
//! [`Paxos::decided`]), never its own view of what is safe.
//!
//! The consensus properties over emitted decisions (Termination,
//! Agreement, Integrity, Validity) are [`crate::properties`]'s, shared with
//! the other algorithms; [`super::simulation`] judges them at the end of a
//! run.

use std::collections::{BTreeMap, BTreeSet};

use dsys_core::NodeId;

use super::message::{Ballot, Value};
use super::node::Paxos;

type Verdict = Result<(), String>;

/// An invariant over all nodes' states, as [`Simulation::invariant`] and
/// [`Scripted::invariant`](super::scripted::Scripted::invariant) take it.
///
/// [`Simulation::invariant`]: dsys_core::sim::Simulation::invariant
pub type Invariant<V> = Box<dyn FnMut(&[Option<Paxos<V>>]) -> Verdict>;

/// The three checkers, fresh and named, to register on a run after every
/// event:
///
/// ```
/// use dsys_core::sim::Simulation;
/// use dsys_core::NodeId;
/// use dsys_consensus::paxos::properties::safety;
/// use dsys_consensus::paxos::simulation::cluster;
/// use dsys_consensus::paxos::PaxosConfig;
///
/// let mut sim = Simulation::new(3, 1, cluster(PaxosConfig::default(), vec![NodeId(0)]));
/// for (name, check) in safety::<u64>() {
///     sim.invariant(name, check);
/// }
/// sim.run_until(std::time::Duration::from_secs(1)).unwrap();
/// ```
pub fn safety<V: Value>() -> [(&'static str, Invariant<V>); 3] {
    let mut proposed = OnlyProposedChosen::new();
    let mut single = OnlySingleChosen::new();
    let mut learned = OnlyChosenLearned::new();
    [
        (
            "only a proposed value is chosen",
            Box::new(move |nodes: &[Option<Paxos<V>>]| proposed.check(nodes)),
        ),
        (
            "only a single value is chosen",
            Box::new(move |nodes: &[Option<Paxos<V>>]| single.check(nodes)),
        ),
        (
            "only a chosen value is learned",
            Box::new(move |nodes: &[Option<Paxos<V>>]| learned.check(nodes)),
        ),
    ]
}

/// What the checkers have seen so far: proposals, acceptances, choices.
#[derive(Debug)]
pub struct Observer<V> {
    proposed: Vec<V>,
    /// Every acceptance ever seen, by ballot: its value and its acceptors.
    accepted: BTreeMap<Ballot, (V, BTreeSet<NodeId>)>,
    /// Two different values accepted in one ballot (a ballot reused).
    conflict: Option<String>,
    /// Every chosen proposal, in the order it became chosen.
    chosen: Vec<(Ballot, V)>,
}

impl<V> Default for Observer<V> {
    fn default() -> Self {
        Observer {
            proposed: Vec::new(),
            accepted: BTreeMap::new(),
            conflict: None,
            chosen: Vec::new(),
        }
    }
}

impl<V: Value> Observer<V> {
    /// Takes in one moment of the run: every node's state, `None` for a
    /// crashed one.
    pub fn observe(&mut self, nodes: &[Option<Paxos<V>>]) {
        let majority = nodes.len() / 2 + 1;
        for (i, node) in nodes.iter().enumerate() {
            let Some(node) = node else { continue };
            if let Some(v) = node.proposal()
                && !self.proposed.contains(v)
            {
                self.proposed.push(v.clone());
            }
            let Some((ballot, value)) = node.accepted() else {
                continue;
            };
            let (first, acceptors) = self
                .accepted
                .entry(*ballot)
                .or_insert_with(|| (value.clone(), BTreeSet::new()));
            if first != value && self.conflict.is_none() {
                self.conflict = Some(format!(
                    "ballot {ballot} carries two values, {first:?} and {value:?}"
                ));
            }
            if acceptors.insert(NodeId(i as u32)) && acceptors.len() == majority && first == value {
                self.chosen.push((*ballot, value.clone()));
            }
        }
    }

    /// Every chosen proposal so far.
    pub fn chosen(&self) -> &[(Ballot, V)] {
        &self.chosen
    }

    /// Every value proposed so far.
    pub fn proposed(&self) -> &[V] {
        &self.proposed
    }
}

/// Only a value that has been proposed may be chosen (§2.1).
#[derive(Debug, Default)]
pub struct OnlyProposedChosen<V> {
    seen: Observer<V>,
}

impl<V: Value> OnlyProposedChosen<V> {
    /// A checker that has seen nothing yet.
    pub fn new() -> Self {
        OnlyProposedChosen {
            seen: Observer::default(),
        }
    }

    /// Judges one moment of the run.
    pub fn check(&mut self, nodes: &[Option<Paxos<V>>]) -> Verdict {
        self.seen.observe(nodes);
        match self
            .seen
            .chosen
            .iter()
            .find(|(_, v)| !self.seen.proposed.contains(v))
        {
            None => Ok(()),
            Some((ballot, v)) => Err(format!(
                "{v:?} was chosen in ballot {ballot} but nobody proposed it (proposals: {:?}) (Paxos Made Simple §2.1)",
                self.seen.proposed
            )),
        }
    }
}

/// Only a single value is chosen (§2.1): every proposal a majority
/// accepted carries the same value.
#[derive(Debug, Default)]
pub struct OnlySingleChosen<V> {
    seen: Observer<V>,
}

impl<V: Value> OnlySingleChosen<V> {
    /// A checker that has seen nothing yet.
    pub fn new() -> Self {
        OnlySingleChosen {
            seen: Observer::default(),
        }
    }

    /// Judges one moment of the run.
    pub fn check(&mut self, nodes: &[Option<Paxos<V>>]) -> Verdict {
        self.seen.observe(nodes);
        if let Some(conflict) = &self.seen.conflict {
            return Err(format!("{conflict} (ballots must be unique per proposer)"));
        }
        let mut chosen = self.seen.chosen.iter();
        let Some((first_ballot, first)) = chosen.next() else {
            return Ok(());
        };
        match chosen.find(|(_, v)| v != first) {
            None => Ok(()),
            Some((ballot, v)) => Err(format!(
                "two values chosen: {first:?} in ballot {first_ballot}, then {v:?} in ballot {ballot} (Paxos Made Simple §2.1)"
            )),
        }
    }
}

/// A process never learns that a value has been chosen unless it actually
/// has been (§2.1): every decided value is a chosen one.
#[derive(Debug, Default)]
pub struct OnlyChosenLearned<V> {
    seen: Observer<V>,
}

impl<V: Value> OnlyChosenLearned<V> {
    /// A checker that has seen nothing yet.
    pub fn new() -> Self {
        OnlyChosenLearned {
            seen: Observer::default(),
        }
    }

    /// Judges one moment of the run.
    pub fn check(&mut self, nodes: &[Option<Paxos<V>>]) -> Verdict {
        self.seen.observe(nodes);
        for (i, node) in nodes.iter().enumerate() {
            let Some(decided) = node.as_ref().and_then(|n| n.decided()) else {
                continue;
            };
            if !self.seen.chosen.iter().any(|(_, v)| v == decided) {
                return Err(format!(
                    "n{i} decided {decided:?}, which no majority accepted (Paxos Made Simple §2.1)"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paxos::{Durable, PaxosConfig};
    use crate::stable::Stable;

    /// A node that proposed `proposal` and whose stable storage says it
    /// accepted `accepted`.
    fn node(proposal: Option<u64>, accepted: Option<(Ballot, u64)>) -> Option<Paxos<u64>> {
        let stable = Stable::new(Durable {
            accepted,
            ..Durable::default()
        });
        let node = Paxos::new(PaxosConfig::default(), stable).unwrap();
        Some(match proposal {
            Some(value) => node.proposing(value),
            None => node,
        })
    }

    // Paxos Made Simple §2.1: a proposal is chosen once a majority of the
    // acceptors (three of five) accepted it; two is not enough.
    #[test]
    fn a_proposal_is_chosen_by_a_majority_of_all_acceptors() {
        let (b1, b2) = (Ballot::new(1, 0), Ballot::new(2, 1));
        let mut seen = Observer::default();
        let mut nodes = vec![
            node(Some(7), Some((b1, 7))),
            node(Some(8), Some((b1, 7))),
            node(None, Some((b2, 8))),
            node(None, Some((b2, 8))),
            None,
        ];
        seen.observe(&nodes);
        assert_eq!(seen.proposed(), &[7, 8]);
        assert_eq!(seen.chosen(), &[], "two acceptors of five");
        let mut single = OnlySingleChosen::new();
        assert_eq!(single.check(&nodes), Ok(()));

        nodes[4] = node(None, Some((b2, 8)));
        seen.observe(&nodes);
        assert_eq!(seen.chosen(), &[(b2, 8)]);
        assert_eq!(single.check(&nodes), Ok(()));
    }
}
