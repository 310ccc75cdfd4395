//! Multi-Paxos's safety, checked like Raft's: over all replicas' states
//! after every simulator event, each checker remembering what it saw.
//!
//! | property | says | checker |
//! |---|---|---|
//! | log agreement | no two replicas ever know different entries as chosen for one slot | [`LogAgreement`] |
//! | state machine safety | two replicas that applied the same prefix of the log are in the same state | [`StateMachineSafety`] |
//!
//! Per slot, log agreement is single-decree Paxos's "only a single value
//! is chosen" as learners see it (Lamport, *Paxos Made Simple* §3). The
//! checkers are incremental, so that they cost little per event: a
//! replica's chosen entries are judged once each, when they join its
//! gap-free prefix (every entry of a live replica eventually does), and
//! again after each restart; the state machine is compared by its
//! snapshot bytes whenever a replica's applied slot moves. The per-slot
//! consensus properties of [`crate::properties`] (Agreement, Integrity,
//! Validity, Termination) are judged at the end of a run in
//! [`super::simulation`].

use std::collections::HashMap;

use dsys_core::NodeId;

use super::message::{Entry, Slot};
use super::node::MultiPaxos;
use crate::raft::StateMachine;

type Verdict = Result<(), String>;

/// Log agreement: one entry per slot, whoever knows it.
#[derive(Debug)]
pub struct LogAgreement<C> {
    first: HashMap<Slot, (NodeId, Entry<C>)>,
    /// Per replica: the slots below this one have been checked.
    checked: Vec<Slot>,
}

impl<C> Default for LogAgreement<C> {
    fn default() -> Self {
        LogAgreement {
            first: HashMap::new(),
            checked: Vec::new(),
        }
    }
}

impl<C: Clone + PartialEq + std::fmt::Debug> LogAgreement<C> {
    /// A checker that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Judges one moment of the run.
    pub fn check<SM: StateMachine<Command = C>>(
        &mut self,
        nodes: &[Option<MultiPaxos<SM>>],
    ) -> Verdict {
        self.checked.resize(nodes.len(), 1);
        for (i, node) in nodes.iter().enumerate() {
            let Some(node) = node else {
                self.checked[i] = 1; // judged again after the restart
                continue;
            };
            let id = NodeId(i as u32);
            let log = node
                .log()
                .get(self.checked[i] as usize - 1..)
                .unwrap_or_default();
            for (slot, entry) in (self.checked[i]..).zip(log) {
                let (who, first) = self
                    .first
                    .entry(slot)
                    .or_insert_with(|| (id, entry.clone()));
                if first != entry {
                    return Err(format!(
                        "slot {slot}: {who} holds {first:?} as chosen but {id} holds {entry:?} (Paxos Made Simple §3)"
                    ));
                }
            }
            self.checked[i] = node.first_unchosen();
        }
        Ok(())
    }
}

/// State machine safety: replicas that applied the same slots are in the
/// same state (compared by snapshot bytes).
#[derive(Debug, Default)]
pub struct StateMachineSafety {
    states: HashMap<Slot, (NodeId, Vec<u8>)>,
    seen: Vec<Option<Slot>>,
}

impl StateMachineSafety {
    /// A checker that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Judges one moment of the run.
    pub fn check<SM: StateMachine>(&mut self, nodes: &[Option<MultiPaxos<SM>>]) -> Verdict {
        self.seen.resize(nodes.len(), None);
        for (i, node) in nodes.iter().enumerate() {
            let Some(node) = node else {
                self.seen[i] = None;
                continue;
            };
            let applied = node.applied();
            if self.seen[i] == Some(applied) {
                continue;
            }
            self.seen[i] = Some(applied);
            let id = NodeId(i as u32);
            let state = node.state_machine().snapshot();
            let (who, first) = self
                .states
                .entry(applied)
                .or_insert_with(|| (id, state.clone()));
            if *first != state {
                return Err(format!(
                    "after applying slots 1..={applied}, {who} and {id} are in different states"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::multi_paxos::{Command, Durable, MultiPaxosConfig};
    use crate::raft::Counter;
    use crate::stable::Stable;
    use dsys_core::testing::Harness;

    fn add(n: u64) -> Entry<u64> {
        Entry::Batch(vec![Command {
            id: n.into(),
            command: n,
        }])
    }

    /// A replica whose stable storage holds `log` as chosen, started (so
    /// that it has applied the log) if `started`.
    fn replica(log: Vec<Entry<u64>>, started: bool) -> Option<MultiPaxos<Counter>> {
        let stable = Stable::new(Durable {
            log,
            ..Durable::default()
        });
        let node =
            MultiPaxos::new(MultiPaxosConfig::default(), stable, Counter::default()).unwrap();
        if !started {
            return Some(node);
        }
        let mut h = Harness::new(node, NodeId(0), 1);
        h.start();
        Some(h.node().clone())
    }

    // Paxos Made Simple §3: one value is chosen per slot. The first slot
    // is judged like any other, and a slot that joins a log later is
    // judged when it does.
    #[test]
    fn log_agreement_catches_two_entries_chosen_for_one_slot() {
        let why = LogAgreement::new()
            .check(&[
                replica(vec![add(1), Entry::Noop], false),
                replica(vec![add(2), Entry::Noop], false),
            ])
            .unwrap_err();
        assert!(why.starts_with("slot 1: n0 holds"), "{why}");

        let mut checker = LogAgreement::new();
        let same = [replica(vec![add(1)], false), replica(vec![add(1)], false)];
        assert_eq!(checker.check(&same), Ok(()));
        let later = [
            replica(vec![add(1), add(2)], false),
            replica(vec![add(1), add(3)], false),
        ];
        let why = checker.check(&later).unwrap_err();
        assert!(why.starts_with("slot 2: n0 holds"), "{why}");
    }

    #[test]
    fn state_machine_safety_catches_replicas_that_applied_alike_and_differ() {
        let nodes = [
            replica(vec![add(5)], true),
            None,
            replica(vec![add(6)], true),
        ];
        assert_eq!(
            StateMachineSafety::new().check(&nodes),
            Err("after applying slots 1..=1, n0 and n2 are in different states".into())
        );
        let nodes = [replica(vec![add(5)], true), replica(vec![add(5)], true)];
        assert_eq!(StateMachineSafety::new().check(&nodes), Ok(()));
    }
}
