//! Local clocks, durable restarts, the first violation, messages as a
//! set, and the TwoPhase benchmark's state counts.

use super::*;

/// Sets a 10 ms and a 5 ms timer at start, and a 7 ms one from the first
/// firing; writes down when (on its clock) each fired. Counts requests
/// twice: once in `kept` (what it makes durable) and once in `seen`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Clocked {
    fired: Vec<(u8, Duration)>,
    kept: u32,
    seen: u32,
}

impl Node for Clocked {
    type Msg = RacyMsg;
    type Timer = u8;
    type Request = ();
    type Event = ();

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        ctx.set_timer(Duration::from_millis(10), 10);
        ctx.set_timer(Duration::from_millis(5), 5);
    }

    fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, _: RacyMsg) {}

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: u8) {
        if self.fired.is_empty() {
            ctx.set_timer(Duration::from_millis(7), 7);
        }
        self.fired.push((timer, ctx.now()));
    }

    fn on_request(&mut self, _: &mut Context<'_, Self>, (): ()) {
        self.kept += 1;
        self.seen += 1;
    }
}

/// Every order in which node 0's timers fired, in the runs' last states.
fn firing_orders(model: Model<Clocked>) -> Vec<Vec<(u8, Duration)>> {
    let orders = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&orders);
    let report = model
        .property(Property::eventually(
            "recorded",
            move |n: &[Option<Clocked>]| {
                let fired = n[0].as_ref().map(|c| c.fired.clone()).unwrap_or_default();
                seen.lock().unwrap().push(fired);
                true
            },
        ))
        .check();
    assert!(report.passed() && report.exhaustive, "{report}");
    let mut orders = orders.lock().unwrap().clone();
    orders.sort();
    orders.dedup();
    orders
}

#[test]
fn local_clocks_fire_a_nodes_timers_in_deadline_order_and_move_its_clock() {
    let ms = Duration::from_millis;
    // With local clocks one order only: 5 at 5 ms, then 10 at 10 ms (the
    // 7 ms timer set at 5 ms is due at 12 ms), then 7 at 12 ms.
    let clocked = firing_orders(Model::new(1, |_| Clocked::default()).local_clocks());
    assert_eq!(clocked, vec![vec![(5, ms(5)), (10, ms(10)), (7, ms(12))]]);
    // Without them the clock reads zero and any pending timer may fire
    // next: 5 or 10 first, and 7 before, between or after.
    let free = firing_orders(Model::new(1, |_| Clocked::default()));
    assert_eq!(free.len(), 4, "{free:?}");
    assert!(free.iter().flatten().all(|(_, at)| *at == Duration::ZERO));
    assert!(free.contains(&vec![(10, ms(0)), (7, ms(0)), (5, ms(0))]));
}

/// A model of one `Clocked` node asked twice, crashing once.
fn asked_twice() -> Model<Clocked> {
    Model::new(1, |_| Clocked::default())
        .request(NodeId(0), ())
        .request(NodeId(0), ())
        .timers_max(0)
        .crashes_max(1)
}

#[test]
fn restart_from_keeps_what_survives_a_crash_and_nothing_else() {
    let survivor = |_: NodeId, old: &Clocked| Clocked {
        kept: old.kept,
        ..Clocked::default()
    };
    // A restart after one request finds `kept` but not `seen`.
    let remembered = |n: &[Option<Clocked>]| n[0].as_ref().is_some_and(|c| c.kept > c.seen);
    let report = asked_twice()
        .restart_from(survivor)
        .property(Property::sometimes("kept, not seen", remembered))
        .property(Property::always(
            "kept never goes back",
            |n: &[Option<Clocked>]| match &n[0] {
                Some(c) if c.kept < c.seen => Err(format!("{c:?}")),
                _ => Ok(()),
            },
        ))
        .check();
    let Finding::Reached(path) = &report.findings[0].1 else {
        panic!("{report}");
    };
    assert_eq!(path, &["n0 is asked ()", "n0 crashes", "n0 restarts"]);
    assert!(report.passed(), "{report}");
    // Without it a restart is the factory's node: nothing is kept.
    let forgot = asked_twice()
        .property(Property::sometimes("kept", remembered))
        .check();
    assert_eq!(forgot.findings[0].1, Finding::Unreached, "{forgot}");
}

#[test]
fn a_replay_restarts_a_node_from_what_survived_its_crash() {
    let model = asked_twice().restart_from(|_, old: &Clocked| Clocked {
        kept: old.kept,
        ..Clocked::default()
    });
    let path = [
        Action::Request {
            node: NodeId(0),
            request: (),
        },
        Action::Crash(NodeId(0)),
        Action::Restart(NodeId(0)),
    ];
    let replayed = model.replay(&path).unwrap();
    let node = replayed.sim.states()[0].as_ref().expect("restarted");
    assert_eq!((node.kept, node.seen), (1, 0));
}

#[test]
fn a_search_stops_at_the_first_violation_unless_asked_for_all() {
    // Both properties break in 6 steps; the search stops at the first it
    // finds, and the other is left as it stood.
    let twice = |nodes: &[Option<Racy>]| match nodes.iter().flatten().find(|n| n.given >= 2) {
        Some(n) => Err(format!("granted {} times", n.given)),
        None => Ok(()),
    };
    let first = racy()
        .request(NodeId(0), true)
        .property(Property::always("nobody granted twice", twice))
        .check();
    let violated = |report: &ModelReport<Racy>| {
        report
            .findings
            .iter()
            .filter(|(_, f)| matches!(f, Finding::Violated { .. }))
            .count()
    };
    assert_eq!(violated(&first), 1, "{first}");
    assert!(
        first.findings.iter().any(|(_, f)| *f == Finding::Held),
        "{first}"
    );
    assert!(!first.exhaustive && first.bound.is_none(), "{first}");
    assert!(
        first.to_string().contains("stopped at the first violation"),
        "{first}"
    );
    let all = racy()
        .request(NodeId(0), true)
        .property(Property::always("nobody granted twice", twice))
        .all_violations()
        .check();
    assert_eq!(violated(&all), 2, "{all}");
    assert!(
        all.to_string()
            .contains("stopped once every property was decided"),
        "{all}"
    );
    assert!(all.states > first.states, "{first}\n{all}");
}

#[test]
fn two_phase_commit_has_tlcs_state_counts() {
    // TLC's distinct states for Lamport's TwoPhase with 3, 5 and 6
    // resource managers (7 and 8 are in the bench).
    for (resources, states) in [(3, 288), (5, 8_832), (6, 50_816)] {
        let report = two_phase::model(resources).check();
        assert!(report.passed() && report.exhaustive, "{report}");
        assert_eq!(
            report.states, states,
            "{resources} resource managers: {report}"
        );
    }
}

#[test]
fn tc_consistent_rejects_a_commit_beside_an_abort() {
    use two_phase::{consistent, RmState, TmState, TwoPhase};
    let manager = Some(TwoPhase::Manager {
        state: TmState::Committed,
        prepared: 0b110,
    });
    let rm = |s| Some(TwoPhase::Resource(s));
    assert!(consistent(&[
        manager.clone(),
        rm(RmState::Committed),
        rm(RmState::Aborted)
    ])
    .is_err());
    assert!(consistent(&[
        manager.clone(),
        rm(RmState::Aborted),
        rm(RmState::Committed)
    ])
    .is_err());
    assert!(consistent(&[
        manager.clone(),
        rm(RmState::Committed),
        rm(RmState::Prepared)
    ])
    .is_ok());
    assert!(consistent(&[manager, rm(RmState::Aborted), None]).is_ok());
}

#[test]
fn a_network_that_keeps_messages_delivers_them_again_and_loses_none() {
    // Racy's Ask, kept: n1 may grant it any number of times, but each
    // grant changes n1's count, so the search is bounded by depth only.
    let report = Model::new(2, |_| Racy::default())
        .request(NodeId(0), true)
        .keeps_messages()
        .crashes_max(1)
        .depth_max(8)
        .property(Property::sometimes(
            "granted three times",
            |n: &[Option<Racy>]| n[1].as_ref().is_some_and(|r| r.given >= 3),
        ))
        .check();
    assert!(
        matches!(report.findings[0].1, Finding::Reached(_)),
        "{report}"
    );
}

#[test]
fn a_byzantine_nodes_messages_arrive_as_any_of_its_lies() {
    // n1 never asks, but as a Byzantine node its Grant may arrive as an
    // Ask (which n0 then grants), as itself, or not at all.
    let lies = |msg: &RacyMsg| vec![None, Some(msg.clone()), Some(RacyMsg::Ask)];
    let model = || {
        Model::new(2, |_| Racy::default())
            .request(NodeId(0), true)
            .byzantine(NodeId(1), lies)
            .property(Property::always(
                "n0 never grants",
                |n: &[Option<Racy>]| match n[0].as_ref().is_some_and(|r| r.given > 0) {
                    true => Err("n0 granted".to_string()),
                    false => Ok(()),
                },
            ))
    };
    let report = model().check();
    let (_, path) = report.counterexample().expect("the forged Ask is granted");
    assert_eq!(
        path,
        [
            "n0 is asked true",
            "n1 delivers Ask from n0",
            "n0 delivers Ask from n1, a lie",
        ],
        "{report}"
    );
    // A forged message cannot be replayed in the simulator.
    let err = model()
        .replay(report.trail.as_deref().unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("Byzantine"), "{err}");
    // A traitor that only keeps messages back never makes n0 grant.
    let honest = Model::new(2, |_| Racy::default())
        .request(NodeId(0), true)
        .byzantine(NodeId(1), |msg: &RacyMsg| vec![None, Some(msg.clone())])
        .property(Property::always(
            "n0 never grants",
            |n: &[Option<Racy>]| match n[0].as_ref().is_some_and(|r| r.given > 0) {
                true => Err("n0 granted".to_string()),
                false => Ok(()),
            },
        ))
        .check();
    assert!(honest.passed(), "{honest}");
}

#[test]
fn a_model_without_properties_is_explored_whole() {
    // Nothing to decide, nothing to stop for: the search counts every state
    // (it used to stop at the first, every property of none being decided).
    let report = Model::new(2, |_| Racy::default())
        .request(NodeId(0), true)
        .request(NodeId(1), true)
        .check();
    assert!(report.exhaustive && report.passed(), "{report}");
    assert_eq!(report.states, 25, "{report}");
}

/// Sends the same Ask twice to n1 at start.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Twice;

impl Node for Twice {
    type Msg = RacyMsg;
    type Timer = ();
    type Request = ();
    type Event = ();

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if ctx.id() == NodeId(0) {
            ctx.send(NodeId(1), RacyMsg::Ask);
            ctx.send(NodeId(1), RacyMsg::Ask);
        }
    }

    fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, _: RacyMsg) {}
}

#[test]
fn a_message_sent_twice_is_in_flight_twice_unless_messages_are_a_set() {
    assert_eq!(Model::new(2, |_| Twice).initial().network.len(), 2);
    assert_eq!(
        Model::new(2, |_| Twice)
            .keeps_messages()
            .initial()
            .network
            .len(),
        1
    );
}

#[test]
fn a_crash_clears_the_crashed_nodes_timers_and_only_those() {
    let model = Model::new(2, |_| Clocked::default()).crashes_max(1);
    let initial = model.initial();
    assert_eq!(initial.timers.len(), 4, "two timers each");
    let (_, crashed) = model
        .successors(&initial)
        .into_iter()
        .find(|(action, _)| matches!(action, Action::Crash(NodeId(0))))
        .expect("n0 may crash");
    let owners: Vec<u32> = crashed.timers.iter().map(|t| t.node).collect();
    assert_eq!(owners, [1, 1]);
}
