//! The actix runtime's cost: closed-loop ping-pong between two `NodeActor`s
//! over `LocalTransport`, against two bare actix actors doing the same
//! exchange, measured in the same run. The figure that matters is the ratio
//! of the two message rates (printed at the end).
//!
//! `cargo bench --features bench --bench runtime`

use std::time::{Duration, Instant};

use actix::prelude::*;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dsys::core::ping_pong::{Event, PingPong, PingPongConfig};
use dsys::core::runtime::Cluster;

/// Round trips per loop; each of the two nodes runs one loop with the other.
const ROUNDS: u32 = 100_000;
/// Messages per run: two loops of ROUNDS pings and ROUNDS pongs.
const MESSAGES: u64 = 4 * ROUNDS as u64;

// ----- bare actix: the baseline -------------------------------------------

#[derive(Message)]
#[rtype(result = "()")]
enum Wire {
    /// Start your loop: the sender knows its peer already.
    Start,
    Ping(u32),
    Pong(u32),
}

/// Your peer; `first` starts the exchange. The second actor learns its peer
/// only when this reaches it, so the first waits for its `Start` before
/// pinging (else a ping could arrive before the peer is known).
#[derive(Message)]
#[rtype(result = "()")]
struct Peer(Addr<Bare>, bool);

struct Bare {
    peer: Option<Addr<Bare>>,
    done: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Actor for Bare {
    type Context = Context<Self>;
}

impl Handler<Peer> for Bare {
    type Result = ();
    fn handle(&mut self, Peer(peer, first): Peer, _: &mut Context<Self>) {
        if !first {
            // The first has its peer (it was told before us): both loops may start.
            peer.do_send(Wire::Start);
            peer.do_send(Wire::Ping(0));
        }
        self.peer = Some(peer);
    }
}

impl Handler<Wire> for Bare {
    type Result = ();
    fn handle(&mut self, msg: Wire, _: &mut Context<Self>) {
        let peer = self.peer.as_ref().expect("peer set before any ping");
        match msg {
            Wire::Start => peer.do_send(Wire::Ping(0)),
            Wire::Ping(round) => peer.do_send(Wire::Pong(round)),
            Wire::Pong(round) if round + 1 < ROUNDS => peer.do_send(Wire::Ping(round + 1)),
            Wire::Pong(_) => {
                if let Some(done) = self.done.take() {
                    let _ = done.send(());
                }
            }
        }
    }
}

fn bare_actix(threads: usize) -> Duration {
    System::new().block_on(async move {
        let arbiters: Vec<Arbiter> = (0..threads).map(|_| Arbiter::new()).collect();
        let (tx_a, rx_a) = tokio::sync::oneshot::channel();
        let (tx_b, rx_b) = tokio::sync::oneshot::channel();
        let start = Instant::now();
        let a = Bare::start_in_arbiter(&arbiters[0].handle(), move |_| Bare {
            peer: None,
            done: Some(tx_a),
        });
        let b = Bare::start_in_arbiter(&arbiters[threads - 1].handle(), move |_| Bare {
            peer: None,
            done: Some(tx_b),
        });
        a.do_send(Peer(b.clone(), true));
        b.do_send(Peer(a, false));
        rx_a.await.unwrap();
        rx_b.await.unwrap();
        let elapsed = start.elapsed();
        for arbiter in arbiters {
            arbiter.stop();
        }
        elapsed
    })
}

// ----- dsys NodeActor ------------------------------------------------------

fn node_actors(threads: usize) -> Duration {
    System::new().block_on(async move {
        let config = PingPongConfig::closed_loop(ROUNDS);
        let start = Instant::now();
        let cluster = Cluster::builder(2)
            .arbiters(threads)
            .start(move |_| PingPong::new(config));
        let done = Event::RoundComplete { round: ROUNDS - 1 };
        for handle in cluster.nodes() {
            let mut events = handle.subscribe();
            // The subscription may start after a fast node finished: check state too.
            if handle.inspect(|n| n.replies()).await.unwrap() < u64::from(ROUNDS) {
                while events.next().await.unwrap() != done {}
            }
        }
        let elapsed = start.elapsed();
        cluster.stop();
        elapsed
    })
}

fn rate(elapsed: Duration) -> f64 {
    MESSAGES as f64 / elapsed.as_secs_f64()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("round_trip");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(MESSAGES));
    for threads in [1, 2] {
        group.bench_function(format!("bare_actix/{threads}_threads"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| bare_actix(threads)).sum())
        });
        group.bench_function(format!("node_actor/{threads}_threads"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| node_actors(threads)).sum())
        });
    }
    group.finish();

    // The ratio, from interleaved runs so that both see the same machine.
    for threads in [1, 2] {
        let (mut bare, mut node) = (Vec::new(), Vec::new());
        for _ in 0..7 {
            bare.push(rate(bare_actix(threads)));
            node.push(rate(node_actors(threads)));
        }
        bare.sort_by(f64::total_cmp);
        node.sort_by(f64::total_cmp);
        let (bare, node) = (bare[3], node[3]);
        println!(
            "ratio {threads} thread(s): NodeActor {:.2} M msg/s / bare actix {:.2} M msg/s = {:.2}x (medians of 7)",
            node / 1e6,
            bare / 1e6,
            node / bare
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
