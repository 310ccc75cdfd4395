//! Linearizable reads by read-index (dissertation §6.4).

use dsys_core::NodeId;

use super::{Ctx, Defect, Raft};
use crate::raft::message::{AppendEntries, Msg, RaftEvent, Rejection};
use crate::raft::state_machine::StateMachine;
use crate::raft::storage::Storage;
use crate::raft::types::{LogIndex, RequestId, Role};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct PendingRead<Q> {
    pub(super) id: RequestId,
    pub(super) query: Q,
    pub(super) index: LogIndex,
    pub(super) round: u64,
}

impl<SM, S> Raft<SM, S>
where
    SM: StateMachine,
    S: Storage<SM::Command>,
{
    /// Answers the reads whose round a quorum confirmed and whose index is
    /// applied (dissertation §6.4).
    pub(super) fn serve_reads(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        if self.reads.is_empty() || self.role != Role::Leader {
            return;
        }
        let confirmed = self.quorum_reaches(self.read_round, |p| p.read_ack);
        while let Some(read) = self.reads.front() {
            if read.round > confirmed || read.index > self.applied {
                break;
            }
            let read = self.reads.pop_front().expect("just looked");
            ctx.emit(RaftEvent::ReadDone {
                id: read.id,
                output: self.sm.query(&read.query),
            });
        }
    }

    /// Starts a linearizable read (dissertation §6.4): notes the read index,
    /// opens a read round and sends the heartbeats that confirm it.
    pub(super) fn read(&mut self, ctx: &mut Ctx<'_, SM, S>, id: RequestId, query: SM::Query) {
        if self.config.defect == Some(Defect::ReadsWithoutReadIndex) {
            let output = self.sm.query(&query);
            return ctx.emit(RaftEvent::ReadDone { id, output });
        }
        if self.role != Role::Leader {
            return self.reject(ctx, id, self.not_leader());
        }
        if self.reads.len() >= self.config.pending_reads_max {
            return self.reject(ctx, id, Rejection::Busy);
        }
        // Read at the commit index, but not before this term's
        // first entry: until it commits, the leader does not know
        // the commit index.
        let first_of_term = self
            .log
            .entries()
            .rev()
            .take_while(|e| e.term == self.term)
            .last()
            .map_or(0, |e| e.index);
        self.read_round += 1;
        self.reads.push_back(PendingRead {
            id,
            query,
            index: self.commit.max(first_of_term),
            round: self.read_round,
        });
        let peers: Vec<NodeId> = self.progress.keys().copied().collect();
        for peer in peers {
            let p = &self.progress[&peer];
            // A heartbeat carrying the round, anchored at what the
            // follower is known to hold, so it passes the
            // consistency check and does not disturb the pipeline
            // (any answer in this term confirms the round).
            let prev = p.matched.max(self.log.snapshot_index());
            ctx.send(
                peer,
                Msg::AppendEntries(AppendEntries {
                    term: self.term,
                    prev_log_index: prev,
                    prev_log_term: self.log.term_at(prev).unwrap_or(0),
                    entries: Vec::new(),
                    leader_commit: self.commit.min(p.matched),
                    read_round: self.read_round,
                }),
            );
        }
        self.serve_reads(ctx);
    }
}
