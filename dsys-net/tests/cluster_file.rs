//! Cluster files: a good one loads and gives each node its configuration;
//! each kind of mistake gets an error that says what to fix.

use std::sync::LazyLock;

use dsys_core::NodeId;
use dsys_net::{ClusterFile, Error, NodeKey};

fn key(id: u32) -> NodeKey {
    NodeKey::from_private([id as u8 + 1; 32])
}

/// Nodes 1, 0, 2 (in that order), each with its public key; node 1's
/// private key is in `keys/n1.key`.
static GOOD: LazyLock<String> = LazyLock::new(|| {
    format!(
        r#"
name = "demo"
secret = "s3cret, sixteen bytes or more"

[[node]]
id = 1
addr = "127.0.0.1:7001"
data_dir = "data/n1"
public_key = "{}"
key_file = "keys/n1.key"

[[node]]
id = 0
addr = "127.0.0.1:7000"
data_dir = "data/n0"
public_key = "{}"

[[node]]
id = 2
addr = "[::1]:7002"
data_dir = "/var/lib/n2"
public_key = "{}"
"#,
        key(1).public(),
        key(0).public(),
        key(2).public()
    )
});

/// `text` written as DIR/cluster.toml, with node 1's key file.
fn cluster_dir(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    key(1).save(dir.path().join("keys/n1.key")).unwrap();
    std::fs::write(dir.path().join("cluster.toml"), text).unwrap();
    dir
}

fn problem(text: &str) -> String {
    match ClusterFile::parse(text) {
        Err(Error::ClusterFile { problem, .. }) => problem,
        other => panic!("expected a cluster file error, got {other:?}"),
    }
}

#[test]
fn a_good_file_loads_and_gives_each_node_its_config() {
    let dir = cluster_dir(&GOOD);
    let cluster = ClusterFile::load(dir.path().join("cluster.toml")).unwrap();
    assert_eq!(cluster.name, "demo");
    assert_eq!(cluster.secret, b"s3cret, sixteen bytes or more");
    assert_eq!(
        cluster.nodes.iter().map(|n| n.id).collect::<Vec<_>>(),
        [NodeId(0), NodeId(1), NodeId(2)]
    );
    // Relative paths are relative to the cluster file's directory.
    let n1 = cluster.node(NodeId(1)).unwrap();
    assert_eq!(n1.data_dir, dir.path().join("data/n1"));
    assert_eq!(n1.key_file, Some(dir.path().join("keys/n1.key")));
    assert_eq!(n1.public_key, key(1).public());
    assert_eq!(
        cluster.node(NodeId(2)).unwrap().data_dir,
        std::path::Path::new("/var/lib/n2")
    );

    let config = cluster.to_tcp_config(NodeId(1)).unwrap();
    config.validate().unwrap();
    assert_eq!(config.cluster, "demo");
    assert_eq!(
        config.local.keys().copied().collect::<Vec<_>>(),
        [NodeId(1)]
    );
    assert_eq!(config.local[&NodeId(1)], key(1));
    assert_eq!(config.listen, "127.0.0.1:7001".parse().unwrap());
    assert_eq!(
        config.peers.keys().copied().collect::<Vec<_>>(),
        [NodeId(0), NodeId(2)]
    );
    assert_eq!(config.peers[&NodeId(2)].addr, "[::1]:7002".parse().unwrap());
    assert_eq!(config.peers[&NodeId(2)].key, key(2).public());
    assert!(
        !format!("{cluster:?}{config:?}").contains("s3cret"),
        "secrets are redacted"
    );

    // Node 0 has no key file; node 1's key file with node 2's key is refused.
    let p = cluster.to_tcp_config(NodeId(0)).unwrap_err().to_string();
    assert!(
        p.contains("n0 has no `key_file`") && p.contains("keygen"),
        "{p}"
    );
    let p = cluster
        .to_tcp_config_with_key(NodeId(1), key(2))
        .unwrap_err()
        .to_string();
    assert!(p.contains("is not n1's"), "{p}");

    let udp = cluster.to_udp_config(NodeId(1)).unwrap();
    assert_eq!(udp.peers.len(), 2);
    assert_eq!(udp.peers[&NodeId(0)].key, key(0).public());
    assert!(cluster
        .to_tcp_config(NodeId(3))
        .unwrap_err()
        .to_string()
        .contains("not in cluster"));
}

const SECRET_LINE: &str = "secret = \"s3cret, sixteen bytes or more\"";

#[test]
fn public_keys_are_required_distinct_and_well_formed() {
    let missing = GOOD.replacen("public_key", "# public_key", 1);
    let p = problem(&missing);
    assert!(
        p.contains("node 1 has no `public_key`") && p.contains("keygen"),
        "{p}"
    );
    let twice = GOOD.replace(&key(2).public().to_string(), &key(0).public().to_string());
    assert!(problem(&twice).contains("0 and 2 have the same `public_key`"));
    let short = GOOD.replace(&key(2).public().to_string(), "abcd");
    let p = problem(&short);
    assert!(
        p.contains("node 2: bad `public_key`") && p.contains("64 hex"),
        "{p}"
    );
}

#[test]
fn the_secret_can_come_from_the_environment() {
    // Cargo sets CARGO_MANIFEST_DIR for the tests it runs: setting a
    // variable here would race the other tests' reads of the environment.
    let text = GOOD.replace(SECRET_LINE, "secret_env = \"CARGO_MANIFEST_DIR\"");
    assert_eq!(
        ClusterFile::parse(&text).unwrap().secret,
        env!("CARGO_MANIFEST_DIR").as_bytes()
    );

    let text = GOOD.replace(SECRET_LINE, "secret_env = \"DSYS_TEST_UNSET_VARIABLE\"");
    let p = problem(&text);
    assert!(
        p.contains("DSYS_TEST_UNSET_VARIABLE") && p.contains("not set"),
        "{p}"
    );
}

#[test]
fn exactly_one_secret_is_required() {
    let both = GOOD.replace(SECRET_LINE, "secret = \"a\"\nsecret_env = \"B\"");
    assert!(problem(&both).contains("both"));
    let neither = GOOD.replace(SECRET_LINE, "");
    assert!(problem(&neither).contains("no secret"));
    let short = GOOD.replace(SECRET_LINE, "secret = \"fifteen bytes..\"");
    assert!(problem(&short).contains("15 bytes, fewer than 16"));
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
    let p = problem(&GOOD.replace("127.0.0.1:7001", "127.0.0.1:0"));
    assert!(p.contains("node 1") && p.contains("port 0"), "{p}");
    let p = problem(&GOOD.replace("127.0.0.1:7001", "0.0.0.0:7001"));
    assert!(
        p.contains("node 1") && p.contains("no address to dial"),
        "{p}"
    );
    let p = problem(&GOOD.replace("[::1]:7002", "[::]:7002"));
    assert!(
        p.contains("node 2") && p.contains("no address to dial"),
        "{p}"
    );
}

#[test]
fn syntax_errors_and_typos_are_reported() {
    let p = problem(&GOOD.replace("data_dir = \"data/n1\"", "data_dri = \"data/n1\""));
    assert!(p.contains("data_dri"), "{p}");
    let p = problem("name = ");
    assert!(p.contains("not a valid cluster file"), "{p}");
    assert!(problem("name = \"x\"\nsecret = \"sixteen bytes, yes\"").contains("no nodes"));
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

fn client(id: u32, addr: &str) -> String {
    format!(
        "{}\n[[client]]\nid = {id}\naddr = \"{addr}\"\npublic_key = \"{}\"\n",
        *GOOD,
        key(3).public()
    )
}

#[test]
fn clients_follow_the_nodes_and_are_everyones_peers() {
    let cluster = ClusterFile::parse(&client(3, "127.0.0.1:7100")).unwrap();
    assert_eq!(cluster.clients.len(), 1);
    // A node knows the client's address (it answers there) and key …
    let node = cluster.to_tcp_config_with_key(NodeId(0), key(0)).unwrap();
    assert_eq!(
        node.peers.get(&NodeId(3)).map(|p| p.addr),
        Some("127.0.0.1:7100".parse().unwrap())
    );
    assert_eq!(node.peers[&NodeId(3)].key, key(3).public());
    // … and the client listens there and knows every node.
    let client_config = cluster.to_tcp_config_with_key(NodeId(3), key(3)).unwrap();
    assert_eq!(client_config.listen, "127.0.0.1:7100".parse().unwrap());
    assert_eq!(client_config.peers.len(), 3);
    // Client ids must follow the nodes' without a gap, on addresses of their own.
    let gap = client(5, "127.0.0.1:7100");
    assert!(
        problem(&gap).contains("follow the nodes"),
        "{}",
        problem(&gap)
    );
    let shared = client(3, "127.0.0.1:7000");
    assert!(
        problem(&shared).contains("same address"),
        "{}",
        problem(&shared)
    );
    assert!(cluster
        .to_tcp_config(NodeId(4))
        .unwrap_err()
        .to_string()
        .contains("not in cluster"));
}

#[test]
fn a_node_may_name_its_http_address_and_a_bad_or_shared_one_is_refused() {
    let with_http = GOOD.replace(
        "key_file = \"keys/n1.key\"",
        "key_file = \"keys/n1.key\"\nhttp = \"127.0.0.1:8001\"",
    );
    let cluster = ClusterFile::parse(&with_http).unwrap();
    assert_eq!(
        cluster.node(NodeId(1)).unwrap().http,
        Some("127.0.0.1:8001".parse().unwrap())
    );
    assert_eq!(cluster.node(NodeId(0)).unwrap().http, None);

    let bad = GOOD.replace(
        "key_file = \"keys/n1.key\"",
        "key_file = \"keys/n1.key\"\nhttp = \"nowhere\"",
    );
    assert!(
        problem(&bad).contains("cannot use http = \"nowhere\""),
        "{}",
        problem(&bad)
    );
    let shared = GOOD.replace(
        "key_file = \"keys/n1.key\"",
        "key_file = \"keys/n1.key\"\nhttp = \"127.0.0.1:7000\"",
    );
    // Node 1 comes first in the file: node 0's addr then finds it taken.
    assert!(
        problem(&shared).contains("same address 127.0.0.1:7000"),
        "{}",
        problem(&shared)
    );
    let twice = GOOD.replace(
        "data_dir = \"data/n0\"",
        "data_dir = \"data/n0\"\nhttp = \"127.0.0.1:7001\"",
    );
    assert!(
        problem(&twice).contains("already node 1's"),
        "{}",
        problem(&twice)
    );
}

// ----- mutation-testing gaps (issue #19): each test pins one outcome --------

// Client ids follow the nodes' one after the other: with nodes 0..3, two
// clients are 3 and 4 (the second is nodes + 1, not nodes - 1), and a gap
// is refused naming the range expected.
#[test]
fn two_clients_take_the_ids_after_the_nodes() {
    let two = format!(
        "{}\n[[client]]\nid = 4\naddr = \"127.0.0.1:7101\"\npublic_key = \"{}\"\n",
        client(3, "127.0.0.1:7100"),
        key(4).public()
    );
    let cluster = ClusterFile::parse(&two).unwrap();
    assert_eq!(
        cluster.clients.iter().map(|c| c.id).collect::<Vec<_>>(),
        [NodeId(3), NodeId(4)]
    );
    let p = problem(&client(5, "127.0.0.1:7100"));
    assert!(p.contains("(3..4), but found 5"), "{p}");
}

// The Debug form shows what is loaded, with the secret's length in place
// of the secret.
#[test]
fn the_debug_form_shows_the_file_with_the_secret_redacted() {
    let cluster = ClusterFile::parse(&GOOD).unwrap();
    let debug = format!("{cluster:?}");
    assert!(
        debug.starts_with("ClusterFile")
            && debug.contains("\"demo\"")
            && debug.contains("<29 bytes, redacted>")
            && debug.contains("127.0.0.1:7001"),
        "{debug}"
    );
    assert!(!debug.contains("s3cret"), "{debug}");
}
