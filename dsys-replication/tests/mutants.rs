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

use dsys_replication::consistency::history::History;
use dsys_replication::consistency::linearizability::{check_linearizable_measured, CacheSize};
use dsys_replication::consistency::models::{Kv, KvOp, KvRet, Register, RegisterOp, RegisterRet};
use dsys_replication::consistency::report::{Budget, Report, Verdict};
use dsys_replication::consistency::{check_linearizable, check_sequential};

type RegisterHistory = History<RegisterOp<u8>, RegisterRet<u8>>;

fn steps(steps_max: u64) -> Budget {
    Budget {
        steps_max: Some(steps_max),
        stop: None,
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

/// Client 0 puts x then gets y; client 1 puts y in between, in real time.
/// Each key's part is linearizable on its own (x: operation 0; y: 1 then
/// 2), and the two witnesses merge in real time into one order.
fn two_keys_in_real_time() -> History<KvOp, KvRet> {
    let mut h = History::new();
    h.complete_op(0, 0, 1, put("x", "1"), KvRet::Done);
    h.complete_op(1, 2, 3, put("y", "1"), KvRet::Done);
    h.complete_op(0, 4, 5, get("y"), KvRet::Value("1".into()));
    h
}

fn put(key: &str, value: &str) -> KvOp {
    KvOp::Put {
        key: key.into(),
        value: value.into(),
    }
}

fn get(key: &str) -> KvOp {
    KvOp::Get { key: key.into() }
}

/// Sequential consistency, rule 1: a linearizable history is judged by the
/// linearizability search alone — one step per operation here (1 for x, 2
/// for y) — and its witness is the parts' witnesses merged in real time.
/// A merge that failed, or a witness taken for not respecting program
/// order, would send the check on to the search over clients' programs.
#[test]
fn a_linearizable_history_is_sequentially_consistent_by_its_linearization() {
    let h = two_keys_in_real_time();
    let lin = check_linearizable(&Kv, &h, Budget::default());
    assert!(lin.holds());
    assert_eq!(lin.parts.iter().map(|p| p.steps).sum::<u64>(), 3);
    let sc = check_sequential(&Kv, &h, Budget::default());
    assert!(sc.holds());
    assert_eq!(sc.parts[0].steps, 3);
    let witness = sc.parts[0].witness.as_ref().unwrap();
    assert_eq!(ops_of(witness), vec![0, 1, 2]);
}

/// A linearization is a witness of sequential consistency only if it keeps
/// each client's program order — which it always does in a valid history,
/// but not when a client's calls overlap (a history `validate` rejects,
/// which the checkers still judge). Here client 0 writes 1 (time 0–10) and
/// reads nothing (time 5–6): the read may be linearized first, but in
/// program order it follows the write.
#[test]
fn a_linearization_out_of_program_order_is_no_witness() {
    let mut h = RegisterHistory::new();
    h.complete_op(0, 0, 10, RegisterOp::Write(1), RegisterRet::Written);
    h.complete_op(0, 5, 6, RegisterOp::Read, RegisterRet::Value(None));
    assert!(h.validate().is_err());
    let model = Register::new();
    let lin = check_linearizable(&model, &h, Budget::default());
    assert_eq!(ops_of(lin.parts[0].witness.as_ref().unwrap()), vec![1, 0]);
    let sc = check_sequential(&model, &h, Budget::default());
    assert_eq!(sc.verdict, Verdict::Violated, "{sc}");
}

/// Sequential consistency, when the linearizability search fails: client 0
/// writes 1 (time 0–10), client 1 then reads nothing (20–30). The
/// linearizability search takes 4 steps to fail (the write, the read
/// refused, back, no other candidate); the search over the clients'
/// programs takes 5 (the write, the read refused, back, the read, the
/// write). A single part is not searched on its own first.
#[test]
fn a_history_linearizability_refuses_is_searched_over_programs() {
    let model = Register::new();
    let mut h = RegisterHistory::new();
    h.complete_op(0, 0, 10, RegisterOp::Write(1), RegisterRet::Written);
    h.complete_op(1, 20, 30, RegisterOp::Read, RegisterRet::Value(None));
    assert_eq!(
        check_linearizable(&model, &h, Budget::default()).parts[0].steps,
        4
    );
    let sc = check_sequential(&model, &h, Budget::default());
    assert!(sc.holds());
    assert_eq!(sc.parts[0].steps, 4 + 5);
    assert_eq!(ops_of(sc.parts[0].witness.as_ref().unwrap()), vec![1, 0]);

    // Client 2's read never returned: it changes nothing, so the search
    // only ever skips it. Linearizability now takes 6 steps; the programs
    // 12: the write first, and the read refused whether the lost read is
    // skipped or not (7 steps); the lost read skipped, then the write,
    // which reaches a configuration already seen (3 more); the read and
    // the write (2).
    h.open_op(2, 0, RegisterOp::Read);
    assert_eq!(
        check_linearizable(&model, &h, Budget::default()).parts[0].steps,
        6
    );
    let sc = check_sequential(&model, &h, Budget::default());
    assert!(sc.holds());
    assert_eq!(sc.parts[0].steps, 6 + 12);
    assert_eq!(ops_of(sc.parts[0].witness.as_ref().unwrap()), vec![1, 0]);
}

/// Sequential consistency, rule 2: a part (a key) that fails makes the
/// whole fail, and is searched first. Here key y is fine, and on key x
/// client 1 reads 2 and then 1 after client 0 put 1 and then 2. The
/// linearizability search gives up at x's part (8 steps), the search over
/// x's programs fails (10 more), and the whole history is never searched:
/// the longest order reported is one of x's operations.
#[test]
fn a_failing_part_fails_the_whole_without_a_search_of_the_whole() {
    let mut h = History::new();
    h.complete_op(0, 0, 1, put("y", "1"), KvRet::Done);
    h.complete_op(1, 2, 3, get("y"), KvRet::Value("1".into()));
    h.complete_op(0, 4, 5, put("x", "1"), KvRet::Done);
    h.complete_op(0, 6, 7, put("x", "2"), KvRet::Done);
    h.complete_op(1, 8, 9, get("x"), KvRet::Value("2".into()));
    h.complete_op(1, 10, 11, get("x"), KvRet::Value("1".into()));
    let lin = check_linearizable(&Kv, &h, Budget::default());
    assert_eq!(lin.parts[0].ops, vec![2, 3, 4, 5]);
    assert_eq!(lin.parts[0].steps, 8);
    let sc = check_sequential(&Kv, &h, Budget::default());
    assert_eq!(sc.verdict, Verdict::Violated);
    let part = &sc.parts[0];
    assert_eq!(part.steps, 8 + 10);
    assert_eq!(ops_of(&part.longest_prefix), vec![2, 3, 4]);
    assert_eq!(part.failing, vec![4, 5]);
}

/// A call no reachable state accepts fails its part at once (module
/// documentation of linearizability, rule 5); a short search still runs,
/// for the longest prefix, limited to `8·n + 64` steps: here 8·10 + 64 =
/// 144 for nine lost writes and a read of 42, which nobody writes. Without
/// the limit the search would try every subset of the lost writes.
#[test]
fn the_search_after_an_impossible_call_is_limited_to_8_steps_per_call_plus_64() {
    let mut h = RegisterHistory::new();
    for i in 0..9 {
        h.open_op(u64::from(i), u64::from(i), RegisterOp::Write(i + 1));
    }
    h.complete_op(
        100,
        100,
        101,
        RegisterOp::Read,
        RegisterRet::Value(Some(42)),
    );
    let model = Register::new();
    let lin = check_linearizable(&model, &h, Budget::default());
    assert_eq!(lin.verdict, Verdict::Violated);
    let part = &lin.parts[0];
    assert_eq!(part.failing, vec![9]);
    assert_eq!(part.steps, 145, "out of steps on the 145th");
    assert_eq!(ops_of(&part.longest_prefix), (0..9).collect::<Vec<_>>());
    // The search over programs, just as limited, after the linearizability
    // search's.
    let sc = check_sequential(&model, &h, Budget::default());
    assert_eq!(sc.verdict, Verdict::Violated);
    assert_eq!(sc.parts[0].failing, vec![9]);
    assert_eq!(sc.parts[0].steps, 145 + 145);
}

/// Twins (linearizability, rule 7): two lost calls that behave the same
/// are interchangeable, so the later-invoked one is only linearized after
/// the earlier. Clients 0 and 1 each write 1 and never hear back; client 2
/// reads 1, writes 2, and reads 1 again: both lost writes took effect, one
/// on each side of the write of 2 — client 0's, invoked first, before.
#[test]
fn a_lost_call_is_linearized_only_after_its_earlier_twin() {
    let history = |last_read: Option<u8>| {
        let mut h = RegisterHistory::new();
        h.open_op(0, 0, RegisterOp::Write(1));
        h.open_op(1, 1, RegisterOp::Write(1));
        h.complete_op(2, 2, 3, RegisterOp::Read, RegisterRet::Value(Some(1)));
        h.complete_op(2, 4, 5, RegisterOp::Write(2), RegisterRet::Written);
        h.complete_op(2, 6, 7, RegisterOp::Read, RegisterRet::Value(last_read));
        h
    };
    let model = Register::new();
    let report = check_linearizable(&model, &history(Some(1)), Budget::default());
    assert!(report.holds(), "{report}");
    let witness = report.parts[0].witness.as_ref().unwrap();
    assert_eq!(ops_of(witness), vec![0, 2, 3, 1, 4]);
    assert_eq!(report.parts[0].steps, 7, "straight to it");
    // Had the last read seen nothing, no order would do: ruling them all
    // out takes 15 steps, client 1's write never tried without client 0's.
    let report = check_linearizable(&model, &history(None), Budget::default());
    assert_eq!(report.verdict, Verdict::Violated);
    assert_eq!(report.parts[0].steps, 15);
}

/// A check without time left stops at the first step of each search, where
/// the clock is read (and then every 1,024th): the linearizability
/// checker's quick and thorough searches take one step each, and the
/// sequential checker's search over programs one more.
#[test]
fn no_time_left_stops_each_search_at_its_first_step() {
    let no_time = Budget {
        steps_max: None,
        stop: Some(|| true),
    };
    let model = Register::new();
    let h = lost_writes_then_stale_read(3);
    let lin = check_linearizable(&model, &h, no_time);
    assert_eq!(lin.verdict, Verdict::Unknown);
    assert_eq!(lin.parts[0].steps, 2);
    let sc = check_sequential(&model, &h, no_time);
    assert_eq!(sc.verdict, Verdict::Unknown);
    assert_eq!(sc.parts[0].steps, 3);
}

/// Calls at one instant: each event gets a depth, the number of its
/// client's earlier calls that returned at that instant, so a client's
/// calls stay in order however many of them share the instant. Client 0
/// writes 1, writes 2 and reads 1, all at instant 5: the read must follow
/// both writes, so it cannot read 1.
#[test]
fn a_client_s_calls_at_one_instant_stay_in_order() {
    let mut h = RegisterHistory::new();
    h.complete_op(0, 5, 5, RegisterOp::Write(1), RegisterRet::Written);
    h.complete_op(0, 5, 5, RegisterOp::Write(2), RegisterRet::Written);
    h.complete_op(0, 5, 5, RegisterOp::Read, RegisterRet::Value(Some(1)));
    h.validate().unwrap();
    let report = check_linearizable(&Register::new(), &h, Budget::default());
    assert_eq!(report.verdict, Verdict::Violated, "{report}");
    // Had client 1 read, it would overlap all three.
    let mut h = RegisterHistory::new();
    h.complete_op(0, 5, 5, RegisterOp::Write(1), RegisterRet::Written);
    h.complete_op(0, 5, 5, RegisterOp::Write(2), RegisterRet::Written);
    h.complete_op(1, 5, 5, RegisterOp::Read, RegisterRet::Value(Some(1)));
    assert!(check_linearizable(&Register::new(), &h, Budget::default()).holds());
}

/// The failing set is shrunk from the shortest failing prefix in
/// *invocation* order, not in the order of the history: of two stale
/// reads, the one that happened first is reported. Operations 0 and 1 (a
/// write, then a read of nothing) happen at time 100; 2 and 3 (the same)
/// at time 0.
#[test]
fn the_failing_set_is_the_first_violation_in_real_time() {
    let mut h = RegisterHistory::new();
    h.complete_op(0, 100, 101, RegisterOp::Write(1), RegisterRet::Written);
    h.complete_op(1, 102, 103, RegisterOp::Read, RegisterRet::Value(None));
    h.complete_op(2, 0, 1, RegisterOp::Write(2), RegisterRet::Written);
    h.complete_op(3, 2, 3, RegisterOp::Read, RegisterRet::Value(None));
    let model = Register::new();
    let lin = check_linearizable(&model, &h, Budget::default());
    assert_eq!(lin.verdict, Verdict::Violated);
    assert_eq!(lin.parts[0].failing, vec![2, 3]);
}
