//! History properties: what the clients saw, judged on every path.

use super::*;
use crate::driver::Driver;
use crate::Input;

/// A register with a lazy replica: node 0 takes writes, answers at once
/// and passes the value on; node 1 answers reads from what it has, so a
/// read there after an answered write can be stale.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Lazy {
    value: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Call {
    Write(u32),
    Read,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Answer {
    Written(u32),
    Value(u32),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Update(u32);

impl crate::Message for Update {}

impl Node for Lazy {
    type Msg = Update;
    type Timer = ();
    type Request = Call;
    type Event = Answer;

    fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, Update(v): Update) {
        self.value = v;
    }

    fn on_timer(&mut self, _: &mut Context<'_, Self>, (): ()) {}

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, call: Call) {
        match call {
            Call::Write(v) => {
                self.value = v;
                ctx.broadcast(Update(v));
                ctx.emit(Answer::Written(v));
            }
            Call::Read => ctx.emit(Answer::Value(self.value)),
        }
    }
}

/// A read returns at least the last value written before it was asked.
fn reads_see_writes(history: &History<Lazy>) -> Result<(), String> {
    let mut written = 0;
    let mut floor = Vec::new();
    for seen in history.iter() {
        match seen {
            Observed::Event {
                event: Answer::Written(v),
                ..
            } => written = *v,
            Observed::Request {
                request: Call::Read,
                ..
            } => floor.push(written),
            Observed::Event {
                event: Answer::Value(v),
                ..
            } => {
                // Without the read's request in the history, no floor.
                let floor = if floor.is_empty() { 0 } else { floor.remove(0) };
                if *v < floor {
                    return Err(format!("a read returned {v} after {floor} was written"));
                }
            }
            Observed::Request { .. } => {}
        }
    }
    Ok(())
}

fn lazy() -> Model<Lazy> {
    Model::new(2, |_| Lazy::default())
        .request(NodeId(0), Call::Write(1))
        .request(NodeId(1), Call::Read)
        .property(Property::history("reads see writes", reads_see_writes))
}

#[test]
fn a_stale_read_is_found_though_the_nodes_states_look_alike() {
    // Write-then-read and read-then-write end in equal node states (the
    // update still in flight); only the history tells the stale read apart.
    let report = lazy().check();
    assert_eq!(
        report.counterexample(),
        Some((
            "reads see writes",
            &[
                "n0 is asked Write(1)".to_string(),
                "n1 is asked Read".to_string()
            ][..]
        )),
        "{report}"
    );
    let Some(Finding::Violated { why, .. }) = report.findings.first().map(|f| &f.1) else {
        panic!("{report}");
    };
    assert_eq!(why, "a read returned 0 after 1 was written");
}

#[test]
fn the_history_replays_with_the_counterexample() {
    let model = lazy();
    let report = model.check();
    let replayed = model
        .replay(report.trail.as_deref().expect("a path"))
        .unwrap();
    let (property, why, steps) = replayed.violated.expect("the replay breaks it too");
    assert_eq!((property, steps), ("reads see writes", 2));
    assert_eq!(why, "a read returned 0 after 1 was written");
    let seen: Vec<String> = replayed.history.iter().map(|o| format!("{o:?}")).collect();
    assert_eq!(
        seen,
        [
            "n0 is asked Write(1)",
            "n0 emits Written(1)",
            "n1 is asked Read",
            "n1 emits Value(0)"
        ]
    );
}

#[test]
fn a_read_guarded_until_the_update_arrives_holds_on_every_path() {
    let report = Model::new(2, |_| Lazy::default())
        .request(NodeId(0), Call::Write(1))
        .request_when(NodeId(1), Call::Read, |n: &Lazy| n.value == 1)
        .property(Property::history("reads see writes", reads_see_writes))
        .check();
    assert!(report.passed() && report.exhaustive, "{report}");
    // Write, update delivered, read: the history makes no state merge with another.
    assert_eq!(report.states, 4, "{report}");
}

#[test]
fn the_history_keeps_only_what_observes_accepts() {
    // Keeping the answers only, the reads' requests are not in the history:
    // the check has no floor to compare with, and no state is told apart by
    // the order of the requests.
    let answers_only = lazy()
        .observes(|o: &Observed<Lazy>| matches!(o, Observed::Event { .. }))
        .property(Property::history(
            "no requests kept",
            |h: &History<Lazy>| match h.iter().find(|o| matches!(o, Observed::Request { .. })) {
                Some(kept) => Err(format!("{kept:?} was kept")),
                None => Ok(()),
            },
        ));
    let report = answers_only.all_violations().check();
    assert_eq!(report.findings[1].1, Finding::Held, "{report}");
    // Without a history property, states carry no history at all.
    let plain = Model::new(2, |_| Lazy::default())
        .request(NodeId(0), Call::Write(1))
        .request(NodeId(1), Call::Read)
        .check();
    let with_history = Model::new(2, |_| Lazy::default())
        .request(NodeId(0), Call::Write(1))
        .request(NodeId(1), Call::Read)
        .property(Property::history("anything", |_: &History<Lazy>| Ok(())))
        .check();
    assert!(plain.exhaustive && with_history.exhaustive);
    // Write-read and read-write are one state without a history, two with
    // one; so are write-read-deliver and write-deliver-read, and a third,
    // read-write-deliver, joins them without a history.
    assert_eq!(
        (plain.states, with_history.states),
        (6, 9),
        "{plain} {with_history}"
    );
}

#[test]
fn a_crash_stop_model_never_restarts_a_node() {
    let all_up = |nodes: &[Option<Lazy>]| nodes.iter().all(Option::is_some);
    // A node down can always restart: no run ends with it down.
    let restarts = Model::new(2, |_| Lazy::default())
        .crashes_max(1)
        .property(Property::eventually("all up at the end", all_up))
        .check();
    assert!(restarts.passed() && restarts.exhaustive, "{restarts}");
    // Crash-stop: the crash ends the run, with the node down.
    let stops = Model::new(2, |_| Lazy::default())
        .crashes_max(1)
        .crash_stop()
        .property(Property::eventually("all up at the end", all_up))
        .check();
    assert_eq!(
        stops.counterexample(),
        Some(("all up at the end", &["n0 crashes".to_string()][..])),
        "{stops}"
    );
}

/// Fails once the read was asked after n1 heard of the write, naming the
/// two stamps: the state where causality links them.
fn read_follows_write(history: &History<Lazy>) -> Result<(), String> {
    let find = |wanted: &Call| {
        history
            .iter()
            .position(|o| matches!(o, Observed::Request { request, .. } if request == wanted))
    };
    match (find(&Call::Write(1)), find(&Call::Read)) {
        (Some(w), Some(r)) if history.happened_before(w, r) => Err(format!(
            "the read {:?} follows the write {:?}",
            history.stamp(r).map(|s| &s.0),
            history.stamp(w).map(|s| &s.0),
        )),
        (Some(w), Some(r)) if history.happened_before(r, w) => Err("backwards".to_string()),
        _ => Ok(()),
    }
}

fn causal_lazy() -> Model<Lazy> {
    lazy()
        .causal_history()
        .property(Property::history("read after write", read_follows_write))
        .all_violations()
}

#[test]
fn a_causal_history_orders_the_entries_a_message_links() {
    let report = causal_lazy().check();
    // The write ticks n0's clock to [1]; the update carries it; n1 merges
    // it and the read ticks n1's entry: [1, 1]. The read and write never
    // happen the other way round, and a read asked before the update
    // arrives is concurrent with the write.
    assert_eq!(
        report.findings[1],
        (
            "read after write",
            Finding::Violated {
                why: "the read Some([1, 1]) follows the write Some([1])".to_string(),
                path: vec![
                    "n0 is asked Write(1)".to_string(),
                    "n1 delivers Update(1) from n0".to_string(),
                    "n1 is asked Read".to_string(),
                ],
            }
        ),
        "{report}"
    );
    // Without stamps nothing is ordered, and the property holds.
    let unstamped = lazy()
        .property(Property::history("read after write", read_follows_write))
        .all_violations()
        .check();
    assert_eq!(unstamped.findings[1].1, Finding::Held, "{unstamped}");
    // The clocks are part of the state, but here the histories already
    // tell apart every pair of states that the clocks do (write-read-
    // deliver and write-deliver-read differ in the value read): the same
    // states, no more.
    let anything = |causal: bool| {
        let model = Model::new(2, |_| Lazy::default())
            .request(NodeId(0), Call::Write(1))
            .request(NodeId(1), Call::Read);
        let model = if causal {
            model.causal_history()
        } else {
            model
        };
        let report = model
            .property(Property::history("anything", |_: &History<Lazy>| Ok(())))
            .check();
        assert!(report.exhaustive, "{report}");
        report.states
    };
    assert_eq!((anything(false), anything(true)), (9, 9));
}

#[test]
fn a_causal_history_replays_with_the_simulators_stamps() {
    let model = causal_lazy();
    let report = model.check();
    let Some(Finding::Violated { .. }) = report.findings.get(1).map(|f| &f.1) else {
        panic!("{report}");
    };
    let path = [
        Action::Request {
            node: NodeId(0),
            request: Call::Write(1),
        },
        Action::Deliver {
            from: NodeId(0),
            to: NodeId(1),
            msg: Update(1),
        },
        Action::Request {
            node: NodeId(1),
            request: Call::Read,
        },
    ];
    let replayed = model.replay(&path).unwrap();
    let (property, why, steps) = replayed.violated.expect("the replay orders them too");
    // The simulator's clocks count every event (start, send, delivery), so
    // the numbers differ from the model's, but not the order.
    assert_eq!((property, steps), ("read after write", 3), "{why}");
    let h = &replayed.history;
    assert_eq!(h.len(), 4, "{h:?}");
    assert!(h.happened_before(0, 2) && h.happened_before(2, 3), "{h:?}");
    assert!(
        !h.happened_before(1, 2) && !h.happened_before(2, 1),
        "{h:?}"
    );
}

#[test]
fn a_fifo_network_delivers_each_link_in_the_order_it_was_sent_on() {
    // Two writes at n0 send Update(1) then Update(2) on the one link to n1.
    let last_wins = |fifo: bool| {
        Model::new(2, |_| Lazy::default())
            .request(NodeId(0), Call::Write(1))
            .request(NodeId(0), Call::Write(2))
            .network(Network {
                fifo,
                ..Network::default()
            })
            .property(Property::eventually(
                "n1 holds the last write",
                |nodes: &[Option<Lazy>]| nodes[1].as_ref().is_some_and(|n| n.value == 2),
            ))
            .check()
    };
    let fifo = last_wins(true);
    assert!(fifo.passed() && fifo.exhaustive, "{fifo}");
    // Write, write, deliver 1, deliver 2: the updates in flight are one
    // queue, so writes before and after the first delivery interleave only.
    assert_eq!(fifo.states, 6, "{fifo}");
    let reordering = last_wins(false);
    assert_eq!(
        reordering.counterexample(),
        Some((
            "n1 holds the last write",
            &[
                "n0 is asked Write(1)".to_string(),
                "n0 is asked Write(2)".to_string(),
                "n1 delivers Update(2) from n0".to_string(),
                "n1 delivers Update(1) from n0".to_string(),
            ][..]
        )),
        "{reordering}"
    );
}

/// Rolls a die on every request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Dice {
    rolls: Vec<u32>,
}

impl Node for Dice {
    type Msg = Update;
    type Timer = ();
    type Request = ();
    type Event = ();

    fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, _: Update) {}

    fn on_timer(&mut self, _: &mut Context<'_, Self>, (): ()) {}

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, (): ()) {
        use crate::rand::RngExt;
        self.rolls.push(ctx.rng().random());
    }
}

/// The two rolls of a model whose one node is asked twice.
fn two_rolls(continuous: bool) -> Vec<u32> {
    let model = Model::new(1, |_| Dice::default())
        .request(NodeId(0), ())
        .request(NodeId(0), ());
    let model = if continuous {
        model.continuous_rng()
    } else {
        model
    };
    let report = model
        .property(Property::always(
            "fewer than two rolls",
            |nodes: &[Option<Dice>]| match nodes[0].as_ref().map(|d| d.rolls.as_slice()) {
                Some([a, b]) => Err(format!("{a} {b}")),
                _ => Ok(()),
            },
        ))
        .check();
    let Some(Finding::Violated { why, .. }) = report.findings.first().map(|f| &f.1) else {
        panic!("{report}");
    };
    why.split(' ').map(|r| r.parse().unwrap()).collect()
}

#[test]
fn a_continuous_rng_draws_on_where_the_last_step_stopped_as_the_simulator_does() {
    // Afresh at every step, both requests draw the stream's first number.
    let fresh = two_rolls(false);
    assert_eq!(fresh[0], fresh[1]);
    // Continued, they draw its first two, as one driver does across steps.
    let mut driver: Driver<Dice> = Driver::seeded(NodeId(0), Vec::new(), 0, 0);
    let mut dice = Dice::default();
    driver.handle(&mut dice, Duration::ZERO, Input::Start);
    for _ in 0..2 {
        driver.handle(&mut dice, Duration::ZERO, Input::Request(()));
    }
    assert_eq!(two_rolls(true), dice.rolls);
    assert_eq!(fresh[0], dice.rolls[0]);
    assert_ne!(dice.rolls[0], dice.rolls[1]);
    // A driver rebuilt at the position continues the same stream.
    let position = driver.rng_position();
    let mut again: Driver<Dice> = Driver::seeded(NodeId(0), Vec::new(), 0, 0);
    again.seek_rng(position);
    let (mut a, mut b) = (Dice::default(), Dice::default());
    driver.handle(&mut a, Duration::ZERO, Input::Request(()));
    again.handle(&mut b, Duration::ZERO, Input::Request(()));
    assert_eq!(a, b);
}

#[test]
fn options_add_to_the_network_a_model_declares() {
    let model = Model::new(2, |_| Lazy::default())
        .network(Network {
            lossy: false,
            duplicates_max: 2,
            fifo: true,
        })
        .options(&ModelOptions {
            network: Network {
                lossy: true,
                duplicates_max: 1,
                fifo: false,
            },
            ..ModelOptions::default()
        });
    let shown = format!("{model:?}");
    assert!(
        shown.contains("network: Network { lossy: true, duplicates_max: 2, fifo: true }"),
        "{shown}"
    );
}
