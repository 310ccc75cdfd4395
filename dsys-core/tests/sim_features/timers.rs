//! Timers are values: setting a timer equal to a pending one replaces it,
//! and a timer is cancelled by naming its value. Checked in the simulator
//! and, with the `runtime` feature, on the actix runtime.

use std::time::Duration;

use dsys_core::sim::Simulation;
use dsys_core::{Context, Message, Node, NodeId};
use serde::{Deserialize, Serialize};

fn ms(x: u64) -> Duration {
    Duration::from_millis(x)
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum T {
    A,
    B,
    Retry(u32),
}

/// What the test asks the node to do with its timers.
#[derive(Clone, Debug)]
enum Op {
    Set(Duration, T),
    Cancel(T),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Nothing;
impl Message for Nothing {}

/// Carries out timer operations on request; emits each timer that fires.
#[derive(Debug, Default)]
struct Timers;

impl Node for Timers {
    type Msg = Nothing;
    type Timer = T;
    type Request = Vec<Op>;
    type Event = T;

    fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, _: Nothing) {}

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: T) {
        ctx.emit(timer);
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, ops: Vec<Op>) {
        for op in ops {
            match op {
                Op::Set(after, timer) => ctx.set_timer(after, timer),
                Op::Cancel(timer) => ctx.cancel_timer(&timer),
            }
        }
    }
}

/// Runs the requests (at their times) on one node; returns the timers that
/// fired, with the virtual time they fired at.
fn fired(requests: Vec<(u64, Vec<Op>)>) -> Vec<(u64, T)> {
    let mut sim = Simulation::new(1, 3, |_| Timers);
    for (at, ops) in requests {
        sim.request_at(ms(at), NodeId(0), ops).unwrap();
    }
    sim.run_until(ms(1_000)).unwrap();
    sim.events(NodeId(0))
        .iter()
        .map(|e| (e.time.as_millis() as u64, e.event.clone()))
        .collect()
}

#[test]
fn setting_an_equal_timer_replaces_the_pending_one() {
    assert_eq!(
        fired(vec![
            (0, vec![Op::Set(ms(100), T::A)]),
            (30, vec![Op::Set(ms(100), T::A)])
        ]),
        vec![(130, T::A)],
        "the first setting must not fire; the second fires at its own deadline"
    );
    // Replacing with a shorter delay moves the timer earlier.
    assert_eq!(
        fired(vec![
            (0, vec![Op::Set(ms(100), T::A)]),
            (10, vec![Op::Set(ms(20), T::A)])
        ]),
        vec![(30, T::A)]
    );
}

#[test]
fn unequal_timers_are_independent() {
    assert_eq!(
        fired(vec![(
            0,
            vec![
                Op::Set(ms(50), T::Retry(1)),
                Op::Set(ms(60), T::Retry(2)),
                Op::Set(ms(70), T::B),
            ]
        )]),
        vec![(50, T::Retry(1)), (60, T::Retry(2)), (70, T::B)]
    );
}

#[test]
fn cancelling_by_value_stops_only_that_timer() {
    assert_eq!(
        fired(vec![
            (0, vec![Op::Set(ms(50), T::A), Op::Set(ms(60), T::B)]),
            (10, vec![Op::Cancel(T::A)]),
        ]),
        vec![(60, T::B)]
    );
    // Cancelling a timer that was never set, or already fired, does nothing.
    assert_eq!(
        fired(vec![
            (0, vec![Op::Cancel(T::Retry(9)), Op::Set(ms(10), T::A)]),
            (20, vec![Op::Cancel(T::A), Op::Set(ms(10), T::B)]),
        ]),
        vec![(10, T::A), (30, T::B)]
    );
}

#[test]
fn effects_of_one_handler_apply_in_order() {
    // Set then cancel: nothing fires. Cancel then set: it fires.
    assert_eq!(
        fired(vec![(0, vec![Op::Set(ms(10), T::A), Op::Cancel(T::A)])]),
        vec![]
    );
    assert_eq!(
        fired(vec![(0, vec![Op::Cancel(T::A), Op::Set(ms(10), T::A)])]),
        vec![(10, T::A)]
    );
}

#[test]
fn a_timer_may_be_set_again_once_it_has_fired() {
    assert_eq!(
        fired(vec![
            (0, vec![Op::Set(ms(10), T::A)]),
            (15, vec![Op::Set(ms(10), T::A)])
        ]),
        vec![(10, T::A), (25, T::A)]
    );
}

#[test]
fn a_timer_due_while_paused_fires_at_resume() {
    let mut sim = Simulation::new(1, 3, |_| Timers);
    sim.request_at(ms(0), NodeId(0), vec![Op::Set(ms(10), T::A)])
        .unwrap();
    sim.run_until(ms(5)).unwrap();
    sim.pause(NodeId(0)).unwrap();
    sim.run_until(ms(40)).unwrap();
    assert!(sim.events(NodeId(0)).is_empty());
    sim.resume(NodeId(0)).unwrap();
    sim.run_until(ms(100)).unwrap();
    let fired: Vec<_> = sim
        .events(NodeId(0))
        .iter()
        .map(|e| (e.time, e.event.clone()))
        .collect();
    assert_eq!(fired, vec![(ms(40), T::A)]);
}

#[cfg(feature = "runtime")]
mod actix_runtime {
    use super::*;
    use dsys_core::runtime::Cluster;

    /// Sets `A` twice at start (the second replaces the first); when `A`
    /// fires it sets `B`, which reports how often `A` fired. Had the first
    /// `A` not been cancelled it would have been due before the second one
    /// and long before `B` was even set, so the count is exact whatever the
    /// machine's speed.
    #[derive(Debug, Default)]
    struct Twice {
        a_fired: u32,
    }

    impl Node for Twice {
        type Msg = Nothing;
        type Timer = T;
        type Request = ();
        type Event = u32;

        fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
            ctx.set_timer(ms(5), T::A);
            ctx.set_timer(ms(20), T::A);
        }

        fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, _: Nothing) {}

        fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: T) {
            match timer {
                T::A => {
                    self.a_fired += 1;
                    ctx.set_timer(ms(50), T::B);
                }
                _ => ctx.emit(self.a_fired),
            }
        }
    }

    #[test]
    fn setting_an_equal_timer_replaces_the_pending_one_on_actix() {
        actix_rt::System::new().block_on(async {
            let cluster = Cluster::builder(1)
                .on_current_arbiter()
                .start(|_| Twice::default());
            let mut events = cluster.node(NodeId(0)).subscribe_from_start().unwrap();
            assert_eq!(events.next().await.unwrap(), 1, "A must fire exactly once");
            cluster.stop();
        });
    }
}
