//! Central server in the simulator: ME1–ME3 over 300 seeds, the checkers
//! catching a broken server, and a server crash stopping everyone.

use std::time::Duration;

use dsys_core::scenario::SimOptions;
use dsys_core::sim::{Latency, LinkConfig, Simulation};
use dsys_core::testing::check_properties;
use dsys_core::NodeId;
use dsys_mutex::central_server::{CentralServer, Defect, ALGORITHM};
use dsys_mutex::properties::{me1_states, me1_trace, me2_trace, me3_trace};
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

// Coulouris §15.2.2: ME1–ME3 on delayed, reordered links.
#[test]
fn me1_to_me3_hold_over_300_seeds() {
    check_properties(&ALGORITHM, 0..300, options, |_| true);
}

#[test]
fn the_checkers_catch_a_server_that_grants_twice() {
    // Long holds and short thinks: requests overlap in every run.
    let busy = Workload {
        rounds: 3,
        hold: Duration::from_millis(20),
        think_max: Duration::from_millis(5),
        ..Workload::default()
    };
    let mut caught = 0;
    for seed in 0..20 {
        let mut options = options(seed);
        options.nodes = 4;
        let mut sim = Simulation::new(4, seed, |_| {
            CentralServer::broken(NodeId(0), Defect::GrantsTwice)
        });
        sim.set_all_links(options.link()).unwrap();
        sim.enable_trace();
        busy.install(&mut sim).unwrap();
        sim.run_until(Duration::from_secs(1)).unwrap();
        let trace = sim.trace().unwrap();
        if let Err(why) = me1_trace(trace) {
            assert!(why.contains("ME1"), "{why}");
            caught += 1;
        }
        // The state invariant catches it too, and stops the run at once.
        let mut sim = Simulation::new(4, seed, |_| {
            CentralServer::broken(NodeId(0), Defect::GrantsTwice)
        });
        sim.set_all_links(options.link()).unwrap();
        busy.install(&mut sim).unwrap();
        sim.invariant("ME1", me1_states::<CentralServer>);
        assert!(
            sim.run_until(Duration::from_secs(1)).is_err(),
            "seed {seed}: the invariant missed a double grant"
        );
    }
    assert_eq!(caught, 20);
}

#[test]
fn me3_catches_a_lifo_server() {
    // n1 holds; n2 asks; the server's grant... a LIFO queue serves n3 (who
    // asked after hearing of n2's request, through the server) before n2.
    let mut sim = Simulation::new(4, 1, |_| {
        CentralServer::broken(NodeId(0), Defect::LifoQueue)
    });
    sim.set_all_links(LinkConfig::reliable(Latency::Fixed(Duration::from_millis(
        5,
    ))))
    .unwrap();
    sim.enable_trace();
    let ms = Duration::from_millis;
    sim.request_at(ms(0), NodeId(1), Request::Enter).unwrap(); // granted at 10
    sim.request_at(ms(20), NodeId(2), Request::Enter).unwrap(); // queued at 25
    sim.request_at(ms(30), NodeId(0), Request::Enter).unwrap(); // the server: after n2's request
    sim.request_at(ms(50), NodeId(1), Request::Exit).unwrap();
    sim.run_until(ms(200)).unwrap();
    let trace = sim.trace().unwrap();
    assert!(me1_trace(trace).is_ok());
    let why = me3_trace(trace).unwrap_err();
    assert!(why.starts_with("ME3: n2's request"), "{why}");
}

#[test]
fn a_crashed_server_stops_everyone() {
    let options = SimOptions {
        nodes: 4,
        crashes: vec!["0@1".parse().unwrap()],
        ..SimOptions::default()
    };
    let mut sim = Simulation::new(4, 3, |_| CentralServer::new(NodeId(0)));
    sim.set_all_links(options.link()).unwrap();
    sim.enable_trace();
    sim.schedule(&options.script()).unwrap();
    Workload::default().install(&mut sim).unwrap();
    sim.run_until(Duration::from_secs(2)).unwrap();
    let trace = sim.trace().unwrap();
    assert!(me1_trace(trace).is_ok(), "safety survives the crash");
    let why = me2_trace(trace).unwrap_err();
    for client in ["n1", "n2", "n3"] {
        assert!(why.contains(client), "{client} should starve: {why}");
    }
    // What `dsys sim central-server --crash 0@1` reports:
    let report = (ALGORITHM.run)(&options).unwrap().report;
    assert!(
        report.passed(),
        "ME2 is skipped, not violated, outside its assumptions:\n{report}"
    );
}
