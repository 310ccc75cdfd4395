//! Maekawa's voting algorithm: nine processes on a 3 × 3 grid, each voting
//! for the requests of its row and column. The program prints the voting
//! sets; then a run under heavy contention where every process asks twice,
//! with every message (grants, inquiries, relinquishments, failures) and the
//! verdicts of ME1–ME3; then the centre process crashes: the sets it
//! belongs to wait for its vote forever, and hold votes the others need;
//! last, Maekawa's original rules without INQUIRE / FAILED deadlock.
//!
//! Run it with `cargo run --example maekawa` (add `-- SEED` to try another
//! seed).

use std::time::Duration;

use dsys::core::scenario::SimOptions;
use dsys::core::sim::{Fault, Simulation};
use dsys::core::trace::Trace;
use dsys::core::NodeId;
use dsys::mutex::maekawa::{voting_set, Defect, Maekawa, ALGORITHM};
use dsys::mutex::properties::{me2_trace, verdict_lines};
use dsys::mutex::workload::Workload;

const NODES: usize = 9;

fn run(seed: u64, crash: Option<NodeId>) -> anyhow::Result<(Trace, u64)> {
    run_with(seed, crash, Maekawa::new())
}

fn run_with(seed: u64, crash: Option<NodeId>, node: Maekawa) -> anyhow::Result<(Trace, u64)> {
    let mut sim = Simulation::new(NODES, seed, move |_| node.clone());
    sim.enable_trace();
    if let Some(node) = crash {
        sim.fault_at(Duration::ZERO, Fault::Crash(node))?;
    }
    Workload {
        think_max: Duration::from_millis(5),
        ..Workload::default()
    }
    .install(&mut sim)?;
    sim.run_until(Duration::from_secs(1))?;
    let sent = sim.metrics().sent;
    Ok((sim.take_trace().expect("tracing is on"), sent))
}

fn main() -> anyhow::Result<()> {
    let seed = std::env::args()
        .nth(1)
        .map(|s| s.parse::<u64>())
        .transpose()?
        .unwrap_or(7);

    println!("== voting sets of {NODES} processes on a 3 x 3 grid (row + column) ==\n");
    for i in 0..NODES as u32 {
        let set: Vec<String> = voting_set(NodeId(i), NODES)
            .iter()
            .map(|n| n.to_string())
            .collect();
        println!("  V(n{i}) = {{{}}}", set.join(", "));
    }

    println!(
        "\n== heavy contention: everyone asks within 5 ms, twice, holds 5 ms; seed {seed} ==\n"
    );
    let (trace, sent) = run(seed, None)?;
    print!("{}", trace.timeline());
    println!();
    print!("{}", verdict_lines(&trace));
    println!("  {sent} messages for {} entries", 2 * NODES);

    println!("\n== `dsys sim maekawa` on 9 processes ==\n");
    let options = SimOptions {
        nodes: NODES,
        seed,
        ..SimOptions::default()
    };
    print!("{}", (ALGORITHM.run)(&options)?.report);

    println!("\n== n4 (the centre, in 5 voting sets) crashes at 0 ms ==\n");
    let (trace, _) = run(seed, Some(NodeId(4)))?;
    print!("{}", verdict_lines(&trace));
    println!(
        "  (row 1 and column 1 wait for n4's vote forever, holding votes that the others need)"
    );

    println!(
        "\n== Maekawa's original rules (no inquire, no failed) under the same contention ==\n"
    );
    for s in seed..seed + 20 {
        let (trace, _) = run_with(s, None, Maekawa::broken(Defect::NoInquire))?;
        if me2_trace(&trace).is_err() {
            println!("  seed {s}:");
            print!("{}", verdict_lines(&trace));
            println!("  (each process of a cycle holds a vote the next one needs: a deadlock)");
            break;
        }
        println!("  seed {s}: no deadlock this time");
    }
    Ok(())
}
