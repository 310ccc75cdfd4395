//! Split brain, and what prevents it. Three primary-backup replicas of a
//! key-value store; n0 is the primary of view 0. From 500 ms to 1200 ms a
//! partition cuts n0 off from n1 and n2, while clients on *both* sides keep
//! calling (each client reaches only its side's replicas).
//!
//! - Trusting the failure detector (the lecture's `f + 1` rule, `Quorum::Unsuspected`):
//!   n1 and n2 suspect n0 and start view 1 with n1 as primary; n0 suspects
//!   them and carries on alone in view 0. Two primaries answer writes; when
//!   the partition heals, n0 adopts view 1's state and its side's writes
//!   vanish. The linearizability checker rejects the history.
//! - A majority quorum (`Quorum::Majority`, 2f + 1): n0 cannot get an
//!   acknowledgement from a majority, so it answers nothing; only the
//!   majority side serves. The history is linearizable.
//!
//! Run it with `cargo run --example split_brain`.

use std::time::Duration;

use dsys::core::sim::Simulation;
use dsys::core::NodeId;
use dsys::replication::consistency::check_linearizable;
use dsys::replication::consistency::models::Kv;
use dsys::replication::consistency::report::Budget;
use dsys::replication::kv::simulate::{drive, Workload};
use dsys::replication::primary_backup::{PbEvent, PrimaryBackup, PrimaryBackupConfig, Quorum};

const SEED: u64 = 1;

fn main() -> anyhow::Result<()> {
    let ms = Duration::from_millis;
    println!("3 replicas; n0 | n1, n2 cut apart from 500 to 1200 ms; clients on both sides\n");
    for quorum in [Quorum::Unsuspected, Quorum::Majority] {
        let config = PrimaryBackupConfig {
            quorum,
            ..PrimaryBackupConfig::default()
        };
        let mut sim = Simulation::new(3, SEED, move |_| PrimaryBackup::new(config.clone()));
        sim.call_at(ms(500), |sim| {
            sim.partition(&[NodeId(0)], &[NodeId(1), NodeId(2)])
                .unwrap()
        });
        sim.call_at(ms(1200), |sim| sim.heal());
        let workload = Workload {
            sides: vec![vec![NodeId(0)], vec![NodeId(1), NodeId(2)]],
            duration: ms(1_800),
            settle: ms(700),
            ..Workload::default()
        };
        let outcome = drive(&mut sim, &workload, SEED)?;

        println!("quorum: {quorum:?}");
        println!("      0 ms  n0 is primary of view 0 (from the start)");
        for (id, emitted) in sim.all_events() {
            if let PbEvent::ViewStarted { view, index } = emitted.event {
                println!(
                    "  {:>5} ms  {id} becomes primary of view {view} (state at request {index})",
                    emitted.time.as_millis()
                );
            }
        }
        // Who answered calls while the partition lasted, on n0's side.
        let (from, to) = (500_000_000, 1_200_000_000);
        let cut_off = outcome
            .history
            .ops()
            .iter()
            .filter(|op| outcome.slots[&op.client] % 2 == 0)
            .filter(|op| op.invoke >= from && op.complete.is_some_and(|t| t < to))
            .count();
        println!("  calls answered on n0's side during the partition: {cut_off}");
        let c = outcome.counts;
        println!(
            "  {} calls, {} answered, {} of unknown outcome",
            c.calls, c.ok, c.indeterminate
        );
        let report = check_linearizable(&Kv, &outcome.history, Budget::default());
        println!("  linearizable: {}\n", report.verdict);
    }
    println!(
        "Trusting the detector, both sides had a primary and both answered: split brain,\n\
         caught by the checker. With a majority, the cut-off primary could not commit\n\
         anything and its clients waited; the history stays linearizable."
    );
    Ok(())
}
