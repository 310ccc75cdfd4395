//! Elections (Raft §5.2, §5.4.1), pre-vote (dissertation §9.6), leases
//! (dissertation §4.2.3), and the election timer.

use std::collections::BTreeSet;
use std::time::Duration;

use dsys_core::NodeId;
use rand::RngExt;

use super::progress::Progress;
use super::{Ctx, Defect, Raft, Timer};
use crate::raft::message::{Msg, RequestVote, Vote};
use crate::raft::state_machine::StateMachine;
use crate::raft::storage::Storage;
use crate::raft::types::{LogIndex, Payload, Role, Term};

impl<SM, S> Raft<SM, S>
where
    SM: StateMachine,
    S: Storage<SM::Command>,
{
    // ----- timers: the only code that sets or cancels one ---------------

    /// Draws a new election timeout and makes sure a timer fires by then.
    pub(super) fn reset_election_deadline(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        let min = self.config.election_timeout_min.as_micros() as u64;
        let max = self.config.election_timeout_max.as_micros() as u64;
        let timeout = Duration::from_micros(ctx.rng().random_range(min..=max));
        self.election_deadline = ctx.now() + timeout;
        self.arm_election_timer(ctx);
    }

    /// Makes sure an election timer fires by the deadline. One timer
    /// serves many deadline resets: it fires early, and is armed again for
    /// the rest ([`Self::on_election_timer`]).
    pub(super) fn arm_election_timer(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        match self.election_timer {
            // Fires at or before the deadline: it re-arms itself for the rest.
            Some(at) if at <= self.election_deadline => {}
            // None pending, or one firing too late: setting it replaces it.
            _ => {
                let after = self.election_deadline.saturating_sub(ctx.now());
                ctx.set_timer(after, Timer::Election);
                self.election_timer = Some(self.election_deadline);
            }
        }
    }

    /// The election timer fired: campaign if the deadline has passed, else
    /// wait for the rest of it. A leader has no deadline.
    pub(super) fn on_election_timer(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        self.election_timer = None;
        if self.role == Role::Leader {
            return;
        }
        if ctx.now() < self.election_deadline {
            self.arm_election_timer(ctx);
        } else {
            self.on_election_timeout(ctx);
        }
    }

    /// Sets the leader's next heartbeat.
    pub(super) fn arm_heartbeat_timer(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        ctx.set_timer(self.config.heartbeat_interval, Timer::Heartbeat);
        self.heartbeat_timer = true;
    }

    /// Stops the heartbeats (leadership is over).
    pub(super) fn cancel_heartbeat_timer(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        if std::mem::take(&mut self.heartbeat_timer) {
            ctx.cancel_timer(&Timer::Heartbeat);
        }
    }

    /// The heartbeat timer fired.
    pub(super) fn on_heartbeat_timer(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        self.heartbeat_timer = false;
        if self.role == Role::Leader {
            self.on_heartbeat(ctx);
        }
    }
    // ----- campaigning ----------------------------------------------------
    // ----- elections -------------------------------------------------------

    /// May this server stand for election? A voter may; so may a server
    /// that its own latest, uncommitted configuration removes but the one
    /// before it includes (dissertation §4.2.2): until that configuration
    /// commits, the cluster may still need it to lead (and it does not
    /// count its own vote).
    pub(super) fn may_campaign(&self) -> bool {
        if self.is_voter(self.id) {
            return true;
        }
        let latest = self
            .log
            .entries()
            .rev()
            .find(|e| matches!(e.payload, Payload::Membership(_)));
        match latest {
            Some(entry) if entry.index > self.commit => self
                .membership_at(entry.index - 1)
                .voters
                .contains(&self.id),
            _ => false,
        }
    }

    /// The votes a campaign starts with: its own, if it is a voter.
    pub(super) fn own_vote(&self) -> BTreeSet<NodeId> {
        if self.is_voter(self.id) {
            BTreeSet::from([self.id])
        } else {
            BTreeSet::new()
        }
    }

    pub(super) fn on_election_timeout(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        // A transfer handed over, yet no leader heard for an election
        // timeout: it is not known to have worked.
        self.fail_transfer(ctx);
        if !self.may_campaign() {
            // Learners and removed servers never campaign.
            self.reset_election_deadline(ctx);
            return;
        }
        if self.config.pre_vote {
            self.start_pre_vote(ctx);
        } else {
            self.start_election(ctx, false);
        }
    }

    pub(super) fn request_votes(
        &mut self,
        ctx: &mut Ctx<'_, SM, S>,
        term: Term,
        pre_vote: bool,
        transfer: bool,
    ) {
        let msg = Msg::RequestVote(RequestVote {
            term,
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
            pre_vote,
            transfer,
        });
        for &voter in &self.membership.voters {
            if voter != self.id {
                ctx.send(voter, msg.clone());
            }
        }
    }

    pub(super) fn start_pre_vote(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        self.step_down_cleanup(ctx);
        self.role = Role::PreCandidate;
        self.leader = None;
        self.votes = self.own_vote();
        self.reset_election_deadline(ctx);
        if self.votes.len() >= self.membership.quorum() {
            self.start_election(ctx, false);
            return;
        }
        self.request_votes(ctx, self.term + 1, true, false);
    }

    pub(super) fn start_election(&mut self, ctx: &mut Ctx<'_, SM, S>, transfer: bool) {
        self.step_down_cleanup(ctx);
        self.term += 1;
        self.voted_for = Some(self.id);
        if !self.persist_hard_state(ctx) {
            return;
        }
        self.role = Role::Candidate;
        self.leader = None;
        self.votes = self.own_vote();
        self.reset_election_deadline(ctx);
        if self.votes.len() >= self.membership.quorum() {
            self.become_leader(ctx);
            return;
        }
        self.request_votes(ctx, self.term, false, transfer);
    }

    pub(super) fn become_leader(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        let now = ctx.now();
        self.role = Role::Leader;
        self.leader = Some(self.id);
        self.leader_since = now;
        self.votes.clear();
        // A transfer handed over by this server, which leads again: it did
        // not work.
        self.fail_transfer(ctx);
        let next = self.log.last_index() + 1;
        self.progress = self
            .others()
            .into_iter()
            .map(|n| (n, Progress::new(next, now)))
            .collect();
        self.announce(ctx);
        // Raft §8: a no-op of the new term, so that earlier entries commit
        // with it (Figure 8) and reads and membership changes may proceed.
        if self.append_local(ctx, Payload::Noop).is_none() {
            return;
        }
        self.broadcast_append(ctx);
        self.advance_commit(ctx);
        self.arm_heartbeat_timer(ctx);
    }

    /// Is a leader known to be alive? Then vote requests are ignored
    /// (dissertation §4.2.3), so a returning server cannot disrupt it.
    pub(super) fn in_lease(&self, now: Duration) -> bool {
        if !self.config.check_quorum {
            return false;
        }
        if self.role == Role::Leader {
            return true;
        }
        self.leader.is_some()
            && self
                .last_leader_contact
                .is_some_and(|at| now < at + self.config.election_timeout_min)
    }

    pub(super) fn log_up_to_date(&self, last_log_index: LogIndex, last_log_term: Term) -> bool {
        // Raft §5.4.1: compare last terms, then lengths.
        (last_log_term, last_log_index) >= (self.log.last_term(), self.log.last_index())
    }
    // ----- votes and TimeoutNow -------------------------------------------
    // ----- elections -----------------------------------------------------

    pub(super) fn handle_request_vote(
        &mut self,
        ctx: &mut Ctx<'_, SM, S>,
        from: NodeId,
        request: RequestVote,
    ) {
        let RequestVote {
            term,
            last_log_index,
            last_log_term,
            pre_vote,
            transfer,
        } = request;
        if pre_vote {
            // Dissertation §9.6: would I vote? Nobody's state changes.
            let lease = !transfer && self.in_lease(ctx.now());
            let granted =
                term > self.term && !lease && self.log_up_to_date(last_log_index, last_log_term);
            let answer_term = if granted { term } else { self.term };
            ctx.send(
                from,
                Msg::Vote(Vote {
                    term: answer_term,
                    granted,
                    pre_vote: true,
                }),
            );
            return;
        }
        // Of the current term (checked in `on_message`).
        let free = match self.voted_for {
            None => true,
            Some(v) => v == from || self.config.defect == Some(Defect::GrantsTwoVotes),
        };
        let granted = free && self.log_up_to_date(last_log_index, last_log_term);
        if granted {
            self.voted_for = Some(from);
            // Raft Figure 2: persist before answering. The defect answers
            // first, so a crash forgets the vote.
            if self.config.defect != Some(Defect::VoteNotPersisted) && !self.persist_hard_state(ctx)
            {
                return;
            }
            self.reset_election_deadline(ctx);
        }
        ctx.send(
            from,
            Msg::Vote(Vote {
                term: self.term,
                granted,
                pre_vote: false,
            }),
        );
    }

    pub(super) fn handle_vote(&mut self, ctx: &mut Ctx<'_, SM, S>, from: NodeId, vote: Vote) {
        let Vote {
            term,
            granted,
            pre_vote,
        } = vote;
        if pre_vote {
            // A refusal carries the voter's term, handled in `on_message`;
            // a grant carries the term asked about.
            if granted
                && self.role == Role::PreCandidate
                && term == self.term + 1
                && self.is_voter(from)
            {
                self.votes.insert(from);
                if self.votes.len() >= self.membership.quorum() {
                    self.start_election(ctx, false);
                }
            }
            return;
        }
        // Of the current term (checked in `on_message`).
        if self.role != Role::Candidate || !granted || !self.is_voter(from) {
            return;
        }
        self.votes.insert(from);
        if self.votes.len() >= self.membership.quorum() {
            self.become_leader(ctx);
        }
    }

    /// Leadership transfer (dissertation §3.10): the leader says "stand now".
    pub(super) fn handle_timeout_now(&mut self, ctx: &mut Ctx<'_, SM, S>) {
        // Of the current term (checked, and adopted, in `on_message`).
        if self.may_campaign() {
            self.start_election(ctx, true);
        }
    }
}
