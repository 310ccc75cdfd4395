//! The contract of [`Storage`], as a suite any implementation can run.
//!
//! [`run`] drives a storage through scenarios — each on fresh storage —
//! and after every step checks that [`Storage::load`] returns exactly what
//! the contract says, both from the live handle and after a simulated crash
//! and restart (`reopen`). It panics on the first violation, naming the
//! broken rule, the step and the difference.
//!
//! | rule | scenario |
//! |---|---|
//! | fresh storage loads empty | `empty` |
//! | the hard state survives restart (Raft Figure 2) | `hard state` |
//! | appended entries load back, in order | `append round trip` |
//! | an append with a gap or overlap is `Error::Contract` and changes nothing | `append out of order` |
//! | `truncate(from)` removes `from` on; appending then replaces the suffix (Raft §5.3) | `truncate and replace` |
//! | truncating past the end, or an empty log, changes nothing | `truncate past the end` |
//! | a snapshot drops the entries it covers and keeps the ones after (Raft §7) | `snapshot compacts` |
//! | a snapshot past the log's end empties it; the next append follows the snapshot | `snapshot past the end` |
//! | install over a conflicting log: snapshot, truncate what follows, append | `install over conflict` |
//! | only the latest of several snapshots is kept | `several snapshots` |
//!
//! ```
//! use dsys_consensus::raft::{conformance, MemStorage};
//!
//! // MemStorage's handle *is* its durable state: a restart keeps the handle.
//! conformance::run(MemStorage::new, |storage| storage, |i| i);
//! ```

use std::fmt::Debug;

use dsys_core::NodeId;

use super::{Recovered, Storage};
use crate::raft::types::{
    Entry, HardState, LogIndex, Membership, Payload, Snapshot, SnapshotMeta, Term,
};
use crate::Error;

/// Runs every scenario of the contract against storages made by `fresh`
/// (empty storage). `reopen` simulates a crash and restart: it drops the
/// handle it is given and returns one that reads the same durable state.
/// `command(i)` makes the command of the entry at index `i`; distinct
/// indices should give distinct commands.
///
/// # Panics
///
/// On the first violation of the contract, with a message naming the rule.
pub fn run<C, S>(
    mut fresh: impl FnMut() -> S,
    mut reopen: impl FnMut(S) -> S,
    command: impl Fn(u64) -> C,
) where
    S: Storage<C>,
    C: Clone + Debug + PartialEq,
{
    let mut scenario = |name: &'static str, body: &dyn Fn(&mut Checker<'_, C, S>)| {
        let mut checker = Checker {
            scenario: name,
            storage: Some(fresh()),
            reopen: &mut reopen,
            command: &command,
            expected: Recovered::default(),
        };
        checker.check("fresh storage loads empty", "start");
        body(&mut checker);
    };

    scenario("empty", &|c| {
        c.restart("fresh storage loads empty, also after a restart");
    });

    scenario("hard state", &|c| {
        let rule = "the hard state survives restart (Raft Figure 2)";
        c.save_hard_state(
            rule,
            HardState {
                term: 1,
                voted_for: None,
            },
        );
        c.save_hard_state(
            rule,
            HardState {
                term: 1,
                voted_for: Some(NodeId(2)),
            },
        );
        c.save_hard_state(
            rule,
            HardState {
                term: 7,
                voted_for: None,
            },
        );
        c.append(rule, 1, 1..=2);
        c.save_hard_state(
            rule,
            HardState {
                term: 8,
                voted_for: Some(NodeId(0)),
            },
        );
    });

    scenario("append round trip", &|c| {
        let rule = "appended entries load back, in order";
        c.append(rule, 1, 1..=3);
        c.append(rule, 2, 4..=5);
        c.append_nothing(rule);
        c.append(rule, 3, 6..=6);
    });

    scenario("append out of order", &|c| {
        let rule = "an append with a gap or overlap is Error::Contract and changes nothing";
        c.reject_append(rule, 1, 2..=3); // the empty log starts at 1
        c.append(rule, 1, 1..=5);
        c.reject_append(rule, 1, 7..=8); // gap
        c.reject_append(rule, 2, 5..=6); // overlap
        c.reject_append(rule, 2, 1..=1); // overlap at the start
        let ragged = vec![c.entry(2, 6), c.entry(2, 8)];
        c.reject_entries(rule, "append [6, 8]", &ragged); // gap inside the batch
        c.append(rule, 2, 6..=6);
    });

    scenario("truncate and replace", &|c| {
        let rule = "truncate(from) removes the entries from `from` on; appending then replaces the suffix (Raft §5.3)";
        c.append(rule, 1, 1..=5);
        c.truncate(rule, 3);
        c.append(rule, 2, 3..=4);
        c.truncate(rule, 4);
        c.truncate(rule, 1);
        c.append(rule, 3, 1..=2);
    });

    scenario("truncate past the end", &|c| {
        let rule = "truncating past the end, or an empty log, changes nothing";
        c.truncate(rule, 1);
        c.truncate(rule, 5);
        c.append(rule, 1, 1..=5);
        c.truncate(rule, 6);
        c.truncate(rule, 100);
        c.append(rule, 1, 6..=6);
    });

    scenario("snapshot compacts", &|c| {
        let rule = "a snapshot drops the entries it covers and keeps the ones after (Raft §7)";
        c.append(rule, 1, 1..=10);
        c.save_snapshot(rule, 5, 1);
        c.reject_append(rule, 1, 10..=10);
        c.append(rule, 2, 11..=11);
        c.truncate(rule, 9);
        c.append(rule, 2, 9..=9);
        c.save_snapshot(rule, 9, 2); // the whole log
        c.append(rule, 2, 10..=10);
    });

    scenario("snapshot past the end", &|c| {
        let rule = "a snapshot past the log's end empties it; the next append follows the snapshot";
        c.append(rule, 1, 1..=3);
        c.save_snapshot(rule, 10, 2);
        c.reject_append(rule, 2, 4..=4);
        c.truncate(rule, 5);
        c.append(rule, 2, 11..=12);
    });

    scenario("install over conflict", &|c| {
        let rule =
            "install over a conflicting log: snapshot, truncate what follows, append (Raft §7)";
        c.append(rule, 1, 1..=10);
        // The leader's snapshot ends at 7 in term 2; the entries after it
        // are from a deposed term-1 leader.
        c.save_snapshot(rule, 7, 2);
        c.truncate(rule, 8);
        c.append(rule, 2, 8..=9);
    });

    scenario("several snapshots", &|c| {
        let rule = "only the latest of several snapshots is kept";
        c.append(rule, 1, 1..=4);
        c.save_snapshot(rule, 2, 1);
        c.append(rule, 1, 5..=8);
        c.save_snapshot(rule, 6, 1);
        c.save_snapshot(rule, 7, 1);
        c.append(rule, 3, 9..=9);
        c.save_snapshot(rule, 12, 3);
        c.append(rule, 3, 13..=13);
    });
}

/// The shape of a recovered state, short enough to read in a panic message.
fn summary<C>(state: &Recovered<C>) -> String {
    let entries: Vec<_> = state.entries.iter().map(|e| (e.index, e.term)).collect();
    format!(
        "hard state {:?}, snapshot (index, term) {:?}, entries (index, term) {entries:?}",
        state.hard_state,
        state.snapshot.as_ref().map(|s| (s.meta.index, s.meta.term)),
    )
}

/// One scenario's storage, and what it should hold.
struct Checker<'a, C, S> {
    scenario: &'static str,
    storage: Option<S>,
    reopen: &'a mut dyn FnMut(S) -> S,
    command: &'a dyn Fn(u64) -> C,
    expected: Recovered<C>,
}

impl<C, S> Checker<'_, C, S>
where
    S: Storage<C>,
    C: Clone + Debug + PartialEq,
{
    fn storage(&mut self) -> &mut S {
        self.storage.as_mut().expect("a storage between steps")
    }

    /// Index 1, 4, 7 … carry a no-op, 2, 5, 8 … a membership, the rest
    /// commands: every payload kind goes through the storage.
    fn entry(&self, term: Term, index: LogIndex) -> Entry<C> {
        let payload = match index % 3 {
            1 => Payload::Noop,
            2 => Payload::Membership(Membership::voters([NodeId(0), NodeId(index as u32)])),
            _ => Payload::Command {
                session: None,
                command: (self.command)(index),
            },
        };
        Entry {
            term,
            index,
            payload,
        }
    }

    fn snapshot(index: LogIndex, term: Term) -> Snapshot {
        Snapshot {
            meta: SnapshotMeta {
                index,
                term,
                membership: Membership::voters([NodeId(0), NodeId(1), NodeId(2)]),
            },
            data: index.to_le_bytes().repeat(3),
        }
    }

    fn fail(&self, rule: &str, step: &str, detail: String) -> ! {
        panic!(
            "storage conformance: rule broken: {rule}\n  scenario: {}\n  step: {step}\n  {detail}",
            self.scenario
        )
    }

    /// Checks `load` on the live handle, then after a restart.
    fn check(&mut self, rule: &str, step: &str) {
        self.check_live(rule, step);
        self.restart(rule);
        self.check_live(rule, &format!("{step}, then crash and restart"));
    }

    fn check_live(&mut self, rule: &str, step: &str) {
        match self.storage().load() {
            Ok(loaded) if loaded == self.expected => {}
            Ok(loaded) => {
                let (got, want) = (summary(&loaded), summary(&self.expected));
                let detail = if got != want {
                    format!("load returned {got}\n  expected    {want}")
                } else {
                    format!("load returned {loaded:#?}\n  expected {:#?}", self.expected)
                };
                self.fail(rule, step, detail)
            }
            Err(e) => self.fail(rule, step, format!("load failed: {e}")),
        }
    }

    fn restart(&mut self, rule: &str) {
        let storage = self.storage.take().expect("a storage between steps");
        self.storage = Some((self.reopen)(storage));
        self.check_live(rule, "crash and restart");
    }

    fn expect_ok(&self, rule: &str, step: &str, result: crate::Result<()>) {
        if let Err(e) = result {
            self.fail(rule, step, format!("failed: {e}"));
        }
    }

    fn save_hard_state(&mut self, rule: &str, state: HardState) {
        let step = format!("save_hard_state({state:?})");
        let result = self.storage().save_hard_state(&state);
        self.expect_ok(rule, &step, result);
        self.expected.hard_state = state;
        self.check(rule, &step);
    }

    fn append(&mut self, rule: &str, term: Term, indices: std::ops::RangeInclusive<LogIndex>) {
        let step = format!("append {indices:?} in term {term}");
        let entries: Vec<_> = indices.map(|i| self.entry(term, i)).collect();
        let result = self.storage().append(&entries);
        self.expect_ok(rule, &step, result);
        self.expected.entries.extend(entries);
        self.check(rule, &step);
    }

    fn append_nothing(&mut self, rule: &str) {
        let result = self.storage().append(&[]);
        self.expect_ok(rule, "append []", result);
        self.check(rule, "append []");
    }

    fn reject_append(
        &mut self,
        rule: &str,
        term: Term,
        indices: std::ops::RangeInclusive<LogIndex>,
    ) {
        let step = format!("append {indices:?} in term {term}");
        let entries: Vec<_> = indices.map(|i| self.entry(term, i)).collect();
        self.reject_entries(rule, &step, &entries);
    }

    fn reject_entries(&mut self, rule: &str, step: &str, entries: &[Entry<C>]) {
        match self.storage().append(entries) {
            Err(Error::Contract(_)) => {}
            Err(e) => self.fail(
                rule,
                step,
                format!("failed with {e:?}; expected Error::Contract"),
            ),
            Ok(()) => self.fail(rule, step, "succeeded; expected Error::Contract".into()),
        }
        self.check(rule, &format!("{step} (rejected)"));
    }

    fn truncate(&mut self, rule: &str, from: LogIndex) {
        let step = format!("truncate({from})");
        let result = self.storage().truncate(from);
        self.expect_ok(rule, &step, result);
        self.expected.entries.retain(|e| e.index < from);
        self.check(rule, &step);
    }

    fn save_snapshot(&mut self, rule: &str, index: LogIndex, term: Term) {
        let step = format!("save_snapshot(index {index}, term {term})");
        let snapshot = Self::snapshot(index, term);
        let result = self.storage().save_snapshot(&snapshot);
        self.expect_ok(rule, &step, result);
        // Every snapshot in these scenarios is at or past the previous one,
        // so what stays is exactly the entries after it.
        self.expected.entries.retain(|e| e.index > index);
        self.expected.snapshot = Some(snapshot);
        self.check(rule, &step);
    }
}
