//! `dsys sim snapshot`: the registered scenario and its properties.

use std::time::Duration;

use dsys_core::scenario::{run_scenario, Algorithm, Check, Outcome, Property, SimOptions, Verdict};
use dsys_core::sim::Simulation;

use std::collections::BTreeSet;

use super::{bank, GlobalSnapshot, SnapshotConfig, SnapshotEvent, Snapshotting};

/// The bank `dsys sim snapshot` runs.
pub const SCENARIO_BANK: bank::BankConfig = bank::BankConfig {
    initial_balance: 100,
    transfer_every_min: Duration::from_millis(2),
    transfer_every_max: Duration::from_millis(8),
    amount_max: 30,
};

/// How often n0 initiates a snapshot in `dsys sim snapshot`.
pub const SCENARIO_EVERY_FIRST: Duration = Duration::from_millis(100);

/// How often the last node initiates a snapshot in `dsys sim snapshot`.
pub const SCENARIO_EVERY_LAST: Duration = Duration::from_millis(150);

/// `dsys sim snapshot`: a bank whose branches transfer money at random, n0
/// taking a snapshot every 100 ms and the last node every 150 ms (so some
/// run concurrently). Properties, judged at the end on every completed
/// snapshot: the money is conserved; the snapshot's cut is consistent and
/// its channel states are the messages that crossed it (from the trace,
/// which this scenario always records); every snapshot initiated in time
/// completes (skipped when the run injects faults).
pub const ALGORITHM: Algorithm = Algorithm {
    name: "snapshot",
    summary: "Chandy-Lamport snapshots of a bank whose branches transfer money at random",
    run: simulate,
    settings: &[],
    model: Some(super::model::check_model),
    defects: &[],
};

type BankNode = Snapshotting<bank::Bank>;

fn simulate(options: &SimOptions) -> dsys_core::Result<Outcome> {
    let branch = bank::Bank::new(SCENARIO_BANK).expect("the scenario's bank is valid");
    let plain = Snapshotting::new(branch.clone());
    let first =
        Snapshotting::with_config(branch.clone(), SnapshotConfig::every(SCENARIO_EVERY_FIRST))
            .expect("the scenario's snapshot configuration is valid");
    let last = Snapshotting::with_config(branch, SnapshotConfig::every(SCENARIO_EVERY_LAST))
        .expect("the scenario's snapshot configuration is valid");
    let nodes = options.nodes;
    // The consistency property needs the trace: record it whatever was asked.
    let traced = SimOptions {
        trace: true,
        ..options.clone()
    };
    let mut outcome = run_scenario(
        ALGORITHM.name,
        &traced,
        move |id| match id.index() {
            0 => first.clone(),
            i if i + 1 == nodes => last.clone(),
            _ => plain.clone(),
        },
        &[
            Property {
                name: "money conserved",
                check: Check::at_end(money_conserved),
            },
            Property {
                name: "consistent cut",
                check: Check::at_end(consistent_cuts),
            },
            Property {
                name: "termination",
                check: Check::at_end(termination),
            },
            Property {
                name: "snapshots",
                check: Check::figure(totals),
            },
        ],
    )?;
    outcome.report.options.trace = options.trace;
    if !options.trace {
        outcome.trace = None;
    }
    Ok(outcome)
}

fn completed(sim: &Simulation<BankNode>) -> Vec<&GlobalSnapshot<bank::Bank>> {
    sim.all_events()
        .into_iter()
        .filter_map(|(_, emitted)| match &emitted.event {
            SnapshotEvent::Completed(snapshot) => Some(snapshot),
            _ => None,
        })
        .collect()
}

/// The report's line: how many snapshots completed and what the first few
/// held, in the branches and in transit, beside the money the bank started
/// with.
fn totals(sim: &Simulation<BankNode>, options: &SimOptions) -> String {
    let snapshots = completed(sim);
    let expected = SCENARIO_BANK.total(options.nodes);
    let shown: Vec<String> = snapshots
        .iter()
        .take(4)
        .map(|s| {
            let held: u64 = s.states.values().map(bank::Bank::balance).sum();
            let transit: u64 = s.channels.values().flatten().map(|t| t.amount).sum();
            format!("{held} held + {transit} in transit")
        })
        .collect();
    let more = if snapshots.len() > shown.len() {
        "; …"
    } else {
        ""
    };
    format!(
        "{} completed (the bank holds {expected}): {}{more}",
        snapshots.len(),
        shown.join("; ")
    )
}

fn money_conserved(sim: &Simulation<BankNode>, options: &SimOptions) -> Verdict {
    let snapshots = completed(sim);
    if snapshots.is_empty() {
        return Verdict::Skipped("no snapshot completed".to_string());
    }
    let expected = SCENARIO_BANK.total(options.nodes);
    let broken: Vec<_> = snapshots
        .iter()
        .filter_map(|s| bank::check_conservation(s, expected).err())
        .collect();
    match broken.first() {
        None => Verdict::Holds,
        Some(first) => Verdict::Violated(format!(
            "{} of {} snapshots do not add up; first: {first}",
            broken.len(),
            snapshots.len()
        )),
    }
}

fn consistent_cuts(sim: &Simulation<BankNode>, _: &SimOptions) -> Verdict {
    let Some(trace) = sim.trace() else {
        return Verdict::Skipped("needs the trace".to_string());
    };
    let snapshots = completed(sim);
    if snapshots.is_empty() {
        return Verdict::Skipped("no snapshot completed".to_string());
    }
    let broken: Vec<String> = snapshots
        .iter()
        .filter_map(|s| s.check_against_trace(trace).err())
        .collect();
    match broken.first() {
        None => Verdict::Holds,
        Some(first) => Verdict::Violated(format!(
            "{} of {} snapshots are inconsistent; first: {first}",
            broken.len(),
            snapshots.len()
        )),
    }
}

fn termination(sim: &Simulation<BankNode>, options: &SimOptions) -> Verdict {
    if options.has_faults() {
        return Verdict::Skipped("needs a reliable FIFO network without crashes".to_string());
    }
    // Every node records within one message delay of the initiation, and the
    // last report arrives two delays later.
    let deadline = options
        .until
        .saturating_sub(options.latency.max * 3 + Duration::from_millis(1));
    let mut initiated = Vec::new();
    let mut done = BTreeSet::new();
    for (node, emitted) in sim.all_events() {
        match &emitted.event {
            SnapshotEvent::Recorded(id) if id.initiator == node && emitted.time <= deadline => {
                initiated.push(*id)
            }
            SnapshotEvent::Completed(snapshot) => {
                done.insert(snapshot.id);
            }
            _ => {}
        }
    }
    match initiated.iter().find(|id| !done.contains(id)) {
        None => Verdict::Holds,
        Some(id) => Verdict::Violated(format!(
            "snapshot {id} was initiated before {deadline:?} but never completed"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::bank::Bank;
    use crate::snapshot::SnapshotRequest;
    use dsys_core::NodeId;

    #[test]
    fn the_termination_property_catches_a_snapshot_that_never_completes() {
        let branch = Snapshotting::new(Bank::new(SCENARIO_BANK).unwrap());
        let mut sim = Simulation::new(3, 1, move |_| branch.clone());
        sim.run_until(Duration::from_millis(50)).unwrap();
        sim.crash(NodeId(2)).unwrap(); // n2 never records, never reports
        sim.request(NodeId(0), SnapshotRequest::Snapshot).unwrap();
        sim.run_until(Duration::from_millis(500)).unwrap();
        // Judged as if the run had no fault, the snapshot is overdue.
        let options = SimOptions {
            nodes: 3,
            until: Duration::from_millis(500),
            ..SimOptions::default()
        };
        let Verdict::Violated(why) = termination(&sim, &options) else {
            panic!("termination should fail");
        };
        assert!(why.contains("n0#0"), "{why}");
        assert_eq!(
            money_conserved(&sim, &options),
            Verdict::Skipped("no snapshot completed".to_string())
        );
    }

    /// n0 initiates a snapshot at `at` that never completes (n2 crashed
    /// at 50 ms), in a run of 500 ms whose latency is at most 10 ms.
    fn overdue_at(at: Duration) -> Verdict {
        let branch = Snapshotting::new(Bank::new(SCENARIO_BANK).unwrap());
        let mut sim = Simulation::new(3, 1, move |_| branch.clone());
        sim.run_until(Duration::from_millis(50)).unwrap();
        sim.crash(NodeId(2)).unwrap();
        sim.request_at(at, NodeId(0), SnapshotRequest::Snapshot)
            .unwrap();
        sim.run_until(Duration::from_millis(500)).unwrap();
        let options = SimOptions {
            nodes: 3,
            until: Duration::from_millis(500),
            ..SimOptions::default()
        };
        termination(&sim, &options)
    }

    #[test]
    fn termination_judges_snapshots_initiated_three_delays_and_a_millisecond_before_the_end() {
        // 500 ms − 3 × 10 ms − 1 ms = 469 ms.
        assert_eq!(
            overdue_at(Duration::from_millis(469)),
            Verdict::Violated(
                "snapshot n0#0 was initiated before 469ms but never completed".to_string()
            )
        );
        assert_eq!(overdue_at(Duration::from_millis(470)), Verdict::Holds);
    }

    /// The report's figure line of `dsys sim snapshot` on 4 nodes, seed 1.
    fn figure(until: Duration) -> String {
        let options = SimOptions {
            nodes: 4,
            seed: 1,
            until,
            ..SimOptions::default()
        };
        let report = simulate(&options).unwrap().report;
        assert_eq!(report.figures.len(), 1);
        assert_eq!(report.figures[0].0, "snapshots");
        report.figures[0].1.clone()
    }

    #[test]
    fn n0_and_the_last_node_initiate_and_the_figure_shows_the_first_four() {
        // By 250 ms: n0's at 100 and 200 ms, n3's at 150 ms.
        let short = figure(Duration::from_millis(250));
        assert!(
            short.starts_with("3 completed (the bank holds 400): "),
            "{short}"
        );
        assert!(!short.ends_with('…'), "all three are shown: {short}");
        assert_eq!(short.matches("in transit").count(), 3, "{short}");
        // By 2 s: n0 every 100 ms (19 by 1.9 s, the 2 s one too late), n3
        // every 150 ms (13 by 1.95 s).
        let long = figure(Duration::from_secs(2));
        assert!(
            long.starts_with("32 completed (the bank holds 400): "),
            "{long}"
        );
        assert!(long.ends_with("; …"), "{long}");
        assert_eq!(long.matches("in transit").count(), 4, "{long}");
        // Each shown snapshot holds the bank's 400, between branches and
        // transfers in transit.
        for shown in long
            .trim_end_matches("; …")
            .split(": ")
            .nth(1)
            .unwrap()
            .split("; ")
        {
            let numbers: Vec<u64> = shown
                .split(' ')
                .filter_map(|word| word.parse().ok())
                .collect();
            assert_eq!(numbers.iter().sum::<u64>(), 400, "{shown}");
        }
    }
}
