//! Sliding window: how the window size and the loss rate limit the
//! throughput of the reliable channel (`dsys::net::reliable`), measured in
//! the simulator.
//!
//! Two nodes each send 500 numbered messages to the other over links with
//! 5–15 ms latency and a given loss rate. For each window size (1 is
//! stop-and-wait) and loss rate the table shows how many messages were
//! delivered per virtual second and how many segments had to be sent again.
//! With no loss, throughput grows linearly with the window: a window of `w`
//! delivers `w` messages per round trip (about 20 ms) in each direction, and
//! the simulated links have latency but no bandwidth limit, so nothing else
//! caps it (on a real link it stops growing once `w` messages fill the
//! bandwidth-delay product). Loss
//! costs timeouts, and each timeout resends the whole window. At 30% loss
//! half of all segments need a retransmission, and the timeout suffers most:
//! every expiry doubles it (exponential backoff), and only a segment
//! acknowledged on its first transmission may bring it down again (Karn's
//! rule), so it often climbs towards its 5 s cap. A bigger window keeps more
//! messages moving during each wait. Every run is checked too: each message
//! arrived exactly once, in order.
//!
//! Run it with `cargo run --example sliding_window` (add `-- SEED` to try
//! another seed; the same seed prints the same table).

use std::time::Duration;

use dsys::core::sim::{Latency, LinkConfig, Simulation};
use dsys::core::NodeId;
use dsys::net::reliable::{Numbers, Reliable, ReliableConfig};

const MESSAGES: u32 = 500;
const WINDOWS: [usize; 6] = [1, 2, 4, 8, 16, 32];
const LOSSES: [f64; 3] = [0.0, 0.1, 0.3];

struct Outcome {
    per_second: f64,
    retransmissions: u64,
}

fn measure(seed: u64, window: usize, loss: f64) -> anyhow::Result<Outcome> {
    let config = ReliableConfig::default().with_window(window);
    let mut sim = Simulation::new(2, seed, move |_| {
        Reliable::new(Numbers::new(MESSAGES), config).expect("valid reliable-channel configuration")
    });
    sim.set_measure_bytes(false);
    sim.set_all_links(
        LinkConfig::default()
            .with_latency(Latency::uniform_ms(5, 15))
            .with_loss(loss),
    )?;
    let expected = MESSAGES as usize;
    sim.run_until_condition(Duration::from_secs(3600), |sim| {
        sim.nodes()
            .all(|(_, n)| n.inner().received_total() == expected)
    })?;
    let ids: Vec<NodeId> = sim.ids().collect();
    let mut delivered = 0;
    let mut retransmissions = 0;
    for (id, node) in sim.nodes() {
        node.inner()
            .check_complete(id, &ids)
            .map_err(anyhow::Error::msg)?;
        delivered += node.stats().delivered;
        retransmissions += node.stats().retransmissions;
    }
    let seconds = sim.now().as_secs_f64();
    Ok(Outcome {
        per_second: delivered as f64 / seconds,
        retransmissions,
    })
}

fn main() -> anyhow::Result<()> {
    let seed = std::env::args()
        .nth(1)
        .map(|s| s.parse::<u64>())
        .transpose()?
        .unwrap_or(7);
    println!(
        "2 nodes, {MESSAGES} messages each way, latency 5–15 ms, seed {seed}: \
         messages delivered per virtual second (retransmissions)\n"
    );
    print!("{:>8}", "window");
    for loss in LOSSES {
        print!("  {:>18}", format!("loss {loss}"));
    }
    println!();
    for window in WINDOWS {
        print!("{window:>8}");
        for loss in LOSSES {
            let outcome = measure(seed, window, loss)?;
            print!(
                "  {:>18}",
                format!("{:.0} ({})", outcome.per_second, outcome.retransmissions)
            );
        }
        println!();
    }
    println!("\nevery run delivered every message exactly once, in order");
    Ok(())
}
