//! The consensus problem's properties, as checkers every consensus
//! algorithm of this crate shares.
//!
//! Each process `p_i` proposes a value and must *decide* one (lecture 8;
//! Coulouris et al., *Distributed Systems*, 5th ed., §15.5.2). A correct
//! process is one that has not failed: here, a node that is up at the end
//! of the run (crash-recovery counts a node that came back as correct) and
//! is not Byzantine. The properties speak of correct processes only — a
//! crashed or Byzantine node may decide anything or nothing.
//!
//! | property | statement | checker |
//! |---|---|---|
//! | Termination | every correct process eventually decides | [`termination`] |
//! | Agreement | no two correct processes decide differently | [`agreement`] |
//! | Integrity | a correct process decides at most once | [`integrity`] |
//! | Validity | a value a correct process decides was proposed by some process | [`validity`] |
//! | Validity, one sender | if the sender is correct, every correct process decides the sender's value | [`sender_validity`] |
//!
//! The course's Integrity is the textbook's (Coulouris §15.5.2): *if the
//! correct processes all proposed the same value, every correct process
//! that decides decides that value*. It is checked in two parts, so that a
//! failure says which broke: [`integrity`], a decision is made once and
//! kept, and [`validity`], the decided value is among those proposed —
//! given the one value every correct process proposed, that is the
//! textbook's sentence. (With different proposals, Paxos and Raft promise
//! Validity only: a value a process proposed before it crashed may win.)
//!
//! The checkers read a list of [`Decision`]s — who decided what, in the
//! order they happened — so they do not care which algorithm produced it:
//! single-decree Paxos emits one decision per node; Multi-Paxos decides
//! once per log slot, and [`by_instance`] splits its decisions into one
//! list per slot, each judged on its own; the Byzantine algorithms pass the
//! correct set without their traitors. Values are any `Eq + Debug` type.
//!
//! When one process proposes and the others must agree on its value —
//! the Byzantine generals' commander, Dolev–Strong's sender — Validity
//! becomes [`sender_validity`] (the generals' IC2), and Agreement is their
//! IC1: `byzantine_generals::properties` and `dolev_strong::properties`
//! judge their runs with these same functions.
//!
//! ```
//! use std::collections::BTreeSet;
//! use dsys_core::NodeId;
//! use dsys_consensus::properties::{agreement, integrity, termination, validity, Decision};
//!
//! let correct: BTreeSet<NodeId> = [NodeId(0), NodeId(1)].into();
//! let decisions = vec![
//!     Decision { node: NodeId(0), value: "a" },
//!     Decision { node: NodeId(2), value: "b" }, // n2 crashed: not judged
//!     Decision { node: NodeId(1), value: "a" },
//! ];
//! assert!(termination(&decisions, &correct).is_ok());
//! assert!(agreement(&decisions, &correct).is_ok());
//! assert!(integrity(&decisions, &correct).is_ok());
//! assert!(validity(&decisions, &["a", "b"], &correct).is_ok());
//!
//! let split = vec![Decision { node: NodeId(0), value: "a" }, Decision { node: NodeId(1), value: "b" }];
//! assert!(agreement(&split, &correct).unwrap_err().starts_with("Agreement"));
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use dsys_core::sim::Simulation;
use dsys_core::{Node, NodeId};

/// A process decided a value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Decision<V> {
    /// Who decided.
    pub node: NodeId,
    /// What it decided.
    pub value: V,
}

/// The names of the four properties, as reports print them.
pub const NAMES: [&str; 4] = ["Termination", "Agreement", "Integrity", "Validity"];

/// Termination: every node in `correct` decided (at least once).
pub fn termination<V>(decisions: &[Decision<V>], correct: &BTreeSet<NodeId>) -> Result<(), String> {
    let decided: BTreeSet<NodeId> = decisions.iter().map(|d| d.node).collect();
    let undecided: Vec<String> = correct
        .iter()
        .filter(|n| !decided.contains(n))
        .map(ToString::to_string)
        .collect();
    if undecided.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "Termination: correct {} never decided",
            undecided.join(", ")
        ))
    }
}

/// Agreement: all decisions of nodes in `correct` carry the same value.
pub fn agreement<V: Eq + Debug>(
    decisions: &[Decision<V>],
    correct: &BTreeSet<NodeId>,
) -> Result<(), String> {
    let mut judged = decisions.iter().filter(|d| correct.contains(&d.node));
    let Some(first) = judged.next() else {
        return Ok(());
    };
    match judged.find(|d| d.value != first.value) {
        None => Ok(()),
        Some(other) => Err(format!(
            "Agreement: {} decided {:?} but {} decided {:?}",
            first.node, first.value, other.node, other.value
        )),
    }
}

/// Integrity: no node in `correct` decided more than once (even the same
/// value again: a decision is final and announced once).
pub fn integrity<V: Debug>(
    decisions: &[Decision<V>],
    correct: &BTreeSet<NodeId>,
) -> Result<(), String> {
    let mut first: BTreeMap<NodeId, &V> = BTreeMap::new();
    for d in decisions.iter().filter(|d| correct.contains(&d.node)) {
        if let Some(earlier) = first.insert(d.node, &d.value) {
            return Err(format!(
                "Integrity: {} decided twice, {earlier:?} then {:?}",
                d.node, d.value
            ));
        }
    }
    Ok(())
}

/// Validity: every value a node in `correct` decided is among `proposed`.
pub fn validity<V: Eq + Debug>(
    decisions: &[Decision<V>],
    proposed: &[V],
    correct: &BTreeSet<NodeId>,
) -> Result<(), String> {
    match decisions
        .iter()
        .filter(|d| correct.contains(&d.node))
        .find(|d| !proposed.contains(&d.value))
    {
        None => Ok(()),
        Some(d) => Err(format!(
            "Validity: {} decided {:?}, which nobody proposed (proposals: {proposed:?})",
            d.node, d.value
        )),
    }
}

/// Validity when one process, `sender`, proposes (Byzantine broadcast;
/// the Byzantine generals' IC2): if the sender is in `correct`, every
/// decision of a node in `correct` is `sent`, the sender's value. A faulty
/// sender binds nobody.
pub fn sender_validity<V: Eq + Debug>(
    decisions: &[Decision<V>],
    sender: NodeId,
    sent: &V,
    correct: &BTreeSet<NodeId>,
) -> Result<(), String> {
    if !correct.contains(&sender) {
        return Ok(());
    }
    match decisions
        .iter()
        .filter(|d| correct.contains(&d.node))
        .find(|d| d.value != *sent)
    {
        None => Ok(()),
        Some(d) => Err(format!(
            "Validity: the correct sender {sender} sent {sent:?} but {} decided {:?}",
            d.node, d.value
        )),
    }
}

/// All four properties, named as [`NAMES`] names them, in that order.
pub fn check_all<V: Eq + Debug>(
    decisions: &[Decision<V>],
    proposed: &[V],
    correct: &BTreeSet<NodeId>,
) -> Vec<(&'static str, Result<(), String>)> {
    vec![
        (NAMES[0], termination(decisions, correct)),
        (NAMES[1], agreement(decisions, correct)),
        (NAMES[2], integrity(decisions, correct)),
        (NAMES[3], validity(decisions, proposed, correct)),
    ]
}

/// Splits decisions made in many instances (Multi-Paxos slots, one run of
/// a protocol per general) into one list per instance, each in its
/// original order, for the checkers above to judge one at a time.
///
/// ```
/// use dsys_core::NodeId;
/// use dsys_consensus::properties::{by_instance, Decision};
///
/// let slots = by_instance(vec![(1, NodeId(0), 'x'), (2, NodeId(0), 'y'), (1, NodeId(1), 'x')]);
/// assert_eq!(slots[&1].len(), 2);
/// assert_eq!(slots[&2], vec![Decision { node: NodeId(0), value: 'y' }]);
/// ```
pub fn by_instance<K: Ord, V>(
    decisions: impl IntoIterator<Item = (K, NodeId, V)>,
) -> BTreeMap<K, Vec<Decision<V>>> {
    let mut instances: BTreeMap<K, Vec<Decision<V>>> = BTreeMap::new();
    for (key, node, value) in decisions {
        instances
            .entry(key)
            .or_default()
            .push(Decision { node, value });
    }
    instances
}

/// The decisions a simulation's nodes emitted, in the order they happened,
/// picked out of their events by `decision` (e.g. `|e| match e { Event::Decided(v) => Some(v.clone()), _ => None }`).
pub fn decisions<N: Node, V>(
    sim: &Simulation<N>,
    decision: impl Fn(&N::Event) -> Option<V>,
) -> Vec<Decision<V>> {
    sim.all_events()
        .into_iter()
        .filter_map(|(node, e)| decision(&e.event).map(|value| Decision { node, value }))
        .collect()
}

/// The correct nodes of a run: up at its end and not in `byzantine`.
pub fn correct_nodes<N: Node>(sim: &Simulation<N>, byzantine: &[NodeId]) -> BTreeSet<NodeId> {
    sim.ids()
        .filter(|&id| sim.is_up(id) && !byzantine.contains(&id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(node: u32, value: u64) -> Decision<u64> {
        Decision {
            node: NodeId(node),
            value,
        }
    }

    fn all(n: u32) -> BTreeSet<NodeId> {
        (0..n).map(NodeId).collect()
    }

    // Each checker catches a hand-made bad decision list (DESIGN.md,
    // "Checkers"), and ignores the same fault at a node that is not correct.
    #[test]
    fn termination_catches_a_correct_node_that_never_decides() {
        let decisions = vec![d(0, 5), d(2, 5)];
        let why = termination(&decisions, &all(3)).unwrap_err();
        assert_eq!(why, "Termination: correct n1 never decided");
        let without_n1: BTreeSet<NodeId> = [NodeId(0), NodeId(2)].into();
        assert!(termination(&decisions, &without_n1).is_ok());
    }

    #[test]
    fn agreement_catches_two_correct_nodes_deciding_differently() {
        let decisions = vec![d(0, 5), d(1, 5), d(2, 6)];
        let why = agreement(&decisions, &all(3)).unwrap_err();
        assert_eq!(why, "Agreement: n0 decided 5 but n2 decided 6");
        let byzantine_n2: BTreeSet<NodeId> = [NodeId(0), NodeId(1)].into();
        assert!(agreement(&decisions, &byzantine_n2).is_ok());
    }

    #[test]
    fn integrity_catches_a_node_deciding_twice() {
        let decisions = vec![d(0, 5), d(1, 5), d(0, 5)];
        let why = integrity(&decisions, &all(2)).unwrap_err();
        assert_eq!(why, "Integrity: n0 decided twice, 5 then 5");
        assert!(integrity(&decisions[..2], &all(2)).is_ok());
    }

    #[test]
    fn validity_catches_a_value_nobody_proposed() {
        let decisions = vec![d(0, 5), d(1, 7)];
        let why = validity(&decisions, &[5, 6], &all(2)).unwrap_err();
        assert!(why.starts_with("Validity: n1 decided 7"), "{why}");
        assert!(validity(&decisions, &[5, 7], &all(2)).is_ok());
    }

    #[test]
    fn sender_validity_binds_only_a_correct_sender() {
        let decisions = vec![d(0, 5), d(1, 5), d(2, 6)];
        let why = sender_validity(&decisions, NodeId(0), &5, &all(3)).unwrap_err();
        assert_eq!(
            why,
            "Validity: the correct sender n0 sent 5 but n2 decided 6"
        );
        let faulty_n2: BTreeSet<NodeId> = [NodeId(0), NodeId(1)].into();
        assert!(sender_validity(&decisions, NodeId(0), &5, &faulty_n2).is_ok());
        let faulty_sender: BTreeSet<NodeId> = [NodeId(1), NodeId(2)].into();
        assert!(sender_validity(&decisions, NodeId(0), &5, &faulty_sender).is_ok());
    }

    #[test]
    fn check_all_names_each_verdict_and_instances_are_judged_apart() {
        let slots = by_instance(vec![
            (1, NodeId(0), 10),
            (1, NodeId(1), 10),
            (2, NodeId(0), 20),
            (2, NodeId(1), 21),
        ]);
        assert!(check_all(&slots[&1], &[10, 20, 21], &all(2))
            .iter()
            .all(|(_, v)| v.is_ok()));
        let verdicts = check_all(&slots[&2], &[10, 20, 21], &all(2));
        let failed: Vec<&str> = verdicts
            .iter()
            .filter(|(_, v)| v.is_err())
            .map(|(name, _)| *name)
            .collect();
        assert_eq!(failed, vec!["Agreement"]);
    }

    // The module doc: a correct process is up at the end of the run (one
    // that crashed and came back counts) and is not Byzantine.
    #[test]
    fn correct_nodes_leave_out_the_crashed_and_the_byzantine() {
        use crate::byzantine_generals::{General, GeneralsConfig, Order};
        let config = GeneralsConfig::new(Order::Attack, 1);
        let mut sim = Simulation::new(5, 1, move |_| General::new(config));
        sim.crash(NodeId(1)).unwrap();
        sim.crash(NodeId(4)).unwrap();
        sim.restart(NodeId(4)).unwrap();
        let correct: Vec<NodeId> = correct_nodes(&sim, &[NodeId(2)]).into_iter().collect();
        assert_eq!(correct, [NodeId(0), NodeId(3), NodeId(4)]);
        assert_eq!(correct_nodes(&sim, &[]).len(), 4, "only n1 is down");
    }
}
