//! The heartbeat failure detector in the simulator: completeness and
//! accuracy over hundreds of seeds, with crashes, loss and partitions.

use std::time::Duration;

use dsys_core::failure_detector::{accuracy, completeness, Change, Heartbeat, HeartbeatConfig};
use dsys_core::rand::{RngExt, SeedableRng};
use dsys_core::sim::{Latency, LinkConfig, Script, Simulation};
use dsys_core::testing::check_seeds;
use dsys_core::NodeId;

const SEEDS: std::ops::Range<u64> = 0..200;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn cluster(nodes: usize, seed: u64, link: LinkConfig) -> Simulation<Heartbeat> {
    let config = HeartbeatConfig::default();
    let mut sim = Simulation::new(nodes, seed, move |_| Heartbeat::new(config));
    sim.set_all_links(link).unwrap();
    sim.enable_trace();
    sim
}

// Completeness: every crashed node is eventually suspected by every live
// node — even on a lossy network.
#[test]
fn crashed_nodes_are_suspected_by_every_live_node() {
    check_seeds(SEEDS, |seed| {
        let mut choose = dsys_core::NodeRng::seed_from_u64(seed);
        let victims: Vec<NodeId> = (0..choose.random_range(1..=2u32))
            .map(|_| NodeId(choose.random_range(0..5)))
            .collect();
        let mut sim = cluster(5, seed, LinkConfig::default().with_loss(0.1));
        let mut script = Script::new().wait(ms(choose.random_range(100..1500)));
        for &v in &victims {
            script = script.crash(v).wait(ms(choose.random_range(0..300)));
        }
        sim.schedule(&script).unwrap();
        sim.run_until(ms(3000)).map_err(|e| e.to_string())?;
        completeness(&sim, ms(10))?;
        // The checker is not vacuous here: every victim is down and suspected.
        for (id, node) in sim.nodes() {
            for v in &victims {
                if !node.detector().unwrap().is_suspected(*v) {
                    return Err(format!("{id} does not suspect crashed {v}"));
                }
            }
        }
        Ok::<(), String>(())
    });
}

// Accuracy: with every heartbeat arriving within timeout − period (here up
// to 140 ms against 200 − 50 = 150 ms), no live node is ever suspected.
#[test]
fn no_live_node_is_suspected_while_delays_stay_bounded() {
    check_seeds(SEEDS, |seed| {
        let link = LinkConfig::reliable(Latency::Uniform {
            min: ms(1),
            max: ms(140),
        });
        let mut sim = cluster(4, seed, link);
        sim.schedule(&Script::new().wait(ms(700)).crash(NodeId(3)))
            .unwrap();
        sim.run_until(ms(2500)).map_err(|e| e.to_string())?;
        accuracy(&sim)?;
        completeness(&sim, ms(140))
    });
}

// The accuracy checker can fail: delays beyond the bound make the detector
// suspect live nodes, and the checker says so.
#[test]
fn accuracy_checker_catches_false_suspicions_under_long_delays() {
    let link = LinkConfig::reliable(Latency::Uniform {
        min: ms(1),
        max: ms(400),
    })
    .with_ordering(dsys_core::sim::Ordering::Reorder);
    let mut sim = cluster(4, 3, link);
    sim.run_until(ms(3000)).unwrap();
    let error = accuracy(&sim).unwrap_err();
    assert!(error.contains("never crashed"), "{error}");
}

// The completeness checker can fail: a detector that forgets a suspicion (a
// hand-made bad state, as a broken detector would produce) is caught.
#[test]
fn completeness_checker_catches_a_forgotten_suspicion() {
    let mut sim = cluster(3, 1, LinkConfig::default());
    sim.schedule(&Script::new().wait(ms(100)).crash(NodeId(2)))
        .unwrap();
    sim.run_until(ms(1000)).unwrap();
    assert_eq!(completeness(&sim, ms(10)), Ok(()));
    let now = sim.local_time(NodeId(0)).unwrap();
    let detector = sim.node_mut(NodeId(0)).unwrap().detector_mut().unwrap();
    assert_eq!(
        detector.heartbeat(NodeId(2), now),
        Some(Change::Trust(NodeId(2)))
    );
    let error = completeness(&sim, ms(10)).unwrap_err();
    assert!(error.contains("n0 does not suspect n2"), "{error}");
}

// Partitions: each side suspects the other; after the heal everyone is
// trusted again, and the false suspicion raised the timeout (◇P).
#[test]
fn partition_causes_suspicions_that_heal_and_raise_timeouts() {
    check_seeds(0..50, |seed| {
        let mut sim = cluster(4, seed, LinkConfig::default());
        let (a, b) = ([NodeId(0), NodeId(1)], [NodeId(2), NodeId(3)]);
        sim.schedule(
            &Script::new()
                .wait(ms(300))
                .partition(&a, &b)
                .wait(ms(1000))
                .heal(),
        )
        .unwrap();
        sim.run_until(ms(1200)).map_err(|e| e.to_string())?;
        for x in a {
            let detector = sim.node(x).unwrap().detector().unwrap();
            if detector.suspects() != b.to_vec() {
                return Err(format!(
                    "{x} suspects {:?} during the partition",
                    detector.suspects()
                ));
            }
        }
        sim.run_until(ms(2000)).map_err(|e| e.to_string())?;
        for (id, node) in sim.nodes() {
            let detector = node.detector().unwrap();
            if !detector.suspects().is_empty() {
                return Err(format!(
                    "{id} still suspects {:?} after the heal",
                    detector.suspects()
                ));
            }
            let other_side = if a.contains(&id) { b } else { a };
            for peer in other_side {
                if detector.timeout_of(peer) != Some(ms(300)) {
                    return Err(format!("{id}'s timeout for {peer} did not grow"));
                }
                let trusted = sim
                    .events(id)
                    .iter()
                    .any(|e| e.event == Change::Trust(peer));
                if !trusted {
                    return Err(format!("{id} never emitted Trust({peer})"));
                }
            }
        }
        Ok(())
    });
}

// A suspicion is false if it came before the suspect crashed, even when the
// suspect crashes later: the checker compares the times.
#[test]
fn accuracy_checker_catches_a_suspicion_that_came_before_the_crash() {
    let link = LinkConfig::reliable(Latency::Uniform {
        min: ms(1),
        max: ms(400),
    })
    .with_ordering(dsys_core::sim::Ordering::Reorder);
    let mut sim = cluster(4, 3, link);
    sim.run_until(ms(3000)).unwrap();
    // Crash every node someone suspected: each suspicion now predates a crash.
    let suspected: Vec<NodeId> = sim
        .all_events()
        .iter()
        .filter_map(|(_, e)| match e.event {
            Change::Suspect(peer) => Some(peer),
            Change::Trust(_) => None,
        })
        .collect();
    assert!(!suspected.is_empty());
    for peer in suspected {
        sim.crash(peer).unwrap();
    }
    let error = accuracy(&sim).unwrap_err();
    assert!(error.contains("before"), "{error}");
}
