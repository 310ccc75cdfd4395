//! Handler tests: one event in, the whole list of effects out, each
//! citing the rule it checks.
use super::*;
use crate::raft::message::{AppendEntries, AppendResponse, RequestVote, Vote};
use crate::raft::types::{Entry, Payload};
use crate::raft::{Counter, MemStorage};
use dsys_core::testing::Harness;
use dsys_core::Effect;

type R = Raft<Counter, MemStorage<u64>>;
const N0: NodeId = NodeId(0);
const N1: NodeId = NodeId(1);

fn config() -> RaftConfig {
    RaftConfig {
        // A fixed timeout, so timer effects are exact.
        election_timeout_min: Duration::from_millis(150),
        election_timeout_max: Duration::from_millis(150),
        ..RaftConfig::default()
    }
}

/// n1 of three, started, with `disk` as its storage.
fn follower(config: RaftConfig, disk: &MemStorage<u64>) -> Harness<R> {
    let mut h = Harness::new(
        Raft::new(config, disk.clone(), Counter::default()).unwrap(),
        N1,
        3,
    );
    h.start();
    h
}

fn entry(term: Term, index: LogIndex) -> Entry<u64> {
    Entry {
        term,
        index,
        payload: Payload::Command {
            session: None,
            command: index,
        },
    }
}

fn append(
    term: Term,
    prev: (LogIndex, Term),
    entries: Vec<Entry<u64>>,
    commit: LogIndex,
) -> Msg<u64> {
    Msg::AppendEntries(AppendEntries {
        term,
        prev_log_index: prev.0,
        prev_log_term: prev.1,
        entries,
        leader_commit: commit,
        read_round: 0,
    })
}

fn response(term: Term, index: LogIndex, success: bool, hint: LogIndex) -> Effect<R> {
    Effect::Send {
        to: N0,
        msg: Msg::AppendResponse(AppendResponse {
            term,
            index,
            success,
            hint,
            read_round: 0,
        }),
    }
}

fn vote_request(term: Term, last: (LogIndex, Term)) -> Msg<u64> {
    Msg::RequestVote(RequestVote {
        term,
        last_log_index: last.0,
        last_log_term: last.1,
        pre_vote: false,
        transfer: false,
    })
}

fn vote(to: NodeId, term: Term, granted: bool) -> Effect<R> {
    Effect::Send {
        to,
        msg: Msg::Vote(Vote {
            term,
            granted,
            pre_vote: false,
        }),
    }
}

fn role(term: Term, role: Role, leader: Option<NodeId>) -> Effect<R> {
    Effect::Emit(RaftEvent::RoleChanged { term, role, leader })
}

#[test]
fn a_vote_is_granted_to_the_first_up_to_date_candidate_and_persisted_first() {
    // Raft §5.2 and Figure 2: a higher term is adopted; the vote is
    // durable before the reply leaves.
    let disk = MemStorage::new();
    let mut h = follower(config(), &disk);
    assert_eq!(
        h.message(N0, vote_request(1, (0, 0))),
        vec![vote(N0, 1, true), role(1, Role::Follower, None)]
    );
    let stored = disk.clone().load().unwrap().hard_state;
    assert_eq!(
        stored,
        HardState {
            term: 1,
            voted_for: Some(N0)
        }
    );
}

#[test]
fn a_second_candidate_of_the_same_term_is_refused() {
    // Raft §5.2: at most one vote per term, first come first served.
    let mut h = follower(config(), &MemStorage::new());
    h.message(N0, vote_request(1, (0, 0)));
    assert_eq!(
        h.message(NodeId(2), vote_request(1, (0, 0))),
        vec![vote(NodeId(2), 1, false)]
    );
    // The same candidate asking again gets the same answer.
    assert_eq!(
        h.message(N0, vote_request(1, (0, 0))),
        vec![vote(N0, 1, true)]
    );
}

#[test]
fn a_candidate_with_a_less_up_to_date_log_is_refused() {
    // Raft §5.4.1: the last term decides, then the length.
    let mut h = follower(config(), &MemStorage::new());
    h.message(N0, append(2, (0, 0), vec![entry(1, 1), entry(2, 2)], 0));
    h.set_now(Duration::from_millis(200)); // the leader's lease is over
    let c = NodeId(2);
    assert_eq!(
        h.message(c, vote_request(3, (5, 1))),
        vec![vote(c, 3, false), role(3, Role::Follower, None)]
    );
    assert_eq!(
        h.message(c, vote_request(3, (1, 2))),
        vec![vote(c, 3, false)]
    );
    assert_eq!(
        h.message(c, vote_request(3, (2, 2))),
        vec![vote(c, 3, true)]
    );
}

#[test]
fn a_stale_candidate_is_told_the_current_term() {
    // Raft §5.1: a request with a stale term is rejected with ours.
    let mut h = follower(config(), &MemStorage::new());
    h.message(N0, append(4, (0, 0), vec![], 0));
    assert_eq!(
        h.message(NodeId(2), vote_request(3, (9, 3))),
        vec![vote(NodeId(2), 4, false)]
    );
}

#[test]
fn a_follower_that_hears_its_leader_ignores_vote_requests() {
    // Dissertation §4.2.3: within the minimum election timeout of the
    // leader's last message, a vote request is dropped unanswered and
    // the term stays; a pre-vote is refused.
    let mut h = follower(config(), &MemStorage::new());
    h.message(N0, append(1, (0, 0), vec![], 0));
    assert_eq!(h.message(NodeId(2), vote_request(2, (0, 0))), vec![]);
    assert_eq!(h.node().term(), 1);
    let pre_vote = Msg::RequestVote(RequestVote {
        term: 2,
        last_log_index: 0,
        last_log_term: 0,
        pre_vote: true,
        transfer: false,
    });
    assert_eq!(
        h.message(NodeId(2), pre_vote),
        vec![Effect::Send {
            to: NodeId(2),
            msg: Msg::Vote(Vote {
                term: 1,
                granted: false,
                pre_vote: true
            })
        }]
    );
}

#[test]
fn append_entries_with_a_missing_previous_entry_fails_with_a_hint() {
    // Raft §5.3: the consistency check; the hint is one past our last
    // entry, so the leader jumps there at once.
    let mut h = follower(config(), &MemStorage::new());
    h.message(N0, append(1, (0, 0), vec![entry(1, 1)], 0));
    assert_eq!(
        h.message(N0, append(1, (4, 1), vec![entry(1, 5)], 0)),
        vec![response(1, 4, false, 2)]
    );
}

#[test]
fn append_entries_with_a_conflicting_previous_term_hints_at_the_term_start() {
    // Raft §5.3 (fast back-off): the hint is the first index of the
    // conflicting term, so one round trip skips the whole term.
    let mut h = follower(config(), &MemStorage::new());
    h.message(
        N0,
        append(
            2,
            (0, 0),
            vec![entry(1, 1), entry(2, 2), entry(2, 3), entry(2, 4)],
            0,
        ),
    );
    assert_eq!(
        h.message(N0, append(3, (4, 3), vec![], 0)),
        vec![response(3, 4, false, 2), role(3, Role::Follower, Some(N0))]
    );
}

#[test]
fn a_conflicting_suffix_is_replaced_in_memory_and_in_storage() {
    // Raft §5.3: delete the conflicting entry and all that follow it,
    // append the leader's, and acknowledge only after they are durable.
    let disk = MemStorage::new();
    let mut h = follower(config(), &disk);
    h.message(
        N0,
        append(1, (0, 0), vec![entry(1, 1), entry(1, 2), entry(1, 3)], 0),
    );
    assert_eq!(
        h.message(N0, append(2, (1, 1), vec![entry(2, 2)], 0)),
        vec![response(2, 2, true, 0), role(2, Role::Follower, Some(N0))]
    );
    assert_eq!(h.node().log().last_index(), 2);
    let stored: Vec<(Term, LogIndex)> = disk
        .clone()
        .load()
        .unwrap()
        .entries
        .iter()
        .map(|e| (e.term, e.index))
        .collect();
    assert_eq!(stored, vec![(1, 1), (2, 2)]);
}

#[test]
fn a_stale_append_does_not_truncate_a_longer_matching_log() {
    // Raft §5.3: "if an existing entry conflicts" — a delayed append
    // carrying a prefix of what we have changes nothing.
    let mut h = follower(config(), &MemStorage::new());
    h.message(
        N0,
        append(1, (0, 0), vec![entry(1, 1), entry(1, 2), entry(1, 3)], 0),
    );
    assert_eq!(
        h.message(N0, append(1, (0, 0), vec![entry(1, 1)], 0)),
        vec![response(1, 1, true, 0)]
    );
    assert_eq!(h.node().log().last_index(), 3);
}

#[test]
fn the_commit_index_follows_the_leader_but_only_as_far_as_the_append_vouches() {
    // Raft Figure 2: commitIndex = min(leaderCommit, index of last new entry).
    let mut h = follower(config(), &MemStorage::new());
    h.message(
        N0,
        append(1, (0, 0), vec![entry(1, 1), entry(1, 2), entry(1, 3)], 0),
    );
    h.message(N0, append(1, (1, 1), vec![], 3));
    assert_eq!(h.node().commit_index(), 1);
    assert_eq!(h.node().state_machine().value, 1);
    h.message(N0, append(1, (3, 1), vec![], 3));
    assert_eq!(h.node().commit_index(), 3);
    assert_eq!(h.node().state_machine().value, 1 + 2 + 3);
}

#[test]
fn an_append_from_a_stale_leader_is_rejected_with_the_current_term() {
    // Raft §5.1: the stale leader learns the term and steps down.
    let mut h = follower(config(), &MemStorage::new());
    h.message(N0, append(3, (0, 0), vec![], 0));
    assert_eq!(
        h.message(NodeId(2), append(2, (0, 0), vec![entry(2, 1)], 0)),
        vec![Effect::Send {
            to: NodeId(2),
            msg: Msg::AppendResponse(AppendResponse {
                term: 3,
                index: 0,
                success: false,
                hint: 0,
                read_round: 0
            })
        }]
    );
    assert_eq!(h.node().log().last_index(), 0);
}

#[test]
fn invalid_configurations_are_refused_with_a_reason() {
    let bad = RaftConfig {
        heartbeat_interval: Duration::from_millis(500),
        ..RaftConfig::default()
    };
    let err = Raft::new(bad, MemStorage::<u64>::new(), Counter::default()).unwrap_err();
    assert!(err.to_string().contains("heartbeat_interval"), "{err}");
}
