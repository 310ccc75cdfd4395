//! The logical clocks' hot operations, against a bare baseline measured in
//! the same run.
//!
//! Run with `cargo bench -p dsys-clocks --features bench --bench clocks` (every group, and a
//! table at the end with ns per operation and the ratio to the baseline), or
//! filter, e.g. `cargo bench -p dsys-clocks --features bench --bench clocks -- 'vector_compare'`.
//!
//! Groups:
//!
//! - `vector_compare/{4,16,64,256}`: `partial_cmp` of two clocks that differ
//!   only in their last entry (the whole vector must be read), when both
//!   know the same nodes (`same_nodes`, the usual case) and when one knows a
//!   node the other does not (`other_nodes`, the merge-join path);
//! - `vector_merge/{4,16,64,256}`: `merge` of a clock into another that
//!   knows the same nodes (`same_nodes`), a subset of its nodes
//!   (`subset_nodes`, in place), or a node it lacks (`new_node`, which
//!   rebuilds the arrays; the setup clone is not timed);
//! - `baseline_dense/{4,16,64,256}`: the same compare and merge on two bare
//!   `Vec<u64>` of the same length, the least any vector clock can do;
//! - `lamport`: `stamp` (a send) and `merge` (a receive);
//! - `hlc`: `now` (a send, physical time moving on) and `update` (a receive).
//!
//! Target (issue 4): compare and merge of 64 entries under 100 ns.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion};
use dsys_clocks::hlc::{HlcConfig, HlcTimestamp, HybridLogicalClock};
use dsys_clocks::lamport::LamportClock;
use dsys_clocks::vector::VectorClock;
use dsys_core::NodeId;

const SIZES: [usize; 4] = [4, 16, 64, 256];

/// Mean time per operation of each benchmark, from this run.
#[derive(Default)]
struct Timings(RefCell<BTreeMap<String, f64>>);

impl Timings {
    /// Benchmarks `op` with criterion and records its mean.
    fn bench<T>(&self, c: &mut Criterion, id: &str, mut op: impl FnMut() -> T) {
        c.bench_function(id, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(op());
                }
                let elapsed = start.elapsed();
                self.record(id, elapsed, iters);
                elapsed
            })
        });
    }

    fn record(&self, id: &str, elapsed: Duration, iters: u64) {
        let ns = elapsed.as_nanos() as f64 / iters.max(1) as f64;
        self.0.borrow_mut().insert(id.to_string(), ns);
    }

    fn get(&self, id: &str) -> Option<f64> {
        self.0.borrow().get(id).copied()
    }

    fn print_table(&self) {
        println!("\n  benchmark                              ns/op   baseline ns/op   ratio");
        for (id, ns) in self.0.borrow().iter() {
            let baseline = baseline_of(id).and_then(|b| self.get(&b));
            match baseline {
                Some(base) => println!("  {id:<36} {ns:>8.1}   {base:>14.1}   {:>5.1}x", ns / base),
                None => println!("  {id:<36} {ns:>8.1}"),
            }
        }
        for op in ["compare", "merge"] {
            if let Some(ns) = self.get(&format!("vector_{op}/64/same_nodes")) {
                let verdict = if ns < 100.0 { "met" } else { "MISSED" };
                println!("  target: {op} of 64 entries under 100 ns: {ns:.1} ns, {verdict}");
            }
        }
    }
}

/// `vector_compare/64/other_nodes` → `baseline_dense/64/compare`.
fn baseline_of(id: &str) -> Option<String> {
    let mut parts = id.split('/');
    let op = parts.next()?.strip_prefix("vector_")?;
    let size = parts.next()?;
    Some(format!("baseline_dense/{size}/{op}"))
}

/// A clock with entries for nodes `0..n` (counts 1..), and one above it in
/// its last entry only.
fn pair(n: usize) -> (VectorClock, VectorClock) {
    let a = VectorClock::from_entries((0..n as u32).map(|i| (NodeId(i), 1 + u64::from(i))));
    let mut b = a.clone();
    b.increment(NodeId(n as u32 - 1));
    (a, b)
}

fn dense_compare(a: &[u64], b: &[u64]) -> Option<Ordering> {
    let (mut below, mut above) = (false, false);
    for (x, y) in a.iter().zip(b) {
        below |= x < y;
        above |= x > y;
    }
    match (below, above) {
        (false, false) => Some(Ordering::Equal),
        (true, false) => Some(Ordering::Less),
        (false, true) => Some(Ordering::Greater),
        (true, true) => None,
    }
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    let t = Timings::default();

    for n in SIZES {
        let (a, b) = pair(n);
        // `other` knows node n (beyond a's nodes) and not node 0.
        let mut other = b.clone();
        other.increment(NodeId(n as u32));
        let other = VectorClock::from_entries(other.entries().filter(|(id, _)| id.0 != 0));
        let subset = VectorClock::from_entries(b.entries().skip(1));

        t.bench(&mut c, &format!("vector_compare/{n}/same_nodes"), || {
            black_box(&a).partial_cmp(black_box(&b))
        });
        t.bench(&mut c, &format!("vector_compare/{n}/other_nodes"), || {
            black_box(&a).partial_cmp(black_box(&other))
        });

        let mut target = a.clone();
        t.bench(&mut c, &format!("vector_merge/{n}/same_nodes"), || {
            target.merge(black_box(&b))
        });
        let mut target = a.clone();
        t.bench(&mut c, &format!("vector_merge/{n}/subset_nodes"), || {
            target.merge(black_box(&subset))
        });
        let id = format!("vector_merge/{n}/new_node");
        c.bench_function(&id, |bencher| {
            bencher.iter_batched_ref(
                || a.clone(),
                |target| target.merge(black_box(&other)),
                BatchSize::SmallInput,
            )
        });

        let (x, y) = (a.dense(n), b.dense(n));
        t.bench(&mut c, &format!("baseline_dense/{n}/compare"), || {
            dense_compare(black_box(&x), black_box(&y))
        });
        let mut target = x.clone();
        t.bench(&mut c, &format!("baseline_dense/{n}/merge"), || {
            for (mine, theirs) in target.iter_mut().zip(black_box(&y)) {
                *mine = (*mine).max(*theirs);
            }
        });
    }

    let mut lamport = LamportClock::new();
    t.bench(&mut c, "lamport/stamp", || lamport.stamp());
    let mut lamport = LamportClock::new();
    let mut received = 0u64;
    t.bench(&mut c, "lamport/merge", || {
        received += 2;
        lamport.merge(black_box(received))
    });

    let mut hlc = HybridLogicalClock::new(HlcConfig::default()).expect("valid config");
    let mut physical = Duration::ZERO;
    t.bench(&mut c, "hlc/now", || {
        physical += Duration::from_nanos(1);
        hlc.now(black_box(physical))
    });
    let mut hlc = HybridLogicalClock::new(HlcConfig::default()).expect("valid config");
    let mut physical = Duration::ZERO;
    t.bench(&mut c, "hlc/update", || {
        physical += Duration::from_nanos(3);
        // A peer slightly ahead: the remote branch, with the counter.
        let remote = HlcTimestamp {
            wall_ns: physical.as_nanos() as u64 + 1,
            logical: 2,
        };
        hlc.update(black_box(physical), black_box(remote))
    });

    c.final_summary();
    // Only a real `cargo bench` (which passes `--bench`) gives meaningful
    // numbers; `cargo test --benches` runs each benchmark once.
    if std::env::args().any(|arg| arg == "--bench") {
        t.print_table();
    }
}
