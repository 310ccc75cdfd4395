//! The simulator's adversarial scheduling hook: the scheduler sees every
//! pending event and picks the next; messages may go early or late, timers
//! and scheduled events never early, nothing is lost, and stale timers are
//! never shown.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use dsys_core::sim::{Pending, Simulation};
use dsys_core::{Context, Error, Message, Node, NodeId};
use serde::{Deserialize, Serialize};

fn ms(x: u64) -> Duration {
    Duration::from_millis(x)
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Note(u32);
impl Message for Note {}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum T {
    Late,
    Replaced,
}

/// n0 sends notes 1, 2 and 3 to n1 at start and sets two timers, one of
/// them set twice (the first setting is stale); n1 emits what it gets.
#[derive(Debug)]
struct Sender;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    Note(u32),
    Timer(T),
}

impl Node for Sender {
    type Msg = Note;
    type Timer = T;
    type Request = ();
    type Event = Seen;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if ctx.id() == NodeId(0) {
            for i in 1..=3 {
                ctx.send(NodeId(1), Note(i));
            }
            ctx.set_timer(ms(500), T::Late);
            ctx.set_timer(ms(50), T::Replaced);
            ctx.set_timer(ms(80), T::Replaced);
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, _: NodeId, note: Note) {
        ctx.emit(Seen::Note(note.0));
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: T) {
        ctx.emit(Seen::Timer(timer));
    }
}

fn seen(sim: &Simulation<Sender>) -> Vec<(u64, Seen)> {
    sim.all_events()
        .into_iter()
        .map(|(_, e)| (e.time.as_millis() as u64, e.event.clone()))
        .collect()
}

/// A scheduler that picks the last pending event of the list, and records
/// what it was shown each time.
fn last_first(
    shown: Rc<RefCell<Vec<String>>>,
) -> impl FnMut(Duration, &[Pending<'_, Note, T>]) -> usize {
    move |_, pending| {
        let line: Vec<String> = pending
            .iter()
            .map(|p| match p {
                Pending::Message { msg, .. } => format!("msg {}", msg.0),
                Pending::Timer { timer, due, .. } => format!("{timer:?}@{}", due.as_millis()),
                Pending::Other { .. } => "other".into(),
            })
            .collect();
        shown.borrow_mut().push(line.join(", "));
        pending.len() - 1
    }
}

#[test]
fn the_scheduler_orders_everything_and_loses_nothing() {
    let shown = Rc::new(RefCell::new(Vec::new()));
    let mut sim = Simulation::new(2, 7, |_| Sender);
    sim.set_scheduler(last_first(shown.clone()));
    while sim.step().unwrap() {}
    // Last-first: the late timer (due 500 ms), then the replaced timer's
    // live setting (80 ms), then the notes newest first — delivered at
    // 500 ms, long after the network's few milliseconds, with the clock
    // not moving for them.
    assert_eq!(
        seen(&sim),
        vec![
            (500, Seen::Timer(T::Late)),
            (500, Seen::Timer(T::Replaced)),
            (500, Seen::Note(3)),
            (500, Seen::Note(2)),
            (500, Seen::Note(1)),
        ]
    );
    let shown = shown.borrow();
    // Both nodes' starts first; then n0's three notes and two timers, the
    // replaced timer's first setting never shown.
    assert_eq!(shown[0], "other, other");
    assert_eq!(shown[2], "msg 1, msg 2, msg 3, Replaced@80, Late@500");
    assert!(
        shown.iter().all(|line| !line.contains("Replaced@50")),
        "{shown:?}"
    );
    assert_eq!(sim.metrics().dropped, 0);
    assert_eq!(sim.metrics().delivered, 3);
}

#[test]
fn a_message_may_go_before_its_time_and_the_clock_stays() {
    let mut sim = Simulation::new(2, 7, |_| Sender);
    // The earliest message first, else the earliest event.
    sim.set_scheduler(|_: Duration, pending: &[Pending<'_, Note, T>]| {
        pending
            .iter()
            .position(|p| matches!(p, Pending::Message { .. }))
            .unwrap_or(0)
    });
    while sim.step().unwrap() {}
    let events = seen(&sim);
    assert_eq!(
        events,
        vec![
            (0, Seen::Note(1)),
            (0, Seen::Note(2)),
            (0, Seen::Note(3)),
            (80, Seen::Timer(T::Replaced)),
            (500, Seen::Timer(T::Late)),
        ],
        "the notes at time 0, before the 1–10 ms the network drew"
    );
}

#[test]
fn out_of_range_choices_are_errors_and_clearing_restores_the_order() {
    let mut sim = Simulation::new(2, 7, |_| Sender);
    sim.set_scheduler(|_: Duration, pending: &[Pending<'_, Note, T>]| pending.len());
    match sim.step() {
        Err(Error::BadSchedule {
            chosen: 2,
            pending: 2,
        }) => {}
        other => panic!("expected BadSchedule, got {other:?}"),
    }
    // Fire the late timer first (the clock jumps to 500 ms), then hand
    // back to the simulator: what was due earlier runs now, and the clock
    // never goes back.
    let mut sim = Simulation::new(2, 7, |_| Sender);
    sim.set_scheduler(|_: Duration, pending: &[Pending<'_, Note, T>]| {
        pending
            .iter()
            .position(|p| matches!(p, Pending::Timer { timer: T::Late, .. }))
            .unwrap_or(0)
    });
    for _ in 0..3 {
        sim.step().unwrap();
    }
    assert_eq!(sim.now(), ms(500));
    sim.clear_scheduler();
    sim.run_until(ms(1_000)).unwrap();
    let times: Vec<u64> = seen(&sim).iter().map(|(t, _)| *t).collect();
    assert_eq!(times, vec![500, 500, 500, 500, 500]);
    assert_eq!(sim.metrics().delivered, 3);
}

#[test]
fn run_until_ends_with_a_scheduler() {
    let mut sim = Simulation::new(2, 7, |_| Sender);
    sim.set_scheduler(|_: Duration, _: &[Pending<'_, Note, T>]| 0);
    sim.run_until(ms(100)).unwrap();
    // Everything due by 100 ms ran; the late timer waits.
    assert_eq!(sim.metrics().delivered, 3);
    assert_eq!(sim.pending(), 1);
    assert_eq!(sim.now(), ms(100));
}
