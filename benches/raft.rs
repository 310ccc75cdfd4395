//! Raft's throughput and commit latency on the actix runtime: three nodes in
//! one process over `LocalTransport`, in-memory storage, a counter state
//! machine; closed-loop clients (each keeps one command outstanding) with 1
//! and 64 clients. Also the simulator's speed on a five-node Raft run with
//! faults. Baselines measured in the same run: bare actix ping-pong (the
//! floor for one round of messages) for the runtime, and nothing for the
//! simulator (its figure is events per second of wall time).
//!
//! `cargo bench --bench raft` (criterion's timing plus a summary table with
//! commands/s, p50 and p99 at the end).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dsys::consensus::raft::simulation::{cluster, drive_client};
use dsys::consensus::raft::{Counter, MemStorage, Raft, RaftConfig, RaftEvent, RaftRequest, Role};
use dsys::core::runtime::Cluster;
use dsys::core::sim::{LinkConfig, Simulation};
use dsys::core::NodeId;

/// Commands per measured run.
const COMMANDS: u64 = 100_000;

struct Run {
    elapsed: Duration,
    latencies: Vec<Duration>,
}

/// Where the nodes run.
#[derive(Clone, Copy, Debug)]
enum Placement {
    /// All three nodes and the clients on one thread.
    OneThread,
    /// Each node on an arbiter (thread) of its own, the clients on the main
    /// thread: every message crosses threads.
    ThreadPerNode,
}

/// Starts three nodes, waits for a leader, then drives `clients`
/// closed-loop clients for `commands` commands.
fn run(clients: u64, commands: u64, placement: Placement) -> Run {
    let system = actix_rt::System::new();
    system.block_on(async move {
        let config = RaftConfig::default();
        let builder = match placement {
            Placement::OneThread => Cluster::builder(3).on_current_arbiter(),
            Placement::ThreadPerNode => Cluster::builder(3).arbiters(3),
        };
        let cluster: Cluster<Raft<Counter, MemStorage<u64>>> =
            builder.event_capacity(1 << 16).start(move |_| {
                Raft::new(config.clone(), MemStorage::new(), Counter::default()).unwrap()
            });
        // The leader.
        let mut watchers: Vec<_> = cluster
            .nodes()
            .iter()
            .map(|n| n.subscribe_from_start().unwrap())
            .collect();
        let leader = 'found: loop {
            for (i, w) in watchers.iter_mut().enumerate() {
                if let Some(Ok(RaftEvent::RoleChanged {
                    role: Role::Leader, ..
                })) = w.next_within(Duration::from_millis(1)).await
                {
                    break 'found NodeId(i as u32);
                }
            }
        };
        drop(watchers);
        let handle = cluster.node(leader);
        let mut events = handle.subscribe();
        let mut sent_at: HashMap<u64, Instant> = HashMap::with_capacity(clients as usize);
        let mut latencies = Vec::with_capacity(commands as usize);
        let start = Instant::now();
        let mut next = 0u64;
        // Sends command `next` and notes when.
        let send = |next: &mut u64, sent_at: &mut HashMap<u64, Instant>| {
            sent_at.insert(*next, Instant::now());
            handle
                .request(RaftRequest::Propose {
                    id: *next,
                    command: 1,
                    session: None,
                })
                .expect("the leader's mailbox has room");
            *next += 1;
        };
        for _ in 0..clients.min(commands) {
            send(&mut next, &mut sent_at);
        }
        while (latencies.len() as u64) < commands {
            match events.next().await.expect("the leader keeps emitting") {
                RaftEvent::Applied { id, .. } => {
                    let sent = sent_at.remove(&id).expect("a command we sent");
                    latencies.push(sent.elapsed());
                    if next < commands {
                        send(&mut next, &mut sent_at);
                    }
                }
                RaftEvent::Rejected { id, reason } => panic!("command {id} rejected: {reason:?}"),
                _ => {}
            }
        }
        let elapsed = start.elapsed();
        cluster.stop();
        Run { elapsed, latencies }
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn summarise(label: &str, run: &mut Run) -> String {
    run.latencies.sort_unstable();
    let rate = run.latencies.len() as f64 / run.elapsed.as_secs_f64();
    format!(
        "{label:<28} {rate:>12.0} commands/s   p50 {:>9.1?}   p99 {:>9.1?}",
        percentile(&run.latencies, 0.50),
        percentile(&run.latencies, 0.99)
    )
}

/// A five-node Raft simulation with faults; returns events processed.
fn simulate(seed: u64) -> u64 {
    let mut sim = Simulation::new(
        5,
        seed,
        cluster(RaftConfig {
            snapshot_threshold: 64,
            ..RaftConfig::default()
        }),
    );
    sim.set_all_links(LinkConfig {
        loss: 0.05,
        duplicate: 0.02,
        ..LinkConfig::default()
    })
    .unwrap();
    drive_client(
        &mut sim,
        Duration::from_millis(100),
        Duration::from_secs(9),
        Duration::from_millis(1),
    );
    sim.call_at(Duration::from_secs(3), |sim| {
        let _ = sim.crash(NodeId(1));
        let _ = sim.partition(&[NodeId(0)], &[NodeId(2), NodeId(3), NodeId(4)]);
    });
    sim.call_at(Duration::from_secs(5), |sim| {
        sim.heal();
        let _ = sim.restart(NodeId(1));
    });
    sim.run_until(Duration::from_secs(10)).unwrap();
    sim.events_processed()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("raft_actix_one_thread");
    group.sample_size(10);
    for clients in [1u64, 64] {
        let commands = if clients == 1 { 20_000 } else { COMMANDS };
        group.throughput(Throughput::Elements(commands));
        group.bench_function(format!("{clients}_clients"), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| run(clients, commands, Placement::OneThread).elapsed)
                    .sum()
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("raft_simulator");
    group.sample_size(10);
    let events = simulate(1);
    group.throughput(Throughput::Elements(events));
    group.bench_function("5_nodes_faults_10s", |b| b.iter(|| simulate(1)));
    group.finish();

    // The summary a person reads: medians of five runs each.
    let mut lines = Vec::new();
    for placement in [Placement::OneThread, Placement::ThreadPerNode] {
        for clients in [1u64, 64] {
            let commands = match (placement, clients) {
                (Placement::ThreadPerNode, 1) => 2_000,
                (_, 1) => 20_000,
                _ => COMMANDS,
            };
            let mut runs: Vec<Run> = (0..5).map(|_| run(clients, commands, placement)).collect();
            runs.sort_by_key(|r| r.elapsed);
            let label = format!("{placement:?}, {clients} client(s)");
            lines.push(summarise(&label, &mut runs[2]));
        }
    }
    let mut rates: Vec<f64> = (0..5)
        .map(|seed| {
            let start = Instant::now();
            let events = simulate(seed);
            events as f64 / start.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    lines.push(format!(
        "{:<28} {:>12.0} events/s of wall time",
        "simulator, 5 nodes, faults", rates[2]
    ));
    println!("\nRaft summary (medians of 5 runs):");
    for line in lines {
        println!("  {line}");
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
