//! Named, checkable simulation runs: what `dsys sim <algorithm> …` executes.
//!
//! An algorithm crate registers an [`Algorithm`] — a name, a one-line
//! summary and a function from [`SimOptions`] to an [`Outcome`] — and usually
//! writes that function with [`run_scenario`]: a node factory plus the
//! algorithm's [`Property`]s. Safety properties are invariants checked after
//! every event; the rest are judged at the end of the run. The [`Report`]
//! prints the summary a person reads and the command that replays the run.
//!
//! ```
//! use dsys_core::scenario::SimOptions;
//!
//! let options: SimOptions = SimOptions {
//!     nodes: 3,
//!     seed: 9,
//!     ..SimOptions::default()
//! };
//! let outcome = (dsys_core::ping_pong::ALGORITHM.run)(&options).unwrap();
//! assert!(outcome.report.passed(), "{}", outcome.report);
//! println!("{}", outcome.report);
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::node::{Node, NodeId};
use crate::sim::{Latency, Limits, LinkConfig, Metrics, Ordering, Progress, Script, Simulation};
use crate::trace::Trace;

mod settings;
pub mod shrink;
mod spec;
pub use settings::{Setting, SettingInfo};
pub use spec::{ByzantineSpec, LatencyRange, Lies, NodeAt, PartitionSpec, StrategySpec};

/// The knobs of a simulation run, as the CLI takes them.
#[derive(Clone, Debug, PartialEq)]
pub struct SimOptions {
    /// Number of nodes.
    pub nodes: usize,
    /// The seed: the same seed and options give the same run.
    pub seed: u64,
    /// Loss probability on every link.
    pub loss: f64,
    /// Duplication probability on every link.
    pub duplicate: f64,
    /// Latency range on every link (uniform).
    pub latency: LatencyRange,
    /// Let links reorder messages (default: FIFO).
    pub reorder: bool,
    /// How long to run, in virtual time.
    pub until: Duration,
    /// Partitions to inject.
    pub partitions: Vec<PartitionSpec>,
    /// Crashes to inject.
    pub crashes: Vec<NodeAt>,
    /// Restarts to inject.
    pub restarts: Vec<NodeAt>,
    /// Nodes to make Byzantine from the start, each with its strategy.
    pub byzantine: Vec<ByzantineSpec>,
    /// Record a trace.
    pub trace: bool,
    /// Record each node's state after each handler in the trace
    /// ([`Simulation::record_states`]); implies [`SimOptions::trace`].
    pub trace_states: bool,
    /// Bounds that stop a runaway run with a clear error.
    pub limits: Limits,
    /// Called every [`WATCH_EVERY`] events with the run's progress (a
    /// progress line, a wall-time budget); an `Err` stops the run.
    pub watch: Option<Watch>,
    /// A deliberate bug to run instead of the correct algorithm, by the
    /// name in [`Algorithm::defects`].
    pub defect: Option<String>,
    /// The algorithm's own settings (`--set NAME=VALUE`), by the names in
    /// [`Algorithm::settings`].
    pub settings: Vec<Setting>,
}

/// How many events apart [`SimOptions::watch`] is called.
pub const WATCH_EVERY: u64 = 1 << 16;

/// The most nodes a scenario runs: the simulator keeps per-link state, so
/// memory grows with the square of the nodes.
pub const NODES_MAX: usize = 1000;

/// The longest virtual time a scenario runs (a day).
pub const UNTIL_MAX: Duration = Duration::from_secs(24 * 60 * 60);

/// A watch for [`SimOptions::watch`], shared so that options stay
/// cloneable. Two watches are equal when they are the same function.
#[derive(Clone)]
pub struct Watch(pub Arc<WatchCallback>);

/// What a [`Watch`] calls: `Err(why)` stops the run.
pub type WatchCallback = dyn Fn(&Progress) -> std::result::Result<(), String> + Send + Sync;

impl fmt::Debug for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Watch(..)")
    }
}

impl PartialEq for Watch {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            nodes: 3,
            seed: 0,
            loss: 0.0,
            duplicate: 0.0,
            latency: LatencyRange {
                min: Duration::from_millis(1),
                max: Duration::from_millis(10),
            },
            reorder: false,
            until: Duration::from_secs(2),
            partitions: Vec::new(),
            crashes: Vec::new(),
            restarts: Vec::new(),
            byzantine: Vec::new(),
            trace: false,
            trace_states: false,
            limits: Limits::default(),
            watch: None,
            defect: None,
            settings: Vec::new(),
        }
    }
}

impl SimOptions {
    /// Whether the run injects any fault (loss, duplication, reordering,
    /// partitions, crashes, Byzantine nodes): liveness properties that need
    /// a reliable network and honest nodes are skipped when it does.
    pub fn has_faults(&self) -> bool {
        self.loss > 0.0
            || self.duplicate > 0.0
            || self.reorder
            || !self.partitions.is_empty()
            || !self.crashes.is_empty()
            || !self.restarts.is_empty()
            || !self.byzantine.is_empty()
    }

    /// Checks ranges and node ids, with a message saying what to fix.
    pub fn validate(&self) -> Result<()> {
        let invalid = |why: String| Err(Error::InvalidConfig(why));
        if self.nodes == 0 || self.nodes > NODES_MAX {
            return invalid(format!(
                "--nodes {}: a scenario runs 1 to {NODES_MAX} nodes (the simulator keeps state per \
                 link, so memory grows with the square of the nodes)",
                self.nodes
            ));
        }
        if self.until.is_zero() || self.until > UNTIL_MAX {
            return invalid(format!(
                "--until-ms {}: a run lasts 1 ms to {} ms (a day) of virtual time",
                self.until.as_millis(),
                UNTIL_MAX.as_millis()
            ));
        }
        self.link().validate()?;
        let known = |node: NodeId| {
            if node.index() < self.nodes {
                Ok(())
            } else {
                Err(Error::UnknownNode {
                    node,
                    nodes: self.nodes,
                })
            }
        };
        for p in &self.partitions {
            p.a.iter().chain(&p.b).try_for_each(|&n| known(n))?;
        }
        for c in self.crashes.iter().chain(&self.restarts) {
            known(c.node)?;
        }
        for b in &self.byzantine {
            known(b.node)?;
        }
        self.validate_schedule()
    }

    /// Faults that could never happen: after the end of the run, or the
    /// restart of a node that is up.
    fn validate_schedule(&self) -> Result<()> {
        let end = self.until.as_millis();
        let after_end = |what: String, at: Duration| {
            Err(Error::InvalidConfig(format!(
                "{what} at {} ms is after the end of the run (--until-ms {end}): it would never \
                 happen; schedule it earlier or run longer",
                at.as_millis()
            )))
        };
        for p in &self.partitions {
            if p.from > self.until {
                return after_end(format!("partition '{p}'"), p.from);
            }
        }
        let mut faults: Vec<(Duration, bool, NodeId)> = Vec::new();
        for c in &self.crashes {
            faults.push((c.at, false, c.node));
        }
        for r in &self.restarts {
            faults.push((r.at, true, r.node));
        }
        // In time order; at equal times crashes first, as the script runs
        // them in option order and a restart at the crash's instant is
        // meant to follow it.
        faults.sort_by_key(|(at, restart, _)| (*at, *restart));
        let mut down = vec![false; self.nodes];
        for (at, restart, node) in faults {
            let what = if restart { "restart" } else { "crash" };
            if at > self.until {
                return after_end(format!("{what} of {node}"), at);
            }
            let was_down = std::mem::replace(&mut down[node.index()], !restart);
            if restart && !was_down {
                return Err(Error::InvalidConfig(format!(
                    "restart of {node} at {} ms: {node} is up then (no --crash {}@T before it); \
                     crash it first, e.g. --crash {}@{}",
                    at.as_millis(),
                    node.0,
                    node.0,
                    at.as_millis().saturating_sub(1)
                )));
            }
            if !restart && was_down {
                return Err(Error::InvalidConfig(format!(
                    "crash of {node} at {} ms: {node} is already down then; restart it first",
                    at.as_millis()
                )));
            }
        }
        Ok(())
    }

    /// The link configuration these options describe.
    pub fn link(&self) -> LinkConfig {
        LinkConfig {
            latency: Latency::Uniform {
                min: self.latency.min,
                max: self.latency.max,
            },
            loss: self.loss,
            duplicate: self.duplicate,
            ordering: if self.reorder {
                Ordering::Reorder
            } else {
                Ordering::Fifo
            },
        }
    }

    /// The fault schedule these options describe, from time 0.
    pub fn script(&self) -> Script {
        use crate::sim::Fault;
        let mut timed: Vec<(Duration, Fault)> = Vec::new();
        for p in &self.partitions {
            timed.push((p.from, Fault::Partition(p.a.clone(), p.b.clone())));
            if let Some(to) = p.to {
                timed.push((to, Fault::Heal));
            }
        }
        timed.extend(self.crashes.iter().map(|c| (c.at, Fault::Crash(c.node))));
        timed.extend(self.restarts.iter().map(|c| (c.at, Fault::Restart(c.node))));
        timed.sort_by_key(|(at, _)| *at); // stable: equal times keep option order
        let mut script = Script::new();
        let mut clock = Duration::ZERO;
        for (at, fault) in timed {
            script = script.wait(at.saturating_sub(clock)).fault(fault);
            clock = clock.max(at);
        }
        script
    }

    /// The `dsys sim` arguments that reproduce this run.
    pub fn to_args(&self) -> String {
        let mut args = format!(
            "--nodes {} --seed {} --loss {} --dup {} --latency-ms {}..{} --until-ms {}",
            self.nodes,
            self.seed,
            self.loss,
            self.duplicate,
            self.latency.min.as_millis(),
            self.latency.max.as_millis(),
            self.until.as_millis()
        );
        if self.reorder {
            args.push_str(" --reorder");
        }
        for p in &self.partitions {
            // Quoted: `|` would be a pipe to the shell.
            args.push_str(&format!(" --partition '{p}'"));
        }
        for c in &self.crashes {
            args.push_str(&format!(" --crash {c}"));
        }
        for c in &self.restarts {
            args.push_str(&format!(" --restart {c}"));
        }
        for b in &self.byzantine {
            args.push_str(&format!(" --byzantine {b}"));
        }
        if let Some(defect) = &self.defect {
            args.push_str(&format!(" --defect {defect}"));
        }
        for setting in &self.settings {
            args.push_str(&format!(" --set '{setting}'"));
        }
        args
    }
}

/// What a property says about a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It held.
    Holds,
    /// It failed, and why.
    Violated(String),
    /// It was not judged, and why (e.g. a liveness property on a lossy network).
    Skipped(String),
    /// It failed, as theory predicts for this run: the faults broke an
    /// assumption the property needs (a crashed server starves its
    /// clients). The text says what failed and which assumption broke. The
    /// run still [passes](Report::passed): the algorithm did what it
    /// promises.
    Expected(String),
}

impl From<std::result::Result<(), String>> for Verdict {
    /// `Ok` holds; `Err(why)` is violated, because of `why`.
    fn from(result: std::result::Result<(), String>) -> Self {
        match result {
            Ok(()) => Verdict::Holds,
            Err(why) => Verdict::Violated(why),
        }
    }
}

impl Verdict {
    /// The verdict of `result`, where a failure is [`Verdict::Expected`]
    /// when `broken` names an assumption the run broke (the text reads
    /// "why. Expected: broken"), and [`Verdict::Violated`] otherwise.
    ///
    /// ```
    /// use dsys_core::scenario::Verdict;
    ///
    /// let slow = Some("the round trip exceeds the timeout".to_string());
    /// assert_eq!(Verdict::unless_broken(Ok(()), slow.clone()), Verdict::Holds);
    /// assert_eq!(
    ///     Verdict::unless_broken(Err("two leaders".into()), slow),
    ///     Verdict::Expected("two leaders. Expected: the round trip exceeds the timeout".into())
    /// );
    /// assert_eq!(
    ///     Verdict::unless_broken(Err("two leaders".into()), None),
    ///     Verdict::Violated("two leaders".into())
    /// );
    /// ```
    pub fn unless_broken(result: std::result::Result<(), String>, broken: Option<String>) -> Self {
        match (result, broken) {
            (Err(why), Some(broken)) => Verdict::Expected(format!("{why}. Expected: {broken}")),
            (result, _) => result.into(),
        }
    }
}

/// When a property is checked. Each variant holds a closure (build one
/// with [`Check::invariant`], [`Check::node_invariant`], [`Check::at_end`],
/// [`Check::history`] or [`Check::figure`]), so a check may capture what it
/// needs — a bound, a configuration — rather than being a bare function.
///
/// ```
/// use dsys_core::ping_pong::PingPong;
/// use dsys_core::scenario::Check;
///
/// let most = 1; // captured: a bare `fn` could not hold it
/// let check: Check<PingPong> = Check::invariant(move |states| {
///     let up = states.iter().flatten().count();
///     if up <= most { Ok(()) } else { Err(format!("{up} nodes up, at most {most}")) }
/// });
/// let Check::Invariant(holds) = &check else { unreachable!() };
/// assert!(holds(&[None, None]).is_ok());
/// ```
pub enum Check<N: Node> {
    /// After every event, over all node states: the run stops at the first
    /// violation (for safety properties).
    Invariant(Arc<StatesCheck<N>>),
    /// After every event, of the node the event ran on only (see
    /// [`Simulation::node_invariant`]): for a safety property that holds
    /// of each node on its own, at a cost that does not grow with the
    /// number of nodes.
    NodeInvariant(Arc<NodeCheck<N>>),
    /// Once, at the end of the run (for liveness properties, and anything
    /// that needs the whole run).
    AtEnd(Arc<RunCheck<N, Verdict>>),
    /// After every event, like [`Check::Invariant`], by a checker that
    /// remembers what it saw (a property over the run's history, such as
    /// "at most one leader per term, ever"). The function builds a fresh
    /// checker for each run.
    History(Arc<dyn Fn() -> HistoryCheck<N> + Send + Sync>),
    /// Not a property but a figure measured at the end of the run (e.g.
    /// "elections: 3"), printed under `figures:` in the report.
    Figure(Arc<RunCheck<N, String>>),
}

impl<N: Node> Check<N> {
    /// [`Check::Invariant`] of `check`.
    pub fn invariant(
        check: impl Fn(&[Option<N>]) -> std::result::Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        Check::Invariant(Arc::new(check))
    }

    /// [`Check::NodeInvariant`] of `check`.
    pub fn node_invariant(
        check: impl Fn(NodeId, &N) -> std::result::Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        Check::NodeInvariant(Arc::new(check))
    }

    /// [`Check::AtEnd`] of `check`.
    pub fn at_end(
        check: impl Fn(&Simulation<N>, &SimOptions) -> Verdict + Send + Sync + 'static,
    ) -> Self {
        Check::AtEnd(Arc::new(check))
    }

    /// [`Check::History`] of `make`.
    pub fn history(make: impl Fn() -> HistoryCheck<N> + Send + Sync + 'static) -> Self {
        Check::History(Arc::new(make))
    }

    /// [`Check::Figure`] of `measure`.
    pub fn figure(
        measure: impl Fn(&Simulation<N>, &SimOptions) -> String + Send + Sync + 'static,
    ) -> Self {
        Check::Figure(Arc::new(measure))
    }
}

/// An invariant over every node's state ([`Check::Invariant`]).
pub type StatesCheck<N> = dyn Fn(&[Option<N>]) -> std::result::Result<(), String> + Send + Sync;

/// An invariant of one node ([`Check::NodeInvariant`]).
pub type NodeCheck<N> = dyn Fn(NodeId, &N) -> std::result::Result<(), String> + Send + Sync;

/// A judgement over a whole run ([`Check::AtEnd`], [`Check::Figure`]).
pub type RunCheck<N, T> = dyn Fn(&Simulation<N>, &SimOptions) -> T + Send + Sync;

/// A stateful invariant, built once per run by [`Check::History`]: called
/// after every event with all node states (`None` for crashed nodes).
pub type HistoryCheck<N> = Box<dyn FnMut(&[Option<N>]) -> std::result::Result<(), String>>;

impl<N: Node> fmt::Debug for Check<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Check::Invariant(_) => "Invariant",
            Check::NodeInvariant(_) => "NodeInvariant",
            Check::AtEnd(_) => "AtEnd",
            Check::History(_) => "History",
            Check::Figure(_) => "Figure",
        })
    }
}

/// A named property of an algorithm.
#[derive(Debug)]
pub struct Property<N: Node> {
    /// Its name, as the report prints it.
    pub name: &'static str,
    /// How it is checked.
    pub check: Check<N>,
}

/// The summary of one run.
#[derive(Clone, Debug)]
pub struct Report {
    /// The algorithm's registered name.
    pub algorithm: String,
    /// The options it ran with.
    pub options: SimOptions,
    /// Virtual time at the end of the run.
    pub virtual_time: Duration,
    /// Events processed.
    pub events: u64,
    /// Message and timer counts.
    pub metrics: Metrics,
    /// Each property with its verdict.
    pub verdicts: Vec<(String, Verdict)>,
    /// Figures measured at the end ([`Check::Figure`]), by name.
    pub figures: Vec<(String, String)>,
    /// The nodes that were Byzantine at the end of the run.
    pub byzantine: Vec<NodeId>,
}

impl Report {
    /// Whether no property was violated.
    pub fn passed(&self) -> bool {
        !self
            .verdicts
            .iter()
            .any(|(_, v)| matches!(v, Verdict::Violated(_)))
    }

    /// The command that replays this run.
    pub fn replay_command(&self) -> String {
        format!(
            "cargo run --release -- sim {} {}",
            self.algorithm,
            self.options.to_args()
        )
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} on {} node{}, seed {}: {:?} of virtual time, {} simulation events processed",
            self.algorithm,
            self.options.nodes,
            if self.options.nodes == 1 { "" } else { "s" },
            self.options.seed,
            self.virtual_time,
            self.events
        )?;
        if !self.byzantine.is_empty() {
            let specs: Vec<String> = self
                .options
                .byzantine
                .iter()
                .map(|b| format!("{} {}", b.node, b.strategy))
                .collect();
            let nodes: Vec<String> = self.byzantine.iter().map(ToString::to_string).collect();
            writeln!(
                f,
                "Byzantine: {} ({}); properties judge the other nodes",
                nodes.join(", "),
                specs.join(", ")
            )?;
        }
        write!(f, "{}", self.metrics)?;
        if !self.figures.is_empty() {
            writeln!(f, "figures:")?;
            let width = self.figures.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
            for (name, value) in &self.figures {
                writeln!(f, "  {name:<width$}  {value}")?;
            }
        }
        writeln!(f, "properties:")?;
        let width = self
            .verdicts
            .iter()
            .map(|(n, _)| n.len())
            .max()
            .unwrap_or(0);
        for (name, verdict) in &self.verdicts {
            match verdict {
                Verdict::Holds => writeln!(f, "  {name:<width$}  holds")?,
                Verdict::Violated(why) => writeln!(f, "  {name:<width$}  VIOLATED: {why}")?,
                Verdict::Skipped(why) => writeln!(f, "  {name:<width$}  skipped ({why})")?,
                Verdict::Expected(why) => {
                    writeln!(f, "  {name:<width$}  VIOLATED, as expected: {why}")?
                }
            }
        }
        if !self.passed() {
            writeln!(f, "replay: {}", self.replay_command())?;
        }
        Ok(())
    }
}

/// A report and, when asked for, the trace.
#[derive(Debug)]
pub struct Outcome {
    /// The summary.
    pub report: Report,
    /// The trace, when [`SimOptions::trace`] was set.
    pub trace: Option<Trace>,
}

/// A registered algorithm: what `dsys list` shows and `dsys sim` runs.
#[derive(Clone, Copy, Debug)]
pub struct Algorithm {
    /// The name on the command line (`ping-pong`, `ricart-agrawala`, …).
    pub name: &'static str,
    /// One line for `dsys list`.
    pub summary: &'static str,
    /// Runs the algorithm in the simulator and judges its properties.
    pub run: fn(&SimOptions) -> Result<Outcome>,
    /// The deliberate bugs [`SimOptions::defect`] can name, so that a run
    /// shows the checkers catching them (`dsys sim ALGO --defect NAME`).
    pub defects: &'static [DefectInfo],
    /// The settings its run reads ([`Algorithm::setting`]), for `dsys sim
    /// ALGO --help` and `--set NAME=VALUE`.
    pub settings: &'static [SettingInfo],
    /// Model-checks a small configuration of it (`dsys check ALGO`), if it
    /// has a model: every interleaving instead of one seeded run.
    pub model: Option<fn(&crate::model::ModelOptions) -> Result<crate::model::ModelVerdict>>,
}

/// A deliberate bug an algorithm ships for its checkers to catch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DefectInfo {
    /// Its name on the command line (`ignores-timestamps`).
    pub name: &'static str,
    /// What it breaks, in one line.
    pub breaks: &'static str,
}

impl Algorithm {
    /// Refuses settings in `options` this algorithm does not list, and a
    /// setting given twice.
    pub fn check_settings(&self, options: &SimOptions) -> Result<()> {
        settings::check(self.name, self.settings, &options.settings)
    }

    /// The value of setting `name` for this run: `options`' `--set`, else
    /// the default in [`Algorithm::settings`], parsed as `T`. An error
    /// names the setting, the bad value and what the setting takes.
    pub fn setting<T>(&self, options: &SimOptions, name: &str) -> Result<T>
    where
        T: std::str::FromStr,
        T::Err: fmt::Display,
    {
        settings::value(self.name, self.settings, &options.settings, name)
    }

    /// The defect `options` names, checked against [`Algorithm::defects`]:
    /// `Ok(None)` for the correct algorithm.
    pub fn defect(&self, options: &SimOptions) -> Result<Option<&'static str>> {
        self.defect_named(options.defect.as_deref())
    }

    /// The defect called `name`, checked against [`Algorithm::defects`]:
    /// `Ok(None)` for the correct algorithm.
    pub fn defect_named(&self, name: Option<&str>) -> Result<Option<&'static str>> {
        let Some(name) = name else {
            return Ok(None);
        };
        match self.defects.iter().find(|d| d.name == name) {
            Some(d) => Ok(Some(d.name)),
            None if self.defects.is_empty() => Err(Error::InvalidConfig(format!(
                "{} ships no deliberate defects (--defect {name})",
                self.name
            ))),
            None => Err(Error::InvalidConfig(format!(
                "{} has no defect {name:?}; it ships {}",
                self.name,
                self.defects
                    .iter()
                    .map(|d| d.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}

/// Runs `factory`'s nodes under `options`, checks `properties`, and reports.
///
/// Invariants are checked after every event; a violation stops the run
/// there and is reported (not returned as an error). Errors are for bad
/// options only.
pub fn run_scenario<N: Node + fmt::Debug>(
    algorithm: &str,
    options: &SimOptions,
    factory: impl FnMut(NodeId) -> N + 'static,
    properties: &[Property<N>],
) -> Result<Outcome> {
    run_scenario_with(algorithm, options, factory, properties, |_| Ok(()))
}

/// [`run_scenario`], with `setup` called on the simulation after the
/// options are applied and before the run: for per-node clocks, per-link
/// latencies, scheduled requests, or anything else the options do not say.
///
/// ```
/// use dsys_core::ping_pong::{PingPong, PingPongConfig};
/// use dsys_core::scenario::{run_scenario_with, SimOptions};
/// use dsys_core::sim::ClockConfig;
/// use dsys_core::NodeId;
///
/// let config = PingPongConfig::default();
/// let outcome = run_scenario_with(
///     "ping-pong",
///     &SimOptions::default(),
///     move |_| PingPong::new(config),
///     &[],
///     |sim| sim.set_clock(NodeId(1), ClockConfig::default().offset_ms(40)),
/// )
/// .unwrap();
/// assert!(outcome.report.passed());
/// ```
pub fn run_scenario_with<N: Node + fmt::Debug>(
    algorithm: &str,
    options: &SimOptions,
    factory: impl FnMut(NodeId) -> N + 'static,
    properties: &[Property<N>],
    setup: impl FnOnce(&mut Simulation<N>) -> Result<()>,
) -> Result<Outcome> {
    run_scenario_lying(algorithm, options, factory, properties, &Lies::NONE, setup)
}

/// [`run_scenario_with`], for an algorithm that says how its messages lie
/// (`--byzantine K:equivocate`, `K:tamper`). Every [`SimOptions::byzantine`]
/// node is made Byzantine after `setup`, at time 0, before any node starts.
pub fn run_scenario_lying<N: Node + fmt::Debug>(
    algorithm: &str,
    options: &SimOptions,
    factory: impl FnMut(NodeId) -> N + 'static,
    properties: &[Property<N>],
    lies: &Lies<N::Msg>,
    setup: impl FnOnce(&mut Simulation<N>) -> Result<()>,
) -> Result<Outcome> {
    options.validate()?;
    let mut sim = Simulation::new(options.nodes, options.seed, factory);
    sim.set_all_links(options.link())?;
    sim.set_limits(options.limits);
    if let Some(watch) = options.watch.clone() {
        sim.set_watch(WATCH_EVERY, move |progress| (watch.0)(progress));
    }
    setup(&mut sim)?;
    if options.trace_states {
        sim.record_states();
    } else if options.trace {
        sim.enable_trace();
    }
    for spec in &options.byzantine {
        sim.byzantine(spec.node, spec.strategy.strategy(lies, algorithm)?)?;
    }
    sim.schedule(&options.script())?;
    for property in properties {
        match &property.check {
            Check::Invariant(check) => {
                let check = Arc::clone(check);
                sim.invariant(property.name, move |states| check(states));
            }
            Check::History(make) => sim.invariant(property.name, make()),
            Check::NodeInvariant(check) => {
                let check = Arc::clone(check);
                sim.node_invariant(property.name, move |id, node| check(id, node));
            }
            Check::AtEnd(_) | Check::Figure(_) => {}
        }
    }
    let mut verdicts = Vec::new();
    let mut trace = None;
    match sim.run_until(options.until) {
        Ok(()) => {
            for property in properties {
                let verdict = match &property.check {
                    Check::Invariant(check) => check(sim.states()).into(),
                    Check::AtEnd(check) => check(&sim, options),
                    // Checked after every event and never violated.
                    Check::History(_) | Check::NodeInvariant(_) => Verdict::Holds,
                    Check::Figure(_) => continue,
                };
                verdicts.push((property.name.to_string(), verdict));
            }
        }
        Err(Error::InvariantViolated(violation)) => {
            for property in properties {
                if matches!(property.check, Check::Figure(_)) {
                    continue;
                }
                let verdict = if property.name == violation.invariant {
                    Verdict::Violated(format!(
                        "{} (at {:?} of virtual time; run stopped there)",
                        violation.detail, violation.time
                    ))
                } else {
                    Verdict::Skipped("the run stopped at another violation".to_string())
                };
                verdicts.push((property.name.to_string(), verdict));
            }
            trace = violation.trace;
        }
        Err(other) => return Err(other),
    }
    let figures = properties
        .iter()
        .filter_map(|property| match &property.check {
            Check::Figure(measure) => Some((property.name.to_string(), measure(&sim, options))),
            _ => None,
        })
        .collect();
    if trace.is_none() {
        trace = sim.take_trace();
    }
    Ok(Outcome {
        report: Report {
            algorithm: algorithm.to_string(),
            options: options.clone(),
            virtual_time: sim.now(),
            events: sim.events_processed(),
            metrics: sim.metrics().clone(),
            verdicts,
            figures,
            byzantine: sim.byzantine_nodes(),
        },
        trace,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_fault_specs() {
        let p: PartitionSpec = "0,1|2,n3@100..400".parse().unwrap();
        assert_eq!(p.a, vec![NodeId(0), NodeId(1)]);
        assert_eq!(p.b, vec![NodeId(2), NodeId(3)]);
        assert_eq!(p.to, Some(Duration::from_millis(400)));
        assert_eq!(p.to_string(), "0,1|2,3@100..400");
        assert!("0,1@100"
            .parse::<PartitionSpec>()
            .unwrap_err()
            .contains("'|'"));
        assert!("0|1@400..100".parse::<PartitionSpec>().is_err());
        assert!("0,1|1,2@5"
            .parse::<PartitionSpec>()
            .unwrap_err()
            .contains("both sides"));
        let c: NodeAt = "2@500".parse().unwrap();
        assert_eq!(c.to_string(), "2@500");
        assert!("x@1".parse::<NodeAt>().is_err());
        let l: LatencyRange = "5..20".parse().unwrap();
        assert_eq!(l.max, Duration::from_millis(20));
        assert!("20..5".parse::<LatencyRange>().is_err());
    }

    #[test]
    fn parses_and_prints_byzantine_specs() {
        let b: ByzantineSpec = "2:equivocate".parse().unwrap();
        assert_eq!(b.node, NodeId(2));
        assert_eq!(b.strategy, StrategySpec::Equivocate);
        assert_eq!(b.to_string(), "2:equivocate");
        for text in [
            "1:drop=0.25",
            "n3:delay=20..80",
            "0:replay=0.5",
            "4:tamper",
            "1:drop=1",
        ] {
            let spec: ByzantineSpec = text.parse().unwrap();
            let again: ByzantineSpec = spec.to_string().parse().unwrap();
            assert_eq!(spec, again, "{text} round-trips");
        }
        assert_eq!(
            "1:drop".parse::<ByzantineSpec>().unwrap().strategy,
            StrategySpec::Drop { probability: 1.0 }
        );
        assert!("2"
            .parse::<ByzantineSpec>()
            .unwrap_err()
            .contains("NODE:STRATEGY"));
        assert!("2:lie"
            .parse::<ByzantineSpec>()
            .unwrap_err()
            .contains("unknown"));
        assert!("2:drop=3".parse::<ByzantineSpec>().is_err());
        assert!("2:tamper=1".parse::<ByzantineSpec>().is_err());
        let options = SimOptions {
            byzantine: vec![b],
            ..SimOptions::default()
        };
        assert!(options.to_args().ends_with(" --byzantine 2:equivocate"));
        assert!(options.has_faults());
        let error = StrategySpec::Equivocate
            .strategy::<u8>(&Lies::NONE, "ping-pong")
            .unwrap_err()
            .to_string();
        assert!(error.contains("ping-pong does not say how"), "{error}");
    }

    #[test]
    fn bad_options_are_errors_not_panics() {
        let options = SimOptions {
            crashes: vec!["7@10".parse().unwrap()],
            ..SimOptions::default()
        };
        assert!(matches!(options.validate(), Err(Error::UnknownNode { .. })));
        let options = SimOptions {
            loss: 1.5,
            ..SimOptions::default()
        };
        assert!(matches!(options.validate(), Err(Error::InvalidConfig(_))));
        let options = SimOptions {
            byzantine: vec!["5:drop".parse().unwrap()],
            ..SimOptions::default()
        };
        assert!(matches!(options.validate(), Err(Error::UnknownNode { .. })));
    }
}
