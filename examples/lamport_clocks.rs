//! Lamport clocks on the classic three-process figure (Coulouris et al.,
//! *Distributed Systems*, Figures 14.5 and 14.6):
//!
//! ```text
//! p1  ──a──────b─────────────────────────▶
//!               ╲ m1
//! p2  ───────────c──────d────────────────▶
//!                        ╲ m2
//! p3  ──e─────────────────f──────────────▶
//! ```
//!
//! Three chatter nodes, wrapped with Lamport clocks ([`Stamped`]), run in the
//! simulator; scripted requests tell p1 and p3 when to do their local events
//! (a, e) and p1 and p2 when to send (b, d); c and f are deliveries. The
//! example prints each event's Lamport timestamp, as the clocks computed it,
//! and for each pair of events whether one happened before the other (`→`,
//! `←`) or they are concurrent (`‖`) — the truth, from the simulator's own
//! trace — and shows where the Lamport order says "earlier" about events
//! that are concurrent.
//!
//! Run it with `cargo run --example lamport_clocks`.

use dsys::clocks::lamport::{LamportClock, LamportTimestamp};
use dsys::clocks::stamped::{classic_figure, traced_stamps, LogicalEvent, TracedStamp};
use dsys::core::NodeId;

fn process(node: NodeId) -> String {
    format!("p{}", node.0 + 1)
}

/// One event of the figure: its letter, where it is in the trace, its
/// timestamp and what it was.
struct Event {
    letter: char,
    stamp: TracedStamp<LamportTimestamp>,
    what: String,
}

fn main() -> anyhow::Result<()> {
    let sim = classic_figure(LamportClock::new())?;
    let trace = sim.trace().expect("tracing is on");
    let mut stamps = traced_stamps(&sim).map_err(anyhow::Error::msg)?;
    // Letters by process, then by order on the process: p1 a b, p2 c d, p3 e f.
    stamps.sort_by_key(|s| (s.node, s.index));
    let mut position = [0usize; 3];
    let events: Vec<Event> = stamps
        .into_iter()
        .zip('a'..='z')
        .map(|(stamp, letter)| {
            let k = &mut position[stamp.node.index()];
            let what = match &sim.events(stamp.node)[*k].event.event {
                LogicalEvent::Local(label) => format!("local event {label}"),
                LogicalEvent::Send { to, msg } => format!("send {} to {}", msg.label, process(*to)),
                LogicalEvent::Receive { from, msg } => {
                    format!("receive {} from {}", msg.label, process(*from))
                }
                LogicalEvent::Refused { reason, .. } => format!("refused: {reason}"),
            };
            *k += 1;
            Event {
                letter,
                stamp,
                what,
            }
        })
        .collect();

    println!("Lamport timestamps, as the clocks computed them (tick before every event;");
    println!("on receive, L := max(L, stamp) + 1):\n");
    println!("  event  process  what                  L");
    for e in &events {
        println!(
            "  {}      {}       {:<20}  {}",
            e.letter,
            process(e.stamp.node),
            e.what,
            e.stamp.timestamp.time
        );
    }

    println!("\nEvery pair: happened-before from the simulator's trace (→, ←, ‖), and what");
    println!("the Lamport timestamps say:\n");
    let mut misleading = Vec::new();
    for (i, x) in events.iter().enumerate() {
        for y in &events[i + 1..] {
            let relation = if trace.happens_before(x.stamp.index, y.stamp.index) {
                "→"
            } else if trace.happens_before(y.stamp.index, x.stamp.index) {
                "←"
            } else {
                "‖"
            };
            let (lx, ly) = (x.stamp.timestamp.time, y.stamp.timestamp.time);
            let lamport = match lx.cmp(&ly) {
                std::cmp::Ordering::Less => "<",
                std::cmp::Ordering::Equal => "=",
                std::cmp::Ordering::Greater => ">",
            };
            let note = if relation != "‖" {
                ""
            } else if lx == ly {
                "   equal times: these two must be concurrent"
            } else {
                let ((first, l1), (second, l2)) = if lx < ly {
                    ((x.letter, lx), (y.letter, ly))
                } else {
                    ((y.letter, ly), (x.letter, lx))
                };
                misleading.push(format!("L({first}) = {l1} < L({second}) = {l2}"));
                "   concurrent, yet one time is smaller"
            };
            println!(
                "  {} {relation} {}    L({}) = {lx} {lamport} L({}) = {ly}{note}",
                x.letter, y.letter, x.letter, y.letter
            );
            // The clock condition: a → b implies L(a) < L(b).
            assert!(relation != "→" || lx < ly, "clock condition broken");
            assert!(relation != "←" || ly < lx, "clock condition broken");
        }
    }

    let mut total: Vec<&Event> = events.iter().collect();
    total.sort_by_key(|e| e.stamp.timestamp);
    let order: Vec<String> = total
        .iter()
        .map(|e| format!("{} {}", e.letter, e.stamp.timestamp))
        .collect();
    println!("\nThe total order (L, process id), ties broken by id:");
    println!("  {}", order.join("  <  "));

    println!("\nWhy Lamport timestamps cannot tell concurrency: the clock condition goes");
    println!("one way only, a → b implies L(a) < L(b). Integers are totally ordered, so");
    println!("concurrent events still get one time below the other:");
    for line in &misleading {
        println!("  {line}, yet the two are concurrent;");
    }
    println!("so from L(x) < L(y) alone nothing follows. Only L(x) >= L(y) says something:");
    println!("that x did not happen before y (and equal times mean concurrent events).");
    println!("Vector clocks keep one counter per process and can tell concurrency:");
    println!("run `cargo run --example vector_clocks`.");
    Ok(())
}
