//! Multi-Paxos in the simulator: log agreement and state machine safety
//! after every event, the consensus properties per slot, validity and
//! liveness over 500 seeds with loss, duplication, reordering, partitions
//! and crash-restart; a broken leader caught; one state machine on Raft
//! and Multi-Paxos alike.

use std::time::Duration;

use dsys_consensus::multi_paxos::properties::LogAgreement;
use dsys_consensus::multi_paxos::simulation::{
    cluster, current_leader, drive_client, message_counts, ALGORITHM,
};
use dsys_consensus::multi_paxos::{
    Defect, Entry, MultiPaxos, MultiPaxosConfig, MultiPaxosEvent, MultiPaxosRequest,
};
use dsys_consensus::raft::{AppendLog, MemStorage, Raft, RaftConfig, RaftEvent, RaftRequest};
use dsys_consensus::stable::Stable;
use dsys_core::scenario::{NodeAt, PartitionSpec, SimOptions};
use dsys_core::sim::{Fault, LinkConfig, Simulation};
use dsys_core::testing::check_properties;
use dsys_core::NodeId;

fn faulty(seed: u64) -> SimOptions {
    let nodes = if seed.is_multiple_of(2) { 3 } else { 5 };
    let ms = Duration::from_millis;
    let victim = NodeId((seed % nodes as u64) as u32); // the leader, sometimes
    let cut = NodeId(((seed + 1) % nodes as u64) as u32);
    let others: Vec<NodeId> = (0..nodes as u32)
        .map(NodeId)
        .filter(|&n| n != cut)
        .collect();
    SimOptions {
        nodes,
        seed,
        loss: 0.05,
        duplicate: 0.05,
        reorder: true,
        latency: "1..15".parse().unwrap(),
        crashes: vec![NodeAt {
            node: victim,
            at: ms(300 + seed % 200),
        }],
        restarts: vec![NodeAt {
            node: victim,
            at: ms(900),
        }],
        partitions: vec![PartitionSpec {
            a: vec![cut],
            b: others,
            from: ms(1200),
            to: Some(ms(1600)),
        }],
        until: Duration::from_millis(4800),
        ..SimOptions::default()
    }
}

// Paxos Made Simple §3: one value per slot, the same state for the same
// prefix, after every event; per slot Agreement, Integrity, Termination;
// validity; liveness once faults stop.
#[test]
fn the_log_is_safe_and_live_over_500_faulty_seeds() {
    check_properties(&ALGORITHM, 0..500, faulty, |_| true);
}

#[test]
fn a_leader_that_ignores_accepted_values_is_caught() {
    let broken = MultiPaxosConfig {
        defect: Some(Defect::IgnoresAcceptedValues),
        ..MultiPaxosConfig::default()
    };
    let mut caught = 0;
    for seed in 0..40 {
        let mut sim = Simulation::new(3, seed, cluster(broken.clone()));
        sim.set_all_links(LinkConfig::default().with_loss(0.2))
            .unwrap();
        let mut agreement = LogAgreement::new();
        sim.invariant("log agreement", move |nodes| agreement.check(nodes));
        drive_client(
            &mut sim,
            Duration::from_millis(50),
            Duration::from_secs(2),
            Duration::from_millis(5),
        );
        let ms = Duration::from_millis;
        sim.fault_at(ms(400), Fault::Crash(NodeId(0))).unwrap();
        sim.fault_at(ms(1000), Fault::Restart(NodeId(0))).unwrap();
        if let Err(e) = sim.run_until(Duration::from_secs(3)) {
            assert!(e.to_string().contains("slot"), "{e}");
            caught += 1;
        }
    }
    assert!(caught > 0, "no seed out of 40 exposed the broken leader");
    println!("the broken leader was caught in {caught} of 40 seeds");
}

// The leader is found by the failure detector: n0 leads from the start;
// once it crashes and is suspected, n1 (the lowest id nobody suspects)
// takes over with one phase 1 and fills what n0 left open; n0 returns,
// catches up, and leads again.
#[test]
fn leader_failure_is_detected_and_a_restarted_replica_catches_up() {
    let mut sim = Simulation::new(3, 11, cluster(MultiPaxosConfig::default()));
    let mut agreement = LogAgreement::new();
    sim.invariant("log agreement", move |nodes| agreement.check(nodes));
    drive_client(
        &mut sim,
        Duration::from_millis(50),
        Duration::from_millis(2500),
        Duration::from_millis(10),
    );
    sim.run_until(Duration::from_millis(500)).unwrap();
    assert_eq!(current_leader(&sim), Some(NodeId(0)));
    sim.crash(NodeId(0)).unwrap();
    sim.run_until(Duration::from_millis(1000)).unwrap();
    assert_eq!(current_leader(&sim), Some(NodeId(1)));
    let elected = sim
        .events(NodeId(1))
        .iter()
        .filter(|e| matches!(e.event, MultiPaxosEvent::Elected { .. }))
        .count();
    assert_eq!(elected, 1, "one phase 1 for all later slots");
    sim.restart(NodeId(0)).unwrap();
    sim.run_until(Duration::from_secs(3)).unwrap();
    let first_unchosen = sim.node(NodeId(1)).unwrap().first_unchosen();
    assert!(first_unchosen > 200, "{first_unchosen}");
    for (id, r) in sim.nodes() {
        assert_eq!(r.first_unchosen(), first_unchosen, "{id} caught up");
        assert_eq!(r.applied() + 1, first_unchosen, "{id} applied everything");
    }
    assert_eq!(
        current_leader(&sim),
        Some(NodeId(0)),
        "n0 leads again once trusted"
    );
}

// Batching: commands arriving while the pipeline is full share a slot.
#[test]
fn a_full_pipeline_batches_commands_into_one_slot() {
    let config = MultiPaxosConfig {
        pipeline_max: 1,
        ..MultiPaxosConfig::default()
    };
    let mut sim = Simulation::new(3, 2, cluster(config));
    sim.run_until(Duration::from_millis(100)).unwrap();
    for id in 1..=10 {
        sim.request(
            NodeId(0),
            MultiPaxosRequest::Propose {
                id: id.into(),
                command: id,
            },
        )
        .unwrap();
    }
    sim.run_for(Duration::from_millis(100)).unwrap();
    let leader = sim.node(NodeId(0)).unwrap();
    let batches: Vec<usize> = leader
        .log()
        .iter()
        .map(|e| match e {
            Entry::Batch(commands) => commands.len(),
            Entry::Noop => 0,
        })
        .collect();
    assert_eq!(
        batches,
        vec![1, 9],
        "the first goes alone, the other nine wait together"
    );
    assert_eq!(leader.state_machine().value, 55);
    assert_eq!(
        sim.metrics().kind("Accept").unwrap().sent,
        2 * 2,
        "(n − 1) Accept per slot"
    );
}

// One state machine, two consensus algorithms: the same AppendLog runs
// under Raft and under Multi-Paxos, and ends the same.
#[test]
fn the_same_state_machine_runs_on_raft_and_on_multi_paxos() {
    let values = ["x=1", "y=2", "x=3"];
    let mut paxos = Simulation::new(3, 1, |_| {
        MultiPaxos::new(
            MultiPaxosConfig::default(),
            Stable::default(),
            AppendLog::default(),
        )
        .unwrap()
    });
    paxos.run_until(Duration::from_millis(100)).unwrap();
    for (id, v) in values.iter().enumerate() {
        let request = MultiPaxosRequest::Propose {
            id: id as u128,
            command: v.to_string(),
        };
        paxos.request(NodeId(0), request).unwrap();
    }
    paxos.run_for(Duration::from_millis(200)).unwrap();

    let mut raft = Simulation::new(3, 1, |_| {
        Raft::new(
            RaftConfig::default(),
            MemStorage::new(),
            AppendLog::default(),
        )
        .unwrap()
    });
    raft.run_until(Duration::from_secs(1)).unwrap();
    let (leader, _) = raft.nodes().find(|(_, n)| n.is_leader()).unwrap();
    for (id, v) in values.iter().enumerate() {
        let request = RaftRequest::Propose {
            id: id as u128,
            command: v.to_string(),
            session: None,
        };
        raft.request(leader, request).unwrap();
    }
    raft.run_for(Duration::from_millis(200)).unwrap();
    assert_eq!(
        raft.events(leader)
            .iter()
            .filter(|e| matches!(e.event, RaftEvent::Applied { .. }))
            .count(),
        3
    );
    for ((_, p), (_, r)) in paxos.nodes().zip(raft.nodes()) {
        assert_eq!(p.state_machine(), r.state_machine());
        assert_eq!(p.state_machine().values, values);
    }
}

// The module essay's message cost, counted: every Prepare, Accept,
// answer and Heartbeat a run sends is accounted for by the formulas
// `message_counts` prints beside them, under loss, duplication, a crash
// and restart of the leader and a partition.
#[test]
fn message_counts_equal_their_formulas_under_faults() {
    let ms = Duration::from_millis;
    for seed in 0..20 {
        let nodes = if seed % 2 == 0 { 3 } else { 5 };
        let config = MultiPaxosConfig {
            report_proposals: true,
            ..MultiPaxosConfig::default()
        };
        let mut sim = Simulation::new(nodes, seed, cluster(config));
        let link = LinkConfig::default().with_loss(0.1).with_duplicate(0.1);
        sim.set_all_links(link).unwrap();
        drive_client(&mut sim, ms(50), ms(2500), ms(5));
        sim.fault_at(ms(400), Fault::Crash(NodeId(0))).unwrap();
        sim.fault_at(ms(1000), Fault::Restart(NodeId(0))).unwrap();
        sim.fault_at(
            ms(1200),
            Fault::Partition(vec![NodeId(1)], vec![NodeId(0), NodeId(2)]),
        )
        .unwrap();
        sim.fault_at(ms(1500), Fault::Heal).unwrap();
        sim.run_until(ms(3000)).unwrap();
        let counts = message_counts(&sim);
        for (formula, measured, predicted) in &counts {
            assert_eq!(measured, predicted, "seed {seed}: {formula}");
        }
        let (_, accepts, _) = &counts[1];
        assert!(
            *accepts > 100,
            "seed {seed}: the client's commands were proposed"
        );
        let resent = sim
            .all_events()
            .iter()
            .any(|(_, e)| matches!(e.event, MultiPaxosEvent::Resent { .. }));
        assert!(resent, "seed {seed}: loss made the leader resend");
    }
}

// ----- the model checker (`dsys check multi-paxos`) -----------------------

#[test]
fn the_model_checker_finds_a_leader_that_ignores_accepted_values() {
    use crate::{counterexample, replayed_violation};
    use dsys_consensus::multi_paxos::model::model;

    // n0 has `+1` (request 1) chosen with n1's acceptance; n1 suspects n0
    // at its one tick, wins n2's promise, ignores its own accepted entry
    // and has request 2 chosen in slot 1 as well: eleven steps.
    let broken = || model(3, Some(Defect::IgnoresAcceptedValues));
    let report = broken().check();
    assert_eq!(counterexample(&report, "Log agreement"), 11, "{report}");
    let (_, path) = report.counterexample().unwrap();
    assert_eq!(path[5], "n1's timer Tick fires", "{report}");
    // The counterexample replays in the simulator to the same violation.
    let why = replayed_violation(&broken(), &report);
    assert!(why.starts_with("slot 1: "), "{why}");
}

#[test]
fn the_model_checker_holds_multi_paxos_safe_over_short_runs() {
    use dsys_consensus::multi_paxos::model::model;

    // Correct Multi-Paxos over every run of up to 8 steps, a leader change
    // included: the defect above needs 11. (11 steps are the ignored test
    // below; the whole space under the one timer firing is millions of
    // states of 3 KB each.)
    let report = model(3, None).depth_max(8).check();
    assert!(report.passed(), "{report}");
    assert!(!report.exhaustive, "{report}");
    assert_eq!(report.states, 64_905, "{report}");
}

/// Correct Multi-Paxos over every run of up to 11 steps, the length of the
/// defect's counterexample: 443,216 states, about 10 s and 1.5 GB (`cargo
/// test --release -p dsys-consensus --test consensus multi_paxos:: --
/// --ignored`).
#[test]
#[ignore = "a 443,216-state search: run with --ignored"]
fn the_model_checker_holds_multi_paxos_safe_over_eleven_steps() {
    let report = dsys_consensus::multi_paxos::model::model(3, None)
        .depth_max(11)
        .check();
    assert!(report.passed(), "{report}");
    assert_eq!(report.states, 443_216, "{report}");
}
