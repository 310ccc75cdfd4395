//! The properties of mutual exclusion, as checkers over a run.
//!
//! | property | statement (Coulouris et al., *Distributed Systems*, §15.2) | checker |
//! |---|---|---|
//! | ME1 safety | at most one process may execute in the critical section at a time | [`me1_states`] (after every event, over node states), [`me1_trace`] (over `Entered`/`Exited`) |
//! | ME2 liveness | requests to enter and exit eventually succeed | [`me2_trace`] |
//! | ME3 ordering | if one request to enter happened-before another, entry is granted in that order | [`me3_trace`] (with the simulator's vector timestamps), [`me3_history`] (a model's, with the model's) |
//!
//! ME2 holds only under the algorithm's assumptions (a reliable network, no
//! crashes): [`properties`] judges it on every run, and calls a violation
//! *expected* ([`Verdict::Expected`]) when the run broke them, naming what
//! broke them. ME1 and ME3 are judged on every run. The trace checkers read `request Enter`, `emit Entered` and
//! `emit Exited` records, so they work for every algorithm of this crate and
//! for any node whose `Request`/`Event` print the same way.
//!
//! A process that crashes leaves the section and forgets its request: the
//! checkers treat a crash as an exit and as a withdrawal.

use std::time::Duration;

use dsys_core::model::{History, Observed};
use dsys_core::scenario::{Check, Property, SimOptions, Verdict};
use dsys_core::sim::Simulation;
use dsys_core::trace::{Trace, TraceKind};
use dsys_core::{Node, NodeId};

use crate::{Event, MutexNode, Phase, Request};

#[cfg(test)]
mod tests;

/// ME1 over node states: at most one node is in the section. For
/// [`Simulation::invariant`], checked after every event.
pub fn me1_states<N: MutexNode>(states: &[Option<N>]) -> Result<(), String> {
    let inside: Vec<NodeId> = states
        .iter()
        .enumerate()
        .filter(|(_, n)| n.as_ref().is_some_and(|n| n.in_section()))
        .map(|(i, _)| NodeId(i as u32))
        .collect();
    if inside.len() > 1 {
        let names: Vec<String> = inside.iter().map(ToString::to_string).collect();
        return Err(format!(
            "ME1: {} are in the critical section at once",
            names.join(" and ")
        ));
    }
    Ok(())
}

/// ME1 over a sequence of events in the order they happened: nobody enters
/// while another holds the section, and only the holder exits.
pub fn me1_events(events: impl IntoIterator<Item = (NodeId, Event)>) -> Result<(), String> {
    let mut holder: Option<NodeId> = None;
    for (position, (node, event)) in events.into_iter().enumerate() {
        match (event, holder) {
            (Event::Entered, None) => holder = Some(node),
            (Event::Entered, Some(other)) => {
                return Err(format!(
                "ME1: {node} entered (event {position}) while {other} was in the critical section"
            ))
            }
            (Event::Exited, Some(h)) if h == node => holder = None,
            (Event::Exited, _) => {
                return Err(format!(
                    "{node} exited (event {position}) without holding the critical section"
                ))
            }
        }
    }
    Ok(())
}

fn event_of(kind: &TraceKind) -> Option<Event> {
    match kind {
        TraceKind::Emit { event } if event == "Entered" => Some(Event::Entered),
        TraceKind::Emit { event } if event == "Exited" => Some(Event::Exited),
        _ => None,
    }
}

/// ME1 over a trace: at most one node between its `Entered` and its
/// `Exited` (or its crash) at any point of the run.
pub fn me1_trace(trace: &Trace) -> Result<(), String> {
    let mut holder: Option<NodeId> = None;
    for e in trace.events() {
        let Some(node) = e.node else { continue };
        match (&e.kind, event_of(&e.kind)) {
            (TraceKind::Crash, _) if holder == Some(node) => holder = None,
            (_, Some(Event::Entered)) => {
                if let Some(other) = holder {
                    return Err(format!(
                        "ME1: {node} entered at {:?} (trace event {}) while {other} was in the critical section",
                        e.time(),
                        e.index
                    ));
                }
                holder = Some(node);
            }
            (_, Some(Event::Exited)) if holder == Some(node) => holder = None,
            (_, Some(Event::Exited)) => {
                return Err(format!(
                    "{node} exited at {:?} (trace event {}) without holding the critical section",
                    e.time(),
                    e.index
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// One `Enter` request of a run and its entry, as trace indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Attempt {
    /// The node that asked.
    pub node: NodeId,
    /// The trace index of its `request Enter`.
    pub requested: usize,
    /// The trace index of its `emit Entered`, if it entered.
    pub entered: Option<usize>,
}

/// What one record of a run says about the section, for [`attempts`].
#[derive(Clone, Copy)]
enum Step {
    Enter,
    Entered,
    Exited,
    Crash,
}

/// Every `Enter` request that a node accepted (it was neither waiting nor
/// inside), with the entry that answered it.
pub fn attempts(trace: &Trace) -> Vec<Attempt> {
    attempts_of(trace.events().iter().filter_map(|e| {
        let step = match &e.kind {
            TraceKind::Request { request } if request == "Enter" => Step::Enter,
            TraceKind::Crash => Step::Crash,
            kind => match event_of(kind)? {
                Event::Entered => Step::Entered,
                Event::Exited => Step::Exited,
            },
        };
        Some((e.index, e.node?, step))
    }))
}

/// The attempts of a run given as its section steps, each with its index
/// in the run (what an [`Attempt`] points to).
fn attempts_of(steps: impl IntoIterator<Item = (usize, NodeId, Step)>) -> Vec<Attempt> {
    let mut open: Vec<Option<usize>> = Vec::new(); // per node: index into `all`
    let mut phase: Vec<Phase> = Vec::new();
    let mut all: Vec<Attempt> = Vec::new();
    for (index, node, step) in steps {
        let i = node.index();
        if i >= phase.len() {
            phase.resize(i + 1, Phase::Released);
            open.resize(i + 1, None);
        }
        match step {
            Step::Enter => {
                if phase[i] == Phase::Released {
                    phase[i] = Phase::Wanted;
                    open[i] = Some(all.len());
                    all.push(Attempt {
                        node,
                        requested: index,
                        entered: None,
                    });
                }
            }
            Step::Crash => {
                phase[i] = Phase::Released;
                open[i] = None;
            }
            Step::Entered => {
                phase[i] = Phase::Held;
                if let Some(a) = open[i].take() {
                    all[a].entered = Some(index);
                }
            }
            Step::Exited => phase[i] = Phase::Released,
        }
    }
    all
}

/// ME2 over a trace: every accepted `Enter` was followed by `Entered`
/// (attempts withdrawn by a crash excepted). Judge it only on runs long
/// enough for the last requests to be served.
pub fn me2_trace(trace: &Trace) -> Result<(), String> {
    let crashed: Vec<(NodeId, usize)> = trace
        .events()
        .iter()
        .filter(|e| matches!(e.kind, TraceKind::Crash))
        .filter_map(|e| e.node.map(|n| (n, e.index)))
        .collect();
    let starving: Vec<String> = attempts(trace)
        .into_iter()
        .filter(|a| a.entered.is_none())
        .filter(|a| !crashed.iter().any(|&(n, i)| n == a.node && i > a.requested))
        .map(|a| {
            format!(
                "{} (asked at {:?})",
                a.node,
                trace.events()[a.requested].time()
            )
        })
        .collect();
    if starving.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "ME2: {} never entered the critical section",
            starving.join(", ")
        ))
    }
}

/// ME3 over a trace: whenever one `Enter` request happened-before another
/// (by the simulator's vector timestamps), the first was granted first.
pub fn me3_trace(trace: &Trace) -> Result<(), String> {
    let all = attempts(trace);
    let Some((a, b, b_entered)) = me3_broken(&all, |x, y| trace.happens_before(x, y)) else {
        return Ok(());
    };
    let events = trace.events();
    Err(format!(
        "ME3: {}'s request at {:?} happened-before {}'s at {:?}, but {} entered first (at {:?})",
        a.node,
        events[a.requested].time(),
        b.node,
        events[b.requested].time(),
        b.node,
        events[b_entered].time()
    ))
}

/// ME3 over a model's history: whenever one `Enter` request
/// [happened before](History::happened_before) another, the first was
/// granted first. For models with [`Model::causal_history`]; without
/// stamps no request is known to precede another, and it holds. A model's
/// history records no crashes, so judge it on models without them.
///
/// ```
/// use dsys_core::model::{History, Observed};
/// use dsys_core::trace::VectorTimestamp;
/// use dsys_core::NodeId;
/// use dsys_mutex::central_server::CentralServer;
/// use dsys_mutex::properties::me3_history;
/// use dsys_mutex::{Event, Request};
///
/// let mut history = History::<CentralServer>::new();
/// let enter = |node| Observed::Request { node: NodeId(node), request: Request::Enter };
/// let entered = |node| Observed::Event { node: NodeId(node), event: Event::Entered };
/// history.push_stamped(enter(1), VectorTimestamp(vec![0, 1]));
/// history.push_stamped(enter(0), VectorTimestamp(vec![1, 1])); // n0 heard n1's request
/// history.push_stamped(entered(0), VectorTimestamp(vec![2, 1]));
/// assert!(me3_history(&history).unwrap_err().starts_with("ME3: n1's request"));
/// ```
///
/// [`Model::causal_history`]: dsys_core::model::Model::causal_history
pub fn me3_history<N: MutexNode>(history: &History<N>) -> Result<(), String> {
    let steps = history.iter().enumerate().filter_map(|(index, observed)| {
        let (node, step) = match observed {
            Observed::Request {
                node,
                request: Request::Enter,
            } => (*node, Step::Enter),
            Observed::Event {
                node,
                event: Event::Entered,
            } => (*node, Step::Entered),
            Observed::Event {
                node,
                event: Event::Exited,
            } => (*node, Step::Exited),
            Observed::Request { .. } => return None,
        };
        Some((index, node, step))
    });
    let all = attempts_of(steps);
    match me3_broken(&all, |x, y| history.happened_before(x, y)) {
        Some((a, b, _)) => Err(format!(
            "ME3: {}'s request to enter (history entry {}) happened-before {}'s (entry {}), \
             but {} entered first",
            a.node, a.requested, b.node, b.requested, b.node
        )),
        None => Ok(()),
    }
}

/// ME3's rule over the attempts of a run: the first pair where `a`'s
/// request happened before `b`'s and `b` entered (at the index returned)
/// while `a` had not.
fn me3_broken(
    all: &[Attempt],
    happened_before: impl Fn(usize, usize) -> bool,
) -> Option<(Attempt, Attempt, usize)> {
    for a in all {
        for b in all {
            let Some(b_entered) = b.entered else { continue };
            if a.node == b.node || !happened_before(a.requested, b.requested) {
                continue;
            }
            if a.entered.is_none_or(|a_entered| a_entered > b_entered) {
                return Some((*a, *b, b_entered));
            }
        }
    }
    None
}

/// Whether the run keeps ME2's assumptions: no loss, duplication,
/// partition or crash (reordering is allowed: every algorithm here
/// tolerates it).
pub fn assumptions_hold(options: &SimOptions) -> bool {
    broken_assumptions(options).is_empty()
}

/// What the run did that ME2's assumptions rule out, one phrase each
/// (`"the crash of n0 at 300 ms"`).
pub fn broken_assumptions(options: &SimOptions) -> Vec<String> {
    let mut broken = Vec::new();
    if options.loss > 0.0 {
        broken.push(format!("message loss {}", options.loss));
    }
    if options.duplicate > 0.0 {
        broken.push(format!("duplication {}", options.duplicate));
    }
    for p in &options.partitions {
        broken.push(format!("the partition {p}"));
    }
    for c in &options.crashes {
        broken.push(format!(
            "the crash of {} at {} ms",
            c.node,
            c.at.as_millis()
        ));
    }
    for r in &options.restarts {
        broken.push(format!(
            "the restart of {} at {} ms",
            r.node,
            r.at.as_millis()
        ));
    }
    broken
}

fn judge(sim: &Simulation<impl MutexNode>, check: fn(&Trace) -> Result<(), String>) -> Verdict {
    match sim.trace() {
        Some(trace) => check(trace).into(),
        None => Verdict::Skipped("needs the run's trace".to_string()),
    }
}

/// ME1 to ME3 as scenario properties (ME1 twice: as an invariant over node
/// states and over the trace). The scenario must record a trace.
pub fn properties<N: MutexNode>() -> Vec<Property<N>> {
    vec![
        Property {
            name: "ME1 safety (states)",
            check: Check::invariant(me1_states::<N>),
        },
        Property {
            name: "ME1 safety (events)",
            check: Check::at_end(|sim, _| judge(sim, me1_trace)),
        },
        Property {
            name: "ME2 liveness",
            check: Check::at_end(|sim, options| {
                let broken = broken_assumptions(options);
                match judge(sim, me2_trace) {
                    Verdict::Violated(why) if !broken.is_empty() => Verdict::Expected(format!(
                        "{why}. Expected: these algorithms assume a reliable network and no \
                         crashes, and this run had {}",
                        broken.join(", ")
                    )),
                    verdict => verdict,
                }
            }),
        },
        Property {
            name: "ME3 ordering",
            check: Check::at_end(|sim, _| judge(sim, me3_trace)),
        },
        Property {
            name: "critical section",
            check: Check::figure(|sim, _| section_story(sim)),
        },
    ]
}

/// How many entries [`section_story`] lists before it summarises.
const STORY_ENTRIES: usize = 8;

/// The critical section's story for a report: the first entries in order,
/// each with its holder and how long it stayed, then how many in all and
/// by whom (`n1 12.0–14.5 ms; n0 15.1–16.0 ms; … 48 entries: n0 16, n1 16,
/// n2 16`).
pub fn section_story<N: Node<Event = Event>>(sim: &Simulation<N>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut open: Option<(NodeId, Duration)> = None;
    let mut per_node = vec![0usize; sim.len()];
    let ms = |t: Duration| format!("{:.1}", t.as_secs_f64() * 1000.0);
    for (id, e) in sim.all_events() {
        match e.event {
            Event::Entered => {
                per_node[id.index()] += 1;
                open = Some((id, e.time));
            }
            Event::Exited => {
                if let Some((holder, from)) = open.take()
                    && parts.len() < STORY_ENTRIES
                {
                    parts.push(format!("{holder} {}–{} ms", ms(from), ms(e.time)));
                }
            }
        }
    }
    let total: usize = per_node.iter().sum();
    if total == 0 {
        return "nobody entered".into();
    }
    if let Some((holder, from)) = open
        && parts.len() < STORY_ENTRIES
    {
        parts.push(format!("{holder} from {} ms (still inside)", ms(from)));
    }
    let by: Vec<String> = per_node
        .iter()
        .enumerate()
        .map(|(i, n)| format!("n{i} {n}"))
        .collect();
    let entries = if total == 1 { "entry" } else { "entries" };
    if total > parts.len() {
        parts.push(format!("… {total} {entries}: {}", by.join(", ")));
    } else {
        parts.push(format!("{total} {entries}: {}", by.join(", ")));
    }
    parts.join("; ")
}

/// ME1–ME3 judged on a trace, one line each (`ME1 safety    holds`), for
/// programs that show a run to a person.
pub fn verdict_lines(trace: &Trace) -> String {
    let mut out = String::new();
    for (name, verdict) in [
        ("ME1 safety", me1_trace(trace)),
        ("ME2 liveness", me2_trace(trace)),
        ("ME3 ordering", me3_trace(trace)),
    ] {
        match verdict {
            Ok(()) => out.push_str(&format!("  {name:<13} holds\n")),
            Err(why) => out.push_str(&format!("  {name:<13} VIOLATED: {why}\n")),
        }
    }
    out
}
