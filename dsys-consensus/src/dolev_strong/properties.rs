//! The three properties of Byzantine broadcast, one checker each, judged on
//! the correct nodes only (a traitor may decide anything, or nothing).
//!
//! | property | says | source |
//! |---|---|---|
//! | [`agreement`] | every correct node decides the same value (a value, or ⊥) | Dolev & Strong 1983; LSP 1982 IC1 |
//! | [`validity`] | if the sender is correct, every correct node decides the sender's value | Dolev & Strong 1983; LSP 1982 IC2 |
//! | [`termination`] | every correct node has decided by the end of round f + 1, in virtual time | Dolev & Strong 1983, the t + 1-round bound |
//!
//! A node is correct if it is not scripted as a traitor and never crashed
//! (a crash is a fault: it counts toward f). The checkers take plain
//! [`Record`]s, so a hand-made run can be judged as well as a simulated
//! one ([`records`]).
//!
//! ```
//! use std::time::Duration;
//! use dsys_consensus::dolev_strong::properties::{agreement, Record};
//! use dsys_consensus::dolev_strong::Decision;
//! use dsys_core::NodeId;
//!
//! let decided = |node, correct, d| Record {
//!     node: NodeId(node),
//!     correct,
//!     decision: Some((d, Duration::from_millis(40))),
//! };
//! let run = [
//!     decided(0, false, Decision::Value(1)), // a traitor: not judged
//!     decided(1, true, Decision::Default),
//!     decided(2, true, Decision::Default),
//! ];
//! assert_eq!(agreement(&run), Ok(()));
//! let split = [decided(1, true, Decision::Value(1)), decided(2, true, Decision::Default)];
//! assert!(agreement(&split).unwrap_err().contains("n1 decided 1 but n2 decided ⊥"));
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use dsys_core::sim::Simulation;
use dsys_core::NodeId;

use super::chain::Value;
use super::node::{Decision, DolevStrong, Event};
use crate::properties as consensus;

/// One node's part in a run, as the checkers see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// The node.
    pub node: NodeId,
    /// Whether it is judged: not a traitor, never crashed.
    pub correct: bool,
    /// What it decided, and when (virtual time), if it did.
    pub decision: Option<(Decision, Duration)>,
}

/// The records of a simulated run: a node is correct if it is up, was
/// never restarted, and is not a traitor; its decision is its first
/// [`Event::Decided`].
pub fn records(sim: &Simulation<DolevStrong>) -> Vec<Record> {
    sim.ids()
        .map(|id| {
            let correct = sim.incarnation(id) == Some(0)
                && sim.node(id).is_some_and(|node| !node.is_traitor());
            let decision = sim.events(id).iter().find_map(|e| match e.event {
                Event::Decided(d) => Some((d, e.time)),
                _ => None,
            });
            Record {
                node: id,
                correct,
                decision,
            }
        })
        .collect()
}

/// A decision as the shared checkers print it: `1`, or `⊥`.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Shown(Decision);

impl fmt::Debug for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The records as the shared consensus checkers read them: the decisions,
/// and the correct nodes.
fn shared(records: &[Record]) -> (Vec<consensus::Decision<Shown>>, BTreeSet<NodeId>) {
    let decisions = records
        .iter()
        .filter_map(|r| {
            r.decision.map(|(d, _)| consensus::Decision {
                node: r.node,
                value: Shown(d),
            })
        })
        .collect();
    let correct = records
        .iter()
        .filter(|r| r.correct)
        .map(|r| r.node)
        .collect();
    (decisions, correct)
}

/// Agreement: no two correct nodes decide differently (the shared
/// [`consensus::agreement`]). A correct node that has not decided is
/// [`termination`]'s business.
pub fn agreement(records: &[Record]) -> Result<(), String> {
    let (decisions, correct) = shared(records);
    consensus::agreement(&decisions, &correct)
}

/// Validity: if `sender` is correct, every correct node that decided
/// decided `value`, the sender's (the shared
/// [`consensus::sender_validity`]).
pub fn validity(sender: NodeId, value: Value, records: &[Record]) -> Result<(), String> {
    let (decisions, correct) = shared(records);
    consensus::sender_validity(&decisions, sender, &Shown(Decision::Value(value)), &correct)
}

/// Termination in f + 1 rounds: every correct node decided (the shared
/// [`consensus::termination`]), at a virtual time no later than
/// `deadline` (f + 1 round lengths).
pub fn termination(deadline: Duration, records: &[Record]) -> Result<(), String> {
    let (decisions, correct) = shared(records);
    consensus::termination(&decisions, &correct)?;
    for r in records.iter().filter(|r| r.correct) {
        if let Some((_, at)) = r.decision.filter(|&(_, at)| at > deadline) {
            return Err(format!(
                "Termination: {} decided at {at:?}, after round f + 1 ended at {deadline:?}",
                r.node
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    fn rec(node: u32, correct: bool, decision: Option<(Decision, u64)>) -> Record {
        Record {
            node: NodeId(node),
            correct,
            decision: decision.map(|(d, t)| (d, ms(t))),
        }
    }

    // Hand-made bad runs: each checker must be able to fail.
    #[test]
    fn agreement_catches_two_correct_nodes_that_differ_and_ignores_traitors() {
        let v = Decision::Value(5);
        let good = [
            rec(0, false, Some((Decision::Value(6), 40))),
            rec(1, true, Some((v, 40))),
            rec(2, true, Some((v, 40))),
            rec(3, true, None),
        ];
        assert_eq!(agreement(&good), Ok(()));
        let bad = [
            rec(1, true, Some((v, 40))),
            rec(2, true, Some((Decision::Default, 40))),
        ];
        assert!(agreement(&bad).unwrap_err().starts_with("Agreement"));
    }

    #[test]
    fn validity_binds_only_a_correct_sender() {
        let bottom = Some((Decision::Default, 40));
        let traitor_sender = [rec(0, false, bottom), rec(1, true, bottom)];
        assert_eq!(validity(NodeId(0), 5, &traitor_sender), Ok(()));
        let correct_sender = [
            rec(0, true, Some((Decision::Value(5), 40))),
            rec(1, true, bottom),
        ];
        let why = validity(NodeId(0), 5, &correct_sender).unwrap_err();
        assert!(why.contains("n1 decided ⊥"), "{why}");
    }

    #[test]
    fn termination_catches_a_missing_or_late_decision() {
        let on_time = [
            rec(0, true, Some((Decision::Default, 40))),
            rec(1, false, None),
        ];
        assert_eq!(termination(ms(40), &on_time), Ok(()));
        let late = [rec(0, true, Some((Decision::Default, 41)))];
        assert!(termination(ms(40), &late).unwrap_err().contains("after"));
        let never = [rec(0, true, None)];
        assert!(termination(ms(40), &never).unwrap_err().contains("never"));
    }
}
