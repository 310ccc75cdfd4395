//! `dsys check byzantine-generals`: OM(m) with one traitor, every lie it
//! can tell and every order of delivery.
//!
//! The traitor runs the loyal code, but each message it sends arrives as
//! attack, as retreat, or not at all, the model choosing message by
//! message ([`Model::byzantine`]): every table of lies at once. Rounds are
//! synchronous: a lieutenant's decision timer fires only once no message
//! is in flight ([`Model::timers_when_quiet`]), so every message of a
//! round arrives in time. IC1 and IC2 are judged on the loyal generals in
//! every state; every run that ends must have every loyal lieutenant
//! decided.
//!
//! `dsys check` runs two models: the commander as the traitor (where IC1
//! is at stake), then the last lieutenant (IC2). With four generals both
//! hold; with three, OM(1) breaks, as N > 3f says it must.
//!
//! ```
//! use dsys_consensus::byzantine_generals::model::model;
//! use dsys_core::NodeId;
//!
//! // Four generals, a traitorous lieutenant: OM(1) holds.
//! let report = model(4, NodeId(3), None).check();
//! assert!(report.passed() && report.exhaustive, "{report}");
//! // Three generals: a traitorous lieutenant makes a loyal one disobey.
//! let report = model(3, NodeId(2), None).check();
//! let (property, _) = report.counterexample().expect("N > 3f");
//! assert!(property.starts_with("IC2"), "{report}");
//! ```

use std::collections::BTreeMap;

use dsys_core::model::{Model, ModelOptions, ModelVerdict, Property};
use dsys_core::NodeId;

use super::properties::{ic1, ic2};
use super::{Defect, General, GeneralsConfig, Order};

/// The order a loyal commander gives in the model (not the default that
/// a missing message stands for, so that silence shows).
pub const MODEL_ORDER: Order = Order::Attack;

/// What the decisions of the generals other than `traitor` are.
fn decisions(nodes: &[Option<General>], traitor: NodeId) -> BTreeMap<NodeId, Order> {
    nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != traitor.index())
        .filter_map(|(i, g)| Some((NodeId(i as u32), g.as_ref()?.decision()?)))
        .collect()
}

/// OM(m) among `n` generals, m = ⌊(n − 1) / 3⌋ and at least 1, commander
/// n0 ordering [`MODEL_ORDER`], `traitor` Byzantine, with `defect`.
pub fn model(n: usize, traitor: NodeId, defect: Option<Defect>) -> Model<General> {
    let m = ((n.saturating_sub(1)) / 3).max(1);
    let mut config = GeneralsConfig::new(MODEL_ORDER, m);
    config.defect = defect;
    let commander = config.commander;
    Model::new(n, move |_| General::new(config))
        .byzantine(traitor, |msg| {
            vec![
                None,
                Some(msg.with_order(Order::Attack)),
                Some(msg.with_order(Order::Retreat)),
            ]
        })
        .timers_when_quiet()
        .property(Property::always(
            "IC1: loyal lieutenants agree",
            move |nodes: &[Option<General>]| ic1(&decisions(nodes, traitor), commander, &[traitor]),
        ))
        .property(Property::always(
            "IC2: with a loyal commander, they obey it",
            move |nodes: &[Option<General>]| {
                ic2(
                    &decisions(nodes, traitor),
                    commander,
                    MODEL_ORDER,
                    &[traitor],
                )
            },
        ))
        .property(Property::eventually(
            "every loyal lieutenant decides",
            move |nodes: &[Option<General>]| {
                nodes
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != traitor.index() && *i != commander.index())
                    .all(|(_, g)| g.as_ref().is_some_and(|g| g.decision().is_some()))
            },
        ))
}

/// `dsys check byzantine-generals`: the commander as the traitor, then the
/// last lieutenant.
pub(super) fn check_model(
    options: &ModelOptions,
    defect: Option<Defect>,
) -> dsys_core::Result<ModelVerdict> {
    if options.nodes < 3 {
        return Err(dsys_core::Error::InvalidConfig(format!(
            "the Byzantine generals need a commander and two lieutenants at least, not {} \
             generals: use --nodes 3 or more (4 for N > 3f with one traitor)",
            options.nodes
        )));
    }
    let last = NodeId(options.nodes as u32 - 1);
    let mut text = String::new();
    let mut verdicts = Vec::new();
    for (who, traitor) in [("the commander", NodeId(0)), ("lieutenant", last)] {
        let verdict = model(options.nodes, traitor, defect)
            .options(options)
            .verdict();
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&format!("{who} {traitor} a traitor: {}", verdict.text));
        let failed = !verdict.passed;
        verdicts.push(verdict);
        if failed {
            break;
        }
    }
    Ok(ModelVerdict {
        text,
        passed: verdicts.iter().all(|v| v.passed),
        exhaustive: verdicts.iter().all(|v| v.exhaustive),
        trace: verdicts.into_iter().find_map(|v| v.trace),
    })
}
