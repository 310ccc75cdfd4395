//! Replaying a path of the model in the simulator: the counterexample as
//! a run, with its trace.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{Action, History, Model, Observed, Property, Replayed};
use crate::error::{Error, Result};
use crate::node::{Node, NodeId};
use crate::sim::{Fault, Latency, LinkConfig, Pending, Simulation};
use crate::trace::{TraceKind, VectorTimestamp};

use super::report::ModelVerdict;

/// How far a replay's history has read the run.
struct Heard {
    /// Per node, how many of its emitted events.
    events: Vec<usize>,
    /// How many of the trace's records.
    traced: usize,
}

/// How many times a replay fires a timer again when the node only re-armed
/// it (see [`Model::replay`]).
const REFIRES_MAX: usize = 8;

impl<N> Model<N>
where
    N: Node + Clone + Eq + Hash,
    N::Msg: Eq + Hash,
    N::Request: Clone,
{
    /// Runs `path` (a [`ModelReport::trail`]) in the simulator, step by
    /// step, with the model's nodes and seed on reliable links, and judges
    /// the model's `always` properties after every step: the counterexample
    /// as a simulation, to trace, export to ShiViz or the viewer, and step
    /// through. A scheduler picks each step's message or timer; requests
    /// and crashes are scheduled at the current time. A dropped message
    /// simply stays undelivered; a duplicate cannot be replayed (the
    /// simulator duplicates only by its own draw) and is an error.
    ///
    /// The simulator gives nodes their real virtual clock and one running
    /// RNG, where the model gives a zero clock and a fresh RNG per step: a
    /// node whose choices depend on either may take another branch, and
    /// the replay then stops with an error naming the step it cannot find.
    /// One such case is followed: with [`Model::local_clocks`], a timer
    /// that fired at its node's own deadline may find the simulator's
    /// clock earlier than that (the node heard a message since, later in
    /// the simulator's time than on its own clock) and re-arm instead of
    /// acting; when the next step then cannot be found, the replay fires
    /// that timer again, a few times at most, as a node that waited longer.
    pub fn replay(&self, path: &[Action<N>]) -> Result<Replayed<N>>
    where
        N::Timer: PartialEq,
    {
        let factory = Arc::clone(&self.factory);
        // What a crashed node restarts from (`Model::restart_from`), put
        // here at its crash: the simulator's restart calls the factory.
        let survivors: Arc<Mutex<HashMap<NodeId, N>>> = Arc::default();
        let waiting = Arc::clone(&survivors);
        let mut sim = Simulation::new(self.nodes(), self.seed, move |id| {
            let survivor = waiting
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
            survivor.unwrap_or_else(|| factory(id))
        });
        sim.set_all_links(LinkConfig::reliable(Latency::Fixed(Duration::from_millis(
            1,
        ))))?;
        sim.enable_trace();
        let target: Arc<std::sync::Mutex<Option<Action<N>>>> = Arc::default();
        let wanted = Arc::clone(&target);
        sim.set_scheduler(
            move |_: Duration, pending: &[Pending<'_, N::Msg, N::Timer>]| {
                let wanted = wanted.lock().unwrap_or_else(|e| e.into_inner());
                pending
                    .iter()
                    .position(|p| match (&*wanted, p) {
                        (
                            Some(Action::Deliver { from, to, msg }),
                            Pending::Message {
                                from: f,
                                to: t,
                                msg: m,
                                ..
                            },
                        ) => from == f && to == t && msg == *m,
                        (
                            Some(Action::Fire { node, timer }),
                            Pending::Timer {
                                node: n, timer: t, ..
                            },
                        ) => node == n && timer == *t,
                        // Starts, requests and faults: the simulator's own order.
                        (
                            None
                            | Some(Action::Request { .. } | Action::Crash(_) | Action::Restart(_)),
                            Pending::Other { .. },
                        ) => true,
                        _ => false,
                    })
                    .unwrap_or(usize::MAX)
            },
        );
        let set = |action: Option<Action<N>>| {
            *target.lock().unwrap_or_else(|e| e.into_inner()) = action;
        };
        set(None);
        for _ in 0..self.nodes() {
            sim.step()?;
        }
        let mut replayed = Replayed {
            violated: None,
            sim,
            history: History::new(),
        };
        // How many of each node's events the history has seen, and how
        // many of the trace's records.
        let mut heard = Heard {
            events: vec![0; self.nodes()],
            traced: 0,
        };
        self.hear(&mut replayed, &mut heard, None);
        replayed.violated = self.violated(&replayed, 0);
        for (k, action) in path.iter().enumerate() {
            if replayed.violated.is_some() {
                break;
            }
            let sim = &mut replayed.sim;
            let now = sim.now();
            match action {
                Action::Drop { .. } => continue,
                Action::Duplicate { .. } => {
                    return Err(Error::InvalidConfig(format!(
                        "step {}: {action}: the simulator duplicates only by its own draw, so a \
                         path with a duplicate cannot be replayed",
                        k + 1
                    )))
                }
                Action::Forged { .. } => {
                    return Err(Error::InvalidConfig(format!(
                        "step {}: {action}: a Byzantine node's made-up message is the model's, \
                         not the simulator's, so a path with one cannot be replayed",
                        k + 1
                    )))
                }
                Action::Request { node, request } => sim.request_at(now, *node, request.clone())?,
                Action::Crash(node) => {
                    let crashed = sim.states().get(node.index()).and_then(Option::as_ref);
                    if let (Some(survivor), Some(crashed)) = (&self.restart_from, crashed) {
                        let survivor = survivor(*node, crashed);
                        survivors
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(*node, survivor);
                    }
                    sim.fault_at(now, Fault::Crash(*node))?
                }
                Action::Restart(node) => sim.fault_at(now, Fault::Restart(*node))?,
                Action::Deliver { .. } | Action::Fire { .. } => {}
            }
            set(Some(action.clone()));
            let mut stepped = sim.step();
            // With clocks of their own, a node whose timer fired read its
            // own clock at the deadline; the simulator's one clock may show
            // it earlier than the node's deadline (a message it heard since
            // came later in the simulator's time), and the node re-armed the
            // timer instead. Waiting longer is a run too: fire it again.
            if let (true, Some(Action::Fire { node, timer })) =
                (self.local_clocks, k.checked_sub(1).map(|j| &path[j]))
            {
                let again = Action::Fire {
                    node: *node,
                    timer: timer.clone(),
                };
                for _ in 0..REFIRES_MAX {
                    if !matches!(stepped, Ok(false) | Err(Error::BadSchedule { .. })) {
                        break;
                    }
                    set(Some(again.clone()));
                    if !matches!(sim.step(), Ok(true)) {
                        break;
                    }
                    set(Some(action.clone()));
                    stepped = sim.step();
                }
            }
            match stepped {
                Ok(true) => {}
                Ok(false) | Err(Error::BadSchedule { .. }) => {
                    return Err(Error::InvalidConfig(format!(
                        "step {}: {action}: no such event is pending in the simulator (a node \
                         that reads its clock or draws random numbers took another branch)",
                        k + 1
                    )))
                }
                Err(other) => return Err(other),
            }
            let asked = match action {
                Action::Request { node, request } => Some((*node, request.clone())),
                _ => None,
            };
            self.hear(&mut replayed, &mut heard, asked);
            replayed.violated = self.violated(&replayed, k + 1);
        }
        // A run that ends: the `eventually` properties are judged, as the
        // model judged them, once the simulator has nothing left to do
        // either (a message the model dropped is still pending here).
        if replayed.violated.is_none() && replayed.sim.pending() == 0 {
            replayed.violated = self.properties.iter().find_map(|p| match p {
                Property::Eventually(name, done) if !done(replayed.sim.states()) => {
                    Some((*name, super::ENDS_WITHOUT.to_string(), path.len()))
                }
                _ => None,
            });
        }
        Ok(replayed)
    }

    /// Adds to the replay's history the request `asked` (the step just
    /// run, if it was one) and the events its nodes emitted since `heard`,
    /// in node order: one step runs one node, so this is the order they
    /// were emitted in. With [`Model::causal_history`], each entry is
    /// stamped with the vector timestamp the simulator's trace gave its
    /// `request` or `emit` record.
    fn hear(
        &self,
        replayed: &mut Replayed<N>,
        heard: &mut Heard,
        asked: Option<(NodeId, N::Request)>,
    ) {
        let mut requests: Vec<(NodeId, VectorTimestamp)> = Vec::new();
        let mut emits: Vec<VecDeque<VectorTimestamp>> = vec![VecDeque::new(); self.nodes()];
        if let (true, Some(trace)) = (self.causal, replayed.sim.trace()) {
            for record in &trace.events()[heard.traced.min(trace.len())..] {
                let (Some(node), Some(clock)) = (record.node, &record.clock) else {
                    continue;
                };
                match &record.kind {
                    TraceKind::Request { .. } => requests.push((node, clock.clone())),
                    TraceKind::Emit { .. } => {
                        if let Some(queue) = emits.get_mut(node.index()) {
                            queue.push_back(clock.clone());
                        }
                    }
                    _ => {}
                }
            }
            heard.traced = trace.len();
        }
        let history = &mut replayed.history;
        let mut push = |observed: Observed<N>, stamp: Option<VectorTimestamp>| {
            if self.keeps(&observed) {
                match stamp {
                    Some(stamp) => history.push_stamped(observed, stamp),
                    None => history.push(observed),
                }
            }
        };
        if let Some((node, request)) = asked {
            let stamp = requests
                .iter()
                .find(|(n, _)| *n == node)
                .map(|(_, c)| c.clone());
            push(Observed::Request { node, request }, stamp);
        }
        for (i, count) in heard.events.iter_mut().enumerate() {
            let node = NodeId(i as u32);
            let events = replayed.sim.events(node);
            for emitted in &events[(*count).min(events.len())..] {
                let event = emitted.event.clone();
                push(Observed::Event { node, event }, emits[i].pop_front());
            }
            *count = events.len();
        }
    }

    /// The first `always` or history property the replay breaks, after
    /// `steps` steps.
    fn violated(
        &self,
        replayed: &Replayed<N>,
        steps: usize,
    ) -> Option<(&'static str, String, usize)> {
        self.properties.iter().find_map(|p| match p {
            Property::Always(name, check) => check(replayed.sim.states())
                .err()
                .map(|why| (*name, why, steps)),
            Property::History(name, check) => check(&replayed.history)
                .err()
                .map(|why| (*name, why, steps)),
            _ => None,
        })
    }

    /// [`Model::check`], as `dsys check` reports it: the verdict, with the
    /// first violation replayed in the simulator for its trace.
    pub fn verdict(&self) -> ModelVerdict
    where
        N::Timer: PartialEq,
    {
        let report = self.check();
        let mut verdict = ModelVerdict::from(&report);
        if let Some(trail) = &report.trail {
            match self.replay(trail) {
                Ok(mut replayed) => {
                    let now = replayed.sim.now();
                    let mut trace = replayed.sim.take_trace();
                    // Like a simulation that breaks an invariant, the trace
                    // ends with the verdict, for the viewer.
                    if let (Some(trace), Some((property, detail, _))) =
                        (&mut trace, &replayed.violated)
                    {
                        trace.push(
                            u64::try_from(now.as_nanos()).unwrap_or(u64::MAX),
                            None,
                            None,
                            crate::trace::TraceKind::Violation {
                                property: property.to_string(),
                                detail: detail.clone(),
                            },
                        );
                    }
                    verdict.trace = trace;
                }
                Err(why) => verdict.text.push_str(&format!("(no trace: {why})\n")),
            }
        }
        verdict
    }
}
