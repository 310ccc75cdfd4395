//! Simulation tests of the bully algorithm: its best and worst message
//! costs, crashes of the leader and of processes mid-election and a
//! recovering leader over many seeds, the checkers catching broken
//! variants, and E1 breaking when delays exceed the timeout assumption.

use std::time::Duration;

use dsys_core::failure_detector::HeartbeatConfig;
use dsys_core::rand::{RngExt, SeedableRng};
use dsys_core::scenario::{SimOptions, Verdict};
use dsys_core::sim::{Fault, Latency, LinkConfig, Ordering, Simulation};
use dsys_core::testing::check_seeds;
use dsys_core::{NodeId, NodeRng};
use dsys_election::bully::{self, Bully, BullyConfig};
use dsys_election::{properties, ElectionRequest};

const MS: fn(u64) -> Duration = Duration::from_millis;

/// Election, Answer and Coordinator messages sent (heartbeats left out).
fn election_messages(sim: &Simulation<Bully>) -> u64 {
    ["Election", "Answer", "Coordinator"]
        .iter()
        .filter_map(|k| sim.metrics().kind(k))
        .map(|k| k.sent)
        .sum()
}

/// n(N−1) leads from the start; every process knows it.
fn settled(n: usize, heartbeat_timeout: Duration) -> BullyConfig {
    BullyConfig {
        elect_on_start: false,
        initial_leader: Some(NodeId(n as u32 - 1)),
        heartbeat: HeartbeatConfig {
            timeout: heartbeat_timeout,
            ..HeartbeatConfig::default()
        },
        ..BullyConfig::default()
    }
}

// Coulouris §15.3.1: best case, the second-highest notices the crash and
// sends N − 2 coordinator messages (detection is staggered by rank, so it
// notices first).
#[test]
fn best_case_costs_exactly_n_minus_2_messages() {
    for n in [5, 8, 13] {
        let config = settled(n, HeartbeatConfig::default().timeout);
        let mut sim = Simulation::new(n, 1, move |_| Bully::new(config).unwrap());
        sim.enable_trace();
        sim.fault_at(MS(100), Fault::Crash(NodeId(n as u32 - 1)))
            .unwrap();
        sim.run_until(Duration::from_secs(4)).unwrap();
        assert_eq!(election_messages(&sim), n as u64 - 2, "N = {n}");
        assert_eq!(sim.metrics().kind("Election").map_or(0, |k| k.sent), 0);
        properties::e1_safety(&sim, Some(config.answer_timeout)).unwrap();
        properties::e2_liveness(sim.states()).unwrap();
    }
}

// Worst case: the lowest notices (here: is asked) while the others still
// trust the crashed leader; every process above it answers everyone below
// and runs its own election: N(N−1)/2 + (N−1)(N−2)/2 + (N − 2) = N² − N − 1.
#[test]
fn worst_case_costs_exactly_n_squared_minus_n_minus_1_messages() {
    for n in [5u64, 8, 13] {
        let config = settled(n as usize, Duration::from_secs(60));
        let mut sim = Simulation::new(n as usize, 1, move |_| Bully::new(config).unwrap());
        sim.enable_trace();
        sim.fault_at(MS(100), Fault::Crash(NodeId(n as u32 - 1)))
            .unwrap();
        sim.request_at(MS(200), NodeId(0), ElectionRequest::Start)
            .unwrap();
        sim.run_until(Duration::from_secs(2)).unwrap();
        let m = sim.metrics();
        assert_eq!(m.kind("Election").unwrap().sent, n * (n - 1) / 2, "N = {n}");
        assert_eq!(
            m.kind("Answer").unwrap().sent,
            (n - 1) * (n - 2) / 2,
            "N = {n}"
        );
        assert_eq!(m.kind("Coordinator").unwrap().sent, n - 2, "N = {n}");
        assert_eq!(election_messages(&sim), n * n - n - 1, "N = {n}");
        properties::e1_safety(&sim, Some(config.answer_timeout)).unwrap();
        properties::e2_liveness(sim.states()).unwrap();
    }
}

/// One seeded run: concurrent elections at start, then crashes — the
/// leader, and a random process soon after (often mid-election) — and the
/// old leader recovering later and bullying its way back; N from 3 to 9,
/// latency 1–20 ms (within the 50 ms answer timeout's assumption), links
/// reordering. E2 is judged before the recovery and at the end, E1 on the
/// whole run.
fn crashes_and_recovery(seed: u64) -> Result<(), String> {
    let config = BullyConfig::default();
    let mut rng = NodeRng::seed_from_u64(seed);
    let n = rng.random_range(3..=9usize);
    let top = NodeId(n as u32 - 1);
    let victim = NodeId(rng.random_range(0..n as u32 - 1));
    let crash_leader = MS(rng.random_range(100..600));
    let crash_victim = crash_leader + MS(rng.random_range(0..400));
    let recover = MS(rng.random_range(2500..3000));
    let mut sim = Simulation::new(n, seed, move |_| Bully::new(config).unwrap());
    sim.set_all_links(LinkConfig {
        latency: Latency::uniform_ms(1, 20),
        ordering: Ordering::Reorder,
        ..LinkConfig::default()
    })
    .map_err(|e| e.to_string())?;
    sim.enable_trace();
    for (at, fault) in [
        (crash_leader, Fault::Crash(top)),
        (crash_victim, Fault::Crash(victim)),
        (recover, Fault::Restart(top)),
    ] {
        sim.fault_at(at, fault).map_err(|e| e.to_string())?;
    }
    sim.run_until(MS(2400)).map_err(|e| e.to_string())?;
    // Before the recovery: the highest survivor leads.
    properties::e2_liveness(sim.states())?;
    sim.run_until(MS(4500)).map_err(|e| e.to_string())?;
    properties::e1_safety(&sim, Some(config.answer_timeout))?;
    // E2 again: the recovered top, the highest live id, leads.
    properties::e2_liveness(sim.states())
}

#[test]
fn crashes_and_recovery_under_reordering_over_1000_seeds() {
    check_seeds(0..1000, crashes_and_recovery);
}

/// The soak: `cargo test -p dsys-election --test elections bully -- --ignored`.
#[test]
#[ignore]
fn crashes_and_recovery_soak_over_50000_seeds() {
    check_seeds(1000..51_000, crashes_and_recovery);
}

/// n3 answers and announces only after 200 ms: far beyond the 50 ms answer
/// timeout the others assume.
fn slow_top() -> Simulation<Bully> {
    let config = BullyConfig::default();
    let mut sim = Simulation::new(4, 1, move |_| Bully::new(config).unwrap());
    for to in 0..3 {
        sim.set_link(
            NodeId(3),
            NodeId(to),
            LinkConfig::reliable(Latency::Fixed(MS(200))),
        )
        .unwrap();
    }
    sim.enable_trace();
    sim.run_until(Duration::from_secs(2)).unwrap();
    sim
}

// The theory: bully is safe only in a synchronous system. With delays beyond
// its timeout, n2 takes the slow n3 for dead and declares itself while n3
// is alive and leading: two leaders at once, and E1 says so.
#[test]
fn delays_beyond_the_answer_timeout_break_e1() {
    let sim = slow_top();
    let err = properties::e1_safety(&sim, Some(BullyConfig::default().answer_timeout)).unwrap_err();
    assert!(
        err.contains("n2 declared itself leader") && err.contains("n3"),
        "{err}"
    );
    // Once n3's messages arrive, everyone follows it: E2 still holds.
    properties::e2_liveness(sim.states()).unwrap();
}

// A broken bully that declares itself without waiting for answers: E1
// catches the lower processes declaring themselves.
#[test]
fn e1_catches_a_bully_that_declares_without_waiting() {
    let config = BullyConfig {
        waits_for_answers: false,
        ..BullyConfig::default()
    };
    let mut sim = Simulation::new(4, 5, move |_| Bully::new(config).unwrap());
    sim.enable_trace();
    sim.run_until(Duration::from_secs(1)).unwrap();
    let err = properties::e1_safety(&sim, Some(config.answer_timeout)).unwrap_err();
    assert!(err.contains("declared itself leader"), "{err}");
}

/// n3 leads, crashes, and comes back without starting an election (its
/// second incarnation is built with `elect_on_start: false`).
fn recovery_without_election(bullies: bool) -> Simulation<Bully> {
    let mut built = 0;
    let mut sim = Simulation::new(4, 2, move |_| {
        built += 1;
        let first = built <= 4;
        Bully::new(BullyConfig {
            elect_on_start: first,
            bullies: first || bullies,
            ..BullyConfig::default()
        })
        .unwrap()
    });
    sim.enable_trace();
    sim.fault_at(MS(300), Fault::Crash(NodeId(3))).unwrap();
    sim.fault_at(MS(1500), Fault::Restart(NodeId(3))).unwrap();
    sim.run_until(Duration::from_secs(3)).unwrap();
    sim
}

// A broken bully that never bullies: the recovered n3 accepts n2 as its
// leader, and the highest live process never leads. E2 catches it; the
// correct variant bullies n2 on its first heartbeat.
#[test]
fn e2_catches_a_bully_that_never_bullies() {
    let sim = recovery_without_election(false);
    let err = properties::e2_liveness(sim.states()).unwrap_err();
    assert!(err.contains("the highest live id is n3"), "{err}");
    assert_eq!(
        dsys_election::Elector::leader(sim.node(NodeId(3)).unwrap()),
        Some(NodeId(2))
    );

    let sim = recovery_without_election(true);
    properties::e2_liveness(sim.states()).unwrap();
    properties::e1_safety(&sim, Some(BullyConfig::default().answer_timeout)).unwrap();
}

#[test]
fn dsys_sim_bully_takes_crashes_and_restarts_from_the_command_line() {
    let options = SimOptions {
        nodes: 5,
        seed: 4,
        reorder: true,
        until: Duration::from_secs(4),
        crashes: vec!["4@500".parse().unwrap(), "2@700".parse().unwrap()],
        restarts: vec!["4@2000".parse().unwrap()],
        ..SimOptions::default()
    };
    let outcome = (bully::ALGORITHM.run)(&options).unwrap();
    assert!(outcome.report.passed(), "{}", outcome.report);
    assert!(
        outcome
            .report
            .verdicts
            .iter()
            .all(|(_, v)| *v == Verdict::Holds),
        "{}",
        outcome.report
    );

    // Latency beyond the answer timeout's assumption: E1 is violated, as
    // the theory predicts, and the verdict names the assumption.
    let options = SimOptions {
        latency: "30..120".parse().unwrap(),
        crashes: Vec::new(),
        restarts: Vec::new(),
        ..options
    };
    let outcome = (bully::ALGORITHM.run)(&options).unwrap();
    let e1 = &outcome.report.verdicts[0];
    assert!(
        matches!(&e1.1, Verdict::Expected(why) if why.contains("answer timeout (50ms)")),
        "{}",
        outcome.report
    );
    // The same run of the variant that does not wait is simply wrong.
    let options = SimOptions {
        latency: "1..10".parse().unwrap(),
        defect: Some("declares-without-waiting".into()),
        ..options
    };
    let outcome = (bully::ALGORITHM.run)(&options).unwrap();
    assert!(
        matches!(outcome.report.verdicts[0].1, Verdict::Violated(_)),
        "{}",
        outcome.report
    );
}

// A process crashes mid-election, after answering and before declaring: the
// processes waiting for its `Coordinator` time out and elect again, and the
// next one down wins.
#[test]
fn a_crash_mid_election_is_survived_by_the_coordinator_timeout() {
    let config = settled(5, Duration::from_secs(60));
    let mut sim = Simulation::new(5, 1, move |_| Bully::new(config).unwrap());
    sim.set_all_links(LinkConfig::reliable(Latency::Fixed(MS(5))))
        .unwrap();
    sim.enable_trace();
    sim.fault_at(MS(100), Fault::Crash(NodeId(4))).unwrap();
    sim.request_at(MS(200), NodeId(0), ElectionRequest::Start)
        .unwrap();
    // n3 gets n0's Election at 205 ms, answers, and would declare at 255 ms.
    sim.fault_at(MS(230), Fault::Crash(NodeId(3))).unwrap();
    sim.run_until(Duration::from_secs(2)).unwrap();
    properties::e1_safety(&sim, Some(config.answer_timeout)).unwrap();
    properties::e2_liveness(sim.states()).unwrap();
    assert!(sim.nodes().all(|(_, b)| !b.is_electing()));
    assert!(
        sim.node(NodeId(0)).unwrap().elections_started() >= 2,
        "n0 had to start again"
    );
}

// ----- the model checker (`dsys check bully`) -----------------------------

#[test]
fn the_model_checker_holds_bully_to_e1_and_finds_declaring_without_waiting() {
    use dsys_election::bully::{model, BullyConfig};

    // Correct: every interleaving on 2 and 3 processes, timers only when
    // the network is quiet (bounded by the timer budget, since ticks
    // re-arm for ever).
    for nodes in [2, 3] {
        let report = model(nodes, BullyConfig::default()).check();
        assert!(report.passed(), "{report}");
        assert!(
            matches!(report.bound, Some(dsys_core::model::Bound::Timers(_))),
            "{report}"
        );
        println!("bully, {nodes} processes: {} states", report.states);
    }
    // Declaring without waiting: n0 holds itself as leader from its start.
    let broken = BullyConfig {
        waits_for_answers: false,
        ..BullyConfig::default()
    };
    let report = model(3, broken).check();
    let (name, path) = report.counterexample().expect("E1 broken");
    println!(
        "declares-without-waiting: {name} broken in {} steps",
        path.len()
    );
    assert_eq!((name, path.len()), ("E1", 0), "{report}");
    // Without the quiet-network rule, a timer may beat an answer: even the
    // correct algorithm breaks E1, as the bully algorithm's synchrony
    // assumption says it must.
    let asynchronous = dsys_core::model::Model::new(3, |_| {
        dsys_election::bully::Bully::new(BullyConfig::default()).unwrap()
    })
    .timers_max(2)
    .property(dsys_core::model::Property::always(
        "E1",
        dsys_election::properties::e1_states::<dsys_election::bully::Bully>,
    ))
    .check();
    assert!(asynchronous.counterexample().is_some(), "{asynchronous}");
}
