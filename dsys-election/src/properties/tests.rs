//! The checkers seen failing: hand-made runs, each breaking a property in
//! exactly one way, beside the ones that keep it. A scripted node emits
//! what the script asks, at the time the script says, so every decision,
//! crash and restart is placed by hand. Coulouris et al. §15.3.

use serde::{Deserialize, Serialize};

use dsys_core::scenario::{NodeAt, SimOptions};
use dsys_core::sim::Fault;
use dsys_core::{Context, Message};

use super::*;
use crate::event::Elector;

/// A node that reports exactly the events it is handed and holds the
/// leader it last reported.
#[derive(Clone, Debug, Default)]
struct Scripted {
    leader: Option<NodeId>,
}

/// The scripted nodes send nothing.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Silent;

impl Message for Silent {}

impl Node for Scripted {
    type Msg = Silent;
    type Timer = ();
    type Request = ElectionEvent;
    type Event = ElectionEvent;

    fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, _: Silent) {}

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, event: ElectionEvent) {
        if let ElectionEvent::Elected(leader) = event {
            self.leader = Some(leader);
        }
        ctx.emit(event);
    }
}

impl Elector for Scripted {
    fn leader(&self) -> Option<NodeId> {
        self.leader
    }
}

const N0: NodeId = NodeId(0);
const N1: NodeId = NodeId(1);
const N2: NodeId = NodeId(2);

fn ms(t: u64) -> Duration {
    Duration::from_millis(t)
}

/// One step of a hand-made run, at a time in milliseconds.
enum Step {
    /// The node reports the event.
    Says(NodeId, ElectionEvent),
    /// A crash or a restart.
    Fault(Fault),
}

fn elected(node: NodeId, leader: NodeId) -> Step {
    Step::Says(node, ElectionEvent::Elected(leader))
}

fn crash(node: NodeId) -> Step {
    Step::Fault(Fault::Crash(node))
}

fn restart(node: NodeId) -> Step {
    Step::Fault(Fault::Restart(node))
}

/// Three scripted nodes, traced, run through `steps` and one second more.
fn run(steps: Vec<(u64, Step)>) -> Simulation<Scripted> {
    let mut sim = Simulation::new(3, 1, |_| Scripted::default());
    sim.enable_trace();
    for (at, step) in steps {
        match step {
            Step::Says(node, event) => sim.request_at(ms(at), node, event).unwrap(),
            Step::Fault(fault) => sim.fault_at(ms(at), fault).unwrap(),
        }
    }
    sim.run_until(ms(1000)).unwrap();
    sim
}

#[test]
fn e1_needs_the_trace() {
    let mut sim = Simulation::new(3, 1, |_| Scripted::default());
    sim.run_until(ms(10)).unwrap();
    let why = e1_safety(&sim, None).unwrap_err();
    assert!(why.contains("enable_trace"), "{why}");
}

// E1, rule 1: a self-declaration is wrong if a higher node was up
// throughout the window before it.
#[test]
fn e1_rejects_declaring_oneself_below_a_higher_node_that_was_up() {
    let sim = run(vec![(100, elected(N1, N1))]);
    let why = e1_safety(&sim, Some(ms(50))).unwrap_err();
    assert!(
        why.contains("n1 declared itself") && why.contains("n2"),
        "{why}"
    );
    assert!(e1_safety(&sim, None).is_err());
    // A crashed higher node does not object.
    let sim = run(vec![(10, crash(N2)), (100, elected(N1, N1))]);
    assert_eq!(e1_safety(&sim, Some(ms(50))), Ok(()));
    assert_eq!(e1_safety(&sim, None), Ok(()));
}

#[test]
fn e1_counts_a_restarted_node_as_up_from_its_restart() {
    // Restarted at 20 ms, up throughout [50 ms, 100 ms]: it should have won.
    let sim = run(vec![
        (10, crash(N2)),
        (20, restart(N2)),
        (100, elected(N1, N1)),
    ]);
    let why = e1_safety(&sim, Some(ms(50))).unwrap_err();
    assert!(why.contains("up without a crash since 20ms"), "{why}");
    // Restarted at exactly the window's start: still up throughout.
    let sim = run(vec![
        (10, crash(N2)),
        (50, restart(N2)),
        (100, elected(N1, N1)),
    ]);
    assert!(e1_safety(&sim, Some(ms(50))).is_err());
    // Restarted inside the window: it may not have been heard yet.
    let sim = run(vec![
        (10, crash(N2)),
        (51, restart(N2)),
        (100, elected(N1, N1)),
    ]);
    assert_eq!(e1_safety(&sim, Some(ms(50))), Ok(()));
    // Without a window a restart counts from the start of the run only.
    assert_eq!(e1_safety(&sim, None), Ok(()));
}

// E1, rule 2: no node adopts a leader while another live node holds a
// higher live leader.
#[test]
fn e1_rejects_adopting_a_lower_leader_than_another_node_holds() {
    let sim = run(vec![(10, elected(N0, N2)), (20, elected(N1, N0))]);
    let why = e1_safety(&sim, None).unwrap_err();
    assert!(
        why.contains("n1 adopted n0") && why.contains("while n0 holds n2"),
        "{why}"
    );
    // The higher leader crashed: the lower one is the right choice now.
    let sim = run(vec![
        (10, elected(N0, N2)),
        (15, crash(N2)),
        (20, elected(N1, N0)),
    ]);
    assert_eq!(e1_safety(&sim, None), Ok(()));
    // The node that held the higher leader crashed: nobody holds it now.
    let sim = run(vec![
        (10, elected(N0, N2)),
        (15, crash(N0)),
        (20, elected(N1, N0)),
    ]);
    assert_eq!(e1_safety(&sim, None), Ok(()));
}

#[test]
fn e1_judges_a_change_of_mind_by_what_the_others_hold() {
    // n0 alone moves from n2 to n1: no other node holds n2, so no two
    // nodes disagree. Rule 2 compares a node with the others only.
    let sim = run(vec![(10, elected(N0, N2)), (20, elected(N0, N1))]);
    assert_eq!(e1_safety(&sim, None), Ok(()));
    // Agreeing with another node is no conflict.
    let sim = run(vec![(10, elected(N0, N2)), (20, elected(N1, N2))]);
    assert_eq!(e1_safety(&sim, None), Ok(()));
    // Agreement with a higher one passes too.
    let sim = run(vec![(10, elected(N0, N1)), (20, elected(N1, N2))]);
    assert_eq!(e1_safety(&sim, None), Ok(()));
}

#[test]
fn e2_wants_every_live_node_to_hold_the_highest_live_id() {
    let all = |leader| Some(Scripted { leader });
    assert_eq!(
        e2_liveness(&[all(Some(N2)), all(Some(N2)), all(Some(N2))]),
        Ok(())
    );
    assert_eq!(e2_liveness(&[all(Some(N1)), all(Some(N1)), None]), Ok(()));
    assert_eq!(e2_liveness::<Scripted>(&[None, None]), Ok(()));
    let why = e2_liveness(&[all(Some(N2)), all(None), all(Some(N2))]).unwrap_err();
    assert!(why.contains("n1 holds no one"), "{why}");
    let why = e2_liveness(&[all(Some(N2)), all(Some(N1)), all(Some(N2))]).unwrap_err();
    assert!(
        why.contains("n1 holds n1 as leader, but the highest live id is n2"),
        "{why}"
    );
}

#[test]
fn the_story_groups_consecutive_adoptions_of_one_leader() {
    let mut sim = Simulation::new(3, 1, |_| Scripted::default());
    sim.request_at(ms(100), N2, ElectionEvent::Started).unwrap();
    let at = Duration::from_micros;
    sim.request_at(at(104_500), N0, ElectionEvent::Elected(N2))
        .unwrap();
    sim.request_at(at(105_000), N1, ElectionEvent::Elected(N2))
        .unwrap();
    sim.request_at(at(109_000), N2, ElectionEvent::Elected(N2))
        .unwrap();
    sim.request_at(at(120_000), N0, ElectionEvent::Elected(N1))
        .unwrap();
    sim.request_at(at(121_000), N1, ElectionEvent::Started)
        .unwrap();
    sim.request_at(at(130_000), N1, ElectionEvent::Elected(N1))
        .unwrap();
    sim.run_until(ms(200)).unwrap();
    assert_eq!(
        story(&sim),
        "n2 started at 100.0 ms; n0, n1, n2 → n2 at 104.5 ms–109.0 ms; \
         n0 → n1 at 120.0 ms; n1 started at 121.0 ms; n1 → n1 at 130.0 ms"
    );
    let mut quiet = Simulation::new(3, 1, |_| Scripted::default());
    quiet.run_until(ms(10)).unwrap();
    assert_eq!(story(&quiet), "no election");
}

#[test]
fn e1_over_states_wants_no_leader_or_the_highest_id() {
    let holds = |leader| Some(Scripted { leader });
    assert_eq!(
        e1_states(&[holds(None), holds(Some(N2)), holds(None)]),
        Ok(())
    );
    // A crashed node holds nothing, yet the highest id is still n2: the
    // state invariant is for runs without crashes.
    let why = e1_states(&[holds(Some(N1)), holds(Some(N2)), None]).unwrap_err();
    assert!(
        why.contains("n0 elected n1, but the highest id is n2"),
        "{why}"
    );
    assert_eq!(e1_states::<Scripted>(&[]), Ok(()));
}

#[test]
fn the_last_fault_is_the_latest_crash_or_restart() {
    let at = |node, t| NodeAt {
        node: NodeId(node),
        at: ms(t),
    };
    let mut options = SimOptions::default();
    assert_eq!(last_fault(&options), None);
    options.crashes = vec![at(1, 30), at(2, 10)];
    assert_eq!(last_fault(&options), Some(ms(30)));
    options.restarts = vec![at(1, 50)];
    assert_eq!(last_fault(&options), Some(ms(50)));
    options.crashes.clear();
    assert_eq!(last_fault(&options), Some(ms(50)));
}
