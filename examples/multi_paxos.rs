//! Multi-Paxos, watched: three replicas of an append-only log (the same
//! `AppendLog` state machine the Raft example runs). n0 leads from the
//! start after one phase 1; commands go out one Accept round each; n0
//! crashes with a command in flight, the failure detector suspects it, n1
//! takes over with one phase 1 — recovering what n0 left accepted and
//! filling gaps with no-ops — and n0 returns, catches up, and leads again.
//! Log agreement and state machine safety are checked after every event.
//!
//! `cargo run --example multi_paxos` (add a seed: `cargo run --example multi_paxos -- 7`)

use std::collections::HashMap;
use std::time::Duration;

use dsys::consensus::multi_paxos::properties::{LogAgreement, StateMachineSafety};
use dsys::consensus::multi_paxos::simulation::{current_leader, message_counts};
use dsys::consensus::multi_paxos::{
    Durable, Entry, MultiPaxos, MultiPaxosConfig, MultiPaxosEvent, MultiPaxosRequest,
};
use dsys::consensus::raft::AppendLog;
use dsys::consensus::stable::Stable;
use dsys::core::sim::Simulation;
use dsys::core::NodeId;

type Replica = MultiPaxos<AppendLog>;

fn main() {
    let seed = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let mut disks: HashMap<NodeId, Stable<Durable<String>>> = HashMap::new();
    let mut sim = Simulation::new(3, seed, move |id| {
        let disk = disks.entry(id).or_default().clone();
        let config = MultiPaxosConfig {
            report_proposals: true, // for the message counts at the end
            ..MultiPaxosConfig::default()
        };
        MultiPaxos::new(config, disk, AppendLog::default()).expect("valid configuration")
    });
    let mut agreement = LogAgreement::new();
    sim.invariant("log agreement", move |nodes| agreement.check(nodes));
    let mut machines = StateMachineSafety::new();
    sim.invariant("state machine safety", move |nodes| machines.check(nodes));
    let mut seen = 0;
    let mut next_id = 0;

    println!("Multi-Paxos on three replicas, seed {seed}. Heartbeats every 50 ms, suspicion after 200 ms of silence.\n");
    println!("1. start: every replica trusts everyone, so n0 (the lowest id) runs phase 1");
    phase(&mut sim, &mut seen, Duration::from_millis(200));

    println!("2. three commands, one Accept round (2(n − 1) messages) each, no phase 1");
    for value in ["x=1", "y=2", "x=3"] {
        propose(&mut sim, &mut next_id, value);
    }
    phase(&mut sim, &mut seen, Duration::from_millis(200));

    println!("3. n0 proposes z=4 and crashes 1 ms later; n1 suspects it and takes over");
    propose(&mut sim, &mut next_id, "z=4");
    sim.run_for(Duration::from_millis(1)).expect("safety holds");
    sim.crash(NodeId(0)).expect("n0 is up");
    phase(&mut sim, &mut seen, Duration::from_millis(600));

    println!("4. two more commands; n0 restarts with its stable storage, catches up, and is trusted again");
    for value in ["w=5", "v=6"] {
        propose(&mut sim, &mut next_id, value);
    }
    sim.restart(NodeId(0)).expect("n0 is down");
    phase(&mut sim, &mut seen, Duration::from_secs(1));

    println!("Messages, measured and by the formulas of the module essay:");
    for (formula, measured, predicted) in message_counts(&sim) {
        println!("   {measured:>5} (formula: {predicted:>5})  {formula}");
    }
}

fn propose(sim: &mut Simulation<Replica>, next_id: &mut u64, value: &str) {
    let leader = current_leader(sim).expect("a leader");
    *next_id += 1;
    println!("   client → {leader}: propose {value:?}");
    let request = MultiPaxosRequest::Propose {
        id: (*next_id).into(),
        command: value.to_string(),
    };
    sim.request(leader, request).expect("the leader is up");
}

fn phase(sim: &mut Simulation<Replica>, seen: &mut usize, run: Duration) {
    sim.run_for(run).expect("safety holds");
    let events = sim.all_events();
    for (id, e) in &events[*seen..] {
        let what = match &e.event {
            MultiPaxosEvent::Elected {
                ballot,
                recovered,
                noops,
            } => format!(
                "leads with ballot {ballot} after phase 1: {recovered} slot(s) recovered from promises, {noops} gap(s) filled with no-ops"
            ),
            MultiPaxosEvent::Preparing { ballot, from_slot } => format!(
                "starts phase 1 with ballot {ballot} for every slot from {from_slot} on"
            ),
            MultiPaxosEvent::Proposed {
                slot, commands, ..
            } => format!("proposes slot {slot} ({commands} command(s); 0 is a no-op)"),
            MultiPaxosEvent::Resent { slot, to, .. } => {
                format!("sends slot {slot} again to {to:?} (no Accepted within a period)")
            }
            MultiPaxosEvent::SteppedDown { ballot } => format!("steps down from ballot {ballot}"),
            MultiPaxosEvent::Applied { id: request, slot, .. } => {
                format!("request {request} chosen in slot {slot} and applied")
            }
            MultiPaxosEvent::NotLeader { id: request, leader } => {
                format!("refuses request {request}: not the leader (try {leader:?})")
            }
        };
        println!("   {:>7.1} ms  {id} {what}", e.time.as_secs_f64() * 1000.0);
    }
    *seen = events.len();
    for id in sim.ids() {
        match sim.node(id) {
            None => println!("   {id}: down"),
            Some(r) => {
                let log: Vec<String> = r
                    .chosen()
                    .map(|(slot, entry)| match entry {
                        Entry::Noop => format!("{slot}:no-op"),
                        Entry::Batch(commands) => {
                            let values: Vec<&str> =
                                commands.iter().map(|c| c.command.as_str()).collect();
                            format!("{slot}:{}", values.join("+"))
                        }
                    })
                    .collect();
                let role = if r.is_leader() {
                    "leader  "
                } else {
                    "follower"
                };
                println!(
                    "   {id}: {role} promised {:?}, chosen [{}], state {:?}",
                    r.promised(),
                    log.join(" "),
                    r.state_machine().values
                );
            }
        }
    }
    println!();
}
