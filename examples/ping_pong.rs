//! Ping-pong, the same node in two runtimes: first in the deterministic
//! simulator and as actix actors on a reliable network (same counts), then in
//! the simulator again with 5% loss and a partition that heals, an invariant
//! checked after every event, and the metrics.
//!
//! Run it with `cargo run --example ping_pong` (add `-- SEED` to try another
//! seed: the simulated part prints the same thing for the same seed).

use std::time::Duration;

use dsys::core::ping_pong::{replies_match_pings, Event, PingPong, PingPongConfig};
use dsys::core::runtime::Cluster;
use dsys::core::sim::{LinkConfig, Script, Simulation};
use dsys::core::NodeId;

const NODES: usize = 5;

fn main() -> anyhow::Result<()> {
    let seed = std::env::args()
        .nth(1)
        .map(|s| s.parse::<u64>())
        .transpose()?
        .unwrap_or(7);
    let config = PingPongConfig {
        rounds: 10,
        interval: Duration::from_millis(20),
        closed_loop: false,
    };

    println!("== one node type, two runtimes: {NODES} nodes, 10 rounds, reliable network ==\n");
    let mut sim = Simulation::new(NODES, seed, move |_| PingPong::new(config));
    sim.run_until(Duration::from_secs(2))?;
    let simulated: Vec<u64> = sim.nodes().map(|(_, n)| n.replies()).collect();
    let actors = run_in_actix(config)?;
    println!("  node  pongs (simulator)  pongs (actix actors)");
    for (i, (s, a)) in simulated.iter().zip(&actors).enumerate() {
        println!("  n{i}    {s:>17}  {a:>20}");
    }
    println!(
        "\n  {}: every node got 10 rounds x {} peers = {} pongs in both runtimes.\n",
        if simulated == actors {
            "same"
        } else {
            "DIFFERENT"
        },
        NODES - 1,
        10 * (NODES - 1)
    );

    println!("== the simulator with faults (seed {seed}) ==");
    println!("  5% loss; partition {{n0,n1}} | {{n2,n3,n4}} from 50 ms to 130 ms\n");
    let mut sim = Simulation::new(NODES, seed, move |_| PingPong::new(config));
    sim.set_all_links(LinkConfig::default().with_loss(0.05))?;
    let (left, right) = ([NodeId(0), NodeId(1)], [NodeId(2), NodeId(3), NodeId(4)]);
    sim.schedule(
        &Script::new()
            .wait(Duration::from_millis(50))
            .partition(&left, &right)
            .wait(Duration::from_millis(80))
            .heal(),
    )?;
    sim.invariant("validity", replies_match_pings);
    sim.run_until(Duration::from_secs(2))?;

    println!("  rounds answered by each peer (10 pinged; rounds 3-6 fall in the partition):");
    for (id, node) in sim.nodes() {
        let per_peer: Vec<String> = node
            .peers()
            .iter()
            .map(|(peer, state)| format!("{peer}:{:>2}", state.answered_count))
            .collect();
        println!("    {id}  {}", per_peer.join("  "));
    }
    println!("\n  rounds every peer answered (RoundComplete events):");
    for id in sim.ids() {
        let rounds: Vec<u32> = sim
            .events(id)
            .iter()
            .map(|e| match e.event {
                Event::RoundComplete { round } => round,
            })
            .collect();
        println!("    {id}  {rounds:?}");
    }
    println!("\n{}", sim.metrics());
    println!(
        "validity (no pong for a round never pinged) held after every one of {} events.",
        sim.events_processed()
    );
    Ok(())
}

/// Runs the same nodes as actix actors until every round is complete
/// everywhere, and returns each node's pong count.
fn run_in_actix(config: PingPongConfig) -> anyhow::Result<Vec<u64>> {
    actix_rt::System::new().block_on(async move {
        let cluster = Cluster::builder(NODES).start(move |_| PingPong::new(config));
        let mut streams: Vec<_> = cluster.nodes().iter().map(|h| h.subscribe()).collect();
        let last = Event::RoundComplete {
            round: config.rounds - 1,
        };
        for events in &mut streams {
            while events.next().await? != last {}
        }
        let mut replies = Vec::new();
        for handle in cluster.nodes() {
            replies.push(handle.inspect(|n| n.replies()).await?);
        }
        cluster.stop();
        Ok(replies)
    })
}
