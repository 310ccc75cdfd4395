//! Raft's and Multi-Paxos's throughput and commit latency on the actix
//! runtime, side by side in the same run: three nodes in one process over
//! `LocalTransport`, in-memory storage (Raft's `MemStorage`, Multi-Paxos's
//! `Stable`), the same counter state machine and the same closed-loop
//! driver (`run`, over the `Replicated` trait: each client keeps one `+1`
//! outstanding at the leader), 1 and 64 clients, 100,000 commands per run
//! (shorter runs read low: at 20,000 commands the thread-per-node layout
//! measured about a fifth lower). Two layouts, both measured by criterion:
//! all nodes on one thread, and each node on a thread of its own (every
//! message crosses threads). Also the simulator's speed on a five-node
//! Raft run with faults.
//!
//! The baseline, measured in the same run and in the same two layouts: two
//! bare actix actors batting a message back and forth, closed loop. With
//! one client a committed command needs at least one such round trip
//! (leader to a follower and back), so "commands/s ÷ bare round trips/s"
//! says how close consensus on dsys gets to what the runtime allows
//! (across threads it can exceed 1: the leader waits for the faster of two
//! followers, the baseline for its one peer); with 64 clients, batching
//! shares each round trip among many commands and the ratio exceeds 1.
//! The simulator has no baseline: its figure is events per second of wall
//! time.
//!
//! Multi-Paxos against Raft (the last column; the target is parity, at
//! least 0.9×): both need the same messages per command in steady state
//! (leader → followers → leader, two message delays, the same hops through
//! the runtime), so where they differ it is the work each replica does per
//! command. Both keep their chosen/committed entries in a positional log
//! (Multi-Paxos since it stopped keeping every slot in ordered maps: that
//! cost it 0.6× with one client on one thread, where the replicas' work is
//! the throughput). What remains per slot in Multi-Paxos is an ordered map
//! of the few slots in flight and an entry cloned into the replica's copy,
//! its `Stable` "disk" and each Accept. An event per proposal
//! (`MultiPaxosConfig::report_proposals`, off here as by default) cost a
//! quarter of the thread-per-node throughput with 64 clients. With 64
//! clients and a thread per replica Multi-Paxos stayed near 0.7x Raft
//! while its pipeline was 16 slots deep: commands from 64 closed-loop
//! clients trickle in, so a deep pipeline sends them in many slots of one
//! or two commands, each slot its own Accepts and Accepteds, each message
//! a cross-thread wake-up; Raft's followers take up to 8 appends in flight,
//! each carrying every entry waiting. At `pipeline_max` 4 (the default
//! now) slots fill up and Multi-Paxos measured about 1.0x Raft there (2:
//! 1.3x; 1: 1.8x), and 1.5x on one thread. On a busy machine the
//! thread-per-node figures swing with the load from run to run (on two
//! shared cores single runs of either algorithm ranged over a factor of
//! three), so read those ratios over several runs.
//!
//! `cargo bench --features bench --bench raft` (criterion's timing, then a summary table:
//! commands/s, p50, p99, the ratio to the baseline, and Multi-Paxos ÷
//! Raft).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use actix::prelude::*;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use dsys::consensus::multi_paxos::{
    MultiPaxos, MultiPaxosConfig, MultiPaxosEvent, MultiPaxosRequest,
};
use dsys::consensus::raft::simulation::{cluster, drive_client};
use dsys::consensus::raft::{
    Counter, MemStorage, Raft, RaftConfig, RaftEvent, RaftRequest, RequestId, Role,
};
use dsys::consensus::stable::Stable;
use dsys::core::runtime::Cluster;
use dsys::core::sim::{LinkConfig, Simulation};
use dsys::core::{Node, NodeId};

type BenchRaft = Raft<Counter, MemStorage<u64>>;
type BenchMultiPaxos = MultiPaxos<Counter>;

/// Commands per measured run, in every layout.
const COMMANDS: u64 = 100_000;
/// Round trips per baseline run.
const ROUND_TRIPS: u64 = 20_000;
/// Closed-loop clients, in every layout.
const CLIENTS: [u64; 2] = [1, 64];

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

/// What the closed-loop driver needs of a replicated state machine: a
/// replica with the counter and in-memory storage, a `+1` proposal, and
/// how its events say "I lead", "applied" and "refused". One driver serves
/// every algorithm, so both are measured by the same code.
trait Replicated: Node {
    /// The name in the summary.
    const NAME: &'static str;
    /// A fresh replica: a counter over in-memory storage, default config.
    fn replica() -> Self;
    /// The command `+1` under request id `id`.
    fn propose(id: RequestId) -> Self::Request;
    /// Whether `event` says its replica now leads.
    fn leads(event: &Self::Event) -> bool;
    /// What `event` says of a request: `Ok(id)` applied, `Err` refused
    /// (which the bench does not expect), `None` for any other event.
    fn outcome(event: &Self::Event) -> Option<Result<RequestId, String>>;
}

impl Replicated for Raft<Counter, MemStorage<u64>> {
    const NAME: &'static str = "Raft";

    fn replica() -> Self {
        Raft::new(RaftConfig::default(), MemStorage::new(), Counter::default()).unwrap()
    }

    fn propose(id: RequestId) -> Self::Request {
        RaftRequest::Propose {
            id,
            command: 1,
            session: None,
        }
    }

    fn leads(event: &Self::Event) -> bool {
        matches!(
            event,
            RaftEvent::RoleChanged {
                role: Role::Leader,
                ..
            }
        )
    }

    fn outcome(event: &Self::Event) -> Option<Result<RequestId, String>> {
        match event {
            RaftEvent::Applied { id, .. } => Some(Ok(*id)),
            RaftEvent::Rejected { id, reason } => Some(Err(format!("{id}: {reason:?}"))),
            _ => None,
        }
    }
}

impl Replicated for MultiPaxos<Counter> {
    const NAME: &'static str = "Multi-Paxos";

    fn replica() -> Self {
        MultiPaxos::new(
            MultiPaxosConfig::default(),
            Stable::default(),
            Counter::default(),
        )
        .unwrap()
    }

    fn propose(id: RequestId) -> Self::Request {
        MultiPaxosRequest::Propose { id, command: 1 }
    }

    fn leads(event: &Self::Event) -> bool {
        matches!(event, MultiPaxosEvent::Elected { .. })
    }

    fn outcome(event: &Self::Event) -> Option<Result<RequestId, String>> {
        match event {
            MultiPaxosEvent::Applied { id, .. } => Some(Ok(*id)),
            MultiPaxosEvent::NotLeader { id, leader } => {
                Some(Err(format!("{id}: not the leader (try {leader:?})")))
            }
            _ => None,
        }
    }
}

/// Starts three replicas of `N`, waits for a leader, then drives `clients`
/// closed-loop clients for `commands` commands.
fn run<N: Replicated>(clients: u64, commands: u64, placement: Placement) -> Run {
    let system = actix_rt::System::new();
    system.block_on(async move {
        let builder = match placement {
            Placement::OneThread => Cluster::builder(3).on_current_arbiter(),
            Placement::ThreadPerNode => Cluster::builder(3).arbiters(3),
        };
        let cluster: Cluster<N> = builder.event_capacity(1 << 16).start(|_| N::replica());
        // The leader.
        let mut watchers: Vec<_> = cluster
            .nodes()
            .iter()
            .map(|n| n.subscribe_from_start().unwrap())
            .collect();
        let leader = 'found: loop {
            for (i, w) in watchers.iter_mut().enumerate() {
                if let Some(Ok(event)) = w.next_within(Duration::from_millis(1)).await
                    && N::leads(&event)
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
                .request(N::propose((*next).into()))
                .expect("the leader's mailbox has room");
            *next += 1;
        };
        for _ in 0..clients.min(commands) {
            send(&mut next, &mut sent_at);
        }
        while (latencies.len() as u64) < commands {
            let event = events.next().await.expect("the leader keeps emitting");
            match N::outcome(&event) {
                Some(Ok(id)) => {
                    let sent = sent_at
                        .remove(&u64::try_from(id).expect("an id we sent"))
                        .expect("a command we sent");
                    latencies.push(sent.elapsed());
                    if next < commands {
                        send(&mut next, &mut sent_at);
                    }
                }
                Some(Err(why)) => panic!("{} refused command {why}", N::NAME),
                None => {}
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
        "{label:<42} {rate:>12.0} commands/s   p50 {:>9.1?}   p99 {:>9.1?}",
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
            Placement::OneThread => "actix_one_thread",
            Placement::ThreadPerNode => "actix_thread_per_node",
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
        for clients in CLIENTS {
            group.bench_function(format!("raft_{clients}_clients"), |b| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| run::<BenchRaft>(clients, COMMANDS, placement).elapsed)
                        .sum()
                })
            });
            group.bench_function(format!("multi_paxos_{clients}_clients"), |b| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| run::<BenchMultiPaxos>(clients, COMMANDS, placement).elapsed)
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

    // The summary a person reads: medians of five runs each, the baseline,
    // Raft and Multi-Paxos interleaved so that all see the same machine.
    let mut lines = Vec::new();
    for placement in [Placement::OneThread, Placement::ThreadPerNode] {
        let mut bare: Vec<f64> = Vec::new();
        // Per client count, Raft's runs and Multi-Paxos's.
        let mut runs: Vec<[Vec<Run>; 2]> = CLIENTS.iter().map(|_| Default::default()).collect();
        for _ in 0..5 {
            let elapsed = bare_round_trips(ROUND_TRIPS, placement);
            bare.push(ROUND_TRIPS as f64 / elapsed.as_secs_f64());
            for (i, clients) in CLIENTS.into_iter().enumerate() {
                runs[i][0].push(run::<BenchRaft>(clients, COMMANDS, placement));
                runs[i][1].push(run::<BenchMultiPaxos>(clients, COMMANDS, placement));
            }
        }
        bare.sort_by(f64::total_cmp);
        let bare = bare[2];
        lines.push(format!(
            "{:<42} {bare:>12.0} round trips/s (the baseline)",
            format!("{placement:?}, bare actix")
        ));
        for (i, clients) in CLIENTS.into_iter().enumerate() {
            let mut rates = [0.0; 2];
            for (j, name) in [BenchRaft::NAME, BenchMultiPaxos::NAME]
                .into_iter()
                .enumerate()
            {
                let runs = &mut runs[i][j];
                runs.sort_by_key(|r| r.elapsed);
                let label = format!("{placement:?}, {clients} client(s), {name}");
                let (line, rate) = summarise(&label, &mut runs[2]);
                rates[j] = rate;
                let versus_raft = match j {
                    0 => String::new(),
                    _ => format!("   {:.2}x Raft", rate / rates[0]),
                };
                lines.push(format!(
                    "{line}   {:.2}x baseline{versus_raft}",
                    rate / bare
                ));
            }
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
        "{:<42} {:>12.0} events/s of wall time",
        "simulator, 5 nodes, faults (Raft)", rates[2]
    ));
    println!("\nRaft and Multi-Paxos summary (medians of 5 runs):");
    for line in lines {
        println!("  {line}");
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
