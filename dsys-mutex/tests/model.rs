//! Mutual exclusion under the model checker: every interleaving of three
//! processes that each enter once and leave. The correct algorithms keep
//! ME1 in every reachable state and serve everyone in every finished run;
//! the shipped defects are caught with a short counterexample.

use dsys_core::model::{Finding, Property};
use dsys_mutex::workload::each_enters_once;
use dsys_mutex::{maekawa, ricart_agrawala, Phase};

#[test]
fn ricart_agrawala_keeps_me1_in_every_interleaving_of_three() {
    let report = each_enters_once(
        3,
        |_| ricart_agrawala::RicartAgrawala::new(),
        ricart_agrawala::RicartAgrawala::phase,
    )
    // Not vacuous: the runs where all three contend are explored.
    .property(Property::sometimes(
        "all three wait at once",
        |nodes: &[Option<ricart_agrawala::RicartAgrawala>]| {
            nodes
                .iter()
                .flatten()
                .filter(|n| n.phase() == Phase::Wanted)
                .count()
                == 3
        },
    ))
    .check();
    assert!(report.passed(), "{report}");
    assert_eq!(report.findings[0].0, "ME1");
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
        // The counterexample, run in the simulator, breaks ME1 there too.
        let model = each_enters_once(
            2,
            move |_| ricart_agrawala::RicartAgrawala::broken(defect),
            ricart_agrawala::RicartAgrawala::phase,
        );
        let replayed = model
            .replay(report.trail.as_ref().expect("a trail"))
            .unwrap_or_else(|e| panic!("{defect:?}: {e}"));
        let (name, _, step) = replayed.violated.expect("reproduced in the simulator");
        assert_eq!((name, step), ("ME1", path.len()), "{defect:?}");
        assert!(dsys_mutex::properties::me1_trace(replayed.sim.trace().unwrap()).is_err());
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

#[test]
fn the_central_server_keeps_me1_and_granting_twice_is_caught() {
    use dsys_core::NodeId;
    use dsys_mutex::central_server::{CentralServer, Defect};
    let correct =
        each_enters_once(3, |_| CentralServer::new(NodeId(0)), CentralServer::phase).check();
    assert!(correct.passed() && correct.exhaustive, "{correct}");
    let broken = each_enters_once(
        3,
        |_| CentralServer::broken(NodeId(0), Defect::GrantsTwice),
        CentralServer::phase,
    )
    .check();
    let (name, path) = broken.counterexample().expect("two holders are found");
    assert_eq!(name, "ME1", "{broken}");
    println!(
        "central server, grants-twice: ME1 broken in {} steps",
        path.len()
    );
    // Two processes ask, the server grants both: no shorter run breaks ME1.
    assert!(path.len() <= 4, "{broken}");
}

#[test]
fn the_token_ring_keeps_me1_until_its_token_is_duplicated() {
    use dsys_core::model::Network;
    use dsys_mutex::token_ring::TokenRing;
    let correct = each_enters_once(3, |_| TokenRing::new(), TokenRing::phase).check();
    assert!(correct.passed() && correct.exhaustive, "{correct}");
    let duplicating = each_enters_once(3, |_| TokenRing::new(), TokenRing::phase)
        .network(Network {
            duplicates_max: 1,
            ..Network::default()
        })
        .check();
    let (name, path) = duplicating
        .counterexample()
        .expect("a duplicated token breaks ME1");
    assert_eq!(name, "ME1", "{duplicating}");
    println!(
        "token ring, one duplicate: ME1 broken in {} steps",
        path.len()
    );
}
