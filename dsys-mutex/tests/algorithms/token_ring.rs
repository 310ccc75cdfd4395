//! Token ring in the simulator: ME1–ME3 over 300 seeds, a lost token
//! stopping the ring, a duplicated token caught by ME1, measured costs.

use std::time::Duration;

use dsys_core::scenario::SimOptions;
use dsys_core::sim::{LinkConfig, Simulation};
use dsys_core::testing::check_properties;
use dsys_core::NodeId;
use dsys_mutex::properties::{me1_states, me1_trace, me2_trace};
use dsys_mutex::token_ring::{TokenRing, ALGORITHM};
use dsys_mutex::workload::Workload;

fn options(seed: u64) -> SimOptions {
    SimOptions {
        nodes: 2 + (seed % 6) as usize,
        seed,
        reorder: true, // harmless: one message in flight at a time
        latency: "1..30".parse().unwrap(),
        until: Duration::from_secs(1),
        ..SimOptions::default()
    }
}

// Coulouris §15.2.2: ME1–ME3 on delayed, reordered links.
#[test]
fn me1_to_me3_hold_over_300_seeds() {
    check_properties(&ALGORITHM, 0..300, options, |_| true);
}

#[test]
fn a_lost_token_stops_the_ring() {
    let mut sim = Simulation::new(4, 2, |_| TokenRing::new());
    sim.enable_trace();
    // The link n2 -> n3 is cut for a moment: the token crossing it is lost.
    sim.cut_link(NodeId(2), NodeId(3)).unwrap();
    sim.call_at(Duration::from_millis(100), |sim| {
        sim.restore_link(NodeId(2), NodeId(3)).unwrap()
    });
    Workload {
        think_max: Duration::from_millis(200),
        ..Workload::default()
    }
    .install(&mut sim)
    .unwrap();
    sim.run_until(Duration::from_secs(2)).unwrap();
    let trace = sim.trace().unwrap();
    assert_eq!(me1_trace(trace), Ok(()));
    let why = me2_trace(trace).unwrap_err();
    for node in ["n0", "n1", "n2", "n3"] {
        assert!(
            why.contains(node),
            "{node} should wait forever for the lost token: {why}"
        );
    }
    assert_eq!(
        sim.metrics().sent,
        3,
        "the token made three hops, then vanished"
    );
}

#[test]
fn me1_catches_a_duplicated_token() {
    let busy = Workload {
        rounds: 5,
        hold: Duration::from_millis(20),
        ..Workload::default()
    };
    let mut caught = 0;
    for seed in 0..20 {
        let mut sim = Simulation::new(4, seed, |_| TokenRing::new());
        sim.set_all_links(LinkConfig::default().with_duplicate(0.2))
            .unwrap();
        sim.enable_trace();
        busy.install(&mut sim).unwrap();
        sim.invariant("ME1", me1_states::<TokenRing>);
        if sim.run_until(Duration::from_secs(1)).is_err() {
            caught += 1;
        }
    }
    assert!(
        caught >= 15,
        "a ring with copied tokens broke ME1 in only {caught} of 20 runs"
    );
}

#[test]
fn measured_costs_match_the_textbook() {
    for n in [3, 5] {
        let costs = dsys_mutex::cost::measure(n, |_| TokenRing::new()).unwrap();
        let last = n as f64 - 1.0;
        assert!(
            costs.enter_messages.min >= 0.0 && costs.enter_messages.max <= last,
            "{costs:?}"
        );
        assert_eq!(costs.exit_messages.max, 1.0);
        assert!(costs.client_delay.max <= n as f64, "{costs:?}");
        assert_eq!((costs.sync_delay.min, costs.sync_delay.max), (1.0, last));
    }
}
