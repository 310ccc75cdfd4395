//! FLP, as a run: an adversary that only chooses the order of events keeps
//! two Paxos proposers undecided for as long as it is allowed to run, while
//! every message is delivered within 40 ms; the same adversary loses once
//! the proposers back off for a random time.
//!
//! 1. Fixed back-off (25 ms): the adversary holds the leader's Accepts and
//!    lets the rival's higher Prepare overtake them, round after round. It
//!    prints the bivalent choices it made, then what it did not do: lose a
//!    message, hold one longer than 40 ms, or fire a timer early.
//! 2. The same adversary, the simulator's own order: decides at once.
//! 3. The same adversary, randomised back-off (5–60 ms): a rival that waits
//!    longer than the adversary may hold the Accepts lets them through,
//!    and a value is chosen — in every one of 100 seeds.
//!
//! `cargo run --example flp` (or `-- STEPS` for a longer first run:
//! `cargo run --release --example flp -- 1000000`)

use std::time::Duration;

use dsys::consensus::paxos::flp::Adversary;
use dsys::consensus::paxos::properties::safety;
use dsys::consensus::paxos::simulation::{cluster, SimPaxos};
use dsys::consensus::paxos::{Backoff, PaxosConfig, PaxosEvent};
use dsys::core::sim::Simulation;
use dsys::core::NodeId;

/// The longest the adversary may hold a message.
const HOLD_MAX: Duration = Duration::from_millis(40);

fn main() {
    let steps: u64 = match std::env::args().nth(1) {
        None => 10_000,
        Some(s) => {
            match s.parse() {
                Ok(steps) => steps,
                Err(_) => {
                    eprintln!("usage: cargo run --example flp -- [STEPS] (a number of events, e.g. 10000)");
                    std::process::exit(2);
                }
            }
        }
    };
    let fixed = PaxosConfig {
        backoff: Backoff::Fixed(Duration::from_millis(25)),
        ..PaxosConfig::default()
    };

    println!("1. Three nodes; n0 proposes 100 and n1 proposes 101; each backs off 25 ms after a rejection.");
    println!("   The adversary orders every event, holding no message longer than {HOLD_MAX:?}.\n");
    let mut sim = simulation(fixed.clone(), 1);
    let adversary = Adversary::new(HOLD_MAX);
    sim.set_scheduler(adversary.clone());
    for _ in 0..steps {
        if !sim.step().expect("safety holds") {
            break;
        }
    }
    let choices = adversary.choices();
    for choice in choices.iter().take(8) {
        println!("   {choice}");
    }
    if choices.len() > 10 {
        println!("   … {} more like these …", choices.len() - 10);
    }
    for choice in choices.iter().skip(8.max(choices.len().saturating_sub(2))) {
        println!("   {choice}");
    }
    let decided = sim.nodes().filter(|(_, n)| n.decided().is_some()).count();
    let m = sim.metrics();
    println!(
        "\n   after {} events and {:.1} s of virtual time: {decided} of 3 nodes decided, {} bivalent choices;",
        sim.events_processed(),
        sim.now().as_secs_f64(),
        choices.len()
    );
    println!(
        "   {} messages sent, {} delivered, {} lost, {} in flight; none held longer than {:?}.",
        m.sent,
        m.delivered,
        m.dropped,
        m.sent + m.duplicated - m.delivered - m.dropped,
        adversary.longest_hold()
    );
    println!("   Safety held after every event. A deterministic protocol, one adversary: FLP.\n");

    println!("2. The same cluster in the simulator's own order (random 1–10 ms delays):");
    let mut sim = simulation(fixed, 1);
    sim.run_until(Duration::from_secs(2)).expect("safety holds");
    report_decision(&sim);

    println!("\n3. The same adversary against randomised back-off (5–60 ms), 100 seeds:");
    let mut rounds = Vec::new();
    for seed in 0..100 {
        let mut sim = simulation(PaxosConfig::default(), seed);
        let adversary = Adversary::new(HOLD_MAX);
        sim.set_scheduler(adversary.clone());
        let mut left = steps.max(10_000);
        while left > 0 && !sim.nodes().all(|(_, n)| n.decided().is_some()) {
            sim.step().expect("safety holds");
            left -= 1;
        }
        if seed == 0 {
            report_decision(&sim);
        }
        let all = sim.nodes().all(|(_, n)| n.decided().is_some());
        rounds.push((all, adversary.choices().len()));
    }
    let decided = rounds.iter().filter(|(all, _)| *all).count();
    let most = rounds.iter().map(|(_, c)| *c).max().unwrap_or(0);
    println!(
        "   all nodes decided in {decided} of 100 seeds, after at most {most} bivalent choices: a rival that"
    );
    println!(
        "   backs off longer than {HOLD_MAX:?} forces the adversary to deliver the leader's Accepts."
    );
}

fn simulation(config: PaxosConfig, seed: u64) -> Simulation<SimPaxos> {
    let mut sim = Simulation::new(3, seed, cluster(config, vec![NodeId(0), NodeId(1)]));
    for (name, check) in safety() {
        sim.invariant(name, check);
    }
    sim
}

fn report_decision(sim: &Simulation<SimPaxos>) {
    let decided: Vec<String> = sim
        .nodes()
        .map(|(id, n)| match n.decided() {
            Some(v) => format!("{id} decided {v}"),
            None => format!("{id} undecided"),
        })
        .collect();
    let last = sim
        .all_events()
        .iter()
        .filter(|(_, e)| matches!(e.event, PaxosEvent::Decided { .. }))
        .map(|(_, e)| e.time)
        .max()
        .unwrap_or_default();
    println!(
        "   {}, the last at {:.1} ms of virtual time.",
        decided.join(", "),
        last.as_secs_f64() * 1e3
    );
}
