//! The ring election (Chang & Roberts): the largest id travels round a
//! logical ring `n0 → n1 → … → n0` and wins.
//!
//! 1. The worst case on five processes: n0, the successor of the highest,
//!    starts; every message is printed with its time; 3N − 1 = 14 messages.
//! 2. Concurrent elections started by n1 and n3 on links that delay and
//!    reorder: one leader all the same.
//! 3. The worst case measured for N = 5, 8, 13 beside the formula 3N − 1.
//! 4. A broken ring that forwards the smaller id: the E1 checker catches it.
//!
//! Run it with `cargo run --example ring_election`.

use std::time::Duration;

use dsys::core::sim::{Latency, LinkConfig, Ordering, Simulation};
use dsys::core::NodeId;
use dsys::election::ring::{worst_case_starter, Keep, Ring, RingConfig};
use dsys::election::{properties, ElectionEvent};

fn run(
    n: usize,
    seed: u64,
    config: RingConfig,
    link: LinkConfig,
) -> anyhow::Result<Simulation<Ring>> {
    let mut sim = Simulation::new(n, seed, move |_| Ring::new(config.clone()));
    sim.set_all_links(link)?;
    sim.enable_trace();
    sim.run_until(Duration::from_secs(2))?;
    Ok(sim)
}

fn print_verdicts(sim: &Simulation<Ring>) {
    let e1 = properties::e1_safety(sim, None);
    let e2 = properties::e2_liveness(sim.states());
    for (name, verdict) in [("E1 safety", e1), ("E2 liveness", e2)] {
        match verdict {
            Ok(()) => println!("  {name:<12} holds"),
            Err(why) => println!("  {name:<12} VIOLATED: {why}"),
        }
    }
}

fn leaders(sim: &Simulation<Ring>) -> String {
    sim.ids()
        .map(|id| {
            let leader = sim.events(id).iter().rev().find_map(|e| match e.event {
                ElectionEvent::Elected(l) => Some(l.to_string()),
                ElectionEvent::Started => None,
            });
            format!("{id}→{}", leader.unwrap_or_else(|| "?".into()))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() -> anyhow::Result<()> {
    let fixed = LinkConfig::reliable(Latency::Fixed(Duration::from_millis(5)));

    println!("1. Worst case: five processes, n0 (the successor of n4) starts; 5 ms per hop\n");
    let n = 5;
    let sim = run(
        n,
        1,
        RingConfig::started_by(&[worst_case_starter(n)]),
        fixed,
    )?;
    print!("{}", sim.trace().expect("tracing is on").timeline());
    println!(
        "\n  messages: {} (3N − 1 = {}); leaders held: {}",
        sim.metrics().sent,
        3 * n - 1,
        leaders(&sim)
    );
    print_verdicts(&sim);

    println!("\n2. Concurrent elections: n1 and n3 start at once; latency 1–30 ms, reordering\n");
    let link = LinkConfig {
        latency: Latency::uniform_ms(1, 30),
        ordering: Ordering::Reorder,
        ..LinkConfig::default()
    };
    let sim = run(6, 4, RingConfig::started_by(&[NodeId(1), NodeId(3)]), link)?;
    print!("{}", sim.trace().expect("tracing is on").timeline());
    println!(
        "\n  messages: {}; leaders held: {} \n  (every smaller candidacy was replaced by a larger id or swallowed by a participant)",
        sim.metrics().sent,
        leaders(&sim)
    );
    print_verdicts(&sim);

    println!("\n3. The worst case measured\n");
    println!("  {:>3}  {:>8}  {:>6}", "N", "measured", "3N − 1");
    for n in [5, 8, 13] {
        let sim = run(
            n,
            1,
            RingConfig::started_by(&[worst_case_starter(n)]),
            fixed,
        )?;
        println!("  {n:>3}  {:>8}  {:>6}", sim.metrics().sent, 3 * n - 1);
    }

    println!("\n4. A broken ring that forwards the smaller id (n2 starts)\n");
    let broken = RingConfig {
        keep: Keep::Smaller,
        ..RingConfig::started_by(&[NodeId(2)])
    };
    let sim = run(5, 1, broken, fixed)?;
    println!("  leaders held: {}", leaders(&sim));
    print_verdicts(&sim);
    Ok(())
}
