//! The faults the replication tests inject, drawn from each run's own
//! RNG, and the verdict they ask of every run. Shared by the test binaries that include it with
//! `#[path = "support/faults.rs"] mod faults;` (each uses a subset, hence
//! the `allow`).

#![allow(dead_code)]

use std::ops::Range;
use std::time::Duration;

use dsys_core::rand::RngExt;
use dsys_core::sim::{LinkConfig, Ordering, Simulation};
use dsys_core::{Node, NodeId, NodeRng};
use dsys_replication::consistency::check_linearizable;
use dsys_replication::consistency::models::Kv;
use dsys_replication::consistency::report::{Budget, Verdict};
use dsys_replication::kv::simulate::{Counts, Outcome};

fn ms(rng: &mut NodeRng, range: Range<u64>) -> Duration {
    Duration::from_millis(rng.random_range(range))
}

/// Every link loses 2%, duplicates 1% and reorders.
pub fn lossy<N: Node>(sim: &mut Simulation<N>) {
    let link = LinkConfig::default()
        .with_loss(0.02)
        .with_duplicate(0.01)
        .with_ordering(Ordering::Reorder);
    sim.set_all_links(link).unwrap();
}

/// `alone` is cut off from every other node from a time in `from`, for a
/// time in `lasting`; returns when it heals.
pub fn cut_off<N: Node>(
    sim: &mut Simulation<N>,
    rng: &mut NodeRng,
    alone: NodeId,
    from: Range<u64>,
    lasting: Range<u64>,
) -> Duration {
    let at = ms(rng, from);
    let heal = at + ms(rng, lasting);
    sim.call_at(at, move |sim| {
        let rest: Vec<NodeId> = sim.ids().filter(|&n| n != alone).collect();
        sim.partition(&[alone], &rest).unwrap();
    });
    sim.call_at(heal, |sim| sim.heal());
    heal
}

/// `victim` crashes `after` a time in `at`, and restarts after a time in
/// `down` (never, with `None`).
pub fn crash<N: Node>(
    sim: &mut Simulation<N>,
    rng: &mut NodeRng,
    victim: NodeId,
    after: Duration,
    at: Range<u64>,
    down: Option<Range<u64>>,
) {
    let crash = after + ms(rng, at);
    sim.call_at(crash, move |sim| sim.crash(victim).unwrap());
    if let Some(down) = down {
        let restart = crash + ms(rng, down);
        sim.call_at(restart, move |sim| sim.restart(victim).unwrap());
    }
}

/// What a backend's run must show: some calls answered (at least 10, so
/// that the verdict is not vacuous) and a linearizable history.
pub fn answered_and_linearizable(outcome: &Outcome) -> Result<Counts, String> {
    let c = outcome.counts;
    if c.ok < 10 {
        return Err(format!(
            "only {} of {} calls answered: {c:?}",
            c.ok, c.calls
        ));
    }
    let report = check_linearizable(&Kv, &outcome.history, Budget::default());
    match report.verdict {
        Verdict::Holds => Ok(c),
        other => Err(format!("{other}: {report}")),
    }
}
