//! Active replication judged from the outside. Ordered through the
//! sequencer, every history is linearizable, through loss, duplication,
//! reordering, a partition and a crash and restart of a replica. Gets
//! answered by one replica from its own copy (the lecture's setting) are
//! sequentially consistent but not linearizable: both verdicts come from
//! the checkers.

use crate::faults;

use std::time::Duration;

use dsys_core::rand::SeedableRng;
use dsys_core::sim::Simulation;
use dsys_core::testing::check_seeds;
use dsys_core::{NodeId, NodeRng};
use dsys_replication::active::{Active, ActiveConfig};
use dsys_replication::consistency::models::Kv;
use dsys_replication::consistency::report::{Budget, Verdict};
use dsys_replication::consistency::{check_linearizable, check_sequential};
use dsys_replication::kv::simulate::{drive, Outcome, Workload};
use dsys_replication::kv::Read;

/// Three replicas, n0 the sequencer, with lossy links, a partition of n2
/// and a crash and restart of n1 (faults drawn from the seed).
fn run(seed: u64, workload: &Workload) -> Outcome {
    let mut sim = Simulation::new(3, seed, |_| Active::new(ActiveConfig::default()));
    let mut rng = NodeRng::seed_from_u64(seed ^ 0xac71);
    faults::lossy(&mut sim);
    faults::cut_off(&mut sim, &mut rng, NodeId(2), 200..1_000, 200..600);
    let start = Duration::ZERO;
    faults::crash(
        &mut sim,
        &mut rng,
        NodeId(1),
        start,
        200..1_500,
        Some(50..500),
    );
    let outcome = drive(&mut sim, workload, seed).unwrap();
    // After the settling time every replica has caught up: one state.
    let sequencer = sim.node(NodeId(0)).unwrap().store().clone();
    for (id, replica) in sim.nodes() {
        assert_eq!(
            replica.store(),
            &sequencer,
            "seed {seed}: {id} did not converge to the sequencer's state"
        );
    }
    outcome
}

#[test]
fn ordered_through_the_sequencer_every_history_is_linearizable() {
    let mut totals = [0u64; 3];
    check_seeds(0..300, |seed| {
        let outcome = run(seed, &Workload::default());
        let c = faults::answered_and_linearizable(&outcome)?;
        totals[0] += c.calls;
        totals[1] += c.ok;
        totals[2] += c.indeterminate;
        Ok::<(), String>(())
    });
    println!(
        "300 seeds: {} calls, {} ok, {} indeterminate; every history linearizable",
        totals[0], totals[1], totals[2]
    );
}

/// Local reads, on histories small enough for the sequential consistency
/// checker (it has no per-key decomposition).
fn local_reads() -> Workload {
    Workload {
        read: Read::Local { min_index: 0 },
        reads_percent: 60,
        // Sequential consistency has no per-key decomposition: keep the
        // histories small enough for its search.
        call_chance: 0.05,
        duration: Duration::from_millis(1_500),
        ..Workload::default()
    }
}

#[test]
fn local_reads_are_sequentially_consistent_but_not_linearizable() {
    let workload = local_reads();
    let mut stale = Vec::new();
    check_seeds(0..100, |seed| {
        let outcome = run(seed, &workload);
        let sequential = check_sequential(&Kv, &outcome.history, Budget::default());
        if sequential.verdict != Verdict::Holds {
            return Err(format!("not sequentially consistent: {sequential}"));
        }
        let linearizable = check_linearizable(&Kv, &outcome.history, Budget::default());
        if linearizable.verdict == Verdict::Violated {
            stale.push(seed);
        }
        Ok::<(), String>(())
    });
    println!(
        "local reads: 100 seeds sequentially consistent; {} not linearizable (first: {:?})",
        stale.len(),
        stale.first()
    );
    assert!(
        stale.len() >= 10,
        "a lagging replica's local reads should often be stale: {stale:?}"
    );
}

#[test]
fn without_the_session_token_local_reads_are_not_even_sequentially_consistent() {
    let workload = Workload {
        session_tokens: false,
        ..local_reads()
    };
    let seed = (0..50).find(|&seed| {
        let outcome = run(seed, &workload);
        check_sequential(&Kv, &outcome.history, Budget::default()).verdict == Verdict::Violated
    });
    println!("without tokens: first history not sequentially consistent at seed {seed:?}");
    assert!(
        seed.is_some(),
        "a client reading an older copy than before went unnoticed"
    );
}
