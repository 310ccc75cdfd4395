//! The actix runtime: the same nodes as in the simulator, run as actors.
//!
//! Timeouts here only guard against hangs (a broken runtime fails instead of
//! blocking CI); no assertion depends on how fast the machine is.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dsys::core::failure_detector::{Change, Heartbeat, HeartbeatConfig};
use dsys::core::ping_pong::{Event, PingPong, PingPongConfig};
use dsys::core::runtime::{
    Cluster, Events, FaultConfig, FaultyTransport, LocalTransport, RuntimeError, Transport,
};
use dsys::core::sim::Simulation;
use dsys::core::NodeId;

const HANG_GUARD: Duration = Duration::from_secs(30);

async fn wait_for<E: Clone + PartialEq + std::fmt::Debug>(events: &mut Events<E>, wanted: &E) {
    loop {
        match events.next_within(HANG_GUARD).await {
            Some(Ok(event)) if &event == wanted => return,
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("event stream failed while waiting for {wanted:?}: {e}"),
            None => panic!("no {wanted:?} within {HANG_GUARD:?}"),
        }
    }
}

// The same ping-pong node, unchanged, gives the same final counts in the
// simulator and in the actix runtime.
#[test]
fn ping_pong_gives_the_same_counts_in_both_runtimes() {
    let nodes = 4;
    let config = PingPongConfig {
        rounds: 5,
        interval: Duration::from_millis(5),
        closed_loop: false,
    };

    let mut sim = Simulation::new(nodes, 11, move |_| PingPong::new(config));
    sim.run_until(Duration::from_secs(5)).unwrap();
    let simulated: Vec<(u64, u64)> = sim
        .nodes()
        .map(|(_, n)| (n.replies(), n.pings_received))
        .collect();

    let actual: Vec<(u64, u64)> = actix_rt::System::new().block_on(async move {
        let cluster = Cluster::builder(nodes)
            .seed(11)
            .start(move |_| PingPong::new(config));
        let mut streams: Vec<_> = cluster
            .nodes()
            .iter()
            .map(|h| h.subscribe_from_start().expect("first subscription"))
            .collect();
        for events in &mut streams {
            wait_for(events, &Event::RoundComplete { round: 4 }).await;
        }
        // Only the first caller gets the from-start subscription.
        assert!(cluster.node(NodeId(0)).subscribe_from_start().is_none());
        let mut counts = Vec::new();
        for handle in cluster.nodes() {
            // Every pong is in, but a last ping to this node may still be in
            // flight: wait until every peer's five pings have arrived.
            let mut got = (0, 0);
            for _ in 0..1000 {
                got = handle
                    .inspect(|n| (n.replies(), n.pings_received))
                    .await
                    .unwrap();
                if got.1 == 5 * (nodes as u64 - 1) {
                    break;
                }
                actix_rt::time::sleep(Duration::from_millis(5)).await;
            }
            counts.push(got);
        }
        cluster.stop();
        counts
    });

    assert_eq!(simulated, vec![(15, 15); nodes]);
    assert_eq!(actual, simulated);
}

// A crash drops the node; a restart rebuilds it from its factory.
#[test]
fn crash_and_restart_rebuild_the_node_from_its_factory() {
    actix_rt::System::new().block_on(async {
        let built = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&built);
        let config = PingPongConfig {
            rounds: 1_000_000,
            interval: Duration::from_millis(2),
            closed_loop: false,
        };
        let cluster = Cluster::builder(3).start(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            PingPong::new(config)
        });
        assert_eq!(built.load(Ordering::SeqCst), 3);
        let victim = cluster.node(NodeId(1)).clone();
        let mut events = victim.subscribe();
        wait_for(&mut events, &Event::RoundComplete { round: 3 }).await;
        let before = victim.inspect(|n| n.pings_received).await.unwrap();
        assert!(before >= 4, "{before}");

        victim.crash();
        assert!(!victim.is_up());
        assert_eq!(
            victim.request(dsys::core::ping_pong::Request::PingNow),
            Err(RuntimeError::NodeDown(NodeId(1)))
        );
        assert!(matches!(
            victim.inspect(|n| n.pings_received).await,
            Err(RuntimeError::NodeDown(_))
        ));

        victim.restart();
        assert_eq!(
            built.load(Ordering::SeqCst),
            4,
            "the factory built it again"
        );
        assert_eq!(victim.incarnation(), 1);
        assert!(victim.is_up());
        // A fresh node starts again from round 0: only the new incarnation
        // can emit RoundComplete { round: 0 } now (the old one was past it).
        wait_for(&mut events, &Event::RoundComplete { round: 0 }).await;
        victim
            .request(dsys::core::ping_pong::Request::PingNow)
            .unwrap();
        cluster.stop();
    });
}

// The failure detector in the actix runtime: a crashed node is suspected by
// the others, over LocalTransport.
#[test]
fn failure_detector_suspects_a_crashed_actor() {
    actix_rt::System::new().block_on(async {
        let config = HeartbeatConfig {
            period: Duration::from_millis(10),
            timeout: Duration::from_millis(100),
            ..HeartbeatConfig::default()
        };
        let cluster = Cluster::builder(3).start(move |_| Heartbeat::new(config));
        let mut watchers: Vec<_> = [NodeId(0), NodeId(1)]
            .iter()
            .map(|&id| cluster.node(id).subscribe())
            .collect();
        actix_rt::time::sleep(Duration::from_millis(50)).await;
        cluster.node(NodeId(2)).crash();
        for events in &mut watchers {
            wait_for(events, &Change::Suspect(NodeId(2))).await;
        }
        assert!(cluster.transport_stats().dropped_no_inbox > 0);
        cluster.stop();
    });
}

// FaultyTransport: a partition switched on at run time makes the sides
// suspect each other; switched off, they trust each other again. Loss is
// injected and counted.
#[test]
fn faulty_transport_partitions_and_heals_at_run_time() {
    actix_rt::System::new().block_on(async {
        let config = HeartbeatConfig {
            period: Duration::from_millis(10),
            timeout: Duration::from_millis(100),
            ..HeartbeatConfig::default()
        };
        let local: Arc<dyn Transport<_>> = Arc::new(LocalTransport::new());
        let faulty = Arc::new(
            FaultyTransport::new(
                local,
                FaultConfig {
                    loss: 0.1,
                    duplicate: 0.1,
                    delay: Some(dsys::core::sim::Latency::uniform_ms(0, 2)),
                },
                5,
            )
            .expect("a valid fault configuration"),
        );
        let transport: Arc<dyn Transport<_>> = faulty.clone();
        let cluster = Cluster::builder(3)
            .transport(transport)
            .start(move |_| Heartbeat::new(config));
        let mut events = cluster.node(NodeId(0)).subscribe();
        actix_rt::time::sleep(Duration::from_millis(50)).await;
        faulty.partition(&[NodeId(0)], &[NodeId(1), NodeId(2)]);
        wait_for(&mut events, &Change::Suspect(NodeId(1))).await;
        faulty.heal();
        wait_for(&mut events, &Change::Trust(NodeId(1))).await;
        let stats = cluster.transport_stats();
        assert!(stats.dropped_fault > 0, "{stats:?}");
        assert!(stats.duplicated > 0, "{stats:?}");
        assert!(stats.delivered > 0, "{stats:?}");
        cluster.stop();
    });
}
