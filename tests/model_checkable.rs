//! Every node type dsys ships is model-checkable: `Clone + Eq + Hash +
//! Debug`, and so are its messages and timers (DESIGN.md, "Model
//! checking"). A model checker explores states and deduplicates them by
//! hash; a node type without these cannot be explored. This test fails to
//! compile when a node type loses one of them, and checks at run time that
//! equal states hash equal and that state moves with the events.

use std::collections::hash_map::DefaultHasher;
use std::fmt::Debug;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use dsys::clocks::lamport::LamportClock;
use dsys::clocks::snapshot::{bank::Bank as SnapshotBank, Snapshotting};
use dsys::clocks::stamped::{Chatter, Stamped};
use dsys::clocks::vector::VectorClock;
use dsys::clocks::{berkeley::Berkeley, cristian::Cristian, ntp::Ntp};
use dsys::consensus::byzantine_generals::General;
use dsys::consensus::dolev_strong::DolevStrong;
use dsys::consensus::multi_paxos::MultiPaxos;
use dsys::consensus::paxos::Paxos;
use dsys::consensus::raft::service::{RaftClient, RaftService};
use dsys::consensus::raft::{Counter, MemStorage, Raft};
use dsys::core::failure_detector::Heartbeat;
use dsys::core::ping_pong::{PingPong, PingPongConfig};
use dsys::core::testing::Harness;
use dsys::core::{Node, NodeId};
use dsys::election::{bully::Bully, ring::Ring};
use dsys::mutex::{
    central_server::CentralServer, maekawa::Maekawa, ricart_agrawala::RicartAgrawala,
    token_ring::TokenRing,
};
use dsys::net::reliable::{Numbers, Reliable};
use dsys::net::rpc::{bank::Bank as RpcBank, RpcNode};

/// What a model checker needs of a node: its state, messages and timers
/// can be copied, compared and hashed, and printed in a counterexample.
fn model_checkable<N>()
where
    N: Node + Clone + Eq + Hash + Debug,
    N::Msg: Eq + Hash,
{
}

#[test]
fn every_node_type_is_clone_eq_hash_debug() {
    model_checkable::<PingPong>();
    model_checkable::<Heartbeat>();
    model_checkable::<Cristian>();
    model_checkable::<Berkeley>();
    model_checkable::<Ntp>();
    model_checkable::<Chatter>();
    model_checkable::<Stamped<Chatter, LamportClock>>();
    model_checkable::<Stamped<Chatter, VectorClock>>();
    model_checkable::<Snapshotting<SnapshotBank>>();
    model_checkable::<CentralServer>();
    model_checkable::<TokenRing>();
    model_checkable::<RicartAgrawala>();
    model_checkable::<Maekawa>();
    model_checkable::<Ring>();
    model_checkable::<Bully>();
    model_checkable::<Reliable<Numbers>>();
    model_checkable::<RpcNode<RpcBank>>();
    // Raft's storage handle is left out of equality: it mirrors term, vote,
    // log and snapshot, which are compared (see Raft's PartialEq).
    model_checkable::<Raft<Counter, MemStorage<u64>>>();
    model_checkable::<RaftService<Counter, MemStorage<u64>>>();
    model_checkable::<RaftClient<u64, u64>>();
    model_checkable::<General>();
    // Its signing key compares and hashes by its public half.
    model_checkable::<DolevStrong>();
    model_checkable::<Paxos<u64>>();
    model_checkable::<MultiPaxos<Counter>>();
}

fn hash_of<T: Hash>(value: &T) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

#[test]
fn equal_states_hash_equal_and_an_event_tells_them_apart() {
    let config = PingPongConfig::default();
    let mut a = Harness::new(PingPong::new(config), NodeId(0), 3);
    let mut b = Harness::new(PingPong::new(config), NodeId(0), 3);
    a.start();
    b.start();
    assert_eq!(a.node(), b.node());
    assert_eq!(hash_of(a.node()), hash_of(b.node()));
    a.set_now(Duration::from_millis(5));
    a.message(NodeId(1), dsys::core::ping_pong::Msg::Pong { round: 0 });
    assert_ne!(a.node(), b.node(), "a pong must change the state");
}
