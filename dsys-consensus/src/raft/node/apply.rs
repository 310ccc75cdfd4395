//! Applying committed entries to the state machine, with client sessions
//! for exactly-once commands (dissertation §6.3), and taking snapshots
//! (Raft §7).

use serde::{Deserialize, Serialize};

use super::{Ctx, Raft};
use crate::raft::message::{RaftEvent, Rejection};
use crate::raft::state_machine::StateMachine;
use crate::raft::storage::Storage;
use crate::raft::types::{LogIndex, Payload, Role, Snapshot, SnapshotMeta};

/// One session of the client sessions table, part of the replicated
/// state; the table is keyed by the session's id (the index of the entry
/// that opened it).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(super) struct SessionEntry<O> {
    /// The latest command applied (0: none yet).
    pub(super) seq: u64,
    /// Its output, for a retry (`None` until a command is applied).
    pub(super) output: Option<O>,
    /// The last entry that used the session: the least recently used
    /// session expires first.
    pub(super) last_index: LogIndex,
}

/// What applying one entry gave, for the requests waiting on it.
#[derive(Clone)]
enum Outcome<O> {
    /// A command's output, and the index where it took effect (the
    /// entry's own, or for a retried session command the index of the
    /// entry that applied it first).
    Output(O, LogIndex),
    /// A session opened, named by the entry's index.
    Opened,
    /// A command refused by its session.
    Refused(Rejection),
}

/// What a snapshot's bytes hold: the sessions and the state machine.
#[derive(Serialize, Deserialize)]
pub(super) struct SnapshotData<O> {
    pub(super) sessions: Vec<(u64, SessionEntry<O>)>,
    pub(super) state: Vec<u8>,
}

impl<SM, S> Raft<SM, S>
where
    SM: StateMachine,
    S: Storage<SM::Command>,
{
    pub(super) fn apply(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        let mut leave = false;
        while self.applied < self.commit {
            let index = self.applied + 1;
            let Some(entry) = self.log.get(index) else {
                break;
            };
            self.applied = index;
            let result = match &entry.payload {
                Payload::Noop => None,
                Payload::OpenSession => {
                    // Dissertation §6.3 (RegisterClient): the session is
                    // named by this entry's index, which no other session
                    // ever had. A full table expires the least recently
                    // used session, never the one just opened (its index
                    // is the highest).
                    self.sessions.insert(
                        index,
                        SessionEntry {
                            seq: 0,
                            output: None,
                            last_index: index,
                        },
                    );
                    if self.sessions.len() > self.config.sessions_max {
                        let oldest = self
                            .sessions
                            .iter()
                            .min_by_key(|(_, e)| e.last_index)
                            .map(|(&c, _)| c)
                            .expect("not empty");
                        self.sessions.remove(&oldest);
                    }
                    Some(Outcome::Opened)
                }
                Payload::Membership(m) => {
                    // Dissertation §4.2.2: a leader that the configuration
                    // in force removes leaves once that configuration
                    // commits. An older configuration entry, applied again
                    // (a restarted server applies its log from its
                    // snapshot on), is not in force (§4.1: the latest in
                    // the log is), and says nothing about leaving.
                    leave |= self.role == Role::Leader
                        && !m.voters.contains(&self.id)
                        && index == self.membership_index();
                    None
                }
                Payload::Command { session, command } => Some(match session {
                    None => Outcome::Output(self.sm.apply(index, command), index),
                    Some(s) => match self.sessions.get_mut(&s.client) {
                        // Dissertation §6.3: a session the table does not
                        // hold expired (or never was): its command may be
                        // a retry of one applied before the session was
                        // forgotten, so it is refused, never applied as new.
                        None => Outcome::Refused(Rejection::SessionExpired { client: s.client }),
                        Some(known) if known.seq >= s.seq => match &known.output {
                            Some(output) if known.seq == s.seq => {
                                Outcome::Output(output.clone(), known.last_index)
                            }
                            _ => Outcome::Refused(Rejection::StaleSession),
                        },
                        Some(known) => {
                            let output = self.sm.apply(index, command);
                            *known = SessionEntry {
                                seq: s.seq,
                                output: Some(output.clone()),
                                last_index: index,
                            };
                            Outcome::Output(output, index)
                        }
                    },
                }),
            };
            // Several requests may wait on one entry: a retry of a session
            // command waits on the entry of its first copy.
            while self.pending.front().is_some_and(|&(i, _)| i == index) {
                let (_, id) = self.pending.pop_front().expect("just looked");
                ctx.emit(match result.clone() {
                    Some(Outcome::Output(output, index)) => {
                        RaftEvent::Applied { id, index, output }
                    }
                    Some(Outcome::Opened) => RaftEvent::SessionOpened { id, client: index },
                    Some(Outcome::Refused(reason)) => RaftEvent::Rejected { id, reason },
                    None => unreachable!("only commands and session openings are pending"),
                });
            }
        }
        self.serve_reads(ctx);
        if leave {
            // Dissertation §4.2.2: a leader removed from the cluster steps
            // down once the change commits.
            self.become_follower(ctx, None, true);
        }
        if self.config.snapshot_threshold > 0
            && self.applied >= self.log.snapshot_index() + self.config.snapshot_threshold
        {
            self.take_snapshot(ctx);
        }
    }

    pub(super) fn take_snapshot(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        let index = self.applied;
        if index <= self.log.snapshot_index() {
            return;
        }
        let term = self
            .log
            .term_at(index)
            .expect("applied entries are in the log");
        let data = SnapshotData {
            sessions: self.sessions.iter().map(|(&c, e)| (c, e.clone())).collect(),
            state: self.sm.snapshot(),
        };
        let snapshot = Snapshot {
            meta: SnapshotMeta {
                index,
                term,
                membership: self.membership_at(index),
            },
            data: postcard::to_allocvec(&data).expect("snapshot data encodes"),
        };
        if let Err(e) = self.storage.save_snapshot(&snapshot) {
            self.halt(ctx, e);
            return;
        }
        self.log.compact(index, term);
        self.snapshot = snapshot;
        ctx.emit(RaftEvent::SnapshotTaken { index });
    }
}
