//! Replication on the follower's side (Raft §5.3, §7): the consistency
//! check, conflict hints, truncation, and installing a leader's snapshot.

use dsys_core::NodeId;

use super::apply::SnapshotData;
use super::{Ctx, Raft};
use crate::raft::message::{AppendEntries, AppendResponse, InstallSnapshot, Msg};
use crate::raft::state_machine::StateMachine;
use crate::raft::storage::Storage;
use crate::raft::types::{LogIndex, Payload, Role};

impl<SM, S> Raft<SM, S>
where
    SM: StateMachine,
    S: Storage<SM::Command>,
{
    /// Answers an append or snapshot from a leader of an older term with
    /// ours, so it steps down. The answer confirms no read round: rounds
    /// restart with a leader's incarnation, so an old round number could
    /// confirm a newer leader's read.
    pub(super) fn refuse_stale_leader(
        &self,
        ctx: &mut Ctx<'_, SM, S>,
        from: NodeId,
        index: LogIndex,
    ) {
        ctx.send(
            from,
            Msg::AppendResponse(AppendResponse {
                term: self.term,
                index,
                success: false,
                hint: 0,
                read_round: 0,
            }),
        );
    }

    /// Accepts `from` as the leader of the current term (Raft §5.2: a
    /// candidate that hears the leader of its term steps down).
    pub(super) fn follow(&mut self, ctx: &mut Ctx<'_, SM, S>, from: NodeId) {
        if self.role != Role::Follower {
            self.become_follower(ctx, Some(from), true);
        }
        self.leader = Some(from);
        self.last_leader_contact = Some(ctx.now());
        self.reset_election_deadline(ctx);
        // Dissertation §3.10: a transfer this server handed over is settled
        // by who leads now.
        self.settle_transfer(ctx, Some(from));
    }

    pub(super) fn handle_append_entries(
        &mut self,
        ctx: &mut Ctx<'_, SM, S>,
        from: NodeId,
        append: AppendEntries<SM::Command>,
    ) {
        let AppendEntries {
            term: _,
            prev_log_index,
            prev_log_term,
            mut entries,
            leader_commit,
            read_round,
        } = append;
        let reply = |ctx: &mut Ctx<'_, SM, S>, term, index, success, hint| {
            ctx.send(
                from,
                Msg::AppendResponse(AppendResponse {
                    term,
                    index,
                    success,
                    hint,
                    read_round,
                }),
            );
        };
        // Of the current term (checked in `on_message`).
        self.follow(ctx, from);
        let last_new = prev_log_index + entries.len() as u64;
        let mut prev = prev_log_index;
        if prev < self.log.snapshot_index() {
            // Our snapshot covers the start: those entries are committed,
            // and so match the leader's (Leader Completeness).
            let skip = (self.log.snapshot_index() - prev).min(entries.len() as u64);
            entries.drain(..skip as usize);
            prev = self.log.snapshot_index();
            if last_new < prev {
                reply(ctx, self.term, last_new, true, 0);
                return;
            }
        } else if prev > self.log.last_index() {
            reply(ctx, self.term, prev, false, self.log.last_index() + 1);
            return;
        } else if self.log.term_at(prev) != Some(prev_log_term) {
            let conflict_term = self.log.term_at(prev).unwrap_or(0);
            let hint = self.log.first_index_of_term(prev, conflict_term);
            reply(ctx, self.term, prev, false, hint);
            return;
        }
        // Skip what we already have; cut our log at the first conflict.
        let mut new_from = entries.len();
        for (i, entry) in entries.iter().enumerate() {
            match self.log.term_at(entry.index) {
                Some(t) if t == entry.term => continue,
                Some(_) => {
                    if entry.index <= self.commit {
                        tracing::error!(node = %self.id, index = entry.index, "asked to overwrite a committed entry: Raft safety is broken");
                    }
                    if let Err(e) = self.storage.truncate(entry.index) {
                        self.halt(ctx, e);
                        return;
                    }
                    self.log.truncate(entry.index);
                    self.recompute_membership();
                    new_from = i;
                    break;
                }
                None => {
                    new_from = i;
                    break;
                }
            }
        }
        if new_from < entries.len() {
            let fresh = &entries[new_from..];
            if let Err(e) = self.storage.append(fresh) {
                self.halt(ctx, e);
                return;
            }
            let mut changed = false;
            for entry in entries.drain(new_from..) {
                changed |= matches!(entry.payload, Payload::Membership(_));
                self.log.push(entry);
            }
            if changed {
                self.recompute_membership();
            }
        }
        // Raft Figure 2: commit up to what the leader committed, but only
        // as far as this append vouches for our log.
        let commit = leader_commit.min(last_new);
        if commit > self.commit {
            self.commit = commit;
            self.apply(ctx);
        }
        reply(ctx, self.term, last_new, true, 0);
    }

    pub(super) fn handle_install_snapshot(
        &mut self,
        ctx: &mut Ctx<'_, SM, S>,
        from: NodeId,
        install: InstallSnapshot,
    ) {
        let InstallSnapshot {
            term: _,
            snapshot,
            read_round,
        } = install;
        let index = snapshot.meta.index;
        let reply = |ctx: &mut Ctx<'_, SM, S>, term, success| {
            ctx.send(
                from,
                Msg::AppendResponse(AppendResponse {
                    term,
                    index,
                    success,
                    hint: 0,
                    read_round,
                }),
            );
        };
        // Of the current term (checked in `on_message`).
        self.follow(ctx, from);
        if index <= self.commit {
            // We already have (and committed) everything it covers.
            reply(ctx, self.term, true);
            return;
        }
        let data: SnapshotData<SM::Output> = match postcard::from_bytes(&snapshot.data) {
            Ok(data) => data,
            Err(e) => {
                tracing::warn!(node = %self.id, error = %e, "snapshot from the leader does not decode; ignored");
                return;
            }
        };
        if let Err(e) = self.sm.restore(&data.state) {
            tracing::warn!(node = %self.id, error = %e, "the state machine refused the leader's snapshot; ignored");
            return;
        }
        let keep_suffix = self.log.term_at(index) == Some(snapshot.meta.term);
        let stored = if keep_suffix {
            self.storage.save_snapshot(&snapshot)
        } else {
            self.storage
                .truncate(self.log.snapshot_index() + 1)
                .and_then(|()| self.storage.save_snapshot(&snapshot))
        };
        if let Err(e) = stored {
            self.halt(ctx, e);
            return;
        }
        if keep_suffix {
            self.log.compact(index, snapshot.meta.term);
        } else {
            self.log.reset(index, snapshot.meta.term);
        }
        self.sessions = data.sessions.into_iter().collect();
        self.commit = index;
        self.applied = index;
        self.snapshot = snapshot;
        self.recompute_membership();
        reply(ctx, self.term, true);
    }
}
