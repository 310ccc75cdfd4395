//! Simulation tests of the ring election (Chang & Roberts): its exact
//! message costs, concurrent elections under delay and reordering over many
//! seeds, and the checkers catching a broken ring.

use std::time::Duration;

use dsys_core::rand::{RngExt, SeedableRng};
use dsys_core::scenario::{SimOptions, Verdict};
use dsys_core::sim::{Latency, LinkConfig, Ordering, Simulation};
use dsys_core::testing::check_seeds;
use dsys_core::{NodeId, NodeRng};
use dsys_election::ring::{self, worst_case_starter, Keep, Ring, RingConfig};
use dsys_election::{properties, ElectionEvent, Elector};
use proptest::prelude::*;

fn run(n: usize, seed: u64, config: RingConfig, link: LinkConfig) -> Simulation<Ring> {
    let mut sim = Simulation::new(n, seed, move |_| Ring::new(config.clone()));
    sim.set_all_links(link).unwrap();
    sim.enable_trace();
    sim.run_until(Duration::from_secs(5)).unwrap();
    sim
}

// Coulouris §15.3.1: the worst case is 3N − 1 messages, when the election is
// started by the successor of the highest id.
#[test]
fn worst_case_costs_exactly_3n_minus_1_messages() {
    for n in [5, 8, 13] {
        let config = RingConfig::started_by(&[worst_case_starter(n)]);
        let sim = run(n, 1, config, LinkConfig::default());
        let m = sim.metrics();
        assert_eq!(m.sent, 3 * n as u64 - 1, "N = {n}");
        assert_eq!(
            m.kind("Election").unwrap().sent,
            2 * n as u64 - 1,
            "N = {n}"
        );
        assert_eq!(m.kind("Elected").unwrap().sent, n as u64, "N = {n}");
        properties::e2_liveness(sim.states()).unwrap();
    }
}

// The best lone start is the highest id itself: its id goes round once, then
// the announcement: 2N.
#[test]
fn best_lone_start_is_the_highest_id_with_2n_messages() {
    for n in [5, 8, 13] {
        let config = RingConfig::started_by(&[NodeId(n as u32 - 1)]);
        let sim = run(n, 1, config, LinkConfig::default());
        assert_eq!(sim.metrics().sent, 2 * n as u64, "N = {n}");
    }
}

// Concurrent elections, any starters, delays up to 30 ms and reordering:
// E1 and E2 hold, and every process decides exactly once.
#[test]
fn concurrent_elections_under_delay_and_reordering_over_1000_seeds() {
    check_seeds(0..1000, concurrent_elections);
}

/// The soak: `cargo test -p dsys-election --test elections ring -- --ignored`.
#[test]
#[ignore]
fn concurrent_elections_soak_over_100000_seeds() {
    check_seeds(1000..101_000, concurrent_elections);
}

/// One seeded run: 2 to 10 processes, random starters, latency 1–30 ms,
/// FIFO or reordering links.
fn concurrent_elections(seed: u64) -> Result<(), String> {
    {
        let mut rng = NodeRng::seed_from_u64(seed);
        let n = rng.random_range(2..=10usize);
        let mut starters: Vec<NodeId> = (0..n as u32)
            .filter(|_| rng.random_bool(0.4))
            .map(NodeId)
            .collect();
        if starters.is_empty() {
            starters.push(NodeId(rng.random_range(0..n as u32)));
        }
        // Odd seeds reorder, even seeds keep links FIFO.
        let reorder = seed % 2 == 1;
        let link = LinkConfig {
            latency: Latency::uniform_ms(1, 30),
            ordering: if reorder {
                Ordering::Reorder
            } else {
                Ordering::Fifo
            },
            ..LinkConfig::default()
        };
        let sim = run(n, seed, RingConfig::started_by(&starters), link);
        properties::e1_safety(&sim, None)?;
        properties::e2_liveness(sim.states())?;
        for id in sim.ids() {
            let decisions = sim
                .events(id)
                .iter()
                .filter(|e| matches!(e.event, ElectionEvent::Elected(_)))
                .count();
            if decisions != 1 {
                return Err(format!(
                    "{id} decided {decisions} times (starters {starters:?})"
                ));
            }
        }
        // On FIFO links: at most N elections of at most N + (N − 1) hops
        // each, plus N announcements. (Reordering may let a stale Election
        // overtake the Elected and start a redundant round: more messages,
        // same leader.)
        let bound = (n * (2 * n - 1) + n) as u64;
        if !reorder && sim.metrics().sent > bound {
            return Err(format!("{} messages > {bound}", sim.metrics().sent));
        }
        Ok(())
    }
}

// A ring that forwards the smaller id elects the lowest process: E1 catches
// the declaration (and E2 the wrong leader).
#[test]
fn e1_catches_a_ring_that_forwards_the_smaller_id() {
    let config = RingConfig {
        keep: Keep::Smaller,
        ..RingConfig::started_by(&[NodeId(2)])
    };
    let sim = run(5, 3, config, LinkConfig::default());
    let err = properties::e1_safety(&sim, None).unwrap_err();
    assert!(err.contains("n0 declared itself leader"), "{err}");
    assert!(properties::e2_liveness(sim.states()).is_err());
}

// Ring assumes no crash: a process that crashes mid-election breaks the ring
// and nobody decides. E2 catches it; E1 still holds (nobody decided wrongly).
#[test]
fn e2_catches_a_ring_broken_by_a_crash_mid_election() {
    let config = RingConfig::started_by(&[NodeId(0)]);
    let mut sim = Simulation::new(6, 2, move |_| Ring::new(config.clone()));
    sim.set_all_links(LinkConfig::reliable(Latency::Fixed(Duration::from_millis(
        5,
    ))))
    .unwrap();
    sim.enable_trace();
    sim.run_until(Duration::from_millis(7)).unwrap();
    sim.crash(NodeId(3)).unwrap(); // before n2 forwards to it
    sim.run_until(Duration::from_secs(2)).unwrap();
    let err = properties::e2_liveness(sim.states()).unwrap_err();
    assert!(err.contains("no one"), "{err}");
    properties::e1_safety(&sim, None).unwrap();
    assert!(sim.nodes().all(|(_, node)| node.leader().is_none()));
}

#[test]
fn dsys_sim_ring_election_judges_e1_and_e2_and_takes_crashes() {
    let options = SimOptions {
        nodes: 6,
        seed: 0b101101,
        reorder: true,
        ..SimOptions::default()
    };
    let outcome = (ring::ALGORITHM.run)(&options).unwrap();
    assert!(outcome.report.passed(), "{}", outcome.report);
    assert!(outcome
        .report
        .verdicts
        .iter()
        .all(|(_, v)| *v == Verdict::Holds));

    let options = SimOptions {
        crashes: vec!["3@2".parse().unwrap()],
        ..options
    };
    let outcome = (ring::ALGORITHM.run)(&options).unwrap();
    assert!(outcome.report.passed(), "{}", outcome.report);
    assert!(matches!(outcome.report.verdicts[1].1, Verdict::Skipped(_)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    // A lone start by `ns` costs exactly 3N − 1 − s: N − 1 − s hops until
    // the highest id takes over, N for it to go round, N for `Elected`.
    #[test]
    fn a_lone_start_costs_3n_minus_1_minus_the_starter_id(n in 2usize..16, s in 0u32..16, seed in any::<u64>()) {
        let s = s % n as u32;
        let sim = run(n, seed, RingConfig::started_by(&[NodeId(s)]), LinkConfig::default());
        prop_assert_eq!(sim.metrics().sent, 3 * n as u64 - 1 - u64::from(s));
        prop_assert!(properties::e2_liveness(sim.states()).is_ok());
    }
}

#[test]
fn the_model_checker_finds_no_bad_state_and_catches_keeping_the_smaller_id() {
    use dsys_election::ring::{model, Keep};
    for nodes in 2..=4 {
        let report = model(nodes, Keep::Larger).check();
        assert!(report.passed() && report.exhaustive, "{report}");
    }
    let broken = model(3, Keep::Smaller).check();
    let (name, path) = broken.counterexample().expect("E1 is broken");
    assert_eq!(name, "E1", "{broken}");
    println!(
        "ring election keeping the smaller id: E1 broken in {} steps",
        path.len()
    );
    // n0's id goes round the ring of three: three deliveries at least.
    assert!((3..=6).contains(&path.len()), "{broken}");
}
