//! Raft's five safety properties (Raft Figure 3), one checker each, run
//! over all servers' states after every simulator event.
//!
//! | property | says | paper |
//! |---|---|---|
//! | [`ElectionSafety`] | at most one leader is elected in a given term | §5.2 |
//! | [`LeaderAppendOnly`] | a leader never overwrites or deletes entries in its log; it only appends | §5.3 |
//! | [`LogMatching`] | if two logs contain an entry with the same index and term, the logs are identical in all entries up through that index | §5.3 |
//! | [`LeaderCompleteness`] | if an entry is committed in a term, it is in the log of every leader of every higher term | §5.4 |
//! | [`StateMachineSafety`] | if a server has applied the entry at an index, no server ever applies a different entry at that index | §5.4.3 |
//!
//! Each checker remembers what it has seen (leaders per term, committed and
//! applied entries), so it judges the whole history, not one moment: a
//! checker is built once per run and fed every state in order. The checkers
//! read only what a server exposes ([`Raft::role`], [`Raft::log`],
//! [`Raft::commit_index`] …), never the algorithm's own bookkeeping of what
//! it believes is safe. Entries compacted into a snapshot are out of sight;
//! they were checked while they were in the log.
//!
//! ```
//! use std::time::Duration;
//! use dsys_core::sim::Simulation;
//! use dsys_consensus::raft::properties::{views, Checkers};
//! use dsys_consensus::raft::{Counter, MemStorage, Raft, RaftConfig};
//!
//! let mut sim = Simulation::new(5, 3, |_| {
//!     Raft::new(RaftConfig::default(), MemStorage::new(), Counter::default()).unwrap()
//! });
//! let mut checkers = Checkers::new();
//! sim.invariant("raft safety", move |nodes| checkers.check(&views(nodes)));
//! sim.run_until(Duration::from_secs(2)).unwrap(); // stops with an error at a violation
//! ```

use std::collections::{BTreeMap, HashMap};

use dsys_core::NodeId;

use super::node::Raft;
use super::state_machine::StateMachine;
use super::types::{Entry, LogIndex, Role, Term};

type Verdict = Result<(), String>;

/// The simulator's node slots as the checkers read them: one entry per
/// node, `None` for a crashed one.
pub fn views<T>(nodes: &[Option<T>]) -> Vec<Option<&T>> {
    nodes.iter().map(Option::as_ref).collect()
}

/// Election Safety (§5.2): at most one leader per term, over the whole run.
#[derive(Debug, Default)]
pub struct ElectionSafety {
    leaders: HashMap<Term, NodeId>,
}

impl ElectionSafety {
    /// A checker that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Judges one moment of the run.
    pub fn check<SM: StateMachine, S>(&mut self, nodes: &[Option<&Raft<SM, S>>]) -> Verdict {
        for &node in nodes.iter().flatten() {
            if node.role() != Role::Leader {
                continue;
            }
            let first = *self.leaders.entry(node.term()).or_insert(node.id());
            if first != node.id() {
                return Err(format!(
                    "two leaders in term {}: {first} and {} (Raft §5.2)",
                    node.term(),
                    node.id()
                ));
            }
        }
        Ok(())
    }
}

/// Leader Append-Only (§5.3): while a server leads a term, its log only
/// grows: no entry it held is removed or changed.
#[derive(Debug, Default)]
pub struct LeaderAppendOnly {
    /// Per leader: its term, and the terms of its entries as last seen,
    /// from index `base + 1`.
    seen: HashMap<NodeId, (Term, LogIndex, Vec<Term>)>,
}

impl LeaderAppendOnly {
    /// A checker that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Judges one moment of the run.
    pub fn check<SM: StateMachine, S>(&mut self, nodes: &[Option<&Raft<SM, S>>]) -> Verdict {
        for (slot, node) in nodes.iter().copied().enumerate() {
            let id = NodeId(slot as u32);
            let Some(node) = node.filter(|n| n.role() == Role::Leader) else {
                self.seen.remove(&id);
                continue;
            };
            let log = node.log();
            let fresh = || {
                (
                    node.term(),
                    log.snapshot_index(),
                    log.entries().map(|e| e.term).collect(),
                )
            };
            let record = self.seen.entry(id).or_insert_with(fresh);
            if record.0 != node.term() {
                *record = fresh();
                continue;
            }
            let (_, base, terms) = record;
            let seen_last = *base + terms.len() as u64;
            if log.last_index() < seen_last {
                return Err(format!(
                    "leader {id} of term {} shortened its log from {seen_last} to {} entries (Raft §5.3)",
                    node.term(),
                    log.last_index()
                ));
            }
            for (offset, &term) in terms.iter().enumerate() {
                let index = *base + 1 + offset as u64;
                if index <= log.snapshot_index() {
                    continue;
                }
                if log.term_at(index) != Some(term) {
                    return Err(format!(
                        "leader {id} of term {} changed its entry {index} from term {term} to {:?} (Raft §5.3)",
                        node.term(),
                        log.term_at(index)
                    ));
                }
            }
            terms.extend(
                log.entries()
                    .skip_while(|e| e.index <= seen_last)
                    .map(|e| e.term),
            );
        }
        Ok(())
    }
}

/// Log Matching (§5.3): two logs that hold an entry with the same index and
/// term are identical up to it.
#[derive(Debug, Default)]
pub struct LogMatching;

impl LogMatching {
    /// A checker.
    pub fn new() -> Self {
        LogMatching
    }

    /// Judges one moment of the run.
    pub fn check<SM: StateMachine, S>(&mut self, nodes: &[Option<&Raft<SM, S>>]) -> Verdict {
        let live: Vec<&Raft<SM, S>> = nodes.iter().flatten().copied().collect();
        for (i, a) in live.iter().enumerate() {
            for b in &live[i + 1..] {
                let (la, lb) = (a.log(), b.log());
                let lo = la.snapshot_index().max(lb.snapshot_index()) + 1;
                let hi = la.last_index().min(lb.last_index());
                // The highest index where both hold the same term …
                let Some(top) = (lo..=hi).rev().find(|&k| la.term_at(k) == lb.term_at(k)) else {
                    continue;
                };
                // … and everything below it must be the same entry.
                for k in lo..=top {
                    if la.get(k) != lb.get(k) {
                        return Err(format!(
                            "{} and {} both hold index {top} in term {:?} but differ at index {k} (Raft §5.3)",
                            a.id(),
                            b.id(),
                            la.term_at(top)
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Leader Completeness (§5.4): an entry committed in a term is in the log of
/// every leader of a later term.
#[derive(Debug)]
pub struct LeaderCompleteness<C> {
    /// Committed entries: index → (entry, the highest term of a leader
    /// that could have committed it when it was first seen committed).
    committed: BTreeMap<LogIndex, (Entry<C>, Term)>,
}

impl<C> Default for LeaderCompleteness<C> {
    fn default() -> Self {
        LeaderCompleteness {
            committed: BTreeMap::new(),
        }
    }
}

impl<C: Clone + PartialEq + std::fmt::Debug> LeaderCompleteness<C> {
    /// A checker that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Judges one moment of the run.
    pub fn check<SM, S>(&mut self, nodes: &[Option<&Raft<SM, S>>]) -> Verdict
    where
        SM: StateMachine<Command = C>,
    {
        // Checked after every event, so the first server seen with an entry
        // committed is the leader that committed it: its term is the term
        // the entry was committed in.
        for &node in nodes.iter().flatten() {
            let upto = node.commit_index();
            if let Err(mismatch) = agree(&mut self.committed, node, upto, node.term()) {
                let (known, entry) = *mismatch;
                return Err(format!(
                    "{} has committed {entry:?} at index {} where {:?} was committed before (Raft §5.4)",
                    node.id(),
                    entry.index,
                    known.0
                ));
            }
        }
        for leader in nodes.iter().flatten().filter(|n| n.role() == Role::Leader) {
            let log = leader.log();
            for (&index, (entry, committed_in)) in self.committed.range(log.snapshot_index() + 1..)
            {
                if *committed_in < leader.term() && log.get(index) != Some(entry) {
                    return Err(format!(
                        "leader {} of term {} lacks entry {index} (term {}) committed in term {committed_in} (Raft §5.4)",
                        leader.id(),
                        leader.term(),
                        entry.term
                    ));
                }
            }
        }
        Ok(())
    }
}

/// State Machine Safety (§5.4.3): no two servers apply different entries at
/// the same index.
#[derive(Debug)]
pub struct StateMachineSafety<C> {
    applied: BTreeMap<LogIndex, (Entry<C>, NodeId)>,
}

impl<C> Default for StateMachineSafety<C> {
    fn default() -> Self {
        StateMachineSafety {
            applied: BTreeMap::new(),
        }
    }
}

impl<C: Clone + PartialEq + std::fmt::Debug> StateMachineSafety<C> {
    /// A checker that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Judges one moment of the run.
    pub fn check<SM, S>(&mut self, nodes: &[Option<&Raft<SM, S>>]) -> Verdict
    where
        SM: StateMachine<Command = C>,
    {
        for &node in nodes.iter().flatten() {
            let upto = node.last_applied();
            if let Err(mismatch) = agree(&mut self.applied, node, upto, node.id()) {
                let (known, entry) = *mismatch;
                return Err(format!(
                    "{} applied {entry:?} at index {} but {} applied {:?} there (Raft §5.4.3)",
                    node.id(),
                    entry.index,
                    known.1,
                    known.0
                ));
            }
        }
        Ok(())
    }
}

/// Records each entry of `node`'s log up to `upto` under its index (with
/// `tag`), or checks it against the entry recorded there before: the first
/// that differs comes back with what was recorded (boxed: it is the rare
/// path, and keeps the result small).
#[allow(clippy::type_complexity)]
fn agree<C: Clone + PartialEq, T: Clone, SM: StateMachine<Command = C>, S>(
    seen: &mut BTreeMap<LogIndex, (Entry<C>, T)>,
    node: &Raft<SM, S>,
    upto: LogIndex,
    tag: T,
) -> Result<(), Box<((Entry<C>, T), Entry<C>)>> {
    for entry in node.log().entries().take_while(|e| e.index <= upto) {
        match seen.get(&entry.index) {
            None => {
                seen.insert(entry.index, (entry.clone(), tag.clone()));
            }
            Some(known) if known.0 != *entry => {
                return Err(Box::new((known.clone(), entry.clone())))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// All five checkers together.
#[derive(Debug)]
pub struct Checkers<C> {
    /// §5.2.
    pub election_safety: ElectionSafety,
    /// §5.3.
    pub leader_append_only: LeaderAppendOnly,
    /// §5.3.
    pub log_matching: LogMatching,
    /// §5.4.
    pub leader_completeness: LeaderCompleteness<C>,
    /// §5.4.3.
    pub state_machine_safety: StateMachineSafety<C>,
}

impl<C> Default for Checkers<C> {
    fn default() -> Self {
        Checkers {
            election_safety: ElectionSafety::default(),
            leader_append_only: LeaderAppendOnly::default(),
            log_matching: LogMatching,
            leader_completeness: LeaderCompleteness::default(),
            state_machine_safety: StateMachineSafety::default(),
        }
    }
}

impl<C: Clone + PartialEq + std::fmt::Debug> Checkers<C> {
    /// Checkers that have seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs all five; the error names the property that failed.
    pub fn check<SM, S>(&mut self, nodes: &[Option<&Raft<SM, S>>]) -> Verdict
    where
        SM: StateMachine<Command = C>,
    {
        let named = |name: &str, verdict: Verdict| verdict.map_err(|why| format!("{name}: {why}"));
        named("Election Safety", self.election_safety.check(nodes))?;
        named("Leader Append-Only", self.leader_append_only.check(nodes))?;
        named("Log Matching", self.log_matching.check(nodes))?;
        named("Leader Completeness", self.leader_completeness.check(nodes))?;
        named(
            "State Machine Safety",
            self.state_machine_safety.check(nodes),
        )
    }
}
