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
