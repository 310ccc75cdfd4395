//! Raft's throughput and commit latency on the actix runtime: three nodes in
//! one process over `LocalTransport`, in-memory storage, a counter state
//! machine; closed-loop clients (each keeps one command outstanding), 1 and
//! 64 of them, 100,000 commands per run (shorter runs read low: at 20,000
//! commands the thread-per-node layout measured about a fifth lower). Two layouts, both measured by
//! criterion: all nodes on one thread, and each node on a thread of its own
//! (every message crosses threads). Also the simulator's speed on a
//! five-node Raft run with faults.
//!
//! The baseline, measured in the same run and in the same two layouts: two
//! bare actix actors batting a message back and forth, closed loop. With
//! one client a committed command needs at least one such round trip
//! (leader to a follower and back), so "commands/s ÷ bare round trips/s"
//! says how close Raft on dsys gets to what the runtime allows (across
//! threads it can exceed 1: the leader waits for the faster of two
//! followers, the baseline for its one peer); with 64 clients, batching
//! shares each round trip among many commands and the ratio exceeds 1. The simulator has no baseline: its
//! figure is events per second of wall time.
//!
//! `cargo bench --bench raft` (criterion's timing, then a summary table
//! with commands/s, p50, p99 and the ratio to the baseline).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use actix::prelude::*;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use dsys::consensus::raft::simulation::{cluster, drive_client};
use dsys::consensus::raft::{Counter, MemStorage, Raft, RaftConfig, RaftEvent, RaftRequest, Role};
use dsys::core::runtime::Cluster;
use dsys::core::sim::{LinkConfig, Simulation};
use dsys::core::NodeId;

/// Commands per measured run, in every layout.
const COMMANDS: u64 = 100_000;
/// Round trips per baseline run.
const ROUND_TRIPS: u64 = 20_000;

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

// ----- the baseline: bare actix round trips ----------------------------------

/// A ball with this many hits left.
#[derive(Message)]
#[rtype(result = "()")]
struct Ball(u64);

/// Who to hit the ball to.
#[derive(Message)]
#[rtype(result = "()")]
struct Meet(Addr<Player>);

struct Player {
    peer: Option<Addr<Player>>,
    done: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Actor for Player {
    type Context = Context<Self>;
}

impl Handler<Meet> for Player {
    type Result = ();
    fn handle(&mut self, Meet(peer): Meet, _: &mut Context<Self>) {
        self.peer = Some(peer);
    }
}

impl Handler<Ball> for Player {
    type Result = ();
    fn handle(&mut self, Ball(hits_left): Ball, _: &mut Context<Self>) {
        if hits_left == 0 {
            if let Some(done) = self.done.take() {
                let _ = done.send(());
            }
            return;
        }
        let peer = self.peer.as_ref().expect("met before the first ball");
        peer.do_send(Ball(hits_left - 1));
    }
}

/// `round_trips` closed-loop round trips between two bare actix actors;
/// returns their wall time.
fn bare_round_trips(round_trips: u64, placement: Placement) -> Duration {
    actix_rt::System::new().block_on(async move {
        let arbiters: Vec<Arbiter> = match placement {
            Placement::OneThread => Vec::new(),
            Placement::ThreadPerNode => (0..2).map(|_| Arbiter::new()).collect(),
        };
        let (done, finished) = tokio::sync::oneshot::channel();
        let start = |done: Option<tokio::sync::oneshot::Sender<()>>, at: Option<&Arbiter>| {
            let player = Player { peer: None, done };
            match at {
                Some(arbiter) => Player::start_in_arbiter(&arbiter.handle(), move |_| player),
                None => player.start(),
            }
        };
        // The server receives the even counts, so the last hit (0) is its.
        let server = start(Some(done), arbiters.first());
        let receiver = start(None, arbiters.last());
        server.send(Meet(receiver.clone())).await.unwrap();
        receiver.send(Meet(server.clone())).await.unwrap();
        let began = Instant::now();
        server.do_send(Ball(2 * round_trips));
        finished.await.unwrap();
        let elapsed = began.elapsed();
        for arbiter in arbiters {
            arbiter.stop();
        }
        elapsed
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// A summary line for `run`, and its rate in commands per second.
fn summarise(label: &str, run: &mut Run) -> (String, f64) {
    run.latencies.sort_unstable();
    let rate = run.latencies.len() as f64 / run.elapsed.as_secs_f64();
    let line = format!(
        "{label:<28} {rate:>12.0} commands/s   p50 {:>9.1?}   p99 {:>9.1?}",
        percentile(&run.latencies, 0.50),
        percentile(&run.latencies, 0.99)
    );
    (line, rate)
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
    for placement in [Placement::OneThread, Placement::ThreadPerNode] {
        let name = match placement {
            Placement::OneThread => "raft_actix_one_thread",
            Placement::ThreadPerNode => "raft_actix_thread_per_node",
        };
        let mut group = c.benchmark_group(name);
        // A run takes around a second: a few samples of one run each.
        group.sample_size(10);
        group.sampling_mode(SamplingMode::Flat);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(10));
        group.throughput(Throughput::Elements(ROUND_TRIPS));
        group.bench_function("bare_actix_round_trips", |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| bare_round_trips(ROUND_TRIPS, placement))
                    .sum()
            })
        });
        group.throughput(Throughput::Elements(COMMANDS));
        for clients in [1u64, 64] {
            group.bench_function(format!("{clients}_clients"), |b| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| run(clients, COMMANDS, placement).elapsed)
                        .sum()
                })
            });
        }
        group.finish();
    }

    let mut group = c.benchmark_group("raft_simulator");
    group.sample_size(10);
    let events = simulate(1);
    group.throughput(Throughput::Elements(events));
    group.bench_function("5_nodes_faults_10s", |b| b.iter(|| simulate(1)));
    group.finish();

    // The summary a person reads: medians of five runs each, the baseline
    // interleaved with Raft so that both see the same machine.
    let mut lines = Vec::new();
    for placement in [Placement::OneThread, Placement::ThreadPerNode] {
        let mut bare: Vec<f64> = Vec::new();
        let mut runs: Vec<Vec<Run>> = vec![Vec::new(), Vec::new()];
        for _ in 0..5 {
            let elapsed = bare_round_trips(ROUND_TRIPS, placement);
            bare.push(ROUND_TRIPS as f64 / elapsed.as_secs_f64());
            for (i, clients) in [1u64, 64].into_iter().enumerate() {
                runs[i].push(run(clients, COMMANDS, placement));
            }
        }
        bare.sort_by(f64::total_cmp);
        let bare = bare[2];
        lines.push(format!(
            "{:<28} {bare:>12.0} round trips/s (the baseline)",
            format!("{placement:?}, bare actix")
        ));
        for (i, clients) in [1u64, 64].into_iter().enumerate() {
            let runs = &mut runs[i];
            runs.sort_by_key(|r| r.elapsed);
            let label = format!("{placement:?}, {clients} client(s)");
            let (line, rate) = summarise(&label, &mut runs[2]);
            lines.push(format!("{line}   {:.2}x baseline", rate / bare));
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
