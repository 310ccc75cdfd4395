//! Tests that pin what the other tests leave free: each was written
//! against a mutant that `cargo mutants` found surviving (an operator
//! changed, a pruning removed), and says in its comment which behaviour
//! it pins. Most are about *how* a checker decides — how many steps it
//! takes, which of its two searches answers, how big its cache grows —
//! since verdicts, witnesses and failing sets are already checked against
//! brute force in `differential.rs`.
//!
//! The step counts are exact: the searches are deterministic, so a count
//! that changes means the search changed, which is worth a look.

use dsys_replication::consistency::check_linearizable;
use dsys_replication::consistency::history::History;
use dsys_replication::consistency::linearizability::{check_linearizable_measured, CacheSize};
use dsys_replication::consistency::models::{Register, RegisterOp, RegisterRet};
use dsys_replication::consistency::report::{Budget, Report, Verdict};

type RegisterHistory = History<RegisterOp<u8>, RegisterRet<u8>>;

fn steps(steps_max: u64) -> Budget {
    Budget {
        steps_max: Some(steps_max),
        time_max: None,
    }
}

fn ops_of<S>(steps: &[dsys_replication::consistency::report::Step<S>]) -> Vec<usize> {
    steps.iter().map(|s| s.op).collect()
}

/// `lost` clients each invoke a write of a value of their own (1, 2, …)
/// and never hear back; much later client 100 writes 0 and then reads
/// nothing. Not linearizable: once the write of 0 has returned, no write
/// can empty the register again. Operations `0..lost` are the lost writes,
/// `lost` the write of 0, `lost + 1` the read.
fn lost_writes_then_stale_read(lost: u8) -> RegisterHistory {
    let mut h = History::new();
    for i in 0..lost {
        h.open_op(u64::from(i), u64::from(i), RegisterOp::Write(i + 1));
    }
    h.complete_op(100, 100, 101, RegisterOp::Write(0), RegisterRet::Written);
    h.complete_op(100, 102, 103, RegisterOp::Read, RegisterRet::Value(None));
    h
}

#[test]
fn cache_bytes_are_entries_times_bytes_per_entry() {
    let (report, sizes) = check_linearizable_measured(
        &Register::new(),
        &lost_writes_then_stale_read(3),
        Budget::default(),
    );
    assert_eq!(report.verdict, Verdict::Violated);
    let size = sizes[0];
    assert!(size.entries > 1 && size.entry_bytes > 1, "{size:?}");
    assert_eq!(size.bytes(), size.entries * size.entry_bytes);
    // And it saturates rather than wrapping.
    let huge = CacheSize {
        entries: usize::MAX / 2,
        entry_bytes: 3,
    };
    assert_eq!(huge.bytes(), usize::MAX);
}

/// The linearizability checker's two searches (module documentation, rule
/// 6): a quick one in invocation order, limited to `64·n + 10,000` steps,
/// then — only when that one did not decide — a thorough one that tries
/// the calls that returned first, with what is left of the budget.
///
/// With nine lost writes (11 calls) the quick search would need 20,480
/// steps, since it tries the lost writes first and so every subset of them
/// before the write of 0; it gives up after 64·11 + 10,000 = 10,704 steps
/// (on its 10,705th). The thorough one puts the write of 0 first and needs
/// 6,656. Together: 17,361.
#[test]
fn the_quick_search_gives_up_after_64_steps_per_call_plus_10_000() {
    let h = lost_writes_then_stale_read(9);
    let model = Register::new();
    let (report, sizes) = check_linearizable_measured(&model, &h, Budget::default());
    assert_eq!(report.verdict, Verdict::Violated);
    let part = &report.parts[0];
    assert_eq!(part.steps, 10_705 + 6_656);
    // The cache reported is the larger of the two: the quick search's,
    // cut short, holds 1,898 entries; the thorough one ends with 1,023.
    assert_eq!(sizes[0].entries, 1_898);
    // Both searches got as far as all eleven calls but the read; the
    // thorough one's order is kept: the write of 0, then the lost writes.
    assert_eq!(
        ops_of(&part.longest_prefix),
        vec![9, 0, 1, 2, 3, 4, 5, 6, 7, 8]
    );

    // A budget is the total of both: within the quick search's share only
    // the quick search runs; above it the thorough one gets the rest. A
    // search that runs out reports one step more than its budget (the
    // step that found it out), whichever search ran out.
    let unknown = |steps_max: u64| {
        let report = check_linearizable(&model, &h, steps(steps_max));
        assert_eq!(report.verdict, Verdict::Unknown, "budget {steps_max}");
        report.parts[0].steps
    };
    for steps_max in [1, 10_704, 10_705, 10_800, 17_360] {
        assert_eq!(unknown(steps_max), steps_max + 1);
    }
    let just_enough = check_linearizable(&model, &h, steps(17_361));
    assert_eq!(just_enough.verdict, Verdict::Violated);
    assert_eq!(just_enough.parts[0].steps, 17_361);
}

/// The longest prefix of a part both searches worked on is the longer of
/// theirs. Here the quick search, which tries the lost writes first, is cut
/// short still busy with them: it got no further than the first read and
/// the lost writes (11 calls). The thorough one puts the calls that
/// returned first and gets as far as the last read (13 calls).
#[test]
fn the_longest_prefix_is_the_longer_of_the_two_searches() {
    // Operations 0..10: lost writes; 10, 11: reads of nothing, which must
    // come before any lost write; 12: a write of 0; 13: a read of nothing,
    // which nothing explains.
    let mut h = RegisterHistory::new();
    for i in 0..10 {
        h.open_op(u64::from(i), u64::from(i), RegisterOp::Write(i + 1));
    }
    h.complete_op(100, 100, 101, RegisterOp::Read, RegisterRet::Value(None));
    h.complete_op(100, 102, 103, RegisterOp::Read, RegisterRet::Value(None));
    h.complete_op(100, 200, 201, RegisterOp::Write(0), RegisterRet::Written);
    h.complete_op(100, 202, 203, RegisterOp::Read, RegisterRet::Value(None));
    let model = Register::new();
    // Within the quick search's 64·14 + 10,000 steps: its prefix alone.
    let quick: Report<_> = check_linearizable(&model, &h, steps(10_896));
    assert_eq!(quick.verdict, Verdict::Unknown);
    assert_eq!(
        ops_of(&quick.parts[0].longest_prefix),
        vec![10, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    );
    let report = check_linearizable(&model, &h, Budget::default());
    assert_eq!(report.verdict, Verdict::Violated);
    assert_eq!(
        ops_of(&report.parts[0].longest_prefix),
        vec![10, 11, 12, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    );
}
