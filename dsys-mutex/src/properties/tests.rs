//! The checkers seen failing: hand-made event lists and traces that break
//! each property in exactly one way, beside the ones that keep it.

use dsys_core::trace::{Trace, TraceKind, VectorTimestamp};
use dsys_core::NodeId;

use super::*;
use crate::ricart_agrawala::RicartAgrawala;

const N0: NodeId = NodeId(0);
const N1: NodeId = NodeId(1);

/// A trace written by hand: each event on a node, with the node's vector
/// clock given as its entries.
#[derive(Default)]
struct Script(Trace);

impl Script {
    fn on(mut self, node: NodeId, clock: &[u64], kind: TraceKind) -> Self {
        let time = self.0.len() as u64 * 1_000_000;
        self.0.push(
            time,
            Some(node),
            Some(VectorTimestamp(clock.to_vec())),
            kind,
        );
        self
    }
    fn enter(self, node: NodeId, clock: &[u64]) -> Self {
        let request = "Enter".to_string();
        self.on(node, clock, TraceKind::Request { request })
    }
    fn entered(self, node: NodeId, clock: &[u64]) -> Self {
        let event = "Entered".to_string();
        self.on(node, clock, TraceKind::Emit { event })
    }
    fn exited(self, node: NodeId, clock: &[u64]) -> Self {
        let event = "Exited".to_string();
        self.on(node, clock, TraceKind::Emit { event })
    }
    fn crash(self, node: NodeId, clock: &[u64]) -> Self {
        self.on(node, clock, TraceKind::Crash)
    }
}

#[test]
fn me1_over_events_catches_two_holders_and_an_exit_by_a_non_holder() {
    use Event::{Entered, Exited};
    let good = [(N0, Entered), (N0, Exited), (N1, Entered), (N1, Exited)];
    assert_eq!(me1_events(good), Ok(()));
    let two = me1_events([(N0, Entered), (N1, Entered)]).unwrap_err();
    assert!(two.contains("n1 entered (event 1) while n0"), "{two}");
    let stray = me1_events([(N0, Entered), (N1, Exited)]).unwrap_err();
    assert!(
        stray.contains("n1 exited (event 1) without holding"),
        "{stray}"
    );
    assert!(
        me1_events([(N0, Exited)]).is_err(),
        "an exit with nobody inside"
    );
}

#[test]
fn me1_over_a_trace_frees_the_section_at_the_holders_crash_only() {
    let crash_frees = Script::default()
        .entered(N0, &[1])
        .crash(N0, &[2])
        .entered(N1, &[0, 1]);
    assert_eq!(me1_trace(&crash_frees.0), Ok(()));
    let other_crash = Script::default()
        .entered(N0, &[1])
        .crash(N1, &[0, 1])
        .entered(N1, &[0, 2]);
    let why = me1_trace(&other_crash.0).unwrap_err();
    assert!(
        why.contains("n1 entered") && why.contains("while n0"),
        "{why}"
    );
    let stray = Script::default().entered(N0, &[1]).exited(N1, &[0, 1]);
    let why = me1_trace(&stray.0).unwrap_err();
    assert!(
        why.contains("n1 exited") && why.contains("without holding"),
        "{why}"
    );
}

#[test]
fn an_enter_while_waiting_or_inside_is_not_a_new_attempt() {
    let trace = Script::default()
        .enter(N0, &[1])
        .enter(N0, &[2]) // already waiting
        .entered(N0, &[3])
        .enter(N0, &[4]) // inside
        .exited(N0, &[5])
        .enter(N0, &[6]);
    let all = attempts(&trace.0);
    let found: Vec<(usize, Option<usize>)> = all.iter().map(|a| (a.requested, a.entered)).collect();
    assert_eq!(found, vec![(0, Some(2)), (5, None)]);
}

#[test]
fn me2_is_excused_only_by_the_waiting_nodes_own_later_crash() {
    let starved = Script::default().enter(N0, &[1]);
    let why = me2_trace(&starved.0).unwrap_err();
    assert!(why.contains("n0 (asked at"), "{why}");
    // Another node's crash excuses nothing.
    let other = Script::default().enter(N0, &[1]).crash(N1, &[0, 1]);
    assert!(me2_trace(&other.0).is_err());
    // Its own crash before asking excuses nothing either.
    let before = Script::default().crash(N0, &[1]).enter(N0, &[2]);
    assert!(me2_trace(&before.0).is_err());
    // Its own crash after asking withdraws the request.
    let withdrawn = Script::default().enter(N0, &[1]).crash(N0, &[2]);
    assert_eq!(me2_trace(&withdrawn.0), Ok(()));
    let served = Script::default().enter(N0, &[1]).entered(N0, &[2]);
    assert_eq!(me2_trace(&served.0), Ok(()));
}

#[test]
fn me3_catches_a_later_request_served_first() {
    // n0 asks; n1 hears of it (clock [1, 1]) and asks; n1 enters first.
    let out_of_order = Script::default()
        .enter(N0, &[1])
        .enter(N1, &[1, 1])
        .entered(N1, &[1, 2])
        .exited(N1, &[1, 3])
        .entered(N0, &[2, 3]);
    let why = me3_trace(&out_of_order.0).unwrap_err();
    assert!(
        why.contains("n0's request") && why.contains("n1 entered first"),
        "{why}"
    );
    // Never served at all, while the later one was: also out of order.
    let never = Script::default()
        .enter(N0, &[1])
        .enter(N1, &[1, 1])
        .entered(N1, &[1, 2]);
    assert!(me3_trace(&never.0).is_err());
    // In order, or concurrent requests in either order: fine.
    let in_order = Script::default()
        .enter(N0, &[1])
        .enter(N1, &[1, 1])
        .entered(N0, &[2])
        .exited(N0, &[3])
        .entered(N1, &[3, 2]);
    assert_eq!(me3_trace(&in_order.0), Ok(()));
    let concurrent = Script::default()
        .enter(N0, &[1])
        .enter(N1, &[0, 1])
        .entered(N1, &[0, 2])
        .exited(N1, &[0, 3])
        .entered(N0, &[2, 3]);
    assert_eq!(me3_trace(&concurrent.0), Ok(()));
}

#[test]
fn the_registered_properties_are_the_three_the_docs_name() {
    let names: Vec<&str> = properties::<RicartAgrawala>()
        .iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(
        names,
        [
            "ME1 safety (states)",
            "ME1 safety (events)",
            "ME2 liveness",
            "ME3 ordering",
            "critical section"
        ]
    );
}

#[test]
fn verdict_lines_say_which_property_failed() {
    let starved = Script::default().enter(N0, &[1]);
    let lines = verdict_lines(&starved.0);
    assert_eq!(lines.lines().count(), 3);
    assert!(lines.contains("ME1 safety    holds"), "{lines}");
    assert!(lines.contains("ME2 liveness  VIOLATED: ME2: n0"), "{lines}");
    assert!(lines.contains("ME3 ordering  holds"), "{lines}");
}

/// A process of a one-process cluster, which enters as soon as it asks.
fn holding() -> RicartAgrawala {
    use dsys_core::testing::Harness;
    let mut h = Harness::new(RicartAgrawala::new(), N0, 1);
    h.start();
    h.request(crate::Request::Enter);
    assert!(h.node().in_section());
    h.into_node()
}

#[test]
fn me1_over_states_counts_the_processes_inside() {
    let (inside, outside) = (Some(holding()), Some(RicartAgrawala::new()));
    assert_eq!(me1_states(&[inside.clone(), outside.clone(), None]), Ok(()));
    assert_eq!(me1_states::<RicartAgrawala>(&[outside, None]), Ok(()));
    let why = me1_states(&[inside.clone(), None, inside]).unwrap_err();
    assert_eq!(why, "ME1: n0 and n2 are in the critical section at once");
}

#[test]
fn me1_over_a_trace_lets_the_holder_leave_and_ignores_other_events() {
    let passed_on = Script::default()
        .entered(N0, &[1])
        .on(
            N1,
            &[0, 1],
            TraceKind::Emit {
                event: "Wanted".into(),
            },
        )
        .exited(N0, &[2])
        .entered(N1, &[2, 2]);
    assert_eq!(me1_trace(&passed_on.0), Ok(()));
}

#[test]
fn only_an_enter_request_opens_an_attempt() {
    let exit_while_idle = Script::default().on(
        N0,
        &[1],
        TraceKind::Request {
            request: "Exit".into(),
        },
    );
    assert_eq!(attempts(&exit_while_idle.0), vec![]);
    assert_eq!(me2_trace(&exit_while_idle.0), Ok(()));
}

#[test]
fn the_broken_assumptions_name_each_fault_of_the_run() {
    use dsys_core::scenario::NodeAt;
    use std::time::Duration;
    let clean = SimOptions::default();
    assert!(assumptions_hold(&clean));
    assert_eq!(broken_assumptions(&clean), Vec::<String>::new());
    let at = |ms| NodeAt {
        node: N1,
        at: Duration::from_millis(ms),
    };
    let faulty = SimOptions {
        loss: 0.1,
        duplicate: 0.2,
        crashes: vec![at(300)],
        restarts: vec![at(500)],
        ..SimOptions::default()
    };
    assert!(!assumptions_hold(&faulty));
    assert_eq!(
        broken_assumptions(&faulty),
        [
            "message loss 0.1",
            "duplication 0.2",
            "the crash of n1 at 300 ms",
            "the restart of n1 at 500 ms"
        ]
    );
}

#[test]
fn the_section_story_lists_the_first_entries_then_counts_them_all() {
    use crate::workload::Workload;
    use dsys_core::sim::Simulation;
    use std::time::Duration;
    let run = |rounds| {
        let mut sim = Simulation::new(2, 7, |_| RicartAgrawala::new());
        Workload {
            rounds,
            ..Workload::default()
        }
        .install(&mut sim)
        .unwrap();
        sim.run_until(Duration::from_secs(2)).unwrap();
        section_story(&sim)
    };
    assert_eq!(run(0), "nobody entered");
    let two = run(1);
    assert!(two.ends_with("; 2 entries: n0 1, n1 1"), "{two}");
    assert_eq!(two.matches(" ms").count(), 2, "{two}");
    let many = run(5);
    assert!(many.ends_with("; … 10 entries: n0 5, n1 5"), "{many}");
    assert_eq!(many.matches(" ms").count(), STORY_ENTRIES, "{many}");
    // One still inside at the end is said so.
    let mut sim = Simulation::new(1, 1, |_| RicartAgrawala::new());
    sim.request(N0, crate::Request::Enter).unwrap();
    sim.run_until(Duration::from_millis(10)).unwrap();
    let inside = section_story(&sim);
    assert!(
        inside == "n0 from 0.0 ms (still inside); 1 entry: n0 1",
        "{inside}"
    );
    // … unless the listing is full already.
    for _ in 0..STORY_ENTRIES {
        sim.request(N0, crate::Request::Exit).unwrap();
        sim.request(N0, crate::Request::Enter).unwrap();
        sim.run_for(Duration::from_millis(1)).unwrap();
    }
    let full = section_story(&sim);
    assert!(!full.contains("still inside"), "{full}");
    assert!(full.ends_with("; … 9 entries: n0 9"), "{full}");
}

// ----- ME3 over a model's causal history -----------------------------------

/// A model's history written by hand: each entry with its node's clock.
#[derive(Default)]
struct Seen(History<RicartAgrawala>);

impl Seen {
    fn enter(mut self, node: NodeId, clock: &[u64]) -> Self {
        let observed = Observed::Request {
            node,
            request: Request::Enter,
        };
        self.0
            .push_stamped(observed, VectorTimestamp(clock.to_vec()));
        self
    }
    fn event(mut self, node: NodeId, event: Event, clock: &[u64]) -> Self {
        let observed = Observed::Event { node, event };
        self.0
            .push_stamped(observed, VectorTimestamp(clock.to_vec()));
        self
    }
}

#[test]
fn me3_history_catches_a_later_request_served_first() {
    // n0 asked after hearing n1's request, and entered first.
    let bad =
        Seen::default()
            .enter(N1, &[0, 1])
            .enter(N0, &[1, 1])
            .event(N0, Event::Entered, &[2, 1]);
    assert_eq!(
        me3_history(&bad.0).unwrap_err(),
        "ME3: n1's request to enter (history entry 0) happened-before n0's (entry 1), but n0 \
         entered first"
    );
    // n1 entering first (and leaving) keeps the order.
    let good = Seen::default()
        .enter(N1, &[0, 1])
        .enter(N0, &[1, 1])
        .event(N1, Event::Entered, &[1, 2])
        .event(N1, Event::Exited, &[1, 3])
        .event(N0, Event::Entered, &[2, 3]);
    assert_eq!(me3_history(&good.0), Ok(()));
}

#[test]
fn me3_history_leaves_concurrent_and_unstamped_requests_unordered() {
    // Concurrent requests may be served in either order.
    let concurrent =
        Seen::default()
            .enter(N1, &[0, 1])
            .enter(N0, &[1, 0])
            .event(N0, Event::Entered, &[2, 0]);
    assert_eq!(me3_history(&concurrent.0), Ok(()));
    // Without stamps, no request is known to precede another.
    let mut unstamped = History::<RicartAgrawala>::new();
    for (node, observed) in [(N1, None), (N0, None), (N0, Some(Event::Entered))] {
        unstamped.push(match observed {
            None => Observed::Request {
                node,
                request: Request::Enter,
            },
            Some(event) => Observed::Event { node, event },
        });
    }
    assert_eq!(me3_history(&unstamped), Ok(()));
}

#[test]
fn me3_history_counts_only_requests_made_while_released() {
    // n1's second Enter, made while it waits, is no new attempt: its entry
    // answers the first, which n0's later request then follows in order.
    let waiting = Seen::default()
        .enter(N1, &[0, 1])
        .enter(N1, &[0, 2])
        .event(N1, Event::Entered, &[0, 3])
        .event(N1, Event::Exited, &[0, 4])
        .enter(N0, &[1, 4])
        .event(N0, Event::Entered, &[2, 4]);
    assert_eq!(me3_history(&waiting.0), Ok(()));
    // After an exit, a new request is a new attempt, ordered after n0's.
    let again = Seen::default()
        .enter(N0, &[1, 0])
        .event(N0, Event::Entered, &[2, 0])
        .event(N0, Event::Exited, &[3, 0])
        .enter(N1, &[0, 1])
        .enter(N0, &[4, 1])
        .event(N0, Event::Entered, &[5, 1]);
    assert!(me3_history(&again.0).is_err());
}
