//! The Byzantine generals with oral messages, OM(m) (Lamport, Shostak &
//! Pease 1982), in the simulator. Traitors are loyal generals made
//! Byzantine by the simulator: their code is the loyal one, their outgoing
//! messages lie.
//!
//! 1. Four generals, OM(1): all loyal; then a traitorous commander telling
//!    different lieutenants different orders; then a traitorous lieutenant.
//!    For each lieutenant: what it received, by relay path, and what it obeys.
//! 2. The message count measured for n = 4–7 and m = 0–3, beside the formula
//!    (n − 1) + (n − 1)(n − 2) + … .
//! 3. N = 3, f = 1: a search through every traitor and every lie (attack,
//!    retreat or silence on each message) finds the runs that break IC1 or
//!    IC2 and prints the first one.
//! 4. Byzantine generals ↔ consensus, as the lecture builds them: consensus
//!    from n instances of the generals (one per proposer, then a majority),
//!    and the generals from consensus (the commander's order, then
//!    consensus on what each received).
//!
//! `cargo run --example byzantine_generals`

use std::collections::BTreeMap;

use dsys::consensus::byzantine_generals::properties::{check_run, decisions};
use dsys::consensus::byzantine_generals::simulation::{
    every_lie_table, random_traitor, run, traitor, Lie, LieTable,
};
use dsys::consensus::byzantine_generals::{
    majority, message_count, General, GeneralsConfig, Msg, Order,
};
use dsys::core::sim::{Simulation, Strategy};
use dsys::core::NodeId;

fn n(i: u32) -> NodeId {
    NodeId(i)
}

fn path_text(path: &[NodeId]) -> String {
    let ids: Vec<String> = path.iter().map(|p| p.0.to_string()).collect();
    format!("[{}]", ids.join(","))
}

fn order_text(order: Order) -> &'static str {
    match order {
        Order::Attack => "attack",
        Order::Retreat => "retreat",
    }
}

/// Each general's view: what arrived by path, and what it obeys.
fn show(sim: &Simulation<General>) {
    let decided = decisions(sim);
    let traitors = sim.byzantine_nodes();
    for (id, general) in sim.nodes() {
        let role = if id == general.config().commander {
            "commander "
        } else {
            "lieutenant"
        };
        let loyalty = if traitors.contains(&id) {
            "TRAITOR"
        } else {
            "loyal  "
        };
        let received: Vec<String> = general
            .received()
            .iter()
            .map(|(path, order)| format!("{} {}", path_text(path), order_text(*order)))
            .collect();
        let obeys = decided.get(&id).map_or("-", |o| order_text(*o));
        let heard = if received.is_empty() {
            String::new()
        } else {
            format!("  heard: {}", received.join(", "))
        };
        println!("  {id} {role} {loyalty} obeys {obeys:<8}{heard}");
    }
    let verdict = match check_run(sim) {
        Ok(()) => "IC1, IC2 and termination hold".to_string(),
        Err(why) => format!("VIOLATED: {why}"),
    };
    println!("  {} messages; {verdict}\n", sim.metrics().sent);
}

fn lies_text(table: &LieTable) -> String {
    let lies: Vec<String> = table
        .iter()
        .map(|((to, path), lie)| {
            let what = match lie {
                Lie::Say(order) => format!("says {}", order_text(*order)),
                Lie::Silent => "says nothing".to_string(),
            };
            format!("to {to} on {} {what}", path_text(path))
        })
        .collect();
    lies.join("; ")
}

/// Consensus from the generals: general i commands instance i with its
/// proposal; each general obeys the majority of the vector of instance
/// decisions. Returns (vector, decision) per general.
fn consensus(
    proposals: &[Order],
    traitors: &[NodeId],
    m: usize,
    seed: u64,
) -> BTreeMap<NodeId, (Vec<Order>, Order)> {
    let count = proposals.len();
    let mut vectors: BTreeMap<NodeId, Vec<Order>> = BTreeMap::new();
    for (i, &proposal) in proposals.iter().enumerate() {
        let config = GeneralsConfig {
            commander: n(i as u32),
            ..GeneralsConfig::new(proposal, m)
        };
        let liars = traitors.iter().map(|&t| (t, random_traitor())).collect();
        let sim = run(count, seed + i as u64, config, liars).expect("valid run");
        for (id, order) in decisions(&sim) {
            vectors.entry(id).or_default().push(order);
        }
    }
    vectors
        .into_iter()
        .map(|(id, vector)| {
            let decision = majority(&vector);
            (id, (vector, decision))
        })
        .collect()
}

fn vector_text(vector: &[Order]) -> String {
    let letters: Vec<&str> = vector
        .iter()
        .map(|o| if *o == Order::Attack { "A" } else { "R" })
        .collect();
    letters.join("")
}

fn main() {
    println!("== 1. Four generals, OM(1), commander n0 orders attack ==\n");
    let config = GeneralsConfig::new(Order::Attack, 1);
    println!("All loyal:");
    show(&run(4, 1, config, Vec::new()).expect("valid run"));

    println!("The commander is a traitor: it tells n1 and n3 to attack, n2 to retreat:");
    let equivocating = Strategy::equivocate(|to, msg: &Msg| {
        msg.with_order(if to == n(2) {
            Order::Retreat
        } else {
            Order::Attack
        })
    });
    show(&run(4, 1, config, vec![(n(0), equivocating)]).expect("valid run"));

    println!("Lieutenant n3 is a traitor: it tells n1 and n2 the commander said retreat:");
    let table: LieTable = [
        ((n(1), vec![n(0), n(3)]), Lie::Say(Order::Retreat)),
        ((n(2), vec![n(0), n(3)]), Lie::Say(Order::Retreat)),
    ]
    .into();
    show(&run(4, 1, config, vec![(n(3), traitor(table))]).expect("valid run"));

    println!("== 2. Messages sent by OM(m), measured in the simulator ==\n");
    println!(
        "  {:>2} {:>2} {:>9} {:>9}  formula",
        "n", "m", "measured", "formula"
    );
    for generals in 4..=7usize {
        for m in 0..=(generals - 2).min(3) {
            let sim = run(
                generals,
                3,
                GeneralsConfig::new(Order::Attack, m),
                Vec::new(),
            )
            .expect("valid run");
            let terms: Vec<String> = (1..=m + 1)
                .map(|k| {
                    let factors: Vec<String> =
                        (1..=k).map(|j| (generals - j).to_string()).collect();
                    factors.join("·")
                })
                .collect();
            let measured = sim.metrics().sent;
            let formula = message_count(generals, m);
            let mark = if measured == formula { "" } else { "  DIFFERS" };
            println!(
                "  {generals:>2} {m:>2} {measured:>9} {formula:>9}  {}{mark}",
                terms.join(" + ")
            );
        }
    }

    println!("\n== 3. Three generals, one traitor: searching every lie ==\n");
    let mut runs = 0;
    let mut failures = Vec::new();
    for order in [Order::Attack, Order::Retreat] {
        for t in 0..3 {
            for table in every_lie_table(3, 1, n(0), n(t), &Lie::ALL) {
                runs += 1;
                let config = GeneralsConfig::new(order, 1);
                let sim =
                    run(3, 1, config, vec![(n(t), traitor(table.clone()))]).expect("valid run");
                if check_run(&sim).is_err() {
                    failures.push((order, n(t), table, sim));
                }
            }
        }
    }
    println!(
        "  {runs} runs (2 orders × every traitor × 3 lies per message), {} break IC1 or IC2.",
        failures.len()
    );
    if let Some((order, traitor_id, table, sim)) = failures.first() {
        println!(
            "  First found: the commander orders {}, traitor {traitor_id}: {}",
            order_text(*order),
            lies_text(table)
        );
        show(sim);
        println!(
            "  The loyal lieutenant heard one order from the commander and the other from its\n  \
             fellow lieutenant. It cannot tell which of them lies, so it takes the default\n  \
             and disobeys a loyal commander. With N <= 3f no algorithm can tell (Lamport et\n  \
             al. §2); with four generals the second loyal voice decides (section 1).\n"
        );
    }

    println!("== 4. Byzantine generals <-> consensus ==\n");
    println!("Consensus from the generals (4 generals, n2 a traitor lying at random):");
    println!(
        "  each general commands one OM(1) instance with its proposal; each obeys the majority"
    );
    println!(
        "  of the vector of instance decisions (A = attack, R = retreat, one entry per commander)."
    );
    let proposals = [Order::Attack, Order::Attack, Order::Retreat, Order::Attack];
    let traitors = [n(2)];
    for (id, (vector, decision)) in consensus(&proposals, &traitors, 1, 10) {
        let mark = if traitors.contains(&id) {
            " (traitor)"
        } else {
            ""
        };
        println!(
            "  {id} proposes {:<7}  vector {}  decides {}{mark}",
            order_text(proposals[id.index()]),
            vector_text(&vector),
            order_text(decision)
        );
    }
    println!("  IC1 makes the loyal vectors equal (agreement); IC2 puts each loyal proposal in");
    println!("  its own slot, so if the loyal majority proposes v, v wins (validity).\n");

    println!("The generals from consensus (commander n0 a traitor, equivocating):");
    println!(
        "  step 1, the commander sends its order (OM(0)); step 2, everyone runs the consensus"
    );
    println!("  above on what it received.");
    let equivocating = Strategy::equivocate(|to, msg: &Msg| {
        msg.with_order(if to.0 % 2 == 1 {
            Order::Attack
        } else {
            Order::Retreat
        })
    });
    let step1 = run(
        4,
        20,
        GeneralsConfig::new(Order::Attack, 0),
        vec![(n(0), equivocating)],
    )
    .expect("valid run");
    let received = decisions(&step1);
    let proposals: Vec<Order> = (0..4).map(|i| received[&n(i)]).collect();
    let outcome = consensus(&proposals, &[n(0)], 1, 30);
    for (id, (vector, decision)) in &outcome {
        let mark = if *id == n(0) { " (traitor)" } else { "" };
        println!(
            "  {id} received {:<7}  vector {}  obeys {}{mark}",
            order_text(proposals[id.index()]),
            vector_text(vector),
            order_text(*decision)
        );
    }
    let loyal: Vec<Order> = outcome
        .iter()
        .filter(|(id, _)| **id != n(0))
        .map(|(_, (_, d))| *d)
        .collect();
    let agree = loyal.windows(2).all(|w| w[0] == w[1]);
    println!(
        "  loyal lieutenants agree: {agree} (IC1 from consensus agreement; with a loyal commander,\n  \
         every loyal general would propose its order and validity would give IC2)."
    );
}
