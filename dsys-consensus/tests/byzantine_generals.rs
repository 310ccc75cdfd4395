//! The Byzantine generals, OM(m), judged by IC1, IC2 and termination:
//! every traitor and every table of lies for N = 4, f = 1; random lies for
//! N = 7, f = 2; the failure with N = 3; the message count against its
//! formula; the broken variants caught; `dsys sim byzantine-generals`.

use dsys_consensus::byzantine_generals::properties::{check_run, decisions, ic1, ic2};
use dsys_consensus::byzantine_generals::simulation::{
    every_lie_table, outgoing, random_traitor, run, traitor, Lie, ALGORITHM,
};
use dsys_consensus::byzantine_generals::{message_count, Defect, GeneralsConfig, Order};
use dsys_core::scenario::{ByzantineSpec, SimOptions, StrategySpec, Verdict};
use dsys_core::sim::Strategy;
use dsys_core::testing::{check_properties, check_seeds};
use dsys_core::NodeId;

const COMMANDER: NodeId = NodeId(0);

fn n(i: u32) -> NodeId {
    NodeId(i)
}

/// Runs OM(m) among `generals` with one traitor following `table`; the
/// outcome of IC1, IC2 and termination.
fn judge_one(
    generals: usize,
    config: GeneralsConfig,
    traitor_id: NodeId,
    table: dsys_consensus::byzantine_generals::simulation::LieTable,
) -> Result<(), String> {
    let sim = run(generals, 1, config, vec![(traitor_id, traitor(table))]).unwrap();
    check_run(&sim)
}

// Lamport et al. §3, Theorem 1 with m = 1: more than 3m generals, at most m
// traitors. Every traitor, both orders, every lie (attack, retreat,
// nothing) on every message the traitor sends: 2 × (27 + 3 × 9) runs.
#[test]
fn n4_f1_holds_for_every_traitor_and_every_table_of_lies() {
    let mut runs = 0;
    for order in [Order::Attack, Order::Retreat] {
        let config = GeneralsConfig::new(order, 1);
        for t in 0..4 {
            for table in every_lie_table(4, 1, COMMANDER, n(t), &Lie::ALL) {
                if let Err(why) = judge_one(4, config, n(t), table.clone()) {
                    panic!("traitor n{t}, order {order:?}, lies {table:?}: {why}");
                }
                runs += 1;
            }
        }
    }
    assert_eq!(runs, 2 * (27 + 3 * 9));
}

#[test]
fn the_lie_tables_cover_every_message_a_traitor_sends() {
    // OM(1), four generals: the commander sends 3 messages, a lieutenant 2.
    assert_eq!(outgoing(4, 1, COMMANDER, n(0)).len(), 3);
    assert_eq!(
        outgoing(4, 1, COMMANDER, n(2)),
        vec![(n(1), vec![n(0), n(2)]), (n(3), vec![n(0), n(2)])]
    );
    // OM(2), five generals: a lieutenant relays [0, t] to 3 and each of the
    // 3 paths [0, x, t] to 2.
    assert_eq!(outgoing(5, 2, COMMANDER, n(4)).len(), 3 + 3 * 2);
    assert_eq!(every_lie_table(4, 1, COMMANDER, n(1), &Lie::ALL).len(), 9);
}

// Theorem 1 with m = 2: seven generals, two traitors anywhere (the
// commander included), each message a random lie; 300 seeds.
#[test]
fn n7_f2_holds_under_random_lies() {
    check_seeds(0..300, |seed| {
        let a = n((seed % 7) as u32);
        let b = n(((seed / 7) % 6 + 1 + seed % 7) as u32 % 7);
        let order = if seed % 2 == 0 {
            Order::Attack
        } else {
            Order::Retreat
        };
        let sim = run(
            7,
            seed,
            GeneralsConfig::new(order, 2),
            vec![(a, random_traitor()), (b, random_traitor())],
        )
        .map_err(|e| e.to_string())?;
        assert_eq!(sim.byzantine_nodes().len(), 2);
        check_run(&sim).map_err(|why| format!("traitors {a} and {b}: {why}"))
    });
}

/// Every (traitor, order, table) for which OM(1) among three generals
/// breaks IC1 or IC2.
fn n3_failures(config: fn(Order) -> GeneralsConfig) -> Vec<(NodeId, Order, String)> {
    let mut failures = Vec::new();
    for order in [Order::Attack, Order::Retreat] {
        for t in 0..3 {
            for table in every_lie_table(3, 1, COMMANDER, n(t), &Lie::ALL) {
                if let Err(why) = judge_one(3, config(order), n(t), table) {
                    failures.push((n(t), order, why));
                }
            }
        }
    }
    failures
}

// Lamport et al. §2: no solution with three generals and one traitor.
#[test]
fn n3_f1_fails_for_some_traitor() {
    let failures = n3_failures(|order| GeneralsConfig::new(order, 1));
    assert!(!failures.is_empty());
    // The paper's Figure 1: a loyal commander says attack, the traitorous
    // lieutenant n2 tells n1 "he said retreat", and n1 cannot tell who lies.
    let table = [((n(1), vec![n(0), n(2)]), Lie::Say(Order::Retreat))].into();
    let why = judge_one(3, GeneralsConfig::new(Order::Attack, 1), n(2), table).unwrap_err();
    assert!(why.starts_with("IC2"), "{why}");
    // Figure 2, a traitorous commander telling n1 attack and n2 retreat,
    // does not break OM(1): both loyal lieutenants see {attack, retreat} and
    // retreat by default. Every failure is a loyal commander outvoted (IC2).
    assert!(failures
        .iter()
        .all(|(t, _, why)| *t != COMMANDER && why.starts_with("IC2")));
}

// Lamport et al. §3: the message count of OM(m).
#[test]
fn the_message_count_equals_the_formula() {
    for generals in 3..=7 {
        for m in 0..=(generals - 2).min(3) {
            let sim = run(
                generals,
                5,
                GeneralsConfig::new(Order::Attack, m),
                Vec::new(),
            )
            .unwrap();
            assert_eq!(
                sim.metrics().sent,
                message_count(generals, m),
                "n = {generals}, m = {m}"
            );
            check_run(&sim).unwrap();
        }
    }
    assert_eq!(message_count(7, 3), 6 + 30 + 120 + 360);
}

// The broken variants are caught: a checker that cannot fail is a defect.
#[test]
fn no_relay_is_caught_by_ic1_when_the_commander_equivocates() {
    let config = GeneralsConfig::new(Order::Attack, 1).broken(Defect::NoRelay);
    let sim = run(
        4,
        1,
        config,
        vec![(
            COMMANDER,
            Strategy::equivocate(|to, msg: &dsys_consensus::byzantine_generals::Msg| {
                msg.with_order(if to.0 == 1 {
                    Order::Attack
                } else {
                    Order::Retreat
                })
            }),
        )],
    )
    .unwrap();
    let why = ic1(&decisions(&sim), COMMANDER, &sim.byzantine_nodes()).unwrap_err();
    assert!(why.contains("n1 decided Attack"), "{why}");
    assert_eq!(sim.metrics().sent, 3, "nobody relays");
}

#[test]
fn ignoring_the_direct_order_is_caught_by_ic2_when_a_lieutenant_lies() {
    let config = GeneralsConfig::new(Order::Attack, 1).broken(Defect::IgnoresDirectOrder);
    let table = [
        ((n(1), vec![n(0), n(3)]), Lie::Say(Order::Retreat)),
        ((n(2), vec![n(0), n(3)]), Lie::Say(Order::Retreat)),
    ]
    .into();
    let sim = run(4, 1, config, vec![(n(3), traitor(table))]).unwrap();
    let decided = decisions(&sim);
    assert_eq!(ic1(&decided, COMMANDER, &[n(3)]), Ok(()));
    let why = ic2(&decided, COMMANDER, Order::Attack, &[n(3)]).unwrap_err();
    assert!(why.contains("decided Retreat"), "{why}");
    // The same lies against the correct algorithm: caught by nobody.
    let table = [
        ((n(1), vec![n(0), n(3)]), Lie::Say(Order::Retreat)),
        ((n(2), vec![n(0), n(3)]), Lie::Say(Order::Retreat)),
    ]
    .into();
    assert_eq!(
        judge_one(4, GeneralsConfig::new(Order::Attack, 1), n(3), table),
        Ok(())
    );
}

fn sim_options(seed: u64) -> SimOptions {
    let nodes = 4 + (seed % 4) as usize;
    let strategies: [StrategySpec; 5] = [
        StrategySpec::Equivocate,
        StrategySpec::Tamper,
        StrategySpec::Drop { probability: 1.0 },
        "delay=5..40".parse().unwrap(),
        StrategySpec::Replay { probability: 0.5 },
    ];
    let traitors = (nodes - 1) / 3;
    let byzantine = (0..traitors)
        .map(|k| ByzantineSpec {
            node: NodeId(((seed / 4 + 3 * k as u64) % nodes as u64) as u32),
            strategy: strategies[((seed / 3 + k as u64) % 5) as usize].clone(),
        })
        .collect();
    SimOptions {
        nodes,
        seed,
        latency: "1..15".parse().unwrap(),
        byzantine,
        ..SimOptions::default()
    }
}

// `dsys sim byzantine-generals` with traitors from --byzantine, 300 seeds.
#[test]
fn the_registered_scenario_holds_with_up_to_m_traitors() {
    check_properties(&ALGORITHM, 0..300, sim_options, |_| true);
    let outcome = (ALGORITHM.run)(&sim_options(0)).unwrap();
    assert_eq!(outcome.report.byzantine.len(), 1);
}

#[test]
fn the_registered_scenario_prints_the_count_beside_the_formula() {
    for nodes in [4, 7] {
        let options = SimOptions {
            nodes,
            ..SimOptions::default()
        };
        let report = (ALGORITHM.run)(&options).unwrap().report;
        let (_, messages) = report
            .figures
            .iter()
            .find(|(name, _)| name == "messages")
            .unwrap();
        assert!(messages.contains("(equal)"), "{messages}");
        assert!(report.passed(), "{report}");
    }
}

// Lamport et al. §2 from the command line: three generals, one traitor.
#[test]
fn three_generals_with_a_tampering_lieutenant_break_ic2() {
    let options = SimOptions {
        nodes: 3,
        byzantine: vec!["2:tamper".parse().unwrap()],
        ..SimOptions::default()
    };
    let report = (ALGORITHM.run)(&options).unwrap().report;
    assert!(!report.passed(), "{report}");
    let (_, verdict) = &report.verdicts[1];
    assert!(
        matches!(verdict, Verdict::Violated(why) if why.starts_with("IC2")),
        "{report}"
    );
}

// ----- the model checker (`dsys check byzantine-generals`) ----------------

#[test]
fn the_model_checker_explores_every_lie_and_finds_both_defects() {
    use dsys_consensus::byzantine_generals::model::model;

    let shortest = crate::counterexample;
    // Four generals, one traitor, every lie and every order: OM(1) holds
    // whoever the traitor is.
    for (traitor, states) in [(NodeId(0), 1_133), (NodeId(3), 432)] {
        let report = model(4, traitor, None).check();
        assert!(report.passed() && report.exhaustive, "{report}");
        assert_eq!(report.states, states, "{report}");
    }
    // Three generals: N > 3f fails, and a traitorous lieutenant's one lie
    // makes a loyal lieutenant disobey the loyal commander.
    let report = model(3, NodeId(2), None).check();
    assert_eq!(shortest(&report, "IC2"), 3, "{report}");
    // No relaying: the traitorous commander tells two lieutenants apart.
    let report = model(4, NodeId(0), Some(Defect::NoRelay)).check();
    assert_eq!(shortest(&report, "IC1"), 2, "{report}");
    // Ignoring one's own order: a traitorous lieutenant outvotes the loyal
    // commander, and a traitorous commander splits the lieutenants.
    let report = model(4, NodeId(3), Some(Defect::IgnoresDirectOrder)).check();
    let ic2 = shortest(&report, "IC2");
    let report = model(4, NodeId(0), Some(Defect::IgnoresDirectOrder)).check();
    let ic1 = shortest(&report, "IC1");
    println!("ignores-direct-order: IC2 broken in {ic2} steps, IC1 in {ic1}");
    assert_eq!((ic2, ic1), (5, 7));
}
