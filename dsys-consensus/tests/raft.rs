//! Raft under faults in the simulator: the five safety properties after
//! every event over many seeds, then liveness once the faults stop.
//!
//! A failing seed prints itself; `chaos(seed)` replays it exactly.

use std::time::Duration;

use dsys_consensus::raft::properties::{views, Checkers};
use dsys_consensus::raft::simulation::{
    await_liveness, cluster, current_leader, drive_client, SimRaft, SETTLE,
};
use dsys_consensus::raft::{Defect, MembershipChange, Payload, RaftConfig, RaftRequest};
use dsys_core::sim::{ClockConfig, Latency, LinkConfig, Ordering, Simulation};
use dsys_core::testing::check_seeds;
use dsys_core::NodeId;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const MS: fn(u64) -> Duration = Duration::from_millis;

/// Faults end here; the client stops here too, then the cluster has
/// [`SETTLE`] to converge.
const FAULTS_END: Duration = Duration::from_millis(3000);

/// One seeded run: a random fault mix, then a quiet phase and the liveness
/// check. The fault mix, not just the network's dice, comes from the seed.
fn chaos(seed: u64) -> Result<(), String> {
    chaos_with(seed, None)
}

fn chaos_with(seed: u64, defect: Option<Defect>) -> Result<(), String> {
    let mut dice = ChaCha8Rng::seed_from_u64(seed ^ 0x05ee_d0fc_4a05);
    let nodes = if dice.random_bool(0.5) { 3 } else { 5 };
    let config = RaftConfig {
        snapshot_threshold: 32,
        inflight_appends_max: dice.random_range(1..=4),
        append_entries_max: dice.random_range(4..=64),
        pre_vote: dice.random_bool(0.8),
        check_quorum: dice.random_bool(0.8),
        defect,
        ..RaftConfig::default()
    };
    let mut sim = Simulation::new(nodes, seed, cluster(config.clone()));
    let link = LinkConfig {
        latency: Latency::uniform_ms(1, dice.random_range(2..=15)),
        loss: dice.random_range(0.0..0.2),
        duplicate: dice.random_range(0.0..0.1),
        ordering: if dice.random_bool(0.5) {
            Ordering::Reorder
        } else {
            Ordering::Fifo
        },
    };
    sim.set_all_links(link).map_err(|e| e.to_string())?;
    for id in 0..nodes as u32 {
        let clock = ClockConfig {
            offset_ns: dice.random_range(-50_000_000..50_000_000),
            drift_ppm: dice.random_range(-2000.0..2000.0),
        };
        sim.set_clock(NodeId(id), clock)
            .map_err(|e| e.to_string())?;
    }
    let mut checkers = Checkers::new();
    sim.invariant("Raft safety", move |states| checkers.check(&views(states)));
    drive_client(&mut sim, MS(50), FAULTS_END, MS(10));

    // Faults one after another, each lasting a while.
    let mut at = MS(dice.random_range(100..400));
    while at < FAULTS_END {
        let length = MS(dice.random_range(100..700));
        let end = (at + length).min(FAULTS_END);
        let victim = NodeId(dice.random_range(0..nodes as u32));
        match dice.random_range(0..6) {
            // Remove a member (perhaps the leader), and add it back later as
            // a learner, then a voter (dissertation §4.1, §4.2.1). Only with
            // check-quorum: without its leases a removed server that missed
            // its removal keeps deposing leaders with higher terms (§4.2.3),
            // and liveness is lost by design.
            5 if config.check_quorum => {
                sim.call_at(at, move |sim| reconfigure(sim, victim, Goal::Removed, end));
                sim.call_at(end, move |sim| {
                    reconfigure(sim, victim, Goal::Voter, FAULTS_END + SETTLE)
                });
            }
            // Crash one node, restart it later with its storage.
            0 => {
                sim.call_at(at, move |sim| {
                    let _ = sim.crash(victim);
                });
                sim.call_at(end, move |sim| {
                    let _ = sim.restart(victim);
                });
            }
            // Crash the leader, restart it later.
            1 => {
                sim.call_at(at, move |sim| {
                    if let Some(leader) = current_leader(sim) {
                        let _ = sim.crash(leader);
                        sim.call_at(end, move |sim| {
                            let _ = sim.restart(leader);
                        });
                    }
                });
            }
            // Leave the leader in a minority: it keeps leading there for a
            // while, and must commit nothing.
            2 => {
                let minority = (nodes - 1) / 2;
                sim.call_at(at, move |sim| {
                    let Some(leader) = current_leader(sim) else {
                        return;
                    };
                    let mut side: Vec<NodeId> = vec![leader];
                    side.extend(sim.ids().filter(|&n| n != leader).take(minority - 1));
                    let rest: Vec<NodeId> = sim.ids().filter(|n| !side.contains(n)).collect();
                    let _ = sim.partition(&side, &rest);
                });
                sim.call_at(end, |sim| sim.heal());
            }
            // A random split.
            3 => {
                let cut = dice.random_range(1..nodes as u32);
                let a: Vec<NodeId> = (0..cut).map(NodeId).collect();
                let b: Vec<NodeId> = (cut..nodes as u32).map(NodeId).collect();
                sim.call_at(at, move |sim| {
                    let _ = sim.partition(&a, &b);
                });
                sim.call_at(end, |sim| sim.heal());
            }
            // One node cut off in one direction only.
            _ => {
                let other = NodeId((victim.0 + 1) % nodes as u32);
                sim.call_at(at, move |sim| {
                    let _ = sim.cut_link(victim, other);
                });
                sim.call_at(end, move |sim| {
                    let _ = sim.restore_link(victim, other);
                });
            }
        }
        at = end + MS(dice.random_range(50..300));
    }
    // Faults stop: everything heals, every node is up and a voter.
    sim.call_at(FAULTS_END, move |sim| {
        sim.heal();
        let down: Vec<NodeId> = sim.ids().filter(|&n| !sim.is_up(n)).collect();
        for n in down {
            let _ = sim.restart(n);
        }
        let all: Vec<NodeId> = sim.ids().collect();
        for n in all {
            reconfigure(sim, n, Goal::Voter, FAULTS_END + SETTLE);
        }
    });
    sim.run_until(FAULTS_END).map_err(|e| e.to_string())?;
    let liveness = await_liveness(&mut sim, FAULTS_END + SETTLE);
    liveness?;
    // Every server applied the same commands, exactly once per session.
    let values: Vec<u64> = sim
        .nodes()
        .map(|(_, n): (NodeId, &SimRaft)| n.state_machine().value)
        .collect();
    if values.windows(2).any(|w| w[0] != w[1]) {
        return Err(format!("counters differ after the quiet phase: {values:?}"));
    }
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Goal {
    Removed,
    Voter,
}

/// Asks whoever leads, every 50 ms, for the next single-server change
/// towards `goal` for `node`, until the leader's membership shows it or
/// `until` passes.
fn reconfigure(sim: &mut Simulation<SimRaft>, node: NodeId, goal: Goal, until: Duration) {
    let Some(leader) = current_leader(sim) else {
        return again(sim, node, goal, until);
    };
    let server = sim.node(leader).expect("the leader is up");
    let membership = server.membership().clone();
    // A change counts once committed: an uncommitted one may yet be undone
    // by the next leader.
    let settled = server
        .log()
        .entries()
        .filter(|e| e.index > server.commit_index())
        .all(|e| !matches!(e.payload, Payload::Membership(_)));
    let change = match goal {
        Goal::Removed if membership.contains(node) => MembershipChange::Remove(node),
        Goal::Voter if !membership.contains(node) => MembershipChange::AddLearner(node),
        Goal::Voter if !membership.voters.contains(&node) => MembershipChange::AddVoter(node),
        _ if settled => return,
        _ => return again(sim, node, goal, until),
    };
    let request = RaftRequest::ChangeMembership {
        id: u128::MAX,
        change,
    };
    let _ = sim.request(leader, request);
    again(sim, node, goal, until);
}

fn again(sim: &mut Simulation<SimRaft>, node: NodeId, goal: Goal, until: Duration) {
    let next = sim.now() + MS(50);
    if next < until {
        sim.call_at(next, move |sim| reconfigure(sim, node, goal, until));
    }
}

#[test]
fn five_safety_properties_and_liveness_hold_over_500_seeds() {
    check_seeds(0..500, chaos);
}

#[test]
#[ignore = "soak: 20,000 seeds, several minutes; run with --ignored"]
fn soak_20000_seeds() {
    check_seeds(500..20_500, chaos);
}
