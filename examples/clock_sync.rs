//! Physical clock synchronisation side by side: Cristian's algorithm,
//! Berkeley and NTP run on the *same* five skewed, drifting hardware clocks
//! over the same network (1–10 ms per message), for 10 s of virtual time.
//! Prints the clocks, then a table — algorithm, messages, maximum skew
//! between the nodes (internal), maximum error against true time
//! (external), and the algorithm's theoretical bound — then how skew and
//! error evolve, and finally what the checkers say about each algorithm and
//! about two broken variants.
//!
//! Read it for the difference between internal and external
//! synchronisation: Berkeley keeps the group tight but lets it sit tens of
//! milliseconds from true time; Cristian and NTP track the reference.
//!
//! Run it with `cargo run --example clock_sync` (add a seed as argument to
//! draw other clocks: `cargo run --example clock_sync -- 7`).

use std::time::Duration;

use dsys::clocks::berkeley::{self, Berkeley, BerkeleyConfig};
use dsys::clocks::cristian::{Cristian, CristianConfig};
use dsys::clocks::ntp::{self, Ntp, NtpConfig};
use dsys::clocks::sync::{self, DriftingClocks, SyncEvent, SyncMeasures};
use dsys::core::sim::{ClockConfig, Simulation};
use dsys::core::{Node, NodeId};

const NODES: usize = 5;
const RUN: Duration = Duration::from_secs(10);
/// The network: every message takes 1–10 ms (the simulator's default).
const LATENCY_MIN: Duration = Duration::from_millis(1);
const LATENCY_MAX: Duration = Duration::from_millis(10);

fn main() -> anyhow::Result<()> {
    let seed: u64 = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 1,
    };
    let drift = DriftingClocks::default();
    // n0 reads true time: the time server (Cristian), the stratum-1
    // reference (NTP), and simply the master (Berkeley, which ignores that
    // it happens to be right).
    let mut clocks = drift.clocks(seed, NODES);
    clocks[0] = ClockConfig::default();
    let ids: Vec<NodeId> = (0..NODES as u32).map(NodeId).collect();

    println!("Five hardware clocks (seed {seed}): local = t + offset + drift × t\n");
    println!("  node  offset at t=0   drift      after 10 s");
    for (id, clock) in ids.iter().zip(&clocks) {
        println!(
            "  {id}    {:>+9.3} ms   {:>+6.1} ppm  {:>+9.3} ms",
            clock.offset_ns as f64 / 1e6,
            clock.drift_ppm,
            hardware_error_ns(clock, RUN) as f64 / 1e6
        );
    }

    // ----- the three algorithms on the same clocks ---------------------------
    // Each algorithm knows the network's least delay; Cristian and Berkeley
    // discard round trips longer than two maximal delays (none, here).
    let round_trip_max = LATENCY_MAX * 2 + Duration::from_millis(1);
    let cristian = CristianConfig {
        min_one_way_delay: LATENCY_MIN,
        round_trip_max,
        ..CristianConfig::default()
    };
    let berkeley = BerkeleyConfig {
        min_one_way_delay: LATENCY_MIN,
        round_trip_max,
        ..BerkeleyConfig::default()
    };
    let ntp_config = NtpConfig {
        min_one_way_delay: LATENCY_MIN,
        ..NtpConfig::default()
    };
    cristian.validate()?;
    berkeley.validate()?;
    ntp_config.validate()?;
    let roles = ntp::hierarchy(NODES);

    let cristian_sim = run(seed, &clocks, move |id| {
        Cristian::new(id, cristian).expect("validated above")
    })?;
    let berkeley_sim = run(seed, &clocks, move |id| {
        Berkeley::new(id, berkeley).expect("validated above")
    })?;
    let ntp_sim = run(seed, &clocks, move |id| {
        Ntp::new(roles[id.index()].clone(), ntp_config).expect("validated above")
    })?;

    let cristian_m = measure(&cristian_sim, &ids);
    let berkeley_m = measure(&berkeley_sim, &ids);
    let ntp_m = measure(&ntp_sim, &ids);
    let (free_skew, free_error) = unsynchronised(&clocks, RUN);

    // Per hop, NTP's error is at most δ/2 − min ≤ (2 × 10 ms)/2 − 1 ms, plus
    // drift over the exchange and the filter's age (up to 8 polls); stratum 3
    // is two hops from the reference.
    let ntp_hop = (LATENCY_MAX * 2) / 2 - LATENCY_MIN
        + drift_over(
            LATENCY_MAX * 2 + ntp_config.poll_interval * 9,
            ntp_config.drift_max_ppm,
        );

    println!("\nAfter convergence (from each algorithm's last first adjustment to 10 s):\n");
    println!(
        "  {:<16} {:>8}  {:>10}  {:>12}  theoretical bound",
        "algorithm", "messages", "max skew", "max error"
    );
    println!(
        "  {:<16} {:>8}  {:>10}  {:>12}  none: drift only grows",
        "unsynchronised",
        0,
        ms(free_skew),
        ms(free_error)
    );
    row(
        "Cristian",
        &cristian_sim,
        &cristian_m,
        format!(
            "error <= RTT/2 - min <= {} (external)",
            ms(cristian.error_bound())
        ),
    );
    row(
        "Berkeley",
        &berkeley_sim,
        &berkeley_m,
        format!(
            "skew <= D = {} (internal only)",
            ms(berkeley.skew_bound(LATENCY_MAX))
        ),
    );
    row(
        "NTP (3 strata)",
        &ntp_sim,
        &ntp_m,
        format!(
            "error <= {} per hop, {} at stratum 3",
            ms(ntp_hop),
            ms(ntp_hop * 2)
        ),
    );

    // ----- over time ---------------------------------------------------------
    println!("\nOver time (maximum within each second):\n");
    println!(
        "  {:>6}   {:>13}  {:>13}  {:>13}  {:>13}",
        "second", "Cristian err", "Berkeley skew", "Berkeley err", "NTP err"
    );
    let second = Duration::from_secs(1);
    let c = sync::timeline(&cristian_sim, &ids, second);
    let b = sync::timeline(&berkeley_sim, &ids, second);
    let n = sync::timeline(&ntp_sim, &ids, second);
    for (i, ((c, b), n)) in c.iter().zip(&b).zip(&n).enumerate() {
        println!(
            "  {:>6}   {:>13}  {:>13}  {:>13}  {:>13}",
            format!("{i}-{}", i + 1),
            ms(c.error_max),
            ms(b.skew_max),
            ms(b.error_max),
            ms(n.error_max)
        );
    }
    println!(
        "\n(the first second includes the unsynchronised start; NTP's stratum 3 synchronises\n\
         last, after its stratum-2 servers)"
    );

    // ----- what the checkers say -----------------------------------------------
    println!("\nThe checkers:\n");
    verdict(
        "Cristian: every clock within its claimed RTT/2 - min",
        sync::check_external(&cristian_sim, &ids, cristian.drift_max_ppm),
    );
    verdict(
        "Berkeley: skew within D",
        berkeley::agreement(&berkeley_sim, &ids, berkeley.skew_bound(LATENCY_MAX)),
    );
    verdict(
        "NTP: every clock within its claimed root bound",
        sync::check_external(&ntp_sim, &ids, ntp_config.drift_max_ppm),
    );

    let broken = CristianConfig {
        delay_correction: false,
        ..cristian
    };
    let broken_sim = run(seed, &clocks, move |id| {
        Cristian::new(id, broken).expect("validated above")
    })?;
    verdict(
        "Cristian without the RTT/2 correction (sets the clock to T3)",
        sync::check_external(&broken_sim, &ids, broken.drift_max_ppm),
    );

    let mut wild = clocks.clone();
    wild[NODES - 1] = berkeley::FAULTY_CLOCK;
    let correct = &ids[..NODES - 1];
    for (name, threshold) in [
        ("Berkeley, n4 10 s off and running 2x", berkeley.threshold),
        ("Berkeley without the outlier filter, same n4", None),
    ] {
        let config = BerkeleyConfig {
            threshold,
            ..berkeley
        };
        config.validate()?;
        let sim = run(seed, &wild, move |id| {
            Berkeley::new(id, config).expect("validated above")
        })?;
        let d = config.skew_bound(LATENCY_MAX);
        verdict(name, berkeley::validity(&sim, correct, d, Duration::ZERO));
    }
    Ok(())
}

/// Runs `factory`'s nodes on `clocks` over the default network for `RUN`.
fn run<N: Node<Event = SyncEvent>>(
    seed: u64,
    clocks: &[ClockConfig],
    factory: impl FnMut(NodeId) -> N + 'static,
) -> anyhow::Result<Simulation<N>> {
    let mut sim = Simulation::new(clocks.len(), seed, factory);
    for (i, &clock) in clocks.iter().enumerate() {
        sim.set_clock(NodeId(i as u32), clock)?;
    }
    sim.run_until(RUN)?;
    Ok(sim)
}

fn measure<N: Node<Event = SyncEvent>>(sim: &Simulation<N>, ids: &[NodeId]) -> SyncMeasures {
    let from = sync::converged_at(sim, ids).unwrap_or(sim.now());
    sync::measure(sim, ids, from)
}

fn row<N: Node>(name: &str, sim: &Simulation<N>, m: &SyncMeasures, bound: String) {
    println!(
        "  {:<16} {:>8}  {:>10}  {:>12}  {bound}",
        name,
        sim.metrics().sent,
        ms(m.skew_max),
        ms(m.error_max)
    );
}

fn verdict(name: &str, result: Result<(), String>) {
    match result {
        Ok(()) => println!("  {name}: holds"),
        Err(why) => println!("  {name}: VIOLATED\n      {why}"),
    }
}

/// The hardware clock's error at true time `t`.
fn hardware_error_ns(clock: &ClockConfig, t: Duration) -> i64 {
    clock.offset_ns + (t.as_nanos() as f64 * clock.drift_ppm / 1e6) as i64
}

/// Skew and error of the bare hardware clocks over `0..=until` (both are
/// linear in t, so their maxima are at the ends).
fn unsynchronised(clocks: &[ClockConfig], until: Duration) -> (Duration, Duration) {
    let (mut skew, mut error) = (0, 0);
    for t in [Duration::ZERO, until] {
        let errors: Vec<i64> = clocks.iter().map(|c| hardware_error_ns(c, t)).collect();
        let (lo, hi) = (errors.iter().min(), errors.iter().max());
        if let (Some(lo), Some(hi)) = (lo, hi) {
            skew = skew.max(hi.abs_diff(*lo));
        }
        error = errors
            .iter()
            .map(|e| e.unsigned_abs())
            .fold(error, u64::max);
    }
    (Duration::from_nanos(skew), Duration::from_nanos(error))
}

fn drift_over(elapsed: Duration, drift_ppm: u32) -> Duration {
    Duration::from_nanos((elapsed.as_nanos() * u128::from(drift_ppm) / 1_000_000) as u64)
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}
