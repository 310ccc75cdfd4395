use super::*;
use crate::scenario::{NodeAt, PartitionSpec};

fn options() -> SimOptions {
    SimOptions {
        nodes: 4,
        loss: 0.1,
        duplicate: 0.2,
        reorder: true,
        partitions: vec!["0,1|2,3@100..200".parse::<PartitionSpec>().unwrap()],
        crashes: vec![
            "3@50".parse::<NodeAt>().unwrap(),
            "1@300".parse::<NodeAt>().unwrap(),
        ],
        restarts: vec!["3@80".parse::<NodeAt>().unwrap()],
        ..SimOptions::default()
    }
}

fn whats(options: &SimOptions) -> Vec<String> {
    reductions(options)
        .into_iter()
        .map(|(what, _)| what)
        .collect()
}

#[test]
fn reductions_try_fewer_nodes_then_fewer_faults_then_a_tamer_network() {
    assert_eq!(
        whats(&options()),
        vec![
            "nodes 4 → 1",
            "nodes 4 → 2",
            "nodes 4 → 3",
            "without --partition '0,1|2,3@100..200'",
            "without --crash 3@50 and --restart 3@80",
            "without --crash 1@300",
            "without --restart 3@80",
            "loss 0.1 → 0",
            "dup 0.2 → 0",
            "FIFO links instead of --reorder",
            "latency 1..10 ms → 1..1 ms",
        ]
    );
    assert!(whats(&SimOptions {
        nodes: 1,
        ..SimOptions::default()
    })
    .iter()
    .all(|w| w.starts_with("latency")));
}

#[test]
fn fewer_nodes_take_their_faults_with_them() {
    let all = reductions(&options());
    let two = &all[1].1;
    assert_eq!(two.nodes, 2);
    assert_eq!(two.crashes, vec!["1@300".parse::<NodeAt>().unwrap()]);
    assert!(two.restarts.is_empty());
    assert!(two.partitions.is_empty(), "a side with no node left goes");
    let three = &all[2].1;
    assert_eq!(
        three.partitions,
        vec!["0,1|2@100..200".parse::<PartitionSpec>().unwrap()],
        "each side keeps its nodes that are left"
    );
    assert_eq!(three.restarts.len(), 0, "n3's crash and restart went");
    // Every reduction changes something and stays valid.
    for (what, candidate) in &all {
        assert_ne!(candidate, &options(), "{what}");
        assert!(candidate.validate().is_ok(), "{what}");
    }
    // A restart left without its crash is invalid: such candidates are
    // skipped, not run.
    let mut orphan = options();
    orphan.crashes.remove(0);
    assert!(orphan.validate().is_err());
}
