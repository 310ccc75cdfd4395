//! Replication on the leader's side (Raft §5.3): appending, sending
//! appends through each follower's pipeline, handling the answers,
//! advancing the commit index (§5.4.2), heartbeats and check-quorum.

use dsys_core::NodeId;

use super::{Ctx, Defect, Raft, Timer};
use crate::raft::message::{
    AppendEntries, AppendResponse, InstallSnapshot, Msg, RaftEvent, Rejection, TimeoutNow,
};
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
            if matches!(p.probe, Some(Some(_))) {
                break; // one probe at a time
            }
            if p.probe.is_none() && p.inflight.len() >= self.config.inflight_appends_max {
                break;
            }
            let prev = p.next - 1;
            if prev < self.log.snapshot_index() {
                // Raft §7: the entries it needs are compacted away.
                p.probe = Some(Some(prev));
                p.next = self.snapshot.meta.index + 1;
                p.inflight.clear();
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
            if count == 0 {
                if p.probe.is_some() {
                    p.probe = Some(Some(prev));
                }
                break;
            }
            p.next += count;
            if p.probe.is_some() {
                p.probe = Some(Some(prev));
                break;
            }
            p.inflight.push_back(p.next - 1);
        }
    }

    /// Raft §5.3–5.4.2: the highest index stored on a quorum commits, if it
    /// is of this leader's term.
    pub(super) fn advance_commit(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        if self.role != Role::Leader {
            return;
        }
        let last = self.log.last_index();
        let mut matched: Vec<LogIndex> = self
            .membership
            .voters
            .iter()
            .map(|v| {
                if *v == self.id {
                    last
                } else {
                    self.progress.get(v).map_or(0, |p| p.matched)
                }
            })
            .collect();
        matched.sort_unstable_by(|a, b| b.cmp(a));
        let quorum = self.membership.quorum();
        let candidate = matched[quorum - 1];
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
        p.last_ack = now;
        p.responded = true;
        p.read_ack = p.read_ack.max(read_round);
        if success {
            p.matched = p.matched.max(index);
            while p.inflight.front().is_some_and(|&i| i <= index) {
                p.inflight.pop_front();
            }
            if p.probe.is_some() {
                // The logs match up to `index`: stream from there.
                p.probe = None;
                p.inflight.clear();
                p.next = index + 1;
            }
            p.next = p.next.max(index + 1);
            let caught_up = p.matched == last;
            self.advance_commit(ctx);
            if let Some(transfer) = self.transfer {
                if transfer.to == from && caught_up {
                    ctx.send(from, Msg::TimeoutNow(TimeoutNow { term: self.term }));
                }
            }
        } else {
            let stale = index < p.matched
                || match p.probe {
                    Some(Some(prev)) => prev != index,
                    _ => false,
                };
            if !stale {
                // Fast back-off (§5.3): jump to the follower's hint, never
                // below what it is known to hold.
                p.next = hint.clamp(p.matched + 1, index.max(p.matched + 1));
                p.inflight.clear();
                p.probe = Some(None);
            }
        }
        self.send_append(ctx, from, false);
        self.serve_reads(ctx);
    }

    pub(super) fn on_heartbeat(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        let now = ctx.now();
        if self.config.check_quorum && now >= self.leader_since + self.config.election_timeout_max {
            let window = self.config.election_timeout_max;
            let heard = self
                .membership
                .voters
                .iter()
                .filter(|&&v| {
                    v == self.id
                        || self
                            .progress
                            .get(&v)
                            .is_some_and(|p| p.last_ack + window > now)
                })
                .count();
            if heard < self.membership.quorum() {
                tracing::info!(node = %self.id, term = self.term, "check-quorum: no quorum heard; stepping down");
                self.become_follower(ctx, None, true);
                return;
            }
        }
        if let Some(transfer) = self.transfer {
            if now >= transfer.deadline {
                self.transfer = None;
                ctx.emit(RaftEvent::Rejected {
                    id: transfer.id,
                    reason: Rejection::TransferFailed,
                });
            }
        }
        let peers: Vec<NodeId> = self.progress.keys().copied().collect();
        for peer in peers {
            let p = self.progress.get_mut(&peer).expect("listed above");
            if !p.responded {
                if let Some(Some(prev)) = p.probe {
                    // The probe (or its answer) was lost: send it again,
                    // rather than start over from what is known to match.
                    p.next = prev + 1;
                    p.probe = Some(None);
                } else if !p.inflight.is_empty() {
                    // Appends lost in the pipeline: stream again from what
                    // is known to match.
                    p.inflight.clear();
                    p.next = p.matched + 1;
                    p.probe = Some(None);
                }
            }
            p.responded = false;
            if p.inflight.is_empty() {
                self.send_append(ctx, peer, true);
            }
        }
        self.heartbeat_timer =
            Some(ctx.set_timer(self.config.heartbeat_interval, Timer::Heartbeat));
    }
}
