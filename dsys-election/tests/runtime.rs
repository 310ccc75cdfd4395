//! The bully algorithm as actix actors over `LocalTransport`: the same node
//! as in the simulator elects the highest id, then the next one after the
//! leader crashes; E1 is checked on the events each node reports.
//!
//! Timeouts here only guard against hangs, and the election timeouts are
//! generous so that a loaded machine does not break bully's timing
//! assumption; nothing is asserted about speed.

use std::sync::Arc;
use std::time::Duration;

use dsys_core::failure_detector::HeartbeatConfig;
use dsys_core::runtime::{Cluster, Events, LocalTransport};
use dsys_core::NodeId;
use dsys_election::bully::{Bully, BullyConfig};
use dsys_election::{ElectionEvent, Elector};

const HANG_GUARD: Duration = Duration::from_secs(30);

/// Reads `events` until `Elected(expected)`; E1 on the way: no other leader
/// is ever reported.
async fn expect_leader(node: NodeId, events: &mut Events<ElectionEvent>, expected: NodeId) {
    loop {
        match events.next_within(HANG_GUARD).await {
            Some(Ok(ElectionEvent::Elected(leader))) if leader == expected => return,
            Some(Ok(ElectionEvent::Elected(other))) => {
                panic!("E1: {node} reported {other} as leader, expected {expected}")
            }
            Some(Ok(ElectionEvent::Started)) => {}
            Some(Err(e)) => panic!("{node}'s event stream failed: {e}"),
            None => panic!("{node} reported no leader within {HANG_GUARD:?}"),
        }
    }
}

/// Polls the nodes until the first `n` hold `leader` (a hang guard, not a
/// speed assertion).
async fn wait_until_all_hold(cluster: &Cluster<Bully>, n: usize, leader: NodeId) {
    let deadline = std::time::Instant::now() + HANG_GUARD;
    loop {
        let mut all = true;
        for id in 0..n as u32 {
            let held = cluster.node(NodeId(id)).inspect(Elector::leader).await;
            all &= held == Ok(Some(leader));
        }
        if all {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not every node held {leader} within {HANG_GUARD:?}"
        );
        actix_rt::time::sleep(Duration::from_millis(10)).await;
    }
}

/// E1 on the events already emitted: every leader reported is `leader`.
/// (An event is in the stream before `inspect` can see its state.)
async fn check_buffered(node: NodeId, events: &mut Events<ElectionEvent>, leader: NodeId) {
    while let Some(event) = events.next_within(Duration::from_millis(1)).await {
        match event {
            Ok(ElectionEvent::Elected(other)) if other != leader => {
                panic!("E1: {node} reported {other} as leader, expected {leader}")
            }
            Ok(_) => {}
            Err(e) => panic!("{node}'s event stream failed: {e}"),
        }
    }
}

#[test]
fn bully_elects_the_highest_then_the_next_after_a_crash_in_actix() {
    let config = BullyConfig {
        heartbeat: HeartbeatConfig {
            period: Duration::from_millis(50),
            timeout: Duration::from_millis(1000),
            ..HeartbeatConfig::default()
        },
        detection_stagger: Duration::from_millis(500),
        answer_timeout: Duration::from_millis(500),
        coordinator_timeout: Duration::from_millis(2000),
        ..BullyConfig::default()
    };
    actix_rt::System::new().block_on(async move {
        let n = 5;
        let cluster = Cluster::builder(n)
            .seed(3)
            .transport(Arc::new(LocalTransport::new()))
            .start(move |_| Bully::new(config).expect("valid configuration"));
        let mut streams: Vec<_> = cluster.nodes().iter().map(|h| h.subscribe()).collect();
        // The actors run on their own threads and may decide before we
        // subscribe: wait on their state, then check every event we got.
        wait_until_all_hold(&cluster, n, NodeId(4)).await;
        for (i, events) in streams.iter_mut().enumerate() {
            check_buffered(NodeId(i as u32), events, NodeId(4)).await;
        }

        // Let stragglers of the first election finish (not needed for
        // correctness: a crash mid-election is handled by the timeouts), so
        // that the crash is usually found by the heartbeat detector.
        actix_rt::time::sleep(Duration::from_millis(200)).await;
        cluster.node(NodeId(4)).crash();
        for (i, events) in streams.iter_mut().enumerate().take(4) {
            expect_leader(NodeId(i as u32), events, NodeId(3)).await;
        }
        for id in 0..4 {
            let leader = cluster
                .node(NodeId(id))
                .inspect(Elector::leader)
                .await
                .unwrap();
            assert_eq!(leader, Some(NodeId(3)));
        }
        cluster.stop();
    });
}
