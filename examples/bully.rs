//! The bully algorithm: the highest live id leads; crashes are found by
//! timeouts; a recovered higher process bullies its way back.
//!
//! 1. Five processes start at once (concurrent elections): n4 wins.
//! 2. n4 crashes: n3 notices first (detection is staggered by rank) and
//!    announces itself — the best case, N − 2 = 3 messages.
//! 3. n4 recovers and takes over again.
//! 4. Best and worst case measured for N = 5, 8, 13 beside N − 2 and
//!    N² − N − 1 (the lowest process starts while the others still trust
//!    the crashed leader).
//! 5. Delays beyond the timeout assumption: n3's messages take 200 ms, the
//!    answer timeout is 50 ms. n2 takes n3 for dead and declares itself:
//!    two leaders, E1 violated — the trace shows how.
//!
//! Heartbeats are left out of the printed traces (they are counted apart).
//!
//! Run it with `cargo run --example bully`.

use std::time::Duration;

use dsys::core::failure_detector::HeartbeatConfig;
use dsys::core::sim::{Fault, Latency, LinkConfig, Simulation};
use dsys::core::NodeId;
use dsys::election::bully::{Bully, BullyConfig};
use dsys::election::{properties, ElectionRequest, Elector};

const MS: fn(u64) -> Duration = Duration::from_millis;

/// Election, Answer and Coordinator messages sent (not heartbeats).
fn election_messages(sim: &Simulation<Bully>) -> u64 {
    ["Election", "Answer", "Coordinator"]
        .iter()
        .filter_map(|k| sim.metrics().kind(k))
        .map(|k| k.sent)
        .sum()
}

fn print_state(sim: &Simulation<Bully>, answer_timeout: Duration) {
    let held: Vec<String> = sim
        .ids()
        .map(|id| match sim.node(id) {
            Some(node) => format!(
                "{id}→{}",
                node.leader().map_or("?".to_string(), |l| l.to_string())
            ),
            None => format!("{id}: down"),
        })
        .collect();
    println!("  leaders held: {}", held.join(" "));
    let e1 = properties::e1_safety(sim, Some(answer_timeout));
    let e2 = properties::e2_liveness(sim.states());
    for (name, verdict) in [("E1 safety", e1), ("E2 liveness", e2)] {
        match verdict {
            Ok(()) => println!("  {name:<12} holds"),
            Err(why) => println!("  {name:<12} VIOLATED: {why}"),
        }
    }
}

fn main() -> anyhow::Result<()> {
    let config = BullyConfig::default();
    println!(
        "heartbeat every {:?}; suspicion after {:?} + {:?} per rank; answer timeout {:?} (assumes one-way delays ≤ {:?})\n",
        config.heartbeat.period,
        config.heartbeat.timeout,
        config.detection_stagger,
        config.answer_timeout,
        config.answer_timeout / 2
    );

    let mut sim = Simulation::new(5, 1, move |_| Bully::new(config).unwrap());
    sim.enable_trace();
    sim.fault_at(MS(1000), Fault::Crash(NodeId(4)))?;
    sim.fault_at(MS(2500), Fault::Restart(NodeId(4)))?;

    println!("1. Five processes start at once, each starting an election\n");
    sim.run_until(MS(500))?;
    print!(
        "{}",
        sim.trace()
            .expect("tracing is on")
            .timeline()
            .hide("Heartbeat")
            .between(MS(0), MS(500))
    );
    let at_start = election_messages(&sim);
    println!("\n  election messages: {at_start}");
    print_state(&sim, config.answer_timeout);

    println!("\n2. n4, the leader, crashes at 1000 ms\n");
    sim.run_until(MS(2000))?;
    print!(
        "{}",
        sim.trace()
            .expect("tracing is on")
            .timeline()
            .hide("Heartbeat")
            .between(MS(500), MS(2000))
    );
    println!(
        "\n  election messages: {} (best case N − 2 = 3)",
        election_messages(&sim) - at_start
    );
    print_state(&sim, config.answer_timeout);

    println!("\n3. n4 recovers at 2500 ms and bullies n3\n");
    let before = election_messages(&sim);
    sim.run_until(MS(3000))?;
    print!(
        "{}",
        sim.trace()
            .expect("tracing is on")
            .timeline()
            .hide("Heartbeat")
            .between(MS(2000), MS(3000))
    );
    println!(
        "\n  election messages: {}",
        election_messages(&sim) - before
    );
    print_state(&sim, config.answer_timeout);

    println!("\n4. Message costs measured (the leader n(N−1) has crashed)\n");
    println!(
        "  {:>3}  {:>10}  {:>5}  {:>11}  {:>9}",
        "N", "best case", "N − 2", "worst case", "N² − N − 1"
    );
    for n in [5usize, 8, 13] {
        let settled = |timeout: Duration| BullyConfig {
            elect_on_start: false,
            initial_leader: Some(NodeId(n as u32 - 1)),
            heartbeat: HeartbeatConfig {
                timeout,
                ..HeartbeatConfig::default()
            },
            ..BullyConfig::default()
        };
        let best_config = settled(HeartbeatConfig::default().timeout);
        let mut best = Simulation::new(n, 1, move |_| Bully::new(best_config).unwrap());
        best.fault_at(MS(100), Fault::Crash(NodeId(n as u32 - 1)))?;
        best.run_until(MS(4000))?;
        // Nobody notices the crash by heartbeats; the lowest is asked to elect.
        let worst_config = settled(Duration::from_secs(60));
        let mut worst = Simulation::new(n, 1, move |_| Bully::new(worst_config).unwrap());
        worst.fault_at(MS(100), Fault::Crash(NodeId(n as u32 - 1)))?;
        worst.request_at(MS(200), NodeId(0), ElectionRequest::Start)?;
        worst.run_until(MS(2000))?;
        println!(
            "  {n:>3}  {:>10}  {:>5}  {:>11}  {:>9}",
            election_messages(&best),
            n - 2,
            election_messages(&worst),
            n * n - n - 1
        );
    }

    println!(
        "\n5. Delays beyond the timeout: n3's messages take 200 ms, the answer timeout is 50 ms\n"
    );
    let mut sim = Simulation::new(4, 1, move |_| Bully::new(config).unwrap());
    for to in 0..3 {
        sim.set_link(
            NodeId(3),
            NodeId(to),
            LinkConfig::reliable(Latency::Fixed(MS(200))),
        )?;
    }
    sim.enable_trace();
    sim.run_until(MS(150))?;
    print!(
        "{}",
        sim.trace()
            .expect("tracing is on")
            .timeline()
            .hide("Heartbeat")
            .between(MS(0), MS(150))
    );
    println!("\n  at 150 ms, two live processes hold themselves leader (E2 is 'eventually': judged mid-run here):");
    print_state(&sim, config.answer_timeout);
    sim.run_until(MS(1000))?;
    println!("\n  at 1000 ms, once n3's messages have arrived:");
    print_state(&sim, config.answer_timeout);
    println!(
        "\n  n2 could not tell a slow n3 from a crashed one: bully is only safe when its timeouts bound the delays."
    );
    Ok(())
}
