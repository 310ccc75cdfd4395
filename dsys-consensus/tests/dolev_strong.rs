//! Dolev–Strong in the simulator: the three properties for every f < N up
//! to N = 7 under every scripted traitor plan, N = 3 with one traitor, the
//! checkers catching the broken variants, and what a broken synchrony
//! assumption does.

use std::time::Duration;

use dsys_consensus::dolev_strong::properties::{agreement, records, termination, validity};
use dsys_consensus::dolev_strong::simulation::{
    messages_all_correct, messages_bound, plans, Cluster, Plan, ALGORITHM,
};
use dsys_consensus::dolev_strong::{Decision, Defect, DolevStrong, Event, Rejection, Traitor};
use dsys_core::scenario::{SimOptions, Verdict};
use dsys_core::sim::{ClockConfig, Latency, LinkConfig, Ordering, Simulation};
use dsys_core::testing::check_properties;
use dsys_core::NodeId;

/// Runs `cluster` to the end of round f + 1 (and a little past it) on
/// links that reorder and duplicate (harmless within a round).
fn run(cluster: &Cluster, seed: u64) -> Simulation<DolevStrong> {
    let mut sim = Simulation::new(cluster.nodes, seed, cluster.factory().unwrap());
    let link = LinkConfig::default()
        .with_ordering(Ordering::Reorder)
        .with_duplicate(0.1);
    sim.set_all_links(link).unwrap();
    sim.run_until(cluster.deadline() + cluster.round_length)
        .unwrap();
    sim
}

fn judge(cluster: &Cluster, plan: &str, seed: u64, sim: &Simulation<DolevStrong>) {
    for (name, verdict) in cluster.judge(sim) {
        if let Err(why) = verdict {
            panic!(
                "N = {}, f = {}, plan {plan:?}, seed {seed}: {name} failed: {why}",
                cluster.nodes, cluster.faults
            );
        }
    }
}

fn correct_decisions(cluster: &Cluster, sim: &Simulation<DolevStrong>) -> Vec<Decision> {
    sim.nodes()
        .filter(|(id, _)| cluster.traitor(*id).is_none())
        .map(|(_, n)| n.decision().expect("decided"))
        .collect()
}

fn rejections(cluster: &Cluster, sim: &Simulation<DolevStrong>) -> Vec<Rejection> {
    sim.all_events()
        .into_iter()
        .filter(|(id, _)| cluster.traitor(*id).is_none())
        .filter_map(|(_, e)| match &e.event {
            Event::Rejected { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect()
}

// Dolev & Strong 1983: Agreement, Validity and the t + 1-round bound, for
// every t < n; LSP 1982 §4 (SM(m), IC1 and IC2) for the same idea.
#[test]
fn the_three_properties_hold_for_every_f_below_n_up_to_seven_under_every_plan() {
    let mut runs = 0;
    for n in 1..=7 {
        for f in 0..n as u32 {
            for plan in plans(&Cluster::new(n, f)) {
                for seed in 0..3 {
                    let cluster = Cluster::new(n, f).with_plan(&plan);
                    let sim = run(&cluster, seed);
                    judge(&cluster, &plan.name, seed, &sim);
                    check_expected_outcome(&cluster, &plan, &sim);
                    runs += 1;
                }
            }
        }
    }
    assert!(runs > 500, "{runs} runs");
}

/// What each plan must lead to, beyond the three properties.
fn check_expected_outcome(cluster: &Cluster, plan: &Plan, sim: &Simulation<DolevStrong>) {
    let decisions = correct_decisions(cluster, sim);
    let rejected = rejections(cluster, sim);
    let context = format!(
        "N = {}, f = {}, {}",
        cluster.nodes, cluster.faults, plan.name
    );
    let sender = cluster.traitor(NodeId(0));
    if sender.is_none() {
        assert!(
            decisions.iter().all(|&d| d == Decision::Value(1)),
            "{context}: {decisions:?}"
        );
    }
    match sender {
        Some(Traitor::Equivocate { .. }) if cluster.nodes > 2 && plan.traitors.len() == 1 => {
            assert!(
            decisions.iter().all(|&d| d == Decision::Default),
            "{context}: an equivocating sender makes every correct node decide ⊥: {decisions:?}"
        )
        }
        Some(Traitor::Silent | Traitor::Forge | Traitor::Delay | Traitor::RepeatSigner) => {
            assert!(
                decisions.iter().all(|&d| d == Decision::Default),
                "{context}: nothing valid was sent: {decisions:?}"
            )
        }
        Some(Traitor::OnlyTo(_)) => assert!(
            decisions.iter().all(|&d| d == Decision::Value(1)),
            "{context}: n1 relays it to everyone: {decisions:?}"
        ),
        Some(Traitor::LateReveal { round, .. }) => {
            let expected = if *round <= cluster.faults {
                Decision::Default // revealed in time: everyone sees both
            } else {
                Decision::Value(1) // too late: refused as too short
            };
            assert!(
                decisions.iter().all(|&d| d == expected),
                "{context}: {decisions:?}"
            );
        }
        _ => {}
    }
    // Each distortion is refused for the reason it deserves, whenever a
    // correct node sees it before accepting the value another way.
    let refused = |what: fn(&Rejection) -> bool| rejected.iter().any(what);
    match sender {
        Some(Traitor::Forge) => assert!(refused(|r| matches!(r, Rejection::BadSignature(_)))),
        Some(Traitor::Delay) => {
            assert!(refused(|r| matches!(r, Rejection::TooFewSignatures { .. })))
        }
        Some(Traitor::RepeatSigner) => {
            assert!(refused(|r| matches!(r, Rejection::RepeatedSigner(_))))
        }
        _ => {}
    }
    if plan.traitors.is_empty() {
        let sent = cluster.correct_messages(sim);
        assert_eq!(
            sim.metrics().sent,
            sent,
            "{context}: every message is from a correct node"
        );
        assert_eq!(
            sent,
            messages_all_correct(cluster.nodes, cluster.faults),
            "{context}"
        );
    } else {
        assert!(
            cluster.correct_messages(sim) <= messages_bound(cluster.nodes, cluster.faults),
            "{context}"
        );
    }
}

// Signatures beat the N > 3f bound of oral messages (LSP 1982 §2 and §4):
// three generals, one traitor, wherever it sits and whatever it does.
#[test]
fn three_nodes_with_one_traitor_agree_which_oral_messages_cannot() {
    let mut strategies = vec![
        Traitor::Silent,
        Traitor::Forge,
        Traitor::Delay,
        Traitor::RepeatSigner,
        Traitor::Equivocate { other: 2 },
        Traitor::OnlyTo(vec![NodeId(1)]),
        Traitor::OnlyTo(vec![NodeId(2)]),
    ];
    strategies.extend([1, 2].map(|round| Traitor::LateReveal {
        other: 2,
        coalition: Vec::new(),
        to: NodeId(2),
        round,
    }));
    for traitor in 0..3 {
        for strategy in &strategies {
            for seed in 0..5 {
                let mut cluster = Cluster::new(3, 1);
                cluster.traitors = vec![(NodeId(traitor), strategy.clone())];
                let sim = run(&cluster, seed);
                judge(&cluster, &format!("n{traitor}: {strategy:?}"), seed, &sim);
            }
        }
    }
}

fn options(seed: u64) -> SimOptions {
    SimOptions {
        nodes: 1 + (seed / 11 % 7) as usize,
        seed,
        reorder: true,
        duplicate: 0.05,
        ..SimOptions::default()
    }
}

// `dsys sim dolev-strong`: the seed picks f and the plan.
#[test]
fn dsys_sim_dolev_strong_holds_over_300_seeds() {
    check_properties(&ALGORITHM, 0..300, options, |_| true);
}

#[test]
fn the_sim_report_prints_the_message_count_beside_its_formula() {
    let options = SimOptions {
        nodes: 7,
        seed: 6, // f = 6, the first plan: no traitors
        ..SimOptions::default()
    };
    let report = (ALGORITHM.run)(&options).unwrap().report;
    assert!(report.passed(), "{report}");
    let figure = |name: &str| {
        report
            .figures
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(figure("f"), "6");
    assert_eq!(figure("traitors"), "no traitors");
    assert_eq!(
        figure("messages from correct nodes"),
        "36 = (N − 1)² = 36 with no traitor"
    );
    assert_eq!(figure("signatures"), "7 made, 6 verified");
}

// The broken variant that accepts a chain shorter than its round: the
// coalition's too-late reveal (f signatures in round f + 1) reaches n1
// alone, who takes it and cannot pass it on.
#[test]
fn agreement_catches_accepting_short_chains() {
    for (n, f) in [(3, 1), (4, 2), (7, 3)] {
        let cluster = Cluster::new(n, f);
        let late = plans(&cluster)
            .into_iter()
            .find(|p| p.name.ends_with("in round f + 1"))
            .unwrap();
        let mut cluster = cluster.with_plan(&late);
        judge(&cluster, &late.name, 0, &run(&cluster, 0));
        cluster.defect = Some(Defect::AcceptsShortChains);
        let why = agreement(&records(&run(&cluster, 0))).unwrap_err();
        assert!(why.contains("n1 decided ⊥"), "N = {n}: {why}");
    }
}

// The broken variant that does not relay: what the sender told n1 stays
// with n1.
#[test]
fn agreement_catches_not_relaying() {
    let plan = Plan {
        name: "sender reaches n1 only".into(),
        traitors: vec![(NodeId(0), Traitor::OnlyTo(vec![NodeId(1)]))],
    };
    let mut cluster = Cluster::new(4, 1).with_plan(&plan);
    judge(&cluster, &plan.name, 0, &run(&cluster, 0));
    cluster.defect = Some(Defect::NoRelay);
    let why = agreement(&records(&run(&cluster, 0))).unwrap_err();
    assert!(why.contains("n1 decided 1"), "{why}");
}

/// Synchrony broken: the correct sender's links are slower than a round.
fn slow_sender(cluster: &Cluster) -> Simulation<DolevStrong> {
    let mut sim = Simulation::new(cluster.nodes, 0, cluster.factory().unwrap());
    let slow = LinkConfig::reliable(Latency::Fixed(
        cluster.round_length + Duration::from_millis(5),
    ));
    for to in 1..cluster.nodes as u32 {
        sim.set_link(NodeId(0), NodeId(to), slow).unwrap();
    }
    sim.run_until(cluster.deadline() + cluster.round_length)
        .unwrap();
    sim
}

// Validity rests on synchrony: a correct sender whose chains arrive a
// round late (one signature, round 2) is refused like a delaying traitor.
// The sender itself decides its value, so Agreement goes too.
#[test]
fn validity_catches_a_correct_sender_slower_than_a_round() {
    let cluster = Cluster::new(3, 1);
    let sim = slow_sender(&cluster);
    let records = records(&sim);
    let why = validity(NodeId(0), 1, &records).unwrap_err();
    assert!(why.contains("n1 decided ⊥"), "{why}");
    let why = agreement(&records).unwrap_err();
    assert!(why.contains("n0 decided 1 but n1 decided ⊥"), "{why}");
    assert!(rejections(&cluster, &sim).contains(&Rejection::TooFewSignatures { have: 1, need: 2 }));
}

// Termination in f + 1 rounds, measured in virtual time, rests on clocks
// that agree: a node whose clock runs 20 % slow ends its rounds late.
#[test]
fn termination_catches_a_slow_clock() {
    let cluster = Cluster::new(3, 1);
    let mut sim = Simulation::new(3, 0, cluster.factory().unwrap());
    sim.set_clock(NodeId(2), ClockConfig::default().drift_ppm(-200_000.0))
        .unwrap();
    sim.run_until(cluster.deadline() * 2).unwrap();
    let why = termination(cluster.deadline(), &records(&sim)).unwrap_err();
    assert!(
        why.contains("n2 decided at") && why.contains("after"),
        "{why}"
    );
}

#[test]
fn dsys_sim_skips_rather_than_fails_outside_the_assumptions_and_says_what_happened() {
    let options = SimOptions {
        nodes: 3,
        seed: 1, // f = 1, no traitors
        latency: "25..25".parse().unwrap(),
        ..SimOptions::default()
    };
    let report = (ALGORITHM.run)(&options).unwrap().report;
    assert!(report.passed(), "{report}");
    let validity = report
        .verdicts
        .iter()
        .find(|(n, _)| n == "Validity")
        .unwrap();
    match &validity.1 {
        Verdict::Skipped(why) => assert!(why.contains("synchrony") && why.contains("⊥"), "{why}"),
        other => panic!("expected skipped, got {other:?}\n{report}"),
    }
}

// ----- the model checker (`dsys check dolev-strong`) ----------------------

#[test]
fn the_model_checker_holds_dolev_strong_and_finds_both_defects() {
    use crate::counterexample;
    use dsys_consensus::dolev_strong::model::model;
    use dsys_consensus::dolev_strong::Defect;

    // A traitorous sender that may tell anyone anything it signed, and
    // reveal a second value late: every interleaving of the lock-step
    // rounds keeps Agreement, every run ends decided, and some runs end in
    // the default (the traitor is exposed).
    let report = model(None).check();
    assert!(report.passed() && report.exhaustive, "{report}");
    // Without relays, the value the traitor gave n1 alone stays with n1.
    let report = model(Some(Defect::NoRelay)).check();
    assert_eq!(counterexample(&report, "Agreement"), 8, "{report}");
    // Accepting a one-signature chain in round 2: the traitor's round-1
    // chains lost, n1 takes the late 2 and decides it, n2 decides the
    // default; the counterexample replays in the simulator.
    let broken = || model(Some(Defect::AcceptsShortChains));
    let report = broken().check();
    let steps = counterexample(&report, "Agreement");
    assert_eq!(steps, 8, "{report}");
    crate::replayed_violation(&broken(), &report);
}
