//! Chandy–Lamport snapshots of a bank. Four branches start with 100 each
//! and send each other random amounts every 2–8 ms over reliable FIFO links
//! (1–10 ms latency). While the money moves, four snapshots are taken: n0
//! at 50 ms, n2 at 120 ms, and n1 and n3 at the same instant, 200 ms (two
//! concurrent snapshots). For each one the example prints every branch's
//! recorded balance, the money recorded in transit on each channel, and the
//! total — always the initial 400 — and checks the snapshot's cut against
//! the run's trace with vector timestamps.
//!
//! Then the same bank over links that reorder messages, breaking the
//! algorithm's FIFO assumption: the totals stop adding up, and the checkers
//! say which message broke which snapshot.
//!
//! Run it with `cargo run --example snapshot` (add `-- SEED` to try another
//! seed: the same seed prints the same thing).

use std::time::Duration;

use dsys::clocks::snapshot::bank::{self, Bank, BankConfig};
use dsys::clocks::snapshot::{GlobalSnapshot, SnapshotEvent, SnapshotRequest, Snapshotting};
use dsys::core::sim::{Latency, LinkConfig, Ordering, Simulation};
use dsys::core::NodeId;

const BRANCHES: usize = 4;

fn main() -> anyhow::Result<()> {
    let seed = std::env::args()
        .nth(1)
        .map(|s| s.parse::<u64>())
        .transpose()?
        .unwrap_or(1);
    let config = BankConfig::default();
    let initial = config.total(BRANCHES);

    println!(
        "== a bank of {BRANCHES} branches, {} each, FIFO links (seed {seed}) ==\n",
        config.initial_balance
    );
    let sim = run(seed, config, Ordering::Fifo)?;
    let trace = sim.trace().expect("tracing is on");
    for (snapshot, initiated, completed) in snapshots(&sim) {
        println!(
            "snapshot {} — initiated at {} ms, complete at {} ms",
            snapshot.id,
            initiated.as_millis(),
            completed.as_millis()
        );
        print_snapshot(snapshot, initial);
        match snapshot.check_against_trace(trace) {
            Ok(()) => println!(
                "  cut: consistent — no transfer is received inside it but sent outside it,\n       \
                 and the channel states are exactly the transfers crossing it\n"
            ),
            Err(why) => println!("  cut: INCONSISTENT: {why}\n"),
        }
    }
    let markers = sim.metrics().kind("Marker").map_or(0, |k| k.sent);
    let taken = snapshots(&sim).len();
    println!(
        "cost: {markers} markers for {taken} snapshots = one per channel, {taken} × {BRANCHES} × {} \
         (O(N²) per snapshot)\n",
        BRANCHES - 1
    );

    println!("== the same bank over links that REORDER messages (FIFO assumption broken) ==\n");
    let sim = run(seed, config, Ordering::Reorder)?;
    let trace = sim.trace().expect("tracing is on");
    for (snapshot, _, _) in snapshots(&sim) {
        let total = bank::total(snapshot);
        let verdict = if total == initial {
            "adds up (this time)".to_string()
        } else {
            format!("WRONG: {total}, not {initial}")
        };
        println!("snapshot {}: total {verdict}", snapshot.id);
        if let Err(why) = snapshot.check_against_trace(trace) {
            println!("  {why}");
        }
    }
    println!(
        "\nA transfer that overtakes a marker is counted in its receiver's balance and in its\n\
         sender's (money created); one overtaken by a marker is counted nowhere (money lost)."
    );
    Ok(())
}

/// Runs the bank for 300 ms with snapshots at 50, 120 and (twice) 200 ms.
fn run(
    seed: u64,
    config: BankConfig,
    ordering: Ordering,
) -> anyhow::Result<Simulation<Snapshotting<Bank>>> {
    let branch = Snapshotting::new(Bank::new(config)?);
    let mut sim = Simulation::new(BRANCHES, seed, move |_| branch.clone());
    sim.set_all_links(LinkConfig::reliable(Latency::uniform_ms(1, 10)).with_ordering(ordering))?;
    sim.enable_trace();
    let ms = Duration::from_millis;
    sim.request_at(ms(50), NodeId(0), SnapshotRequest::Snapshot)?;
    sim.request_at(ms(120), NodeId(2), SnapshotRequest::Snapshot)?;
    sim.request_at(ms(200), NodeId(1), SnapshotRequest::Snapshot)?;
    sim.request_at(ms(200), NodeId(3), SnapshotRequest::Snapshot)?;
    sim.run_until(ms(300))?;
    Ok(sim)
}

/// Every completed snapshot, with when it was initiated and completed.
fn snapshots(
    sim: &Simulation<Snapshotting<Bank>>,
) -> Vec<(&GlobalSnapshot<Bank>, Duration, Duration)> {
    let events = sim.all_events();
    events
        .iter()
        .filter_map(|(_, done)| match &done.event {
            SnapshotEvent::Completed(snapshot) => {
                let initiated = events
                    .iter()
                    .find(|(node, e)| {
                        *node == snapshot.id.initiator
                            && matches!(e.event, SnapshotEvent::Recorded(id) if id == snapshot.id)
                    })
                    .map_or(Duration::ZERO, |(_, e)| e.time);
                Some((snapshot, initiated, done.time))
            }
            _ => None,
        })
        .collect()
}

fn print_snapshot(snapshot: &GlobalSnapshot<Bank>, initial: u64) {
    println!("  branch  balance");
    for (node, branch) in &snapshot.states {
        println!("  {:<6}  {:>7}", node.to_string(), branch.balance());
    }
    let balances: u64 = snapshot.states.values().map(Bank::balance).sum();
    let mut in_transit = 0;
    let mut lines = Vec::new();
    for (channel, transfers) in &snapshot.channels {
        if transfers.is_empty() {
            continue;
        }
        let amounts: Vec<String> = transfers.iter().map(|t| t.amount.to_string()).collect();
        let sum: u64 = transfers.iter().map(|t| t.amount).sum();
        in_transit += sum;
        lines.push(format!("{channel}: {}", amounts.join(" + ")));
    }
    if lines.is_empty() {
        println!("  in transit: nothing");
    } else {
        println!("  in transit: {}", lines.join(";  "));
    }
    let total = balances + in_transit;
    println!(
        "  total: {balances} in balances + {in_transit} in transit = {total} (initial {initial}) {}",
        if total == initial { "✓" } else { "✗" }
    );
}
