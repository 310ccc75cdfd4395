//! Raft in the simulator: a cluster over in-memory storage that survives
//! crashes, a client that keeps proposing to whoever leads, the liveness
//! check, and `dsys sim raft`.

use std::collections::HashMap;
use std::time::Duration;

use dsys_core::model::{ModelOptions, ModelVerdict};
use dsys_core::scenario::{
    run_scenario_with, Algorithm, Check, DefectInfo, HistoryCheck, LatencyRange, Outcome, Property,
    SettingInfo, SimOptions, Verdict,
};
use dsys_core::sim::Simulation;
use dsys_core::NodeId;

use super::message::{RaftEvent, RaftRequest};
use super::node::{Defect, Raft, RaftConfig};
use super::properties::{
    views, ElectionSafety, LeaderAppendOnly, LeaderCompleteness, LogMatching, StateMachineSafety,
};
use super::state_machine::Counter;
use super::storage::MemStorage;
use super::types::RequestId;
use super::types::{Role, Session};

/// The node type of the simulated cluster: a counter over memory storage.
pub type SimRaft = Raft<Counter, MemStorage<u64>>;

/// A factory for a simulated cluster: each node gets a [`MemStorage`] kept
/// by the factory, so a restarted node finds what it stored before its
/// crash, and nothing else.
pub fn cluster(config: RaftConfig) -> impl FnMut(NodeId) -> SimRaft + 'static {
    let mut disks: HashMap<NodeId, MemStorage<u64>> = HashMap::new();
    move |id| {
        let disk = disks.entry(id).or_default().clone();
        Raft::new(config.clone(), disk, Counter::default())
            .expect("memory storage always loads and the configuration was validated")
    }
}

/// The leader of the highest term among live nodes, if any.
pub fn current_leader<N, S>(sim: &Simulation<Raft<N, S>>) -> Option<NodeId>
where
    N: super::StateMachine,
    S: super::Storage<N::Command>,
{
    sim.nodes()
        .filter(|(_, n)| n.role() == Role::Leader)
        .max_by_key(|(_, n)| n.term())
        .map(|(id, _)| id)
}

/// The request id with which [`drive_client`] opens its session; its
/// proposals have ids from 1.
pub const OPEN_SESSION_ID: RequestId = 0;

/// Schedules a client that opens a session (dissertation §6.3), then,
/// every `period` from `from` to `until`, proposes `+1` to the current
/// leader under it (seq = request id), so that the counter's final value
/// is exactly the number of distinct commands applied. Until a leader has
/// answered [`OPEN_SESSION_ID`] with [`RaftEvent::SessionOpened`], a tick
/// asks the current leader to open the session instead (at most once per
/// 100 ms); an extra session opened meanwhile is left unused.
pub fn drive_client(
    sim: &mut Simulation<SimRaft>,
    from: Duration,
    until: Duration,
    period: Duration,
) {
    #[derive(Clone, Copy)]
    struct Client {
        session: Option<u64>,
        asked_at: Option<Duration>,
        seq: u64,
    }
    fn opened(sim: &Simulation<SimRaft>) -> Option<u64> {
        sim.all_events()
            .into_iter()
            .find_map(|(_, e)| match e.event {
                RaftEvent::SessionOpened { id, client } if id == OPEN_SESSION_ID => Some(client),
                _ => None,
            })
    }
    fn tick(sim: &mut Simulation<SimRaft>, mut c: Client, until: Duration, period: Duration) {
        c.session = c.session.or_else(|| opened(sim));
        if let Some(leader) = current_leader(sim) {
            match c.session {
                Some(client) => {
                    let request = RaftRequest::Propose {
                        id: c.seq.into(),
                        command: 1,
                        session: Some(Session { client, seq: c.seq }),
                    };
                    sim.request(leader, request)
                        .expect("the leader is a live node");
                    c.seq += 1;
                }
                None if c
                    .asked_at
                    .is_none_or(|at| sim.now() >= at + Duration::from_millis(100)) =>
                {
                    let request = RaftRequest::OpenSession {
                        id: OPEN_SESSION_ID,
                    };
                    sim.request(leader, request)
                        .expect("the leader is a live node");
                    c.asked_at = Some(sim.now());
                }
                None => {}
            }
        }
        let next = sim.now() + period;
        if next < until {
            sim.call_at(next, move |sim| tick(sim, c, until, period));
        }
    }
    let client = Client {
        session: None,
        asked_at: None,
        seq: 1,
    };
    sim.call_at(from, move |sim| tick(sim, client, until, period));
}

/// Every index some leader acknowledged as applied ([`RaftEvent::Applied`]).
pub fn acknowledged(sim: &Simulation<SimRaft>) -> Vec<u64> {
    sim.all_events()
        .into_iter()
        .filter_map(|(_, e)| match e.event {
            RaftEvent::Applied { index, .. } => Some(index),
            _ => None,
        })
        .collect()
}

/// Liveness, once faults stop: a leader is up, and every acknowledged
/// proposal is applied on every live node.
pub fn check_liveness(sim: &Simulation<SimRaft>) -> Result<(), String> {
    if current_leader(sim).is_none() {
        return Err("no leader at the end of the run".into());
    }
    let highest = acknowledged(sim).into_iter().max().unwrap_or(0);
    for (id, node) in sim.nodes() {
        if node.last_applied() < highest {
            return Err(format!(
                "{id} has applied up to {} but {highest} was acknowledged",
                node.last_applied()
            ));
        }
    }
    Ok(())
}

/// Has the cluster converged? A leader is up with every node a voter,
/// everything in its log is committed, and every live node has applied
/// all of it.
pub fn converged(sim: &Simulation<SimRaft>) -> bool {
    let Some(leader) = current_leader(sim).and_then(|id| sim.node(id)) else {
        return false;
    };
    let last = leader.log().last_index();
    leader.membership().voters.len() == sim.len()
        && leader.commit_index() == last
        && sim.nodes().all(|(_, n)| n.last_applied() == last)
}

/// Liveness, once faults stop (Raft §5, "available as long as a majority
/// is up and can talk"): runs until the cluster has [`converged`], at most
/// until `deadline`, then checks that every acknowledged proposal is
/// applied on every live node.
pub fn await_liveness(sim: &mut Simulation<SimRaft>, deadline: Duration) -> Result<(), String> {
    let done = sim
        .run_until_condition(deadline, converged)
        .map_err(|e| e.to_string())?;
    if !done {
        let states: Vec<String> = sim.nodes().map(|(id, n)| format!("{id}: {n:?}")).collect();
        return Err(format!(
            "not converged by {deadline:?}: {}",
            states.join("; ")
        ));
    }
    check_liveness(sim)
}

/// How long after the last fault the cluster is given to recover before
/// liveness is judged (or 20 longest election timeouts, if longer).
pub const SETTLE: Duration = Duration::from_secs(5);

/// How long a run without faults is given to elect a leader and serve
/// before liveness is judged (or 4 longest election timeouts, if longer).
pub const STARTUP: Duration = Duration::from_secs(1);

/// Raft's timing requirement (§5.6: broadcastTime ≪ electionTimeout ≪
/// MTBF), if this run breaks it: a round trip as long as the shortest
/// election timeout means followers time out before a leader's heartbeat
/// can reach them, and elections keep failing.
fn timing_broken(config: &RaftConfig, options: &SimOptions) -> Option<String> {
    let timeout = config.election_timeout_min;
    let round_trip = options.latency.max * 2;
    (round_trip >= timeout).then(|| {
        format!(
            "Raft needs broadcastTime ≪ electionTimeout (§5.6), and this run's round trip \
             (up to {round_trip:?}) reaches the shortest election timeout ({timeout:?})"
        )
    })
}

fn history(make: fn() -> HistoryCheck<SimRaft>) -> Check<SimRaft> {
    Check::history(make)
}

/// `dsys sim raft`: a client proposes every 10 ms to whoever leads; the five
/// safety properties are checked after every event; liveness is judged if
/// the run lasts [`SETTLE`] past the last fault ([`STARTUP`] without
/// faults), and its failure is expected when the latency breaks Raft's
/// timing requirement. Snapshots every 64 entries,
/// so a restarted node may catch up by InstallSnapshot.
///
/// Its settings are Raft's timing and extensions:
/// `--set election-timeout-ms=20..40 --latency-ms 10..30` breaks the timing
/// requirement, `--set pre-vote=false` lets a rejoining node disrupt the
/// leader.
pub const ALGORITHM: Algorithm = Algorithm {
    name: "raft",
    summary: "Raft consensus: elections, replication, snapshots; the five safety properties after every event",
    run: simulate,
    model: Some(check_model),
    settings: &[
        SettingInfo {
            name: "election-timeout-ms",
            default: "150..300",
            help: "MIN..MAX: a follower that hears no leader for a random time in this range \
                   stands for election (§5.2)",
        },
        SettingInfo {
            name: "heartbeat-ms",
            default: "50",
            help: "how often a leader sends AppendEntries when it has nothing new (below the \
                   election timeout)",
        },
        SettingInfo {
            name: "snapshot-threshold",
            default: "64",
            help: "applied entries after which a node compacts its log into a snapshot (§7)",
        },
        SettingInfo {
            name: "pre-vote",
            default: "true",
            help: "true or false: a candidate first asks whether it could win (dissertation §9.6)",
        },
        SettingInfo {
            name: "check-quorum",
            default: "true",
            help: "true or false: a leader that has not heard from a majority steps down",
        },
    ],
    defects: &[
        DefectInfo {
            name: "grants-two-votes",
            breaks: "a server votes for every candidate of a term, not just the first (Election Safety; dsys check raft finds it in 6 steps, and split votes are common in dsys sim with --set pre-vote=false --set election-timeout-ms=150..152)",
        },
        DefectInfo {
            name: "vote-not-persisted",
            breaks: "a server answers RequestVote before its vote is durable, so after a crash it votes again in the same term (Election Safety; the crash must fall between its vote and the next election: dsys check raft finds it in 8 steps)",
        },
        DefectInfo {
            name: "commits-previous-term",
            breaks: "a leader commits an entry of an earlier term by counting replicas: Figure 8's mistake (Leader Completeness; dsys check raft starts from Figure 8's second state and finds it in 11 steps)",
        },
        DefectInfo {
            name: "reads-without-read-index",
            breaks: "any server answers a read at once from its own state machine, with no read-index round (linearizability of the clients' reads: dsys check raft adds clients and finds a stale read at a follower in 9 steps; dsys sim raft judges logs, not reads, and does not see it)",
        },
    ],
};

/// The defect `name` asks for.
fn defect(name: Option<&str>) -> dsys_core::Result<Option<Defect>> {
    Ok(match ALGORITHM.defect_named(name)? {
        Some("commits-previous-term") => Some(Defect::CommitsPreviousTerm),
        Some("grants-two-votes") => Some(Defect::GrantsTwoVotes),
        Some("reads-without-read-index") => Some(Defect::ReadsWithoutReadIndex),
        Some(_) => Some(Defect::VoteNotPersisted),
        None => None,
    })
}

fn check_model(options: &ModelOptions) -> dsys_core::Result<ModelVerdict> {
    super::model::check_model(options, defect(options.defect.as_deref())?)
}

/// The configuration `options`' settings choose, validated.
fn configured(options: &SimOptions) -> dsys_core::Result<RaftConfig> {
    let timeout: LatencyRange = ALGORITHM.setting(options, "election-timeout-ms")?;
    let config = RaftConfig {
        election_timeout_min: timeout.min,
        election_timeout_max: timeout.max,
        heartbeat_interval: Duration::from_millis(ALGORITHM.setting(options, "heartbeat-ms")?),
        snapshot_threshold: ALGORITHM.setting(options, "snapshot-threshold")?,
        pre_vote: ALGORITHM.setting(options, "pre-vote")?,
        check_quorum: ALGORITHM.setting(options, "check-quorum")?,
        defect: defect(options.defect.as_deref())?,
        ..sim_config()
    };
    config.validate().map_err(|e| {
        dsys_core::Error::InvalidConfig(format!("the settings do not make a valid Raft: {e}"))
    })?;
    Ok(config)
}

/// The configuration `dsys sim raft` runs.
pub fn sim_config() -> RaftConfig {
    RaftConfig {
        snapshot_threshold: 64,
        ..RaftConfig::default()
    }
}

fn last_fault(options: &SimOptions) -> Option<Duration> {
    let partitions = options
        .partitions
        .iter()
        .map(|p| p.to.unwrap_or(Duration::MAX));
    options
        .crashes
        .iter()
        .chain(&options.restarts)
        .map(|c| c.at)
        .chain(partitions)
        .max()
}

fn simulate(options: &SimOptions) -> dsys_core::Result<Outcome> {
    let until = options.until;
    let config = configured(options)?;
    let timing = timing_broken(&config, options);
    // Longer election timeouts (a setting) need longer to elect a leader.
    let startup = STARTUP.max(config.election_timeout_max * 4);
    let settle = SETTLE.max(config.election_timeout_max * 20);
    run_scenario_with(
        ALGORITHM.name,
        options,
        cluster(config),
        &[
            Property {
                name: "Election Safety (§5.2)",
                check: history(|| {
                    let mut c = ElectionSafety::new();
                    Box::new(move |nodes| c.check(&views(nodes)))
                }),
            },
            Property {
                name: "Leader Append-Only (§5.3)",
                check: history(|| {
                    let mut c = LeaderAppendOnly::new();
                    Box::new(move |nodes| c.check(&views(nodes)))
                }),
            },
            Property {
                name: "Log Matching (§5.3)",
                check: history(|| {
                    let mut c = LogMatching::new();
                    Box::new(move |nodes| c.check(&views(nodes)))
                }),
            },
            Property {
                name: "Leader Completeness (§5.4)",
                check: history(|| {
                    let mut c = LeaderCompleteness::new();
                    Box::new(move |nodes| c.check(&views(nodes)))
                }),
            },
            Property {
                name: "State Machine Safety (§5.4.3)",
                check: history(|| {
                    let mut c = StateMachineSafety::new();
                    Box::new(move |nodes| c.check(&views(nodes)))
                }),
            },
            Property {
                name: "liveness after faults",
                check: Check::at_end(move |sim, options| {
                    let judged_from = match last_fault(options) {
                        Some(Duration::MAX) => {
                            return Verdict::Skipped("a partition never heals".into())
                        }
                        Some(last) => last + settle,
                        None => startup,
                    };
                    if options.until < judged_from {
                        return Verdict::Skipped(format!(
                            "the run ends before {judged_from:?}: {startup:?} to start, \
                             {settle:?} after the last fault"
                        ));
                    }
                    Verdict::unless_broken(check_liveness(sim), timing.clone())
                }),
            },
            Property {
                name: "elections won",
                check: Check::figure(|sim: &Simulation<SimRaft>, _| {
                    let won = sim
                        .all_events()
                        .into_iter()
                        .filter(|(_, e)| {
                            matches!(
                                e.event,
                                RaftEvent::RoleChanged {
                                    role: Role::Leader,
                                    ..
                                }
                            )
                        })
                        .count();
                    let term = sim.nodes().map(|(_, n)| n.term()).max().unwrap_or(0);
                    format!("{won} (highest term {term})")
                }),
            },
            Property {
                name: "commands committed",
                check: Check::figure(|sim, _| {
                    let acked = acknowledged(sim).len();
                    let commits: Vec<String> = sim
                        .ids()
                        .map(|id| match sim.node(id) {
                            Some(n) => format!("{id}:{}", n.commit_index()),
                            None => format!("{id}:down"),
                        })
                        .collect();
                    format!("{acked} acknowledged; commit index {}", commits.join(" "))
                }),
            },
        ],
        move |sim| {
            // The client stops a little before the end, so that what it was
            // told is committed has time to reach everyone.
            let stop = until.saturating_sub(Duration::from_millis(500));
            drive_client(
                sim,
                Duration::from_millis(100),
                stop,
                Duration::from_millis(10),
            );
            Ok(())
        },
    )
}
