//! The application side of a simulated run: who asks for the section, when,
//! and for how long they hold it.
//!
//! A [`Workload`] schedules each node's first `Enter` at a random time, and
//! then watches the run (between events, every [`Workload::poll`]): after
//! each `Entered` it schedules `Exit` [`Workload::hold`] later, and after each
//! `Exited` the node's next `Enter` a random think time later, until every
//! node has entered [`Workload::rounds`] times. Random times come from the
//! simulation's seed, so the run is still a function of its seed.

use std::hash::Hash;
use std::time::Duration;

use dsys_core::model::{Model, ModelOptions, Property};
use dsys_core::sim::Simulation;
use dsys_core::{Node, NodeId};

use crate::{Event, MutexNode, Phase, Request};

/// How the simulated applications use the section.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Workload {
    /// How many times each node asks for the section.
    pub rounds: u32,
    /// How long a node holds the section once it has it.
    pub hold: Duration,
    /// The longest think time before a node asks (first time and again);
    /// each is drawn uniformly from `0..=think_max`.
    pub think_max: Duration,
    /// How often the workload looks at the run; `Exit`s are scheduled
    /// exactly `hold` after entry as long as `poll <= hold`.
    pub poll: Duration,
    /// When the workload stops scheduling (it also stops when done).
    pub until: Duration,
    /// No node asks for the section again after this time (exits are
    /// still scheduled until [`Workload::until`]), so that the last
    /// requests can be served before the run ends.
    pub requests_until: Duration,
}

impl Default for Workload {
    /// Two rounds per node, holding 5 ms, thinking up to 20 ms.
    fn default() -> Self {
        Workload {
            rounds: 2,
            hold: Duration::from_millis(5),
            think_max: Duration::from_millis(20),
            poll: Duration::from_millis(1),
            until: Duration::from_secs(60),
            requests_until: Duration::MAX,
        }
    }
}

#[derive(Clone, Debug)]
struct Progress {
    workload: Workload,
    rng: u64,
    seen: Vec<usize>,
    rounds_left: Vec<u32>,
}

impl Progress {
    // SplitMix64: small, seeded, and independent of the simulator's own RNG.
    fn next(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn think(&mut self) -> Duration {
        let max = self.workload.think_max.as_nanos() as u64;
        Duration::from_nanos(self.next() % (max + 1))
    }
}

impl Workload {
    /// Schedules the first requests and the watcher on `sim`.
    pub fn install<N: MutexNode>(&self, sim: &mut Simulation<N>) -> dsys_core::Result<()> {
        assert!(
            !self.poll.is_zero(),
            "Workload::poll must be positive, or the watcher would never let time pass"
        );
        let n = sim.len();
        let mut progress = Progress {
            workload: *self,
            rng: sim.seed() ^ 0x6d75_7465_7800,
            seen: sim.ids().map(|id| sim.events(id).len()).collect(),
            rounds_left: vec![self.rounds; n],
        };
        let start = sim.now();
        for i in 0..n {
            if progress.rounds_left[i] > 0 {
                progress.rounds_left[i] -= 1;
                let at = start + progress.think();
                sim.request_at(at, NodeId(i as u32), Request::Enter)?;
            }
        }
        let first = start + self.poll;
        sim.call_at(first, move |sim| watch(sim, progress));
        Ok(())
    }
}

fn watch<N: MutexNode>(sim: &mut Simulation<N>, mut progress: Progress) {
    let now = sim.now();
    let hold = progress.workload.hold;
    for i in 0..progress.seen.len() {
        let id = NodeId(i as u32);
        let new: Vec<(Duration, Event)> = sim.events(id)[progress.seen[i]..]
            .iter()
            .map(|e| (e.time, e.event))
            .collect();
        progress.seen[i] += new.len();
        for (time, event) in new {
            let _ = match event {
                Event::Entered => sim.request_at((time + hold).max(now), id, Request::Exit),
                Event::Exited if progress.rounds_left[i] > 0 => {
                    progress.rounds_left[i] -= 1;
                    let at = (time + progress.think()).max(now);
                    if at <= progress.workload.requests_until {
                        sim.request_at(at, id, Request::Enter)
                    } else {
                        Ok(())
                    }
                }
                Event::Exited => Ok(()),
            };
        }
    }
    let next = now + progress.workload.poll;
    if next <= progress.workload.until {
        sim.call_at(next, move |sim| watch(sim, progress));
    }
}

/// How long before the end of a run [`run_scenario`]'s nodes stop asking
/// for the section: long enough for every queued request to be served
/// when the run keeps ME2's assumptions.
pub fn settle_time(options: &dsys_core::scenario::SimOptions) -> Duration {
    // Every other node may be queued ahead, each holding the section and
    // passing it on in a few message delays (Maekawa's Inquire and
    // Relinquish take the most).
    let per_node = Workload::default().hold + options.latency.max * 6;
    per_node * options.nodes as u32 + Duration::from_millis(100)
}

/// Runs `factory`'s nodes under `options` with a [`Workload`] that keeps
/// every node asking for the section for most of the run (so that a fault
/// at any time meets requests), records the trace, and judges ME1–ME3
/// ([`crate::properties::properties`]): what `dsys sim <algorithm>` runs.
///
/// Nodes stop asking [`settle_time`] before the end, so that on a run
/// that keeps ME2's assumptions every request is served in time.
pub fn run_scenario<N: MutexNode + std::fmt::Debug>(
    algorithm: &str,
    options: &dsys_core::scenario::SimOptions,
    factory: impl FnMut(NodeId) -> N + 'static,
) -> dsys_core::Result<dsys_core::scenario::Outcome> {
    let settle = settle_time(options);
    let workload = Workload {
        rounds: u32::MAX,
        until: options.until,
        requests_until: if options.until > settle * 2 {
            options.until - settle
        } else {
            options.until / 2
        },
        ..Workload::default()
    };
    dsys_core::scenario::run_scenario_with(
        algorithm,
        options,
        factory,
        &crate::properties::properties(),
        |sim| {
            sim.enable_trace();
            workload.install(sim)
        },
    )
}

/// The model checker's workload: each of `nodes` processes asks for the
/// section once and leaves once inside, in every interleaving. Judged: ME1
/// in every state ([`me1_states`](crate::properties::me1_states)), and in
/// every run that ends, nobody still waiting (`phase` reads a node's
/// [`Phase`]: a deadlock leaves someone `Wanted`).
///
/// ```
/// use dsys_mutex::ricart_agrawala::RicartAgrawala;
/// use dsys_mutex::workload::each_enters_once;
///
/// let report = each_enters_once(2, |_| RicartAgrawala::new(), RicartAgrawala::phase).check();
/// assert!(report.passed() && report.exhaustive, "{report}");
/// ```
pub fn each_enters_once<N>(
    nodes: usize,
    factory: impl Fn(NodeId) -> N + Send + Sync + 'static,
    phase: fn(&N) -> Phase,
) -> Model<N>
where
    N: MutexNode + Clone + Eq + Hash,
    <N as Node>::Msg: Eq + Hash,
{
    let mut model = Model::new(nodes, factory)
        .property(Property::always("ME1", crate::properties::me1_states::<N>))
        .property(Property::eventually(
            "nobody left waiting",
            move |nodes: &[Option<N>]| nodes.iter().flatten().all(|n| phase(n) == Phase::Released),
        ));
    for i in 0..nodes as u32 {
        model = model.request(NodeId(i), Request::Enter).request_when(
            NodeId(i),
            Request::Exit,
            MutexNode::in_section,
        );
    }
    model
}

/// `model`, judged by ME3 as well, over the clients' history stamped with
/// vector clocks ([`Model::causal_history`],
/// [`me3_history`](crate::properties::me3_history)): for the algorithms
/// that keep ME3 (the central server, Ricart & Agrawala). A model's
/// history records no crashes, so when `options` allow them, ME3 is left
/// to the simulator's trace checker and `model` is returned as it is.
pub fn judged_by_me3<N>(model: Model<N>, options: &ModelOptions) -> Model<N>
where
    N: MutexNode + Clone + Eq + Hash,
    <N as Node>::Msg: Eq + Hash,
{
    if options.crashes_max > 0 {
        return model;
    }
    model.causal_history().property(Property::history(
        "ME3",
        crate::properties::me3_history::<N>,
    ))
}
