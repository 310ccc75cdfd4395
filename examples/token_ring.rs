//! The token ring: four processes each ask for the critical section twice
//! while one token circulates. The program prints who asked, who entered
//! and exited when (the token's hops are counted, not listed: it never
//! stops), and the verdicts of ME1–ME3; then a token lost on a cut link
//! stops the whole ring (ME2 fails); the same cut with recovery on (a
//! failure detector and the highest-live-id election) regenerates the
//! token and everyone enters; then a network that duplicates messages
//! copies the token and ME1 fails.
//!
//! Run it with `cargo run --example token_ring` (add `-- SEED` to try
//! another seed).

use std::time::Duration;

use dsys::core::scenario::SimOptions;
use dsys::core::sim::{LinkConfig, Simulation};
use dsys::core::trace::{Trace, TraceKind};
use dsys::core::NodeId;
use dsys::mutex::properties::verdict_lines;
use dsys::mutex::token_ring::{RecoveryConfig, TokenRing, ALGORITHM};
use dsys::mutex::workload::Workload;

const NODES: usize = 4;

/// Says when and where the token was regenerated: the first token of a
/// newer generation is sent by its creator, which may first have used it
/// itself (an `Entered` with no token delivered to it since).
fn print_regeneration(trace: &Trace) {
    let events = trace.events();
    let first_new = events.iter().position(|e| {
        matches!(&e.kind, TraceKind::Send { msg, .. }
            if msg.starts_with("Token") && !msg.contains("generation: 0"))
    });
    let Some(sent) = first_new else {
        println!("  the token was never regenerated");
        return;
    };
    let creator = events[sent].node;
    let mut at = &events[sent];
    for e in events[..sent].iter().rev().filter(|e| e.node == creator) {
        match &e.kind {
            TraceKind::Deliver { msg, .. } if msg.starts_with("Token") => break,
            TraceKind::Emit { event } if event == "Entered" => at = e,
            _ => {}
        }
    }
    if let (Some(node), TraceKind::Send { msg, .. }) = (creator, &events[sent].kind) {
        println!(
            "  with recovery on, the token is regenerated at {:.3} ms by {node}, the highest live process ({msg})",
            at.time().as_secs_f64() * 1e3
        );
    }
}

/// The run as a timeline (heartbeats and token passes left out), then how
/// often the token moved and how many tokens were lost.
fn print_run(trace: &Trace) {
    print!("{}", trace.timeline().hide("Alive").sends(false));
    let count =
        |f: &dyn Fn(&TraceKind) -> bool| trace.events().iter().filter(|e| f(&e.kind)).count();
    let hops = count(&|k| matches!(k, TraceKind::Send { kind, .. } if kind != "Alive"));
    let lost = count(&|k| matches!(k, TraceKind::Drop { kind, .. } if kind != "Alive"));
    println!("  token hops in the whole run: {hops}; tokens lost: {lost}");
}

fn main() -> anyhow::Result<()> {
    let seed = std::env::args()
        .nth(1)
        .map(|s| s.parse::<u64>())
        .transpose()?
        .unwrap_or(7);

    println!("== token ring, {NODES} processes, seed {seed} ==");
    println!("   n0 creates the token; each process asks twice, holds 5 ms; links 1-10 ms\n");
    let mut sim = Simulation::new(NODES, seed, |_| TokenRing::new());
    sim.enable_trace();
    Workload::default().install(&mut sim)?;
    sim.run_until(Duration::from_millis(300))?;
    let trace = sim.take_trace().expect("tracing is on");
    print_run(&trace);
    println!();
    print!("{}", verdict_lines(&trace));

    println!("\n== `dsys sim token-ring` on 6 processes with reordering links ==\n");
    let options = SimOptions {
        nodes: 6,
        seed,
        reorder: true,
        until: Duration::from_millis(500),
        ..SimOptions::default()
    };
    print!("{}", (ALGORITHM.run)(&options)?.report);

    println!("\n== the link n2 -> n3 is cut for the first 100 ms: the token is lost ==\n");
    let mut sim = Simulation::new(NODES, seed, |_| TokenRing::new());
    sim.enable_trace();
    sim.cut_link(NodeId(2), NodeId(3))?;
    sim.call_at(Duration::from_millis(100), |sim| {
        sim.restore_link(NodeId(2), NodeId(3))
            .expect("n2 and n3 exist")
    });
    Workload::default().install(&mut sim)?;
    sim.run_until(Duration::from_millis(300))?;
    let trace = sim.take_trace().expect("tracing is on");
    print_run(&trace);
    println!();
    print!("{}", verdict_lines(&trace));
    println!("  (without recovery nothing regains the token: next, the same cut with recovery on)");

    println!("\n== the same cut with recovery on: heartbeats every 10 ms, token timeout ==");
    let config =
        RecoveryConfig::for_ring(NODES, Duration::from_millis(10), Duration::from_millis(5));
    println!(
        "   {} ms (4 hops x 10 ms + 3 holds x 5 ms + one period); the highest live process regenerates\n",
        config.token_timeout.as_millis()
    );
    let mut sim = Simulation::new(NODES, seed, move |_| TokenRing::with_recovery(config));
    sim.enable_trace();
    sim.cut_link(NodeId(2), NodeId(3))?;
    sim.call_at(Duration::from_millis(100), |sim| {
        sim.restore_link(NodeId(2), NodeId(3))
            .expect("n2 and n3 exist")
    });
    Workload::default().install(&mut sim)?;
    sim.run_until(Duration::from_millis(600))?;
    let trace = sim.take_trace().expect("tracing is on");
    print_run(&trace);
    print_regeneration(&trace);
    let heartbeats = trace
        .events()
        .iter()
        .filter(|e| matches!(&e.kind, TraceKind::Send { msg, .. } if msg == "Alive"))
        .count();
    println!("  heartbeats sent (the price of recovery): {heartbeats}\n");
    print!("{}", verdict_lines(&trace));

    println!("\n== a network that duplicates 20% of messages copies the token ==\n");
    let mut sim = Simulation::new(NODES, seed, |_| TokenRing::new());
    sim.set_all_links(LinkConfig::default().with_duplicate(0.2))?;
    sim.enable_trace();
    Workload::default().install(&mut sim)?;
    sim.run_until(Duration::from_millis(300))?;
    let trace = sim.take_trace().expect("tracing is on");
    print!("{}", verdict_lines(&trace));
    Ok(())
}
