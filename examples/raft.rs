//! Raft, watched: five servers elect a leader, replicate commands, lose the
//! leader, elect another, and the old leader returns and catches up. The
//! output shows each server's role, term, log (as `term:value`) and commit
//! index after every phase, and every election as it happens; the five
//! safety properties are checked after every event of the run.
//!
//! `cargo run --example raft` (add a seed: `cargo run --example raft -- 7`)

use std::collections::HashMap;
use std::time::Duration;

use dsys::consensus::raft::properties::{views, Checkers};
use dsys::consensus::raft::simulation::current_leader;
use dsys::consensus::raft::{
    AppendLog, MemStorage, Payload, Raft, RaftConfig, RaftEvent, RaftRequest, Role,
};
use dsys::core::sim::Simulation;
use dsys::core::NodeId;

type Server = Raft<AppendLog, MemStorage<String>>;

fn main() {
    let seed = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let mut disks: HashMap<NodeId, MemStorage<String>> = HashMap::new();
    let mut sim = Simulation::new(5, seed, move |id| {
        let disk = disks.entry(id).or_default().clone();
        Raft::new(RaftConfig::default(), disk, AppendLog::default()).expect("valid configuration")
    });
    let mut checkers = Checkers::new();
    sim.invariant("Raft safety", move |nodes| checkers.check(&views(nodes)));
    let mut seen = 0;

    println!("Raft on five servers, seed {seed}. Election timeouts 150-300 ms, heartbeats every 50 ms.\n");
    phase(
        &mut sim,
        &mut seen,
        "1. start: the servers time out and elect a leader",
        Duration::from_secs(1),
    );

    let leader = current_leader(&sim).expect("a leader after a second");
    for (id, value) in ["x=1", "y=2", "x=3"].into_iter().enumerate() {
        propose(&mut sim, leader, id as u64, value);
    }
    phase(
        &mut sim,
        &mut seen,
        &format!("2. {leader} replicates three commands"),
        Duration::from_millis(200),
    );

    sim.crash(leader).expect("the leader is up");
    phase(
        &mut sim,
        &mut seen,
        &format!("3. the leader {leader} crashes; the others elect a new one"),
        Duration::from_secs(1),
    );

    let second = current_leader(&sim).expect("a new leader");
    for (id, value) in ["y=4", "z=5"].into_iter().enumerate() {
        propose(&mut sim, second, 10 + id as u64, value);
    }
    phase(
        &mut sim,
        &mut seen,
        &format!("4. {second} commits two more while {leader} is down"),
        Duration::from_millis(200),
    );

    sim.restart(leader).expect("the old leader was crashed");
    phase(
        &mut sim,
        &mut seen,
        &format!("5. {leader} restarts from its storage, learns the new term, and catches up"),
        Duration::from_millis(500),
    );

    let logs: Vec<Vec<String>> = sim
        .nodes()
        .map(|(_, n)| n.state_machine().values.clone())
        .collect();
    assert!(
        logs.windows(2).all(|w| w[0] == w[1]),
        "every state machine applied the same commands"
    );
    println!(
        "Every server applied {:?}; the five safety properties held after every event.",
        logs[0]
    );
}

fn propose(sim: &mut Simulation<Server>, leader: NodeId, id: u64, value: &str) {
    let request = RaftRequest::Propose {
        id: id.into(),
        command: value.to_string(),
        session: None,
    };
    sim.request(leader, request).expect("the leader is up");
}

/// Runs one phase, printing the elections as they happen and the servers
/// at the end.
fn phase(sim: &mut Simulation<Server>, seen: &mut usize, title: &str, length: Duration) {
    println!("== {title}");
    sim.run_for(length).expect("the five properties hold");
    let events = sim.all_events();
    let mut fresh: Vec<_> = events.iter().skip(*seen).collect();
    fresh.sort_by_key(|(_, e)| e.time);
    for (id, emitted) in fresh {
        match &emitted.event {
            RaftEvent::RoleChanged {
                term,
                role: Role::Leader,
                ..
            } => {
                println!(
                    "   {}  {id} is elected leader of term {term}",
                    at(emitted.time)
                )
            }
            RaftEvent::RoleChanged {
                term,
                role: Role::Candidate,
                ..
            } => {
                println!(
                    "   {}  {id} stands for election in term {term}",
                    at(emitted.time)
                )
            }
            RaftEvent::Applied { index, .. } => {
                println!(
                    "   {}  {id} (leader) answers: entry {index} is committed and applied",
                    at(emitted.time)
                )
            }
            _ => {}
        }
    }
    *seen = events.len();
    println!(
        "   {:<5} {:<10} {:>4}  {:<44} {:>6}",
        "node", "role", "term", "log (term:command)", "commit"
    );
    for id in sim.ids() {
        match sim.node(id) {
            None => println!("   {:<5} {:<10}", id.to_string(), "(crashed)"),
            Some(node) => {
                let log: Vec<String> = node
                    .log()
                    .entries()
                    .map(|e| match &e.payload {
                        Payload::Command { command, .. } => format!("{}:{command}", e.term),
                        Payload::Noop => format!("{}:-", e.term),
                        Payload::Membership(_) => format!("{}:cfg", e.term),
                        Payload::OpenSession => format!("{}:session", e.term),
                    })
                    .collect();
                println!(
                    "   {:<5} {:<10} {:>4}  {:<44} {:>6}",
                    id.to_string(),
                    node.role().to_string(),
                    node.term(),
                    log.join(" "),
                    node.commit_index()
                );
            }
        }
    }
    println!();
}

/// A virtual time as milliseconds.
fn at(time: Duration) -> String {
    format!("{:>8.1} ms", time.as_secs_f64() * 1000.0)
}
