//! Ricart & Agrawala: four peers each ask for the critical section twice.
//! The program prints who asked, who entered and exited when, every
//! message with its Lamport time, and the verdicts of ME1–ME3; then one
//! peer crashes and blocks everyone else (ME2 fails, ME1 still holds); then
//! a deliberately broken peer that replies from inside the section is
//! caught by ME1.
//!
//! Run it with `cargo run --example ricart_agrawala` (add `-- SEED` to try
//! another seed).

use std::time::Duration;

use dsys::core::scenario::SimOptions;
use dsys::core::sim::{Fault, Latency, LinkConfig, Simulation};
use dsys::core::trace::Trace;
use dsys::core::NodeId;
use dsys::mutex::properties::verdict_lines;
use dsys::mutex::ricart_agrawala::{Defect, RicartAgrawala, ALGORITHM};
use dsys::mutex::workload::Workload;
use dsys::mutex::Request;

const NODES: usize = 4;

fn run(seed: u64, crash: Option<(NodeId, Duration)>) -> anyhow::Result<Trace> {
    let mut sim = Simulation::new(NODES, seed, |_| RicartAgrawala::new());
    sim.enable_trace();
    if let Some((node, at)) = crash {
        sim.fault_at(at, Fault::Crash(node))?;
    }
    Workload::default().install(&mut sim)?;
    sim.run_until(Duration::from_secs(1))?;
    Ok(sim.take_trace().expect("tracing is on"))
}

fn main() -> anyhow::Result<()> {
    let seed = std::env::args()
        .nth(1)
        .map(|s| s.parse::<u64>())
        .transpose()?
        .unwrap_or(7);

    println!("== Ricart & Agrawala, {NODES} peers, seed {seed} ==");
    println!("   each asks twice, holds 5 ms; links 1-10 ms, FIFO; `time` is the Lamport time\n");
    let trace = run(seed, None)?;
    print!("{}", trace.timeline());
    println!();
    print!("{}", verdict_lines(&trace));

    println!("\n== `dsys sim ricart-agrawala` on 6 peers with reordering links ==\n");
    let options = SimOptions {
        nodes: 6,
        seed,
        reorder: true,
        ..SimOptions::default()
    };
    print!("{}", (ALGORITHM.run)(&options)?.report);

    println!("\n== n3 crashes at 0 ms: nobody gets n3's reply, nobody enters ==\n");
    let trace = run(seed, Some((NodeId(3), Duration::ZERO)))?;
    print!("{}", trace.timeline());
    println!();
    print!("{}", verdict_lines(&trace));
    println!("  (ME2 assumes no crash: every peer is a point of failure)");

    println!("\n== a broken peer that replies from inside the section ==");
    println!("   n0 enters at 10 ms and holds until 50; n1 asks at 20 ms\n");
    let mut sim = Simulation::new(3, seed, |_| {
        RicartAgrawala::broken(Defect::RepliesInSection)
    });
    sim.set_all_links(LinkConfig::reliable(Latency::Fixed(Duration::from_millis(
        5,
    ))))?;
    sim.enable_trace();
    let ms = Duration::from_millis;
    sim.request_at(ms(0), NodeId(0), Request::Enter)?;
    sim.request_at(ms(20), NodeId(1), Request::Enter)?;
    sim.request_at(ms(50), NodeId(0), Request::Exit)?;
    sim.request_at(ms(60), NodeId(1), Request::Exit)?;
    sim.run_until(ms(200))?;
    let trace = sim.take_trace().expect("tracing is on");
    print!("{}", trace.timeline());
    println!();
    print!("{}", verdict_lines(&trace));
    Ok(())
}
