//! RPC over TCP: the sans-IO RPC node of `dsys_net::rpc`, serving the bank,
//! run on the actix runtime with a server and a client in two one-node
//! clusters, each with its own `TcpTransport` on 127.0.0.1 (an OS-chosen
//! port), as if they were two processes. The same node that the simulator
//! tests in `tests/rpc.rs` crosses real sockets here: the client's calls get
//! their replies, and under at-most-once semantics every deposit counts once
//! — also when a fault-injecting layer over the sockets loses and
//! duplicates messages, so that the client retries and the server answers
//! copies from its table of replies.
//!
//! | property | checked by | source |
//! |---|---|---|
//! | every call gets its reply | `calls_over_tcp_get_their_replies` | Birrell & Nelson 1984 §3 |
//! | at most once: no request id executed twice, balance as if once | both tests | Birrell & Nelson 1984 §3; Coulouris §5.3.1 |
//! | a retried or duplicated request is answered from the table | `retries_and_duplicates_over_tcp_are_answered_from_the_table` | Coulouris §5.3.1 |
//!
//! Timeouts are only failure bounds: every verdict is a condition awaited
//! until it holds.

use std::sync::Arc;
use std::time::Duration;

use dsys_core::runtime::{Cluster, FaultConfig, FaultyTransport, Transport};
use dsys_core::NodeId;
use dsys_net::rpc::bank::{self, Bank, BankOp};
use dsys_net::rpc::{ClientConfig, RetryPolicy, RpcEvent, RpcMsg, RpcNode, Semantics};
use dsys_net::tcp::Peer;
use dsys_net::{NodeKey, TcpConfig, TcpTransport};

type Msg = RpcMsg<BankOp, i64>;

const SERVER: NodeId = NodeId(0);
const CLIENT: NodeId = NodeId(1);
const ACCOUNT: u32 = 1;
const AMOUNT: i64 = 10;
const SEMANTICS: Semantics = Semantics::AtMostOnce { table_max: 8 };

/// The longest any test waits for one event before failing.
const EVENT_BOUND: Duration = Duration::from_secs(10);

fn deposit() -> BankOp {
    BankOp::Deposit {
        account: ACCOUNT,
        amount: AMOUNT,
    }
}

/// Two transports on loopback ports chosen by the OS, each knowing the
/// other's address: the server's (node 0) and the client's (node 1).
fn transports() -> (Arc<TcpTransport<Msg>>, Arc<TcpTransport<Msg>>) {
    let start = |id| {
        let mut config = TcpConfig::new(
            "rpc-test",
            b"rpc test secret, long enough".to_vec(),
            id,
            key(id),
            "127.0.0.1:0".parse().expect("a loopback address"),
        );
        config.reconnect_backoff_min = Duration::from_millis(5);
        config.reconnect_backoff_max = Duration::from_millis(100);
        Arc::new(TcpTransport::start(config).expect("transport starts"))
    };
    let (server, client) = (start(SERVER), start(CLIENT));
    let peer = |id, addr| Peer {
        addr,
        key: key(id).public(),
    };
    server.set_peer(CLIENT, peer(CLIENT, client.local_addr()));
    client.set_peer(SERVER, peer(SERVER, server.local_addr()));
    (server, client)
}

/// Node `id`'s key pair.
fn key(id: NodeId) -> NodeKey {
    NodeKey::from_private([id.0 as u8 + 1; 32])
}

/// One process's share of the two-node RPC cluster: only `id` runs here,
/// over `transport`.
fn one_node_cluster(
    id: NodeId,
    transport: Arc<dyn Transport<Msg>>,
    config: ClientConfig,
) -> Cluster<RpcNode<Bank>> {
    Cluster::builder(2)
        .local([id])
        .on_current_arbiter()
        .transport(transport)
        .start(bank::cluster(SEMANTICS, config))
}

/// What the client reported for each call: the replies of completed calls,
/// in order, and how many calls it gave up.
struct Outcome {
    replies: Vec<i64>,
    tries: Vec<u32>,
    gave_up: u32,
}

/// Makes `calls` deposits through the client and waits until each has
/// completed or been given up.
async fn deposit_many(client: &Cluster<RpcNode<Bank>>, calls: usize) -> Outcome {
    let handle = client.node(CLIENT);
    let mut events = handle
        .subscribe_from_start()
        .expect("the first subscription");
    for _ in 0..calls {
        handle
            .request(deposit())
            .expect("the client takes the call");
    }
    let mut outcome = Outcome {
        replies: Vec::new(),
        tries: Vec::new(),
        gave_up: 0,
    };
    while outcome.replies.len() + (outcome.gave_up as usize) < calls {
        let event = events
            .next_within(EVENT_BOUND)
            .await
            .unwrap_or_else(|| panic!("no call finished within {EVENT_BOUND:?}"))
            .expect("the client's events");
        match event {
            RpcEvent::Completed { reply, tries, .. } => {
                outcome.replies.push(reply);
                outcome.tries.push(tries);
            }
            RpcEvent::GaveUp { .. } => outcome.gave_up += 1,
            _ => {}
        }
    }
    outcome
}

/// The server's balance, request count, executions per request id, and
/// requests answered from the table.
async fn server_view(server: &Cluster<RpcNode<Bank>>) -> (i64, u64, Vec<u32>, u64) {
    server
        .node(SERVER)
        .inspect(|node| {
            let server = node.as_server().expect("n0 serves");
            (
                server.service().balance(ACCOUNT),
                server.stats().requests,
                server.executions().values().copied().collect(),
                server.stats().answered_from_cache,
            )
        })
        .await
        .expect("the server is up")
}

fn stop(clusters: [&Cluster<RpcNode<Bank>>; 2], transports: [&TcpTransport<Msg>; 2]) {
    for cluster in clusters {
        cluster.stop();
    }
    for transport in transports {
        transport.shutdown();
    }
}

// Birrell & Nelson §3: a call crosses to another address space and its
// result comes back; one call in flight, so the k-th reply is the balance
// after k deposits.
#[actix_rt::test]
async fn calls_over_tcp_get_their_replies() {
    const CALLS: usize = 20;
    let (server_transport, client_transport) = transports();
    let server = one_node_cluster(SERVER, server_transport.clone(), ClientConfig::default());
    let client = one_node_cluster(CLIENT, client_transport.clone(), ClientConfig::default());

    let outcome = deposit_many(&client, CALLS).await;
    assert_eq!(outcome.gave_up, 0);
    let expected: Vec<i64> = (1..=CALLS as i64).map(|k| k * AMOUNT).collect();
    assert_eq!(outcome.replies, expected);

    let (balance, _, executions, _) = server_view(&server).await;
    assert_eq!(balance, CALLS as i64 * AMOUNT);
    assert_eq!(executions, vec![1; CALLS], "each request executed once");
    // The messages really crossed the sockets, both ways.
    let (sent, received) = (client_transport.tcp_stats(), server_transport.tcp_stats());
    assert!(sent.frames_sent >= CALLS as u64, "{sent:?}");
    assert!(received.frames_received >= CALLS as u64, "{received:?}");
    assert_eq!(received.connections_accepted, 1, "{received:?}");
    assert_eq!(received.rejected.total(), 0, "{received:?}");
    stop([&server, &client], [&server_transport, &client_transport]);
}

// Coulouris §5.3.1: with retries and duplicate filtering, a request that
// arrives twice — retried after a lost request or reply, or copied by the
// network — is executed once and answered from the table the second time.
#[actix_rt::test]
async fn retries_and_duplicates_over_tcp_are_answered_from_the_table() {
    const CALLS: usize = 20;
    let (server_transport, client_transport) = transports();
    // TCP itself neither loses nor duplicates; a seeded fault layer on each
    // side does: 20 % of messages lost, 30 % sent twice. Seed 3 makes the
    // client's very first send a duplicated request that is not lost, so
    // the table is certain to be used.
    let faults = FaultConfig {
        loss: 0.2,
        duplicate: 0.3,
        delay: None,
    };
    let faulty = |inner: &Arc<TcpTransport<Msg>>, seed| -> Arc<dyn Transport<Msg>> {
        Arc::new(FaultyTransport::new(inner.clone(), faults, seed).expect("valid faults"))
    };
    // A loopback round trip takes well under a millisecond. A try fails
    // when its request or its reply is lost (1 − 0.8 × 0.8 = 0.36), so with
    // 20 tries a call gives up with probability 0.36^20 ≈ 10⁻⁹.
    let config = ClientConfig {
        retry: RetryPolicy {
            timeout: Duration::from_millis(10),
            tries_max: 20,
            backoff_factor: 2,
            timeout_max: Duration::from_millis(40),
        },
        ..ClientConfig::default()
    };
    let server = one_node_cluster(SERVER, faulty(&server_transport, 2), config);
    let client = one_node_cluster(CLIENT, faulty(&client_transport, 3), config);

    let outcome = deposit_many(&client, CALLS).await;
    assert_eq!(outcome.gave_up, 0);
    // At most once: whatever was retried or duplicated, the k-th reply is
    // still the balance after k deposits.
    let expected: Vec<i64> = (1..=CALLS as i64).map(|k| k * AMOUNT).collect();
    assert_eq!(outcome.replies, expected);
    // The seeds lose replies among the first ones the server sends: some
    // call needed a retry.
    assert!(
        outcome.tries.iter().any(|&tries| tries > 1),
        "{:?}",
        outcome.tries
    );

    let (balance, requests, executions, from_table) = server_view(&server).await;
    assert_eq!(balance, CALLS as i64 * AMOUNT);
    assert_eq!(executions, vec![1; CALLS], "each request executed once");
    assert!(from_table > 0, "no request reached the server twice");
    assert_eq!(requests, CALLS as u64 + from_table);
    stop([&server, &client], [&server_transport, &client_transport]);
}
