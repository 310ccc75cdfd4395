//! Handler tests: one event in, the whole list of effects out, each
//! citing the rule it checks.
use super::*;
use crate::raft::message::{
    AppendEntries, AppendResponse, InstallSnapshot, MembershipChange, RequestVote, Vote,
};
use crate::raft::types::{Entry, Payload, Session};
use crate::raft::{Counter, MemStorage};
use dsys_core::testing::Harness;
use dsys_core::{Effect, EffectOf};

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

fn response(term: Term, index: LogIndex, success: bool, hint: LogIndex) -> EffectOf<R> {
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

fn vote(to: NodeId, term: Term, granted: bool) -> EffectOf<R> {
    Effect::Send {
        to,
        msg: Msg::Vote(Vote {
            term,
            granted,
            pre_vote: false,
        }),
    }
}

fn role(term: Term, role: Role, leader: Option<NodeId>) -> EffectOf<R> {
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

#[test]
fn each_invalid_setting_is_refused_on_its_own_and_the_limits_are_allowed() {
    // RaftConfig::validate: one bad value is enough, whatever the others,
    // and the reason names the setting at fault.
    let refused = |change: fn(&mut RaftConfig), reason: &str| {
        let mut bad = RaftConfig::default();
        change(&mut bad);
        let err = bad.validate().unwrap_err();
        assert!(err.to_string().contains(reason), "{reason}: {err}");
    };
    refused(
        |c| c.election_timeout_min = Duration::ZERO,
        "election timeouts",
    );
    refused(
        |c| c.election_timeout_min = Duration::from_millis(400),
        "election timeouts",
    );
    refused(
        |c| c.heartbeat_interval = Duration::ZERO,
        "heartbeat_interval",
    );
    refused(|c| c.append_entries_max = 0, "append_entries_max");
    refused(|c| c.inflight_appends_max = 0, "inflight_appends_max");
    refused(|c| c.uncommitted_entries_max = 0, "uncommitted_entries_max");
    refused(|c| c.sessions_max = 0, "sessions_max");
    refused(
        |c| c.initial_voters = Some(BTreeSet::new()),
        "initial_voters",
    );
    // Equal election timeouts (a fixed timeout) and a heartbeat just below
    // the shortest timeout are allowed.
    let limits = RaftConfig {
        heartbeat_interval: Duration::from_millis(149),
        ..config()
    };
    assert!(limits.validate().is_ok(), "{limits:?}");
}

// ----- the leader's side ---------------------------------------------------

const N2: NodeId = NodeId(2);

fn noop(term: Term, index: LogIndex) -> Entry<u64> {
    Entry {
        term,
        index,
        payload: Payload::Noop,
    }
}

fn command(term: Term, index: LogIndex, command: u64) -> Entry<u64> {
    Entry {
        term,
        index,
        payload: Payload::Command {
            session: None,
            command,
        },
    }
}

/// n0 of three, made leader by n1's vote. With a `log`, it first follows
/// n1 in the log's last term, storing `log` and committing up to `commit`;
/// it leads the next term, and its no-op follows `log`.
fn leader(config: RaftConfig, log: Vec<Entry<u64>>, commit: LogIndex) -> Harness<R> {
    let mut h = Harness::new(
        Raft::new(config, MemStorage::new(), Counter::default()).unwrap(),
        N0,
        3,
    );
    h.start();
    let term = log.last().map_or(0, |e| e.term);
    if !log.is_empty() {
        h.message(N1, append(term, (0, 0), log, commit));
    }
    h.request(RaftRequest::Campaign);
    h.message(
        N1,
        Msg::Vote(Vote {
            term: term + 1,
            granted: true,
            pre_vote: false,
        }),
    );
    assert!(h.node().is_leader());
    h
}

/// A follower's answer to the leader.
fn ack(term: Term, index: LogIndex, success: bool, hint: LogIndex, read_round: u64) -> Msg<u64> {
    Msg::AppendResponse(AppendResponse {
        term,
        index,
        success,
        hint,
        read_round,
    })
}

/// The leader sends AppendEntries to `to`.
fn sends_append(
    to: NodeId,
    term: Term,
    prev: (LogIndex, Term),
    entries: Vec<Entry<u64>>,
    commit: LogIndex,
    read_round: u64,
) -> EffectOf<R> {
    Effect::Send {
        to,
        msg: Msg::AppendEntries(AppendEntries {
            term,
            prev_log_index: prev.0,
            prev_log_term: prev.1,
            entries,
            leader_commit: commit,
            read_round,
        }),
    }
}

fn propose(id: RequestId, command: u64) -> RaftRequest<u64, ()> {
    RaftRequest::Propose {
        id,
        command,
        session: None,
    }
}

#[test]
fn a_new_leader_appends_a_no_op_and_probes_every_follower() {
    // Raft §8 and §5.3: the no-op of the new term goes out at once, as a
    // probe after the leader's last entry; then the heartbeat timer.
    let mut h = Harness::new(
        Raft::new(config(), MemStorage::new(), Counter::default()).unwrap(),
        N0,
        3,
    );
    h.start();
    h.request(RaftRequest::Campaign);
    let effects = h.message(
        N1,
        Msg::Vote(Vote {
            term: 1,
            granted: true,
            pre_vote: false,
        }),
    );
    assert_eq!(
        effects[..3],
        [
            role(1, Role::Leader, Some(N0)),
            sends_append(N1, 1, (0, 0), vec![noop(1, 1)], 0, 0),
            sends_append(N2, 1, (0, 0), vec![noop(1, 1)], 0, 0),
        ]
    );
    assert_eq!(effects.len(), 4);
    assert!(
        matches!(effects[3], Effect::SetTimer { after, timer: Timer::Heartbeat, .. } if after == Duration::from_millis(50)),
        "{:?}",
        effects[3]
    );
}

#[test]
fn a_probe_refused_with_a_hint_jumps_to_the_hint_and_probes_once_more() {
    // Raft §5.3 (fast back-off): the follower's hint moves nextIndex back
    // a whole term at once, and exactly one new probe leaves, carrying
    // everything from the hint on.
    let log = (1..=5).map(|i| entry(1, i)).collect();
    let mut h = leader(config(), log, 0);
    assert_eq!(
        h.message(N2, ack(2, 5, false, 3, 0)),
        vec![sends_append(
            N2,
            2,
            (2, 1),
            vec![entry(1, 3), entry(1, 4), entry(1, 5), noop(2, 6)],
            0,
            0
        )]
    );
    // A second refusal of the same probe is stale: nothing moves.
    assert_eq!(h.message(N2, ack(2, 5, false, 3, 0)), vec![]);
}

#[test]
fn an_acknowledgement_frees_a_pipeline_slot_and_the_next_batch_leaves() {
    // Raft §5.3 with pipelining (dissertation §10.2.2): at most
    // `inflight_appends_max` appends in flight; an acknowledgement retires
    // the ones it covers, commits, and refills the pipeline at once.
    let mut h = leader(
        RaftConfig {
            append_entries_max: 1,
            inflight_appends_max: 2,
            ..config()
        },
        vec![],
        0,
    );
    h.message(N1, ack(1, 1, true, 0, 0)); // the no-op: n1 now streams
    for id in 0..3 {
        h.request(propose(id, 10));
    }
    // Two appends (indexes 2 and 3) are in flight to n1; 4 waits.
    assert_eq!(
        h.message(N1, ack(1, 2, true, 0, 0)),
        vec![
            Effect::Emit(RaftEvent::Applied {
                id: 0,
                index: 2,
                output: 10
            }),
            sends_append(N1, 1, (3, 1), vec![command(1, 4, 10)], 2, 0),
        ]
    );
}

#[test]
fn an_entry_of_an_earlier_term_is_not_committed_by_counting_replicas() {
    // Raft §5.4.2 (Figure 8): the leader of term 3 holds index 2 of term 2
    // uncommitted; a majority storing it is not enough. It commits only
    // with an entry of term 3, indirectly.
    let log = vec![entry(1, 1), entry(2, 2)];
    let mut h = leader(config(), log.clone(), 1);
    assert_eq!(
        h.message(N2, ack(3, 2, true, 0, 0)),
        vec![sends_append(N2, 3, (2, 2), vec![noop(3, 3)], 1, 0)]
    );
    assert_eq!(h.node().commit_index(), 1);
    // The no-op of term 3 on a majority commits it, and index 2 with it.
    assert_eq!(h.message(N2, ack(3, 3, true, 0, 0)), vec![]);
    assert_eq!(h.node().commit_index(), 3);
    assert_eq!(h.node().state_machine().value, 1 + 2);

    // The broken variant commits index 2 on the same acknowledgement: the
    // very next append already tells followers so.
    let mut broken = leader(
        RaftConfig {
            defect: Some(Defect::CommitsPreviousTerm),
            ..config()
        },
        log,
        1,
    );
    assert_eq!(
        broken.message(N2, ack(3, 2, true, 0, 0)),
        vec![sends_append(N2, 3, (2, 2), vec![noop(3, 3)], 2, 0)]
    );
    assert_eq!(broken.node().commit_index(), 2);
}

#[test]
fn a_read_is_answered_only_once_a_heartbeat_round_confirms_leadership() {
    // Dissertation §6.4: the leader notes its commit index, sends a round
    // of heartbeats and answers only when a majority (itself and one more)
    // has answered that round.
    let mut h = leader(config(), vec![], 0);
    h.message(N1, ack(1, 1, true, 0, 0)); // the no-op commits
    assert_eq!(h.node().commit_index(), 1);
    assert_eq!(
        h.request(RaftRequest::Read { id: 7, query: () }),
        vec![
            // Anchored at what each follower is known to hold.
            sends_append(N1, 1, (1, 1), vec![], 1, 1),
            sends_append(N2, 1, (0, 0), vec![], 0, 1),
        ]
    );
    // An answer to an older round (a delayed one) confirms nothing.
    assert_eq!(h.message(N1, ack(1, 1, true, 0, 0)), vec![]);
    assert_eq!(
        h.message(N1, ack(1, 1, true, 0, 1)),
        vec![Effect::Emit(RaftEvent::ReadDone { id: 7, output: 0 })]
    );
}

#[test]
fn a_new_leaders_read_waits_for_its_first_entry_to_commit() {
    // Dissertation §6.4: until the no-op of its term commits, a new leader
    // does not know the commit index, so a read is served at that no-op's
    // index at the earliest, even once a quorum has confirmed its round.
    let log = vec![entry(1, 1), entry(1, 2)];
    let mut h = leader(config(), log, 2); // term 2, its no-op at 3
    assert_eq!(h.node().commit_index(), 2);
    h.request(RaftRequest::Read { id: 7, query: () });
    let read_done = |effects: &[EffectOf<R>]| {
        effects
            .iter()
            .any(|e| matches!(e, Effect::Emit(RaftEvent::ReadDone { id: 7, .. })))
    };
    // n1 answers the read's heartbeat: the round is confirmed, but the
    // no-op is not committed, so the read waits.
    let effects = h.message(N1, ack(2, 0, true, 0, 1));
    assert!(!read_done(&effects), "{effects:?}");
    // n1 stores the no-op: it commits, and the read is answered.
    assert_eq!(
        h.message(N1, ack(2, 3, true, 0, 1)),
        vec![Effect::Emit(RaftEvent::ReadDone { id: 7, output: 3 })]
    );
    assert_eq!(h.node().commit_index(), 3);
}

#[test]
fn a_follower_behind_the_snapshot_gets_install_snapshot() {
    // Raft §7: the entries the follower needs were compacted away, so the
    // leader sends the snapshot that replaced them, and streams the rest
    // once the follower has installed it.
    let log = (1..=3).map(|i| entry(1, i)).collect();
    let mut h = leader(config(), log, 3);
    h.request(RaftRequest::Snapshot);
    assert_eq!(h.node().snapshot_meta().index, 3);
    let snapshot = h.node().snapshot.clone();
    // n2's log is empty: it refuses the no-op's probe, hinting at index 1.
    assert_eq!(
        h.message(N2, ack(2, 3, false, 1, 0)),
        vec![Effect::Send {
            to: N2,
            msg: Msg::InstallSnapshot(InstallSnapshot {
                term: 2,
                snapshot,
                read_round: 0,
            }),
        }]
    );
    // Installed: streaming resumes after it.
    assert_eq!(
        h.message(N2, ack(2, 3, true, 0, 0)),
        vec![sends_append(N2, 2, (3, 1), vec![noop(2, 4)], 3, 0)]
    );
}

// ----- the server as a value -----------------------------------------------

fn hash_of(raft: &R) -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    raft.hash(&mut hasher);
    hasher.finish()
}

#[test]
fn servers_driven_alike_are_equal_and_hash_alike_until_one_more_event() {
    // DESIGN.md, model checking: a server's state is a value. Each server
    // here writes to a storage of its own: handles are not compared.
    let drive = || {
        let mut h = leader(config(), vec![entry(1, 1)], 1);
        h.request(propose(1, 5));
        h.message(N1, ack(2, 3, true, 0, 0));
        h.request(RaftRequest::Read { id: 2, query: () });
        h
    };
    let mut a = drive();
    let b = drive();
    assert_eq!(a.node(), b.node());
    assert_eq!(hash_of(a.node()), hash_of(b.node()));
    let copy = a.node().clone();
    assert_eq!(&copy, a.node());

    a.message(N2, ack(2, 3, true, 0, 1));
    assert_ne!(a.node(), b.node());
    assert_ne!(hash_of(a.node()), hash_of(b.node()));
    assert_ne!(&copy, a.node());
}

#[test]
fn a_retried_session_command_adds_no_entry_and_is_answered_with_its_index() {
    // Dissertation §6.3 answers a retried command from the session table
    // when it was applied; a leader that still holds its first copy
    // uncommitted makes the retry wait for that copy, so retries never
    // lengthen the log, and every answer names the index that applied it.
    let mut h = leader(config(), vec![], 0);
    h.message(N1, ack(1, 1, true, 0, 0)); // the no-op commits
    h.request(RaftRequest::OpenSession { id: 1 });
    let opened = h.message(N1, ack(1, 2, true, 0, 0));
    assert!(opened.contains(&Effect::Emit(RaftEvent::SessionOpened { id: 1, client: 2 })));
    let session = Some(Session { client: 2, seq: 1 });
    let retry = |id| RaftRequest::Propose {
        id,
        command: 7,
        session,
    };
    h.request(retry(10));
    assert_eq!(h.node().log().last_index(), 3);
    // Retried before it commits: it waits on index 3.
    assert_eq!(
        h.request(retry(11)),
        vec![Effect::Emit(RaftEvent::Proposed {
            id: 11,
            index: 3,
            term: 1
        })]
    );
    assert_eq!(h.node().log().last_index(), 3, "no second copy");
    let emitted: Vec<_> = h
        .message(N1, ack(1, 3, true, 0, 0))
        .into_iter()
        .filter(|e| matches!(e, Effect::Emit(_)))
        .collect();
    assert_eq!(
        emitted,
        [10, 11].map(|id| Effect::Emit(RaftEvent::Applied {
            id,
            index: 3,
            output: 7
        }))
    );
    // Retried after it applied: answered at once, from the session table.
    assert_eq!(
        h.request(retry(12)),
        vec![Effect::Emit(RaftEvent::Applied {
            id: 12,
            index: 3,
            output: 7
        })]
    );
    assert_eq!(h.node().log().last_index(), 3);
}

fn change(id: RequestId, change: MembershipChange) -> RaftRequest<u64, ()> {
    RaftRequest::ChangeMembership { id, change }
}

/// What the server answered request `id` with, among `effects`: accepted
/// (`Ok`, the change's index) or refused (`Err`).
fn change_answer(effects: &[EffectOf<R>], id: RequestId) -> Option<Result<LogIndex, Rejection>> {
    effects.iter().find_map(|e| match e {
        Effect::Emit(RaftEvent::MembershipChanged { id: i, index, .. }) if *i == id => {
            Some(Ok(*index))
        }
        Effect::Emit(RaftEvent::Rejected { id: i, reason }) if *i == id => {
            Some(Err(reason.clone()))
        }
        _ => None,
    })
}

#[test]
fn membership_changes_go_one_at_a_time_after_the_leader_commits_in_its_term() {
    // Dissertation §4.1: only a leader changes the membership, one change
    // at a time, and (the fix of §4.1's bug) only once it has committed an
    // entry of its own term.
    let n3 = NodeId(3);
    let mut f = follower(config(), &MemStorage::new());
    let effects = f.request(change(1, MembershipChange::AddLearner(n3)));
    assert_eq!(
        change_answer(&effects, 1),
        Some(Err(Rejection::NotLeader { leader: None }))
    );

    let mut h = leader(config(), vec![], 0);
    let effects = h.request(change(2, MembershipChange::AddLearner(n3)));
    assert_eq!(
        change_answer(&effects, 2),
        Some(Err(Rejection::MembershipChangePending)),
        "the no-op of term 1 is not committed yet"
    );
    h.message(N1, ack(1, 1, true, 0, 0)); // the no-op commits
    let effects = h.request(change(3, MembershipChange::Remove(NodeId(9))));
    assert!(
        matches!(
            change_answer(&effects, 3),
            Some(Err(Rejection::InvalidMembershipChange(_)))
        ),
        "{effects:?}"
    );
    let effects = h.request(change(4, MembershipChange::AddLearner(n3)));
    assert_eq!(change_answer(&effects, 4), Some(Ok(2)));
    // The new learner gets the log at once (and the leader never sends to
    // itself).
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Send { to, .. } if *to == n3)),
        "{effects:?}"
    );
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::Send { to, .. } if *to == N0)),
        "{effects:?}"
    );
    // A second change waits while the first is uncommitted ...
    let effects = h.request(change(5, MembershipChange::Remove(n3)));
    assert_eq!(
        change_answer(&effects, 5),
        Some(Err(Rejection::MembershipChangePending))
    );
    // ... and goes ahead once it commits, the committed change last in the
    // committed log.
    h.message(N1, ack(1, 2, true, 0, 0));
    assert_eq!(h.node().commit_index(), 2);
    let effects = h.request(change(6, MembershipChange::Remove(n3)));
    assert_eq!(change_answer(&effects, 6), Some(Ok(3)));
}

#[test]
fn a_full_sessions_table_expires_only_the_least_recently_used_session() {
    // Dissertation §6.3: the table holds `sessions_max` sessions; opening
    // one more expires the least recently used, whose commands are then
    // refused, while the others still apply.
    let mut h = leader(
        RaftConfig {
            sessions_max: 2,
            ..config()
        },
        vec![],
        0,
    );
    for id in 1..=3 {
        h.request(RaftRequest::OpenSession { id }); // sessions 2, 3 and 4
    }
    h.message(N1, ack(1, 4, true, 0, 0));
    let command = |client| RaftRequest::Propose {
        id: 10 + u128::from(client),
        command: 5,
        session: Some(Session { client, seq: 1 }),
    };
    h.request(command(2));
    h.request(command(3));
    assert_eq!(
        h.message(N1, ack(1, 6, true, 0, 0)),
        vec![
            Effect::Emit(RaftEvent::Rejected {
                id: 12,
                reason: Rejection::SessionExpired { client: 2 }
            }),
            Effect::Emit(RaftEvent::Applied {
                id: 13,
                index: 6,
                output: 5
            }),
        ]
    );
}

#[test]
fn a_session_command_applies_once_and_an_older_one_is_refused_stale() {
    // Dissertation §6.3: a second copy of a session command in the log
    // (the client retried across a leader change) is answered with the
    // first copy's output and index, and a command older than the
    // session's latest is refused, never applied.
    let session = |seq| Some(Session { client: 1, seq });
    let copy = |index| Entry {
        term: 1,
        index,
        payload: Payload::Command {
            session: session(1),
            command: 5,
        },
    };
    let open = Entry {
        term: 1,
        index: 1,
        payload: Payload::OpenSession,
    };
    let mut h = leader(config(), vec![open, copy(2), copy(3)], 0); // no-op at 4
    let retry = |id, seq, command| RaftRequest::Propose {
        id,
        command,
        session: session(seq),
    };
    h.request(retry(1, 1, 5)); // waits on the copy at 3
    assert_eq!(
        h.message(N1, ack(2, 4, true, 0, 0)),
        vec![Effect::Emit(RaftEvent::Applied {
            id: 1,
            index: 2,
            output: 5
        })]
    );
    h.request(retry(2, 2, 7));
    h.message(N1, ack(2, 5, true, 0, 0));
    assert_eq!(h.node().state_machine().value, 5 + 7);
    h.request(retry(3, 1, 100));
    assert_eq!(
        h.message(N1, ack(2, 6, true, 0, 0)),
        vec![Effect::Emit(RaftEvent::Rejected {
            id: 3,
            reason: Rejection::StaleSession
        })]
    );
    assert_eq!(h.node().state_machine().value, 5 + 7);
}

#[test]
fn a_leader_that_removes_itself_steps_down_once_the_removal_commits() {
    // Dissertation §4.2.2: it leads until the configuration without it
    // commits, then steps down.
    let mut h = leader(config(), vec![], 0);
    h.message(N1, ack(1, 1, true, 0, 0)); // the no-op commits
    let effects = h.request(change(1, MembershipChange::Remove(N0)));
    assert_eq!(change_answer(&effects, 1), Some(Ok(2)));
    // The new configuration's quorum is n1 and n2, without the leader.
    h.message(N1, ack(1, 2, true, 0, 0));
    assert!(h.node().is_leader(), "the removal is not committed yet");
    let effects = h.message(N2, ack(1, 2, true, 0, 0));
    assert!(
        effects.contains(&role(1, Role::Follower, None)),
        "{effects:?}"
    );
    assert!(!h.node().is_leader());
}

#[test]
fn snapshots_are_taken_every_threshold_applied_entries_and_never_with_zero() {
    // Raft §7: a server compacts its log once `snapshot_threshold` applied
    // entries follow its last snapshot; 0 turns automatic snapshots off.
    let with = |snapshot_threshold| {
        let mut h = leader(
            RaftConfig {
                snapshot_threshold,
                ..config()
            },
            vec![],
            0,
        );
        h.message(N1, ack(1, 1, true, 0, 0)); // the no-op applies
        h.request(propose(1, 5));
        h.message(N1, ack(1, 2, true, 0, 0));
        h
    };
    assert_eq!(with(3).node().snapshot_meta().index, 0, "2 of 3 applied");
    assert_eq!(with(2).node().snapshot_meta().index, 2);
    assert_eq!(with(0).node().snapshot_meta().index, 0, "never");
}
