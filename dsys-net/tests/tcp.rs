//! TcpTransport over 127.0.0.1 with OS-chosen ports: delivery and order,
//! reconnection to a restarted peer, and refusal of garbage, oversized
//! frames, strangers of another cluster, wrong secrets, members claiming
//! another member's id, relayed handshakes, and records injected, replayed
//! or changed on the wire, each while the real peer keeps being served.
//! Timeouts are only failure bounds: every verdict is a condition polled
//! until it holds.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use dsys_core::ping_pong::{Event, PingPong, PingPongConfig};
use dsys_core::runtime::{Cluster, Deliver, Transport};
use dsys_core::wire::{encode_frame, Codec, FrameDecoder, Postcard};
use dsys_core::NodeId;
use dsys_net::tcp::handshake::{self, Connector, ConnectorStep, Credentials, Hello, Session};
use dsys_net::tcp::Peer;
use dsys_net::{Error, NodeKey, PublicKey, TcpConfig, TcpTransport};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum TestMsg {
    Seq(u64),
    Blob(Vec<u8>),
    Intruder,
}

impl dsys_core::Message for TestMsg {}

const SECRET: &[u8] = b"the test cluster's secret";
const CLUSTER: &str = "test";

/// Node `id`'s key pair (fixed, so every test process agrees).
fn key(id: u32) -> NodeKey {
    NodeKey::from_private([id as u8 + 1; 32])
}

fn public(id: u32) -> PublicKey {
    key(id).public()
}

/// Collects what it is delivered.
struct Collector {
    got: Arc<Mutex<Vec<(NodeId, TestMsg)>>>,
}

impl Actor for Collector {
    type Context = Context<Self>;
}

impl Handler<Deliver<TestMsg>> for Collector {
    type Result = ();

    fn handle(&mut self, deliver: Deliver<TestMsg>, _: &mut Context<Self>) {
        self.got.lock().unwrap().push((deliver.from, deliver.msg));
    }
}

type Inbox = Arc<Mutex<Vec<(NodeId, TestMsg)>>>;

/// Registers a collector for `node` on `transport`.
fn collect(transport: &TcpTransport<TestMsg>, node: NodeId) -> Inbox {
    let got = Inbox::default();
    // The capacity is set before the actor starts: messages may arrive at once.
    let addr = Collector::create(|ctx| {
        ctx.set_mailbox_capacity(1 << 20);
        Collector { got: got.clone() }
    });
    transport.register(node, addr.recipient());
    got
}

/// A loopback address nobody listens on now: a port the system handed
/// out, whose listener is already dropped (a test may start a node there
/// later).
fn closed_addr() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn config(id: u32) -> TcpConfig {
    let mut config = TcpConfig::new(
        CLUSTER,
        SECRET.to_vec(),
        NodeId(id),
        key(id),
        "127.0.0.1:0".parse().unwrap(),
    );
    config.reconnect_backoff_min = Duration::from_millis(5);
    config.reconnect_backoff_max = Duration::from_millis(100);
    config
}

fn start<M: dsys_core::Message>(config: TcpConfig) -> TcpTransport<M> {
    TcpTransport::start(config).expect("transport starts")
}

/// Transports for nodes `0..n`, each knowing the others' addresses.
fn mesh<M: dsys_core::Message>(n: u32, tweak: impl Fn(&mut TcpConfig)) -> Vec<TcpTransport<M>> {
    let transports: Vec<_> = (0..n)
        .map(|id| {
            let mut c = config(id);
            tweak(&mut c);
            start(c)
        })
        .collect();
    for t in &transports {
        for (id, other) in transports.iter().enumerate() {
            t.set_peer(NodeId(id as u32), peer(id as u32, other.local_addr()));
        }
    }
    transports
}

fn peer(id: u32, addr: SocketAddr) -> Peer {
    Peer {
        addr,
        key: public(id),
    }
}

/// Polls `condition` every few ms; fails after a generous bound.
async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        actix_rt::time::sleep(Duration::from_millis(3)).await;
    }
}

fn seqs_from(inbox: &Inbox, from: NodeId) -> Vec<u64> {
    inbox
        .lock()
        .unwrap()
        .iter()
        .filter(|(f, _)| *f == from)
        .filter_map(|(_, m)| match m {
            TestMsg::Seq(i) => Some(*i),
            _ => None,
        })
        .collect()
}

/// Nothing an intruder sent was delivered.
fn assert_no_intruder(inbox: &Inbox) {
    let got = inbox.lock().unwrap();
    assert!(!got.iter().any(|(_, m)| *m == TestMsg::Intruder), "{got:?}");
}

fn count(inbox: &Inbox) -> usize {
    inbox.lock().unwrap().len()
}

/// The real peer (node 0) still gets through to node 1.
async fn real_peer_still_served(t: &[TcpTransport<TestMsg>], inbox: &Inbox, marker: u64) {
    t[0].send(NodeId(0), NodeId(1), TestMsg::Seq(marker));
    wait_until("the real peer's message", || {
        seqs_from(inbox, NodeId(0)).contains(&marker)
    })
    .await;
}

#[actix_rt::test]
async fn messages_arrive_in_order_between_three_nodes() {
    let t = mesh(3, |_| {});
    let inbox2 = collect(&t[2], NodeId(2));
    let inbox0 = collect(&t[0], NodeId(0));
    const N: u64 = 2_000;
    for i in 0..N {
        t[0].send(NodeId(0), NodeId(2), TestMsg::Seq(i));
        t[1].send(NodeId(1), NodeId(2), TestMsg::Seq(i));
        t[2].send(NodeId(2), NodeId(0), TestMsg::Seq(i));
    }
    wait_until("all messages", || {
        count(&inbox2) == 2 * N as usize && count(&inbox0) == N as usize
    })
    .await;
    let expected: Vec<u64> = (0..N).collect();
    assert_eq!(seqs_from(&inbox2, NodeId(0)), expected);
    assert_eq!(seqs_from(&inbox2, NodeId(1)), expected);
    assert_eq!(seqs_from(&inbox0, NodeId(2)), expected);

    let sender = t[0].tcp_stats();
    assert_eq!(sender.transport.sent, N);
    assert_eq!(sender.frames_sent, N);
    assert!(sender.writes <= sender.frames_sent);
    assert_eq!(sender.kinds, vec![("Seq", sender.kinds[0].1)]);
    assert_eq!(sender.kinds[0].1.sent, N);
    assert_eq!(sender.peers.len(), 1);
    assert_eq!(sender.peers[0].frames_sent, N);
    let receiver = t[2].tcp_stats();
    assert_eq!(receiver.transport.delivered, 2 * N);
    assert_eq!(receiver.frames_received, 2 * N);
    assert_eq!(receiver.connections_accepted, 2);
    assert_eq!(receiver.rejected.total(), 0);
    assert_eq!(receiver.kinds[0].1.received, 2 * N);
    for t in &t {
        t.shutdown();
    }
}

#[actix_rt::test]
async fn large_messages_arrive_whole_and_in_order() {
    let t = mesh(2, |_| {});
    let inbox = collect(&t[1], NodeId(1));
    // Larger than the reader's initial 64 KiB buffer, and than a write batch.
    let big: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    for i in 0..3 {
        t[0].send(NodeId(0), NodeId(1), TestMsg::Seq(i));
        t[0].send(NodeId(0), NodeId(1), TestMsg::Blob(big.clone()));
    }
    wait_until("the large messages", || count(&inbox) == 6).await;
    let got = inbox.lock().unwrap().clone();
    for (i, pair) in got.chunks(2).enumerate() {
        assert_eq!(pair[0], (NodeId(0), TestMsg::Seq(i as u64)));
        assert_eq!(pair[1], (NodeId(0), TestMsg::Blob(big.clone())));
    }
}

#[actix_rt::test]
async fn a_stream_cut_mid_frame_is_counted() {
    let t = mesh::<TestMsg>(2, |_| {});
    let mut bad = raw(t[1].local_addr());
    let mut session = handshake_as(&mut bad, NodeId(0));
    write_records(&mut bad, &mut session, &[0, 0, 0, 100, 1, 2, 3]);
    drop(bad);
    wait_until("the cut frame counted", || {
        t[1].tcp_stats().closed_malformed_frame == 1
    })
    .await;
}

#[actix_rt::test]
async fn ping_pong_cluster_runs_over_tcp() {
    // Three one-node clusters in one process, one transport each.
    let transports: Vec<Arc<TcpTransport<dsys_core::ping_pong::Msg>>> =
        mesh(3, |_| {}).into_iter().map(Arc::new).collect();
    let config = PingPongConfig {
        rounds: 5,
        interval: Duration::from_millis(2),
        ..Default::default()
    };
    let clusters: Vec<_> = transports
        .iter()
        .enumerate()
        .map(|(id, transport)| {
            Cluster::builder(3)
                .local([NodeId(id as u32)])
                .on_current_arbiter()
                .transport(transport.clone())
                .start(move |_| PingPong::new(config))
        })
        .collect();
    let subscriptions: Vec<_> = clusters
        .iter()
        .enumerate()
        .map(|(id, cluster)| {
            cluster
                .node(NodeId(id as u32))
                .subscribe_from_start()
                .unwrap()
        })
        .collect();
    for mut events in subscriptions {
        loop {
            let event = events
                .next_within(Duration::from_secs(10))
                .await
                .expect("rounds complete within 10 s")
                .unwrap();
            if event == (Event::RoundComplete { round: 4 }) {
                break;
            }
        }
    }
    // Every transport's counters first: one shutting down makes the others'
    // reconnection attempts fail (and count) while they are still up.
    for cluster in &clusters {
        cluster.stop();
    }
    for transport in &transports {
        let stats = transport.tcp_stats();
        assert!(stats.transport.delivered >= 2 * 5, "{stats:?}");
        assert_eq!(stats.rejected.total(), 0, "{stats:?}");
    }
    for transport in &transports {
        transport.shutdown();
    }
}

#[actix_rt::test]
async fn a_restarted_peer_is_reconnected_to() {
    let t = mesh(2, |_| {});
    let inbox = collect(&t[1], NodeId(1));
    t[0].send(NodeId(0), NodeId(1), TestMsg::Seq(0));
    wait_until("the first message", || count(&inbox) == 1).await;

    // Restart node 1 on the same address.
    let addr = t[1].local_addr();
    let mut t = t.into_iter();
    let t0 = t.next().unwrap();
    drop(t.next().unwrap());
    let mut c = config(1);
    c.listen = addr;
    c.peers.insert(NodeId(0), peer(0, t0.local_addr()));
    let t1 = start(c);
    let inbox = collect(&t1, NodeId(1));

    // Messages sent while the old connection is found dead may be lost (TCP
    // cannot say which bytes the dead process read): keep sending until one
    // arrives, then check that later ones arrive in order.
    let mut next = 1;
    wait_until("a message to the restarted peer", || {
        t0.send(NodeId(0), NodeId(1), TestMsg::Seq(next));
        next += 1;
        count(&inbox) > 0
    })
    .await;
    let first = next;
    for i in first..first + 100 {
        t0.send(NodeId(0), NodeId(1), TestMsg::Seq(i));
    }
    wait_until("the later messages", || {
        seqs_from(&inbox, NodeId(0)).contains(&(first + 99))
    })
    .await;
    let got = seqs_from(&inbox, NodeId(0));
    let tail: Vec<u64> = got.iter().copied().filter(|&i| i >= first).collect();
    assert_eq!(tail, (first..first + 100).collect::<Vec<_>>());
    assert!(got.windows(2).all(|w| w[0] < w[1]), "in order: {got:?}");
    let stats = t0.tcp_stats();
    assert!(stats.reconnects >= 1, "{stats:?}");
    assert_eq!(stats.peers[0].reconnects, stats.reconnects);
}

/// Connects a raw socket to `addr`.
fn raw(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

fn write_frame(stream: &mut TcpStream, payload: &[u8]) {
    let mut frame = Vec::new();
    encode_frame(payload, 1 << 20, &mut frame).unwrap();
    stream.write_all(&frame).unwrap();
}

fn read_frame(stream: &mut TcpStream) -> Vec<u8> {
    let mut decoder = FrameDecoder::new(4096);
    let mut buf = [0u8; 1];
    loop {
        if let Some(frame) = decoder.next_frame().unwrap() {
            return frame;
        }
        // One byte at a time: never read past this frame.
        assert_eq!(stream.read(&mut buf).unwrap(), 1, "connection closed");
        decoder.extend(&buf);
    }
}

/// What node `node` (holding its real key) of a 3-node cluster knows.
fn credentials_of(node: NodeId, secret: &[u8]) -> Credentials {
    Credentials::new(
        CLUSTER,
        secret,
        [(node, key(node.0))].into(),
        (0..3)
            .filter(|&id| id != node.0)
            .map(|id| (NodeId(id), public(id)))
            .collect(),
    )
}

/// A full, honest handshake as node `node` with node 1 on a raw socket.
fn handshake_as(stream: &mut TcpStream, node: NodeId) -> Session {
    let (mut connector, hello) =
        Connector::start(&credentials_of(node, SECRET), node, NodeId(1)).unwrap();
    write_frame(stream, &hello);
    loop {
        match connector.on_frame(&read_frame(stream)).unwrap() {
            ConnectorStep::Send(payload) => write_frame(stream, &payload),
            ConnectorStep::Open(session) => return session,
        }
    }
}

/// Seals `plaintext` into records and writes them.
fn write_records(stream: &mut TcpStream, session: &mut Session, plaintext: &[u8]) {
    let mut wire = Vec::new();
    session.seal(plaintext, &mut wire).unwrap();
    stream.write_all(&wire).unwrap();
}

/// One message's frame, as the transport frames it.
fn frame_of(to: NodeId, msg: &TestMsg) -> Vec<u8> {
    let mut frame = Vec::new();
    encode_frame(
        &Postcard.encode_to_vec(&(to, msg)).unwrap(),
        1 << 20,
        &mut frame,
    )
    .unwrap();
    frame
}

/// The server closes the raw connection (reads reach end of stream).
fn closed_by_peer(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[actix_rt::test]
async fn garbage_is_dropped_and_the_real_peer_is_still_served() {
    let t = mesh(2, |_| {});
    let inbox = collect(&t[1], NodeId(1));
    real_peer_still_served(&t, &inbox, 1).await;

    let mut stranger = raw(t[1].local_addr());
    stranger
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert!(closed_by_peer(&mut stranger));
    wait_until("the rejection", || t[1].tcp_stats().rejected.malformed == 1).await;
    // A well-sized frame that is not a hello is refused too.
    let mut stranger = raw(t[1].local_addr());
    write_frame(&mut stranger, b"hello?");
    assert!(closed_by_peer(&mut stranger));
    wait_until("the second rejection", || {
        t[1].tcp_stats().rejected.malformed == 2
    })
    .await;

    real_peer_still_served(&t, &inbox, 2).await;
    assert_eq!(count(&inbox), 2, "nothing from the stranger");
    assert_eq!(t[1].tcp_stats().connections_accepted, 1);
}

#[actix_rt::test]
async fn an_oversized_frame_closes_only_its_connection() {
    let t = mesh(2, |c| c.frame_bytes_max = 1024);
    let inbox = collect(&t[1], NodeId(1));
    real_peer_still_served(&t, &inbox, 1).await;

    // Authenticated, then announces a frame over the maximum.
    let mut bad = raw(t[1].local_addr());
    let mut session = handshake_as(&mut bad, NodeId(0));
    let mut oversized = 1025u32.to_be_bytes().to_vec();
    oversized.extend_from_slice(&[0; 64]);
    write_records(&mut bad, &mut session, &oversized);
    assert!(closed_by_peer(&mut bad));
    wait_until("the oversized frame counted", || {
        t[1].tcp_stats().closed_oversized_frame == 1
    })
    .await;

    // Authenticated, then sends a frame that is not a message.
    let mut bad = raw(t[1].local_addr());
    let mut session = handshake_as(&mut bad, NodeId(0));
    let mut not_a_message = Vec::new();
    encode_frame(&[0xff; 16], 1024, &mut not_a_message).unwrap();
    write_records(&mut bad, &mut session, &not_a_message);
    assert!(closed_by_peer(&mut bad));
    wait_until("the malformed frame counted", || {
        t[1].tcp_stats().closed_malformed_frame == 1
    })
    .await;

    // The sender refuses to send an oversized message, and says why.
    match t[0].try_send(NodeId(0), NodeId(1), TestMsg::Blob(vec![0; 2000])) {
        Err(Error::MessageTooLarge { max: 1024, .. }) => {}
        other => panic!("expected MessageTooLarge, got {other:?}"),
    }
    real_peer_still_served(&t, &inbox, 2).await;
    assert_eq!(count(&inbox), 2);
}

#[actix_rt::test]
async fn a_wrong_cluster_name_is_refused() {
    let t = mesh(2, |_| {});
    let inbox = collect(&t[1], NodeId(1));
    real_peer_still_served(&t, &inbox, 1).await;

    // A real transport of another cluster, claiming to be node 0.
    let mut c = config(0);
    c.cluster = "other".into();
    c.peers.insert(NodeId(1), peer(1, t[1].local_addr()));
    let intruder = start(c);
    intruder.send(NodeId(0), NodeId(1), TestMsg::Intruder);
    wait_until("the rejection", || {
        t[1].tcp_stats().rejected.wrong_cluster >= 1
    })
    .await;
    wait_until("the intruder to notice", || {
        intruder.tcp_stats().connect_failures >= 1
    })
    .await;

    real_peer_still_served(&t, &inbox, 2).await;
    assert_no_intruder(&inbox);
    intruder.shutdown();
}

#[actix_rt::test]
async fn a_wrong_secret_is_refused() {
    let t = mesh(2, |_| {});
    let inbox = collect(&t[1], NodeId(1));
    real_peer_still_served(&t, &inbox, 1).await;

    // Even with node 0's private key, a hello made without the cluster
    // secret is refused; a message slipped in behind it goes nowhere.
    let mut stranger = raw(t[1].local_addr());
    let guessed = credentials_of(NodeId(0), b"a guessed secret of some length");
    let (_, hello) = Connector::start(&guessed, NodeId(0), NodeId(1)).unwrap();
    write_frame(&mut stranger, &hello);
    stranger
        .write_all(&frame_of(NodeId(1), &TestMsg::Intruder))
        .unwrap();
    assert!(closed_by_peer(&mut stranger));
    wait_until("the rejection", || t[1].tcp_stats().rejected.bad_auth == 1).await;

    // A real transport with the wrong secret is refused the same way.
    let mut c = config(0);
    c.secret = b"a guessed secret of some length".to_vec();
    c.peers.insert(NodeId(1), peer(1, t[1].local_addr()));
    let intruder = start(c);
    intruder.send(NodeId(0), NodeId(1), TestMsg::Intruder);
    wait_until("node 1 to refuse the intruder", || {
        t[1].tcp_stats().rejected.bad_auth >= 2
    })
    .await;
    wait_until("the intruder to notice", || {
        intruder.tcp_stats().connect_failures >= 1
    })
    .await;

    real_peer_still_served(&t, &inbox, 2).await;
    assert_no_intruder(&inbox);
    assert_eq!(t[1].tcp_stats().connections_accepted, 1);
    intruder.shutdown();
}

#[actix_rt::test]
async fn a_member_cannot_claim_another_members_id() {
    let t = mesh(3, |_| {});
    let inbox = collect(&t[1], NodeId(1));
    real_peer_still_served(&t, &inbox, 1).await;

    // Node 2 knows the secret and holds its own key; it claims to be node 0.
    let mut c = TcpConfig::new(
        CLUSTER,
        SECRET.to_vec(),
        NodeId(0),
        key(2),
        "127.0.0.1:0".parse().unwrap(),
    );
    c.peers.insert(NodeId(1), peer(1, t[1].local_addr()));
    let impostor = start(c);
    impostor.send(NodeId(0), NodeId(1), TestMsg::Intruder);
    wait_until("the rejection", || t[1].tcp_stats().rejected.bad_auth >= 1).await;

    // As itself it is welcome, and its messages say they come from node 2.
    t[2].send(NodeId(2), NodeId(1), TestMsg::Seq(7));
    wait_until("node 2's message", || seqs_from(&inbox, NodeId(2)) == [7]).await;
    real_peer_still_served(&t, &inbox, 2).await;
    assert_no_intruder(&inbox);
    impostor.shutdown();
}

#[actix_rt::test]
async fn a_relayed_handshake_is_refused() {
    let t = mesh(3, |_| {});
    let inbox = collect(&t[2], NodeId(2));

    // An attacker without the secret holds an address node 0 dials for
    // node 1 and relays node 0's handshake to node 2, unchanged…
    let mut relay = raw(t[2].local_addr());
    let (_, hello) =
        Connector::start(&credentials_of(NodeId(0), SECRET), NodeId(0), NodeId(1)).unwrap();
    write_frame(&mut relay, &hello);
    assert!(closed_by_peer(&mut relay));
    wait_until("the rejection", || {
        t[2].tcp_stats().rejected.unknown_node == 1
    })
    .await;
    // …or with the destination rewritten to node 2: the hello was made for
    // node 1's key, and its cleartext fields are bound into the handshake.
    let mut relay = raw(t[2].local_addr());
    let mut rewritten = Hello::decode(&hello).unwrap();
    rewritten.to = NodeId(2);
    write_frame(&mut relay, &rewritten.encode());
    assert!(closed_by_peer(&mut relay));
    wait_until("the rejection", || t[2].tcp_stats().rejected.bad_auth == 1).await;

    t[0].send(NodeId(0), NodeId(2), TestMsg::Seq(1));
    wait_until("the real peer's message", || count(&inbox) == 1).await;
    assert_eq!(t[2].tcp_stats().connections_accepted, 1);
}

#[actix_rt::test]
async fn an_unknown_node_id_is_refused() {
    let t = mesh::<TestMsg>(2, |_| {});
    let mut c = config(7);
    c.peers.insert(NodeId(1), peer(1, t[1].local_addr()));
    let stranger = start(c);
    stranger.send(NodeId(7), NodeId(1), TestMsg::Intruder);
    wait_until("the rejection", || {
        t[1].tcp_stats().rejected.unknown_node >= 1
    })
    .await;
}

/// What the on-path attacker does to the first record after the handshake.
#[derive(Clone, Copy, Debug)]
enum Attack {
    /// Sends it twice.
    Replay,
    /// Flips a bit of its ciphertext.
    Tamper,
    /// Sends a record of its own before it.
    Inject,
}

/// A man in the middle on the link from a connector to `target`: forwards
/// the handshake both ways, then applies `attack` to the first data record
/// of the first connection only, and forwards everything else unchanged.
fn on_path(target: SocketAddr, attack: Attack) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for (n, inbound) in listener.incoming().enumerate() {
            let Ok(mut from_connector) = inbound else {
                return;
            };
            let Ok(mut to_acceptor) = TcpStream::connect(target) else {
                return;
            };
            let (mut back_in, mut back_out) = (
                to_acceptor.try_clone().unwrap(),
                from_connector.try_clone().unwrap(),
            );
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut back_in, &mut back_out);
                // The acceptor hung up: hang up on the connector too.
                let _ = back_out.shutdown(std::net::Shutdown::Both);
            });
            std::thread::spawn(move || {
                let _ = forward(
                    &mut from_connector,
                    &mut to_acceptor,
                    (n == 0).then_some(attack),
                );
            });
        }
    });
    addr
}

fn forward(
    from: &mut TcpStream,
    to: &mut TcpStream,
    attack: Option<Attack>,
) -> std::io::Result<()> {
    let mut read = |n: usize| -> std::io::Result<Vec<u8>> {
        let mut buf = vec![0; n];
        from.read_exact(&mut buf)?;
        Ok(buf)
    };
    // The hello and the confirmation: two frames with 4-byte lengths.
    for _ in 0..2 {
        let header = read(4)?;
        let body = read(u32::from_be_bytes(header.clone().try_into().unwrap()) as usize)?;
        to.write_all(&header)?;
        to.write_all(&body)?;
    }
    // Then records with 2-byte lengths.
    let header = read(2)?;
    let mut record = header.clone();
    record.extend(read(u16::from_be_bytes([header[0], header[1]]) as usize)?);
    match attack {
        Some(Attack::Replay) => {
            to.write_all(&record)?;
            to.write_all(&record)?;
        }
        Some(Attack::Tamper) => {
            let last = record.len() - 1;
            record[last] ^= 0x20;
            to.write_all(&record)?;
        }
        Some(Attack::Inject) => {
            let mut forged = vec![0, 40];
            forged.extend([0x5a; 40]);
            to.write_all(&forged)?;
            to.write_all(&record)?;
        }
        None => to.write_all(&record)?,
    }
    std::io::copy(from, to).map(|_| ())
}

#[actix_rt::test]
async fn records_replayed_changed_or_injected_on_the_wire_are_refused() {
    for attack in [Attack::Replay, Attack::Tamper, Attack::Inject] {
        let t = mesh(2, |_| {});
        let inbox = collect(&t[1], NodeId(1));
        // Node 0 reaches node 1 through the attacker.
        t[0].set_peer_addr(NodeId(1), on_path(t[1].local_addr(), attack))
            .unwrap();
        t[0].send(NodeId(0), NodeId(1), TestMsg::Seq(0));
        wait_until("the connection closed", || {
            t[1].tcp_stats().closed_unauthenticated == 1
        })
        .await;
        // The link reconnects (the attacker lets later connections be);
        // whatever arrived, arrived once, in order, from node 0 only.
        let mut next = 1;
        wait_until("a message after the attack", || {
            t[0].send(NodeId(0), NodeId(1), TestMsg::Seq(next));
            next += 1;
            seqs_from(&inbox, NodeId(0)).iter().any(|&s| s > 0)
        })
        .await;
        let got = seqs_from(&inbox, NodeId(0));
        assert!(got.windows(2).all(|w| w[0] < w[1]), "{attack:?}: {got:?}");
        assert_eq!(count(&inbox), got.len(), "{attack:?}: nothing else");
        if let Attack::Replay = attack {
            assert_eq!(got[0], 0, "the original went through, the replay did not");
        }
        assert_eq!(t[1].tcp_stats().closed_unauthenticated, 1, "{attack:?}");
    }
}

#[actix_rt::test]
async fn a_newer_connection_from_a_peer_replaces_the_older() {
    // One connection per (peer, local node) is all a peer needs; more
    // would let a member make node 1 hold many frame buffers.
    let t = mesh::<TestMsg>(2, |_| {});
    let inbox = collect(&t[1], NodeId(1));
    let mut first = raw(t[1].local_addr());
    let mut first_session = handshake_as(&mut first, NodeId(0));
    let mut second = raw(t[1].local_addr());
    let mut second_session = handshake_as(&mut second, NodeId(0));
    assert!(closed_by_peer(&mut first), "the older connection is closed");
    wait_until("the replacement counted", || {
        t[1].tcp_stats().connections_replaced == 1
    })
    .await;
    let _ = write_records_lossy(
        &mut first,
        &mut first_session,
        &frame_of(NodeId(1), &TestMsg::Seq(1)),
    );
    write_records(
        &mut second,
        &mut second_session,
        &frame_of(NodeId(1), &TestMsg::Seq(2)),
    );
    wait_until("the newer connection's message", || count(&inbox) == 1).await;
    assert_eq!(seqs_from(&inbox, NodeId(0)), [2]);
}

/// [`write_records`] on a connection that may be closed already.
fn write_records_lossy(
    stream: &mut TcpStream,
    session: &mut Session,
    plaintext: &[u8],
) -> std::io::Result<()> {
    let mut wire = Vec::new();
    session.seal(plaintext, &mut wire).unwrap();
    stream.write_all(&wire)
}

#[actix_rt::test]
async fn a_silent_connection_times_out() {
    let t = mesh::<TestMsg>(2, |c| c.handshake_timeout = Duration::from_millis(50));
    let mut silent = raw(t[1].local_addr());
    assert!(closed_by_peer(&mut silent));
    wait_until("the timeout", || t[1].tcp_stats().rejected.timeout == 1).await;
}

#[actix_rt::test]
async fn a_flood_of_silent_connections_is_bounded() {
    let t = mesh(2, |_| {});
    let inbox = collect(&t[1], NodeId(1));
    // 256 handshakes may be pending at once; the rest are closed unread.
    let flood: Vec<TcpStream> = (0..260).map(|_| raw(t[1].local_addr())).collect();
    wait_until("the excess refused", || t[1].tcp_stats().rejected.busy == 4).await;
    drop(flood);
    wait_until("the flood's handshakes ended", || {
        t[1].tcp_stats().rejected.closed == 256
    })
    .await;
    real_peer_still_served(&t, &inbox, 1).await;
}

#[actix_rt::test]
async fn a_full_queue_drops_and_counts() {
    // Node 1's address has no listener: the link never connects.
    let dead = closed_addr();
    let mut c = config(0);
    c.queue_capacity = 4;
    c.peers.insert(NodeId(1), peer(1, dead));
    let t = start(c);
    for i in 0..10 {
        t.send(NodeId(0), NodeId(1), TestMsg::Seq(i));
    }
    assert!(matches!(
        t.try_send(NodeId(0), NodeId(1), TestMsg::Seq(10)),
        Err(Error::QueueFull { to: NodeId(1) })
    ));
    assert!(matches!(
        t.try_send(NodeId(0), NodeId(5), TestMsg::Seq(0)),
        Err(Error::UnknownPeer(NodeId(5)))
    ));
    let stats = t.tcp_stats();
    assert_eq!(stats.queued, 4);
    assert_eq!(stats.dropped_queue_full, 7);
    assert_eq!(stats.peers[0].queue_len, 4);
    assert_eq!(stats.transport.dropped_no_inbox, 1);
    wait_until("a failed connection attempt", || {
        t.tcp_stats().connect_failures >= 1
    })
    .await;
    t.shutdown();
    assert_eq!(t.tcp_stats().dropped_shutdown, 4);
}

#[actix_rt::test]
async fn a_link_to_an_unreachable_peer_gives_up_and_starts_again() {
    let dead = closed_addr();
    let mut c = config(0);
    c.link_give_up_after = Duration::from_millis(100);
    c.peers.insert(NodeId(1), peer(1, dead));
    let t0 = start::<TestMsg>(c);
    for i in 0..3 {
        t0.send(NodeId(0), NodeId(1), TestMsg::Seq(i));
    }
    wait_until("the link to give up", || {
        t0.tcp_stats().dropped_unreachable == 3
    })
    .await;
    assert!(t0.tcp_stats().peers.is_empty(), "the link is gone");
    // The peer comes back elsewhere: the next message opens a new link.
    let mut c = config(1);
    c.peers.insert(NodeId(0), peer(0, t0.local_addr()));
    let t1 = start::<TestMsg>(c);
    let inbox = collect(&t1, NodeId(1));
    t0.set_peer_addr(NodeId(1), t1.local_addr()).unwrap();
    t0.send(NodeId(0), NodeId(1), TestMsg::Seq(3));
    wait_until("the message on the new link", || count(&inbox) == 1).await;
    assert_eq!(seqs_from(&inbox, NodeId(0)), [3]);
}

#[actix_rt::test]
async fn a_peer_that_connects_to_us_is_dialled_at_once() {
    // Node 1 is down when node 0 first sends, so node 0's link backs off
    // for at least 20 s — longer than any wait below.
    let addr = closed_addr();
    let mut c = config(0);
    c.reconnect_backoff_min = Duration::from_secs(40);
    c.reconnect_backoff_max = Duration::from_secs(40);
    c.peers.insert(NodeId(1), peer(1, addr));
    let t0 = start::<TestMsg>(c);
    let inbox0 = collect(&t0, NodeId(0));
    t0.send(NodeId(0), NodeId(1), TestMsg::Seq(1));
    wait_until("a failed attempt", || t0.tcp_stats().connect_failures == 1).await;
    // Node 1 starts on its address and speaks first.
    let mut c = config(1);
    c.listen = addr;
    c.peers.insert(NodeId(0), peer(0, t0.local_addr()));
    let t1 = start::<TestMsg>(c);
    let inbox1 = collect(&t1, NodeId(1));
    t1.send(NodeId(1), NodeId(0), TestMsg::Seq(2));
    wait_until("node 1's message", || count(&inbox0) == 1).await;
    // Node 0 took node 1's connection as the sign it is up.
    wait_until("node 0's queued message", || count(&inbox1) == 1).await;
    assert_eq!(seqs_from(&inbox1, NodeId(0)), [1]);
}

#[actix_rt::test]
async fn shutdown_flushes_what_is_queued() {
    let t = mesh(2, |_| {});
    let inbox = collect(&t[1], NodeId(1));
    real_peer_still_served(&t, &inbox, 0).await;
    for i in 1..=1000 {
        t[0].send(NodeId(0), NodeId(1), TestMsg::Seq(i));
    }
    t[0].shutdown();
    t[0].send(NodeId(0), NodeId(1), TestMsg::Seq(1001));
    wait_until("the flushed messages", || count(&inbox) == 1001).await;
    assert_eq!(seqs_from(&inbox, NodeId(0)), (0..=1000).collect::<Vec<_>>());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic_the_handshake(frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..128), 1..4)) {
        let mut acceptor = handshake::Acceptor::new(Arc::new(credentials_of(NodeId(1), SECRET)));
        let (mut connector, _) =
            Connector::start(&credentials_of(NodeId(0), SECRET), NodeId(0), NodeId(1)).unwrap();
        let (_, mut session) = sessions();
        let mut plain = Vec::new();
        for frame in &frames {
            prop_assert!(acceptor.on_frame(frame).is_err());
            prop_assert!(connector.on_frame(frame).is_err());
            let _ = Hello::decode(frame);
            prop_assert!(session.open(frame, &mut plain).is_err() || plain.is_empty());
        }
        // And through the frame decoder, as the acceptor reads them.
        let mut decoder = FrameDecoder::new(handshake::HANDSHAKE_FRAME_BYTES_MAX);
        decoder.extend(&frames.concat());
        while let Ok(Some(frame)) = decoder.next_frame() {
            let _ = acceptor.on_frame(&frame);
        }
    }

    #[test]
    fn random_bytes_never_panic_the_frame_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..512), max in 0usize..256) {
        let mut decoder = FrameDecoder::new(max);
        decoder.extend(&bytes);
        while let Ok(Some(frame)) = decoder.next_frame() {
            prop_assert!(frame.len() <= max);
            let _ = Postcard.decode::<(NodeId, TestMsg)>(&frame);
        }
    }

    #[test]
    fn a_hello_with_a_flipped_bit_is_refused(flip in 0usize..256, bit in 0u8..8) {
        let (_, mut hello) =
            Connector::start(&credentials_of(NodeId(0), SECRET), NodeId(0), NodeId(1)).unwrap();
        let i = flip % hello.len();
        hello[i] ^= 1 << bit;
        let mut acceptor = handshake::Acceptor::new(Arc::new(credentials_of(NodeId(1), SECRET)));
        prop_assert!(acceptor.on_frame(&hello).is_err(), "byte {i} bit {bit}");
    }
}

/// Two ends of an open session (connector's, acceptor's), run in memory.
fn sessions() -> (Session, Session) {
    let (mut connector, hello) =
        Connector::start(&credentials_of(NodeId(0), SECRET), NodeId(0), NodeId(1)).unwrap();
    let mut acceptor = handshake::Acceptor::new(Arc::new(credentials_of(NodeId(1), SECRET)));
    let handshake::AcceptorStep::Send(reply) = acceptor.on_frame(&hello).unwrap() else {
        unreachable!()
    };
    let ConnectorStep::Send(confirm) = connector.on_frame(&reply).unwrap() else {
        unreachable!()
    };
    let handshake::AcceptorStep::Open {
        welcome,
        session: accepted,
        ..
    } = acceptor.on_frame(&confirm).unwrap()
    else {
        unreachable!()
    };
    let ConnectorStep::Open(connected) = connector.on_frame(&welcome).unwrap() else {
        unreachable!()
    };
    (connected, accepted)
}

// ----- mutation-testing gaps (issue #19): each test pins one outcome --------

// A message whose encoding is exactly frame_bytes_max bytes fits; one byte
// more is refused.
#[actix_rt::test]
async fn a_message_of_exactly_frame_bytes_max_is_accepted() {
    let msg = TestMsg::Blob(vec![7; 100]);
    let exact = Postcard.encoded_len(&(NodeId(1), &msg)).unwrap();
    let dead = closed_addr();
    let mut c = config(0);
    c.frame_bytes_max = exact;
    c.peers.insert(NodeId(1), peer(1, dead));
    let t = start::<TestMsg>(c);
    t.try_send(NodeId(0), NodeId(1), msg).unwrap();
    // One of the 65,536 places in the link's queue is taken.
    assert_eq!(t.tcp_stats().peers[0].queue_len, 1);
    assert!(matches!(
        t.try_send(NodeId(0), NodeId(1), TestMsg::Blob(vec![7; 101])),
        Err(Error::MessageTooLarge { bytes, max, .. }) if bytes == exact + 1 && max == exact
    ));
    assert_eq!(t.tcp_stats().queued, 1);
}

// Batching: what is queued while a link waits for its peer leaves in one
// write once it connects (1000 small frames, about 10 KB, well under the
// 256 KiB batch bound).
#[actix_rt::test]
async fn messages_queued_before_the_connection_leave_in_one_write() {
    // Node 1 is down when node 0 sends: node 0's link fails its first
    // attempt and backs off for 40 s, so every message is queued before it
    // connects; node 1 then speaks first, and node 0 dials at once.
    let addr = closed_addr();
    let mut c = config(0);
    c.reconnect_backoff_min = Duration::from_secs(40);
    c.reconnect_backoff_max = Duration::from_secs(40);
    c.peers.insert(NodeId(1), peer(1, addr));
    let t0 = start::<TestMsg>(c);
    let _inbox0 = collect(&t0, NodeId(0));
    for i in 0..1000 {
        t0.send(NodeId(0), NodeId(1), TestMsg::Seq(i));
    }
    wait_until("a failed attempt", || t0.tcp_stats().connect_failures == 1).await;
    let mut c = config(1);
    c.listen = addr;
    c.peers.insert(NodeId(0), peer(0, t0.local_addr()));
    let t1 = start::<TestMsg>(c);
    let inbox1 = collect(&t1, NodeId(1));
    t1.send(NodeId(1), NodeId(0), TestMsg::Seq(0));
    wait_until("node 0's queued messages", || count(&inbox1) == 1000).await;
    assert_eq!(seqs_from(&inbox1, NodeId(0)), (0..1000).collect::<Vec<_>>());
    let stats = t0.tcp_stats();
    assert_eq!((stats.frames_sent, stats.writes), (1000, 1), "{stats:?}");
}

// A node unregistered from the transport gets nothing more: a message to it
// (here from a local node, delivered in place) is dropped and counted.
#[actix_rt::test]
async fn an_unregistered_node_gets_nothing() {
    let t = start::<TestMsg>(config(0));
    let inbox = collect(&t, NodeId(0));
    t.send(NodeId(0), NodeId(0), TestMsg::Seq(1));
    assert_eq!(t.stats().delivered, 1);
    t.unregister(NodeId(0));
    t.send(NodeId(0), NodeId(0), TestMsg::Seq(2));
    let stats = t.stats();
    assert_eq!(
        (stats.delivered, stats.dropped_no_inbox),
        (1, 1),
        "{stats:?}"
    );
    wait_until("the first message", || count(&inbox) == 1).await;
    assert_eq!(seqs_from(&inbox, NodeId(0)), [1]);
}

// Shutdown waits for every link to flush, not only the newest: node 0's
// link to node 1 has about 10 MB queued (more than a socket buffer, so
// writing takes many polls) when a second link, to an unreachable node 2,
// is opened; shutdown must still deliver all of it.
#[actix_rt::test]
async fn shutdown_flushes_an_older_link_too() {
    let t = mesh::<TestMsg>(2, |c| c.shutdown_flush_timeout = Duration::from_secs(60));
    let inbox = collect(&t[1], NodeId(1));
    real_peer_still_served(&t, &inbox, 0).await;
    let dead = closed_addr();
    t[0].set_peer(NodeId(2), peer(2, dead));
    for _ in 0..1000 {
        t[0].send(NodeId(0), NodeId(1), TestMsg::Blob(vec![1; 10_000]));
    }
    t[0].send(NodeId(0), NodeId(2), TestMsg::Seq(0));
    t[0].shutdown();
    wait_until("the flushed messages", || count(&inbox) == 1001).await;
}
