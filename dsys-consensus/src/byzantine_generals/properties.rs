//! The interactive consistency conditions, as checkers over the decisions
//! of a run. Traitors' decisions are not judged (a traitor's state is the
//! honest code's, and means nothing): every checker takes the traitors.
//!
//! | property | statement (Lamport, Shostak & Pease 1982, §1) | checker |
//! |---|---|---|
//! | IC1 | all loyal lieutenants obey the same order | [`ic1`] |
//! | IC2 | if the commander is loyal, every loyal lieutenant obeys the order it sends | [`ic2`] |
//! | Termination | every live loyal lieutenant decides (by (m + 1) × round, A3) | [`termination`] |
//!
//! IC1 is the lecture's *agreement* and IC2 its *integrity* (validity) for
//! the case of one proposer: each is checked by the shared consensus
//! checker ([`crate::properties::agreement`],
//! [`crate::properties::sender_validity`],
//! [`crate::properties::termination`]) on the loyal generals.

use std::collections::{BTreeMap, BTreeSet};

use dsys_core::sim::Simulation;
use dsys_core::NodeId;

use super::{Event, General, Order};
use crate::properties::{self as consensus, Decision};

/// Each general's decision in a run: its last [`Event::Decided`] (a
/// general decides once per incarnation).
pub fn decisions(sim: &Simulation<General>) -> BTreeMap<NodeId, Order> {
    let mut decided = BTreeMap::new();
    for id in sim.ids() {
        for emitted in sim.events(id) {
            let Event::Decided(order) = emitted.event;
            decided.insert(id, order);
        }
    }
    decided
}

/// The decisions as the shared checkers read them.
fn as_decisions(decisions: &BTreeMap<NodeId, Order>) -> Vec<Decision<Order>> {
    decisions
        .iter()
        .map(|(&node, &value)| Decision { node, value })
        .collect()
}

/// The loyal lieutenants among `generals`.
fn loyal_lieutenants(
    generals: impl IntoIterator<Item = NodeId>,
    commander: NodeId,
    traitors: &[NodeId],
) -> BTreeSet<NodeId> {
    generals
        .into_iter()
        .filter(|id| *id != commander && !traitors.contains(id))
        .collect()
}

/// IC1 (Agreement): every loyal lieutenant that decided obeys the same
/// order.
pub fn ic1(
    decisions: &BTreeMap<NodeId, Order>,
    commander: NodeId,
    traitors: &[NodeId],
) -> Result<(), String> {
    let loyal = loyal_lieutenants(decisions.keys().copied(), commander, traitors);
    consensus::agreement(&as_decisions(decisions), &loyal).map_err(|why| format!("IC1: {why}"))
}

/// IC2 (Validity, one sender): if the commander is loyal, every loyal
/// lieutenant that decided obeys `order`, the commander's.
pub fn ic2(
    decisions: &BTreeMap<NodeId, Order>,
    commander: NodeId,
    order: Order,
    traitors: &[NodeId],
) -> Result<(), String> {
    let mut loyal = loyal_lieutenants(decisions.keys().copied(), commander, traitors);
    if !traitors.contains(&commander) {
        loyal.insert(commander);
    }
    consensus::sender_validity(&as_decisions(decisions), commander, &order, &loyal)
        .map_err(|why| format!("IC2: {why}"))
}

/// Termination: every general in `live` that is neither the commander nor
/// a traitor has decided.
pub fn termination(
    decisions: &BTreeMap<NodeId, Order>,
    live: impl IntoIterator<Item = NodeId>,
    commander: NodeId,
    traitors: &[NodeId],
) -> Result<(), String> {
    let loyal = loyal_lieutenants(live, commander, traitors);
    consensus::termination(&as_decisions(decisions), &loyal)
}

/// The commander and its order, as the generals' shared configuration says
/// (read from any live general).
pub fn commander_of(sim: &Simulation<General>) -> Option<(NodeId, Order)> {
    sim.nodes()
        .next()
        .map(|(_, g)| (g.config().commander, g.config().order))
}

/// [`ic1`], [`ic2`] and [`termination`] on a finished run, judging the
/// nodes that are not Byzantine.
pub fn check_run(sim: &Simulation<General>) -> Result<(), String> {
    let Some((commander, order)) = commander_of(sim) else {
        return Ok(());
    };
    let decided = decisions(sim);
    let traitors = sim.byzantine_nodes();
    ic1(&decided, commander, &traitors)?;
    ic2(&decided, commander, order, &traitors)?;
    termination(
        &decided,
        sim.nodes().map(|(id, _)| id),
        commander,
        &traitors,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(i: u32) -> NodeId {
        NodeId(i)
    }

    fn decided(orders: &[(u32, Order)]) -> BTreeMap<NodeId, Order> {
        orders.iter().map(|&(i, o)| (n(i), o)).collect()
    }

    use Order::{Attack, Retreat};

    // Hand-made bad outcomes are caught; traitors' decisions are not judged.
    // Lamport et al. §1, IC1 and IC2.
    #[test]
    fn ic1_catches_loyal_lieutenants_that_disagree() {
        let d = decided(&[(0, Attack), (1, Attack), (2, Retreat), (3, Attack)]);
        let why = ic1(&d, n(0), &[]).unwrap_err();
        assert_eq!(
            why,
            "IC1: Agreement: n1 decided Attack but n2 decided Retreat"
        );
        assert_eq!(ic1(&d, n(0), &[n(2)]), Ok(()), "n2 is a traitor");
        assert_eq!(
            ic1(
                &decided(&[(0, Retreat), (1, Attack), (2, Attack)]),
                n(0),
                &[]
            ),
            Ok(()),
            "the commander is not a lieutenant"
        );
    }

    #[test]
    fn ic2_catches_a_lieutenant_disobeying_a_loyal_commander() {
        let d = decided(&[(0, Attack), (1, Retreat), (2, Retreat), (3, Retreat)]);
        assert_eq!(ic1(&d, n(0), &[]), Ok(()), "they agree …");
        let why = ic2(&d, n(0), Attack, &[]).unwrap_err();
        assert_eq!(
            why,
            "IC2: Validity: the correct sender n0 sent Attack but n1 decided Retreat"
        );
        assert_eq!(
            ic2(&d, n(0), Attack, &[n(0)]),
            Ok(()),
            "a traitor's order binds nobody"
        );
    }

    #[test]
    fn termination_catches_a_silent_loyal_lieutenant() {
        let d = decided(&[(0, Attack), (1, Attack)]);
        let live = [n(0), n(1), n(2), n(3)];
        let why = termination(&d, live, n(0), &[n(3)]).unwrap_err();
        assert_eq!(why, "Termination: correct n2 never decided");
        assert_eq!(termination(&d, live, n(0), &[n(2), n(3)]), Ok(()));
    }
}
