//! What a checker answers: [`Report`], one [`PartReport`] per independent
//! part of the history, and the [`Budget`] that bounds the search.

use std::fmt;

/// The verdict on a history, or on one part of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// The property holds: a witness order exists.
    Holds,
    /// The property is violated: no order works.
    Violated,
    /// The budget ran out before the search ended.
    Unknown,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Holds => "holds",
            Verdict::Violated => "VIOLATED",
            Verdict::Unknown => "unknown (budget exhausted)",
        })
    }
}

/// One step of an order: an operation (its index in the history) and the
/// model's state after it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Step<S> {
    /// The operation's index in [`History::ops`](super::history::History::ops).
    pub op: usize,
    /// The model's state after the operation.
    pub state: S,
}

/// The verdict on one independent part of a history
/// ([`Model::partition`](super::model::Model::partition)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartReport<S> {
    /// The part's operations, as indices into the history.
    pub ops: Vec<usize>,
    /// The verdict on this part.
    pub verdict: Verdict,
    /// When it holds: an order of the part's operations that the model
    /// accepts (operations that never returned and need not have taken
    /// effect may be left out), with the state after each.
    pub witness: Option<Vec<Step<S>>>,
    /// When it is violated: the longest order the search found that the
    /// model accepts, with the state after each step — where it got stuck.
    pub longest_prefix: Vec<Step<S>>,
    /// When it is violated: a smallest set of the part's operations
    /// (indices into the history, sorted) that cannot all have behaved as
    /// recorded — with every other operation relaxed (taken as possibly
    /// having taken effect, with any result, or not at all) the property
    /// still fails, and relaxing any one more of these makes it hold — so a
    /// person can see why. Shrinking has a budget of its own (see
    /// [`linearizability`](super::linearizability#explaining-a-failure)):
    /// when it runs out, `failing` still fails but `failing_minimal` is
    /// `false`.
    pub failing: Vec<usize>,
    /// Whether `failing` is 1-minimal: relaxing any one more of its
    /// operations makes the property hold. `false` when shrinking ran out
    /// of budget (and when the part is not violated).
    pub failing_minimal: bool,
    /// Search steps spent on this part.
    pub steps: u64,
}

/// A checker's answer for a whole history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report<S> {
    /// The property checked (`"linearizability"`, `"sequential consistency"`).
    pub property: &'static str,
    /// The model's name.
    pub model: &'static str,
    /// Holds if every part holds; violated if any part is; unknown otherwise.
    pub verdict: Verdict,
    /// One report per part.
    pub parts: Vec<PartReport<S>>,
}

impl<S> Report<S> {
    /// Whether the property holds.
    pub fn holds(&self) -> bool {
        self.verdict == Verdict::Holds
    }

    /// The verdict of a whole history from the verdicts of its parts.
    pub fn combine(parts: &[PartReport<S>]) -> Verdict {
        if parts.iter().any(|p| p.verdict == Verdict::Violated) {
            Verdict::Violated
        } else if parts.iter().any(|p| p.verdict == Verdict::Unknown) {
            Verdict::Unknown
        } else {
            Verdict::Holds
        }
    }
}

impl<S: fmt::Debug> fmt::Display for Report<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} ({} model, {} part{}): {}",
            self.property,
            self.model,
            self.parts.len(),
            if self.parts.len() == 1 { "" } else { "s" },
            self.verdict
        )?;
        for (i, part) in self.parts.iter().enumerate() {
            if part.verdict == Verdict::Holds {
                continue;
            }
            writeln!(
                f,
                "  part {i} ({} operations): {}",
                part.ops.len(),
                part.verdict
            )?;
            if part.verdict == Verdict::Violated {
                if part.failing_minimal {
                    writeln!(
                        f,
                        "    smallest failing set of operations: {:?}",
                        part.failing
                    )?;
                } else {
                    writeln!(
                        f,
                        "    failing set of operations (not shrunk to the smallest: its budget ran out): {:?}",
                        part.failing
                    )?;
                }
                let prefix: Vec<String> = part
                    .longest_prefix
                    .iter()
                    .map(|s| format!("{} → {:?}", s.op, s.state))
                    .collect();
                writeln!(f, "    longest accepted order: [{}]", prefix.join(", "))?;
            }
        }
        Ok(())
    }
}

/// Bounds a check: NP-complete problems may take forever on large or
/// adversarial histories. A check that runs out answers
/// [`Verdict::Unknown`] instead of hanging.
///
/// The checkers never read the clock (they are pure functions of the
/// history and the budget). A caller that wants a wall-time limit passes
/// [`Budget::stop`], a function that reads its own clock: `dsys history
/// check` stops after a minute that way.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// At most this many search steps per part (`None`: no limit).
    pub steps_max: Option<u64>,
    /// Asked on each search's first step and every 1,024th after: `true`
    /// stops the check (`None`: never asked).
    pub stop: Option<fn() -> bool>,
}

impl Default for Budget {
    /// Ten million steps per part, no stop function.
    fn default() -> Self {
        Budget {
            steps_max: Some(10_000_000),
            stop: None,
        }
    }
}

impl Budget {
    /// No limit at all.
    pub fn unlimited() -> Self {
        Budget {
            steps_max: None,
            stop: None,
        }
    }
}
