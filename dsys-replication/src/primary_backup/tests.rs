//! Handler tests: one input to one replica, and the exact effects it
//! records (STYLE.md #9). The simulation tests in
//! `tests/primary_backup.rs` judge whole runs; these pin each rule.

use std::time::Duration;

use dsys_core::testing::Harness;
use dsys_core::{Effect, EffectOf, NodeId};

use super::*;
use crate::kv::store_of;

type Effects = Vec<EffectOf<PrimaryBackup>>;

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// Replica `id` of `n`, started: its first effect is the tick.
fn replica(id: u32, n: usize, config: PrimaryBackupConfig) -> Harness<PrimaryBackup> {
    let mut h = Harness::new(PrimaryBackup::new(config), NodeId(id), n);
    assert_eq!(h.start(), vec![tick()]);
    h
}

fn tick() -> EffectOf<PrimaryBackup> {
    Effect::SetTimer {
        after: ms(20),
        timer: Tick,
    }
}

fn id(client: u64, seq: u64) -> RequestId {
    RequestId { client, seq }
}

fn put(client: u64, seq: u64, key: &str, value: &str) -> Call {
    Call {
        id: id(client, seq),
        op: KvOp::Put {
            key: key.into(),
            value: value.into(),
        },
        read: Read::Linearizable,
    }
}

fn local_get(client: u64, seq: u64, key: &str, min_index: u64) -> Call {
    Call {
        id: id(client, seq),
        op: KvOp::Get { key: key.into() },
        read: Read::Local { min_index },
    }
}

fn entry(call: &Call) -> Entry {
    Entry {
        id: call.id,
        op: call.op.clone(),
        ret: KvRet::Done,
    }
}

/// n1 of three, made primary of view 1 by n2's vote, which carries
/// `store` and `committed`.
fn view_1_primary(store: Store, committed: u64) -> Harness<PrimaryBackup> {
    let mut p = replica(1, 3, PrimaryBackupConfig::default());
    p.message(NodeId(2), PbMsg::StartViewChange { view: 1 });
    let vote = PbMsg::DoViewChange {
        view: 1,
        last_normal: 0,
        committed,
        store,
    };
    p.message(NodeId(2), vote);
    assert!(p.node().is_primary(NodeId(1)));
    p
}

fn done(id: RequestId, ret: KvRet, index: u64) -> EffectOf<PrimaryBackup> {
    Effect::Emit(PbEvent::Answer(Answer::Done { id, ret, index }))
}

/// `msg` sent to each of `to`, in order.
fn sends(to: &[u32], msg: PbMsg) -> Effects {
    to.iter()
        .map(|&n| Effect::Send {
            to: NodeId(n),
            msg: msg.clone(),
        })
        .collect()
}

fn ack(view: u64, index: u64) -> PbMsg {
    PbMsg::Ack { view, index }
}

/// The primary's Update for one fresh call at `first`.
fn update(call: &Call, first: u64, committed: u64) -> PbMsg {
    PbMsg::Update {
        view: 0,
        first,
        entries: vec![entry(call)],
        committed,
    }
}

#[test]
fn the_primary_executes_sends_the_update_and_answers_after_a_majority_acknowledges() {
    let mut p = replica(0, 3, PrimaryBackupConfig::default());
    let call = put(1, 1, "x", "1");
    assert_eq!(p.request(call.clone()), sends(&[1, 2], update(&call, 1, 0)));
    assert_eq!(p.node().store().get("x"), "1", "executed at once");
    assert_eq!(p.node().committed(), 0, "not committed before an ack");
    assert_eq!(
        p.message(NodeId(1), ack(0, 1)),
        vec![done(id(1, 1), KvRet::Done, 1)],
        "itself and n1 are a majority of three"
    );
    assert_eq!(p.node().committed(), 1);
    assert_eq!(p.message(NodeId(2), ack(0, 1)), vec![], "answered once");
}

#[test]
fn five_replicas_need_two_acknowledgements() {
    let mut p = replica(0, 5, PrimaryBackupConfig::default());
    let call = put(1, 1, "x", "1");
    assert_eq!(
        p.request(call.clone()),
        sends(&[1, 2, 3, 4], update(&call, 1, 0))
    );
    assert_eq!(p.message(NodeId(3), ack(0, 1)), vec![], "two of five");
    assert_eq!(
        p.message(NodeId(1), ack(0, 1)),
        vec![done(id(1, 1), KvRet::Done, 1)],
        "three of five"
    );
}

#[test]
fn an_ack_for_more_than_the_primary_executed_commits_only_what_it_executed() {
    let mut p = replica(0, 3, PrimaryBackupConfig::default());
    let call = put(1, 1, "x", "1");
    p.request(call);
    p.message(NodeId(1), ack(0, 7));
    assert_eq!(p.node().committed(), 1);
}

#[test]
fn the_lectures_rule_waits_for_every_unsuspected_backup_and_skips_a_suspected_one() {
    let config = PrimaryBackupConfig {
        quorum: Quorum::Unsuspected,
        ..PrimaryBackupConfig::default()
    };
    let mut p = replica(0, 3, config.clone());
    let call = put(1, 1, "x", "1");
    p.request(call.clone());
    assert_eq!(
        p.message(NodeId(1), ack(0, 1)),
        vec![],
        "n2 is not suspected"
    );
    assert_eq!(
        p.message(NodeId(2), ack(0, 1)),
        vec![done(id(1, 1), KvRet::Done, 1)]
    );

    // n2 falls silent: once suspected, n1's acknowledgement is enough.
    let mut p = replica(0, 3, config);
    p.set_now(ms(150));
    p.message(
        NodeId(1),
        PbMsg::Heartbeat {
            view: 0,
            committed: 0,
        },
    );
    let heartbeat = PbMsg::Heartbeat {
        view: 0,
        committed: 0,
    };
    let mut expected = sends(&[1, 2], heartbeat);
    expected.push(tick());
    assert_eq!(p.timer(Tick), expected);
    p.request(call);
    assert_eq!(
        p.message(NodeId(1), ack(0, 1)),
        vec![done(id(1, 1), KvRet::Done, 1)],
        "n2 is suspected"
    );
}

#[test]
fn a_primary_with_the_defect_answers_before_any_acknowledgement() {
    let config = PrimaryBackupConfig {
        defect: Some(Defect::AnswersBeforeAcks),
        ..PrimaryBackupConfig::default()
    };
    let mut p = replica(0, 3, config);
    let call = put(1, 1, "x", "1");
    let mut expected = sends(&[1, 2], update(&call, 1, 0));
    expected.push(done(id(1, 1), KvRet::Done, 1));
    assert_eq!(p.request(call), expected);
}

#[test]
fn a_repeated_call_is_answered_from_the_session_not_executed_again() {
    let mut p = replica(0, 3, PrimaryBackupConfig::default());
    let call = put(1, 1, "x", "1");
    p.request(call.clone());
    // Retried before it commits: held, not executed, not sent again.
    assert_eq!(p.request(call.clone()), vec![]);
    assert_eq!(p.request(call.clone()), vec![]);
    assert_eq!(
        p.message(NodeId(1), ack(0, 1)),
        vec![done(id(1, 1), KvRet::Done, 1)],
        "one answer however often it was retried"
    );
    // Retried after: answered at once with the stored response.
    assert_eq!(p.request(call), vec![done(id(1, 1), KvRet::Done, 1)]);
    assert_eq!(p.node().store().applied(), 1);
}

#[test]
fn a_retry_held_for_commit_is_answered_in_position_order() {
    let mut p = replica(0, 3, PrimaryBackupConfig::default());
    let first = put(1, 1, "x", "1");
    let second = put(2, 1, "y", "2");
    p.request(first.clone());
    p.request(second);
    // The first is retried while both wait: it still answers first.
    assert_eq!(p.request(first), vec![]);
    assert_eq!(
        p.message(NodeId(1), ack(0, 2)),
        vec![
            done(id(1, 1), KvRet::Done, 1),
            done(id(2, 1), KvRet::Done, 2)
        ]
    );
}

#[test]
fn a_call_older_than_its_clients_last_is_dropped() {
    let mut p = replica(0, 3, PrimaryBackupConfig::default());
    p.request(put(1, 2, "x", "2"));
    assert_eq!(p.request(put(1, 1, "x", "1")), vec![]);
    assert_eq!(p.node().store().get("x"), "2");
}

#[test]
fn a_backup_sends_callers_to_the_primary_and_nobody_during_a_view_change() {
    let mut b = replica(1, 3, PrimaryBackupConfig::default());
    let call = put(1, 1, "x", "1");
    let redirect = |hint| {
        vec![Effect::Emit(PbEvent::Answer(Answer::NotPrimary {
            id: id(1, 1),
            hint,
        }))]
    };
    assert_eq!(b.request(call.clone()), redirect(Some(NodeId(0))));
    b.message(NodeId(2), PbMsg::StartViewChange { view: 2 });
    assert_eq!(b.node().status(), Status::ViewChange);
    assert_eq!(b.request(call), redirect(None));
}

#[test]
fn a_backup_applies_updates_in_order_and_acknowledges_its_position() {
    let mut b = replica(1, 3, PrimaryBackupConfig::default());
    let (one, two, three) = (
        put(1, 1, "x", "1"),
        put(1, 2, "x", "2"),
        put(1, 3, "x", "3"),
    );
    assert_eq!(
        b.message(NodeId(0), update(&one, 1, 0)),
        sends(&[0], ack(0, 1))
    );
    // A duplicate is acknowledged, not applied twice.
    assert_eq!(
        b.message(NodeId(0), update(&one, 1, 0)),
        sends(&[0], ack(0, 1))
    );
    // A gap: nothing applied, the position says where to resend from.
    assert_eq!(
        b.message(NodeId(0), update(&three, 3, 1)),
        sends(&[0], ack(0, 1))
    );
    assert_eq!(b.node().store().get("x"), "1");
    // The commit point follows the primary's, never past what it applied.
    assert_eq!(b.node().committed(), 1);
    assert_eq!(
        b.message(NodeId(0), update(&two, 2, 5)),
        sends(&[0], ack(0, 2))
    );
    assert_eq!(b.node().committed(), 2);
    // An update from a replica that is not the primary is ignored.
    assert_eq!(b.message(NodeId(2), update(&three, 3, 2)), vec![]);
    assert_eq!(b.node().store().applied(), 2);
    // A batch (a catch-up) applies each entry at its own position.
    let four = put(1, 4, "x", "4");
    let batch = PbMsg::Update {
        view: 0,
        first: 2,
        entries: vec![entry(&two), entry(&three), entry(&four)],
        committed: 2,
    };
    assert_eq!(b.message(NodeId(0), batch), sends(&[0], ack(0, 4)));
    assert_eq!(b.node().store().get("x"), "4");
}

#[test]
fn a_backup_skips_suspected_primaries_when_it_picks_the_next_view() {
    // n2 hears from nobody: view 1's primary (n1) is suspected too, so it
    // proposes view 2, its own.
    let mut b = replica(2, 3, PrimaryBackupConfig::default());
    b.set_now(ms(150));
    let heartbeat = PbMsg::Heartbeat {
        view: 0,
        committed: 0,
    };
    let mut expected = sends(&[0, 1], heartbeat);
    expected.extend(sends(&[0, 1], PbMsg::StartViewChange { view: 2 }));
    expected.push(tick());
    assert_eq!(b.timer(Tick), expected);
    assert_eq!(b.node().view(), 2);

    // From view 3 (n0's), with n0 and n1 silent: view 5, n2's again.
    let mut b = replica(2, 3, PrimaryBackupConfig::default());
    b.message(
        NodeId(0),
        PbMsg::StartView {
            view: 3,
            committed: 0,
            store: Store::new(),
        },
    );
    assert_eq!((b.node().view(), b.node().status()), (3, Status::Normal));
    b.set_now(ms(150));
    b.timer(Tick);
    assert_eq!(b.node().view(), 5);

    // A backup that still hears from view 1's primary proposes view 1.
    let mut b = replica(2, 3, PrimaryBackupConfig::default());
    b.set_now(ms(150));
    b.message(
        NodeId(1),
        PbMsg::Heartbeat {
            view: 0,
            committed: 0,
        },
    );
    b.timer(Tick);
    assert_eq!(b.node().view(), 1);
}

#[test]
fn a_local_read_waits_until_the_copy_holds_only_committed_requests() {
    let mut b = replica(1, 3, PrimaryBackupConfig::default());
    let write = put(1, 1, "x", "1");
    b.message(NodeId(0), update(&write, 1, 0));
    // Applied 1, committed 0: the write may still vanish, so no answer.
    assert_eq!(b.request(local_get(2, 1, "x", 0)), vec![]);
    // The primary's heartbeat says it committed: the parked read answers.
    assert_eq!(
        b.message(
            NodeId(0),
            PbMsg::Heartbeat {
                view: 0,
                committed: 1
            }
        ),
        vec![done(id(2, 1), KvRet::Value("1".into()), 1)]
    );
    // Settled: answered at once.
    assert_eq!(
        b.request(local_get(2, 2, "x", 1)),
        vec![done(id(2, 2), KvRet::Value("1".into()), 1)]
    );
    // A token ahead of the copy parks; a heartbeat from a non-primary
    // does not move the commit point.
    assert_eq!(b.request(local_get(2, 3, "x", 2)), vec![]);
    assert_eq!(
        b.message(
            NodeId(2),
            PbMsg::Heartbeat {
                view: 0,
                committed: 9
            }
        ),
        vec![]
    );
    assert_eq!(b.node().committed(), 1);
}

#[test]
fn local_reads_beyond_the_parking_limit_are_redirected() {
    let config = PrimaryBackupConfig {
        parked_reads_max: 1,
        ..PrimaryBackupConfig::default()
    };
    let mut b = replica(1, 3, config);
    assert_eq!(b.request(local_get(2, 1, "x", 5)), vec![]);
    assert_eq!(
        b.request(local_get(3, 1, "x", 5)),
        vec![Effect::Emit(PbEvent::Answer(Answer::NotPrimary {
            id: id(3, 1),
            hint: Some(NodeId(0)),
        }))]
    );
}

#[test]
fn a_backup_that_suspects_the_primary_starts_the_next_view_and_the_new_primary_adopts_the_longest_state(
) {
    let mut b = replica(1, 3, PrimaryBackupConfig::default());
    let write = put(1, 1, "x", "1");
    b.message(NodeId(0), update(&write, 1, 0));
    b.set_now(ms(150));
    b.message(
        NodeId(2),
        PbMsg::Heartbeat {
            view: 0,
            committed: 0,
        },
    );
    // n0 silent for 150 ms: suspected; n1 is view 1's primary and votes
    // for itself; one vote of three is not a quorum.
    let heartbeat = PbMsg::Heartbeat {
        view: 0,
        committed: 0,
    };
    let mut expected = sends(&[0, 2], heartbeat);
    expected.extend(sends(&[0, 2], PbMsg::StartViewChange { view: 1 }));
    expected.push(tick());
    assert_eq!(b.timer(Tick), expected);
    assert_eq!(
        (b.node().view(), b.node().status()),
        (1, Status::ViewChange)
    );
    assert!(!b.node().is_primary(NodeId(1)));

    // n2 votes with a longer state from the same view: adopted.
    let longer = store_of(&[&write, &put(1, 2, "x", "2")]);
    let effects = b.message(
        NodeId(2),
        PbMsg::DoViewChange {
            view: 1,
            last_normal: 0,
            committed: 1,
            store: longer.clone(),
        },
    );
    let mut expected = sends(
        &[0, 2],
        PbMsg::StartView {
            view: 1,
            committed: 1,
            store: longer,
        },
    );
    expected.push(Effect::Emit(PbEvent::ViewStarted { view: 1, index: 2 }));
    assert_eq!(effects, expected);
    assert!(b.node().is_primary(NodeId(1)));
    assert_eq!(b.node().store().get("x"), "2");
    assert_eq!(b.node().committed(), 1);
}

#[test]
fn a_vote_from_a_more_recent_view_beats_a_longer_one() {
    let mut p = replica(1, 3, PrimaryBackupConfig::default());
    let write = put(1, 1, "x", "1");
    p.message(NodeId(0), update(&write, 1, 0));
    // View 4's primary is n1 (4 mod 3): it votes for itself with its
    // longer state from view 0.
    p.message(NodeId(2), PbMsg::StartViewChange { view: 4 });
    assert_eq!(
        (p.node().view(), p.node().status()),
        (4, Status::ViewChange)
    );
    // n2 was normal in view 3, which n1 never saw: n2's state is newer,
    // shorter as it is (view 3's primary may have replaced n1's request).
    let effects = p.message(
        NodeId(2),
        PbMsg::DoViewChange {
            view: 4,
            last_normal: 3,
            committed: 0,
            store: Store::new(),
        },
    );
    assert!(effects.contains(&Effect::Emit(PbEvent::ViewStarted { view: 4, index: 0 })));
    assert_eq!(p.node().store().get("x"), "");
}

#[test]
fn a_replica_behind_gets_the_primarys_state_at_most_once_per_timeout() {
    let mut p = replica(0, 3, PrimaryBackupConfig::default());
    // Take view 3 (n0's) with n1's vote.
    p.message(NodeId(1), PbMsg::StartViewChange { view: 3 });
    let started = p.message(
        NodeId(1),
        PbMsg::DoViewChange {
            view: 3,
            last_normal: 0,
            committed: 0,
            store: Store::new(),
        },
    );
    assert!(started.contains(&Effect::Emit(PbEvent::ViewStarted { view: 3, index: 0 })));
    let state = PbMsg::StartView {
        view: 3,
        committed: 0,
        store: Store::new(),
    };
    // n2, still in view 0, is answered with the state — but the view
    // start itself counts as a sending.
    let stale = PbMsg::Heartbeat {
        view: 0,
        committed: 0,
    };
    assert_eq!(p.message(NodeId(2), stale.clone()), vec![]);
    p.set_now(ms(99));
    assert_eq!(p.message(NodeId(2), stale.clone()), vec![]);
    p.set_now(ms(100));
    assert_eq!(p.message(NodeId(2), stale.clone()), sends(&[2], state));
    assert_eq!(p.message(NodeId(2), stale), vec![]);
}

#[test]
fn a_replica_not_started_knows_no_primary() {
    let replica = PrimaryBackup::new(PrimaryBackupConfig::default());
    assert_eq!(replica.primary_of(0), None);
    assert!(!replica.is_primary(NodeId(0)));
}

#[test]
fn a_new_primary_answers_retries_of_inherited_requests_in_position_order() {
    // n1 takes view 1 with a state holding two requests nobody
    // acknowledged yet (committed 0): their callers retry, in either order.
    let (one, two) = (put(1, 1, "x", "1"), put(2, 1, "y", "2"));
    let mut p = view_1_primary(store_of(&[&one, &two]), 0);
    assert_eq!(p.request(two), vec![]);
    assert_eq!(p.request(one), vec![]);
    assert_eq!(
        p.message(NodeId(2), ack(1, 2)),
        vec![
            done(id(1, 1), KvRet::Done, 1),
            done(id(2, 1), KvRet::Done, 2)
        ]
    );
}

#[test]
fn each_tick_the_primary_resends_what_a_backup_has_not_acknowledged() {
    let config = PrimaryBackupConfig {
        log_max: 2,
        ..PrimaryBackupConfig::default()
    };
    let mut p = replica(0, 3, config);
    let calls: Vec<Call> = (1..=3)
        .map(|seq| put(1, seq, "x", &seq.to_string()))
        .collect();
    p.request(calls[0].clone());
    p.request(calls[1].clone());
    p.message(NodeId(1), ack(0, 2));
    let heartbeat = PbMsg::Heartbeat {
        view: 0,
        committed: 2,
    };
    let mut expected = sends(&[1, 2], heartbeat.clone());
    expected.extend(sends(
        &[2],
        PbMsg::Update {
            view: 0,
            first: 1,
            entries: vec![entry(&calls[0]), entry(&calls[1])],
            committed: 2,
        },
    ));
    expected.push(tick());
    assert_eq!(p.timer(Tick), expected);
    // A third request: resent with the others, then the log keeps two
    // (n2, at 0, needs position 1), so n2 gets the state next time.
    p.request(calls[2].clone());
    p.message(NodeId(1), ack(0, 3));
    p.timer(Tick);
    let heartbeat = PbMsg::Heartbeat {
        view: 0,
        committed: 3,
    };
    let mut expected = sends(&[1, 2], heartbeat);
    expected.extend(sends(
        &[2],
        PbMsg::StartView {
            view: 0,
            committed: 3,
            store: p.node().store().clone(),
        },
    ));
    expected.push(tick());
    assert_eq!(p.timer(Tick), expected);
}

#[test]
fn a_new_primary_resends_from_the_position_each_backup_acknowledged() {
    let (one, two, three) = (
        put(1, 1, "x", "1"),
        put(1, 2, "x", "2"),
        put(1, 3, "x", "3"),
    );
    let mut p = view_1_primary(store_of(&[&one, &two]), 2);
    // n2 adopted the view's state (it acknowledges position 2).
    p.message(NodeId(2), ack(1, 2));
    p.request(three.clone());
    let mut expected = sends(
        &[0, 2],
        PbMsg::Heartbeat {
            view: 1,
            committed: 2,
        },
    );
    expected.extend(sends(
        &[2],
        PbMsg::Update {
            view: 1,
            first: 3,
            entries: vec![entry(&three)],
            committed: 2,
        },
    ));
    // n0 has acknowledged nothing in view 1 and the log starts at 3: it
    // needs the state, but was sent it when the view started, so not yet.
    expected.push(tick());
    assert_eq!(p.timer(Tick), expected);
}

#[test]
fn the_primary_sends_no_state_to_a_backup_it_suspects() {
    let config = PrimaryBackupConfig {
        log_max: 0,
        ..PrimaryBackupConfig::default()
    };
    let mut p = replica(0, 3, config);
    let call = put(1, 1, "x", "1");
    p.request(call.clone());
    p.set_now(ms(150));
    p.message(NodeId(1), ack(0, 1));
    let heartbeat = PbMsg::Heartbeat {
        view: 0,
        committed: 1,
    };
    // The first tick resends the update to n2, then forgets it (log_max 0).
    let mut expected = sends(&[1, 2], heartbeat.clone());
    expected.extend(sends(&[2], update(&call, 1, 1)));
    expected.push(tick());
    assert_eq!(p.timer(Tick), expected);
    // n2, silent for 150 ms, is suspected: no state sent to it.
    let mut expected = sends(&[1, 2], heartbeat);
    expected.push(tick());
    assert_eq!(p.timer(Tick), expected);
}

#[test]
fn a_voter_resends_its_vote_and_a_view_change_that_stalls_moves_on() {
    // n2 votes for n1 in view 1, and again on each tick until it starts.
    let mut b = replica(2, 3, PrimaryBackupConfig::default());
    let vote = PbMsg::DoViewChange {
        view: 1,
        last_normal: 0,
        committed: 0,
        store: Store::new(),
    };
    assert_eq!(
        b.message(NodeId(1), PbMsg::StartViewChange { view: 1 }),
        sends(&[1], vote.clone())
    );
    let heartbeat = PbMsg::Heartbeat {
        view: 1,
        committed: 0,
    };
    let mut expected = sends(&[0, 1], heartbeat.clone());
    expected.extend(sends(&[1], vote));
    expected.push(tick());
    assert_eq!(b.timer(Tick), expected);

    // n1, view 1's primary, waits for a second vote until the view
    // change times out (200 ms), then proposes view 2 (n2's).
    let mut p = replica(1, 3, PrimaryBackupConfig::default());
    p.message(NodeId(2), PbMsg::StartViewChange { view: 1 });
    p.set_now(ms(200));
    p.message(NodeId(2), heartbeat.clone());
    let mut expected = sends(&[0, 2], heartbeat.clone());
    expected.push(tick());
    assert_eq!(p.timer(Tick), expected, "not yet timed out");
    p.set_now(ms(201));
    let mut expected = sends(&[0, 2], heartbeat);
    expected.extend(sends(&[0, 2], PbMsg::StartViewChange { view: 2 }));
    expected.extend(sends(
        &[2],
        PbMsg::DoViewChange {
            view: 2,
            last_normal: 0,
            committed: 0,
            store: Store::new(),
        },
    ));
    expected.push(tick());
    assert_eq!(p.timer(Tick), expected);
}

#[test]
fn a_heartbeat_moves_the_commit_point_only_in_normal_operation() {
    let mut b = replica(2, 3, PrimaryBackupConfig::default());
    b.message(NodeId(0), update(&put(1, 1, "x", "1"), 1, 0));
    b.message(NodeId(1), PbMsg::StartViewChange { view: 1 });
    assert_eq!(b.node().status(), Status::ViewChange);
    let heartbeat = PbMsg::Heartbeat {
        view: 1,
        committed: 1,
    };
    assert_eq!(b.message(NodeId(1), heartbeat), vec![]);
    assert_eq!(b.node().committed(), 0, "the new view has not started");
}

#[test]
fn a_backup_takes_its_primarys_state_only_when_it_is_newer() {
    let write = put(1, 1, "x", "1");
    let longer = store_of(&[&write]);
    let state = |store: &Store| PbMsg::StartView {
        view: 0,
        committed: 1,
        store: store.clone(),
    };
    // In normal operation: a longer state from the primary is taken (a
    // backup too far behind for the log) …
    let mut b = replica(2, 3, PrimaryBackupConfig::default());
    assert_eq!(
        b.message(NodeId(1), state(&longer)),
        vec![],
        "not the primary"
    );
    assert_eq!(b.node().store().applied(), 0);
    assert_eq!(b.message(NodeId(0), state(&longer)), sends(&[0], ack(0, 1)));
    assert_eq!((b.node().store().get("x"), b.node().committed()), ("1", 1));
    // … one no longer than its own is not.
    assert_eq!(b.message(NodeId(0), state(&Store::new())), vec![]);
    assert_eq!(b.node().store().applied(), 1);
    // During a view change, the new primary's state is taken, shorter or not.
    b.message(NodeId(1), PbMsg::StartViewChange { view: 1 });
    let start = PbMsg::StartView {
        view: 1,
        committed: 0,
        store: Store::new(),
    };
    assert_eq!(b.message(NodeId(1), start), sends(&[1], ack(1, 0)));
    assert_eq!((b.node().view(), b.node().status()), (1, Status::Normal));
    assert_eq!(b.node().store().applied(), 0);
}

#[test]
fn a_write_asking_for_a_local_read_is_still_a_write() {
    let mut p = replica(0, 3, PrimaryBackupConfig::default());
    let call = Call {
        read: Read::Local { min_index: 0 },
        ..put(1, 1, "x", "1")
    };
    let expected = PbMsg::Update {
        view: 0,
        first: 1,
        entries: vec![entry(&put(1, 1, "x", "1"))],
        committed: 0,
    };
    assert_eq!(p.request(call), sends(&[1, 2], expected));
}

#[test]
fn a_state_as_long_as_the_backups_own_is_not_taken_again() {
    let write = put(1, 1, "x", "1");
    let mut b = replica(2, 3, PrimaryBackupConfig::default());
    b.message(NodeId(0), update(&write, 1, 0));
    let same = store_of(&[&write]);
    let state = PbMsg::StartView {
        view: 0,
        committed: 1,
        store: same,
    };
    assert_eq!(b.message(NodeId(0), state), vec![]);
    assert_eq!(b.node().committed(), 0);
}

#[test]
fn the_primary_forgets_what_every_backup_has() {
    let mut p = replica(0, 3, PrimaryBackupConfig::default());
    for seq in 1..=3 {
        p.request(put(1, seq, "x", &seq.to_string()));
    }
    p.message(NodeId(1), ack(0, 2));
    p.message(NodeId(2), ack(0, 3));
    p.timer(Tick);
    assert_eq!(p.node().log.since(2, 10), None, "both backups have 1 and 2");
    assert_eq!(p.node().log.since(3, 10).map(|e| e.len()), Some(1));
}

#[test]
fn answers_are_the_events_a_front_end_reads() {
    let answer = Answer::NotPrimary {
        id: id(1, 1),
        hint: None,
    };
    assert_eq!(
        PrimaryBackup::answer(&PbEvent::Answer(answer.clone())),
        Some(answer)
    );
    let started = PbEvent::ViewStarted { view: 1, index: 0 };
    assert_eq!(PrimaryBackup::answer(&started), None);
}
