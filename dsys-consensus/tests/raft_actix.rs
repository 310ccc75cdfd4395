//! Raft on the actix runtime with the file-backed log: acknowledged commands
//! survive a node killed without shutdown — and the whole cluster killed —
//! because every server restarts from its data directory.
//!
//! Waits here are bounds on how long to wait for a condition, never the
//! verdict: the test is correct however fast or slow the machine is.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use dsys_consensus::raft::{
    Counter, FileStorage, LogIndex, Payload, Raft, RaftConfig, RaftEvent, RaftRequest, Role,
};
use dsys_core::runtime::{Cluster, Events};
use dsys_core::NodeId;

type Server = Raft<Counter, FileStorage<u64>>;

/// How long any one condition may take before the test gives up.
const PATIENCE: Duration = Duration::from_secs(20);

fn start(dirs: Vec<PathBuf>) -> Cluster<Server> {
    Cluster::builder(3)
        .arbiters(1)
        .event_capacity(1 << 14)
        .start(move |id: NodeId| {
            let storage = open(&dirs[id.index()]);
            Raft::new(RaftConfig::default(), storage, Counter::default())
                .expect("the stored state loads")
        })
}

/// Opens a server's directory. A crashed incarnation's actor is dropped by
/// its arbiter a moment after the crash, and holds the directory's lock
/// until then (as a dying process would): wait for it, as a restarting
/// machine would wait for the old process to be gone.
fn open(dir: &PathBuf) -> FileStorage<u64> {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        match FileStorage::open(dir) {
            Ok(storage) => return storage,
            Err(dsys_consensus::Error::Locked(_)) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("the data directory {} does not open: {e}", dir.display()),
        }
    }
}

async fn leader(cluster: &Cluster<Server>) -> NodeId {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        for node in cluster.nodes() {
            if let Ok(true) = node.inspect(|n| n.role() == Role::Leader).await {
                return node.id();
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no leader within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Proposes `count` commands (ids from `first`) and returns the indexes the
/// leader acknowledged as applied.
async fn propose(cluster: &Cluster<Server>, first: u64, count: u64) -> BTreeSet<LogIndex> {
    let mut acked = BTreeSet::new();
    while (acked.len() as u64) < count {
        let leader = leader(cluster).await;
        let handle = cluster.node(leader);
        let mut events: Events<RaftEvent<u64>> = handle.subscribe();
        let pending: Vec<u64> = (first..first + count).skip(acked.len()).collect();
        for &id in &pending {
            let _ = handle.request(RaftRequest::Propose {
                id: id.into(),
                command: 1,
                session: None,
            });
        }
        let mut answered = 0;
        while answered < pending.len() {
            match events.next_within(PATIENCE).await {
                Some(Ok(RaftEvent::Applied { index, .. })) => {
                    acked.insert(index);
                    answered += 1;
                }
                Some(Ok(RaftEvent::Rejected { .. })) => answered += 1,
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("event stream: {e}"),
                None => panic!("no answer within {PATIENCE:?}"),
            }
        }
    }
    acked
}

/// Every server's log (or snapshot) holds every acknowledged index, with a
/// command in it.
async fn assert_everyone_holds(cluster: &Cluster<Server>, acked: &BTreeSet<LogIndex>) {
    let highest = *acked.iter().max().expect("something was acknowledged");
    for node in cluster.nodes() {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let acked = acked.clone();
            let missing = node
                .inspect(move |n| {
                    acked
                        .iter()
                        .filter(|&&i| {
                            i > n.log().snapshot_index()
                                && !matches!(
                                    n.log().get(i).map(|e| &e.payload),
                                    Some(Payload::Command { .. })
                                )
                        })
                        .count()
                        + usize::from(n.last_applied() < highest)
                })
                .await
                .expect("the node is up");
            if missing == 0 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} lacks acknowledged entries",
                node.id()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[test]
fn acknowledged_commands_survive_kills_with_the_file_backed_log() {
    let root = tempfile::tempdir().unwrap();
    let dirs: Vec<PathBuf> = (0..3).map(|i| root.path().join(format!("n{i}"))).collect();
    actix_rt::System::new().block_on(async move {
        let cluster = start(dirs.clone());
        let mut acked = propose(&cluster, 0, 100).await;

        // Kill the leader: dropped at once, no shutdown, no flush.
        let old = leader(&cluster).await;
        cluster.node(old).crash();
        acked.extend(propose(&cluster, 100, 50).await);
        cluster.node(old).restart();
        assert_everyone_holds(&cluster, &acked).await;

        // Kill everyone. Only what each server wrote to its directory is left.
        for node in cluster.nodes() {
            node.crash();
        }
        cluster.stop();
        drop(cluster);

        let cluster = start(dirs);
        // The new leader commits its no-op, which commits everything before it.
        acked.extend(propose(&cluster, 1000, 10).await);
        assert_everyone_holds(&cluster, &acked).await;
        let values: Vec<u64> = state_values(&cluster).await;
        assert!(
            values.iter().all(|&v| v == values[0]),
            "state machines differ: {values:?}"
        );
        assert!(values[0] >= acked.len() as u64);
        cluster.stop();
    });
}

async fn state_values(cluster: &Cluster<Server>) -> Vec<u64> {
    let mut values = Vec::new();
    for node in cluster.nodes() {
        values.push(node.inspect(|n| n.state_machine().value).await.unwrap());
    }
    values
}
