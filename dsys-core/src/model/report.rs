//! What a search found: the options `dsys check` builds a model from, the
//! bounds, the findings per property and the report.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::{Action, Network, Strategy};
use crate::node::Node;
use crate::trace::Trace;

/// The options of `dsys check ALGO`: what an algorithm's
/// [`Algorithm::model`](crate::scenario::Algorithm::model) builds its
/// model from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelOptions {
    /// Number of nodes.
    pub nodes: usize,
    /// A deliberate bug to check instead of the correct algorithm, by the
    /// name in [`Algorithm::defects`](crate::scenario::Algorithm::defects).
    pub defect: Option<String>,
    /// What the network may do.
    pub network: Network,
    /// Crashes per run.
    pub crashes_max: u32,
    /// Timer firings per run, or `None` for no bound (see
    /// [`Model::timers_max`](super::Model::timers_max)).
    pub timers_max: Option<u32>,
    /// Bounds of the search.
    pub depth_max: usize,
    /// See [`Model::states_max`](super::Model::states_max).
    pub states_max: usize,
    /// See [`Model::time_max`](super::Model::time_max).
    pub time_max: Duration,
    /// See [`Strategy`].
    pub strategy: Strategy,
    /// Called now and then with how far the search has got (`dsys
    /// check`'s progress line), or `None`.
    pub watch: Option<SearchWatch>,
}

/// How far a search has got, as a [`SearchWatch`] sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SearchProgress {
    /// Distinct states visited.
    pub states: usize,
    /// States found but not yet expanded (the breadth-first frontier).
    pub queued: usize,
    /// The longest path explored.
    pub depth: usize,
    /// Wall time since the search began.
    pub elapsed: Duration,
}

/// A callback a long search calls every few thousand states, shared so
/// that options stay cloneable. Two watches are equal when they are the
/// same function.
#[derive(Clone)]
pub struct SearchWatch(pub Arc<dyn Fn(&SearchProgress) + Send + Sync>);

impl fmt::Debug for SearchWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SearchWatch(..)")
    }
}

impl PartialEq for SearchWatch {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for SearchWatch {}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            nodes: 3,
            defect: None,
            network: Network::default(),
            crashes_max: 0,
            timers_max: None,
            depth_max: 64,
            states_max: 1_000_000,
            time_max: Duration::from_secs(60),
            strategy: Strategy::BreadthFirst,
            watch: None,
        }
    }
}

/// What `dsys check` prints and how it exits: a [`ModelReport`] without
/// its node type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelVerdict {
    /// The report, as [`ModelReport`]'s `Display` writes it.
    pub text: String,
    /// [`ModelReport::passed`].
    pub passed: bool,
    /// [`ModelReport::exhaustive`].
    pub exhaustive: bool,
    /// The first violation's steps run in the simulator
    /// ([`Model::replay`](super::Model::replay)): its trace, for ShiViz and
    /// the viewer; `None` without a violation, or when the replay could
    /// not follow the steps (the reason is then at the end of `text`).
    pub trace: Option<Trace>,
}

impl<N: Node> From<&ModelReport<N>> for ModelVerdict {
    fn from(report: &ModelReport<N>) -> Self {
        ModelVerdict {
            text: report.to_string(),
            passed: report.passed(),
            exhaustive: report.exhaustive,
            trace: None,
        }
    }
}

/// Why a search stopped before visiting every reachable state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bound {
    /// Paths were cut at this many steps.
    Depth(usize),
    /// This many distinct states were visited.
    States(usize),
    /// The wall-time budget ran out.
    Time(Duration),
    /// This many random walks were run ([`Strategy::RandomWalks`]).
    Walks(u32),
    /// Runs were cut when this many timers had fired and more were
    /// pending ([`Model::timers_max`](super::Model::timers_max)).
    Timers(u32),
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::Depth(d) => write!(f, "paths cut at {d} steps (Model::depth_max)"),
            Bound::States(s) => write!(f, "stopped after {s} states (Model::states_max)"),
            Bound::Time(t) => write!(f, "stopped after {t:?} (Model::time_max)"),
            Bound::Walks(w) => write!(f, "{w} random walks (Strategy::RandomWalks)"),
            Bound::Timers(t) => write!(f, "runs cut after {t} timer firings (Model::timers_max)"),
        }
    }
}

/// What the checker found for one property.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// An `always` property held in every state visited (an `eventually`
    /// one, in every finished run visited).
    Held,
    /// An `always` property failed, or an `eventually` one in a finished
    /// run: why, and the path that breaks it (one of the shortest, the
    /// search being breadth-first).
    Violated {
        /// The invariant's message.
        why: String,
        /// The steps from the initial state, readable.
        path: Vec<String>,
    },
    /// A `sometimes` property was found to hold, after these steps.
    Reached(Vec<String>),
    /// A `sometimes` property held in no state visited.
    Unreached,
}

/// The verdicts of a search, and how far it went.
#[derive(Debug)]
pub struct ModelReport<N: Node> {
    /// Per property, in the order given.
    pub findings: Vec<(&'static str, Finding)>,
    /// The steps of the first violation found, as values: what
    /// [`Model::replay`](super::Model::replay) runs in the simulator.
    pub trail: Option<Vec<Action<N>>>,
    /// Distinct states visited.
    pub states: usize,
    /// The longest path explored.
    pub depth: usize,
    /// Whether every reachable state was visited. A `Held` or `Unreached`
    /// finding of a search that was not exhaustive is not a proof; a
    /// `Violated` or `Reached` one always is. A search stops early, without
    /// a bound, at the first violation (or, with
    /// [`Model::all_violations`](super::Model::all_violations), once every
    /// property is decided).
    pub exhaustive: bool,
    /// What bounded the search, if a bound did.
    pub bound: Option<Bound>,
}

impl<N: Node> ModelReport<N> {
    /// Whether every `always` held and every `sometimes` was reached.
    pub fn passed(&self) -> bool {
        self.findings
            .iter()
            .all(|(_, f)| matches!(f, Finding::Held | Finding::Reached(_)))
    }

    /// The path of the first violated property, if any.
    pub fn counterexample(&self) -> Option<(&'static str, &[String])> {
        self.findings.iter().find_map(|(name, f)| match f {
            Finding::Violated { path, .. } => Some((*name, path.as_slice())),
            _ => None,
        })
    }
}

impl<N: Node> fmt::Display for ModelReport<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let extent = match &self.bound {
            None if self.exhaustive => "exhaustive".to_string(),
            None if self
                .findings
                .iter()
                .any(|(_, f)| matches!(f, Finding::Held | Finding::Unreached)) =>
            {
                "stopped at the first violation; Model::all_violations searches on".to_string()
            }
            None => "stopped once every property was decided".to_string(),
            Some(bound) => format!("bounded: {bound}"),
        };
        writeln!(
            f,
            "{} states, paths up to {} steps ({extent})",
            self.states, self.depth
        )?;
        for (name, finding) in &self.findings {
            match finding {
                Finding::Held if self.exhaustive => writeln!(f, "  {name}: holds")?,
                Finding::Held => writeln!(f, "  {name}: holds in every state visited")?,
                Finding::Unreached => writeln!(f, "  {name}: NOT REACHED")?,
                Finding::Reached(path) => {
                    writeln!(f, "  {name}: reached in {}", steps(path.len()))?
                }
                Finding::Violated { why, path } => {
                    writeln!(f, "  {name}: VIOLATED in {}: {why}", steps(path.len()))?;
                    for (i, step) in path.iter().enumerate() {
                        writeln!(f, "    {:>3}. {step}", i + 1)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// `1 step`, `3 steps`.
fn steps(n: usize) -> String {
    format!("{n} step{}", if n == 1 { "" } else { "s" })
}
