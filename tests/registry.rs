//! Every algorithm `dsys sim` lists runs with default options and keeps its
//! properties, on a few seeds, and a fault-free run of it is reproducible.

use dsys::cli::Registry;
use dsys::core::scenario::{Algorithm, SimOptions};
use dsys::core::trace::TraceKind;

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

/// Every deliberate defect of an algorithm with a model, as `dsys check
/// ALGORITHM --defect NAME` runs it (its options' defaults), with the
/// property it breaks and the counterexample's length (the bully's defect
/// breaks E1 in the initial state: a node declares itself at start).
#[rustfmt::skip]
const DEFECTS_FOUND: &[(&str, &str, usize, &str, usize)] = &[
    ("reliable", "no-duplicate-suppression", 3, "exactly once, in order", 5),
    ("central-server", "grants-twice", 3, "ME3", 3),
    ("central-server", "lifo-queue", 3, "ME3", 8),
    ("ricart-agrawala", "replies-in-section", 3, "ME1", 10),
    ("ricart-agrawala", "ignores-timestamps", 3, "ME3", 7),
    ("maekawa", "no-inquire", 3, "nobody left waiting", 7),
    ("bully", "declares-without-waiting", 3, "E1", 0),
    ("raft", "commits-previous-term", 3, "Leader Completeness", 11),
    ("raft", "grants-two-votes", 3, "Election Safety", 6),
    ("raft", "vote-not-persisted", 3, "Election Safety", 8),
    ("raft", "reads-without-read-index", 3, "Linearizable reads", 9),
    ("paxos", "ignores-accepted-values", 3, "P2b", 10),
    ("paxos", "forgets-promise-at-restart", 3, "P2b", 12),
    ("multi-paxos", "ignores-accepted-values", 3, "Log agreement", 11),
    ("byzantine-generals", "no-relay", 4, "IC1", 2),
    ("byzantine-generals", "ignores-direct-order", 4, "IC1", 7),
    ("dolev-strong", "no-relay", 3, "Agreement", 8),
    ("dolev-strong", "accepts-short-chains", 3, "Agreement", 8),
    ("primary-backup", "answers-before-acks", 3, "Linearizable", 5),
];

#[test]
fn dsys_check_finds_every_registered_defect() {
    use dsys::core::model::ModelOptions;

    let registry = Registry::standard();
    // The table names every defect registered, and every algorithm that
    // registers defects has a model to check them with.
    for entry in registry.entries() {
        for defect in entry.algorithm.defects {
            let pair = (entry.algorithm.name, defect.name);
            assert!(
                DEFECTS_FOUND.iter().any(|d| (d.0, d.1) == pair),
                "{} --defect {} is not in the table",
                entry.algorithm.name,
                defect.name
            );
        }
    }
    for &(name, defect, nodes, property, steps) in DEFECTS_FOUND {
        let algorithm = registry.find(name).expect("registered").algorithm;
        let model = algorithm
            .model
            .unwrap_or_else(|| panic!("{name} has a defect but no model"));
        let options = ModelOptions {
            nodes,
            defect: Some(defect.into()),
            ..ModelOptions::default()
        };
        let verdict = model(&options).unwrap_or_else(|e| panic!("{name} {defect}: {e}"));
        assert!(
            !verdict.passed,
            "{name} --defect {defect} passed:\n{}",
            verdict.text
        );
        let line = verdict
            .text
            .lines()
            .find(|l| l.contains("VIOLATED in "))
            .unwrap_or_else(|| panic!("{name} {defect}:\n{}", verdict.text));
        let length: usize = line
            .split("VIOLATED in ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{line}"));
        assert!(
            line.trim_start().starts_with(property),
            "{name} {defect}: {line}"
        );
        // A counterexample replays in the simulator to the same violation,
        // which ends its trace, unless a Byzantine node lies in it (the
        // model's lie, not the simulator's).
        if !verdict.text.contains(", a lie") {
            let trace = verdict
                .trace
                .as_ref()
                .unwrap_or_else(|| panic!("{name} {defect}: no replay:\n{}", verdict.text));
            let last = trace.events().last().map(|e| &e.kind);
            assert!(
                matches!(last, Some(TraceKind::Violation { property: p, .. }) if p.starts_with(property)),
                "{name} {defect}: the replay ends with {last:?}"
            );
        }
        assert_eq!(length, steps, "{name} {defect}:\n{}", verdict.text);
    }
}
