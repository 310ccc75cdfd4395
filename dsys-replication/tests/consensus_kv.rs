//! The key-value store over Raft and over Multi-Paxos, judged from the
//! outside like the other backends: the same front ends and workload, the
//! same faults (lossy, duplicating, reordering links; the leader cut off
//! from the majority; a crash and restart from stable storage), and every
//! history must be linearizable. A majority of three tolerates one replica
//! down or cut off at a time.

use crate::faults;

use dsys_consensus::multi_paxos::MultiPaxosConfig;
use dsys_consensus::raft::RaftConfig;
use dsys_core::rand::{RngExt, SeedableRng};
use dsys_core::sim::Simulation;
use dsys_core::testing::check_seeds;
use dsys_core::{NodeId, NodeRng};
use dsys_replication::kv::consensus::{multi_paxos_factory, raft_factory};
use dsys_replication::kv::simulate::{drive, Counts, Workload};
use dsys_replication::kv::Replica;

/// Lossy links, n0 cut off from the others for a while, and one replica
/// crashed and restarted (faults drawn from the seed).
fn run<R: Replica>(seed: u64, sim: &mut Simulation<R>) -> Result<Counts, String> {
    let mut rng = NodeRng::seed_from_u64(seed ^ 0xc0de);
    faults::lossy(sim);
    let healed = faults::cut_off(sim, &mut rng, NodeId(0), 300..1_000, 300..700);
    let victim = NodeId(rng.random_range(0..3));
    faults::crash(sim, &mut rng, victim, healed, 100..600, Some(100..400));
    let outcome = drive(sim, &Workload::default(), seed).map_err(|e| e.to_string())?;
    faults::answered_and_linearizable(&outcome)
}

fn print_totals(backend: &str, totals: &[Counts]) {
    let sum = |f: fn(&Counts) -> u64| totals.iter().map(f).sum::<u64>();
    println!(
        "{backend}, {} seeds: {} calls, {} ok, {} failed, {} indeterminate; every history linearizable",
        totals.len(),
        sum(|c| c.calls),
        sum(|c| c.ok),
        sum(|c| c.failed),
        sum(|c| c.indeterminate)
    );
}

#[test]
fn the_store_over_raft_is_linearizable_through_partitions_and_crashes() {
    let mut totals = Vec::new();
    check_seeds(0..300, |seed| {
        let mut sim = Simulation::new(3, seed, raft_factory(RaftConfig::default()));
        run(seed, &mut sim).map(|c| totals.push(c))
    });
    print_totals("raft", &totals);
}

#[test]
fn the_store_over_multi_paxos_is_linearizable_through_partitions_and_crashes() {
    let mut totals = Vec::new();
    check_seeds(0..300, |seed| {
        let mut sim = Simulation::new(3, seed, multi_paxos_factory(MultiPaxosConfig::default()));
        run(seed, &mut sim).map(|c| totals.push(c))
    });
    print_totals("multi-paxos", &totals);
}
