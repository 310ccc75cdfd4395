//! Shrinking a failing simulation (`dsys sim … --shrink`): the smallest run
//! that still breaks the same property.
//!
//! A seeded run that breaks a property is a faithful counterexample, but
//! often a long one: many nodes, faults that played no part, thousands of
//! events before the violation. [`shrink`] looks for a smaller run that
//! breaks the *same* property, the way delta debugging does: it tries one
//! reduction at a time and keeps it when the property still fails and the
//! trace is no longer, until no reduction helps:
//!
//! 1. **fewer nodes**, smallest first (faults of the nodes left out go too);
//! 2. **fewer faults**: each partition, crash (with the restart that undoes
//!    it), restart and Byzantine node left out in turn;
//! 3. **a tamer network**: no loss, no duplicates, FIFO links, one fixed
//!    latency;
//! 4. **another seed**, when [`ShrinkOptions::seeds`] allows: the same
//!    options under other seeds, keeping the one with the shortest failing
//!    trace (a search, not a reduction: the report says so);
//! 5. **a shorter run**: faults scheduled after the violation (they never
//!    happened) are dropped and the run ends just after it.
//!
//! Each step is a whole seeded run, so the result replays exactly with the
//! printed command. Runs that the options make invalid (a restart left
//! without its crash) are skipped.
//!
//! ```
//! use dsys_core::ping_pong::{PingPong, PingPongConfig};
//! use dsys_core::scenario::shrink::{shrink, ShrinkOptions};
//! use dsys_core::scenario::{run_scenario, Algorithm, Check, Outcome, Property, SimOptions};
//!
//! // "No node hears three replies": broken by any long enough run.
//! fn run(options: &SimOptions) -> dsys_core::Result<Outcome> {
//!     let few_replies = Property {
//!         name: "few replies",
//!         check: Check::<PingPong>::invariant(|states| {
//!             match states.iter().flatten().map(PingPong::replies).max() {
//!                 Some(most) if most >= 3 => Err(format!("a node heard {most} replies")),
//!                 _ => Ok(()),
//!             }
//!         }),
//!     };
//!     run_scenario("pings", options, |_| PingPong::new(PingPongConfig::default()), &[few_replies])
//! }
//! let algorithm = Algorithm {
//!     name: "pings",
//!     summary: "ping-pong with a property it breaks",
//!     run,
//!     defects: &[],
//!     settings: &[],
//!     model: None,
//! };
//! let options = SimOptions {
//!     nodes: 6,
//!     loss: 0.3,
//!     crashes: vec!["3@50".parse().unwrap()],
//!     ..SimOptions::default()
//! };
//! let shrunk = shrink(&algorithm, &options, &ShrinkOptions::default())
//!     .unwrap()
//!     .expect("the run fails");
//! assert_eq!(shrunk.property, "few replies");
//! assert!(shrunk.records <= shrunk.original_records);
//! for step in &shrunk.steps {
//!     println!("{}: {} records", step.what, step.records);
//! }
//! println!("replay: dsys sim pings {}", shrunk.options.to_args());
//! ```

use std::time::Duration;

use super::{Algorithm, Outcome, Report, SimOptions, Verdict};
use crate::trace::Trace;
use crate::Result;

/// How hard [`shrink`] tries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShrinkOptions {
    /// The most runs to try, the failing one included.
    pub runs_max: usize,
    /// How many other seeds to try (0, 1, 2, … except the run's own);
    /// 0 keeps the seed.
    pub seeds: u64,
}

impl Default for ShrinkOptions {
    fn default() -> Self {
        ShrinkOptions {
            runs_max: 500,
            seeds: 64,
        }
    }
}

/// One reduction [`shrink`] kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShrinkStep {
    /// What changed (`nodes 5 → 2`, `without --crash 3@50`).
    pub what: String,
    /// The failing run's trace records after it.
    pub records: usize,
}

/// The smallest failing run [`shrink`] found.
#[derive(Debug)]
pub struct Shrunk {
    /// The property the original run broke, and every kept run breaks.
    pub property: String,
    /// What the property said about the smallest run.
    pub detail: String,
    /// The original run's options and trace records.
    pub original: SimOptions,
    /// Trace records of the original run, up to its violation.
    pub original_records: usize,
    /// The smallest run's options: `dsys sim ALGO {options.to_args()}`
    /// replays it.
    pub options: SimOptions,
    /// Trace records of the smallest run, up to its violation.
    pub records: usize,
    /// Its trace.
    pub trace: Trace,
    /// Its report.
    pub report: Report,
    /// The reductions kept, in order.
    pub steps: Vec<ShrinkStep>,
    /// Runs made, the original included.
    pub runs: usize,
}

/// A run that broke a property: which, what it said, its trace.
struct Failure {
    property: String,
    detail: String,
    outcome: Outcome,
    records: usize,
}

/// The failure in `outcome`: the first property violated (not as
/// expected), if any.
fn failure_of(outcome: Outcome) -> Option<Failure> {
    let (property, detail) =
        outcome
            .report
            .verdicts
            .iter()
            .find_map(|(name, verdict)| match verdict {
                Verdict::Violated(why) => Some((name.clone(), why.clone())),
                _ => None,
            })?;
    let records = outcome.trace.as_ref().map_or(0, Trace::len);
    Some(Failure {
        property,
        detail,
        outcome,
        records,
    })
}

/// Looks for the smallest run of `algorithm` that breaks the property
/// `options`' run breaks (see the [module docs](self) for how). `Ok(None)`
/// when the run breaks nothing; an error when `options` are invalid.
pub fn shrink(
    algorithm: &Algorithm,
    options: &SimOptions,
    budget: &ShrinkOptions,
) -> Result<Option<Shrunk>> {
    options.validate()?;
    let base = SimOptions {
        trace: true,
        trace_states: false,
        watch: None,
        ..options.clone()
    };
    // Errors of the original run are the caller's to see.
    let outcome = (algorithm.run)(&base)?;
    let Some(first) = failure_of(outcome) else {
        return Ok(None);
    };
    let mut shrinker = Shrinker {
        algorithm,
        budget,
        original_records: first.records,
        best: first,
        current: base,
        steps: Vec::new(),
        runs: 1,
    };
    shrinker.reduce();
    shrinker.other_seeds();
    shrinker.end_after_violation();
    let Shrinker {
        best,
        current,
        steps,
        runs,
        original_records,
        ..
    } = shrinker;
    Ok(Some(Shrunk {
        property: best.property,
        detail: best.detail,
        original: options.clone(),
        original_records,
        options: current,
        records: best.records,
        trace: best.outcome.trace.unwrap_or_default(),
        report: best.outcome.report,
        steps,
        runs,
    }))
}

/// The search's state: the smallest failing run so far.
struct Shrinker<'a> {
    algorithm: &'a Algorithm,
    budget: &'a ShrinkOptions,
    original_records: usize,
    best: Failure,
    current: SimOptions,
    steps: Vec<ShrinkStep>,
    runs: usize,
}

impl Shrinker<'_> {
    /// Runs `candidate` if the budget allows: `Some` when it breaks the
    /// same property.
    fn run(&mut self, candidate: &SimOptions) -> Option<Failure> {
        if self.runs >= self.budget.runs_max {
            return None;
        }
        self.runs += 1;
        let failure = failure_of((self.algorithm.run)(candidate).ok()?)?;
        (failure.property == self.best.property).then_some(failure)
    }

    /// Keeps `candidate` when it breaks the same property in no more
    /// records.
    fn try_candidate(&mut self, what: String, candidate: SimOptions) -> bool {
        if candidate == self.current {
            return false;
        }
        match self.run(&candidate) {
            Some(f) if f.records <= self.best.records => {
                self.keep(what, candidate, f);
                true
            }
            _ => false,
        }
    }

    fn keep(&mut self, what: String, candidate: SimOptions, failure: Failure) {
        self.steps.push(ShrinkStep {
            what,
            records: failure.records,
        });
        self.best = failure;
        self.current = candidate;
    }

    /// One-step reductions until none is kept (or the budget is spent).
    fn reduce(&mut self) {
        'again: while self.runs < self.budget.runs_max {
            for (what, candidate) in reductions(&self.current) {
                if self.try_candidate(what, candidate) {
                    continue 'again;
                }
            }
            return;
        }
    }

    /// The same options under other seeds; the shortest failure is kept,
    /// and reduced again.
    fn other_seeds(&mut self) {
        let mut shortest: Option<(u64, Failure)> = None;
        let own = self.current.seed;
        for seed in (0..self.budget.seeds).filter(|&s| s != own) {
            let candidate = SimOptions {
                seed,
                ..self.current.clone()
            };
            if let Some(f) = self.run(&candidate) {
                let bound = shortest
                    .as_ref()
                    .map_or(self.best.records, |(_, b)| b.records);
                if f.records < bound {
                    shortest = Some((seed, f));
                }
            }
        }
        if let Some((seed, f)) = shortest {
            let what = format!(
                "seed {} → {seed} (the shortest failure of {} seeds)",
                self.current.seed, self.budget.seeds
            );
            let candidate = SimOptions {
                seed,
                ..self.current.clone()
            };
            self.keep(what, candidate, f);
            self.reduce();
        }
    }

    /// Ends the run just after its violation; faults scheduled later never
    /// happened and go.
    fn end_after_violation(&mut self) {
        let Some(end) = self
            .best
            .outcome
            .trace
            .as_ref()
            .and_then(|t| t.events().last())
        else {
            return;
        };
        let at = Duration::from_nanos(end.time_ns);
        let until = Duration::from_millis(at.as_millis() as u64 + 1);
        if until >= self.current.until {
            return;
        }
        let mut candidate = self.current.clone();
        candidate.until = until;
        candidate.partitions.retain(|p| p.from <= until);
        for p in &mut candidate.partitions {
            if p.to.is_some_and(|to| to > until) {
                p.to = None;
            }
        }
        candidate.crashes.retain(|c| c.at <= until);
        candidate.restarts.retain(|r| r.at <= until);
        let what = format!(
            "until {} ms → {} ms",
            self.current.until.as_millis(),
            until.as_millis()
        );
        self.try_candidate(what, candidate);
    }
}

/// The one-step reductions of `options`, the biggest first.
fn reductions(options: &SimOptions) -> Vec<(String, SimOptions)> {
    let mut out = Vec::new();
    for nodes in 1..options.nodes {
        let mut fewer = options.clone();
        fewer.nodes = nodes;
        let kept = |n: &crate::NodeId| n.index() < nodes;
        fewer.crashes.retain(|c| kept(&c.node));
        fewer.restarts.retain(|r| kept(&r.node));
        fewer.byzantine.retain(|b| kept(&b.node));
        for p in &mut fewer.partitions {
            p.a.retain(kept);
            p.b.retain(kept);
        }
        fewer
            .partitions
            .retain(|p| !p.a.is_empty() && !p.b.is_empty());
        out.push((format!("nodes {} → {nodes}", options.nodes), fewer));
    }
    for (i, p) in options.partitions.iter().enumerate() {
        let mut without = options.clone();
        without.partitions.remove(i);
        out.push((format!("without --partition '{p}'"), without));
    }
    for (i, crash) in options.crashes.iter().enumerate() {
        // The crash and the first restart of its node after it.
        let mut without = options.clone();
        without.crashes.remove(i);
        let restart = options
            .restarts
            .iter()
            .enumerate()
            .filter(|(_, r)| r.node == crash.node && r.at >= crash.at)
            .min_by_key(|(_, r)| r.at)
            .map(|(j, _)| j);
        let mut what = format!("without --crash {crash}");
        if let Some(j) = restart {
            what.push_str(&format!(" and --restart {}", options.restarts[j]));
            without.restarts.remove(j);
        }
        out.push((what, without));
    }
    for (i, restart) in options.restarts.iter().enumerate() {
        let mut without = options.clone();
        without.restarts.remove(i);
        out.push((format!("without --restart {restart}"), without));
    }
    for (i, b) in options.byzantine.iter().enumerate() {
        let mut without = options.clone();
        without.byzantine.remove(i);
        out.push((format!("without --byzantine {b}"), without));
    }
    if options.loss > 0.0 {
        out.push((
            format!("loss {} → 0", options.loss),
            SimOptions {
                loss: 0.0,
                ..options.clone()
            },
        ));
    }
    if options.duplicate > 0.0 {
        out.push((
            format!("dup {} → 0", options.duplicate),
            SimOptions {
                duplicate: 0.0,
                ..options.clone()
            },
        ));
    }
    if options.reorder {
        out.push((
            "FIFO links instead of --reorder".to_string(),
            SimOptions {
                reorder: false,
                ..options.clone()
            },
        ));
    }
    if options.latency.min < options.latency.max {
        let mut fixed = options.clone();
        fixed.latency.max = fixed.latency.min;
        out.push((
            format!(
                "latency {}..{} ms → {}..{} ms",
                options.latency.min.as_millis(),
                options.latency.max.as_millis(),
                options.latency.min.as_millis(),
                options.latency.min.as_millis()
            ),
            fixed,
        ));
    }
    out
}

#[cfg(test)]
mod tests;
