//! Simulator throughput, in delivered messages per second, against the
//! irreducible cost of a discrete-event queue measured in the same run.
//!
//! Run with `cargo bench --features bench --bench simulator` (all groups, and the ratio table
//! at the end) or filter by group, e.g. `cargo bench --features bench --bench simulator --
//! 'ping_pong|baseline'` (criterion filters are regular expressions; a ratio
//! is printed only when both of its sides ran).
//!
//! Groups:
//!
//! - `ping_pong`: closed-loop ping-pong ([`PingPongConfig::closed_loop`])
//!   among 2, 8 and 64 nodes with tracing off, and 2 nodes with tracing on;
//!   every ordered pair of nodes keeps exactly one message in flight.
//! - `broadcast`: all-to-all rounds ([`Rounds`], below): every node
//!   broadcasts round `r + 1` once it has heard round `r` from every peer.
//! - `baseline_heap`: the same number of messages moved through a bare
//!   `BinaryHeap` of `(time, seq, payload)` events with a xorshift latency,
//!   `n (n − 1)` of them in flight. No simulator can do less per message,
//!   so the simulator's cost is reported as a ratio to it.
//!
//! Every iteration builds a fresh [`Simulation`] and runs it until its queue
//! is empty, with the default network (reliable, FIFO, 1–10 ms) and byte
//! measurement on (the defaults). Workloads are sized for about 2 × 10⁵
//! deliveries per iteration; the count is measured by running the workload
//! once and reading `metrics().delivered`, and checked on every iteration.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput};
use dsys_core::ping_pong::{Msg, PingPong, PingPongConfig};
use dsys_core::sim::Simulation;
use dsys_core::{Context, Node, NodeId};

/// Far enough that every workload finishes long before it: runs end because
/// the queue is empty, not because of the deadline.
const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

const SEED: u64 = 42;

/// Cluster sizes and rounds, chosen so that both workloads deliver the same
/// number of messages for a given size (about 2 × 10⁵): ping-pong delivers
/// `2 n (n − 1)` per round, the broadcast `n (n − 1)`.
const SIZES: [(usize, u32); 3] = [(2, 50_000), (8, 2_000), (64, 25)];

/// Ping-pong rounds for 2 nodes with tracing on (tracing formats every
/// message and vector clock: it is several times slower).
const TRACED_ROUNDS: u32 = 25_000;

// ----- workloads ----------------------------------------------------------

/// All-to-all rounds: each node broadcasts round 0 at start, and round
/// `r + 1` as soon as it has heard round `r` from every peer, until `rounds`
/// rounds have been broadcast.
#[derive(Debug)]
struct Rounds {
    rounds: u32,
    /// The round this node broadcast last and is waiting to complete.
    round: u32,
    /// How many peers were heard in `round` and in `round + 1`. A peer is
    /// never further ahead: it cannot finish `round + 1` without hearing this
    /// node's `round + 1`, which is not sent yet.
    heard: [usize; 2],
}

impl Node for Rounds {
    // Ping-pong's message, reused: `Ping { round }` carries the round (and
    // the root package has no serde of its own to derive a new one).
    type Msg = Msg;
    type Timer = ();
    type Request = ();
    type Event = ();

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if self.rounds > 0 {
            ctx.broadcast(Msg::Ping { round: 0 });
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, _from: NodeId, msg: Msg) {
        let (Msg::Ping { round } | Msg::Pong { round }) = msg;
        let ahead = (round - self.round) as usize;
        assert!(ahead < 2, "a peer is never two rounds ahead");
        self.heard[ahead] += 1;
        // Hearing the last peer of this round may also complete the next
        // one, if every peer is already there.
        while self.heard[0] == ctx.peers().len() && self.round + 1 < self.rounds {
            self.round += 1;
            self.heard = [self.heard[1], 0];
            ctx.broadcast(Msg::Ping { round: self.round });
        }
    }
}

/// Builds a fresh simulation, runs it to completion, and returns the number
/// of messages delivered.
fn run<N: Node>(sim: &mut Simulation<N>) -> u64 {
    sim.run_until(FAR).expect("no invariants to violate");
    assert_eq!(sim.pending(), 0, "the workload must run to completion");
    sim.metrics().delivered
}

fn ping_pong(nodes: usize, rounds: u32, trace: bool) -> u64 {
    let config = PingPongConfig::closed_loop(rounds);
    let mut sim = Simulation::new(nodes, SEED, move |_| PingPong::new(config));
    if trace {
        sim.enable_trace();
    }
    run(&mut sim)
}

fn broadcast(nodes: usize, rounds: u32) -> u64 {
    let mut sim = Simulation::new(nodes, SEED, move |_| Rounds {
        rounds,
        round: 0,
        heard: [0; 2],
    });
    run(&mut sim)
}

/// xorshift64: the cheapest random latency there is.
fn xorshift(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

/// Moves `messages` events through a bare binary heap keyed by (time, seq),
/// keeping `in_flight` of them pending: pop the earliest, push its successor
/// after a latency uniform in 1–10 ms. Returns the events popped.
fn heap_baseline(in_flight: usize, messages: u64) -> u64 {
    let mut rng = 0x2545_F491_4F6C_DD1D_u64;
    let mut latency = move || 1_000_000 + xorshift(&mut rng) % 9_000_001;
    let mut heap = BinaryHeap::new();
    let mut seq = 0_u64;
    for payload in 0..in_flight as u64 {
        heap.push(Reverse((latency(), seq, payload)));
        seq += 1;
    }
    let mut delivered = 0;
    let mut checksum = 0;
    while let Some(Reverse((time, _, payload))) = heap.pop() {
        delivered += 1;
        checksum ^= payload;
        if seq < messages {
            heap.push(Reverse((time + latency(), seq, payload + 1)));
            seq += 1;
        }
    }
    black_box(checksum);
    delivered
}

// ----- measurement ----------------------------------------------------------

/// Nanoseconds per delivered message of every routine call criterion made,
/// by benchmark, so the ratios at the end come from this run's measurements.
#[derive(Default)]
struct Timings(RefCell<BTreeMap<String, Vec<f64>>>);

impl Timings {
    fn record(&self, id: &str, elapsed: Duration, messages: u64) {
        self.0
            .borrow_mut()
            .entry(id.to_string())
            .or_default()
            .push(elapsed.as_nanos() as f64 / messages as f64);
    }

    /// The median nanoseconds per message of a benchmark, if it ran.
    fn median(&self, id: &str) -> Option<f64> {
        let mut samples = self.0.borrow().get(id)?.clone();
        samples.sort_by(f64::total_cmp);
        Some(samples[samples.len() / 2])
    }

    fn print_ratios(&self) {
        let mut lines = Vec::new();
        for (nodes, _) in SIZES {
            let baseline = format!("baseline_heap/{nodes}_nodes");
            let Some(base) = self.median(&baseline) else {
                continue;
            };
            for workload in ["ping_pong", "broadcast"] {
                let id = format!("{workload}/{nodes}_nodes");
                if let Some(sim) = self.median(&id) {
                    lines.push(format!(
                        "  {id:<24} {sim:>8.1} ns/msg  {baseline:<24} {base:>6.1} ns/msg  ratio {:>5.1}x",
                        sim / base
                    ));
                }
            }
        }
        if !lines.is_empty() {
            println!("simulator / bare event queue, median ns per delivered message in this run:");
            for line in lines {
                println!("{line}");
            }
        } else if !self.0.borrow().is_empty() {
            println!("no ratios: they need `baseline_heap` measured in the same run (filter e.g. 'ping_pong|baseline')");
        }
    }
}

/// A criterion group whose benchmarks report delivered messages per second
/// and record their timings for the ratio table.
struct Group<'a> {
    inner: BenchmarkGroup<'a, WallTime>,
    name: &'static str,
    timings: &'a Timings,
}

impl<'a> Group<'a> {
    fn new(criterion: &'a mut Criterion, name: &'static str, timings: &'a Timings) -> Self {
        let mut inner = criterion.benchmark_group(name);
        // Each iteration is a whole run of tens of milliseconds: few, flat
        // samples keep the whole bench to about a minute.
        inner
            .sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        Group {
            inner,
            name,
            timings,
        }
    }

    /// Benchmarks `workload`, which returns the messages it delivered: it
    /// runs once first to count them, and every iteration checks the count.
    fn bench(&mut self, id: &str, workload: impl Fn() -> u64) {
        let messages = workload();
        let full_id = format!("{}/{id}", self.name);
        let timings = self.timings;
        self.inner.throughput(Throughput::Elements(messages));
        self.inner.bench_function(id, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    assert_eq!(black_box(workload()), messages);
                }
                let elapsed = start.elapsed();
                timings.record(&full_id, elapsed, messages * iters);
                elapsed
            })
        });
    }

    fn finish(self) {
        self.inner.finish();
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    let timings = Timings::default();

    let mut group = Group::new(&mut criterion, "baseline_heap", &timings);
    for (nodes, rounds) in SIZES {
        let messages = 2 * (nodes * (nodes - 1)) as u64 * u64::from(rounds);
        group.bench(&format!("{nodes}_nodes"), || {
            heap_baseline(nodes * (nodes - 1), messages)
        });
    }
    group.finish();

    let mut group = Group::new(&mut criterion, "ping_pong", &timings);
    for (nodes, rounds) in SIZES {
        group.bench(&format!("{nodes}_nodes"), || {
            ping_pong(nodes, rounds, false)
        });
    }
    group.bench("2_nodes_trace", || ping_pong(2, TRACED_ROUNDS, true));
    group.finish();

    let mut group = Group::new(&mut criterion, "broadcast", &timings);
    for (nodes, rounds) in SIZES {
        group.bench(&format!("{nodes}_nodes"), || broadcast(nodes, 2 * rounds));
    }
    group.finish();

    criterion.final_summary();
    // `cargo bench` passes `--bench`; without it (`cargo test --benches`)
    // criterion only checks that each benchmark runs once, in the test
    // profile, and ratios from that would mislead.
    if std::env::args().any(|arg| arg == "--bench") {
        timings.print_ratios();
    }
}
