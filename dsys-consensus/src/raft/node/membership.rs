//! Membership (dissertation §4.1): the membership in force, and one-server
//! changes on the leader.

use super::progress::Progress;
use super::{Ctx, Raft};
use crate::raft::message::{MembershipChange, RaftEvent, Rejection};
use crate::raft::state_machine::StateMachine;
use crate::raft::storage::Storage;
use crate::raft::types::{LogIndex, Membership, Payload, RequestId, Role};

impl<SM, S> Raft<SM, S>
where
    SM: StateMachine,
    S: Storage<SM::Command>,
{
    /// The membership in force at `index`: the latest membership entry at or
    /// before it, else the snapshot's.
    pub(super) fn membership_at(&self, index: LogIndex) -> Membership {
        self.log
            .entries()
            .rev()
            .filter(|e| e.index <= index)
            .find_map(|e| match &e.payload {
                Payload::Membership(m) => Some(m.clone()),
                _ => None,
            })
            .unwrap_or_else(|| self.snapshot.meta.membership.clone())
    }

    /// Where the membership in force comes from: the index of the latest
    /// membership entry in the log, else the snapshot's index.
    pub(super) fn membership_index(&self) -> LogIndex {
        self.log
            .entries()
            .rev()
            .find(|e| matches!(e.payload, Payload::Membership(_)))
            .map_or(self.log.snapshot_index(), |e| e.index)
    }

    pub(super) fn recompute_membership(&mut self) {
        self.membership = self.membership_at(self.log.last_index());
        assert!(
            !self.membership.voters.is_empty(),
            "a membership without voters is in force at {}: the snapshot or log is corrupt",
            self.id
        );
    }

    pub(super) fn change_membership(
        &mut self,
        ctx: &mut Ctx<'_, SM, S>,
        id: RequestId,
        change: MembershipChange,
    ) {
        if self.role != Role::Leader {
            return self.reject(ctx, id, self.not_leader());
        }
        if self.transfer.is_some() {
            return self.reject(ctx, id, Rejection::TransferInProgress);
        }
        // Dissertation §4.1: one change at a time, and (the fix of §4.1's
        // bug) only once this leader has committed an entry of its term.
        let uncommitted_change = self
            .log
            .entries()
            .rev()
            .take_while(|e| e.index > self.commit)
            .any(|e| matches!(e.payload, Payload::Membership(_)));
        if uncommitted_change || self.log.term_at(self.commit) != Some(self.term) {
            return self.reject(ctx, id, Rejection::MembershipChangePending);
        }
        let mut next = self.membership.clone();
        let invalid = |why: String| Rejection::InvalidMembershipChange(why);
        match change {
            MembershipChange::AddLearner(n) => {
                if next.contains(n) {
                    return self.reject(ctx, id, invalid(format!("{n} is already a member")));
                }
                next.learners.insert(n);
            }
            MembershipChange::AddVoter(n) => {
                if next.voters.contains(&n) {
                    return self.reject(ctx, id, invalid(format!("{n} is already a voter")));
                }
                next.learners.remove(&n);
                next.voters.insert(n);
            }
            MembershipChange::Remove(n) => {
                if !next.contains(n) {
                    return self.reject(ctx, id, invalid(format!("{n} is not a member")));
                }
                next.voters.remove(&n);
                next.learners.remove(&n);
                if next.voters.is_empty() {
                    return self.reject(ctx, id, invalid("cannot remove the last voter".into()));
                }
            }
        }
        let Some(index) = self.append_local(ctx, Payload::Membership(next.clone())) else {
            return;
        };
        let now = ctx.now();
        let start = self.log.last_index();
        for member in next.members() {
            if member != self.id {
                self.progress
                    .entry(member)
                    .or_insert_with(|| Progress::new(start, now));
            }
        }
        self.progress.retain(|n, _| next.contains(*n));
        ctx.emit(RaftEvent::MembershipChanged {
            id,
            index,
            membership: next,
        });
        self.broadcast_append(ctx);
        self.advance_commit(ctx);
    }
}
