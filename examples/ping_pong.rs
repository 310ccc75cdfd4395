//! Ping-pong in the simulator: five nodes ping each other every 100 ms while
//! the network loses messages and a partition cuts the cluster in two, then
//! heals. Shows how to build a simulation, inject faults with a script, check
//! an invariant after every event, and read the metrics and events.
//!
//! Run it with `cargo run --example ping_pong` (add `-- SEED` to try another
//! seed: the same seed always prints the same thing).

use std::time::Duration;

use dsys::core::ping_pong::{replies_match_pings, Event, PingPong, PingPongConfig};
use dsys::core::sim::{LinkConfig, Script, Simulation};
use dsys::core::NodeId;

fn main() -> anyhow::Result<()> {
    let seed = std::env::args()
        .nth(1)
        .map(|s| s.parse::<u64>())
        .transpose()?
        .unwrap_or(7);
    let config = PingPongConfig {
        rounds: 10,
        ..PingPongConfig::default()
    };
    let mut sim = Simulation::new(5, seed, move |_| PingPong::new(config));
    sim.set_all_links(LinkConfig::default().with_loss(0.05))?;
    let (left, right) = ([NodeId(0), NodeId(1)], [NodeId(2), NodeId(3), NodeId(4)]);
    sim.schedule(
        &Script::new()
            .wait(Duration::from_millis(250))
            .partition(&left, &right)
            .wait(Duration::from_millis(400))
            .heal(),
    )?;
    sim.invariant("validity", replies_match_pings);
    sim.run_until(Duration::from_secs(2))?;

    println!("ping-pong, 5 nodes, seed {seed}: 5% loss, partition {{n0,n1}} | {{n2,n3,n4}} from 250 ms to 650 ms\n");
    println!("rounds answered by each peer (10 pinged; rounds 3-6 fall in the partition):");
    for (id, node) in sim.nodes() {
        let per_peer: Vec<String> = node
            .peers()
            .iter()
            .map(|(peer, state)| format!("{peer}:{:>2}", state.answered_count))
            .collect();
        println!("  {id}  {}", per_peer.join("  "));
    }
    println!("\nrounds every peer answered (RoundComplete events):");
    for id in sim.ids() {
        let rounds: Vec<u32> = sim
            .events(id)
            .iter()
            .map(|e| match e.event {
                Event::RoundComplete { round } => round,
            })
            .collect();
        println!("  {id}  {rounds:?}");
    }
    println!("\n{}", sim.metrics());
    println!(
        "validity (no pong for a round never pinged) held after every one of {} events.",
        sim.events_processed()
    );
    Ok(())
}
