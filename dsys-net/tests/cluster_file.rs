//! Cluster files: a good one loads and gives each node its configuration;
//! each kind of mistake gets an error that says what to fix.

use std::io::Write;

use dsys_core::NodeId;
use dsys_net::{ClusterFile, Error};

const GOOD: &str = r#"
name = "demo"
secret = "s3cret"

[[node]]
id = 1
addr = "127.0.0.1:7001"
data_dir = "data/n1"

[[node]]
id = 0
addr = "127.0.0.1:7000"
data_dir = "data/n0"

[[node]]
id = 2
addr = "[::1]:7002"
data_dir = "data/n2"
"#;

fn problem(text: &str) -> String {
    match ClusterFile::parse(text) {
        Err(Error::ClusterFile { problem, .. }) => problem,
        other => panic!("expected a cluster file error, got {other:?}"),
    }
}

#[test]
fn a_good_file_loads_and_gives_each_node_its_config() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(GOOD.as_bytes()).unwrap();
    let cluster = ClusterFile::load(file.path()).unwrap();
    assert_eq!(cluster.name, "demo");
    assert_eq!(cluster.secret, b"s3cret");
    assert_eq!(
        cluster.nodes.iter().map(|n| n.id).collect::<Vec<_>>(),
        [NodeId(0), NodeId(1), NodeId(2)]
    );
    assert_eq!(
        cluster.node(NodeId(2)).unwrap().data_dir,
        std::path::Path::new("data/n2")
    );

    let config = cluster.to_tcp_config(NodeId(1)).unwrap();
    config.validate().unwrap();
    assert_eq!(config.cluster, "demo");
    assert_eq!(config.local, [NodeId(1)]);
    assert_eq!(config.listen, "127.0.0.1:7001".parse().unwrap());
    assert_eq!(
        config.peers.keys().copied().collect::<Vec<_>>(),
        [NodeId(0), NodeId(2)]
    );
    assert_eq!(config.peers[&NodeId(2)], "[::1]:7002".parse().unwrap());
    assert!(
        !format!("{cluster:?}{config:?}").contains("s3cret"),
        "secrets are redacted"
    );

    let udp = cluster.to_udp_config(NodeId(0)).unwrap();
    assert_eq!(udp.peers.len(), 2);
    assert!(cluster
        .to_tcp_config(NodeId(3))
        .unwrap_err()
        .to_string()
        .contains("not in cluster"));
}

#[test]
fn the_secret_can_come_from_the_environment() {
    std::env::set_var("DSYS_TEST_CLUSTER_SECRET", "from-env");
    let text = GOOD.replace(
        "secret = \"s3cret\"",
        "secret_env = \"DSYS_TEST_CLUSTER_SECRET\"",
    );
    assert_eq!(ClusterFile::parse(&text).unwrap().secret, b"from-env");

    let text = GOOD.replace(
        "secret = \"s3cret\"",
        "secret_env = \"DSYS_TEST_UNSET_VARIABLE\"",
    );
    let p = problem(&text);
    assert!(
        p.contains("DSYS_TEST_UNSET_VARIABLE") && p.contains("not set"),
        "{p}"
    );
}

#[test]
fn exactly_one_secret_is_required() {
    let both = GOOD.replace("secret = \"s3cret\"", "secret = \"a\"\nsecret_env = \"B\"");
    assert!(problem(&both).contains("both"));
    let neither = GOOD.replace("secret = \"s3cret\"", "");
    assert!(problem(&neither).contains("no secret"));
    let empty = GOOD.replace("secret = \"s3cret\"", "secret = \"\"");
    assert!(problem(&empty).contains("empty"));
}

#[test]
fn duplicate_ids_and_addresses_are_refused() {
    let dup = GOOD.replace("id = 2", "id = 1");
    assert!(
        problem(&dup).contains("node id 1 appears twice"),
        "{}",
        problem(&dup)
    );
    let dup = GOOD.replace("127.0.0.1:7001", "127.0.0.1:7000");
    assert!(problem(&dup).contains("same address"));
}

#[test]
fn ids_must_be_zero_to_n() {
    let gap = GOOD.replace("id = 2", "id = 5");
    let p = problem(&gap);
    assert!(p.contains("0..3") && p.contains("2 is missing"), "{p}");
}

#[test]
fn unparsable_addresses_are_refused() {
    let p = problem(&GOOD.replace("127.0.0.1:7001", "127.0.0.1"));
    assert!(p.contains("node 1") && p.contains("port is missing"), "{p}");
    let p = problem(&GOOD.replace("127.0.0.1:7001", "no such host.invalid:7001"));
    assert!(p.contains("node 1") && p.contains("host:port"), "{p}");
}

#[test]
fn syntax_errors_and_typos_are_reported() {
    let p = problem(&GOOD.replace("data_dir = \"data/n1\"", "data_dri = \"data/n1\""));
    assert!(p.contains("data_dri"), "{p}");
    let p = problem("name = ");
    assert!(p.contains("not a valid cluster file"), "{p}");
    assert!(problem("name = \"x\"\nsecret = \"y\"").contains("no nodes"));
}

#[test]
fn a_missing_file_is_reported_with_its_path() {
    let err = ClusterFile::load("/nonexistent/cluster.toml").unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("/nonexistent/cluster.toml") && text.contains("cannot read"),
        "{text}"
    );
}

#[test]
fn clients_follow_the_nodes_and_are_everyones_peers() {
    let text = format!("{GOOD}\n[[client]]\nid = 3\naddr = \"127.0.0.1:7100\"\n");
    let cluster = ClusterFile::parse(&text).unwrap();
    assert_eq!(cluster.clients.len(), 1);
    // A node knows the client's address (it answers there) …
    let node = cluster.to_tcp_config(NodeId(0)).unwrap();
    assert_eq!(
        node.peers.get(&NodeId(3)),
        Some(&"127.0.0.1:7100".parse().unwrap())
    );
    // … and the client listens there and knows every node.
    let client = cluster.to_tcp_config(NodeId(3)).unwrap();
    assert_eq!(client.listen, "127.0.0.1:7100".parse().unwrap());
    assert_eq!(client.peers.len(), 3);
    // Client ids must follow the nodes' without a gap, on addresses of their own.
    let gap = format!("{GOOD}\n[[client]]\nid = 5\naddr = \"127.0.0.1:7100\"\n");
    assert!(
        problem(&gap).contains("follow the nodes"),
        "{}",
        problem(&gap)
    );
    let shared = format!("{GOOD}\n[[client]]\nid = 3\naddr = \"127.0.0.1:7000\"\n");
    assert!(
        problem(&shared).contains("same address"),
        "{}",
        problem(&shared)
    );
    assert!(cluster.to_tcp_config(NodeId(4)).is_err());
}
