//! The election properties, judged on a simulated run; one checker each,
//! shared by [`crate::ring`] and [`crate::bully`].
//!
//! | property | meaning | checker | source |
//! |---|---|---|---|
//! | **E1 safety** | a node that declares itself leader is the highest live id; no node adopts a leader while another live node holds a higher live leader | [`e1_safety`] | Coulouris et al. §15.3 (E1) |
//! | **E2 liveness** | every live node eventually holds the highest live id | [`e2_liveness`] | Coulouris et al. §15.3 (E2) |
//!
//! # How E1 is judged
//!
//! Coulouris states E1 as "every participant's `elected` is ⊥ or the
//! highest live id". Taken literally after every event, a correct bully
//! election breaks it for an instant whenever a higher node recovers: the
//! recovered node has announced itself and the announcement is still on
//! its way to the others. So [`e1_safety`] judges the *decisions* of a run
//! (the [`ElectionEvent::Elected`] events, ordered by the trace, with the
//! crashes and restarts the trace records):
//!
//! 1. **Highest id.** When a node declares *itself* leader at time `t`, no
//!    node with a higher id has been up throughout `[t − window, t]`, where
//!    `window` is how long the algorithm waits for a higher node to object
//!    (bully's answer timeout; for ring the whole run, since ring does not
//!    tolerate crashes).
//! 2. **Agreement.** When a node adopts leader `l`, no live node holds a
//!    live leader higher than `l`: two live nodes never hold different live
//!    leaders unless the lower one is merely stale (has not yet heard the
//!    newer, higher announcement).
//!
//! A bully node that times out on a slow (not crashed) higher node breaks
//! both, which is exactly what the theory predicts; see
//! [`crate::bully`].

use std::collections::HashMap;
use std::time::Duration;

use dsys_core::sim::Simulation;
use dsys_core::trace::TraceKind;
use dsys_core::{Node, NodeId};

use crate::event::{ElectionEvent, Elector};

/// E1 safety over a finished (or stopped) run; see the [module docs](self).
/// Needs the trace (call [`Simulation::enable_trace`] before running).
///
/// `window`: how long before a self-declaration every higher node must have
/// been up for the declaration to be wrong (`None`: since the start of the
/// run).
pub fn e1_safety<N>(sim: &Simulation<N>, window: Option<Duration>) -> Result<(), String>
where
    N: Node<Event = ElectionEvent>,
{
    let trace = sim
        .trace()
        .ok_or("E1 needs the trace: call Simulation::enable_trace before the run")?;
    let decisions: HashMap<usize, NodeId> = sim
        .all_events()
        .into_iter()
        .filter_map(|(_, e)| match (e.trace_index, &e.event) {
            (Some(i), ElectionEvent::Elected(leader)) => Some((i, *leader)),
            _ => None,
        })
        .collect();
    let n = sim.len();
    let mut up_since: Vec<Option<Duration>> = vec![Some(Duration::ZERO); n];
    let mut belief: Vec<Option<NodeId>> = vec![None; n];
    for event in trace.events() {
        let Some(node) = event.node else { continue };
        let t = event.time();
        match &event.kind {
            TraceKind::Crash => {
                up_since[node.index()] = None;
                belief[node.index()] = None;
            }
            TraceKind::Restart { .. } => {
                up_since[node.index()] = Some(t);
                belief[node.index()] = None;
            }
            TraceKind::Emit { .. } => {
                let Some(&leader) = decisions.get(&event.index) else {
                    continue;
                };
                if leader == node {
                    let from = window.map_or(Duration::ZERO, |w| t.saturating_sub(w));
                    if let Some(higher) = (node.index() + 1..n)
                        .find(|&q| up_since[q].is_some_and(|since| since <= from))
                    {
                        return Err(format!(
                            "E1: {node} declared itself leader at {t:?}, but n{higher}, a higher id, \
                             had been up without a crash since {:?}",
                            up_since[higher].unwrap_or_default()
                        ));
                    }
                }
                let is_up = |id: NodeId| up_since.get(id.index()).is_some_and(Option::is_some);
                if let Some((q, held)) = belief
                    .iter()
                    .enumerate()
                    .filter(|&(q, _)| q != node.index() && up_since[q].is_some())
                    .filter_map(|(q, b)| b.map(|b| (q, b)))
                    .find(|&(_, held)| held > leader && is_up(held))
                {
                    return Err(format!(
                        "E1: {node} adopted {leader} as leader at {t:?} while n{q} holds {held}, \
                         a higher live leader"
                    ));
                }
                belief[node.index()] = Some(leader);
            }
            _ => {}
        }
    }
    Ok(())
}

/// E2 liveness at the end of a run: every live node holds the highest live
/// id as its leader. Judge it only when the run's assumptions held and it
/// ran long enough after the last fault for an election to finish.
pub fn e2_liveness<N>(states: &[Option<N>]) -> Result<(), String>
where
    N: Node + Elector,
{
    let Some(highest) = states.iter().rposition(Option::is_some) else {
        return Ok(());
    };
    let highest = NodeId(highest as u32);
    for (i, node) in states.iter().enumerate() {
        if let Some(node) = node
            && node.leader() != Some(highest)
        {
            return Err(format!(
                "E2: n{i} holds {} as leader, but the highest live id is {highest}",
                node.leader()
                    .map_or("no one".to_string(), |l| l.to_string())
            ));
        }
    }
    Ok(())
}

/// E1 as an invariant over the processes' states, for the model checker's
/// runs without crashes: every process's `elected` is ⊥ or the highest id.
/// (With crashes a correct election breaks it for an instant, as the
/// [module docs](self) explain; judge those runs with [`e1_safety`].)
pub fn e1_states<N: Elector>(states: &[Option<N>]) -> Result<(), String> {
    let highest = NodeId(states.len().saturating_sub(1) as u32);
    for (i, node) in states.iter().enumerate() {
        if let Some(leader) = node.as_ref().and_then(Elector::leader)
            && leader != highest
        {
            return Err(format!(
                "E1: n{i} elected {leader}, but the highest id is {highest}"
            ));
        }
    }
    Ok(())
}

/// When the last crash or restart of `options` happens, if any.
pub(crate) fn last_fault(options: &dsys_core::scenario::SimOptions) -> Option<Duration> {
    options
        .crashes
        .iter()
        .chain(&options.restarts)
        .map(|c| c.at)
        .max()
}

fn ms(t: Duration) -> String {
    format!("{:.1} ms", t.as_secs_f64() * 1000.0)
}

/// The run's story, for a report: in time order, who started an election
/// and whom the nodes came to hold as leader, consecutive changes to the
/// same leader grouped (`n2 started at 101.0 ms; n0, n1, n2 → n2 at
/// 104.2 ms–109.0 ms`). Crashes and restarts are in the report's options.
pub fn story<N: Node<Event = ElectionEvent>>(sim: &Simulation<N>) -> String {
    let mut parts: Vec<String> = Vec::new();
    // The leader of the group being built, its nodes and its time span.
    let mut group: Option<(NodeId, Vec<NodeId>, Duration, Duration)> = None;
    let flush = |group: &mut Option<(NodeId, Vec<NodeId>, Duration, Duration)>,
                 parts: &mut Vec<String>| {
        if let Some((leader, nodes, from, to)) = group.take() {
            let nodes: Vec<String> = nodes.iter().map(ToString::to_string).collect();
            let when = match from == to {
                true => ms(from),
                false => format!("{}–{}", ms(from), ms(to)),
            };
            parts.push(format!("{} → {leader} at {when}", nodes.join(", ")));
        }
    };
    for (id, e) in sim.all_events() {
        match e.event {
            ElectionEvent::Started => {
                flush(&mut group, &mut parts);
                parts.push(format!("{id} started at {}", ms(e.time)));
            }
            ElectionEvent::Elected(leader) => match &mut group {
                Some((held, nodes, _, to)) if *held == leader => {
                    nodes.push(id);
                    *to = e.time;
                }
                _ => {
                    flush(&mut group, &mut parts);
                    group = Some((leader, vec![id], e.time, e.time));
                }
            },
        }
    }
    flush(&mut group, &mut parts);
    match parts.is_empty() {
        true => "no election".into(),
        false => parts.join("; "),
    }
}

#[cfg(test)]
mod tests;
