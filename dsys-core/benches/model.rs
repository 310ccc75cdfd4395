//! The model checker's speed and memory on Lamport's TwoPhase (issue 17),
//! against a baseline measured in the same run.
//!
//! Run with `cargo bench -p dsys-core --features bench --bench model`. It prints, for 5 to
//! 8 resource managers, the distinct states (TLC's counts: 8,832, 50,816,
//! 296,448, 1,745,408), the time of a full breadth-first search on one
//! thread, states per second, the peak heap per state (a counting
//! allocator, in a second run), and the same search written by hand for this one protocol
//! (a state packed into a `u64`, a set of them, a queue): the ratio says
//! what the generic checker — nodes as values, messages as envelopes,
//! paths kept for counterexamples — costs over the least a search can do.
//! Then criterion times the 5-manager search. `DSYS_BENCH_RMS=N` stops the
//! table at N managers (8 needs a few GB).

use std::collections::{HashSet, VecDeque};
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use dsys_core::model::two_phase;
use dsys_core::testing::heap::{peak_heap, Counting};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// TwoPhase by hand: bits 0..2r are the resource managers' states (0
/// working, 1 prepared, 2 committed, 3 aborted), then the manager's state
/// (2 bits: 0 init, 1 committed, 2 aborted), then `tmPrepared` (r bits),
/// then the Prepared messages (r bits), then Commit and Abort.
fn baseline(r: u32) -> usize {
    let tm_at = 2 * r;
    let prepared_at = tm_at + 2;
    let msgs_at = prepared_at + r;
    let commit = 1u64 << (msgs_at + r);
    let abort = commit << 1;
    let rm = |s: u64, i: u32| (s >> (2 * i)) & 3;
    let set_rm = |s: u64, i: u32, v: u64| (s & !(3 << (2 * i))) | (v << (2 * i));
    let tm = |s: u64| (s >> tm_at) & 3;
    let set_tm = |s: u64, v: u64| (s & !(3 << tm_at)) | (v << tm_at);
    let all = (1u64 << r) - 1;
    let mut seen: HashSet<u64, foldhash::fast::FixedState> = HashSet::default();
    let mut queue = VecDeque::new();
    seen.insert(0);
    queue.push_back(0u64);
    let mut next = Vec::new();
    while let Some(s) = queue.pop_front() {
        next.clear();
        if tm(s) == 0 {
            let prepared_msgs = (s >> msgs_at) & all;
            // TMRcvPrepared(i)
            for i in 0..r {
                if prepared_msgs & (1 << i) != 0 {
                    next.push(s | (1 << (prepared_at + i)));
                }
            }
            // TMCommit, TMAbort
            if (s >> prepared_at) & all == all {
                next.push(set_tm(s, 1) | commit);
            }
            next.push(set_tm(s, 2) | abort);
        }
        for i in 0..r {
            if rm(s, i) == 0 {
                // RMPrepare(i), RMChooseToAbort(i)
                next.push(set_rm(s, i, 1) | (1 << (msgs_at + i)));
                next.push(set_rm(s, i, 3));
            }
            if s & commit != 0 {
                next.push(set_rm(s, i, 2));
            }
            if s & abort != 0 {
                next.push(set_rm(s, i, 3));
            }
        }
        for &n in &next {
            if seen.insert(n) {
                queue.push_back(n);
            }
        }
    }
    seen.len()
}

fn table() {
    let up_to: usize = std::env::var("DSYS_BENCH_RMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    println!(
        "{:>3} {:>10} {:>9} {:>12} {:>11} {:>14} {:>8}",
        "RMs", "states", "time", "states/s", "bytes/state", "hand-written", "ratio"
    );
    for r in 5..=up_to {
        // Timed without counting, then run again for the heap.
        let started = Instant::now();
        let report = two_phase::model(r).check();
        let took = started.elapsed();
        assert!(report.passed() && report.exhaustive, "{report}");
        let (_, heap) = peak_heap(|| black_box(two_phase::model(r).check().states));
        let started = Instant::now();
        let by_hand = black_box(baseline(r as u32));
        let hand = started.elapsed();
        assert_eq!(by_hand, report.states, "the two searches disagree");
        let per_second = report.states as f64 / took.as_secs_f64();
        println!(
            "{r:>3} {:>10} {:>8.2}s {:>12.0} {:>11} {:>13.3}s {:>7.1}x",
            report.states,
            took.as_secs_f64(),
            per_second,
            heap / report.states,
            hand.as_secs_f64(),
            took.as_secs_f64() / hand.as_secs_f64().max(1e-9),
        );
    }
}

fn main() {
    table();
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .measurement_time(Duration::from_secs(5));
    c.bench_function("two_phase_5_bfs", |b| {
        b.iter(|| black_box(two_phase::model(5).check().states))
    });
    c.bench_function("two_phase_5_hand_written", |b| {
        b.iter(|| black_box(baseline(5)))
    });
    c.final_summary();
}
