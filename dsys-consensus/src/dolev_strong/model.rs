//! `dsys check dolev-strong`: three nodes, one traitor, every interleaving
//! of the synchronous rounds.
//!
//! The sender, n0, is the traitor ([`Traitor::LateReveal`]): it signs its
//! value 1 for everyone in round 1, and in round 2, the last, a chain for
//! 2 with its signature alone, to n1 only. The network lets the traitor
//! choose, besides: each message it sends may arrive or not
//! ([`Model::byzantine`]), so it may also tell only some nodes anything.
//! The rounds are lock-step ([`Model::synchronous`]): every message of a
//! round arrives within the round, the synchrony Dolev–Strong assumes; the
//! order of deliveries and of the nodes' round ends within an instant is
//! the model's to choose.
//!
//! The properties: **Agreement** (the correct nodes that decided, decided
//! alike) in every state, and **Termination** (every correct node decides)
//! where runs end. Validity is vacuous with a traitorous sender.
//! [`Defect::NoRelay`] breaks Agreement when the traitor's value reaches
//! n1 only; [`Defect::AcceptsShortChains`] when n1 takes the late chain
//! for 2, which correct nodes reject as one signature short in round 2.
//!
//! ```
//! use dsys_consensus::dolev_strong::model::model;
//! use dsys_consensus::dolev_strong::Defect;
//!
//! assert!(model(None).check().passed());
//! let report = model(Some(Defect::NoRelay)).check();
//! let (property, steps) = report.counterexample().expect("found");
//! assert!(property.starts_with("Agreement"), "{report}");
//! assert_eq!(steps.len(), 8, "{report}");
//! ```

use std::sync::Arc;

use dsys_core::model::{Model, ModelOptions, ModelVerdict, Property};
use dsys_core::NodeId;

use super::node::{Decision, Defect, DolevStrong, Traitor};
use super::simulation::Cluster;

/// The cluster of the model: three nodes, f = 1, the sender n0 a traitor
/// revealing a second value to n1 too late, and `defect` in the correct
/// nodes.
pub fn cluster(defect: Option<Defect>) -> Cluster {
    let mut cluster = Cluster::new(3, 1);
    cluster.traitors.push((
        NodeId(0),
        Traitor::LateReveal {
            other: 2,
            coalition: Vec::new(),
            to: NodeId(1),
            round: 2,
        },
    ));
    cluster.defect = defect;
    cluster
}

/// The model `dsys check dolev-strong` explores (see the module's doc).
pub fn model(defect: Option<Defect>) -> Model<DolevStrong> {
    let cluster = Arc::new(cluster(defect));
    let configured = Arc::clone(&cluster);
    let correct: Vec<usize> = (0..cluster.nodes)
        .filter(|&i| cluster.traitor(NodeId(i as u32)).is_none())
        .collect();
    let agreeing = correct.clone();
    Model::new(cluster.nodes, move |id| {
        DolevStrong::new(configured.config(id)).expect("the model's cluster is valid")
    })
    .synchronous()
    .byzantine(NodeId(0), |msg| vec![Some(msg.clone()), None])
    .property(Property::always(
        "Agreement: the correct nodes decide alike",
        move |nodes: &[Option<DolevStrong>]| agreement(nodes, &agreeing),
    ))
    .property(Property::eventually(
        "Termination: every correct node decides",
        move |nodes: &[Option<DolevStrong>]| {
            correct
                .iter()
                .all(|&i| nodes[i].as_ref().is_some_and(|n| n.decision().is_some()))
        },
    ))
    .property(Property::sometimes(
        "a correct node decides the default (⊥)",
        |nodes: &[Option<DolevStrong>]| {
            nodes
                .iter()
                .flatten()
                .any(|n| n.decision() == Some(Decision::Default))
        },
    ))
}

/// Agreement over the nodes in `correct`: the decisions made so far are
/// all the same.
fn agreement(nodes: &[Option<DolevStrong>], correct: &[usize]) -> Result<(), String> {
    let decided: Vec<(usize, Decision)> = correct
        .iter()
        .filter_map(|&i| Some((i, nodes.get(i)?.as_ref()?.decision()?)))
        .collect();
    match decided.windows(2).find(|pair| pair[0].1 != pair[1].1) {
        Some(pair) => Err(format!(
            "n{} decided {} and n{} decided {}",
            pair[0].0, pair[0].1, pair[1].0, pair[1].1
        )),
        None => Ok(()),
    }
}

/// `dsys check dolev-strong`.
pub(super) fn check_model(
    options: &ModelOptions,
    defect: Option<Defect>,
) -> dsys_core::Result<ModelVerdict> {
    if options.nodes != 3 {
        return Err(dsys_core::Error::InvalidConfig(format!(
            "--nodes {}: dolev-strong's model has three nodes, one a traitor; leave --nodes out",
            options.nodes
        )));
    }
    Ok(model(defect).options(options).verdict())
}
