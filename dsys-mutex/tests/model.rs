//! Mutual exclusion under the model checker: every interleaving of three
//! processes that each enter once and leave. The correct algorithms keep
//! ME1 in every reachable state and serve everyone in every finished run;
//! the shipped defects are caught with a short counterexample.

use dsys_core::model::{Finding, Model, Property};
use dsys_core::{Node, NodeId};
use dsys_mutex::properties::me1_states;
use dsys_mutex::{maekawa, ricart_agrawala, MutexNode, Phase, Request};

/// `nodes` processes, each asking once and leaving once inside; ME1
/// always, someone inside sometimes, and in every finished run nobody
/// still waits (`phase` tells a node's phase: a deadlock leaves some
/// `Wanted`).
fn each_enters_once<N>(
    nodes: usize,
    factory: impl Fn(NodeId) -> N + Send + Sync + 'static,
    phase: fn(&N) -> Phase,
) -> Model<N>
where
    N: MutexNode + Clone + Eq + std::hash::Hash,
    <N as Node>::Msg: Eq + std::hash::Hash,
{
    let mut model = Model::new(nodes, factory)
        .property(Property::always("ME1", me1_states::<N>))
        .property(Property::sometimes(
            "someone enters",
            |nodes: &[Option<N>]| nodes.iter().flatten().any(MutexNode::in_section),
        ))
        .property(Property::eventually(
            "nobody left waiting",
            move |nodes: &[Option<N>]| nodes.iter().flatten().all(|n| phase(n) == Phase::Released),
        ));
    for i in 0..nodes as u32 {
        model = model.request(NodeId(i), Request::Enter).request_when(
            NodeId(i),
            Request::Exit,
            MutexNode::in_section,
        );
    }
    model
}

#[test]
fn ricart_agrawala_keeps_me1_in_every_interleaving_of_three() {
    let report = each_enters_once(
        3,
        |_| ricart_agrawala::RicartAgrawala::new(),
        ricart_agrawala::RicartAgrawala::phase,
    )
    .check();
    assert!(report.passed(), "{report}");
    assert!(report.exhaustive, "{report}");
    assert!(report.states > 1000, "{report}");
}

#[test]
fn ricart_agrawala_defects_are_caught_with_a_short_counterexample() {
    for defect in [
        ricart_agrawala::Defect::IgnoresTimestamps,
        ricart_agrawala::Defect::RepliesInSection,
    ] {
        let report = each_enters_once(
            2,
            move |_| ricart_agrawala::RicartAgrawala::broken(defect),
            ricart_agrawala::RicartAgrawala::phase,
        )
        .check();
        let (name, path) = report
            .counterexample()
            .unwrap_or_else(|| panic!("{defect:?}: {report}"));
        assert_eq!(name, "ME1", "{defect:?}: {report}");
        assert!(
            path.len() <= 10,
            "{defect:?}: a shortest path is short: {report}"
        );
    }
}

#[test]
fn maekawa_without_inquire_deadlocks_and_with_it_serves_everyone() {
    let correct = each_enters_once(3, |_| maekawa::Maekawa::new(), maekawa::Maekawa::phase).check();
    assert!(correct.passed(), "{correct}");
    let broken = each_enters_once(
        3,
        |_| maekawa::Maekawa::broken(maekawa::Defect::NoInquire),
        maekawa::Maekawa::phase,
    )
    .check();
    assert!(correct.exhaustive, "{correct}");
    let (name, path) = broken.counterexample().expect("the deadlock is found");
    assert_eq!(name, "nobody left waiting", "{broken}");
    assert!(
        path.iter().filter(|s| s.contains("is asked Enter")).count() >= 2,
        "{broken}"
    );
    assert!(
        matches!(broken.findings[0].1, Finding::Held),
        "no ME1 breach: {broken}"
    );
}
