//! Ricart & Agrawala in the simulator: ME1–ME3 over 300 seeds, the
//! checkers catching two broken variants, and a crashed peer blocking
//! everyone.

use std::time::Duration;

use dsys_core::scenario::SimOptions;
use dsys_core::sim::{Latency, LinkConfig, Simulation};
use dsys_core::testing::check_properties;
use dsys_core::NodeId;
use dsys_mutex::properties::{me1_states, me1_trace, me2_trace, me3_trace};
use dsys_mutex::ricart_agrawala::{Defect, RicartAgrawala, ALGORITHM};
use dsys_mutex::workload::Workload;
use dsys_mutex::Request;

fn options(seed: u64) -> SimOptions {
    SimOptions {
        nodes: 2 + (seed % 6) as usize,
        seed,
        reorder: true, // the algorithm does not assume FIFO links
        latency: "1..30".parse().unwrap(),
        ..SimOptions::default()
    }
}

// Ricart & Agrawala 1981, Theorems 1-3: ME1–ME3 on delayed, reordered links.
#[test]
fn me1_to_me3_hold_over_300_seeds() {
    check_properties(&ALGORITHM, 0..300, options, |_| true);
}

#[test]
fn the_checkers_catch_replies_from_inside_the_section() {
    // Two processes, long holds: one asks while the other is inside. (With
    // more, a waiting peer with an older request defers the newcomer and
    // can hide the bug for a whole run.)
    let busy = Workload {
        rounds: 4,
        hold: Duration::from_millis(30),
        think_max: Duration::from_millis(10),
        ..Workload::default()
    };
    for seed in 0..20 {
        let link = LinkConfig::reliable(Latency::Uniform {
            min: Duration::from_millis(1),
            max: Duration::from_millis(5),
        });
        let mut sim = Simulation::new(2, seed, |_| {
            RicartAgrawala::broken(Defect::RepliesInSection)
        });
        sim.set_all_links(link).unwrap();
        sim.enable_trace();
        busy.install(&mut sim).unwrap();
        sim.run_until(Duration::from_secs(1)).unwrap();
        let why = me1_trace(sim.trace().unwrap()).expect_err(&format!("seed {seed}"));
        assert!(why.starts_with("ME1"), "{why}");

        let mut sim = Simulation::new(2, seed, |_| {
            RicartAgrawala::broken(Defect::RepliesInSection)
        });
        sim.set_all_links(link).unwrap();
        busy.install(&mut sim).unwrap();
        sim.invariant("ME1", me1_states::<RicartAgrawala>);
        assert!(
            sim.run_until(Duration::from_secs(1)).is_err(),
            "seed {seed}: the invariant missed it"
        );
    }
}

/// n0 holds the section from 10 to 40; n2 asks at 12; n1 hears of it at
/// 17 and asks at 18, so n2's request happened-before n1's.
fn causal_pair(node: RicartAgrawala) -> Simulation<RicartAgrawala> {
    let mut sim = Simulation::new(3, 1, move |_| node.clone());
    sim.set_all_links(LinkConfig::reliable(Latency::Fixed(Duration::from_millis(
        5,
    ))))
    .unwrap();
    sim.enable_trace();
    let ms = Duration::from_millis;
    sim.request_at(ms(0), NodeId(0), Request::Enter).unwrap();
    sim.request_at(ms(12), NodeId(2), Request::Enter).unwrap();
    sim.request_at(ms(18), NodeId(1), Request::Enter).unwrap();
    sim.request_at(ms(40), NodeId(0), Request::Exit).unwrap();
    sim.request_at(ms(100), NodeId(1), Request::Exit).unwrap();
    sim.request_at(ms(100), NodeId(2), Request::Exit).unwrap();
    sim.run_until(ms(300)).unwrap();
    sim
}

#[test]
fn timestamps_order_a_causal_pair_and_id_only_priority_is_caught() {
    let sim = causal_pair(RicartAgrawala::new());
    let trace = sim.trace().unwrap();
    assert_eq!(me1_trace(trace), Ok(()));
    assert_eq!(me2_trace(trace), Ok(()));
    assert_eq!(me3_trace(trace), Ok(()));
    let order: Vec<NodeId> = sim
        .all_events()
        .iter()
        .filter(|(_, e)| e.event == dsys_mutex::Event::Entered)
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(
        order,
        vec![NodeId(0), NodeId(2), NodeId(1)],
        "n2 (earlier) enters before n1"
    );

    // Without timestamps n1 replied to n2 while idle, and n2 replies to n1
    // because n1's id is smaller: both get every reply.
    let sim = causal_pair(RicartAgrawala::broken(Defect::IgnoresTimestamps));
    let why = me1_trace(sim.trace().unwrap()).unwrap_err();
    assert!(why.starts_with("ME1"), "{why}");
}

#[test]
fn a_crashed_peer_blocks_everyone() {
    let options = SimOptions {
        nodes: 4,
        crashes: vec!["3@0".parse().unwrap()],
        ..SimOptions::default()
    };
    let mut sim = Simulation::new(4, 5, |_| RicartAgrawala::new());
    sim.set_all_links(options.link()).unwrap();
    sim.enable_trace();
    sim.schedule(&options.script()).unwrap();
    Workload::default().install(&mut sim).unwrap();
    sim.run_until(Duration::from_secs(2)).unwrap();
    let trace = sim.trace().unwrap();
    assert_eq!(me1_trace(trace), Ok(()), "safety survives the crash");
    let why = me2_trace(trace).unwrap_err();
    for peer in ["n0", "n1", "n2"] {
        assert!(
            why.contains(peer),
            "{peer} should be blocked waiting for n3's reply: {why}"
        );
    }
    let report = (ALGORITHM.run)(&options).unwrap().report;
    assert!(
        report.passed(),
        "ME2 is skipped, not violated, outside its assumptions:\n{report}"
    );
}

#[test]
fn measured_costs_match_the_textbook() {
    for n in [3, 5] {
        let costs = dsys_mutex::cost::measure(n, |_| RicartAgrawala::new()).unwrap();
        let two_n_minus_2 = 2.0 * (n as f64 - 1.0);
        assert_eq!(
            (costs.enter_messages.min, costs.enter_messages.max),
            (two_n_minus_2, two_n_minus_2)
        );
        assert_eq!(
            costs.exit_messages.max, 0.0,
            "uncontended: no deferred reply"
        );
        assert_eq!(costs.client_delay.max, 2.0);
        assert_eq!((costs.sync_delay.min, costs.sync_delay.max), (1.0, 1.0));
    }
}
