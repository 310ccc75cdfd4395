//! Every algorithm `dsys sim` lists runs with default options and keeps its
//! properties, on a few seeds, and a fault-free run of it is reproducible.

use dsys::cli::Registry;
use dsys::core::scenario::{Algorithm, SimOptions};

fn algorithms() -> Vec<Algorithm> {
    Registry::standard()
        .entries()
        .iter()
        .map(|e| e.algorithm)
        .collect()
}

#[test]
fn every_registered_algorithm_runs_and_holds_its_properties() {
    let algorithms = algorithms();
    assert!(algorithms.len() >= 15, "{} registered", algorithms.len());
    for algorithm in algorithms {
        for seed in 0..3 {
            let options = SimOptions {
                nodes: 5,
                seed,
                ..SimOptions::default()
            };
            let outcome = (algorithm.run)(&options)
                .unwrap_or_else(|e| panic!("{} seed {seed}: {e}", algorithm.name));
            assert!(
                outcome.report.passed(),
                "{} seed {seed}:\n{}",
                algorithm.name,
                outcome.report
            );
            assert!(
                outcome.report.metrics.sent > 0,
                "{} seed {seed} sent nothing",
                algorithm.name
            );
        }
    }
}

#[test]
fn registered_names_are_unique_and_findable() {
    let algorithms = algorithms();
    for algorithm in &algorithms {
        let found = Registry::standard()
            .find(algorithm.name)
            .expect("registered")
            .algorithm;
        assert_eq!(found.summary, algorithm.summary);
        assert_eq!(
            algorithms
                .iter()
                .filter(|a| a.name == algorithm.name)
                .count(),
            1,
            "{} registered twice",
            algorithm.name
        );
    }
    assert!(Registry::standard().find("no-such-algorithm").is_none());
}

#[test]
fn the_same_seed_gives_the_same_report() {
    for algorithm in algorithms() {
        let options = SimOptions {
            nodes: 4,
            seed: 9,
            loss: 0.05,
            ..SimOptions::default()
        };
        let a = (algorithm.run)(&options).unwrap();
        let b = (algorithm.run)(&options).unwrap();
        assert_eq!(a.report.metrics, b.report.metrics, "{}", algorithm.name);
        assert_eq!(a.report.events, b.report.events, "{}", algorithm.name);
    }
}
