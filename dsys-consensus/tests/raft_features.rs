//! Raft's features beyond the core algorithm, one simulation test each:
//! client sessions, read-index reads, leadership transfer, membership
//! changes and learners, snapshots and InstallSnapshot, pre-vote and
//! check-quorum, the election liveness bound, and back-pressure.
//!
//! Every run checks the five safety properties (Raft Figure 3) after every
//! simulator event, and every test cites the section of the Raft paper or
//! of Ongaro's dissertation ("D") that it checks. A run is a function of its
//! seed: each scenario prints its seed first, and a failing test shows it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use dsys_consensus::raft::properties::{views, Checkers};
use dsys_consensus::raft::simulation::{cluster, converged, current_leader, SimRaft};
use dsys_consensus::raft::{
    MembershipChange, Payload, RaftConfig, RaftEvent, RaftRequest, Rejection, RequestId, Role,
    Session,
};
use dsys_core::sim::{Latency, LinkConfig, Ordering, Simulation};
use dsys_core::testing::check_seeds;
use dsys_core::NodeId;

type Sim = Simulation<SimRaft>;
type Event = RaftEvent<u64>;

const MS: fn(u64) -> Duration = Duration::from_millis;

const N0: NodeId = NodeId(0);
const N3: NodeId = NodeId(3);
const N4: NodeId = NodeId(4);

// ----- harness -------------------------------------------------------------

/// A cluster of `nodes` over memory storage, with the five safety checkers
/// installed as an invariant: any violation stops the run with an error.
fn simulation(nodes: usize, seed: u64, config: RaftConfig) -> Sim {
    println!("seed {seed}");
    let mut sim = Simulation::new(nodes, seed, cluster(config));
    let mut checkers = Checkers::new();
    sim.invariant("safety", move |s| checkers.check(&views(s)));
    sim
}

/// Runs `sim` until `condition` holds, at most `within` from now; panics
/// (naming `what`) if it does not, or if a safety checker fails.
fn run_until(sim: &mut Sim, within: Duration, what: &str, condition: impl FnMut(&Sim) -> bool) {
    let deadline = sim.now() + within;
    let held = sim
        .run_until_condition(deadline, condition)
        .unwrap_or_else(|e| panic!("seed {}: safety violated: {e}", sim.seed()));
    if !held {
        let states: Vec<String> = sim.nodes().map(|(_, n)| format!("{n:?}")).collect();
        panic!(
            "seed {}: not within {within:?}: {what}\n{}",
            sim.seed(),
            states.join("\n")
        );
    }
}

/// Runs `sim` for `duration`, panicking if a safety checker fails.
fn run_for(sim: &mut Sim, duration: Duration) {
    sim.run_for(duration)
        .unwrap_or_else(|e| panic!("seed {}: safety violated: {e}", sim.seed()));
}

fn node(sim: &Sim, id: NodeId) -> &SimRaft {
    sim.node(id).expect("the node is up")
}

/// Is `id` a leader whose term's first entry is committed, so that it
/// knows the commit index and may serve reads and change the membership?
fn is_ready_leader(sim: &Sim, id: NodeId) -> bool {
    sim.node(id)
        .is_some_and(|n| n.is_leader() && n.log().term_at(n.commit_index()) == Some(n.term()))
}

/// The ready leader among `candidates`, if any.
fn ready_leader_among(sim: &Sim, candidates: &[NodeId]) -> Option<NodeId> {
    candidates
        .iter()
        .copied()
        .filter(|&id| is_ready_leader(sim, id))
        .max_by_key(|&id| node(sim, id).term())
}

/// Waits (at most `within`) for a ready leader among `candidates`.
fn await_leader_among(sim: &mut Sim, candidates: &[NodeId], within: Duration) -> NodeId {
    run_until(sim, within, "a ready leader", |s| {
        ready_leader_among(s, candidates).is_some()
    });
    ready_leader_among(sim, candidates).expect("just waited for it")
}

/// Waits (at most two seconds) for a ready leader anywhere.
fn await_leader(sim: &mut Sim) -> NodeId {
    let all: Vec<NodeId> = sim.ids().collect();
    await_leader_among(sim, &all, MS(2000))
}

fn session(client: u64, seq: u64) -> Option<Session> {
    Some(Session { client, seq })
}

fn propose(sim: &mut Sim, at: NodeId, id: RequestId, command: u64, session: Option<Session>) {
    let request = RaftRequest::Propose {
        id,
        command,
        session,
    };
    sim.request(at, request).expect("a node of the cluster");
}

fn read(sim: &mut Sim, at: NodeId, id: RequestId) {
    sim.request(at, RaftRequest::Read { id, query: () })
        .expect("a node of the cluster");
}

fn change(sim: &mut Sim, at: NodeId, id: RequestId, change: MembershipChange) {
    sim.request(at, RaftRequest::ChangeMembership { id, change })
        .expect("a node of the cluster");
}

fn transfer(sim: &mut Sim, at: NodeId, id: RequestId, to: NodeId) {
    sim.request(at, RaftRequest::TransferLeadership { id, to })
        .expect("a node of the cluster");
}

/// Runs the requests handed over at this instant (and nothing later).
fn settle_now(sim: &mut Sim) {
    run_for(sim, Duration::ZERO);
}

/// The answer `node` gave to request `id`: the last Applied, ReadDone,
/// Rejected or MembershipChanged event that carries it.
fn answer(sim: &Sim, at: NodeId, id: RequestId) -> Option<Event> {
    sim.events(at)
        .iter()
        .rev()
        .find(|e| e.event.answers() == Some(id))
        .map(|e| e.event.clone())
}

/// Every event `at` emitted about request `id`, in order.
fn answers(sim: &Sim, at: NodeId, id: RequestId) -> Vec<Event> {
    sim.events(at)
        .iter()
        .filter(|e| match &e.event {
            RaftEvent::Proposed { id: i, .. } => *i == id,
            event => event.answers() == Some(id),
        })
        .map(|e| e.event.clone())
        .collect()
}

/// Waits (at most `within`) for `at` to answer request `id`, and returns
/// the answer.
fn await_answer(sim: &mut Sim, at: NodeId, id: RequestId, within: Duration) -> Event {
    run_until(sim, within, &format!("{at} answers request {id}"), |s| {
        answer(s, at, id).is_some()
    });
    answer(sim, at, id).expect("just waited for it")
}

/// Proposes `command` at `leader` and waits for it to be applied; returns
/// the state machine's output.
fn commit(
    sim: &mut Sim,
    leader: NodeId,
    id: RequestId,
    command: u64,
    session: Option<Session>,
) -> u64 {
    propose(sim, leader, id, command, session);
    match await_answer(sim, leader, id, MS(1000)) {
        RaftEvent::Applied { output, .. } => output,
        other => panic!("seed {}: request {id} answered {other:?}", sim.seed()),
    }
}

/// Opens a session at `leader` (D §6.3) and returns its id.
fn open_session(sim: &mut Sim, leader: NodeId, id: RequestId) -> u64 {
    sim.request(leader, RaftRequest::OpenSession { id })
        .expect("a node of the cluster");
    match await_answer(sim, leader, id, MS(1000)) {
        RaftEvent::SessionOpened { client, .. } => client,
        other => panic!("seed {}: opening a session answered {other:?}", sim.seed()),
    }
}

fn rejection(event: Event) -> Rejection {
    match event {
        RaftEvent::Rejected { reason, .. } => reason,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn value(sim: &Sim, id: NodeId) -> u64 {
    node(sim, id).state_machine().value
}

fn sent(sim: &Sim, kind: &str) -> u64 {
    sim.metrics().kind(kind).map_or(0, |k| k.sent)
}

fn voters(ids: &[u32]) -> BTreeSet<NodeId> {
    ids.iter().copied().map(NodeId).collect()
}

/// The roles `at` announced from `since` on.
fn roles_since(sim: &Sim, at: NodeId, since: Duration) -> Vec<(Role, u64)> {
    sim.events(at)
        .iter()
        .filter(|e| e.time >= since)
        .filter_map(|e| match e.event {
            RaftEvent::RoleChanged { role, term, .. } => Some((role, term)),
            _ => None,
        })
        .collect()
}

// ----- 1. client sessions ----------------------------------------------------

/// D §6.3 (client sessions, exactly-once): a client opens a session, and
/// the cluster names it; a command retried with the same (client, seq) is
/// applied once and answered with the remembered output — retried at the
/// same leader, and retried at a new leader after the first leader lost
/// its quorum with the command already replicated (where the retry adds no
/// second copy to the log); an older seq is
/// refused, and so is a session never opened; the session table survives
/// a snapshot and a full restart.
fn sessions_scenario(seed: u64) {
    let config = RaftConfig {
        snapshot_threshold: 0, // snapshots only when asked
        ..RaftConfig::default()
    };
    let mut sim = simulation(3, seed, config);
    let leader = await_leader(&mut sim);
    let all: Vec<NodeId> = sim.ids().collect();

    // Opened: named by the index of the entry that opened it.
    let a = open_session(&mut sim, leader, 20);
    assert_eq!(a, node(&sim, leader).log().last_index());
    // Never opened: refused, not applied.
    propose(&mut sim, leader, 21, 100, session(a + 1000, 1));
    assert_eq!(
        rejection(await_answer(&mut sim, leader, 21, MS(1000))),
        Rejection::SessionExpired { client: a + 1000 }
    );

    // The same (a, seq 1) twice: applied once, answered twice alike.
    assert_eq!(commit(&mut sim, leader, 1, 5, session(a, 1)), 5);
    assert_eq!(commit(&mut sim, leader, 2, 5, session(a, 1)), 5);
    assert_eq!(commit(&mut sim, leader, 3, 3, session(a, 2)), 8);
    // An older seq than the latest applied: its answer is gone.
    propose(&mut sim, leader, 4, 100, session(a, 1));
    assert_eq!(
        rejection(await_answer(&mut sim, leader, 4, MS(1000))),
        Rejection::StaleSession
    );
    run_until(&mut sim, MS(1000), "all applied", converged);
    for &n in &all {
        assert_eq!(value(&sim, n), 8, "{n} applied a duplicate");
    }

    // Retry after a leader change: the command reaches both followers, but
    // their answers never reach the leader, which loses its quorum (D §6.2
    // check-quorum) and answers LeadershipLost. The client retries at the
    // new leader, whose log already holds the first copy: the retry waits
    // for that copy (no second one), which commits and is applied once.
    propose(&mut sim, leader, 5, 1, session(a, 3));
    settle_now(&mut sim);
    let followers: Vec<NodeId> = all.iter().copied().filter(|&n| n != leader).collect();
    for &f in &followers {
        sim.cut_link(f, leader).unwrap();
    }
    assert_eq!(
        rejection(await_answer(&mut sim, leader, 5, MS(1000))),
        Rejection::LeadershipLost
    );
    let second = await_leader_among(&mut sim, &followers, MS(2000));
    let copies = |sim: &Sim, n: NodeId| {
        node(sim, n)
            .log()
            .entries()
            .filter(|e| {
                matches!(&e.payload,
                    Payload::Command { session: s, .. } if *s == session(a, 3))
            })
            .count()
    };
    assert_eq!(copies(&sim, second), 1, "the first copy was replicated");
    assert_eq!(commit(&mut sim, second, 6, 1, session(a, 3)), 9);
    assert_eq!(copies(&sim, second), 1, "still one copy in the log …");
    sim.heal();
    run_until(&mut sim, MS(2000), "all applied after healing", converged);
    for &n in &all {
        assert_eq!(value(&sim, n), 9, "… applied once on {n}");
    }

    // Every server snapshots (log now empty), then all crash and restart:
    // the sessions come back from the snapshots alone.
    for &n in &all {
        sim.request(n, RaftRequest::Snapshot).unwrap();
    }
    settle_now(&mut sim);
    for &n in &all {
        let raft = node(&sim, n);
        assert_eq!(raft.snapshot_meta().index, raft.last_applied());
        assert_eq!(raft.log().entries().count(), 0, "{n}: log compacted");
    }
    for &n in &all {
        sim.crash(n).unwrap();
    }
    for &n in &all {
        sim.restart(n).unwrap();
        assert_eq!(value(&sim, n), 9, "{n} restored its snapshot");
    }
    let third = await_leader(&mut sim);
    assert_eq!(commit(&mut sim, third, 7, 1, session(a, 3)), 9);
    propose(&mut sim, third, 8, 1, session(a, 2));
    assert_eq!(
        rejection(await_answer(&mut sim, third, 8, MS(1000))),
        Rejection::StaleSession
    );
    assert_eq!(commit(&mut sim, third, 9, 1, session(a, 4)), 10);
    // Another client's session is independent.
    let b = open_session(&mut sim, third, 22);
    assert_ne!(a, b);
    assert_eq!(commit(&mut sim, third, 10, 1, session(b, 1)), 11);
    run_until(&mut sim, MS(1000), "all applied after restart", converged);
    for &n in &all {
        assert_eq!(value(&sim, n), 11);
    }
}

#[test]
fn sessions_apply_a_retried_command_once_across_leader_change_snapshot_and_restart() {
    for seed in 0..10 {
        sessions_scenario(seed);
    }
}

// ----- 2. read-index ---------------------------------------------------------

/// Every ReadDone (at any node) must reflect every write acknowledged
/// before the read was issued: its output is at least the highest Applied
/// output emitted before the read's issue time (the counter only grows).
fn assert_no_stale_read(sim: &Sim, issued: &BTreeMap<(NodeId, RequestId), Duration>) {
    let acked: Vec<(Duration, u64)> = sim
        .all_events()
        .into_iter()
        .filter_map(|(_, e)| match e.event {
            RaftEvent::Applied { output, .. } => Some((e.time, output)),
            _ => None,
        })
        .collect();
    for (at, e) in sim.all_events() {
        let RaftEvent::ReadDone { id, output } = e.event else {
            continue;
        };
        let since = issued[&(at, id)];
        let newest = acked
            .iter()
            .filter(|(t, _)| *t < since)
            .map(|(_, o)| *o)
            .max()
            .unwrap_or(0);
        assert!(
            output >= newest,
            "seed {}: stale read: {at} answered read {id} (issued at {since:?}) with {output}, \
             but {newest} was acknowledged before",
            sim.seed()
        );
    }
}

/// D §6.4 (read-index): reads on the leader see the latest committed value;
/// a follower refuses with a leader hint; a leader cut off in a minority
/// never answers a read, even after the majority elected a new leader that
/// committed a newer value (and, with check-quorum off, while it still
/// believes it leads).
fn read_index_scenario(seed: u64, config: RaftConfig) {
    let mut sim = simulation(5, seed, config.clone());
    let mut issued = BTreeMap::new();
    let old = await_leader(&mut sim);
    assert_eq!(commit(&mut sim, old, 1, 1, None), 1);
    issued.insert((old, 2), sim.now());
    read(&mut sim, old, 2);
    assert_eq!(
        await_answer(&mut sim, old, 2, MS(500)),
        RaftEvent::ReadDone { id: 2, output: 1 }
    );
    // A follower knows the leader from its heartbeats and names it.
    run_for(&mut sim, MS(100));
    let follower = sim.ids().find(|&n| n != old).unwrap();
    read(&mut sim, follower, 3);
    assert_eq!(
        rejection(await_answer(&mut sim, follower, 3, MS(10))),
        Rejection::NotLeader { leader: Some(old) }
    );

    // The old leader and one follower on one side, three on the other.
    let buddy = sim.ids().find(|&n| n != old && n != follower).unwrap();
    let minority = [old, buddy];
    let majority: Vec<NodeId> = sim.ids().filter(|n| !minority.contains(n)).collect();
    sim.partition(&minority, &majority).unwrap();
    let start = sim.now();
    // A client keeps reading at the old leader every 10 ms for 1.5 s.
    let reads = 150;
    for k in 0..reads {
        let at = start + MS(10 * k);
        issued.insert((old, 1000 + u128::from(k)), at);
        sim.request_at(
            at,
            old,
            RaftRequest::Read {
                id: 1000 + u128::from(k),
                query: (),
            },
        )
        .unwrap();
    }
    let new = await_leader_among(&mut sim, &majority, MS(1200));
    assert_eq!(commit(&mut sim, new, 20, 10, None), 11);
    let committed_at = sim.now();
    issued.insert((new, 21), sim.now());
    read(&mut sim, new, 21);
    assert_eq!(
        await_answer(&mut sim, new, 21, MS(500)),
        RaftEvent::ReadDone { id: 21, output: 11 }
    );
    if !config.check_quorum {
        // Without check-quorum the old leader still believes it leads: the
        // sharpest case — only the read-index round stops it.
        assert!(node(&sim, old).is_leader());
        assert!(node(&sim, old).term() < node(&sim, new).term());
    }
    sim.run_until(start + MS(10 * reads + 100)).unwrap();
    assert!(
        sim.now() > committed_at,
        "reads continued after the new write"
    );
    sim.heal();
    run_for(&mut sim, MS(1000));

    // No read issued at the deposed leader was answered with a value; every
    // one was refused (at its step-down, or on arrival afterwards).
    for k in 0..reads {
        let id = 1000 + u128::from(k);
        match answer(&sim, old, id) {
            Some(RaftEvent::Rejected {
                reason: Rejection::NotLeader { .. },
                ..
            }) => {}
            other => panic!(
                "seed {seed}: read {id} at the deposed leader {old} got {other:?} \
                 (the majority committed 11 at {committed_at:?})"
            ),
        }
    }
    assert_no_stale_read(&sim, &issued);
    // After healing, the old leader is a follower of the new term and has
    // applied the new value; a read there is refused, a read at the leader
    // sees 11.
    let leader = await_leader(&mut sim);
    assert_eq!(value(&sim, old), 11);
    issued.insert((leader, 30), sim.now());
    read(&mut sim, leader, 30);
    assert_eq!(
        await_answer(&mut sim, leader, 30, MS(500)),
        RaftEvent::ReadDone { id: 30, output: 11 }
    );
}

#[test]
fn read_index_never_returns_a_stale_value_from_a_deposed_leader() {
    for seed in 0..10 {
        read_index_scenario(seed, RaftConfig::default());
    }
}

#[test]
fn read_index_never_returns_a_stale_value_even_without_check_quorum() {
    // The deposed leader never learns it was deposed while partitioned.
    let config = RaftConfig {
        pre_vote: false,
        check_quorum: false,
        ..RaftConfig::default()
    };
    for seed in 0..10 {
        read_index_scenario(seed, config.clone());
    }
}

/// D §6.4 step 3: the leader "sends a new round of heartbeats" and serves
/// the read once a majority *answered that round* — as leader of its
/// current term. This pins a bug that was fixed: an answer to an older
/// incarnation's heartbeat was mistaken for a confirmation, because read
/// rounds restart at 0 when a server restarts and a follower that rejected
/// a stale-term AppendEntries echoed its read round, stamped with the
/// follower's own (current) term. Stale-term rejections now echo round 0.
///
/// Script: n_L leads and serves 6 reads (round 6); its link to follower F
/// is slowed to 200 ms, so heartbeats carrying round 6 are still in flight
/// when n_L restarts (round back to 0) and wins the next term by
/// `Campaign`. F rejects those stale heartbeats with the new term and
/// round 6, which n_L records as F's read acknowledgement. n_L is then cut
/// off; F and the third server elect a leader and commit a new value. A
/// read at n_L (round 1 ≤ 6) was "confirmed" by n_L and the stale ack and
/// answered with the old value; now it never is.
fn stale_read_ack_scenario(seed: u64, config: RaftConfig) -> Result<(), String> {
    let mut sim = simulation(3, seed, config);
    let mut issued = BTreeMap::new();
    let old = await_leader(&mut sim);
    assert_eq!(commit(&mut sim, old, 1, 1, None), 1);
    let all: Vec<NodeId> = sim.ids().collect();
    let follower = all.iter().copied().find(|&n| n != old).unwrap();
    let rest: Vec<NodeId> = all.iter().copied().filter(|&n| n != old).collect();
    for id in 10..16 {
        issued.insert((old, id), sim.now());
        read(&mut sim, old, id);
        await_answer(&mut sim, old, id, MS(500));
    }
    let slow = LinkConfig::reliable(Latency::Fixed(MS(200))).with_ordering(Ordering::Reorder);
    sim.set_link(old, follower, slow).unwrap();
    run_for(&mut sim, MS(60)); // at least one heartbeat (round 6) leaves
    let normal = LinkConfig::default().with_ordering(Ordering::Reorder);
    sim.set_link(old, follower, normal).unwrap();
    sim.restart(old).unwrap();
    sim.request(old, RaftRequest::Campaign).unwrap();
    run_until(&mut sim, MS(100), "the restarted server leads again", |s| {
        is_ready_leader(s, old)
    });
    // The slow heartbeats arrive and are answered.
    run_for(&mut sim, MS(250));
    sim.partition(&[old], &rest).unwrap();
    let new = await_leader_among(&mut sim, &rest, MS(2000));
    assert_eq!(commit(&mut sim, new, 2, 10, None), 11);
    if !node(&sim, old).is_leader() {
        return Ok(()); // check-quorum deposed it first: nothing to read
    }
    issued.insert((old, 20), sim.now());
    read(&mut sim, old, 20);
    run_for(&mut sim, MS(100));
    match answer(&sim, old, 20) {
        Some(RaftEvent::ReadDone { output, .. }) if output < 11 => Err(format!(
            "stale read: the deposed {old} answered {output} after {new} committed 11"
        )),
        _ => {
            assert_no_stale_read(&sim, &issued);
            Ok(())
        }
    }
}

#[test]
fn read_index_ignores_acknowledgements_of_a_previous_incarnation() {
    let config = RaftConfig {
        pre_vote: false,
        check_quorum: false,
        ..RaftConfig::default()
    };
    // Seed 0 fails with the default configuration (pre-vote, check-quorum:
    // the majority elects and commits before check-quorum deposes the old
    // leader) and with both extensions off.
    check_seeds(0..5, |seed| {
        stale_read_ack_scenario(seed, RaftConfig::default())?;
        stale_read_ack_scenario(seed, config.clone())
    });
}

// ----- 3. leadership transfer ------------------------------------------------

fn four_with_three_voters() -> RaftConfig {
    RaftConfig {
        initial_voters: Some(voters(&[0, 1, 2])),
        ..RaftConfig::default()
    }
}

/// D §3.10 (leadership transfer): the target becomes leader at once — well
/// within an election timeout — with every committed entry; the old leader
/// refuses proposals and membership changes meanwhile; a non-voter, the
/// leader itself and a follower's request are refused; a transfer to a
/// crashed voter fails after an election timeout and leadership stays.
fn transfer_scenario(seed: u64) {
    let config = four_with_three_voters();
    let mut sim = simulation(4, seed, config.clone());
    let old = await_leader(&mut sim);
    for id in 1..=5 {
        commit(&mut sim, old, id, 1, None);
    }
    let committed = node(&sim, old).commit_index();
    let term = node(&sim, old).term();

    // Refused: to a non-member, to itself, at a follower.
    transfer(&mut sim, old, 10, N3);
    transfer(&mut sim, old, 11, old);
    let target = [0, 1, 2]
        .map(NodeId)
        .into_iter()
        .find(|&n| n != old)
        .unwrap();
    transfer(&mut sim, target, 12, old);
    settle_now(&mut sim);
    assert!(matches!(
        rejection(answer(&sim, old, 10).unwrap()),
        Rejection::InvalidTransfer(_)
    ));
    assert!(matches!(
        rejection(answer(&sim, old, 11).unwrap()),
        Rejection::InvalidTransfer(_)
    ));
    assert_eq!(
        rejection(answer(&sim, target, 12).unwrap()),
        Rejection::NotLeader { leader: Some(old) }
    );

    // The transfer; a proposal and a membership change meanwhile.
    let start = sim.now();
    transfer(&mut sim, old, 13, target);
    propose(&mut sim, old, 14, 1, None);
    change(&mut sim, old, 15, MembershipChange::AddLearner(N3));
    settle_now(&mut sim);
    assert_eq!(
        rejection(answer(&sim, old, 14).unwrap()),
        Rejection::TransferInProgress
    );
    assert_eq!(
        rejection(answer(&sim, old, 15).unwrap()),
        Rejection::TransferInProgress
    );
    run_until(
        &mut sim,
        config.election_timeout_min,
        "the target leads",
        |s| is_ready_leader(s, target),
    );
    let took = sim.now() - start;
    assert!(took < config.election_timeout_min, "took {took:?}");
    assert_eq!(
        node(&sim, target).term(),
        term + 1,
        "one election, no split"
    );
    assert!(node(&sim, target).commit_index() > committed);
    assert_eq!(value(&sim, target), 5, "no committed entry lost");
    assert_eq!(commit(&mut sim, target, 16, 1, None), 6);
    run_for(&mut sim, MS(100));
    assert!(!node(&sim, old).is_leader());
    assert_eq!(node(&sim, old).leader(), Some(target));
    assert_eq!(
        answer(&sim, old, 13),
        Some(RaftEvent::LeadershipTransferred {
            id: 13,
            to: target,
            term: term + 1
        })
    );

    // A transfer to a crashed voter fails after an election timeout; the
    // leader keeps leading in the same term and takes proposals again.
    let dead = [0, 1, 2]
        .map(NodeId)
        .into_iter()
        .find(|&n| n != target && n != old)
        .unwrap();
    sim.crash(dead).unwrap();
    let term = node(&sim, target).term();
    transfer(&mut sim, target, 17, dead);
    propose(&mut sim, target, 18, 1, None);
    settle_now(&mut sim);
    assert_eq!(
        rejection(answer(&sim, target, 18).unwrap()),
        Rejection::TransferInProgress
    );
    let failed = await_answer(&mut sim, target, 17, config.election_timeout_max * 2);
    assert_eq!(rejection(failed), Rejection::TransferFailed);
    assert!(node(&sim, target).is_leader());
    assert_eq!(node(&sim, target).term(), term);
    assert_eq!(commit(&mut sim, target, 19, 1, None), 7);
}

#[test]
fn leadership_transfer_hands_over_within_an_election_timeout() {
    for seed in 0..10 {
        transfer_scenario(seed);
    }
}

/// D §3.10: a successful transfer is reported as such. The old leader
/// steps down when the target's RequestVote (term + 1) arrives — before it
/// hears the target's first AppendEntries — and must not answer the
/// transfer request with `TransferFailed` (it did, before a fix), but with
/// `LeadershipTransferred` once the target's append arrives. (The case
/// where a follower's answer brings the new term first is in
/// `tests/raft_defects.rs`.)
#[test]
fn a_successful_transfer_is_not_reported_as_failed() {
    check_seeds(0..3, |seed| -> Result<(), String> {
        let mut sim = simulation(3, seed, RaftConfig::default());
        let old = await_leader(&mut sim);
        let target = sim.ids().find(|&n| n != old).unwrap();
        transfer(&mut sim, old, 1, target);
        run_until(&mut sim, MS(150), "the target leads", |s| {
            is_ready_leader(s, target)
        });
        run_for(&mut sim, MS(500));
        match answer(&sim, old, 1) {
            Some(RaftEvent::LeadershipTransferred { to, .. }) if to == target => Ok(()),
            other => Err(format!(
                "{target} took over, yet {old} answered the transfer {other:?}"
            )),
        }
    });
}

/// D §3.10: "the prior leader sends it AppendEntries until its log is up
/// to date", and only then TimeoutNow — a target that fell behind is
/// caught up first, and wins with every committed entry.
#[test]
fn a_lagging_transfer_target_is_caught_up_before_it_campaigns() {
    check_seeds(0..10, |seed| -> Result<(), String> {
        let config = RaftConfig::default();
        let mut sim = simulation(3, seed, config.clone());
        let old = await_leader(&mut sim);
        let target = sim.ids().find(|&n| n != old).unwrap();
        let rest: Vec<NodeId> = sim.ids().filter(|&n| n != target).collect();
        sim.partition(&[target], &rest).unwrap();
        for id in 1..=20 {
            propose(&mut sim, old, id, 1, None);
        }
        await_answer(&mut sim, old, 20, MS(500));
        sim.heal();
        let behind = node(&sim, target).log().last_index();
        let last = node(&sim, old).log().last_index();
        if behind >= last {
            return Err(format!("the target is not behind ({behind} >= {last})"));
        }
        let start = sim.now();
        transfer(&mut sim, old, 30, target);
        run_until(
            &mut sim,
            config.election_timeout_min,
            "the target leads",
            |s| is_ready_leader(s, target),
        );
        let took = sim.now() - start;
        if value(&sim, target) != 20 {
            return Err(format!("the new leader has {}", value(&sim, target)));
        }
        if node(&sim, target).term() != node(&sim, old).term() {
            return Err("the old leader did not follow the new term".into());
        }
        if took >= config.election_timeout_min {
            return Err(format!("took {took:?}"));
        }
        Ok(())
    });
}

// ----- 4. membership changes and learners ------------------------------------

/// D §4.1–4.2: single-server changes on a five-node simulation whose
/// initial voters are n0–n2 (n3, n4 start outside): refused changes; one
/// change at a time; a learner (D §4.2.1, "catching up new servers")
/// catches up — by InstallSnapshot, the leader's log being compacted —
/// without voting or counting towards a quorum; promotion to voter; quorums
/// that follow the membership (3 of 5 after growing); removing the leader
/// itself (D §4.2.2): it steps down once the change commits and the others
/// elect a leader among themselves; removing a follower.
fn membership_scenario(seed: u64) {
    let config = RaftConfig {
        initial_voters: Some(voters(&[0, 1, 2])),
        snapshot_threshold: 16,
        ..RaftConfig::default()
    };
    let mut sim = simulation(5, seed, config);
    let leader = await_leader(&mut sim);
    assert!(leader.0 <= 2, "only an initial voter leads");
    for outsider in [N3, N4] {
        let n = node(&sim, outsider);
        assert_eq!((n.term(), n.log().last_index()), (0, 0), "{outsider}");
    }

    // Refused: remove a non-member, add an existing voter or member.
    change(&mut sim, leader, 1, MembershipChange::Remove(N4));
    change(&mut sim, leader, 2, MembershipChange::AddVoter(leader));
    let other = [0, 1, 2]
        .map(NodeId)
        .into_iter()
        .find(|&n| n != leader)
        .unwrap();
    change(&mut sim, leader, 3, MembershipChange::AddLearner(other));
    change(&mut sim, other, 4, MembershipChange::AddLearner(N3));
    settle_now(&mut sim);
    for id in 1..=3 {
        assert!(
            matches!(
                rejection(answer(&sim, leader, id).unwrap()),
                Rejection::InvalidMembershipChange(_)
            ),
            "request {id}"
        );
    }
    assert!(matches!(
        rejection(answer(&sim, other, 4).unwrap()),
        Rejection::NotLeader { .. }
    ));

    // Enough entries that the leader has compacted its log.
    for id in 10..50 {
        propose(&mut sim, leader, id, 1, None);
    }
    await_answer(&mut sim, leader, 49, MS(1000));
    assert_eq!(value(&sim, leader), 40);
    assert!(node(&sim, leader).snapshot_meta().index >= 16);

    // One change at a time: the second, while the first is uncommitted, is
    // refused.
    change(&mut sim, leader, 100, MembershipChange::AddLearner(N3));
    change(&mut sim, leader, 101, MembershipChange::AddLearner(N4));
    settle_now(&mut sim);
    let RaftEvent::MembershipChanged {
        index: learner_index,
        membership,
        ..
    } = answer(&sim, leader, 100).unwrap()
    else {
        panic!("AddLearner(n3) was refused");
    };
    assert_eq!(membership.voters, voters(&[0, 1, 2]));
    assert_eq!(membership.learners, voters(&[3]));
    assert_eq!(
        rejection(answer(&sim, leader, 101).unwrap()),
        Rejection::MembershipChangePending
    );

    // The learner catches up: by InstallSnapshot, since the entries it
    // needs are compacted away.
    run_until(&mut sim, MS(1000), "the learner catches up", |s| {
        let l = node(s, leader);
        let n3 = node(s, N3);
        l.commit_index() >= learner_index
            && n3.last_applied() == l.last_applied()
            && n3.log().last_index() == l.log().last_index()
    });
    assert!(sent(&sim, "InstallSnapshot") >= 1);
    assert!(node(&sim, N3).snapshot_meta().index >= 16);
    assert_eq!(value(&sim, N3), 40);
    assert_eq!(node(&sim, N3).membership(), node(&sim, leader).membership());

    // The learner does not count towards a quorum: with the other two
    // voters down, leader + learner (two of four members) commit nothing,
    // though the learner stores the entry.
    let others: Vec<NodeId> = [0, 1, 2]
        .map(NodeId)
        .into_iter()
        .filter(|&n| n != leader)
        .collect();
    for &n in &others {
        sim.crash(n).unwrap();
    }
    propose(&mut sim, leader, 110, 1, None);
    run_for(&mut sim, MS(100));
    let Some(RaftEvent::Proposed { index, .. }) = answers(&sim, leader, 110).first().cloned()
    else {
        panic!("not proposed");
    };
    assert_eq!(
        node(&sim, N3).log().last_index(),
        index,
        "the learner has it"
    );
    assert!(
        node(&sim, leader).commit_index() < index,
        "but it does not count"
    );
    for &n in &others {
        sim.restart(n).unwrap();
    }
    assert!(matches!(
        await_answer(&mut sim, leader, 110, MS(1000)),
        RaftEvent::Applied { output: 41, .. }
    ));

    // Promote the learner, then add n4 as a voter: five voters.
    change(&mut sim, leader, 120, MembershipChange::AddVoter(N3));
    let promoted = await_answer(&mut sim, leader, 120, MS(10));
    assert!(matches!(promoted, RaftEvent::MembershipChanged { .. }));
    run_until(&mut sim, MS(1000), "the promotion commits", |s| {
        change_committed(node(s, leader))
    });
    change(&mut sim, leader, 130, MembershipChange::AddVoter(N4));
    assert!(matches!(
        await_answer(&mut sim, leader, 130, MS(10)),
        RaftEvent::MembershipChanged { .. }
    ));
    run_until(&mut sim, MS(1000), "n4 caught up", |s| {
        let l = node(s, leader);
        change_committed(l) && node(s, N4).last_applied() == l.last_applied()
    });
    assert_eq!(
        node(&sim, leader).membership().voters,
        voters(&[0, 1, 2, 3, 4])
    );
    assert!(node(&sim, leader).membership().learners.is_empty());
    assert_eq!(value(&sim, N4), 41);

    // Quorum 3 of 5: two voters down, commits go on; three down, they stop.
    let followers: Vec<NodeId> = sim.ids().filter(|&n| n != leader).collect();
    sim.crash(followers[0]).unwrap();
    sim.crash(followers[1]).unwrap();
    assert_eq!(commit(&mut sim, leader, 140, 1, None), 42);
    sim.crash(followers[2]).unwrap();
    propose(&mut sim, leader, 141, 1, None);
    run_for(&mut sim, MS(100));
    assert_eq!(
        answer(&sim, leader, 141),
        None,
        "committed without a quorum"
    );
    for &n in &followers[..3] {
        sim.restart(n).unwrap();
    }
    assert!(matches!(
        await_answer(&mut sim, leader, 141, MS(1000)),
        RaftEvent::Applied { output: 43, .. }
    ));

    // Remove n0 while it leads (hand it leadership first if need be).
    if leader != N0 {
        transfer(&mut sim, leader, 150, N0);
        run_until(&mut sim, MS(300), "n0 leads", |s| is_ready_leader(s, N0));
    }
    run_until(&mut sim, MS(1000), "everyone caught up", converged);
    change(&mut sim, N0, 160, MembershipChange::Remove(N0));
    let RaftEvent::MembershipChanged { index: removal, .. } =
        await_answer(&mut sim, N0, 160, MS(10))
    else {
        panic!("Remove(n0) was refused");
    };
    let removed_at = sim.now();
    let rest = [1, 2, 3, 4].map(NodeId);
    let next = await_leader_among(&mut sim, &rest, MS(2000));
    let n0 = node(&sim, N0);
    assert_eq!(n0.role(), Role::Follower);
    assert!(
        n0.commit_index() >= removal,
        "n0 stepped down only once its removal committed"
    );
    assert!(!n0.membership().contains(N0));
    assert_eq!(node(&sim, next).membership().voters, voters(&[1, 2, 3, 4]));
    assert_eq!(commit(&mut sim, next, 170, 1, None), 44);
    // The removed server never campaigns or leads again.
    run_for(&mut sim, MS(1000));
    assert!(roles_since(&sim, N0, removed_at)
        .iter()
        .all(|&(role, _)| role == Role::Follower));

    // Remove a follower too: four voters become three.
    let leader = await_leader_among(&mut sim, &rest, MS(1000));
    let victim = rest.into_iter().find(|&n| n != leader).unwrap();
    change(&mut sim, leader, 180, MembershipChange::Remove(victim));
    assert!(matches!(
        await_answer(&mut sim, leader, 180, MS(10)),
        RaftEvent::MembershipChanged { .. }
    ));
    assert_eq!(commit(&mut sim, leader, 181, 1, None), 45);
    let remaining: BTreeSet<NodeId> = rest.into_iter().filter(|&n| n != victim).collect();
    assert_eq!(node(&sim, leader).membership().voters, remaining);
    // Three voters: one down, commits go on.
    let down = remaining.iter().copied().find(|&n| n != leader).unwrap();
    sim.crash(down).unwrap();
    assert_eq!(commit(&mut sim, leader, 182, 1, None), 46);
}

/// D §4.2.2 (Figure 4.6): "a server that is not part of its own latest
/// configuration should still start new elections, as it might still be
/// needed until the Cnew entry is committed. It does not count its own
/// vote in elections unless it is part of its latest configuration."
///
/// Two voters; the leader L removes itself while cut off from the other,
/// O, so Cnew = {O} is only in L's log. L steps down (check-quorum) and,
/// not a voter of its latest configuration, used never to campaign; O
/// still has Cold = {L, O} and needs L's vote, which L refuses (its log is
/// longer): nobody could ever be elected. Now L campaigns (without its own
/// vote) until Cnew commits.
#[test]
fn a_removed_leader_whose_removal_is_uncommitted_still_campaigns() {
    check_seeds(0..5, |seed| -> Result<(), String> {
        let mut sim = simulation(2, seed, RaftConfig::default());
        let old = await_leader(&mut sim);
        let other = sim.ids().find(|&n| n != old).unwrap();
        sim.partition(&[old], &[other]).unwrap();
        change(&mut sim, old, 1, MembershipChange::Remove(old));
        settle_now(&mut sim);
        if !matches!(
            answer(&sim, old, 1),
            Some(RaftEvent::MembershipChanged { .. })
        ) {
            return Err(format!("Remove({old}) refused: {:?}", answer(&sim, old, 1)));
        }
        run_for(&mut sim, MS(1000));
        sim.heal();
        let elected = sim
            .run_until_condition(sim.now() + MS(3000), |s| {
                is_ready_leader(s, other)
                    && node(s, other).membership().voters == voters(&[other.0])
            })
            .map_err(|e| e.to_string())?;
        if !elected {
            return Err(format!(
                "no leader 3 s after healing: {:?}; {:?}",
                node(&sim, old),
                node(&sim, other)
            ));
        }
        Ok(())
    });
}

/// D §4.1: "a server always uses the latest configuration in its log,
/// regardless of whether that entry is committed" — so when an uncommitted
/// configuration entry is truncated, the server must fall back to the
/// configuration before it.
///
/// Three voters; the leader L, cut off, appends Cnew = Cold − {X} (never
/// replicated), crashes and restarts. The others elect a leader and commit
/// entries over L's index. When L hears from it, it truncates its Cnew —
/// and used to keep using Cnew: after a restart with no snapshot, the
/// fallback configuration (the snapshot's) was empty, and
/// `recompute_membership` ignored an empty result. The bootstrap
/// membership is now always the fallback. In the chaos test (seed 2945 of the variant
/// that may shrink to one voter) such a server later leads with the stale
/// two-voter configuration, removes the other voter, commits alone, and a
/// leader of the real configuration lacks that committed entry: Leader
/// Completeness fails.
#[test]
fn a_truncated_configuration_entry_is_no_longer_in_force() {
    check_seeds(0..5, |seed| -> Result<(), String> {
        let mut sim = simulation(3, seed, RaftConfig::default());
        let old = await_leader(&mut sim);
        let rest: Vec<NodeId> = sim.ids().filter(|&n| n != old).collect();
        sim.partition(&[old], &rest).unwrap();
        change(&mut sim, old, 1, MembershipChange::Remove(rest[0]));
        settle_now(&mut sim);
        let Some(RaftEvent::MembershipChanged { index, .. }) = answer(&sim, old, 1) else {
            return Err(format!("Remove refused: {:?}", answer(&sim, old, 1)));
        };
        sim.restart(old).unwrap();
        let new = await_leader_among(&mut sim, &rest, MS(2000));
        for id in 2..=4 {
            commit(&mut sim, new, id, 1, None);
        }
        sim.heal();
        run_until(&mut sim, MS(2000), "the old leader catches up", |s| {
            node(s, old).last_applied() == node(s, new).last_applied()
        });
        let entry = node(&sim, old).log().get(index).map(|e| e.payload.clone());
        if matches!(entry, Some(Payload::Membership(_))) {
            return Err("the uncommitted configuration entry was not overwritten".into());
        }
        let voters_seen = &node(&sim, old).membership().voters;
        if *voters_seen != voters(&[0, 1, 2]) {
            return Err(format!(
                "{old} truncated its configuration entry at {index} but still uses \
                 voters {voters_seen:?} (the cluster has {:?})",
                node(&sim, new).membership().voters
            ));
        }
        Ok(())
    });
}

/// Has the latest membership entry in `leader`'s log committed?
fn change_committed(leader: &SimRaft) -> bool {
    let last_change = leader
        .log()
        .entries()
        .rev()
        .find(|e| matches!(e.payload, Payload::Membership(_)))
        .map_or(0, |e| e.index);
    leader.commit_index() >= last_change
}

#[test]
fn membership_changes_learners_and_quorums_follow_the_membership() {
    for seed in 0..10 {
        membership_scenario(seed);
    }
}

// ----- 5. snapshots and InstallSnapshot --------------------------------------

/// Raft §7: a follower that was down while the leader compacted its log
/// catches up by InstallSnapshot and ends with the leader's state.
fn install_snapshot_scenario(seed: u64) {
    let config = RaftConfig {
        snapshot_threshold: 16,
        ..RaftConfig::default()
    };
    let mut sim = simulation(3, seed, config);
    let leader = await_leader(&mut sim);
    let lagging = sim.ids().find(|&n| n != leader).unwrap();
    sim.crash(lagging).unwrap();
    for id in 1..=60 {
        propose(&mut sim, leader, id, 1, None);
    }
    await_answer(&mut sim, leader, 60, MS(1000));
    let compacted = node(&sim, leader).snapshot_meta().index;
    assert!(compacted >= 48, "the leader compacted up to {compacted}");
    assert_eq!(
        sent(&sim, "InstallSnapshot"),
        0,
        "the live follower kept up"
    );

    sim.restart(lagging).unwrap();
    assert!(node(&sim, lagging).log().last_index() < compacted);
    run_until(&mut sim, MS(1000), "the follower catches up", |s| {
        node(s, lagging).last_applied() == node(s, leader).last_applied()
    });
    assert!(sent(&sim, "InstallSnapshot") >= 1);
    let caught_up = node(&sim, lagging);
    assert!(caught_up.snapshot_meta().index >= compacted);
    assert_eq!(
        caught_up.state_machine(),
        node(&sim, leader).state_machine()
    );
    assert_eq!(value(&sim, lagging), 60);
    // It then follows by ordinary appends.
    assert_eq!(commit(&mut sim, leader, 61, 1, None), 61);
    run_until(&mut sim, MS(500), "all applied", converged);
    assert_eq!(value(&sim, lagging), 61);
}

#[test]
fn a_follower_behind_the_compacted_log_catches_up_by_install_snapshot() {
    for seed in 0..10 {
        install_snapshot_scenario(seed);
    }
}

/// Raft §7: `RaftRequest::Snapshot` compacts now, whatever the threshold;
/// a restarted server restores its state machine from its own snapshot
/// (before hearing from anyone), then catches up by appends.
#[test]
fn a_forced_snapshot_is_restored_at_restart() {
    let config = RaftConfig {
        snapshot_threshold: 0,
        ..RaftConfig::default()
    };
    let mut sim = simulation(3, 7, config);
    let leader = await_leader(&mut sim);
    for id in 1..=5 {
        commit(&mut sim, leader, id, 2, None);
    }
    run_until(&mut sim, MS(500), "all applied", converged);
    let follower = sim.ids().find(|&n| n != leader).unwrap();
    assert_eq!(node(&sim, follower).snapshot_meta().index, 0);
    let applied = node(&sim, follower).last_applied();
    sim.request(follower, RaftRequest::Snapshot).unwrap();
    settle_now(&mut sim);
    assert_eq!(
        sim.events(follower).last().map(|e| &e.event),
        Some(&RaftEvent::SnapshotTaken { index: applied })
    );
    assert_eq!(node(&sim, follower).snapshot_meta().index, applied);
    assert_eq!(node(&sim, follower).log().snapshot_index(), applied);

    // More commits it will miss, then a restart.
    sim.crash(follower).unwrap();
    assert_eq!(commit(&mut sim, leader, 6, 2, None), 12);
    sim.restart(follower).unwrap();
    let restarted = node(&sim, follower);
    assert_eq!(restarted.state_machine().value, 10, "from its own snapshot");
    assert_eq!(restarted.last_applied(), applied);
    assert_eq!(restarted.commit_index(), applied);
    run_until(&mut sim, MS(500), "the follower catches up", converged);
    assert_eq!(value(&sim, follower), 12);
    assert_eq!(
        sent(&sim, "InstallSnapshot"),
        0,
        "by appends: nothing compacted at the leader"
    );
}

// ----- 6. pre-vote and check-quorum ------------------------------------------

/// One follower is cut off for 1.5 s (five or more election timeouts)
/// while a client writes, then the network heals. Returns the leader and
/// its term before the partition, and the highest term after healing.
fn isolate_a_follower(sim: &mut Sim) -> (NodeId, u64, u64, Duration) {
    let leader = await_leader(sim);
    let term = node(sim, leader).term();
    let loner = sim.ids().find(|&n| n != leader).unwrap();
    let rest: Vec<NodeId> = sim.ids().filter(|&n| n != loner).collect();
    sim.partition(&[loner], &rest).unwrap();
    let start = sim.now();
    for id in 1..=10 {
        commit(sim, leader, id, 1, None);
        run_for(sim, MS(100));
    }
    sim.run_until(start + MS(1500)).unwrap();
    sim.heal();
    run_for(sim, MS(1000));
    let highest = sim.nodes().map(|(_, n)| n.term()).max().unwrap();
    (leader, term, highest, start)
}

/// D §9.6 (pre-vote) with D §4.2.3/§6.2 (check-quorum, leases): a server
/// that was cut off does not depose a healthy leader when it returns —
/// same leader, same term; with both extensions off, its inflated term
/// forces a new election.
#[test]
fn pre_vote_keeps_a_returning_server_from_deposing_the_leader() {
    for seed in 0..10 {
        let mut sim = simulation(3, seed, RaftConfig::default());
        let (leader, term, highest, start) = isolate_a_follower(&mut sim);
        assert_eq!(highest, term, "seed {seed}: a term was raised");
        assert_eq!(current_leader(&sim), Some(leader));
        assert!(roles_since(&sim, leader, start).is_empty(), "seed {seed}");
        run_until(&mut sim, MS(500), "all applied", converged);
        assert!(sim.nodes().all(|(_, n)| n.state_machine().value == 10));

        let plain = RaftConfig {
            pre_vote: false,
            check_quorum: false,
            ..RaftConfig::default()
        };
        let mut sim = simulation(3, seed, plain);
        let (leader, term, highest, start) = isolate_a_follower(&mut sim);
        assert!(
            highest > term + 2,
            "seed {seed}: the loner should have inflated its term"
        );
        assert!(
            roles_since(&sim, leader, start)
                .iter()
                .any(|&(role, _)| role == Role::Follower),
            "seed {seed}: the leader was deposed"
        );
        let now_leader = await_leader(&mut sim);
        assert!(node(&sim, now_leader).term() > term + 2);
        run_until(&mut sim, MS(500), "all applied", converged);
        assert!(sim.nodes().all(|(_, n)| n.state_machine().value == 10));
    }
}

/// D §6.2 (check-quorum): a leader cut off from every follower steps down
/// within about two election timeouts (it needs one full timeout without
/// a quorum); without check-quorum it would lead on, alone.
#[test]
fn check_quorum_makes_an_isolated_leader_step_down() {
    check_seeds(0..10, |seed| -> Result<(), String> {
        let config = RaftConfig::default();
        let mut sim = simulation(3, seed, config.clone());
        let leader = await_leader(&mut sim);
        let rest: Vec<NodeId> = sim.ids().filter(|&n| n != leader).collect();
        sim.partition(&[leader], &rest).unwrap();
        let start = sim.now();
        run_until(
            &mut sim,
            config.election_timeout_max * 2,
            "step-down",
            |s| !node(s, leader).is_leader(),
        );
        let took = sim.now() - start;
        if took < config.election_timeout_min {
            return Err(format!("stepped down too early, after {took:?}"));
        }
        // The others elect a new leader meanwhile.
        let next = await_leader_among(&mut sim, &rest, MS(1000));
        sim.heal();
        run_for(&mut sim, MS(500));
        if node(&sim, leader).leader() != Some(next) {
            return Err(format!("{leader} does not follow {next} after healing"));
        }

        let off = RaftConfig {
            check_quorum: false,
            ..RaftConfig::default()
        };
        let mut sim = simulation(3, seed, off);
        let leader = await_leader(&mut sim);
        let rest: Vec<NodeId> = sim.ids().filter(|&n| n != leader).collect();
        sim.partition(&[leader], &rest).unwrap();
        run_for(&mut sim, MS(2000));
        if !node(&sim, leader).is_leader() {
            return Err("without check-quorum the lone leader stepped down".into());
        }
        Ok(())
    });
}

// ----- 7. liveness bound -----------------------------------------------------

/// Raft §5.2, §9.3 (randomised timeouts make split votes rare): after the
/// leader crashes, the survivors elect a new one — ready to serve — within
/// one second of virtual time, over 50 seeds.
#[test]
fn a_new_leader_is_elected_within_a_second_of_a_leader_crash() {
    check_seeds(0..50, |seed| -> Result<(), String> {
        let mut sim = simulation(5, seed, RaftConfig::default());
        let old = await_leader(&mut sim);
        commit(&mut sim, old, 1, 1, None);
        sim.crash(old).unwrap();
        let crashed = sim.now();
        let rest: Vec<NodeId> = sim.ids().filter(|&n| n != old).collect();
        let held = sim
            .run_until_condition(crashed + MS(1000), |s| {
                ready_leader_among(s, &rest).is_some()
            })
            .map_err(|e| e.to_string())?;
        if !held {
            return Err("no new leader within 1 s of the crash".into());
        }
        let new = ready_leader_among(&sim, &rest).unwrap();
        if value(&sim, new) != 1 {
            return Err("the new leader lost the committed entry".into());
        }
        Ok(())
    });
}

// ----- 8. back-pressure ------------------------------------------------------

/// Bounded memory (`RaftConfig::uncommitted_entries_max`; flow control is
/// outside the Raft paper, cf. STYLE.md "bounded everything"): a leader that cannot
/// commit holds at most `uncommitted_entries_max` uncommitted entries and
/// refuses further proposals with Busy (and pending reads beyond
/// `pending_reads_max`); once the quorum is back, the held entries commit
/// and proposals are accepted again.
#[test]
fn proposals_beyond_the_uncommitted_bound_are_refused_busy() {
    check_seeds(0..10, |seed| -> Result<(), String> {
        let config = RaftConfig {
            uncommitted_entries_max: 4,
            pending_reads_max: 2,
            ..RaftConfig::default()
        };
        let mut sim = simulation(3, seed, config);
        let leader = await_leader(&mut sim);
        let rest: Vec<NodeId> = sim.ids().filter(|&n| n != leader).collect();
        sim.partition(&[leader], &rest).unwrap();
        for id in 1..=10 {
            propose(&mut sim, leader, id, 1, None);
        }
        for id in 20..=22 {
            read(&mut sim, leader, id);
        }
        run_for(&mut sim, MS(50));
        for id in 1..=10 {
            let got = answers(&sim, leader, id);
            let busy = id > 4;
            let ok = match got.as_slice() {
                [RaftEvent::Proposed { .. }] => !busy,
                [RaftEvent::Rejected {
                    reason: Rejection::Busy,
                    ..
                }] => busy,
                _ => false,
            };
            if !ok {
                return Err(format!("proposal {id}: {got:?}"));
            }
        }
        let l = node(&sim, leader);
        if l.log().last_index() - l.commit_index() != 4 {
            return Err(format!("{l:?} holds more than 4 uncommitted entries"));
        }
        if answer(&sim, leader, 22)
            != Some(RaftEvent::Rejected {
                id: 22,
                reason: Rejection::Busy,
            })
            || answer(&sim, leader, 20).is_some()
        {
            return Err("the third pending read should be refused Busy".into());
        }
        // Heal before check-quorum deposes the leader: the four commit.
        sim.heal();
        run_until(&mut sim, MS(500), "the four commit", |s| {
            answer(s, leader, 4).is_some()
        });
        for id in 1..=4 {
            match answer(&sim, leader, id) {
                Some(RaftEvent::Applied { output, .. }) if u128::from(output) == id => {}
                other => return Err(format!("proposal {id}: {other:?}")),
            }
        }
        if commit(&mut sim, leader, 30, 1, None) != 5 {
            return Err("a proposal after the backlog cleared".into());
        }
        Ok(())
    });
}

// ----- 9. everything at once -------------------------------------------------

/// What a chaos run asked, to judge the answers by.
#[derive(Default)]
struct Requests {
    next_id: RequestId,
    /// Read issue times, by (node, request id).
    reads: BTreeMap<(NodeId, RequestId), Duration>,
    /// The session of each proposal, by (node, request id).
    sessions: BTreeMap<(NodeId, RequestId), Session>,
    /// The next sequence number of each client.
    seqs: BTreeMap<u64, u64>,
}

/// All the features under random faults: sessions (with retries), reads,
/// membership changes, transfers, forced snapshots, crashes, restarts and
/// partitions, over lossy reordering links. Judged by the five checkers
/// after every event; by "no stale read" (D §6.4); by exactly-once (D §6.3:
/// every Applied answer for one (client, seq) carries the same output); and
/// by convergence of the final voters once the faults stop.
///
/// `wide` lets removals shrink the cluster to a single voter, which the
/// default run avoids: it runs into the two membership bugs above.
fn feature_chaos(seed: u64, wide: bool) -> Result<(), String> {
    use rand::{RngExt, SeedableRng};
    let mut dice = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0xfea7_c4a0);
    let config = RaftConfig {
        initial_voters: Some(voters(&[0, 1, 2])),
        snapshot_threshold: dice.random_range(8..=64),
        append_entries_max: dice.random_range(1..=32),
        inflight_appends_max: dice.random_range(1..=4),
        pre_vote: dice.random_bool(0.7),
        check_quorum: dice.random_bool(0.7),
        ..RaftConfig::default()
    };
    let mut sim = simulation(5, seed, config);
    let link = LinkConfig::default()
        .with_loss(dice.random_range(0.0..0.05))
        .with_duplicate(dice.random_range(0.0..0.05))
        .with_ordering(if dice.random_bool(0.5) {
            Ordering::Reorder
        } else {
            Ordering::Fifo
        });
    sim.set_all_links(link).map_err(|e| e.to_string())?;
    let mut asked = Requests::default();
    let faults_end = MS(4000);
    let ids: Vec<NodeId> = sim.ids().collect();
    sim.run_until(MS(500)).map_err(|e| e.to_string())?;
    // Three clients, each with a session of its own (D §6.3).
    let mut clients = Vec::new();
    for k in 0..3 {
        let leader = await_leader(&mut sim);
        clients.push(open_session(&mut sim, leader, 1_000_000 + k));
    }
    while sim.now() < faults_end {
        let at = current_leader(&sim).unwrap_or(ids[dice.random_range(0..ids.len())]);
        let any = ids[dice.random_range(0..ids.len())];
        asked.next_id += 1;
        let id = asked.next_id;
        match dice.random_range(0..100) {
            0..=39 => {
                let client = clients[dice.random_range(0..clients.len())];
                let seq = asked.seqs.entry(client).or_insert(1);
                // Sometimes a retry of the previous command.
                if *seq > 1 && dice.random_bool(0.3) {
                    *seq -= 1;
                }
                let session = Session { client, seq: *seq };
                *seq += 1;
                asked.sessions.insert((at, id), session);
                if sim.is_up(at) {
                    propose(&mut sim, at, id, 1, Some(session));
                }
            }
            40..=59 => {
                let to = if dice.random_bool(0.7) { at } else { any };
                if sim.is_up(to) {
                    asked.reads.insert((to, id), sim.now());
                    read(&mut sim, to, id);
                }
            }
            60..=69 => {
                let who = ids[dice.random_range(0..ids.len())];
                // Never down to one voter: that runs into the removal
                // deadlock of `a_removed_leader_whose_removal_is_uncommitted_still_campaigns`.
                let two_voters = sim
                    .node(at)
                    .is_some_and(|n| n.membership().voters.len() <= 2);
                let what = match dice.random_range(0..3) {
                    0 => MembershipChange::AddLearner(who),
                    1 => MembershipChange::AddVoter(who),
                    _ if two_voters && !wide => MembershipChange::AddVoter(who),
                    _ => MembershipChange::Remove(who),
                };
                if sim.is_up(at) {
                    change(&mut sim, at, id, what);
                }
            }
            70..=74 if sim.is_up(at) => transfer(&mut sim, at, id, any),
            75..=79 if sim.is_up(any) => sim.request(any, RaftRequest::Snapshot).unwrap(),
            80..=84 => {
                // Crash a node (often the leader) for a while.
                let victim = if dice.random_bool(0.5) { at } else { any };
                if sim.is_up(victim) {
                    sim.crash(victim).unwrap();
                    let back = sim.now() + MS(dice.random_range(50..500));
                    sim.call_at(back, move |sim| {
                        let _ = sim.restart(victim);
                    });
                }
            }
            85..=89 => {
                // Split the cluster for a while.
                let mut shuffled = ids.clone();
                for i in (1..shuffled.len()).rev() {
                    shuffled.swap(i, dice.random_range(0..=i));
                }
                let cut = dice.random_range(1..ids.len());
                sim.partition(&shuffled[..cut], &shuffled[cut..]).unwrap();
                let heal = sim.now() + MS(dice.random_range(50..500));
                sim.call_at(heal, |sim| sim.heal());
            }
            _ => {} // a quiet moment
        }
        let pause = MS(dice.random_range(1..60));
        sim.run_for(pause).map_err(|e| e.to_string())?;
    }
    sim.heal();
    for &n in &ids {
        if !sim.is_up(n) {
            sim.restart(n).unwrap();
        }
    }
    // Convergence: the final voters agree on everything committed.
    let done = sim
        .run_until_condition(faults_end + MS(5000), |s| {
            let Some(leader) = current_leader(s).and_then(|l| s.node(l)) else {
                return false;
            };
            let last = leader.log().last_index();
            leader.commit_index() == last
                && leader
                    .membership()
                    .voters
                    .iter()
                    .all(|&v| s.node(v).is_some_and(|n| n.last_applied() == last))
        })
        .map_err(|e| e.to_string())?;
    if !done {
        let states: Vec<String> = sim.nodes().map(|(_, n)| format!("{n:?}")).collect();
        return Err(format!(
            "no convergence after the faults: {}",
            states.join("; ")
        ));
    }
    let leader = node(&sim, current_leader(&sim).unwrap());
    for &v in &leader.membership().voters {
        if node(&sim, v).state_machine() != leader.state_machine() {
            return Err(format!("{v} differs from the leader"));
        }
    }

    // Exactly-once: one output per (client, seq), distinct across commands.
    let mut outputs: BTreeMap<Session, u64> = BTreeMap::new();
    let mut owners: BTreeMap<u64, Session> = BTreeMap::new();
    for (at, e) in sim.all_events() {
        if let RaftEvent::Applied { id, output, .. } = e.event {
            let session = asked.sessions[&(at, id)];
            if *outputs.entry(session).or_insert(output) != output {
                return Err(format!(
                    "{session:?} applied twice: outputs {} and {output}",
                    outputs[&session]
                ));
            }
            if *owners.entry(output).or_insert(session) != session {
                return Err(format!("output {output} answers two commands"));
            }
        }
    }
    if outputs
        .values()
        .max()
        .is_some_and(|&m| m > leader.state_machine().value)
    {
        return Err("an acknowledged command is missing".into());
    }
    // No stale read.
    let acked: Vec<(Duration, u64)> = sim
        .all_events()
        .into_iter()
        .filter_map(|(_, e)| match e.event {
            RaftEvent::Applied { output, .. } => Some((e.time, output)),
            _ => None,
        })
        .collect();
    for (at, e) in sim.all_events() {
        let RaftEvent::ReadDone { id, output } = e.event else {
            continue;
        };
        let since = asked.reads[&(at, id)];
        let newest = acked
            .iter()
            .filter(|(t, _)| *t < since)
            .map(|(_, o)| *o)
            .max()
            .unwrap_or(0);
        if output < newest {
            return Err(format!(
                "stale read: {at} answered read {id} (issued at {since:?}) with {output}, \
                 {newest} acknowledged before"
            ));
        }
    }
    Ok(())
}

#[test]
fn all_features_under_faults_keep_safety_sessions_and_reads() {
    check_seeds(0..300, |seed| feature_chaos(seed, false));
}

/// The wide variant (removals down to one voter) over 6,000 seeds. It found
/// two membership bugs, now fixed and pinned by the tests above: seed 2945
/// broke Leader Completeness (a truncated configuration left in force after
/// a restart); seeds 54, 75, 325, 596, 855, … ended with no leader (a server
/// removed by an uncommitted configuration never campaigned).
#[test]
#[ignore = "soak: 6,000 seeds, about 10 s; run with --ignored"]
fn all_features_under_wider_faults_soak() {
    check_seeds(0..6000, |seed| feature_chaos(seed, true));
}
