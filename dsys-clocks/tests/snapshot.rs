//! Chandy–Lamport snapshots (Chandy & Lamport 1985): the marker rules as
//! exact-effect handler tests; consistency and money conservation over many
//! seeds with random transfers, random latencies and concurrent initiators;
//! and the checkers catching what goes wrong outside the algorithm's
//! assumptions — a snapshot that records without waiting for markers, and a
//! network that reorders messages.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use dsys_clocks::snapshot::bank::{
    self, Bank, BankConfig, BankEvent, BankRequest, NextTransfer, Transfer,
};
use dsys_clocks::snapshot::{
    recording_cut, Channel, GlobalSnapshot, LocalSnapshot, SnapshotConfig, SnapshotEvent,
    SnapshotId, SnapshotMsg, SnapshotRequest, SnapshotTimer, Snapshotting, ALGORITHM,
};
use dsys_core::rand::{RngExt, SeedableRng};
use dsys_core::scenario::{SimOptions, Verdict};
use dsys_core::sim::{Latency, LinkConfig, Ordering, Simulation};
use dsys_core::testing::{check_seeds, Harness};
use dsys_core::{Context, Effect, EffectOf, Input, Node, NodeId, NodeRng, Wrapper};

const fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// A branch whose timer delay is fixed, so handler tests know it.
fn branch() -> Bank {
    Bank::new(BankConfig {
        transfer_every_min: ms(5),
        transfer_every_max: ms(5),
        ..BankConfig::default()
    })
    .unwrap()
}

fn with_balance(balance: u64) -> Bank {
    Bank::new(BankConfig {
        initial_balance: balance,
        ..*branch().config()
    })
    .unwrap()
}

fn id(initiator: u32, seq: u64) -> SnapshotId {
    SnapshotId {
        initiator: NodeId(initiator),
        seq,
    }
}

type Wrapped = Snapshotting<Bank>;
type Effects = Vec<EffectOf<Wrapped>>;

fn marker(to: u32, snapshot: SnapshotId) -> EffectOf<Wrapped> {
    Effect::Send {
        to: NodeId(to),
        msg: SnapshotMsg::Marker(snapshot),
    }
}

fn app(amount: u64) -> SnapshotMsg<Bank> {
    SnapshotMsg::App(Transfer { amount })
}

// ----- handler tests: the marker rules, exact effects (STYLE.md #9) -------

// Chandy & Lamport §3.2, marker-receiving rule, first marker: record
// the state, send a marker on every outgoing channel (back to the sender
// too), record the channel the marker came on as empty.
#[test]
fn first_marker_records_the_state_and_sends_markers_on_every_outgoing_channel() {
    let mut h = Harness::new(Snapshotting::new(branch()), NodeId(1), 3);
    // The wrapped node's timer travels wrapped, its value unchanged inside.
    assert_eq!(
        h.start(),
        vec![Effect::SetTimer {
            after: ms(5),
            timer: SnapshotTimer::App(NextTransfer),
        }] as Effects
    );
    let s = id(0, 0);
    assert_eq!(
        h.message(NodeId(0), SnapshotMsg::Marker(s)),
        vec![
            Effect::Emit(SnapshotEvent::Recorded(s)),
            marker(0, s),
            marker(2, s),
        ]
    );
    assert_eq!(h.node().recording().collect::<Vec<_>>(), vec![s]);
    assert_eq!(h.node().awaiting_markers(s), vec![NodeId(2)]);
    assert_eq!(h.node().recorded_messages(s, NodeId(0)), Some(&[][..]));
}

// §3.2, marker-receiving rule, later marker: the channel's state is what
// arrived on it since the recording; then the node's part goes to the
// initiator.
#[test]
fn later_marker_closes_its_channel_and_the_part_goes_to_the_initiator() {
    let mut h = Harness::new(Snapshotting::new(branch()), NodeId(1), 3);
    h.start();
    let s = id(0, 0);
    h.message(NodeId(0), SnapshotMsg::Marker(s));
    // In transit on n2 → n1 (still open): recorded, and delivered as usual.
    assert_eq!(h.message(NodeId(2), app(7)), vec![] as Effects);
    assert_eq!(h.node().inner().balance(), 107);
    assert_eq!(
        h.node().recorded_messages(s, NodeId(2)),
        Some(&[Transfer { amount: 7 }][..])
    );
    // After the marker on n0 → n1: not part of the snapshot.
    assert_eq!(h.message(NodeId(0), app(3)), vec![] as Effects);
    assert_eq!(h.node().recorded_messages(s, NodeId(0)), Some(&[][..]));
    // The last marker: the state recorded at the first marker (100), and
    // each incoming channel's state.
    assert_eq!(
        h.message(NodeId(2), SnapshotMsg::Marker(s)),
        vec![Effect::Send {
            to: NodeId(0),
            msg: SnapshotMsg::Report {
                snapshot: s,
                local: LocalSnapshot {
                    state: branch(),
                    incoming: BTreeMap::from([
                        (NodeId(0), vec![]),
                        (NodeId(2), vec![Transfer { amount: 7 }]),
                    ]),
                },
            },
        }]
    );
    assert_eq!(h.node().recording().count(), 0);
    // A duplicated marker of a finished snapshot starts nothing.
    assert_eq!(
        h.message(NodeId(2), SnapshotMsg::Marker(s)),
        vec![] as Effects
    );
}

#[test]
fn the_initiator_collects_every_part_and_emits_the_global_snapshot() {
    let mut h = Harness::new(Snapshotting::new(branch()), NodeId(0), 3);
    h.start();
    let s = id(0, 0);
    assert_eq!(
        h.request(SnapshotRequest::Snapshot),
        vec![
            Effect::Emit(SnapshotEvent::Recorded(s)),
            marker(1, s),
            marker(2, s),
        ]
    );
    assert_eq!(h.node().collecting().collect::<Vec<_>>(), vec![s]);
    assert_eq!(h.message(NodeId(1), app(4)), vec![] as Effects);
    assert_eq!(
        h.message(NodeId(1), SnapshotMsg::Marker(s)),
        vec![] as Effects
    );
    let part = |balance, incoming: Vec<(u32, Vec<Transfer>)>| LocalSnapshot {
        state: with_balance(balance),
        incoming: incoming
            .into_iter()
            .map(|(from, msgs)| (NodeId(from), msgs))
            .collect(),
    };
    let report = |local| SnapshotMsg::Report { snapshot: s, local };
    assert_eq!(
        h.message(NodeId(1), report(part(90, vec![(0, vec![]), (2, vec![])]))),
        vec![] as Effects
    );
    // n0's own part is complete now; it waits for n2's.
    assert_eq!(
        h.message(NodeId(2), SnapshotMsg::Marker(s)),
        vec![] as Effects
    );
    let n2 = part(105, vec![(0, vec![]), (1, vec![Transfer { amount: 6 }])]);
    let channel = |from, to| Channel {
        from: NodeId(from),
        to: NodeId(to),
    };
    let expected = GlobalSnapshot {
        id: s,
        states: BTreeMap::from([
            (NodeId(0), branch()),
            (NodeId(1), with_balance(90)),
            (NodeId(2), with_balance(105)),
        ]),
        channels: BTreeMap::from([
            (channel(1, 0), vec![Transfer { amount: 4 }]),
            (channel(2, 0), vec![]),
            (channel(0, 1), vec![]),
            (channel(2, 1), vec![]),
            (channel(0, 2), vec![]),
            (channel(1, 2), vec![Transfer { amount: 6 }]),
        ]),
    };
    assert_eq!(
        h.message(NodeId(2), report(n2)),
        vec![Effect::Emit(SnapshotEvent::Completed(expected.clone()))]
    );
    assert_eq!(bank::total(&expected), 100 + 90 + 105 + 4 + 6);
    assert_eq!(h.node().collecting().count(), 0);
}

#[test]
fn the_wrapped_nodes_requests_timers_and_events_pass_through() {
    let mut h = Harness::new(Snapshotting::new(branch()), NodeId(0), 2);
    h.start();
    let transfer = |amount| {
        SnapshotRequest::App(BankRequest::Transfer {
            to: NodeId(1),
            amount,
        })
    };
    assert_eq!(
        h.request(transfer(10)),
        vec![Effect::Send {
            to: NodeId(1),
            msg: app(10),
        }]
    );
    assert_eq!(
        h.request(transfer(1000)),
        vec![Effect::Emit(SnapshotEvent::App(
            BankEvent::InsufficientFunds {
                amount: 1000,
                balance: 90,
            }
        ))]
    );
    let effects = h.timer(SnapshotTimer::App(NextTransfer));
    assert!(
        matches!(
            effects.as_slice(),
            [
                Effect::Send { to: NodeId(1), msg: SnapshotMsg::App(Transfer { amount: 1..=30 }) },
                Effect::SetTimer { after, timer: SnapshotTimer::App(NextTransfer), .. },
            ] if *after == ms(5)
        ),
        "{effects:?}"
    );
}

// A node that has sent itself a message has a channel to itself, and it is
// recorded like any other.
#[test]
fn the_channel_to_itself_is_recorded_once_used() {
    let mut h = Harness::new(Snapshotting::new(branch()), NodeId(0), 2);
    h.start();
    h.request(SnapshotRequest::App(BankRequest::Transfer {
        to: NodeId(0),
        amount: 5,
    }));
    let s = id(0, 0);
    assert_eq!(
        h.request(SnapshotRequest::Snapshot),
        vec![
            Effect::Emit(SnapshotEvent::Recorded(s)),
            marker(1, s),
            marker(0, s),
        ]
    );
    assert_eq!(h.node().awaiting_markers(s), vec![NodeId(0), NodeId(1)]);
    h.message(NodeId(0), app(5)); // the transfer to itself, sent before the marker
    h.message(NodeId(0), SnapshotMsg::Marker(s));
    assert_eq!(h.node().awaiting_markers(s), vec![NodeId(1)]);
    assert_eq!(
        h.node().recorded_messages(s, NodeId(0)),
        Some(&[Transfer { amount: 5 }][..])
    );
}

#[test]
fn periodic_initiation_is_bounded_by_in_progress_max() {
    let config = SnapshotConfig {
        initiate_every: Some(ms(10)),
        in_progress_max: 1,
    };
    let mut h = Harness::new(
        Snapshotting::with_config(branch(), config).unwrap(),
        NodeId(0),
        2,
    );
    assert_eq!(
        h.start(),
        vec![
            Effect::SetTimer {
                after: ms(5),
                timer: SnapshotTimer::App(NextTransfer),
            },
            Effect::SetTimer {
                after: ms(10),
                timer: SnapshotTimer::Initiate,
            },
        ] as Effects
    );
    let again = || Effect::SetTimer {
        after: ms(10),
        timer: SnapshotTimer::Initiate,
    };
    let s = id(0, 0);
    assert_eq!(
        h.timer(SnapshotTimer::Initiate),
        vec![
            Effect::Emit(SnapshotEvent::Recorded(s)),
            marker(1, s),
            again()
        ]
    );
    assert_eq!(
        h.timer(SnapshotTimer::Initiate),
        vec![
            Effect::Emit(SnapshotEvent::Refused { in_progress: 1 }),
            again()
        ]
    );
}

// ----- simulation tests ---------------------------------------------------

/// What one simulated run produced.
struct Run {
    sim: Simulation<Wrapped>,
    /// Each initiated snapshot with its initiation time.
    initiated: Vec<(SnapshotId, Duration)>,
    completed: Vec<GlobalSnapshot<Bank>>,
}

impl Run {
    fn collect(sim: Simulation<Wrapped>) -> Run {
        let mut initiated = Vec::new();
        let mut completed = Vec::new();
        for (node, emitted) in sim.all_events() {
            match &emitted.event {
                SnapshotEvent::Recorded(s) if s.initiator == node => {
                    initiated.push((*s, emitted.time))
                }
                SnapshotEvent::Completed(snapshot) => completed.push(snapshot.clone()),
                _ => {}
            }
        }
        Run {
            sim,
            initiated,
            completed,
        }
    }

    fn total(&self) -> u64 {
        BankConfig::default().total(self.sim.len())
    }

    /// The first problem with any completed snapshot.
    fn check(&self) -> Result<(), String> {
        let trace = self.sim.trace().expect("traced");
        for snapshot in &self.completed {
            bank::check_conservation(snapshot, self.total()).map_err(|e| e.to_string())?;
            snapshot.check_against_trace(trace)?;
        }
        Ok(())
    }
}

/// A bank of `nodes` branches on the given links; n0 and the last node
/// initiate periodically (at different periods, so snapshots overlap), and
/// random nodes are asked for snapshots at random times.
fn run_bank(
    seed: u64,
    nodes: usize,
    link: impl Fn(&mut NodeRng) -> LinkConfig,
    until: Duration,
) -> Run {
    let branch = Bank::new(BankConfig::default()).unwrap();
    let plain = Snapshotting::new(branch.clone());
    let first = Snapshotting::with_config(branch.clone(), SnapshotConfig::every(ms(40))).unwrap();
    let last = Snapshotting::with_config(branch, SnapshotConfig::every(ms(55))).unwrap();
    let mut sim = Simulation::new(nodes, seed, move |id| match id.index() {
        0 => first.clone(),
        i if i + 1 == nodes => last.clone(),
        _ => plain.clone(),
    });
    sim.enable_trace();
    let mut rng = NodeRng::seed_from_u64(seed ^ 0x5EED);
    for from in 0..nodes as u32 {
        for to in 0..nodes as u32 {
            sim.set_link(NodeId(from), NodeId(to), link(&mut rng))
                .unwrap();
        }
    }
    for _ in 0..4 {
        let at = ms(rng.random_range(0..until.as_millis() as u64));
        let node = NodeId(rng.random_range(0..nodes as u32));
        sim.request_at(at, node, SnapshotRequest::Snapshot).unwrap();
    }
    sim.run_until(until).unwrap();
    Run::collect(sim)
}

/// FIFO links, each with its own random latency range within 1–30 ms.
fn fifo(rng: &mut NodeRng) -> LinkConfig {
    let min = rng.random_range(1..10);
    let max = rng.random_range(min..30);
    LinkConfig::reliable(Latency::uniform_ms(min, max))
}

fn reordering(rng: &mut NodeRng) -> LinkConfig {
    fifo(rng).with_ordering(Ordering::Reorder)
}

fn overlapping(run: &Run) -> bool {
    let done: BTreeMap<SnapshotId, Duration> = run
        .sim
        .all_events()
        .into_iter()
        .filter_map(|(_, e)| match &e.event {
            SnapshotEvent::Completed(s) => Some((s.id, e.time)),
            _ => None,
        })
        .collect();
    let spans: Vec<(Duration, Duration)> = run
        .initiated
        .iter()
        .filter_map(|(s, start)| done.get(s).map(|end| (*start, *end)))
        .collect();
    spans
        .iter()
        .enumerate()
        .any(|(i, a)| spans[i + 1..].iter().any(|b| a.0 < b.1 && b.0 < a.1))
}

// Chandy & Lamport §4 (Theorem 1): the recorded global state is consistent
// — the cut has no orphan message (vector timestamps) and the channel states
// are exactly what crossed it — and reachable, so the money adds up as it
// does in every reachable state; §3.3: every snapshot completes.
#[test]
fn snapshots_are_consistent_and_conserve_money_over_200_seeds() {
    let seen = check_fifo_runs(0..200);
    // The test exercises what it claims to.
    assert!(
        seen.completed > 200 * 10,
        "only {} snapshots completed",
        seen.completed
    );
    assert!(
        seen.with_money_in_transit > seen.completed / 2,
        "only {} of {} snapshots caught money in transit",
        seen.with_money_in_transit,
        seen.completed
    );
    assert!(
        seen.concurrent_runs > 100,
        "only {} runs had concurrent snapshots",
        seen.concurrent_runs
    );
}

/// The soak: `cargo test -p dsys-clocks --test snapshot -- --ignored`.
#[test]
#[ignore = "soak: thousands of seeds"]
fn snapshots_are_consistent_over_5000_seeds() {
    check_fifo_runs(0..5000);
}

#[derive(Debug, Default)]
struct Seen {
    completed: usize,
    with_money_in_transit: usize,
    concurrent_runs: usize,
}

/// Runs the bank on FIFO links with 2 to 6 branches for each seed and
/// checks every completed snapshot; panics naming the first failing seed.
fn check_fifo_runs(seeds: std::ops::Range<u64>) -> Seen {
    let until = ms(400);
    let mut seen = Seen::default();
    check_seeds(seeds, |seed| {
        let nodes = 2 + (seed % 5) as usize;
        let run = run_bank(seed, nodes, fifo, until);
        run.check()
            .map_err(|why| format!("{nodes} branches: {why}"))?;
        // Termination: everything initiated 100 ms (> 3 × 30 ms) before the end completed.
        let done: BTreeSet<SnapshotId> = run.completed.iter().map(|s| s.id).collect();
        if let Some((s, at)) = run
            .initiated
            .iter()
            .find(|(s, at)| *at + ms(100) <= until && !done.contains(s))
        {
            return Err(format!(
                "{nodes} branches: snapshot {s} initiated at {at:?} never completed"
            ));
        }
        seen.completed += run.completed.len();
        seen.with_money_in_transit += run
            .completed
            .iter()
            .filter(|s| s.in_transit().next().is_some())
            .count();
        seen.concurrent_runs += usize::from(overlapping(&run));
        Ok::<(), String>(())
    });
    seen
}

#[test]
fn dsys_sim_snapshot_reports_its_properties() {
    let options = SimOptions {
        nodes: 4,
        seed: 1,
        ..SimOptions::default()
    };
    let outcome = (ALGORITHM.run)(&options).unwrap();
    let report = &outcome.report;
    assert!(report.passed(), "{report}");
    let names: Vec<&str> = report.verdicts.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["money conserved", "consistent cut", "termination"]);
    assert!(
        report.verdicts.iter().all(|(_, v)| *v == Verdict::Holds),
        "{report}"
    );
    assert!(
        outcome.trace.is_none(),
        "the trace is returned only when asked for"
    );
    let traced = SimOptions {
        trace: true,
        ..options
    };
    assert!((ALGORITHM.run)(&traced).unwrap().trace.is_some());
}

// Chandy–Lamport assumes FIFO channels: on links that reorder, a transfer
// sent after the marker overtakes it (counted twice) or one sent before
// arrives after it (counted nowhere). The same checkers catch it.
#[test]
fn a_network_that_reorders_breaks_the_snapshot() {
    let mut unbalanced = 0;
    let mut inconsistent = 0;
    for seed in 0..20 {
        let run = run_bank(seed, 4, reordering, ms(300));
        let trace = run.sim.trace().unwrap();
        for snapshot in &run.completed {
            unbalanced += usize::from(bank::check_conservation(snapshot, run.total()).is_err());
            inconsistent += usize::from(snapshot.check_against_trace(trace).is_err());
        }
    }
    assert!(unbalanced > 0, "reordering never broke conservation");
    assert!(inconsistent > 0, "reordering never broke consistency");

    // And `dsys sim snapshot --reorder` says so, for some seed.
    let failing = (0..10).find(|&seed| {
        let options = SimOptions {
            nodes: 4,
            seed,
            reorder: true,
            ..SimOptions::default()
        };
        let report = (ALGORITHM.run)(&options).unwrap().report;
        matches!(report.verdicts[0].1, Verdict::Violated(_))
            && matches!(report.verdicts[1].1, Verdict::Violated(_))
    });
    assert!(
        failing.is_some(),
        "no seed in 0..10 broke conservation and consistency with --reorder"
    );
}

// ----- a deliberately broken snapshot -------------------------------------

/// A snapshot without markers: the initiator tells everyone to record, and
/// each node records its state the moment it hears — no marker on the
/// channels, no channel state. Money sent by a node after it recorded can
/// reach a node that has not recorded yet (an orphan: counted twice), and
/// money in transit is counted nowhere.
#[derive(Clone, Debug)]
struct NoMarkers {
    bank: Bank,
    next_seq: u64,
    collecting: BTreeMap<SnapshotId, BTreeMap<NodeId, Bank>>,
}

impl NoMarkers {
    fn local(&self, ctx: &Context<'_, Self>) -> LocalSnapshot<Bank> {
        LocalSnapshot {
            state: self.bank.clone(),
            incoming: ctx.peers().iter().map(|&p| (p, Vec::new())).collect(),
        }
    }

    fn collect(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, s: SnapshotId, state: Bank) {
        let Some(parts) = self.collecting.get_mut(&s) else {
            return;
        };
        parts.insert(from, state);
        if parts.len() == ctx.cluster_size() {
            let states = self.collecting.remove(&s).unwrap();
            let mut channels = BTreeMap::new();
            for &to in states.keys() {
                for &from in states.keys().filter(|&&f| f != to) {
                    channels.insert(Channel { from, to }, Vec::new());
                }
            }
            ctx.emit(SnapshotEvent::Completed(GlobalSnapshot {
                id: s,
                states,
                channels,
            }));
        }
    }
}

impl Wrapper for NoMarkers {
    type Inner = Bank;

    fn inner_mut(&mut self) -> &mut Bank {
        &mut self.bank
    }

    fn translate(&mut self, ctx: &mut Context<'_, Self>, effect: EffectOf<Bank>) {
        ctx.record(effect.map(SnapshotMsg::App, SnapshotTimer::App, SnapshotEvent::App));
    }
}

impl Node for NoMarkers {
    type Msg = SnapshotMsg<Bank>;
    type Timer = SnapshotTimer<NextTransfer>;
    type Request = SnapshotRequest<BankRequest>;
    type Event = SnapshotEvent<Bank>;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.run_inner(ctx, Input::Start);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Self::Msg) {
        match msg {
            SnapshotMsg::App(msg) => self.run_inner(ctx, Input::Message { from, msg }),
            SnapshotMsg::Marker(s) => {
                ctx.emit(SnapshotEvent::Recorded(s));
                let local = self.local(ctx);
                ctx.send(s.initiator, SnapshotMsg::Report { snapshot: s, local });
            }
            SnapshotMsg::Report { snapshot, local } => {
                self.collect(ctx, from, snapshot, local.state)
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Self::Timer) {
        if let SnapshotTimer::App(timer) = timer {
            self.run_inner(ctx, Input::Timer(timer));
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Self::Request) {
        match request {
            SnapshotRequest::Snapshot => {
                let s = SnapshotId {
                    initiator: ctx.id(),
                    seq: self.next_seq,
                };
                self.next_seq += 1;
                self.collecting.insert(s, BTreeMap::new());
                ctx.emit(SnapshotEvent::Recorded(s));
                ctx.broadcast(SnapshotMsg::Marker(s));
                let me = ctx.id();
                self.collect(ctx, me, s, self.bank.clone());
            }
            SnapshotRequest::App(request) => {
                self.run_inner(ctx, Input::Request(request));
            }
        }
    }
}

#[test]
fn the_checkers_catch_a_snapshot_that_does_not_wait_for_markers() {
    let mut unbalanced = 0;
    let mut orphans = 0;
    let mut example = None;
    for seed in 0..20 {
        let bank = Bank::new(BankConfig::default()).unwrap();
        let mut sim = Simulation::new(4, seed, move |_| NoMarkers {
            bank: bank.clone(),
            next_seq: 0,
            collecting: BTreeMap::new(),
        });
        sim.set_all_links(LinkConfig::reliable(Latency::uniform_ms(1, 20)))
            .unwrap();
        sim.enable_trace();
        for i in 1..=5 {
            sim.request_at(
                ms(40 * i),
                NodeId((i % 4) as u32),
                SnapshotRequest::Snapshot,
            )
            .unwrap();
        }
        sim.run_until(ms(300)).unwrap();
        let trace = sim.trace().unwrap();
        for (_, emitted) in sim.all_events() {
            let SnapshotEvent::Completed(snapshot) = &emitted.event else {
                continue;
            };
            unbalanced += usize::from(bank::check_conservation(snapshot, 400).is_err());
            let cut = recording_cut(trace, snapshot.id, 4).expect("every node recorded");
            if let Err(why) = cut.check() {
                orphans += 1;
                assert!(why.orphan.is_some(), "the checker names the orphan: {why}");
                example.get_or_insert_with(|| why.to_string());
            }
        }
    }
    assert!(
        unbalanced > 0,
        "conservation never caught the broken snapshot"
    );
    assert!(
        orphans > 0,
        "the consistent-cut checker never caught the broken snapshot"
    );
    println!("caught: {}", example.unwrap());
}
