//! Primary-backup judged from the outside: clients call the store through
//! their front ends while the simulation loses, duplicates and reorders
//! messages, cuts the primary off and crashes a replica; the history they
//! record must be linearizable. The lecture's two warnings are runs too:
//! a primary that answers before its backups acknowledge loses writes, and
//! `f + 1` replicas that trust their failure detector split their brain
//! under a partition — the same checker catches both.

use crate::faults;

use std::time::Duration;

use dsys_core::rand::{RngExt, SeedableRng};
use dsys_core::sim::Simulation;
use dsys_core::testing::check_seeds;
use dsys_core::{NodeId, NodeRng};
use dsys_replication::consistency::models::Kv;
use dsys_replication::consistency::report::{Budget, Verdict};
use dsys_replication::consistency::{check_linearizable, check_sequential};
use dsys_replication::kv::simulate::{drive, Outcome, Workload};
use dsys_replication::kv::Read;
use dsys_replication::primary_backup::{
    Defect, PbEvent, PrimaryBackup, PrimaryBackupConfig, Quorum,
};

/// The faults a run injects.
#[derive(Clone, Copy, Debug)]
struct Faults {
    /// Lossy, duplicating, reordering links.
    lossy: bool,
    /// The view-0 primary is cut off from the rest for a while.
    partition: bool,
    /// One replica crashes for good (crash-stop).
    crash: bool,
}

/// The clients' history, and how many view changes completed.
fn run(seed: u64, nodes: usize, config: PrimaryBackupConfig, faults: Faults) -> Outcome {
    run_counting_views(seed, nodes, config, faults).0
}

fn run_counting_views(
    seed: u64,
    nodes: usize,
    config: PrimaryBackupConfig,
    faults: Faults,
) -> (Outcome, usize) {
    run_with(seed, nodes, config, faults, &Workload::default())
}

fn run_with(
    seed: u64,
    nodes: usize,
    config: PrimaryBackupConfig,
    faults: Faults,
    workload: &Workload,
) -> (Outcome, usize) {
    let mut sim = Simulation::new(nodes, seed, move |_| PrimaryBackup::new(config.clone()));
    let mut rng = NodeRng::seed_from_u64(seed ^ 0xfa17);
    if faults.lossy {
        faults::lossy(&mut sim);
    }
    if faults.partition {
        faults::cut_off(&mut sim, &mut rng, NodeId(0), 300..1_200, 300..800);
    }
    if faults.crash {
        let victim = NodeId(rng.random_range(0..nodes as u32));
        faults::crash(&mut sim, &mut rng, victim, Duration::ZERO, 200..2_000, None);
    }
    let outcome = drive(&mut sim, workload, seed).unwrap();
    let views = sim
        .all_events()
        .into_iter()
        .filter(|(_, e)| matches!(e.event, PbEvent::ViewStarted { .. }))
        .count();
    (outcome, views)
}

fn verdict(outcome: &Outcome) -> Verdict {
    check_linearizable(&Kv, &outcome.history, Budget::default()).verdict
}

#[test]
fn three_replicas_stay_linearizable_through_loss_a_partition_and_a_crash() {
    let faults = Faults {
        lossy: true,
        partition: true,
        crash: true,
    };
    let mut totals = [0u64; 4];
    let mut view_changes = 0;
    check_seeds(0..300, |seed| {
        let (outcome, views) = run_counting_views(seed, 3, PrimaryBackupConfig::default(), faults);
        view_changes += views;
        if views == 0 {
            return Err("the partition of the primary caused no view change".to_string());
        }
        let c = faults::answered_and_linearizable(&outcome)?;
        for (total, n) in totals
            .iter_mut()
            .zip([c.calls, c.ok, c.failed, c.indeterminate])
        {
            *total += n;
        }
        Ok::<(), String>(())
    });
    println!(
        "300 seeds: {} calls, {} ok, {} failed, {} indeterminate, {view_changes} view changes; \
         every history linearizable",
        totals[0], totals[1], totals[2], totals[3]
    );
}

#[test]
fn the_lectures_f_plus_1_survives_a_crash_while_the_detector_is_right() {
    // Two replicas, reliable links: a crashed replica is suspected, a live
    // one never is (heartbeats arrive well within the timeout).
    let config = PrimaryBackupConfig {
        quorum: Quorum::Unsuspected,
        ..PrimaryBackupConfig::default()
    };
    let faults = Faults {
        lossy: false,
        partition: false,
        crash: true,
    };
    check_seeds(0..100, |seed| {
        let outcome = run(seed, 2, config.clone(), faults);
        match verdict(&outcome) {
            Verdict::Holds if outcome.counts.ok >= 10 => Ok(()),
            other => Err(format!("{other}, counts {:?}", outcome.counts)),
        }
    });
}

/// The first seed among `seeds` whose history is not linearizable.
fn first_violation(
    seeds: std::ops::Range<u64>,
    nodes: usize,
    config: &PrimaryBackupConfig,
    faults: Faults,
) -> Option<u64> {
    seeds.into_iter().find(|&seed| {
        let outcome = run(seed, nodes, config.clone(), faults);
        verdict(&outcome) == Verdict::Violated
    })
}

#[test]
fn a_primary_that_answers_before_the_acks_loses_acknowledged_writes() {
    let config = PrimaryBackupConfig {
        defect: Some(Defect::AnswersBeforeAcks),
        ..PrimaryBackupConfig::default()
    };
    let faults = Faults {
        lossy: true,
        partition: false,
        crash: true,
    };
    let seed = first_violation(0..200, 3, &config, faults);
    println!("answers-before-acks: first non-linearizable history at seed {seed:?}");
    assert!(seed.is_some(), "no seed in 0..200 showed the lost write");
}

#[test]
fn split_brain_trusting_the_detector_is_caught_and_a_majority_prevents_it() {
    let trusting = PrimaryBackupConfig {
        quorum: Quorum::Unsuspected,
        ..PrimaryBackupConfig::default()
    };
    let faults = Faults {
        lossy: false,
        partition: true,
        crash: false,
    };
    let seed = first_violation(0..100, 3, &trusting, faults);
    println!("split brain: first non-linearizable history at seed {seed:?}");
    let seed = seed.expect("no seed in 0..100 showed split brain");
    // The same seed, the same partition, with a majority quorum.
    let outcome = run(seed, 3, PrimaryBackupConfig::default(), faults);
    assert_eq!(verdict(&outcome), Verdict::Holds);
}

#[test]
fn local_reads_from_backups_see_only_committed_state_and_stay_sequentially_consistent() {
    // Gets answered by each client's "own" replica from its copy, through
    // view changes: a copy holding a request not yet acknowledged by a
    // quorum must not answer (the request may vanish in the next view).
    let workload = Workload {
        read: Read::Local { min_index: 0 },
        reads_percent: 60,
        call_chance: 0.05,
        duration: Duration::from_millis(1_500),
        ..Workload::default()
    };
    let faults = Faults {
        lossy: true,
        partition: true,
        crash: true,
    };
    let mut stale = 0;
    check_seeds(0..100, |seed| {
        let (outcome, _) = run_with(seed, 3, PrimaryBackupConfig::default(), faults, &workload);
        let sequential = check_sequential(&Kv, &outcome.history, Budget::default());
        if sequential.verdict != Verdict::Holds {
            return Err(format!("{sequential}"));
        }
        if verdict(&outcome) == Verdict::Violated {
            stale += 1;
        }
        Ok(())
    });
    println!(
        "primary-backup local reads: 100 seeds sequentially consistent, {stale} not linearizable"
    );
}

// ----- the model checker (`dsys check primary-backup`) --------------------

#[test]
fn the_model_checker_finds_an_answer_before_the_acks_and_holds_the_correct_scheme() {
    use dsys_replication::primary_backup::model::model;

    // The put answered at once, then a view change the write never
    // reaches, and the get there reads "": five steps, no crash needed.
    let broken = || model(Some(Defect::AnswersBeforeAcks), 1);
    let report = broken().check();
    let (property, path) = report.counterexample().expect("a stale get");
    assert!(property.starts_with("Linearizable"), "{report}");
    assert_eq!(path.len(), 5, "{report}");
    assert!(path[1].contains("Tick fires"), "{report}");
    let replayed = broken()
        .replay(report.trail.as_deref().unwrap())
        .expect("replays");
    let (_, why, steps) = replayed.violated.expect("the violation is reproduced");
    assert_eq!(steps, 5);
    assert!(
        why.contains(r#"Get { key: "x" } returned Value("")"#),
        "{why}"
    );
    // The scheme itself, one crash, every interleaving up to 9 steps (the
    // failover with the get's round takes 8): linearizable. A put answered
    // `NotPrimary` during the view change stays open, as its front end
    // retries it, and may surface in the next view.
    let report = model(None, 1).depth_max(9).check();
    assert!(report.passed(), "{report}");
    assert!(report.states > 10_000, "{report}");
}
