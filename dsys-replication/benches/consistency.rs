//! The linearizability checker against its targets (issue 13).
//!
//! Run with `cargo bench -p dsys-replication --features bench --bench consistency` (both
//! groups, then a summary), or filter, e.g. `cargo bench -p
//! dsys-replication --features bench --bench consistency -- etcd`.
//!
//! Groups:
//!
//! - `etcd_corpus_100`: 100 etcd-like CAS-register histories
//!   ([`generate::etcd_corpus`]: 5–10 clients, 100 calls — 200 log lines —
//!   each, values 0–4,
//!   15% of writes and compare-and-sets lost, 10% of reads without result,
//!   three quarters with one read broken), checked one after the other —
//!   failures explained (shortest failing prefix, 1-minimal failing set)
//!   included. Target: ≤ 0.42 s for all, Porcupine's time on this machine
//!   for 102 comparable Jepsen etcd histories (which it only judges).
//! - `kv_10k`: one linearizable history of 10 clients, 10,000 calls over 8
//!   keys ([`generate::kv`]). Target: ≤ 1 s.
//!
//! The summary prints each target (and the corpus again with 200 calls per
//! history, harder, under a 10⁶-step budget per history), the per-history times (median, slowest),
//! the verdicts, and the peak memory of the largest search: cache entries ×
//! bytes per entry, and the peak heap measured by a counting allocator.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use dsys_core::testing::heap::{peak_heap, Counting};
use dsys_replication::consistency::check_linearizable;
use dsys_replication::consistency::generate::{self, Breakage, RunConfig};
use dsys_replication::consistency::history::History;
use dsys_replication::consistency::linearizability::check_linearizable_measured;
use dsys_replication::consistency::models::{
    CasRegister, Kv, KvOp, KvRet, RegisterOp, RegisterRet,
};
use dsys_replication::consistency::report::{Budget, Verdict};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

type CasHistory = History<RegisterOp<i64>, RegisterRet<i64>>;

/// 100 histories of `ops` calls each.
fn corpus(ops: usize) -> Vec<(CasHistory, Breakage)> {
    generate::etcd_corpus(100, ops, 2024)
}

/// Porcupine's Jepsen etcd histories have about 80 calls (170 log lines)
/// each; ours have 100 (200 log lines).
const CALLS: usize = 100;

fn kv_10k() -> History<KvOp, KvRet> {
    let config = RunConfig {
        clients: 10,
        ops: 10_000,
        ..RunConfig::default()
    };
    generate::kv(&config, 8, 2024)
}

fn check_corpus(corpus: &[(CasHistory, Breakage)]) -> usize {
    corpus
        .iter()
        .filter(|(h, _)| check_linearizable(&CasRegister::new(), h, Budget::default()).holds())
        .count()
}

fn bench(c: &mut Criterion) {
    let corpus = corpus(CALLS);
    let kv = kv_10k();
    let mut group = c.benchmark_group("consistency");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("etcd_corpus_100", |b| {
        b.iter(|| black_box(check_corpus(&corpus)))
    });
    group.bench_function("kv_10k", |b| {
        b.iter(|| black_box(check_linearizable(&Kv, &kv, Budget::default()).holds()))
    });
    group.finish();
}

fn summary() {
    summarise_corpus(CALLS, Budget::default());
    // The same with 200 calls per history: much harder (the search is
    // exponential in the calls that never returned before a failure), so
    // with a smaller budget, reporting how many end unknown.
    summarise_corpus(
        200,
        Budget {
            steps_max: Some(1_000_000),
            stop: None,
        },
    );
    kv_summary();
}

fn summarise_corpus(calls: usize, budget: Budget) {
    let corpus = corpus(calls);
    println!(
        "\n== etcd-like corpus: 100 CAS-register histories of {calls} calls, budget {budget:?} =="
    );
    let mut times = Vec::new();
    let mut counts = std::collections::BTreeMap::new();
    let mut largest = (0usize, 0usize, 0usize, Duration::ZERO);
    // Violated parts whose failing set shrinking could not make 1-minimal.
    let mut unshrunk = 0;
    let start = Instant::now();
    for (i, (history, breakage)) in corpus.iter().enumerate() {
        let t = Instant::now();
        let (report, sizes) = check_linearizable_measured(&CasRegister::new(), history, budget);
        let elapsed = t.elapsed();
        times.push(elapsed);
        unshrunk += report
            .parts
            .iter()
            .filter(|p| p.verdict == Verdict::Violated && !p.failing_minimal)
            .count();
        *counts
            .entry((format!("{breakage:?}"), report.verdict.to_string()))
            .or_insert(0) += 1;
        let bytes: usize = sizes.iter().map(|s| s.bytes()).sum();
        if bytes > largest.1 {
            largest = (i, bytes, sizes.iter().map(|s| s.entries).sum(), elapsed);
        }
    }
    let total = start.elapsed();
    times.sort();
    println!(
        "total {:.3} s (target for 100 calls: ≤ 0.42 s: {}); per history: median {:.2} ms, slowest {:.2} ms",
        total.as_secs_f64(),
        if total.as_secs_f64() <= 0.42 {
            "met"
        } else {
            "MISSED"
        },
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
    );
    for ((breakage, verdict), n) in &counts {
        println!("  {breakage:<13} → {verdict}: {n}");
    }
    println!("  failing sets not shrunk to 1-minimal (shrinking budget ran out): {unshrunk}");
    let lost = corpus
        .iter()
        .map(|(h, _)| h.ops().iter().filter(|op| op.complete.is_none()).count())
        .sum::<usize>();
    let clients = corpus
        .iter()
        .map(|(h, _)| h.ops().iter().map(|op| op.client).max().unwrap_or(0) + 1)
        .sum::<u64>();
    println!(
        "  {} calls in all, {lost} never returned; {:.1} client ids per history (crashed clients continue under new ids)",
        corpus.iter().map(|(h, _)| h.len()).sum::<usize>(),
        clients as f64 / corpus.len() as f64
    );
    let (i, bytes, entries, elapsed) = largest;
    let (_, heap) = peak_heap(|| check_linearizable(&CasRegister::new(), &corpus[i].0, budget));
    println!(
        "  largest cache: history {i} ({:.2} ms): {entries} entries, {:.1} KiB (entries × bytes); peak heap of the whole check {:.1} KiB",
        elapsed.as_secs_f64() * 1e3,
        bytes as f64 / 1024.0,
        heap as f64 / 1024.0
    );
}

fn kv_summary() {
    println!("\n== one KV history: 10 clients, 10,000 calls, 8 keys ==");
    let kv = kv_10k();
    let t = Instant::now();
    let ((report, sizes), heap) =
        peak_heap(|| check_linearizable_measured(&Kv, &kv, Budget::default()));
    let elapsed = t.elapsed();
    let entries: usize = sizes.iter().map(|s| s.entries).sum();
    let bytes: usize = sizes.iter().map(|s| s.bytes()).sum();
    println!(
        "{}: {:.3} s (target ≤ 1 s: {}); {} parts; cache {entries} entries, {:.1} KiB (entries × bytes, states' own heap not counted); peak heap {:.1} KiB",
        report.verdict,
        elapsed.as_secs_f64(),
        if elapsed.as_secs_f64() <= 1.0 && report.holds() { "met" } else { "MISSED" },
        report.parts.len(),
        bytes as f64 / 1024.0,
        heap as f64 / 1024.0,
    );
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
    summary();
}
