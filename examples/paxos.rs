//! Paxos, watched ("Paxos Made Simple"): who proposed what with which
//! ballot, who promised, who accepted, what was chosen — first with one
//! proposer (and the message count beside its formula), then with two
//! proposers at the same instant settled by randomised back-off, then the
//! hostile schedule under which dueling proposers never decide, and last a
//! broken proposer (it ignores accepted values) caught choosing two values.
//!
//! `cargo run --example paxos` (add a seed: `cargo run --example paxos -- 7`)

use std::time::Duration;

use dsys::consensus::paxos::properties::safety;
use dsys::consensus::paxos::simulation::{cluster, message_counts, SimPaxos};
use dsys::consensus::paxos::{duel, Defect, PaxosConfig, PaxosEvent};
use dsys::core::sim::{LinkConfig, Simulation};
use dsys::core::NodeId;

fn main() {
    let seed = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);

    println!("1. One proposer, three nodes (seed {seed}): n0 proposes 100.\n");
    let mut sim = simulation(3, seed, PaxosConfig::default(), &[0]);
    sim.run_until(Duration::from_secs(1)).expect("safety holds");
    print_events(&sim);
    println!("\n   messages, measured against the formula (n = 3, P phase-1 and A phase-2 ballots, W winners):");
    for (formula, measured, predicted) in message_counts(&sim) {
        println!("     {measured:>3} measured, {predicted:>3} predicted: {formula}");
    }
    println!(
        "     {:>3} in all = 5n − 1 for one uncontended ballot\n",
        sim.metrics().sent
    );

    println!("2. Dueling proposers, five nodes: n0 proposes 100 and n1 proposes 101 at the same instant.");
    println!("   Randomised back-off (5-60 ms) after each rejection lets one of them finish.\n");
    let mut sim = simulation(5, seed, PaxosConfig::default(), &[0, 1]);
    sim.run_until(Duration::from_secs(2)).expect("safety holds");
    print_events(&sim);

    println!(
        "\n3. The hostile schedule (§2.4): each proposer's Prepares overtake the other's Accepts."
    );
    let net = duel::hostile_duel(PaxosConfig::default(), 6).expect("safety holds");
    for (node, event) in net.events() {
        if let PaxosEvent::Preparing { ballot } | PaxosEvent::Preempted { ballot, .. } = event {
            let what = if matches!(event, PaxosEvent::Preparing { .. }) {
                "prepares"
            } else {
                "is preempted in"
            };
            println!("   {node} {what} ballot {ballot}");
        }
    }
    let decided = net.nodes().filter(|(_, n)| n.decided().is_some()).count();
    println!(
        "   after {} steps, with every message but the current round's delivered: {decided} nodes decided.",
        net.steps()
    );
    println!("   The adversary fires each retry as soon as it is pending, so back-off cannot help: FLP.\n");

    println!("4. A broken proposer that sends its own value even when a promise reported an accepted one:");
    let broken = PaxosConfig {
        defect: Some(Defect::IgnoresAcceptedValues),
        ..PaxosConfig::default()
    };
    for seed in 0..100 {
        let mut sim = simulation(5, seed, broken.clone(), &[0, 1, 2, 3, 4]);
        sim.set_all_links(LinkConfig::default().with_loss(0.1))
            .expect("valid link");
        if let Err(violation) = sim.run_until(Duration::from_secs(2)) {
            println!("   seed {seed}, five proposers on a lossy network: {violation}");
            return;
        }
    }
    println!("   not caught in 100 seeds");
}

fn simulation(n: usize, seed: u64, config: PaxosConfig, proposers: &[u32]) -> Simulation<SimPaxos> {
    let proposers = proposers.iter().map(|&p| NodeId(p)).collect();
    let mut sim = Simulation::new(n, seed, cluster(config, proposers));
    for (name, check) in safety() {
        sim.invariant(name, check);
    }
    sim
}

fn print_events(sim: &Simulation<SimPaxos>) {
    for (node, e) in sim.all_events() {
        let what = match &e.event {
            PaxosEvent::Preparing { ballot } => format!("prepares ballot {ballot}"),
            PaxosEvent::Promised { ballot } => format!("promises {ballot}"),
            PaxosEvent::Proposing {
                ballot,
                value,
                adopted,
            } => format!(
                "has a majority of promises: proposes {value} in {ballot}{}",
                if *adopted {
                    " (adopted from a promise)"
                } else {
                    " (its own)"
                }
            ),
            PaxosEvent::Accepted { ballot, value } => format!("accepts {value} in {ballot}"),
            PaxosEvent::Preempted { ballot, by } => {
                format!("is preempted: {ballot} lost to a promise of {by}; backs off")
            }
            PaxosEvent::Decided {
                value,
                learned_from: None,
            } => {
                format!("sees a majority accept: {value} is CHOSEN")
            }
            PaxosEvent::Decided {
                value,
                learned_from: Some(from),
            } => {
                format!("learns {value} from {from}")
            }
        };
        println!(
            "   {:>7.1} ms  {node} {what}",
            e.time.as_secs_f64() * 1000.0
        );
    }
}
