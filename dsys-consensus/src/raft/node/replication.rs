//! Replication on the leader's side (Raft §5.3): appending, sending
//! appends through each follower's pipeline, handling the answers,
//! advancing the commit index (§5.4.2), heartbeats and check-quorum.

use dsys_core::NodeId;

use super::{Ctx, Defect, Raft};
use crate::raft::message::{AppendEntries, AppendResponse, InstallSnapshot, Msg, TimeoutNow};
use crate::raft::state_machine::StateMachine;
use crate::raft::storage::Storage;
use crate::raft::types::{Entry, LogIndex, Payload, Role};

impl<SM, S> Raft<SM, S>
where
    SM: StateMachine,
    S: Storage<SM::Command>,
{
    /// Appends one entry of this leader's term. `None` if storage failed.
    pub(super) fn append_local(
        &mut self,
        ctx: &mut Ctx<'_, SM, S>,
        payload: Payload<SM::Command>,
    ) -> Option<LogIndex> {
        let entry = Entry {
            term: self.term,
            index: self.log.last_index() + 1,
            payload,
        };
        if let Err(e) = self.storage.append(std::slice::from_ref(&entry)) {
            self.halt(ctx, e);
            return None;
        }
        if let Payload::Membership(m) = &entry.payload {
            self.membership = m.clone();
        }
        let index = entry.index;
        self.log.push(entry);
        Some(index)
    }

    // ----- replication (leader) ------------------------------------------

    pub(super) fn broadcast_append(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        let peers: Vec<NodeId> = self.progress.keys().copied().collect();
        for peer in peers {
            self.send_append(ctx, peer, false);
        }
    }

    /// Sends what `peer` lacks, as far as the pipeline allows; with
    /// `heartbeat`, sends an empty append if there is nothing else to send.
    pub(super) fn send_append(&mut self, ctx: &mut Ctx<'_, SM, S>, peer: NodeId, heartbeat: bool) {
        let last = self.log.last_index();
        let mut sent_any = false;
        loop {
            let Some(p) = self.progress.get_mut(&peer) else {
                return;
            };
            if !p.may_send(self.config.inflight_appends_max) {
                break;
            }
            let prev = p.next - 1;
            if prev < self.log.snapshot_index() {
                // Raft §7: the entries it needs are compacted away.
                p.snapshot_sent(self.snapshot.meta.index);
                ctx.send(
                    peer,
                    Msg::InstallSnapshot(InstallSnapshot {
                        term: self.term,
                        snapshot: self.snapshot.clone(),
                        read_round: self.read_round,
                    }),
                );
                return;
            }
            if p.next > last && (sent_any || !heartbeat) {
                break;
            }
            let entries = self.log.slice(p.next, self.config.append_entries_max);
            let count = entries.len() as u64;
            let prev_log_term = self.log.term_at(prev).expect("prev is within the log");
            ctx.send(
                peer,
                Msg::AppendEntries(AppendEntries {
                    term: self.term,
                    prev_log_index: prev,
                    prev_log_term,
                    entries,
                    leader_commit: self.commit,
                    read_round: self.read_round,
                }),
            );
            sent_any = true;
            if !p.append_sent(prev, count) {
                break;
            }
        }
    }

    /// Raft §5.3–5.4.2: the highest index stored on a quorum commits, if it
    /// is of this leader's term.
    pub(super) fn advance_commit(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        if self.role != Role::Leader {
            return;
        }
        let candidate = self.quorum_reaches(self.log.last_index(), |p| p.matched);
        if candidate <= self.commit {
            return;
        }
        let current_term = self.log.term_at(candidate) == Some(self.term);
        if current_term || self.config.defect == Some(Defect::CommitsPreviousTerm) {
            self.commit = candidate;
            self.apply(ctx);
        }
    }

    pub(super) fn handle_append_response(
        &mut self,
        ctx: &mut Ctx<'_, SM, S>,
        from: NodeId,
        response: AppendResponse,
    ) {
        let AppendResponse {
            term: _,
            index,
            success,
            hint,
            read_round,
        } = response;
        // Of the current term (checked in `on_message`).
        if self.role != Role::Leader {
            return;
        }
        let now = ctx.now();
        let last = self.log.last_index();
        let Some(p) = self.progress.get_mut(&from) else {
            return;
        };
        p.heard(now, read_round);
        if success {
            p.acknowledged(index);
            let caught_up = p.matched == last;
            self.advance_commit(ctx);
            if let Some(transfer) = self.transfer
                && transfer.to == from
                && caught_up
            {
                ctx.send(from, Msg::TimeoutNow(TimeoutNow { term: self.term }));
            }
        } else {
            p.refused(index, hint);
        }
        self.send_append(ctx, from, false);
        self.serve_reads(ctx);
    }

    pub(super) fn on_heartbeat(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        let now = ctx.now();
        if self.config.check_quorum && now >= self.leader_since + self.config.election_timeout_max {
            // Heard from a quorum within the window? (The leader hears
            // itself now.)
            let window = self.config.election_timeout_max;
            let heard_at = self.quorum_reaches(Some(now), |p| Some(p.last_ack));
            let quorum_heard = heard_at.is_some_and(|at| at + window > now);
            if !quorum_heard {
                tracing::info!(node = %self.id, term = self.term, "check-quorum: no quorum heard; stepping down");
                self.become_follower(ctx, None, true);
                return;
            }
        }
        if self.transfer.is_some_and(|t| now >= t.deadline) {
            self.fail_transfer(ctx);
        }
        let peers: Vec<NodeId> = self.progress.keys().copied().collect();
        for peer in peers {
            let p = self.progress.get_mut(&peer).expect("listed above");
            if p.heartbeat_tick() {
                self.send_append(ctx, peer, true);
            }
        }
        self.arm_heartbeat_timer(ctx);
    }
}
