//! UdpTransport over 127.0.0.1 with OS-chosen ports: delivery, refusal of
//! oversized messages, and garbage, forged, impersonating, replayed and
//! unknown-sender datagrams ignored and counted. Verdicts are conditions
//! polled until they hold.

use std::net::UdpSocket;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use dsys_core::runtime::{Deliver, Transport};
use dsys_core::wire::{Codec, Postcard};
use dsys_core::NodeId;
use dsys_net::udp::{MAGIC, PROTOCOL_VERSION};
use dsys_net::{Error, NodeKey, Peer, UdpConfig, UdpTransport};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum TestMsg {
    Seq(u64),
    Blob(Vec<u8>),
}

impl dsys_core::Message for TestMsg {}

type Inbox = Arc<Mutex<Vec<(NodeId, TestMsg)>>>;

struct Collector {
    got: Inbox,
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

fn collect(transport: &UdpTransport<TestMsg>, node: NodeId) -> Inbox {
    let got = Inbox::default();
    // The capacity is set before the actor starts: messages may arrive at once.
    let addr = Collector::create(|ctx| {
        ctx.set_mailbox_capacity(1 << 20);
        Collector { got: got.clone() }
    });
    transport.register(node, addr.recipient());
    got
}

const SECRET: &[u8] = b"the udp test cluster's secret";

/// Node `id`'s key pair.
fn key(id: u32) -> NodeKey {
    NodeKey::from_private([id as u8 + 1; 32])
}

fn peer(id: u32, addr: std::net::SocketAddr) -> Peer {
    Peer {
        addr,
        key: key(id).public(),
    }
}

/// A transport running node `id` with key pair `key`.
fn start(id: u32, key: NodeKey) -> UdpTransport<TestMsg> {
    UdpTransport::start(UdpConfig::new(
        "test",
        SECRET.to_vec(),
        NodeId(id),
        key,
        "127.0.0.1:0".parse().unwrap(),
    ))
    .unwrap()
}

fn pair() -> (UdpTransport<TestMsg>, UdpTransport<TestMsg>) {
    let a = start(0, key(0));
    let b = start(1, key(1));
    a.set_peer(NodeId(1), peer(1, b.local_addr()));
    b.set_peer(NodeId(0), peer(0, a.local_addr()));
    (a, b)
}

async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        actix_rt::time::sleep(Duration::from_millis(3)).await;
    }
}

fn count(inbox: &Inbox) -> usize {
    inbox.lock().unwrap().len()
}

#[actix_rt::test]
async fn messages_arrive() {
    let (a, b) = pair();
    let inbox = collect(&b, NodeId(1));
    // Few enough that loopback's socket buffer holds them all.
    for i in 0..100 {
        a.send(NodeId(0), NodeId(1), TestMsg::Seq(i));
    }
    wait_until("the datagrams", || count(&inbox) == 100).await;
    let mut seqs: Vec<u64> = inbox
        .lock()
        .unwrap()
        .iter()
        .map(|(from, m)| {
            assert_eq!(*from, NodeId(0));
            match m {
                TestMsg::Seq(i) => *i,
                other => panic!("unexpected {other:?}"),
            }
        })
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (0..100).collect::<Vec<_>>());
    let sent = a.udp_stats();
    assert_eq!(sent.datagrams_sent, 100);
    assert_eq!(sent.kinds[0].0, "Seq");
    assert_eq!(sent.kinds[0].1.sent, 100);
    let received = b.udp_stats();
    assert_eq!(received.transport.delivered, 100);
    assert_eq!(received.kinds[0].1.received, 100);
    assert_eq!(received.rejected_bad_auth + received.rejected_malformed, 0);
}

#[actix_rt::test]
async fn an_oversized_message_is_refused() {
    let (a, b) = pair();
    let inbox = collect(&b, NodeId(1));
    match a.try_send(NodeId(0), NodeId(1), TestMsg::Blob(vec![7; 2_000])) {
        Err(Error::MessageTooLarge { bytes, max, .. }) => {
            assert!(bytes > 2_000);
            assert_eq!(max, 1_472);
        }
        other => panic!("expected MessageTooLarge, got {other:?}"),
    }
    a.send(NodeId(0), NodeId(1), TestMsg::Blob(vec![7; 2_000]));
    assert_eq!(a.udp_stats().dropped_too_large, 2);
    assert_eq!(a.udp_stats().datagrams_sent, 0);
    // Exactly the maximum goes: 30 bytes of header, the postcard message
    // (variant 1, a two-byte length, 1,407 bytes), 32 of tag: 1,472.
    a.try_send(NodeId(0), NodeId(1), TestMsg::Blob(vec![7; 1_407]))
        .unwrap();
    wait_until("the message that fits", || count(&inbox) == 1).await;
    let stats = a.udp_stats();
    assert_eq!((stats.datagrams_sent, stats.bytes_sent), (1, 1_472));
    let blob = stats
        .kinds
        .iter()
        .find(|(kind, _)| *kind == "Blob")
        .unwrap()
        .1;
    assert_eq!(blob.bytes_sent, 1 + 2 + 1_407, "the message's own bytes");
    // One byte more does not, and the error says by how much.
    match a.try_send(NodeId(0), NodeId(1), TestMsg::Blob(vec![7; 1_408])) {
        Err(Error::MessageTooLarge {
            bytes: 1_473,
            max: 1_472,
            ..
        }) => {}
        other => panic!("expected MessageTooLarge at 1,473 bytes, got {other:?}"),
    }
}

#[actix_rt::test]
async fn a_datagram_over_the_receivers_maximum_is_dropped() {
    let (_, b) = pair();
    let inbox = collect(&b, NodeId(1));
    // A sender configured for larger datagrams than node 1 accepts.
    let mut config = UdpConfig::new(
        "test",
        SECRET.to_vec(),
        NodeId(0),
        key(0),
        "127.0.0.1:0".parse().unwrap(),
    );
    config.datagram_bytes_max = 4_000;
    let big =
        UdpTransport::<TestMsg>::start(config.peer(NodeId(1), b.local_addr(), key(1).public()))
            .unwrap();
    big.try_send(NodeId(0), NodeId(1), TestMsg::Blob(vec![1; 2_000]))
        .unwrap();
    wait_until("the oversized datagram counted", || {
        b.udp_stats().rejected_malformed == 1
    })
    .await;
    big.send(NodeId(0), NodeId(1), TestMsg::Seq(5));
    wait_until("a small one from the same sender", || count(&inbox) == 1).await;
    assert_eq!(inbox.lock().unwrap()[0], (NodeId(0), TestMsg::Seq(5)));
}

#[test]
fn a_configuration_that_cannot_work_is_refused_with_its_reason() {
    use dsys_net::udp::{DATAGRAM_BYTES_LIMIT, HEADER_BYTES, TAG_BYTES};
    let good = UdpConfig::new(
        "test",
        SECRET.to_vec(),
        NodeId(0),
        key(0),
        "127.0.0.1:0".parse().unwrap(),
    );
    good.validate().unwrap();
    let debug = format!("{good:?}");
    assert!(
        debug.contains("UdpConfig") && debug.contains("test"),
        "{debug}"
    );
    assert!(
        !debug.contains("udp test cluster"),
        "the secret is redacted: {debug}"
    );
    let refused = |change: fn(&mut UdpConfig), says: &str| {
        let mut config = good.clone();
        change(&mut config);
        let message = config.validate().unwrap_err().to_string();
        assert!(message.contains(says), "{says}: {message}");
    };
    refused(|c| c.cluster.clear(), "cluster name is empty");
    refused(|c| c.secret.truncate(15), "fewer than 16");
    refused(|c| c.local.clear(), "no local node");
    refused(
        |c| c.datagram_bytes_max = HEADER_BYTES + TAG_BYTES,
        "datagram_bytes_max",
    );
    refused(
        |c| c.datagram_bytes_max = DATAGRAM_BYTES_LIMIT + 1,
        "datagram_bytes_max",
    );
    for fits in [HEADER_BYTES + TAG_BYTES + 1, DATAGRAM_BYTES_LIMIT] {
        let mut config = good.clone();
        config.datagram_bytes_max = fits;
        config.validate().unwrap();
    }
    let mut config = good;
    config.secret.clear();
    assert!(
        UdpTransport::<TestMsg>::start(config).is_err(),
        "start validates"
    );
}

#[actix_rt::test]
async fn a_peer_with_a_new_key_is_heard_once_its_key_is_updated() {
    let (a, b) = pair();
    let inbox = collect(&b, NodeId(1));
    let old_inbox = collect(&a, NodeId(0));
    a.send(NodeId(0), NodeId(1), TestMsg::Seq(1));
    b.send(NodeId(1), NodeId(0), TestMsg::Seq(0));
    wait_until("a message each way", || {
        count(&inbox) == 1 && count(&old_inbox) == 1
    })
    .await;
    // Node 0 comes back with a new key pair; node 1 still has the old key
    // (and the MAC keys it derived from it, both ways).
    drop(a);
    let renewed = NodeKey::from_private([42; 32]);
    let a = start(0, renewed.clone());
    a.set_peer(NodeId(1), peer(1, b.local_addr()));
    a.send(NodeId(0), NodeId(1), TestMsg::Seq(2));
    wait_until("refused under the old key", || {
        b.udp_stats().rejected_bad_auth == 1
    })
    .await;
    // Told the new key, node 1 forgets what it derived from the old one.
    b.set_peer(
        NodeId(0),
        Peer {
            addr: a.local_addr(),
            key: renewed.public(),
        },
    );
    a.send(NodeId(0), NodeId(1), TestMsg::Seq(3));
    wait_until("heard under the new key", || count(&inbox) == 2).await;
    // And it answers under the new key too.
    let inbox_a = collect(&a, NodeId(0));
    b.send(NodeId(1), NodeId(0), TestMsg::Seq(4));
    wait_until("the answer", || count(&inbox_a) == 1).await;
}

#[actix_rt::test]
async fn an_unregistered_node_gets_nothing_and_a_dropped_transport_frees_its_port() {
    let (a, b) = pair();
    let inbox = collect(&b, NodeId(1));
    a.send(NodeId(0), NodeId(1), TestMsg::Seq(1));
    wait_until("delivered while registered", || count(&inbox) == 1).await;
    b.unregister(NodeId(1));
    a.send(NodeId(0), NodeId(1), TestMsg::Seq(2));
    wait_until("dropped for want of an inbox", || {
        b.stats().dropped_no_inbox == 1
    })
    .await;
    assert_eq!(count(&inbox), 1);
    let debug = format!("{b:?}");
    assert!(
        debug.contains("UdpTransport") && debug.contains("dropped_no_inbox: 1"),
        "{debug}"
    );
    // Dropping a transport shuts it down: its port can be bound again.
    let port = b.local_addr();
    drop(b);
    assert!(
        UdpSocket::bind(port).is_ok(),
        "the receiving socket is closed"
    );
}

#[actix_rt::test]
async fn garbage_and_forged_datagrams_are_ignored_and_counted() {
    let (a, b) = pair();
    let inbox = collect(&b, NodeId(1));
    let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
    let target = b.local_addr();

    stranger
        .send_to(b"not a dsys datagram at all, just noise......", target)
        .unwrap();
    wait_until("the garbage counted", || {
        b.udp_stats().rejected_malformed == 1
    })
    .await;

    // The right header, a message, and a tag made without the secret.
    let mut forged = Vec::new();
    forged.extend_from_slice(&MAGIC);
    forged.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    forged.extend_from_slice(&0u32.to_be_bytes());
    forged.extend_from_slice(&1u32.to_be_bytes());
    forged.extend_from_slice(&[0; 16]); // epoch and sequence number
    Postcard.encode(&TestMsg::Seq(666), &mut forged).unwrap();
    forged.extend_from_slice(&[0u8; 32]);
    stranger.send_to(&forged, target).unwrap();
    wait_until("the forgery counted", || {
        b.udp_stats().rejected_bad_auth == 1
    })
    .await;

    // Another format version.
    forged[5] ^= 0x01;
    stranger.send_to(&forged, target).unwrap();
    wait_until("the version counted", || {
        b.udp_stats().rejected_wrong_version == 1
    })
    .await;

    // A member of the cluster that node 1 does not know.
    let unknown = start(9, key(9));
    unknown.set_peer(NodeId(1), peer(1, target));
    unknown.send(NodeId(9), NodeId(1), TestMsg::Seq(999));
    wait_until("the unknown sender counted", || {
        b.udp_stats().rejected_unknown_node == 1
    })
    .await;

    // The smallest datagram that can be ours (header and tag, no message)
    // is read as far as its sender, here unknown.
    let mut minimal = Vec::new();
    minimal.extend_from_slice(&MAGIC);
    minimal.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    minimal.extend_from_slice(&9u32.to_be_bytes());
    minimal.extend_from_slice(&1u32.to_be_bytes());
    minimal.extend_from_slice(&[0; 16 + 32]);
    stranger.send_to(&minimal, target).unwrap();
    wait_until("the minimal datagram's sender counted", || {
        b.udp_stats().rejected_unknown_node == 2
    })
    .await;
    // Long enough but without the magic, or with the magic but too short
    // to hold a tag: not ours.
    stranger.send_to(&[0x5a; 100], target).unwrap();
    stranger.send_to(&minimal[..20], target).unwrap();
    wait_until("both counted as not ours", || {
        b.udp_stats().rejected_malformed == 3
    })
    .await;

    a.send(NodeId(0), NodeId(1), TestMsg::Seq(1));
    wait_until("the real message", || count(&inbox) == 1).await;
    assert_eq!(inbox.lock().unwrap()[0], (NodeId(0), TestMsg::Seq(1)));
    let stats = b.udp_stats();
    assert_eq!(stats.datagrams_received, 8);
    assert_eq!(
        stats.rejected_wrong_version, 1,
        "the magic-less one was not read further"
    );
}

#[actix_rt::test]
async fn a_member_cannot_send_as_another_member() {
    let (a, b) = pair();
    let inbox = collect(&b, NodeId(1));
    // Node 2 knows the secret and holds its own key; it claims to be node 0.
    let impostor = start(0, key(2));
    impostor.set_peer(NodeId(1), peer(1, b.local_addr()));
    impostor.send(NodeId(0), NodeId(1), TestMsg::Seq(666));
    wait_until("the impostor refused", || {
        b.udp_stats().rejected_bad_auth == 1
    })
    .await;
    a.send(NodeId(0), NodeId(1), TestMsg::Seq(1));
    wait_until("the real message", || count(&inbox) == 1).await;
    assert_eq!(inbox.lock().unwrap()[0], (NodeId(0), TestMsg::Seq(1)));
}

#[actix_rt::test]
async fn a_replayed_datagram_is_delivered_once() {
    let (a, b) = pair();
    let inbox = collect(&b, NodeId(1));
    // An attacker on the path records node 0's datagrams to node 1.
    let tap = UdpSocket::bind("127.0.0.1:0").unwrap();
    tap.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    a.set_peer(NodeId(1), peer(1, tap.local_addr().unwrap()));
    let mut recorded = Vec::new();
    for i in 0..3 {
        a.send(NodeId(0), NodeId(1), TestMsg::Seq(i));
        let mut buf = [0u8; 2048];
        let n = tap.recv(&mut buf).unwrap();
        recorded.push(buf[..n].to_vec());
    }
    // It forwards them out of order, then all of them again, twice.
    for i in [2, 0, 1, 0, 1, 2, 2, 1, 0] {
        tap.send_to(&recorded[i], b.local_addr()).unwrap();
    }
    wait_until("the replays counted and the originals delivered", || {
        b.udp_stats().rejected_replayed == 6 && count(&inbox) == 3
    })
    .await;
    let mut got: Vec<_> = inbox.lock().unwrap().clone();
    got.sort_by_key(|(_, m)| format!("{m:?}"));
    assert_eq!(
        got,
        (0..3)
            .map(|i| (NodeId(0), TestMsg::Seq(i)))
            .collect::<Vec<_>>(),
        "each message once, late ones included"
    );
    // A restarted node 0 (a new incarnation) is heard again; the old
    // incarnation's datagrams are not.
    drop(a);
    let a = start(0, key(0));
    a.set_peer(NodeId(1), peer(1, b.local_addr()));
    a.send(NodeId(0), NodeId(1), TestMsg::Seq(10));
    wait_until("the new incarnation heard", || count(&inbox) == 4).await;
    tap.send_to(&recorded[0], b.local_addr()).unwrap();
    wait_until("the old incarnation refused", || {
        b.udp_stats().rejected_replayed == 7
    })
    .await;
    assert_eq!(count(&inbox), 4);
}

#[actix_rt::test]
async fn shutdown_stops_the_receiver() {
    let (a, b) = pair();
    b.shutdown();
    b.shutdown();
    assert!(matches!(
        b.try_send(NodeId(1), NodeId(0), TestMsg::Seq(0)),
        Err(Error::ShutDown)
    ));
    drop(a);
}
