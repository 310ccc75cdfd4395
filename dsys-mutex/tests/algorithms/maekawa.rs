//! Maekawa in the simulator: ME1 and ME2 over 300 seeds (no deadlock under
//! contention), ME3 judged, a crashed voter blocking its sets, measured
//! costs.

use std::time::Duration;

use dsys_core::scenario::SimOptions;
use dsys_core::sim::Simulation;
use dsys_core::testing::{check_properties, check_seeds};
use dsys_core::NodeId;
use dsys_mutex::maekawa::{voting_set, Defect, Maekawa, ALGORITHM};
use dsys_mutex::properties::{me1_trace, me2_trace};
use dsys_mutex::workload::Workload;

fn options(seed: u64) -> SimOptions {
    SimOptions {
        nodes: 2 + (seed % 9) as usize,
        seed,
        latency: "1..30".parse().unwrap(), // FIFO links: the algorithm assumes them
        ..SimOptions::default()
    }
}

#[test]
fn voting_sets_pairwise_intersect() {
    for n in 1..=30 {
        let sets: Vec<Vec<NodeId>> = (0..n as u32).map(|i| voting_set(NodeId(i), n)).collect();
        let width = (1..=n).find(|w| w * w >= n).unwrap();
        for (i, a) in sets.iter().enumerate() {
            assert!(a.contains(&NodeId(i as u32)));
            assert!(a.len() < 2 * width);
            for b in &sets {
                assert!(
                    a.iter().any(|x| b.contains(x)),
                    "n = {n}: {a:?} and {b:?} are disjoint"
                );
            }
        }
    }
}

// Maekawa 1985 §3, Sanders 1987: ME1 and ME2 (no deadlock).
#[test]
fn me1_and_me2_hold_over_300_seeds() {
    check_properties(&ALGORITHM, 0..300, options, |name| !name.starts_with("ME3"));
}

#[test]
fn no_deadlock_under_heavy_contention() {
    let busy = Workload {
        rounds: 5,
        hold: Duration::from_millis(3),
        think_max: Duration::from_millis(2),
        ..Workload::default()
    };
    check_seeds(0..100, |seed| {
        let mut sim = Simulation::new(9, seed, |_| Maekawa::new());
        sim.enable_trace();
        busy.install(&mut sim).map_err(|e| e.to_string())?;
        sim.invariant("ME1", dsys_mutex::properties::me1_states::<Maekawa>);
        sim.run_until(Duration::from_secs(5))
            .map_err(|e| e.to_string())?;
        let trace = sim.trace().unwrap();
        me1_trace(trace)?;
        me2_trace(trace)
    });
}

#[test]
fn me2_catches_the_deadlock_of_maekawas_original_rules() {
    let busy = Workload {
        rounds: 5,
        hold: Duration::from_millis(3),
        think_max: Duration::from_millis(2),
        ..Workload::default()
    };
    let mut deadlocks = 0;
    for seed in 0..50 {
        let mut sim = Simulation::new(9, seed, |_| Maekawa::broken(Defect::NoInquire));
        sim.enable_trace();
        busy.install(&mut sim).unwrap();
        sim.run_until(Duration::from_secs(5)).unwrap();
        let trace = sim.trace().unwrap();
        assert_eq!(
            me1_trace(trace),
            Ok(()),
            "seed {seed}: voting alone keeps ME1"
        );
        if let Err(why) = me2_trace(trace) {
            assert!(why.starts_with("ME2"), "{why}");
            deadlocks += 1;
        }
    }
    assert!(
        deadlocks >= 10,
        "only {deadlocks} of 50 contended runs deadlocked"
    );
}

#[test]
fn a_crashed_voter_blocks_the_sets_it_is_in() {
    let options = SimOptions {
        nodes: 9,
        crashes: vec!["4@0".parse().unwrap()],
        ..SimOptions::default()
    };
    let mut sim = Simulation::new(9, 1, |_| Maekawa::new());
    sim.enable_trace();
    sim.schedule(&options.script()).unwrap();
    Workload::default().install(&mut sim).unwrap();
    sim.run_until(Duration::from_secs(2)).unwrap();
    let trace = sim.trace().unwrap();
    assert_eq!(me1_trace(trace), Ok(()));
    let why = me2_trace(trace).unwrap_err();
    // n4 is in the row {3, 5} and the column {1, 7}: those block.
    for blocked in ["n1", "n3", "n5", "n7"] {
        assert!(why.contains(blocked), "{blocked} should be blocked: {why}");
    }
}

#[test]
fn measured_costs() {
    for (n, k) in [(4, 3.0), (9, 5.0)] {
        let costs = dsys_mutex::cost::measure(n, |_| Maekawa::new()).unwrap();
        assert_eq!(costs.enter_messages.max, 2.0 * (k - 1.0), "{costs:?}");
        assert_eq!(costs.exit_messages.max, k - 1.0, "{costs:?}");
        assert_eq!(costs.client_delay.max, 2.0, "{costs:?}");
        assert_eq!(costs.sync_delay.max, 2.0, "{costs:?}");
    }
}
