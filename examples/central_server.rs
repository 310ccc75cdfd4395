//! Mutual exclusion through a central server: four processes (n0 is the
//! server, and a client too) each ask for the critical section twice. The
//! program prints who asked, who entered and exited when, every message,
//! and the verdicts of ME1–ME3; then the server crashes and everyone else
//! starves (ME2 fails, ME1 still holds); then a deliberately broken server
//! that grants twice is caught by ME1.
//!
//! Run it with `cargo run --example central_server` (add `-- SEED` to try
//! another seed).

use std::time::Duration;

use dsys::core::scenario::SimOptions;
use dsys::core::sim::Simulation;
use dsys::core::trace::Trace;
use dsys::core::NodeId;
use dsys::mutex::central_server::{CentralServer, Defect, ALGORITHM};
use dsys::mutex::properties::verdict_lines;
use dsys::mutex::workload::Workload;

const NODES: usize = 4;

fn run(seed: u64, node: CentralServer, crash_server_at: Option<Duration>) -> anyhow::Result<Trace> {
    let mut sim = Simulation::new(NODES, seed, move |_| node.clone());
    sim.enable_trace();
    if let Some(at) = crash_server_at {
        sim.fault_at(at, dsys::core::sim::Fault::Crash(NodeId(0)))?;
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

    println!("== central server, {NODES} processes (n0 is the server), seed {seed} ==");
    println!("   each asks twice, holds 5 ms; links 1-10 ms, FIFO\n");
    let trace = run(seed, CentralServer::new(NodeId(0)), None)?;
    print!("{}", trace.timeline());
    println!();
    print!("{}", verdict_lines(&trace));

    println!("\n== `dsys sim central-server` on 6 processes with reordering links ==\n");
    let options = SimOptions {
        nodes: 6,
        seed,
        reorder: true,
        ..SimOptions::default()
    };
    print!("{}", (ALGORITHM.run)(&options)?.report);

    println!("\n== the server crashes at 12 ms: nobody else ever enters ==\n");
    let trace = run(
        seed,
        CentralServer::new(NodeId(0)),
        Some(Duration::from_millis(12)),
    )?;
    print!("{}", trace.timeline());
    println!();
    print!("{}", verdict_lines(&trace));
    println!("  (ME2 assumes no crash: the server is a single point of failure)");

    println!("\n== a broken server that grants while the token is out ==\n");
    let trace = run(
        seed,
        CentralServer::broken(NodeId(0), Defect::GrantsTwice),
        None,
    )?;
    print!("{}", verdict_lines(&trace));
    Ok(())
}
