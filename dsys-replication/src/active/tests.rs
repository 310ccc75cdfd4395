//! Handler tests: one input to one replica, and the exact effects it
//! records (STYLE.md #9). `tests/active.rs` judges whole runs.

use std::time::Duration;

use dsys_core::testing::Harness;
use dsys_core::{Effect, EffectOf, NodeId};

use super::*;
use crate::kv::{store_of, RequestId};

type Effects = Vec<EffectOf<Active>>;

fn tick() -> EffectOf<Active> {
    Effect::SetTimer {
        after: Duration::from_millis(20),
        timer: Tick,
    }
}

/// Replica `id` of three, started.
fn replica(id: u32, config: ActiveConfig) -> Harness<Active> {
    let mut h = Harness::new(Active::new(config), NodeId(id), 3);
    assert_eq!(h.start(), vec![tick()]);
    h
}

fn put(client: u64, seq: u64, value: &str) -> Call {
    Call {
        id: RequestId { client, seq },
        op: KvOp::Put {
            key: "x".into(),
            value: value.into(),
        },
        read: Read::Linearizable,
    }
}

fn local_get(client: u64, seq: u64, min_index: u64) -> Call {
    Call {
        id: RequestId { client, seq },
        op: KvOp::Get { key: "x".into() },
        read: Read::Local { min_index },
    }
}

fn answer(call: &Call, ret: KvRet, index: u64) -> EffectOf<Active> {
    Effect::Emit(ActiveEvent::Answer(Answer::Done {
        id: call.id,
        ret,
        index,
    }))
}

fn done(call: &Call, index: u64) -> EffectOf<Active> {
    answer(call, KvRet::Done, index)
}

fn order(first: u64, calls: &[&Call]) -> ActiveMsg {
    ActiveMsg::Order {
        first,
        calls: calls.iter().map(|&c| c.clone()).collect(),
    }
}

fn send(to: u32, msg: ActiveMsg) -> EffectOf<Active> {
    Effect::Send {
        to: NodeId(to),
        msg,
    }
}

#[test]
fn the_lowest_id_is_the_sequencer_and_other_replicas_submit_to_it() {
    let mut r = replica(2, ActiveConfig::default());
    assert_eq!(r.node().sequencer(), NodeId(0));
    let call = put(1, 1, "1");
    assert_eq!(
        r.request(call.clone()),
        vec![send(0, ActiveMsg::Submit { call })]
    );
    assert_eq!(r.node().delivered(), 0, "not executed before it is ordered");
}

#[test]
fn the_sequencer_numbers_multicasts_executes_and_answers() {
    let mut s = replica(0, ActiveConfig::default());
    let (one, two) = (put(1, 1, "1"), put(2, 1, "2"));
    let expected: Effects = vec![
        send(1, order(1, &[&one])),
        send(2, order(1, &[&one])),
        done(&one, 1),
    ];
    assert_eq!(s.request(one.clone()), expected);
    // A Submit from another replica is the same step.
    let expected: Effects = vec![
        send(1, order(2, &[&two])),
        send(2, order(2, &[&two])),
        done(&two, 2),
    ];
    assert_eq!(
        s.message(NodeId(2), ActiveMsg::Submit { call: two.clone() }),
        expected
    );
    // Ordered before: answered from the session, not ordered again.
    assert_eq!(s.request(one.clone()), vec![done(&one, 1)]);
    // Older than its client's last call: nobody waits for it.
    assert_eq!(s.request(put(2, 0, "0")), vec![]);
    assert_eq!(s.node().delivered(), 2);
    assert_eq!(s.node().store().get("x"), "2");
}

#[test]
fn a_replica_holds_back_out_of_order_calls_and_delivers_in_sequence() {
    let mut r = replica(1, ActiveConfig::default());
    let (one, two, three) = (put(1, 1, "1"), put(1, 2, "2"), put(1, 3, "3"));
    assert_eq!(r.message(NodeId(0), order(2, &[&two])), vec![]);
    assert_eq!(
        r.message(NodeId(0), order(1, &[&one])),
        vec![done(&one, 1), done(&two, 2)]
    );
    // A resend of what it delivered is ignored (not even held back); an
    // Order from a replica that is not the sequencer too.
    let before = r.node().clone();
    assert_eq!(r.message(NodeId(0), order(1, &[&one, &two])), vec![]);
    assert_eq!(r.message(NodeId(2), order(3, &[&three])), vec![]);
    assert_eq!(r.node(), &before);
    // A batch overlapping what it has delivers only the new part.
    assert_eq!(
        r.message(NodeId(0), order(2, &[&two, &three])),
        vec![done(&three, 3)]
    );
    assert_eq!(r.node().store().get("x"), "3");
}

#[test]
fn calls_beyond_the_holdback_window_are_dropped_for_the_sequencer_to_resend() {
    let config = ActiveConfig {
        holdback_max: 2,
        ..ActiveConfig::default()
    };
    let mut r = replica(1, config);
    let (one, two, three) = (put(1, 1, "1"), put(1, 2, "2"), put(1, 3, "3"));
    // Window: 1..=2. Number 3 is dropped.
    assert_eq!(r.message(NodeId(0), order(2, &[&two, &three])), vec![]);
    assert_eq!(
        r.message(NodeId(0), order(1, &[&one])),
        vec![done(&one, 1), done(&two, 2)]
    );
    assert_eq!(r.node().delivered(), 2);
}

#[test]
fn replicas_report_progress_and_the_sequencer_resends_what_is_missing() {
    let mut r = replica(1, ActiveConfig::default());
    assert_eq!(
        r.timer(Tick),
        vec![send(0, ActiveMsg::Delivered { upto: 0 }), tick()]
    );

    let mut s = replica(0, ActiveConfig::default());
    let two = put(1, 2, "2");
    s.request(put(1, 1, "1"));
    s.request(two.clone());
    s.message(NodeId(1), ActiveMsg::Delivered { upto: 2 });
    s.message(NodeId(2), ActiveMsg::Delivered { upto: 1 });
    // n1 has everything; n2 misses number 2.
    assert_eq!(s.timer(Tick), vec![send(2, order(2, &[&two])), tick()]);
    // A report beyond what the sequencer ordered counts as all of it; a
    // lower one (a replica that lost what it had) is believed.
    s.message(NodeId(2), ActiveMsg::Delivered { upto: 9 });
    s.message(NodeId(1), ActiveMsg::Delivered { upto: 1 });
    assert_eq!(s.timer(Tick), vec![send(1, order(2, &[&two])), tick()]);
    // Number 1, which every replica had, is forgotten: a replica that
    // needs it again gets the whole state.
    s.message(NodeId(1), ActiveMsg::Delivered { upto: 0 });
    let store = s.node().store().clone();
    assert_eq!(
        s.timer(Tick),
        vec![send(1, ActiveMsg::Snapshot { store }), tick()]
    );
}

#[test]
fn a_replica_behind_the_log_gets_the_whole_state() {
    let config = ActiveConfig {
        log_max: 1,
        ..ActiveConfig::default()
    };
    let mut s = replica(0, config);
    for seq in 1..=3 {
        s.request(put(1, seq, &seq.to_string()));
    }
    s.message(NodeId(1), ActiveMsg::Delivered { upto: 3 });
    s.message(NodeId(2), ActiveMsg::Delivered { upto: 3 });
    // Everyone has all three: the log keeps at most one.
    assert_eq!(s.timer(Tick), vec![tick()]);
    s.message(NodeId(2), ActiveMsg::Delivered { upto: 0 });
    let store = s.node().store().clone();
    assert_eq!(
        s.timer(Tick),
        vec![send(2, ActiveMsg::Snapshot { store }), tick()]
    );
}

#[test]
fn a_snapshot_replaces_a_shorter_copy_and_releases_the_calls_held_after_it() {
    let mut r = replica(1, ActiveConfig::default());
    let calls: Vec<Call> = (1..=4).map(|seq| put(1, seq, &seq.to_string())).collect();
    let snapshot = store_of(&[&calls[0], &calls[1]]);
    // Numbers 2 and 3 held back (1 is missing).
    assert_eq!(
        r.message(NodeId(0), order(2, &[&calls[1], &calls[2]])),
        vec![]
    );
    assert_eq!(
        r.message(
            NodeId(0),
            ActiveMsg::Snapshot {
                store: snapshot.clone()
            }
        ),
        vec![done(&calls[2], 3)],
        "number 2 is in the snapshot; number 3 follows it"
    );
    // Nothing stale is left held back: the state is that of a replica
    // that received the three in order.
    let mut in_order = replica(1, ActiveConfig::default());
    in_order.message(NodeId(0), order(1, &[&calls[0], &calls[1], &calls[2]]));
    assert_eq!(r.node(), in_order.node());
    // A snapshot no longer than the copy is ignored, as is one from a
    // replica that is not the sequencer.
    assert_eq!(
        r.message(NodeId(0), ActiveMsg::Snapshot { store: snapshot }),
        vec![]
    );
    let longer = store_of(&calls.iter().collect::<Vec<_>>());
    assert_eq!(
        r.message(NodeId(2), ActiveMsg::Snapshot { store: longer }),
        vec![]
    );
    assert_eq!(r.node().delivered(), 3);
}

#[test]
fn a_local_read_waits_for_the_clients_token_and_redirects_beyond_the_parking_limit() {
    let config = ActiveConfig {
        parked_reads_max: 1,
        ..ActiveConfig::default()
    };
    let mut r = replica(1, config);
    let write = put(1, 1, "1");
    let (now, later, overflow) = (local_get(2, 1, 0), local_get(2, 2, 1), local_get(3, 1, 1));
    assert_eq!(
        r.request(now.clone()),
        vec![answer(&now, KvRet::Value(String::new()), 0)]
    );
    assert_eq!(r.request(later.clone()), vec![], "parked until number 1");
    assert_eq!(
        r.request(overflow.clone()),
        vec![Effect::Emit(ActiveEvent::Answer(Answer::NotPrimary {
            id: overflow.id,
            hint: Some(NodeId(0)),
        }))]
    );
    assert_eq!(
        r.message(NodeId(0), order(1, &[&write])),
        vec![done(&write, 1), answer(&later, KvRet::Value("1".into()), 1)]
    );
}

#[test]
fn messages_meant_for_another_role_are_ignored() {
    // Ignored: no effect, and the state is as it was.
    let mut r = replica(1, ActiveConfig::default());
    let before = r.node().clone();
    let call = put(1, 1, "1");
    assert_eq!(r.message(NodeId(2), ActiveMsg::Submit { call }), vec![]);
    assert_eq!(
        r.message(NodeId(2), ActiveMsg::Delivered { upto: 1 }),
        vec![]
    );
    assert_eq!(r.node(), &before);
    let mut s = replica(0, ActiveConfig::default());
    let before = s.node().clone();
    let call = put(1, 1, "1");
    assert_eq!(s.message(NodeId(1), order(1, &[&call])), vec![]);
    assert_eq!(s.node(), &before);
}

#[test]
fn a_write_asking_for_a_local_read_is_still_ordered() {
    let mut r = replica(1, ActiveConfig::default());
    let call = Call {
        read: Read::Local { min_index: 0 },
        ..put(1, 1, "1")
    };
    assert_eq!(
        r.request(call.clone()),
        vec![send(0, ActiveMsg::Submit { call })]
    );
}

#[test]
fn every_event_is_an_answer_for_the_front_end() {
    let answer = Answer::NotPrimary {
        id: RequestId { client: 1, seq: 1 },
        hint: Some(NodeId(0)),
    };
    assert_eq!(
        Active::answer(&ActiveEvent::Answer(answer.clone())),
        Some(answer)
    );
}
