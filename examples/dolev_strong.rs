//! Dolev–Strong authenticated broadcast, round by round: who signed what
//! and sent it where, who accepted or refused what and why, and what every
//! node decided, for a correct sender, an equivocating one, three generals
//! with one traitor (which oral messages cannot survive), a coalition's
//! late reveal in round f and in round f + 1, and a correct sender slower
//! than a round (synchrony broken). Then the cost for N = 7, f = 6 under
//! every scripted plan — messages beside their formula, bytes, signatures —
//! and the signatures verified per second of wall time.
//!
//! `cargo run --release --example dolev_strong` (add a seed:
//! `cargo run --release --example dolev_strong -- 7`)

use std::time::{Duration, Instant};

use dsys::consensus::dolev_strong::simulation::{
    messages_all_correct, messages_bound, plans, Cluster,
};
use dsys::consensus::dolev_strong::{DolevStrong, Event, NodeKey, SignedChain, Traitor};
use dsys::core::sim::{Latency, LinkConfig, Simulation};
use dsys::core::NodeId;

fn main() {
    let seed = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    println!(
        "Dolev–Strong: f + 1 rounds of 20 ms, links 1–10 ms, seed {seed}. The sender is n0.\n"
    );

    show(
        "1. A correct sender, N = 4, f = 2: three rounds, one value",
        &Cluster::new(4, 2),
        seed,
        None,
    );

    let mut equivocating = Cluster::new(4, 1);
    equivocating.traitors = vec![(NodeId(0), Traitor::Equivocate { other: 2 })];
    show(
        "2. The sender equivocates (1 to n1, n2; 2 to n3): relays show everyone both, all decide ⊥",
        &equivocating,
        seed,
        None,
    );

    let mut three = Cluster::new(3, 1);
    three.traitors = vec![(NodeId(2), Traitor::Forge)];
    show(
        "3. Three generals, one traitor (n2 claims the sender said 2): its forgery does not verify.\n   With oral messages N = 3, f = 1 is impossible; signatures change the bound",
        &three,
        seed,
        None,
    );

    for (round, what) in [
        (2, "in round f = 2: in time, so n1 relays it"),
        (3, "in round f + 1 = 3: too few signatures"),
    ] {
        let mut cluster = Cluster::new(5, 2);
        cluster.traitors = vec![
            (
                NodeId(0),
                Traitor::LateReveal {
                    other: 2,
                    coalition: vec![cluster.key(NodeId(4))],
                    to: NodeId(1),
                    round,
                },
            ),
            (NodeId(4), Traitor::Silent),
        ];
        show(
            &format!("4. N = 5, f = 2: traitors n0 and n4 sign 2 together and show it to n1 alone {what}"),
            &cluster,
            seed,
            None,
        );
    }

    show(
        "5. Synchrony broken: the correct sender's links take 25 ms, longer than a round.\n   Its chain arrives in round 2 with one signature and is refused, as a delaying traitor's would be",
        &Cluster::new(3, 1),
        seed,
        Some(Duration::from_millis(25)),
    );

    cost(seed);
}

/// Runs `cluster` and prints it round by round.
fn show(title: &str, cluster: &Cluster, seed: u64, slow_sender: Option<Duration>) {
    println!("{title}");
    let traitors: Vec<String> = cluster
        .traitors
        .iter()
        .map(|(id, t)| format!("{id} {}", describe(t)))
        .collect();
    if !traitors.is_empty() {
        println!("   traitors: {}", traitors.join("; "));
    }
    let mut sim = Simulation::new(
        cluster.nodes,
        seed,
        cluster.factory().expect("valid cluster"),
    );
    if let Some(latency) = slow_sender {
        for to in 1..cluster.nodes as u32 {
            sim.set_link(
                NodeId(0),
                NodeId(to),
                LinkConfig::reliable(Latency::Fixed(latency)),
            )
            .expect("a link of the cluster");
        }
    }
    sim.run_until(cluster.deadline() + cluster.round_length)
        .expect("no invariant to break");
    let mut round = 0;
    for (id, emitted) in sim.all_events() {
        let (r, line) = match &emitted.event {
            Event::Signed {
                round,
                value,
                signers,
                to,
            } => (
                *round,
                format!("{id} signed {value} [{}] → {}", names(signers), names(to)),
            ),
            Event::Accepted {
                round,
                value,
                signers,
            } => (
                *round,
                format!("{id} accepted {value} [{}]", names(signers)),
            ),
            Event::Rejected {
                round,
                from,
                value,
                reason,
            } => (
                *round,
                format!("{id} refused {value} from {from}: {reason}"),
            ),
            Event::Decided(d) => (u32::MAX, format!("{id} decides {d}")),
        };
        if r != round {
            round = r;
            if r == u32::MAX {
                println!("   end of round {}", cluster.faults + 1);
            } else {
                println!("   round {r}");
            }
        }
        println!("     {:>6.1?}  {line}", emitted.time);
    }
    for (name, verdict) in cluster.judge(&sim) {
        match verdict {
            Ok(()) => println!("   {name}: holds"),
            Err(why) => println!("   {name}: VIOLATED ({why})"),
        }
    }
    println!();
}

fn describe(traitor: &Traitor) -> String {
    match traitor {
        Traitor::Silent => "is silent".into(),
        Traitor::Forge => "forges (relays value + 1 under the old signatures)".into(),
        Traitor::Delay => "holds every chain back a round".into(),
        Traitor::RepeatSigner => "signs twice".into(),
        Traitor::Equivocate { other } => format!("equivocates (also signs {other})"),
        Traitor::OnlyTo(to) => format!("sends only to {}", names(to)),
        Traitor::LateReveal {
            other, to, round, ..
        } => {
            format!("reveals {other} to {to} alone in round {round}")
        }
    }
}

fn names(ids: &[NodeId]) -> String {
    ids.iter()
        .map(|id| id.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// N = 7, f = 6 under every plan: messages, bytes, signatures; then
/// signatures verified per second of wall time.
fn cost(seed: u64) {
    let (n, f) = (7, 6);
    println!("6. The cost for N = {n}, f = {f} (7 rounds), by traitor plan. Correct nodes send");
    println!(
        "   (N − 1)² = {} messages with no traitor, at most (N − 1) + 2(N − 1)(N − 2) = {} in any run.",
        messages_all_correct(n, f),
        messages_bound(n, f)
    );
    println!("   \"correct\": messages from correct nodes; \"all\", bytes and signatures count traitors too.");
    println!(
        "   {:<84} {:<10} {:>4} {:>7} {:>6} {:>8}",
        "plan", "correct", "all", "bytes", "signed", "verified"
    );
    let base = Cluster::new(n, f);
    let mut wall = Duration::ZERO;
    let (mut made_total, mut verified_total, mut runs) = (0, 0, 0);
    for plan in plans(&base) {
        let cluster = base.clone().with_plan(&plan);
        let (sim, took) = run(&cluster, seed);
        let (made, verified) = signatures(&sim);
        (made_total, verified_total, runs, wall) = (
            made_total + made,
            verified_total + verified,
            runs + 1,
            wall + took,
        );
        let formula = if plan.traitors.is_empty() {
            format!("(= {})", messages_all_correct(n, f))
        } else {
            format!("(≤ {})", messages_bound(n, f))
        };
        println!(
            "   {:<84} {:>3} {:<6} {:>4} {:>7} {:>6} {:>8}",
            plan.name,
            cluster.correct_messages(&sim),
            formula,
            sim.metrics().sent,
            sim.metrics().bytes_sent(),
            made,
            verified
        );
        let judged = cluster.judge(&sim);
        assert!(
            judged.iter().all(|(_, v)| v.is_ok()),
            "{}: {judged:?}",
            plan.name
        );
    }
    // Every plan again, over other seeds, for half a second of runs: the
    // rate counts the wall time of the runs themselves (signing, checking
    // and simulating), not the building of the clusters.
    let clusters: Vec<Cluster> = plans(&base)
        .iter()
        .map(|p| base.clone().with_plan(p))
        .collect();
    let mut repeat = 1;
    while wall < Duration::from_millis(500) {
        for cluster in &clusters {
            let (sim, took) = run(cluster, seed + repeat);
            let (made, verified) = signatures(&sim);
            (made_total, verified_total, runs, wall) = (
                made_total + made,
                verified_total + verified,
                runs + 1,
                wall + took,
            );
        }
        repeat += 1;
    }
    println!(
        "\n   {runs} runs, {:.2?} of wall time: {made_total} signatures made, {verified_total} verified;",
        wall
    );
    println!(
        "   {:.0} verified per second of run time (signing and simulating included), {:.1?} per run",
        verified_total as f64 / wall.as_secs_f64(),
        wall / runs
    );

    // Verification alone: a 7-signature chain, verified link by link.
    let keyring = dsys::consensus::dolev_strong::Keyring::derived(0, n);
    let mut chain = SignedChain::start(0, NodeId(0), 1, &base.key(NodeId(0)));
    for i in 1..n as u32 {
        chain.append(0, NodeId(0), NodeId(i), &NodeKey::derived(0, NodeId(i)));
    }
    let mut verified = 0;
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(300) {
        chain
            .check(0, NodeId(0), n, &keyring, &mut verified)
            .expect("a valid chain");
    }
    let elapsed = started.elapsed();
    println!(
        "   one {n}-signature chain checked {} times: {:.0} signatures verified per second (ed25519-dalek alone)",
        verified / n as u64,
        verified as f64 / elapsed.as_secs_f64()
    );
    println!(
        "   (wall-clock figures depend on the machine, its load and the build: run with --release)"
    );
}

/// Runs `cluster` to its end; returns the simulation and the wall time
/// the run itself took.
fn run(cluster: &Cluster, seed: u64) -> (Simulation<DolevStrong>, Duration) {
    let factory = cluster.factory().expect("valid cluster");
    let mut sim = Simulation::new(cluster.nodes, seed, factory);
    let started = Instant::now();
    sim.run_until(cluster.deadline() + cluster.round_length)
        .expect("no invariant to break");
    (sim, started.elapsed())
}

fn signatures(sim: &Simulation<DolevStrong>) -> (u64, u64) {
    sim.nodes().fold((0, 0), |(m, v), (_, node)| {
        (m + node.signatures_made(), v + node.signatures_verified())
    })
}
