//! The model checker's own tests, on small hand-made nodes.

use super::*;
use crate::node::Context;
use serde::{Deserialize, Serialize};

/// A lock with a deliberate race: a node asks every peer, and enters
/// once it has one grant (not all), so two nodes can be inside at once
/// after four steps; a node leaves on a timer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Racy {
    wants: bool,
    inside: bool,
    grants: u32,
    /// Each grant given: a counter the model sees grow.
    given: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
enum RacyMsg {
    Ask,
    Grant,
}

impl crate::Message for RacyMsg {}

impl Node for Racy {
    type Msg = RacyMsg;
    type Timer = ();
    type Request = bool;
    type Event = ();

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: RacyMsg) {
        match msg {
            RacyMsg::Ask => {
                self.given += 1;
                ctx.send(from, RacyMsg::Grant);
            }
            RacyMsg::Grant if self.wants => {
                self.grants += 1;
                self.inside = true;
                self.wants = false;
                ctx.set_timer(Duration::from_millis(1), ());
            }
            RacyMsg::Grant => {}
        }
    }

    fn on_timer(&mut self, _: &mut Context<'_, Self>, (): ()) {
        self.inside = false;
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, enter: bool) {
        if enter && !self.wants && !self.inside {
            self.wants = true;
            ctx.broadcast(RacyMsg::Ask);
        }
    }
}

fn one_inside(nodes: &[Option<Racy>]) -> Result<(), String> {
    let inside = nodes.iter().flatten().filter(|n| n.inside).count();
    if inside > 1 {
        return Err(format!("{inside} nodes inside at once"));
    }
    Ok(())
}

fn racy() -> Model<Racy> {
    Model::new(2, |_| Racy::default())
        .request(NodeId(0), true)
        .request(NodeId(1), true)
        .property(Property::always("one inside", one_inside))
}

#[test]
fn a_violation_comes_with_a_shortest_path_that_reproduces_it() {
    let report = racy().check();
    let (name, path) = report.counterexample().expect("the race is found");
    assert_eq!(name, "one inside");
    // Both ask (2), both asks are delivered (2), both grants (2): 6.
    assert_eq!(path.len(), 6, "{report}");
    assert!(path[0].contains("is asked true"), "{report}");
    assert!(
        path.iter().filter(|s| s.contains("delivers Grant")).count() == 2,
        "{report}"
    );
    assert!(!report.passed());
    assert!(
        report.to_string().contains("VIOLATED in 6 steps"),
        "{report}"
    );
}

#[test]
fn the_counterexample_replays_in_the_simulator() {
    let model = racy();
    let report = model.check();
    let trail = report.trail.as_ref().expect("a violation has a trail");
    assert_eq!(trail.len(), 6);
    let replayed = model
        .replay(trail)
        .expect("the schedule exists in the simulator");
    let (name, why, step) = replayed.violated.expect("the violation is reproduced");
    assert_eq!((name, step), ("one inside", 6), "{why}");
    assert!(replayed.sim.trace().is_some_and(|t| !t.is_empty()));
    // Cut before its last step, the path does not break the invariant.
    let short = model.replay(&trail[..5]).unwrap();
    assert!(short.violated.is_none());
    // A duplicate cannot be forced on the simulator.
    let duplicate = [Action::Duplicate {
        from: NodeId(0),
        to: NodeId(1),
        msg: RacyMsg::Ask,
    }];
    let err = model.replay(&duplicate).unwrap_err().to_string();
    assert!(err.contains("cannot be replayed"), "{err}");
    // A step the simulator has no event for is a bad schedule.
    let missing = [Action::Deliver {
        from: NodeId(0),
        to: NodeId(1),
        msg: RacyMsg::Grant,
    }];
    let err = model.replay(&missing).unwrap_err().to_string();
    assert!(
        err.contains("step 1: n1 delivers Grant from n0: no such event"),
        "{err}"
    );
}

#[test]
fn a_safe_configuration_is_explored_exhaustively_and_holds() {
    // One node asks: nobody else can be inside.
    let report = Model::new(2, |_| Racy::default())
        .request(NodeId(0), true)
        .property(Property::always("one inside", one_inside))
        .property(Property::sometimes(
            "someone enters",
            |nodes: &[Option<Racy>]| nodes.iter().flatten().any(|n| n.inside),
        ))
        .check();
    assert!(report.passed(), "{report}");
    assert!(report.exhaustive && report.bound.is_none(), "{report}");
    assert!(matches!(&report.findings[1].1, Finding::Reached(path) if path.len() == 3));
    // The states: n0 asks; the ask in flight / delivered; the grant in
    // flight / delivered (n0 inside, timer pending); the timer fires.
    assert_eq!(report.states, 5, "{report}");
    assert!(report.to_string().contains("exhaustive"), "{report}");
}

#[test]
fn an_unreachable_state_is_reported_and_fails_the_check() {
    let report = Model::new(2, |_| Racy::default())
        .property(Property::sometimes(
            "someone enters",
            |nodes: &[Option<Racy>]| nodes.iter().flatten().any(|n| n.inside),
        ))
        .check();
    assert_eq!(report.findings[0].1, Finding::Unreached);
    assert!(report.exhaustive && !report.passed(), "{report}");
    assert_eq!(report.states, 1);
}

#[test]
fn losses_duplicates_crashes_and_guards_open_and_close_paths() {
    let entered = |nodes: &[Option<Racy>]| nodes.iter().flatten().any(|n| n.inside);
    // A lossy network may lose the ask or the grant: two more states
    // than the five of a reliable one (n0 waiting with nothing in
    // flight, before and after n1 granted).
    let lossy = Model::new(2, |_| Racy::default())
        .request(NodeId(0), true)
        .network(Network {
            lossy: true,
            duplicates_max: 0,
            fifo: false,
        })
        .property(Property::sometimes("someone enters", entered))
        .property(Property::always("one inside", one_inside))
        .check();
    assert_eq!(lossy.states, 7, "{lossy}");
    assert!(lossy.exhaustive && lossy.passed(), "{lossy}");
    // Duplicates: n1 grants twice.
    let twice = |nodes: &[Option<Racy>]| nodes[1].as_ref().is_some_and(|n| n.given >= 2);
    let no_dup = Model::new(2, |_| Racy::default())
        .request(NodeId(0), true)
        .property(Property::sometimes("granted twice", twice))
        .check();
    assert_eq!(no_dup.findings[0].1, Finding::Unreached);
    let dup = Model::new(2, |_| Racy::default())
        .request(NodeId(0), true)
        .network(Network {
            lossy: false,
            duplicates_max: 1,
            fifo: false,
        })
        .property(Property::sometimes("granted twice", twice))
        .check();
    assert!(
        matches!(&dup.findings[0].1, Finding::Reached(p) if p.iter().any(|s| s.contains("duplicate"))),
        "{dup}"
    );
    // Crashes: n1 can be down.
    let down = |nodes: &[Option<Racy>]| nodes[1].is_none();
    let crash = Model::new(2, |_| Racy::default())
        .crashes_max(1)
        .property(Property::sometimes("n1 down", down))
        .check();
    assert!(
        matches!(&crash.findings[0].1, Finding::Reached(p) if p == &["n1 crashes"]),
        "{crash}"
    );
    // A guard: n0 asks only once n1 has granted something (never).
    let guarded = Model::new(2, |_| Racy::default())
        .request_when(NodeId(0), true, |n: &Racy| n.given > 0)
        .property(Property::sometimes("someone enters", entered))
        .check();
    assert_eq!(guarded.findings[0].1, Finding::Unreached);
}

#[test]
fn eventually_is_judged_where_runs_end() {
    let served = |nodes: &[Option<Racy>]| nodes.iter().flatten().all(|n| !n.wants);
    // Reliable: every finished run has n0 served.
    let reliable = Model::new(2, |_| Racy::default())
        .request(NodeId(0), true)
        .property(Property::eventually("served", served))
        .check();
    assert!(reliable.passed() && reliable.exhaustive, "{reliable}");
    // Lossy: the shortest finished run that leaves n0 waiting loses
    // its ask.
    let lossy = Model::new(2, |_| Racy::default())
        .request(NodeId(0), true)
        .network(Network {
            lossy: true,
            duplicates_max: 0,
            fifo: false,
        })
        .property(Property::eventually("served", served))
        .check();
    let (_, path) = lossy.counterexample().expect("a lost ask starves n0");
    assert_eq!(
        path,
        ["n0 is asked true", "the network drops Ask from n0 to n1"]
    );
}

/// At start: draws a number from its RNG, sets timer 1 twice and timer 2
/// once, then cancels 2. Counts the times timer 1 fires.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Ticker {
    drawn: u64,
    ticks: u32,
}

impl Node for Ticker {
    type Msg = RacyMsg;
    type Timer = u8;
    type Request = bool;
    type Event = ();

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        use rand::RngExt;
        self.drawn = ctx.rng().random();
        ctx.set_timer(Duration::from_millis(1), 1);
        ctx.set_timer(Duration::from_millis(2), 1);
        ctx.set_timer(Duration::from_millis(3), 2);
        ctx.cancel_timer(&2);
    }

    fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, _: RacyMsg) {}

    fn on_timer(&mut self, _: &mut Context<'_, Self>, timer: u8) {
        assert_eq!(timer, 1, "timer 2 was cancelled");
        self.ticks += 1;
    }
}

fn ticker() -> Model<Ticker> {
    Model::new(1, |_| Ticker { drawn: 0, ticks: 0 })
}

#[test]
fn timers_are_values_set_replaces_cancel_removes_fire_consumes() {
    // One pending timer (1, set twice), fired once: two states, and
    // the run ends.
    let report = ticker()
        .property(Property::sometimes(
            "ticked twice",
            |n: &[Option<Ticker>]| n[0].as_ref().is_some_and(|t| t.ticks >= 2),
        ))
        .property(Property::eventually("ticked", |n: &[Option<Ticker>]| {
            n[0].as_ref().is_some_and(|t| t.ticks == 1)
        }))
        .check();
    assert_eq!(report.states, 2, "{report}");
    assert_eq!(report.findings[0].1, Finding::Unreached, "{report}");
    assert_eq!(report.findings[1].1, Finding::Held, "{report}");
}

#[test]
fn eventually_fails_where_a_run_ends_without_it() {
    // Racy's runs end with nobody inside: "eventually inside" fails at
    // the end, once the timer has fired.
    let report = Model::new(2, |_| Racy::default())
        .request(NodeId(0), true)
        .property(Property::eventually(
            "inside at the end",
            |nodes: &[Option<Racy>]| nodes.iter().flatten().any(|n| n.inside),
        ))
        .check();
    let (_, path) = report.counterexample().expect("the run ends outside");
    assert_eq!(path.last().map(String::as_str), Some("n0's timer () fires"));
}

#[test]
fn crashes_and_duplicates_are_bounded_per_run_and_restarts_reseed() {
    let both_down = |nodes: &[Option<Racy>]| nodes.iter().all(Option::is_none);
    let one = Model::new(2, |_| Racy::default())
        .crashes_max(1)
        .property(Property::sometimes("both down", both_down))
        .check();
    assert_eq!(one.findings[0].1, Finding::Unreached, "{one}");
    let two = Model::new(2, |_| Racy::default())
        .crashes_max(2)
        .property(Property::sometimes("both down", both_down))
        .check();
    assert!(matches!(two.findings[0].1, Finding::Reached(_)), "{two}");
    let thrice = |nodes: &[Option<Racy>]| nodes[1].as_ref().is_some_and(|n| n.given >= 3);
    let dup = Model::new(2, |_| Racy::default())
        .request(NodeId(0), true)
        .network(Network {
            lossy: false,
            duplicates_max: 1,
            fifo: false,
        })
        .property(Property::sometimes("granted three times", thrice))
        .check();
    assert_eq!(dup.findings[0].1, Finding::Unreached, "{dup}");
    // A restarted node gets its incarnation's own RNG stream.
    let first = ticker().check_initial_draw();
    let restarted = ticker()
        .crashes_max(1)
        .property(Property::sometimes(
            "another draw",
            move |n: &[Option<Ticker>]| n[0].as_ref().is_some_and(|t| t.drawn != first),
        ))
        .check();
    assert!(
        matches!(&restarted.findings[0].1, Finding::Reached(p) if p == &["n0 crashes", "n0 restarts"]),
        "{restarted}"
    );
}

impl Model<Ticker> {
    /// What node 0 drew in the initial state.
    fn check_initial_draw(&self) -> u64 {
        self.initial().nodes[0].as_ref().unwrap().drawn
    }
}

#[test]
fn a_search_stops_once_every_property_is_decided_and_says_so() {
    let report = racy()
        .property(Property::sometimes(
            "someone wants",
            |nodes: &[Option<Racy>]| nodes.iter().flatten().any(|n| n.wants),
        ))
        .check();
    // The invariant is violated and the sometimes reached: no need to
    // go on, and the search is not exhaustive.
    assert!(!report.exhaustive && report.bound.is_none(), "{report}");
    assert!(
        report
            .to_string()
            .contains("stopped once every property was decided"),
        "{report}"
    );
    // An open `always` keeps it going to the end.
    let full = Model::new(2, |_| Racy::default())
        .request(NodeId(0), true)
        .property(Property::sometimes(
            "someone wants",
            |nodes: &[Option<Racy>]| nodes.iter().flatten().any(|n| n.wants),
        ))
        .property(Property::always("one inside", one_inside))
        .check();
    assert!(full.exhaustive && full.states == 5, "{full}");
    assert!(full.to_string().contains("  one inside: holds\n"), "{full}");
    // Only `sometimes`, reached at once: stops at the first state.
    let first = Model::new(2, |_| Racy::default())
        .property(Property::sometimes("anything", |_: &[Option<Racy>]| true))
        .check();
    assert_eq!(first.states, 1, "{first}");
    assert!(!first.exhaustive);
}

#[test]
fn models_properties_and_bounds_print_what_they_are() {
    let model = racy().property(Property::sometimes("s", |_: &[Option<Racy>]| true));
    let text = format!("{model:?}");
    assert!(
        text.contains("nodes: 2") && text.contains("requests: 2"),
        "{text}"
    );
    assert!(
        text.contains(r#"Always("one inside")"#) && text.contains(r#"Sometimes("s")"#),
        "{text}"
    );
    let eventually = Property::<Racy>::eventually("e", |_: &[Option<Racy>]| true);
    assert_eq!(format!("{eventually:?}"), r#"Eventually("e")"#);
    assert_eq!(
        Bound::Depth(3).to_string(),
        "paths cut at 3 steps (Model::depth_max)"
    );
    assert_eq!(
        Bound::States(9).to_string(),
        "stopped after 9 states (Model::states_max)"
    );
    assert!(Bound::Time(Duration::from_secs(1))
        .to_string()
        .contains("1s"));
}

#[test]
fn depth_first_and_random_walks_find_the_race_too() {
    let dfs = racy().strategy(Strategy::DepthFirst).check();
    let (_, path) = dfs.counterexample().expect("depth-first finds the race");
    assert!(path.len() >= 6, "{dfs}");
    assert!(dfs.trail.as_ref().is_some_and(|t| t.len() == path.len()));
    // Exhaustive either way on a safe configuration: the same states.
    let safe = |strategy| {
        Model::new(2, |_| Racy::default())
            .request(NodeId(0), true)
            .property(Property::always("one inside", one_inside))
            .strategy(strategy)
            .check()
    };
    let (bfs, dfs) = (safe(Strategy::BreadthFirst), safe(Strategy::DepthFirst));
    assert!(bfs.exhaustive && dfs.exhaustive);
    assert_eq!((bfs.states, dfs.states), (5, 5));
    let walks = racy()
        .strategy(Strategy::RandomWalks {
            walks: 200,
            seed: 7,
        })
        .check();
    assert!(!walks.exhaustive, "{walks}");
    let (_, path) = walks.counterexample().expect("200 walks meet the race");
    assert_eq!(path.len(), walks.trail.as_ref().unwrap().len());
    assert!(racy()
        .replay(walks.trail.as_ref().unwrap())
        .unwrap()
        .violated
        .is_some());
    // The same seed, the same walks.
    let again = racy()
        .strategy(Strategy::RandomWalks {
            walks: 200,
            seed: 7,
        })
        .check();
    assert_eq!(again.findings, walks.findings);
    // A safe configuration's walks find nothing, and say they are not a proof.
    let safe_walks = safe(Strategy::RandomWalks { walks: 20, seed: 1 });
    assert!(safe_walks.passed() && !safe_walks.exhaustive);
    assert!(safe_walks.states <= 5);
    assert!(
        safe_walks
            .to_string()
            .contains("holds in every state visited"),
        "{safe_walks}"
    );
}

#[test]
fn depth_first_goes_deeper_than_breadth_first_on_the_same_budget() {
    let reach = |strategy| racy().strategy(strategy).states_max(12).check().depth;
    let (bfs, dfs) = (reach(Strategy::BreadthFirst), reach(Strategy::DepthFirst));
    assert!(dfs > bfs, "depth-first {dfs}, breadth-first {bfs}");
}

#[test]
fn a_crash_loses_what_was_on_its_way_to_the_node_only() {
    // n1's grant is in flight when n1 crashes: it still reaches n0.
    let report = Model::new(2, |_| Racy::default())
        .request(NodeId(0), true)
        .crashes_max(1)
        .property(Property::sometimes(
            "n0 inside, n1 down",
            |nodes: &[Option<Racy>]| {
                nodes[0].as_ref().is_some_and(|n| n.inside) && nodes[1].is_none()
            },
        ))
        .check();
    assert!(
        matches!(report.findings[0].1, Finding::Reached(_)),
        "{report}"
    );
    // n0's ask is in flight when n1 crashes: the restarted n1 never
    // sees it, so n0 waits in a run that ends.
    let report = Model::new(2, |_| Racy::default())
        .request(NodeId(0), true)
        .crashes_max(1)
        .property(Property::eventually(
            "n0 served",
            |nodes: &[Option<Racy>]| nodes[0].as_ref().is_some_and(|n| !n.wants),
        ))
        .check();
    let (_, path) = report.counterexample().expect("the ask dies with n1");
    assert_eq!(
        path,
        ["n0 is asked true", "n1 crashes", "n1 restarts"],
        "{report}"
    );
}

#[test]
fn a_replay_takes_exactly_the_message_and_timer_each_step_names() {
    let model = Model::new(3, |_| Racy::default())
        .request(NodeId(0), true)
        .request(NodeId(1), true);
    let ask = |to: u32| Action::Deliver {
        from: NodeId(0),
        to: NodeId(to),
        msg: RacyMsg::Ask,
    };
    // Of n0's two asks, the one to n2 is delivered.
    let replayed = model
        .replay(&[
            Action::Request {
                node: NodeId(0),
                request: true,
            },
            ask(2),
        ])
        .unwrap();
    let given: Vec<u32> = replayed
        .sim
        .states()
        .iter()
        .flatten()
        .map(|n| n.given)
        .collect();
    assert_eq!(given, [0, 0, 1]);
    // Both inside; then n1's timer fires, not n0's.
    let grant = |from: u32, to: u32| Action::Deliver {
        from: NodeId(from),
        to: NodeId(to),
        msg: RacyMsg::Grant,
    };
    let ask1 = Action::Deliver {
        from: NodeId(1),
        to: NodeId(2),
        msg: RacyMsg::Ask,
    };
    let path = [
        Action::Request {
            node: NodeId(0),
            request: true,
        },
        Action::Request {
            node: NodeId(1),
            request: true,
        },
        ask(2),
        ask1,
        grant(2, 0),
        grant(2, 1),
        Action::Fire {
            node: NodeId(1),
            timer: (),
        },
    ];
    let replayed = model.replay(&path).unwrap();
    let inside: Vec<bool> = replayed
        .sim
        .states()
        .iter()
        .flatten()
        .map(|n| n.inside)
        .collect();
    assert_eq!(inside, [true, false, false]);
}

#[test]
fn random_walks_keep_to_the_depth_and_time_bounds() {
    let walks = |depth| {
        Model::new(2, |_| Racy::default())
            .request(NodeId(0), true)
            .property(Property::eventually(
                "inside at the end",
                |nodes: &[Option<Racy>]| nodes.iter().flatten().any(|n| n.inside),
            ))
            .depth_max(depth)
            .strategy(Strategy::RandomWalks { walks: 20, seed: 2 })
            .check()
    };
    // Cut before the runs end: nothing to judge, and no deeper than asked.
    let cut = walks(2);
    assert_eq!(cut.findings[0].1, Finding::Held, "{cut}");
    assert_eq!(cut.depth, 2, "{cut}");
    // Long enough: every run ends with nobody inside.
    let full = walks(64);
    assert!(
        matches!(full.findings[0].1, Finding::Violated { .. }),
        "{full}"
    );
    let timed = racy()
        .strategy(Strategy::RandomWalks { walks: 5, seed: 0 })
        .time_max(Duration::ZERO)
        .check();
    assert_eq!(timed.bound, Some(Bound::Time(Duration::ZERO)), "{timed}");
}

#[test]
fn bounds_make_a_search_bounded_and_say_which() {
    let by_depth = racy().depth_max(2).check();
    assert_eq!(by_depth.bound, Some(Bound::Depth(2)));
    assert_eq!(by_depth.depth, 2, "{by_depth}");
    assert!(!by_depth.exhaustive);
    assert_eq!(by_depth.findings[0].1, Finding::Held);
    assert!(
        by_depth
            .to_string()
            .contains("holds in every state visited"),
        "{by_depth}"
    );
    let by_states = racy().states_max(3).check();
    assert_eq!(by_states.bound, Some(Bound::States(3)));
    assert_eq!(by_states.states, 3);
    let by_time = racy().time_max(Duration::ZERO).check();
    assert_eq!(by_time.bound, Some(Bound::Time(Duration::ZERO)));
}

#[test]
fn a_watch_sees_the_search_grow_every_few_thousand_states() {
    use crate::ping_pong::{PingPong, PingPongConfig};
    use std::sync::Mutex;
    let seen: Arc<Mutex<Vec<SearchProgress>>> = Arc::default();
    let log = Arc::clone(&seen);
    let watch = SearchWatch(Arc::new(move |p: &SearchProgress| {
        log.lock().unwrap().push(*p)
    }));
    let model = || {
        Model::new(3, |_| PingPong::new(PingPongConfig::closed_loop(1)))
            .network(Network {
                lossy: true,
                duplicates_max: 1,
                fifo: false,
            })
            // An invariant is decided only by a violation: every state is visited.
            .property(Property::always(
                "anything",
                |_: &[Option<PingPong>]| Ok(()),
            ))
    };
    let report = model().watch(Some(watch.clone())).check();
    let calls = seen.lock().unwrap().clone();
    assert!(
        report.states > 2 * WATCH_EVERY,
        "a big enough model: {report}"
    );
    assert!(
        calls.len() >= 2,
        "{} calls for {} states",
        calls.len(),
        report.states
    );
    for pair in calls.windows(2) {
        assert!(pair[0].states < pair[1].states, "{pair:?}");
        assert!(pair[0].elapsed <= pair[1].elapsed);
    }
    assert!(calls
        .iter()
        .all(|p| p.states <= report.states && p.depth <= report.depth));
    // Random walks report too.
    let walks = model()
        .strategy(Strategy::RandomWalks {
            walks: 2_000,
            seed: 1,
        })
        .watch(Some(watch))
        .check();
    assert!(seen.lock().unwrap().len() > calls.len(), "{walks}");
}

/// Re-arms its one timer every time it fires: its runs never end.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Repeater {
    ticks: u32,
}

impl Node for Repeater {
    type Msg = RacyMsg;
    type Timer = ();
    type Request = bool;
    type Event = ();

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        ctx.set_timer(Duration::from_millis(1), ());
    }

    fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, _: RacyMsg) {}

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, (): ()) {
        self.ticks += 1;
        ctx.set_timer(Duration::from_millis(1), ());
    }
}

fn fewer_than_three_ticks(nodes: &[Option<Repeater>]) -> Result<(), String> {
    match &nodes[0] {
        Some(r) if r.ticks >= 3 => Err(format!("{} ticks", r.ticks)),
        _ => Ok(()),
    }
}

#[test]
fn a_timer_budget_cuts_runs_that_never_end_and_says_so() {
    let bounded = Model::new(1, |_| Repeater::default())
        .timers_max(2)
        .property(Property::always(
            "fewer than three ticks",
            fewer_than_three_ticks,
        ))
        // A cut run has not ended: `eventually` is not judged there.
        .property(Property::eventually("never", |_: &[Option<Repeater>]| {
            false
        }))
        .check();
    assert!(bounded.passed(), "{bounded}");
    assert_eq!(bounded.states, 3, "0, 1 and 2 ticks");
    assert_eq!(bounded.bound, Some(Bound::Timers(2)), "{bounded}");
    assert!(!bounded.exhaustive);
    assert!(bounded
        .to_string()
        .contains("runs cut after 2 timer firings (Model::timers_max)"));

    let three = Model::new(1, |_| Repeater::default())
        .timers_max(3)
        .property(Property::always(
            "fewer than three ticks",
            fewer_than_three_ticks,
        ))
        .check();
    let (_, path) = three.counterexample().expect("the third tick");
    assert_eq!(path.len(), 3, "{three}");

    // Options without a timer bound keep the model's own; with one, it wins.
    let holds = || Property::always("anything", |_: &[Option<Repeater>]| Ok(()));
    let kept = Model::new(1, |_| Repeater::default())
        .timers_max(1)
        .options(&ModelOptions::default())
        .property(holds())
        .check();
    assert_eq!(kept.bound, Some(Bound::Timers(1)));
    let replaced = Model::new(1, |_| Repeater::default())
        .timers_max(1)
        .options(&ModelOptions {
            timers_max: Some(4),
            ..ModelOptions::default()
        })
        .property(holds())
        .check();
    assert_eq!(
        (replaced.states, replaced.bound),
        (5, Some(Bound::Timers(4)))
    );

    // Without a budget, only the depth bound stops it.
    let unbounded = Model::new(1, |_| Repeater::default())
        .depth_max(10)
        .property(holds())
        .check();
    assert_eq!(unbounded.bound, Some(Bound::Depth(10)));
}

/// n0 asks n1 and starts a timer; n1 answers. Times out if the timer
/// fires before the answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Asker {
    answered: bool,
    timed_out: bool,
}

impl Node for Asker {
    type Msg = RacyMsg; // Ask, answered by Grant
    type Timer = ();
    type Request = bool;
    type Event = ();

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if ctx.id() == NodeId(0) {
            ctx.send(NodeId(1), RacyMsg::Ask);
            ctx.set_timer(Duration::from_millis(1), ());
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: RacyMsg) {
        match msg {
            RacyMsg::Ask => ctx.send(from, RacyMsg::Grant),
            RacyMsg::Grant => self.answered = true,
        }
    }

    fn on_timer(&mut self, _: &mut Context<'_, Self>, (): ()) {
        self.timed_out = !self.answered;
    }
}

#[test]
fn timers_when_quiet_wait_for_every_message_in_flight() {
    let timed_out = || {
        Property::sometimes("timed out", |nodes: &[Option<Asker>]| {
            nodes[0].as_ref().is_some_and(|n| n.timed_out)
        })
    };
    let free = Model::new(2, |_| Asker::default())
        .property(timed_out())
        .check();
    assert!(matches!(free.findings[0].1, Finding::Reached(_)), "{free}");
    let quiet = Model::new(2, |_| Asker::default())
        .timers_when_quiet()
        .property(timed_out())
        .check();
    assert_eq!(quiet.findings[0].1, Finding::Unreached, "{quiet}");
    assert!(quiet.exhaustive);
}

mod history;
mod more;
mod synchronous;
