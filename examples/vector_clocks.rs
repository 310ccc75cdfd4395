//! Vector clocks on the classic three-process figure (Coulouris et al.,
//! *Distributed Systems*, Figures 14.5 and 14.7):
//!
//! ```text
//! p1  ──a──────b─────────────────────────▶
//!               ╲ m1
//! p2  ───────────c──────d────────────────▶
//!                        ╲ m2
//! p3  ──e─────────────────f──────────────▶
//! ```
//!
//! The same scripted run twice in the simulator, chatter nodes wrapped once
//! with Lamport clocks and once with vector clocks ([`Stamped`]). Prints
//! each event's Lamport and vector timestamp, then for every pair of events
//! the relation the *vector* timestamps decide (`→`, `←` or `‖`), checked
//! against the simulator's own trace, next to what the Lamport timestamps
//! say; ends with what a vector costs on the wire.
//!
//! Run it with `cargo run --example vector_clocks`.

use std::cmp::Ordering;

use dsys::clocks::lamport::LamportClock;
use dsys::clocks::stamped::{
    classic_figure, traced_stamps, Chatter, LogicalClock, LogicalEvent, Stamped, TracedStamp,
};
use dsys::clocks::vector::VectorClock;
use dsys::core::sim::Simulation;
use dsys::core::wire::{Codec, Postcard};
use dsys::core::NodeId;

/// The run's stamped events, by process and then by order on the process
/// (so p1's are a, b; p2's c, d; p3's e, f), each with a description.
fn events<C: LogicalClock>(
    sim: &Simulation<Stamped<Chatter, C>>,
) -> anyhow::Result<Vec<(TracedStamp<C::Timestamp>, String)>> {
    let mut stamps = traced_stamps(sim).map_err(anyhow::Error::msg)?;
    stamps.sort_by_key(|s| (s.node, s.index));
    let mut position = [0usize; 3];
    Ok(stamps
        .into_iter()
        .map(|stamp| {
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
            (stamp, what)
        })
        .collect())
}

fn process(node: NodeId) -> String {
    format!("p{}", node.0 + 1)
}

fn dense(v: &VectorClock) -> String {
    let entries: Vec<String> = v.dense(3).iter().map(u64::to_string).collect();
    format!("({})", entries.join(", "))
}

fn main() -> anyhow::Result<()> {
    let lamport_run = classic_figure(LamportClock::new())?;
    let vector_run = classic_figure(VectorClock::new())?;
    let lamport = events(&lamport_run)?;
    let vector = events(&vector_run)?;
    let trace = vector_run.trace().expect("tracing is on");
    let letters = ['a', 'b', 'c', 'd', 'e', 'f'];
    assert_eq!(vector.len(), letters.len(), "the figure has six events");

    println!("Timestamps, as the clocks computed them (vector clocks: tick your own entry");
    println!("before every event; on receive, take the entry-wise max first):\n");
    println!("  event  process  what                  L   V");
    for ((letter, (l, what)), (v, _)) in letters.iter().zip(&lamport).zip(&vector) {
        println!(
            "  {letter}      {}       {what:<20}  {}   {}",
            process(v.node),
            l.timestamp.time,
            dense(&v.timestamp)
        );
    }

    println!("\nEvery pair, decided by the vector timestamps alone (V(x) < V(y) means x → y;");
    println!("neither V(x) <= V(y) nor V(y) <= V(x) means x ‖ y), next to the Lamport times:\n");
    for i in 0..letters.len() {
        for j in i + 1..letters.len() {
            let (x, y) = (&vector[i].0, &vector[j].0);
            let relation = match x.timestamp.partial_cmp(&y.timestamp) {
                Some(Ordering::Less) => "→",
                Some(Ordering::Greater) => "←",
                Some(Ordering::Equal) => "=",
                None => "‖",
            };
            // The simulator's trace knows happened-before by itself: the
            // vector clocks must agree with it exactly.
            assert_eq!(
                x.timestamp.happened_before(&y.timestamp),
                trace.happens_before(x.index, y.index)
            );
            assert_eq!(
                x.timestamp.concurrent_with(&y.timestamp),
                trace.concurrent(x.index, y.index)
            );
            let (lx, ly) = (lamport[i].0.timestamp.time, lamport[j].0.timestamp.time);
            let note = if relation == "‖" {
                format!(
                    "   L({}) = {lx}, L({}) = {ly}: Lamport cannot tell",
                    letters[i], letters[j]
                )
            } else {
                String::new()
            };
            println!(
                "  {} {relation} {}    V({}) = {}  V({}) = {}{note}",
                letters[i],
                letters[j],
                letters[i],
                dense(&x.timestamp),
                letters[j],
                dense(&y.timestamp)
            );
        }
    }
    println!("\n(every verdict above agrees with the simulator's trace)");

    println!(
        "\nWhy only vector timestamps can tell: L(e) = {} < L(b) = {}, yet e ‖ b.\n\
         A Lamport time is one integer, and integers are totally ordered, so\n\
         concurrent events still get one time below the other; the clock condition\n\
         a → b ⇒ L(a) < L(b) goes one way only. A vector keeps a count per process:\n\
         V(e) = {} and V(b) = {} are incomparable (e is ahead in p3's\n\
         entry, b in p1's), which is exactly what concurrency means.",
        lamport[4].0.timestamp.time,
        lamport[1].0.timestamp.time,
        dense(&vector[4].0.timestamp),
        dense(&vector[1].0.timestamp)
    );

    let (l_bytes, v_bytes) = (
        lamport_run
            .metrics()
            .kind("Chat")
            .map_or(0, |k| k.bytes_sent),
        vector_run
            .metrics()
            .kind("Chat")
            .map_or(0, |k| k.bytes_sent),
    );
    let f = &vector[5].0.timestamp;
    let wire = Postcard.encode_to_vec(f)?;
    println!("\nThe price: m1 and m2 took {l_bytes} bytes on the wire with Lamport stamps and");
    println!("{v_bytes} with vector stamps (postcard, labels included). A vector grows with");
    println!(
        "the number of processes: V(f) = {} encodes as {wire:?},",
        dense(f)
    );
    println!(
        "{} bytes: the entry count, then a (gap, count) pair per non-zero entry;",
        wire.len()
    );
    println!("as JSON it is {}.", serde_json::to_string(f)?);
    Ok(())
}
