//! The local application's requests: proposals, leadership transfer
//! (dissertation §3.10), campaigns and snapshots on demand.

use std::time::Duration;

use dsys_core::NodeId;

use super::{Ctx, Raft};
use crate::raft::message::{Msg, RaftEvent, RaftRequest, Rejection, TimeoutNow};
use crate::raft::state_machine::StateMachine;
use crate::raft::storage::Storage;
use crate::raft::types::{Payload, RequestId, Role, Session, Term};

/// A leadership transfer (dissertation §3.10) this server was asked for.
/// While it leads, the transfer is under way; once it no longer leads,
/// the transfer waits to learn who leads next ([`Raft::settle_transfer`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Transfer {
    pub(super) id: RequestId,
    pub(super) to: NodeId,
    /// The term this server led when asked: the target leads a later one.
    pub(super) term: Term,
    /// While this server leads: when the transfer is given up.
    pub(super) deadline: Duration,
}

impl<SM, S> Raft<SM, S>
where
    SM: StateMachine,
    S: Storage<SM::Command>,
{
    pub(super) fn reject(&self, ctx: &mut Ctx<'_, SM, S>, id: RequestId, reason: Rejection) {
        ctx.emit(RaftEvent::Rejected { id, reason });
    }

    /// This server handed leadership over and no longer leads: the
    /// transfer succeeded if the leader of the newer term is its target,
    /// and failed if it is another server (or this one, campaigning).
    /// `leader: None` (stepping down on a newer term before learning who
    /// leads it, as when a follower's answer brings that term before the
    /// target's vote request) settles nothing yet: the transfer waits for
    /// the next leader to be heard, or fails at this server's election
    /// timeout.
    pub(super) fn settle_transfer(&mut self, ctx: &mut Ctx<'_, SM, S>, leader: Option<NodeId>) {
        let Some(transfer) = self.transfer else {
            return;
        };
        match leader {
            None => {}
            Some(to) if to == transfer.to && self.term > transfer.term => {
                self.transfer = None;
                ctx.emit(RaftEvent::LeadershipTransferred {
                    id: transfer.id,
                    to,
                    term: self.term,
                });
            }
            Some(_) => self.fail_transfer(ctx),
        }
    }

    /// Gives the transfer up: [`Rejection::TransferFailed`].
    pub(super) fn fail_transfer(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        if let Some(transfer) = self.transfer.take() {
            ctx.emit(RaftEvent::Rejected {
                id: transfer.id,
                reason: Rejection::TransferFailed,
            });
        }
    }

    pub(super) fn not_leader(&self) -> Rejection {
        Rejection::NotLeader {
            leader: self.leader,
        }
    }

    /// Appends `payload` for request `id`, which is answered once it is
    /// applied.
    fn propose(&mut self, ctx: &mut Ctx<'_, SM, S>, id: RequestId, payload: Payload<SM::Command>) {
        if self.role != Role::Leader {
            return self.reject(ctx, id, self.not_leader());
        }
        if self.transfer.is_some() {
            return self.reject(ctx, id, Rejection::TransferInProgress);
        }
        if self.log.last_index() - self.commit >= self.config.uncommitted_entries_max {
            return self.reject(ctx, id, Rejection::Busy);
        }
        let Some(index) = self.append_local(ctx, payload) else {
            return;
        };
        self.pending.push_back((index, id));
        ctx.emit(RaftEvent::Proposed {
            id,
            index,
            term: self.term,
        });
        // Replicate now, never waiting for a heartbeat.
        self.broadcast_append(ctx);
        self.advance_commit(ctx);
    }

    /// A leader's answer to a retried session command that is already in
    /// its log, so that retries add no entries: applied already, it is
    /// answered from the session table with the index that applied it;
    /// not yet committed, the request waits on that entry. Returns whether
    /// `session` was such a retry.
    fn answer_retry(&mut self, ctx: &mut Ctx<'_, SM, S>, id: RequestId, session: Session) -> bool {
        if let Some(known) = self.sessions.get(&session.client)
            && known.seq == session.seq
            && let Some(output) = &known.output
        {
            ctx.emit(RaftEvent::Applied {
                id,
                index: known.last_index,
                output: output.clone(),
            });
            return true;
        }
        let in_flight = self
            .log
            .entries()
            .rev()
            .take_while(|e| e.index > self.applied)
            .find(|e| matches!(&e.payload, Payload::Command { session: Some(s), .. } if *s == session))
            .map(|e| e.index);
        let Some(index) = in_flight else {
            return false;
        };
        let at = self.pending.partition_point(|&(i, _)| i <= index);
        self.pending.insert(at, (index, id));
        ctx.emit(RaftEvent::Proposed {
            id,
            index,
            term: self.term,
        });
        true
    }

    pub(super) fn handle_request(
        &mut self,
        ctx: &mut Ctx<'_, SM, S>,
        request: RaftRequest<SM::Command, SM::Query>,
    ) {
        match request {
            RaftRequest::Propose {
                id,
                command: _,
                session: Some(session),
            } if self.role == Role::Leader && self.answer_retry(ctx, id, session) => {}
            RaftRequest::Propose {
                id,
                command,
                session,
            } => self.propose(ctx, id, Payload::Command { session, command }),
            RaftRequest::OpenSession { id } => self.propose(ctx, id, Payload::OpenSession),
            RaftRequest::Read { id, query } => self.read(ctx, id, query),
            RaftRequest::ChangeMembership { id, change } => self.change_membership(ctx, id, change),
            RaftRequest::TransferLeadership { id, to } => {
                if self.role != Role::Leader {
                    return self.reject(ctx, id, self.not_leader());
                }
                if to == self.id || !self.is_voter(to) {
                    return self.reject(
                        ctx,
                        id,
                        Rejection::InvalidTransfer(format!("{to} is not another voter")),
                    );
                }
                self.transfer = Some(Transfer {
                    id,
                    to,
                    term: self.term,
                    deadline: ctx.now() + self.config.election_timeout_max,
                });
                if self.progress[&to].matched == self.log.last_index() {
                    ctx.send(to, Msg::TimeoutNow(TimeoutNow { term: self.term }));
                } else {
                    self.send_append(ctx, to, true);
                }
            }
            RaftRequest::Campaign => {
                if self.may_campaign() {
                    self.start_election(ctx, true);
                }
            }
            RaftRequest::Snapshot => self.take_snapshot(ctx),
        }
    }
}
