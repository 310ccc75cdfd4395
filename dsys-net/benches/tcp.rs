//! TcpTransport's cost: two nodes in one process over loopback, against a
//! bare tokio TCP stream with the same framing (4-byte big-endian length
//! prefix), measured in the same run.
//!
//! - **stream**: node 0 sends N messages to node 1 as fast as `send` takes
//!   them; the clock stops when node 1's actor has received the last. The
//!   baseline writes the same frames through a 64 KiB `BufWriter` on one
//!   tokio task and reads them (`read_exact` header then payload, one
//!   allocation per frame) on another — the way one would write a fast
//!   framed stream by hand. A second baseline writes each frame with its
//!   own `write_all` (no buffering), for reference.
//! - **round trip**: node 0 sends, node 1's actor answers, node 0's actor
//!   receives, one message at a time; the baseline is a tokio echo.
//!
//! Payloads are 64 bytes and 4 KiB. The figures that matter are the ratios
//! printed at the end (medians of interleaved runs).
//!
//! `cargo bench -p dsys-net --features transport,bench --bench tcp`

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use actix::prelude::*;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dsys_core::runtime::{Deliver, Transport};
use dsys_core::NodeId;
use dsys_net::tcp::Peer;
use dsys_net::{NodeKey, TcpConfig, TcpTransport};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};

// ----- the message: raw bytes, serialized as one byte string ---------------

#[derive(Clone, Debug)]
struct Bytes(Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Bytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes(v.to_vec()))
            }
        }
        d.deserialize_bytes(Visitor)
    }
}

impl dsys_core::Message for Bytes {}

// ----- dsys: two TcpTransports, actors as inboxes -------------------------

/// Counts deliveries and reports when the target is reached; or echoes.
struct Sink {
    received: Arc<AtomicU64>,
    target: Arc<AtomicU64>,
    done: mpsc::Sender<()>,
    echo: Option<Arc<TcpTransport<Bytes>>>,
}

impl Actor for Sink {
    type Context = Context<Self>;
}

impl Handler<Deliver<Bytes>> for Sink {
    type Result = ();

    fn handle(&mut self, deliver: Deliver<Bytes>, _: &mut Context<Self>) {
        if let Some(transport) = &self.echo {
            transport.send(NodeId(1), deliver.from, deliver.msg);
            return;
        }
        let n = self.received.fetch_add(1, Ordering::Relaxed) + 1;
        if n == self.target.load(Ordering::Relaxed) {
            let _ = self.done.send(());
        }
    }
}

struct Dsys {
    a: Arc<TcpTransport<Bytes>>,
    b: Arc<TcpTransport<Bytes>>,
    received: [Arc<AtomicU64>; 2],
    target: [Arc<AtomicU64>; 2],
    done: [mpsc::Receiver<()>; 2],
    system: System,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Dsys {
    /// Node 0 and node 1, each with its own transport; their actors run on
    /// one actix System thread.
    fn new(echo: bool) -> Dsys {
        let config = |id| {
            let mut c = TcpConfig::new(
                "bench",
                b"the bench's cluster secret".to_vec(),
                NodeId(id),
                key(id),
                "127.0.0.1:0".parse().unwrap(),
            );
            c.queue_capacity = 1 << 21;
            c
        };
        let a = Arc::new(TcpTransport::<Bytes>::start(config(0)).unwrap());
        let b = Arc::new(TcpTransport::<Bytes>::start(config(1)).unwrap());
        let peer = |id, addr| Peer {
            addr,
            key: key(id).public(),
        };
        a.set_peer(NodeId(1), peer(1, b.local_addr()));
        b.set_peer(NodeId(0), peer(0, a.local_addr()));
        let received = [Arc::default(), Arc::default()];
        let target = [Arc::default(), Arc::default()];
        let (done_a, done_rx_a) = mpsc::channel();
        let (done_b, done_rx_b) = mpsc::channel();
        let (system_tx, system_rx) = mpsc::channel();
        let (ra, rb, ta, tb) = (
            Arc::clone(&received[0]),
            Arc::clone(&received[1]),
            Arc::clone(&target[0]),
            Arc::clone(&target[1]),
        );
        let (ta_transport, tb_transport) = (Arc::clone(&a), Arc::clone(&b));
        let thread = std::thread::Builder::new()
            .name("actix-sinks".into())
            .spawn(move || {
                let system = System::new();
                system.block_on(async move {
                    let sink = |received, target, done, echo| {
                        Sink::create(move |ctx| {
                            ctx.set_mailbox_capacity(1 << 22);
                            Sink {
                                received,
                                target,
                                done,
                                echo,
                            }
                        })
                    };
                    let sink_a = sink(ra, ta, done_a, None);
                    let sink_b = sink(rb, tb, done_b, echo.then(|| Arc::clone(&tb_transport)));
                    ta_transport.register(NodeId(0), sink_a.recipient());
                    tb_transport.register(NodeId(1), sink_b.recipient());
                    system_tx.send(System::current()).unwrap();
                });
                system.run().unwrap();
            })
            .unwrap();
        let system = system_rx.recv().unwrap();
        let dsys = Dsys {
            a,
            b,
            received,
            target,
            done: [done_rx_a, done_rx_b],
            system,
            thread: Some(thread),
        };
        // Open the connections before measuring.
        if echo {
            dsys.round_trips(10, 64);
        } else {
            dsys.stream(10, 64);
        }
        dsys
    }

    fn stream(&self, n: u64, payload: usize) -> Duration {
        let msg = Bytes(vec![7; payload]);
        self.received[1].store(0, Ordering::Relaxed);
        self.target[1].store(n, Ordering::Relaxed);
        let start = Instant::now();
        for _ in 0..n {
            self.a.send(NodeId(0), NodeId(1), msg.clone());
        }
        self.wait(1);
        start.elapsed()
    }

    fn round_trips(&self, n: u64, payload: usize) -> Duration {
        let msg = Bytes(vec![7; payload]);
        self.received[0].store(0, Ordering::Relaxed);
        let start = Instant::now();
        for i in 1..=n {
            self.target[0].store(i, Ordering::Relaxed);
            self.a.send(NodeId(0), NodeId(1), msg.clone());
            self.wait(0);
        }
        start.elapsed()
    }

    fn wait(&self, node: usize) {
        if self.done[node]
            .recv_timeout(Duration::from_secs(60))
            .is_err()
        {
            panic!("messages went missing: sender {:?}", self.a.tcp_stats());
        }
    }
}

impl Drop for Dsys {
    fn drop(&mut self) {
        self.a.shutdown();
        self.b.shutdown();
        self.system.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// ----- bare tokio: the baseline --------------------------------------------

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn read_frame<R: AsyncReadExt + Unpin>(reader: &mut R) -> std::io::Result<Vec<u8>> {
    let mut header = [0u8; 4];
    reader.read_exact(&mut header).await?;
    let mut payload = vec![0u8; u32::from_be_bytes(header) as usize];
    reader.read_exact(&mut payload).await?;
    Ok(payload)
}

async fn connected_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, server) = tokio::join!(TcpStream::connect(addr), listener.accept());
    let (client, server) = (client.unwrap(), server.unwrap().0);
    client.set_nodelay(true).unwrap();
    server.set_nodelay(true).unwrap();
    (client, server)
}

fn bare_stream(rt: &tokio::runtime::Runtime, n: u64, payload: usize, buffered: bool) -> Duration {
    rt.block_on(async move {
        let (client, server) = connected_pair().await;
        let reader = tokio::spawn(async move {
            let mut reader = BufReader::with_capacity(64 * 1024, server);
            for _ in 0..n {
                std::hint::black_box(read_frame(&mut reader).await.unwrap());
            }
        });
        let body = vec![7u8; payload];
        let header = (payload as u32).to_be_bytes();
        let start = Instant::now();
        if buffered {
            let mut writer = BufWriter::with_capacity(64 * 1024, client);
            for _ in 0..n {
                writer.write_all(&header).await.unwrap();
                writer.write_all(&body).await.unwrap();
            }
            writer.flush().await.unwrap();
            reader.await.unwrap();
        } else {
            let mut client = client;
            let mut frame = header.to_vec();
            frame.extend_from_slice(&body);
            for _ in 0..n {
                client.write_all(&frame).await.unwrap();
            }
            reader.await.unwrap();
        }
        start.elapsed()
    })
}

fn bare_round_trips(rt: &tokio::runtime::Runtime, n: u64, payload: usize) -> Duration {
    rt.block_on(async move {
        let (mut client, mut server) = connected_pair().await;
        let echo = tokio::spawn(async move {
            for _ in 0..n {
                let frame = read_frame(&mut server).await.unwrap();
                let mut out = (frame.len() as u32).to_be_bytes().to_vec();
                out.extend_from_slice(&frame);
                server.write_all(&out).await.unwrap();
            }
        });
        let mut frame = (payload as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(&vec![7u8; payload]);
        let start = Instant::now();
        for _ in 0..n {
            client.write_all(&frame).await.unwrap();
            std::hint::black_box(read_frame(&mut client).await.unwrap());
        }
        let elapsed = start.elapsed();
        echo.await.unwrap();
        elapsed
    })
}

// ----- criterion and the ratios --------------------------------------------

const SIZES: [(usize, &str, u64); 2] = [(64, "64B", 200_000), (4096, "4KiB", 40_000)];
const ROUND_TRIPS: u64 = 2_000;

fn rate(n: u64, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let streaming = Dsys::new(false);
    let echoing = Dsys::new(true);

    let mut group = c.benchmark_group("tcp_stream");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));
    for (payload, name, n) in SIZES {
        group.throughput(Throughput::Elements(n));
        group.bench_function(format!("bare_tokio_buffered/{name}"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| bare_stream(&rt, n, payload, true)).sum())
        });
        group.bench_function(format!("dsys_tcp_transport/{name}"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| streaming.stream(n, payload)).sum())
        });
    }
    group.finish();

    let mut group = c.benchmark_group("tcp_round_trip");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(ROUND_TRIPS));
    for (payload, name, _) in SIZES {
        group.bench_function(format!("bare_tokio_echo/{name}"), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| bare_round_trips(&rt, ROUND_TRIPS, payload))
                    .sum()
            })
        });
        group.bench_function(format!("dsys_tcp_transport/{name}"), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| echoing.round_trips(ROUND_TRIPS, payload))
                    .sum()
            })
        });
    }
    group.finish();

    // Ratios from interleaved runs, so that both sides see the same machine.
    println!();
    for (payload, name, n) in SIZES {
        let (mut bare, mut unbuffered, mut ours) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..7 {
            bare.push(rate(n, bare_stream(&rt, n, payload, true)));
            unbuffered.push(rate(n, bare_stream(&rt, n, payload, false)));
            ours.push(rate(n, streaming.stream(n, payload)));
        }
        let (bare, unbuffered, ours) = (median(bare), median(unbuffered), median(ours));
        println!(
            "stream {name:>4}: TcpTransport {:6.3} M msg/s / bare tokio (BufWriter) {:6.3} M msg/s = {:.2}x   [bare, write per frame: {:6.3} M msg/s -> {:.2}x]",
            ours / 1e6,
            bare / 1e6,
            ours / bare,
            unbuffered / 1e6,
            ours / unbuffered,
        );
    }
    for (payload, name, _) in SIZES {
        let (mut bare, mut ours) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            bare.push(
                bare_round_trips(&rt, ROUND_TRIPS, payload).as_secs_f64() / ROUND_TRIPS as f64,
            );
            ours.push(echoing.round_trips(ROUND_TRIPS, payload).as_secs_f64() / ROUND_TRIPS as f64);
        }
        let (bare, ours) = (median(bare), median(ours));
        println!(
            "round trip {name:>4}: TcpTransport {:6.1} us / bare tokio echo {:6.1} us = {:.2}x the latency ({:.2}x the rate)",
            ours * 1e6,
            bare * 1e6,
            ours / bare,
            bare / ours,
        );
    }
    let stats = streaming.a.tcp_stats();
    println!(
        "batching: {} frames in {} writes ({:.1} frames per write)",
        stats.frames_sent,
        stats.writes,
        stats.frames_sent as f64 / stats.writes.max(1) as f64
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);

/// Node `id`'s key pair.
fn key(id: u32) -> NodeKey {
    NodeKey::from_private([id as u8 + 1; 32])
}
