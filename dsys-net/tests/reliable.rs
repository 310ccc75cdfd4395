//! The reliable channel: exactly-once, in-order delivery across 300 seeds of
//! a lossy, duplicating, reordering network; a channel without duplicate
//! suppression caught by the same checker; handler tests asserting the exact
//! effects of each step (STYLE.md #9); the three-way handshake against a
//! delayed duplicate `Syn`.
//!
//! | property | checker | source |
//! |---|---|---|
//! | exactly once, in order, complete | `Numbers::check_in_order` after every event, `Numbers::check_complete` at the end | RFC 793 §3.3; Kurose & Ross §3.4 |
//! | old duplicates do not open a connection | handshake tests | RFC 793 §3.4 (fig. 9) |
//! | adaptive timeout | `RttEstimator` tests | RFC 6298 §2, §5; Karn & Partridge |

use std::time::Duration;

use dsys_core::sim::{Latency, LinkConfig, Ordering, Simulation};
use dsys_core::testing::{check_seeds, Harness};
use dsys_core::{Effect, EffectOf, NodeId};
use dsys_net::reliable::{
    ConnId, Number, Numbers, Received, Reliable, ReliableConfig, ReliableTimer, RttEstimator,
    Segment,
};

type Node = Reliable<Numbers>;

const MS: fn(u64) -> Duration = Duration::from_millis;

/// Runs `nodes` nodes that each send `count` numbers to every other node
/// over a lossy, duplicating, reordering network; checks exactly-once
/// in-order delivery after every event and completeness at the end.
fn run(
    seed: u64,
    nodes: usize,
    count: u32,
    loss: f64,
    config: ReliableConfig,
) -> Result<(), String> {
    let mut sim = Simulation::new(nodes, seed, move |_| {
        Reliable::new(Numbers::new(count), config).expect("valid reliable-channel configuration")
    });
    sim.set_measure_bytes(false);
    let link = LinkConfig::default()
        .with_latency(Latency::uniform_ms(1, 20))
        .with_loss(loss)
        .with_duplicate(0.2)
        .with_ordering(Ordering::Reorder);
    sim.set_all_links(link).map_err(|e| e.to_string())?;
    // RFC 793 §3.3: every message exactly once, in order, at every moment.
    sim.invariant("exactly once, in order", |states: &[Option<Node>]| {
        states
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.as_ref().map(|n| (NodeId(i as u32), n)))
            .try_for_each(|(id, n)| n.inner().check_in_order(id))
    });
    let expected = count as usize * (nodes - 1);
    // Virtual time is cheap: at 50% loss with window 1 the backed-off
    // timeout (up to 5 s) stretches a run over many virtual minutes.
    sim.run_until_condition(Duration::from_secs(7200), |sim| {
        sim.nodes()
            .all(|(_, n)| n.inner().received_total() == expected)
    })
    .map_err(|e| e.to_string())?;
    let ids: Vec<NodeId> = sim.ids().collect();
    for (id, node) in sim.nodes() {
        node.inner().check_complete(id, &ids).map_err(|e| {
            format!(
                "{e} (loss {loss}, window {}, at {:?})",
                config.window,
                sim.now()
            )
        })?;
    }
    Ok(())
}

#[test]
fn every_message_is_delivered_exactly_once_in_order_across_300_seeds() {
    let losses = [0.0, 0.1, 0.3, 0.5];
    let windows = [1, 2, 4, 8, 16];
    check_seeds(0..300, |seed| {
        let loss = losses[seed as usize % losses.len()];
        let window = windows[seed as usize % windows.len()];
        let nodes = if seed % 3 == 0 { 3 } else { 2 };
        run(
            seed,
            nodes,
            100,
            loss,
            ReliableConfig::default().with_window(window),
        )
    });
}

#[test]
fn a_channel_without_duplicate_suppression_is_caught() {
    let broken = ReliableConfig {
        suppress_duplicates: false,
        ..ReliableConfig::default()
    };
    let caught: Vec<String> = (0..20)
        .filter_map(|seed| run(seed, 2, 20, 0.1, broken).err())
        .collect();
    assert!(!caught.is_empty(), "the checker missed every duplicate");
    assert!(caught[0].contains("duplicate"), "{}", caught[0]);
}

// ----- handler tests: exact effects -------------------------------------------

fn retransmit() -> ReliableTimer<()> {
    ReliableTimer::Retransmit { peer: NodeId(1) }
}

fn data(conn: ConnId, seq: u64, n: u32) -> EffectOf<Node> {
    Effect::Send {
        to: NodeId(1),
        msg: Segment::Data {
            conn,
            seq,
            msg: Number(n),
        },
    }
}

/// Starts `node` as n0 of two: its first effect is the handshake's Syn,
/// whose isn comes back with every effect of the start.
fn started(node: Node) -> (Harness<Node>, Vec<EffectOf<Node>>, u64) {
    let mut h = Harness::new(node, NodeId(0), 2);
    let effects = h.start();
    let Effect::Send {
        msg: Segment::Syn { isn },
        ..
    } = effects[0]
    else {
        panic!("expected a Syn first, got {effects:?}");
    };
    (h, effects, isn)
}

/// n0 sends 3 numbers to n1 with a window of 2; the handshake is done at
/// 10 ms (one RTT sample of 10 ms: RTO = 10 + 4 × 5 = 30 ms).
fn established_sender() -> (Harness<Node>, ConnId) {
    let node = Reliable::new(Numbers::new(3), ReliableConfig::default().with_window(2))
        .expect("valid reliable-channel configuration");
    let (mut h, effects, isn) = started(node);
    // Handshake, step 1 (RFC 793 §3.4): Syn, and its retransmission timer.
    assert_eq!(
        effects,
        vec![
            Effect::Send {
                to: NodeId(1),
                msg: Segment::Syn { isn }
            },
            Effect::SetTimer {
                after: MS(200),
                timer: retransmit()
            },
        ]
    );
    assert_eq!(
        h.node().queued(NodeId(1)),
        3,
        "data waits for the handshake"
    );
    h.set_now(MS(10));
    let conn = ConnId { isn, nonce: 99 };
    // Step 2 → step 3, then the window (2) fills: send within the window.
    assert_eq!(
        h.message(NodeId(1), Segment::SynAck { isn, nonce: 99 }),
        vec![
            Effect::Send {
                to: NodeId(1),
                msg: Segment::HandshakeAck { conn }
            },
            Effect::CancelTimer {
                timer: retransmit()
            },
            data(conn, isn + 1, 0),
            data(conn, isn + 2, 1),
            Effect::SetTimer {
                after: MS(30),
                timer: retransmit()
            },
        ]
    );
    assert_eq!(h.node().unacknowledged(NodeId(1)), 2);
    assert_eq!(h.node().queued(NodeId(1)), 1);
    (h, conn)
}

#[test]
fn sends_within_the_window_after_the_handshake() {
    established_sender();
}

#[test]
fn an_ack_advances_the_window() {
    let (mut h, conn) = established_sender();
    h.set_now(MS(20));
    // The first segment (sent at 10 ms) is acknowledged: RTT 10 ms, RTTVAR
    // 3/4 × 5 = 3.75 ms, RTO 25 ms (RFC 6298 §2.3); the third goes out.
    assert_eq!(
        h.message(
            NodeId(1),
            Segment::Ack {
                conn,
                ack: conn.isn + 2
            }
        ),
        vec![
            Effect::SetTimer {
                after: MS(25),
                timer: retransmit()
            },
            data(conn, conn.isn + 3, 2),
        ]
    );
    // A duplicate ack changes nothing.
    assert_eq!(
        h.message(
            NodeId(1),
            Segment::Ack {
                conn,
                ack: conn.isn + 2
            }
        ),
        vec![]
    );
    // An ack for everything stops the timer.
    assert_eq!(
        h.message(
            NodeId(1),
            Segment::Ack {
                conn,
                ack: conn.isn + 4
            }
        ),
        vec![Effect::CancelTimer {
            timer: retransmit()
        }]
    );
    assert_eq!(h.node().unacknowledged(NodeId(1)), 0);
}

#[test]
fn a_timeout_retransmits_the_window_and_backs_off() {
    let (mut h, conn) = established_sender();
    h.set_now(MS(40));
    // RFC 6298 §5.4–5.5: resend, double the RTO (30 → 60 ms).
    assert_eq!(
        h.timer(retransmit()),
        vec![
            data(conn, conn.isn + 1, 0),
            data(conn, conn.isn + 2, 1),
            Effect::SetTimer {
                after: MS(60),
                timer: retransmit()
            },
        ]
    );
    assert_eq!(h.node().stats().retransmissions, 2);
    // Karn's rule: the ack of a retransmitted segment gives no RTT sample,
    // so the backed-off RTO stays.
    h.set_now(MS(45));
    h.message(
        NodeId(1),
        Segment::Ack {
            conn,
            ack: conn.isn + 2,
        },
    );
    assert_eq!(h.node().rto(NodeId(1)), Some(MS(60)));
}

#[test]
fn a_full_send_queue_drops_and_counts() {
    let config = ReliableConfig {
        send_queue_max: 1,
        ..ReliableConfig::default()
    };
    let mut h = Harness::new(
        Reliable::new(Numbers::new(3), config).expect("valid reliable-channel configuration"),
        NodeId(0),
        2,
    );
    h.start();
    assert_eq!(h.node().queued(NodeId(1)), 1);
    assert_eq!(h.node().stats().queue_full_drops, 2);
}

/// n1 as the receiver of a connection from n0 with `isn` 1000.
fn established_receiver() -> (Harness<Node>, ConnId) {
    let mut h = Harness::new(
        Reliable::new(Numbers::new(0), ReliableConfig::default())
            .expect("valid reliable-channel configuration"),
        NodeId(1),
        2,
    );
    assert_eq!(h.start(), vec![]);
    let effects = h.message(NodeId(0), Segment::Syn { isn: 1000 });
    let [Effect::Send {
        to: NodeId(0),
        msg: Segment::SynAck { isn: 1000, nonce },
    }] = effects[..]
    else {
        panic!("expected one SynAck, got {effects:?}");
    };
    let conn = ConnId { isn: 1000, nonce };
    assert_eq!(h.message(NodeId(0), Segment::HandshakeAck { conn }), vec![]);
    (h, conn)
}

fn to_n0(msg: Segment<Number>) -> EffectOf<Node> {
    Effect::Send { to: NodeId(0), msg }
}

fn received(number: u32) -> EffectOf<Node> {
    Effect::Emit(Received {
        from: NodeId(0),
        number,
    })
}

fn data_from_n0(conn: ConnId, seq: u64, n: u32) -> Segment<Number> {
    Segment::Data {
        conn,
        seq,
        msg: Number(n),
    }
}

#[test]
fn a_duplicate_is_discarded_and_acknowledged_again() {
    let (mut h, conn) = established_receiver();
    assert_eq!(
        h.message(NodeId(0), data_from_n0(conn, 1001, 0)),
        vec![to_n0(Segment::Ack { conn, ack: 1002 }), received(0)]
    );
    assert_eq!(
        h.message(NodeId(0), data_from_n0(conn, 1001, 0)),
        vec![to_n0(Segment::Ack { conn, ack: 1002 })]
    );
    assert_eq!(h.node().stats().duplicates_discarded, 1);
}

#[test]
fn an_early_segment_waits_for_the_hole_to_fill() {
    let (mut h, conn) = established_receiver();
    assert_eq!(
        h.message(NodeId(0), data_from_n0(conn, 1002, 1)),
        vec![to_n0(Segment::Ack { conn, ack: 1001 })]
    );
    assert_eq!(
        h.message(NodeId(0), data_from_n0(conn, 1002, 1)),
        vec![to_n0(Segment::Ack { conn, ack: 1001 })],
        "an early duplicate is discarded too"
    );
    assert_eq!(
        h.message(NodeId(0), data_from_n0(conn, 1001, 0)),
        vec![
            to_n0(Segment::Ack { conn, ack: 1003 }),
            received(0),
            received(1)
        ]
    );
}

#[test]
fn data_before_the_handshake_ack_completes_the_handshake() {
    let mut h = Harness::new(
        Reliable::new(Numbers::new(0), ReliableConfig::default())
            .expect("valid reliable-channel configuration"),
        NodeId(1),
        2,
    );
    h.start();
    let effects = h.message(NodeId(0), Segment::Syn { isn: 5 });
    let [Effect::Send {
        msg: Segment::SynAck { nonce, .. },
        ..
    }] = effects[..]
    else {
        panic!("{effects:?}");
    };
    let conn = ConnId { isn: 5, nonce };
    // The HandshakeAck was lost; the first data segment proves the nonce.
    assert_eq!(
        h.message(NodeId(0), data_from_n0(conn, 6, 0)),
        vec![to_n0(Segment::Ack { conn, ack: 7 }), received(0)]
    );
}

// RFC 793 §3.4, figure 9 ("recovery from old duplicate SYN"): n0 restarted
// and opened a new connection; a delayed Syn of its old connection arrives.
#[test]
fn a_delayed_duplicate_syn_does_not_corrupt_a_new_connection() {
    let (mut h, old) = established_receiver();
    h.message(NodeId(0), data_from_n0(old, 1001, 0));
    // n0 restarts: its new incarnation draws a fresh isn.
    let effects = h.message(NodeId(0), Segment::Syn { isn: 7000 });
    let [Effect::Send {
        msg: Segment::SynAck { nonce, .. },
        ..
    }] = effects[..]
    else {
        panic!("{effects:?}");
    };
    let new = ConnId { isn: 7000, nonce };
    assert_eq!(
        h.message(NodeId(0), Segment::HandshakeAck { conn: new }),
        vec![]
    );
    assert_eq!(
        h.message(NodeId(0), data_from_n0(new, 7001, 0)),
        vec![
            to_n0(Segment::Ack {
                conn: new,
                ack: 7002
            }),
            received(0)
        ]
    );
    // The delayed duplicate Syn of the old connection: answered, but only a
    // pending entry nobody will confirm; the new connection is untouched.
    let effects = h.message(NodeId(0), Segment::Syn { isn: 1000 });
    assert!(
        matches!(
            effects[..],
            [Effect::Send {
                msg: Segment::SynAck { isn: 1000, .. },
                ..
            }]
        ),
        "{effects:?}"
    );
    assert_eq!(
        h.message(NodeId(0), data_from_n0(new, 7002, 1)),
        vec![
            to_n0(Segment::Ack {
                conn: new,
                ack: 7003
            }),
            received(1)
        ]
    );
    // Delayed segments of the old connection are refused with a Reset, not
    // delivered.
    assert_eq!(
        h.message(NodeId(0), data_from_n0(old, 1002, 1)),
        vec![to_n0(Segment::Reset { conn: old })]
    );
    assert_eq!(
        h.message(NodeId(0), Segment::HandshakeAck { conn: old }),
        vec![]
    );
    assert_eq!(
        h.message(NodeId(0), data_from_n0(new, 7003, 2)),
        vec![
            to_n0(Segment::Ack {
                conn: new,
                ack: 7004
            }),
            received(2)
        ]
    );
    assert_eq!(h.node().inner().received_from(NodeId(0)), &[0, 0, 1, 2]);
}

#[test]
fn a_stale_syn_ack_is_ignored_by_the_sender() {
    let (mut h, conn) = established_sender();
    assert_eq!(
        h.message(
            NodeId(1),
            Segment::SynAck {
                isn: conn.isn ^ 1,
                nonce: 5
            }
        ),
        vec![]
    );
    assert_eq!(
        h.message(
            NodeId(1),
            Segment::Ack {
                conn: ConnId { nonce: 5, ..conn },
                ack: conn.isn + 3
            }
        ),
        vec![],
        "an ack of another connection is ignored"
    );
}

#[test]
fn a_reset_reopens_and_resends_unacknowledged_messages_in_order() {
    let (mut h, conn) = established_sender();
    let effects = h.message(NodeId(1), Segment::Reset { conn });
    let Effect::Send {
        msg: Segment::Syn { isn },
        ..
    } = effects[0]
    else {
        panic!("{effects:?}");
    };
    assert_ne!(isn, conn.isn, "a fresh isn");
    assert_eq!(
        h.node().queued(NodeId(1)),
        3,
        "0, 1 and 2 wait for the new connection"
    );
    let new = ConnId { isn, nonce: 8 };
    let effects = h.message(NodeId(1), Segment::SynAck { isn, nonce: 8 });
    assert_eq!(
        effects[2..4],
        [data(new, isn + 1, 0), data(new, isn + 2, 1)]
    );
}

// RFC 6298 §2: SRTT/RTTVAR, clamped; §5.5: backoff.
#[test]
fn the_rto_follows_the_rtt() {
    let mut rtt = RttEstimator::new(MS(1000), MS(10), MS(4000));
    assert_eq!(rtt.rto(), MS(1000));
    rtt.sample(MS(40));
    assert_eq!((rtt.srtt(), rtt.rto()), (Some(MS(40)), MS(120)));
    for _ in 0..50 {
        rtt.sample(MS(40));
    }
    assert!(
        rtt.rto() < MS(45),
        "a steady RTT shrinks the variance: {:?}",
        rtt.rto()
    );
    for _ in 0..10 {
        rtt.back_off();
    }
    assert_eq!(rtt.rto(), MS(4000), "backoff is capped");
}

#[test]
fn a_lossy_run_really_retransmits_and_discards_duplicates() {
    let config = ReliableConfig::default();
    let mut sim = Simulation::new(2, 3, move |_| {
        Reliable::new(Numbers::new(50), config).expect("valid reliable-channel configuration")
    });
    let link = LinkConfig::default()
        .with_loss(0.5)
        .with_duplicate(0.2)
        .with_ordering(Ordering::Reorder);
    sim.set_all_links(link).unwrap();
    sim.run_until(Duration::from_secs(600)).unwrap();
    let stats = sim.node(NodeId(0)).unwrap().stats();
    assert_eq!(stats.delivered, 50);
    assert!(stats.retransmissions > 10, "{stats:?}");
    assert!(stats.duplicates_discarded > 0, "{stats:?}");
}

/// `numbers` is ascending by one from its first element.
fn consecutive(numbers: &[u32]) -> bool {
    numbers.windows(2).all(|w| w[1] == w[0] + 1)
}

// A restart in the simulator: the new incarnation of n1 opens new
// connections with fresh isns (delayed Syns and segments of the old ones
// are still in flight on a duplicating, reordering network), and n0's
// connection to n1 is reset and its unacknowledged messages resent.
#[test]
fn a_restarted_peer_gets_new_connections_across_50_seeds() {
    const COUNT: u32 = 40;
    check_seeds(0..50, |seed| {
        let config = ReliableConfig::default().with_window(4);
        let mut sim = Simulation::new(2, seed, move |_| {
            Reliable::new(Numbers::new(COUNT), config)
                .expect("valid reliable-channel configuration")
        });
        let link = LinkConfig::default()
            .with_loss(0.2)
            .with_duplicate(0.2)
            .with_ordering(Ordering::Reorder);
        sim.set_all_links(link).map_err(|e| e.to_string())?;
        let script = dsys_core::sim::Script::new()
            .wait(MS(40))
            .crash(NodeId(1))
            .wait(MS(100))
            .restart(NodeId(1));
        sim.schedule(&script).map_err(|e| e.to_string())?;
        sim.run_until(Duration::from_secs(600))
            .map_err(|e| e.to_string())?;
        // n1's new incarnation: a consecutive run up to the last number (the
        // beginning reached the old incarnation, or was resent to both).
        let n1 = sim.node(NodeId(1)).ok_or("n1 is down")?.inner();
        let got = n1.received_from(NodeId(0));
        if !consecutive(got) || got.last() != Some(&(COUNT - 1)) {
            return Err(format!("n1 received {got:?} from n0"));
        }
        // n0: what the old n1 sent (a prefix), then all the new n1 sent.
        let n0 = sim.node(NodeId(0)).ok_or("n0 is down")?.inner();
        let got = n0.received_from(NodeId(1));
        let split = got.len().checked_sub(COUNT as usize).ok_or("too few")?;
        let (old, new) = got.split_at(split);
        if !consecutive(old)
            || old.first().is_some_and(|&n| n != 0)
            || new != (0..COUNT).collect::<Vec<_>>()
        {
            return Err(format!("n0 received {got:?} from n1"));
        }
        Ok(())
    });
}

#[test]
fn data_segments_keep_the_inner_kind() {
    use dsys_core::Message;
    let conn = ConnId { isn: 1, nonce: 2 };
    assert_eq!(data_from_n0(conn, 2, 0).kind(), "Number");
    assert_eq!(Segment::<Number>::Ack { conn, ack: 2 }.kind(), "Ack");
}

// A window of 0 could never send: refused with an error, not a panic.
#[test]
fn a_zero_window_is_refused() {
    let refused = Reliable::new(Numbers::new(1), ReliableConfig::default().with_window(0));
    assert!(matches!(refused, Err(dsys_net::Error::InvalidConfig(_))));
}

// ----- mutation-testing gaps (issue #19): each test pins one outcome --------

// RFC 6298 §2.3: RTTVAR ← 3/4·RTTVAR + 1/4·|SRTT − R| on a sample that
// differs from SRTT (a steady RTT leaves the deviation term at 0).
#[test]
fn a_changing_rtt_moves_the_variance_by_a_quarter_of_the_deviation() {
    let mut rtt = RttEstimator::new(MS(1000), MS(10), MS(60_000));
    rtt.sample(MS(100)); // SRTT 100, RTTVAR 50
    rtt.sample(MS(200)); // RTTVAR 37.5 + 25 = 62.5, SRTT 87.5 + 25 = 112.5
    assert_eq!(rtt.srtt(), Some(Duration::from_micros(112_500)));
    // RTO = 112.5 + 4 × 62.5 = 362.5 ms.
    assert_eq!(rtt.rto(), Duration::from_micros(362_500));
}

#[test]
fn the_config_is_the_one_given() {
    let config = ReliableConfig {
        send_queue_max: 7,
        ..ReliableConfig::default().with_window(3)
    };
    let node = Reliable::new(Numbers::new(0), config).expect("valid configuration");
    assert_eq!(node.config(), &config);
}

#[test]
fn first_transmissions_are_counted_in_data_sent() {
    let (h, _) = established_sender();
    assert_eq!(
        h.node().stats().data_sent,
        2,
        "two segments fill the window"
    );
}

// A Syn retransmitted while the handshake is pending (RFC 793 §3.4): the
// same isn again, counted as a retransmission and a timeout, the RTO doubled.
#[test]
fn an_unanswered_syn_is_sent_again_and_counted() {
    let (mut h, _, isn) = started(
        Reliable::new(Numbers::new(1), ReliableConfig::default()).expect("valid configuration"),
    );
    assert_eq!(
        h.timer(retransmit()),
        vec![
            Effect::Send {
                to: NodeId(1),
                msg: Segment::Syn { isn }
            },
            Effect::SetTimer {
                after: MS(400),
                timer: retransmit()
            },
        ]
    );
    let stats = h.node().stats();
    assert_eq!((stats.retransmissions, stats.timeouts), (1, 1), "{stats:?}");
    h.timer(retransmit());
    let stats = h.node().stats();
    assert_eq!((stats.retransmissions, stats.timeouts), (2, 2), "{stats:?}");
}

#[test]
fn timeouts_count_each_expiry_of_the_data_timer() {
    let (mut h, _) = established_sender();
    h.timer(retransmit());
    h.timer(retransmit());
    let stats = h.node().stats();
    assert_eq!((stats.timeouts, stats.retransmissions), (2, 4), "{stats:?}");
}

// A SynAck whose isn is not the one of the pending Syn (an old handshake's)
// does not establish a connection: data keeps waiting.
#[test]
fn a_syn_ack_for_another_isn_does_not_open_the_connection() {
    let (mut h, _, isn) = started(
        Reliable::new(Numbers::new(2), ReliableConfig::default()).expect("valid configuration"),
    );
    assert_eq!(
        h.message(
            NodeId(1),
            Segment::SynAck {
                isn: isn ^ 1,
                nonce: 4
            }
        ),
        vec![]
    );
    assert_eq!(
        h.node().queued(NodeId(1)),
        2,
        "still waiting for the handshake"
    );
    assert_eq!(h.node().unacknowledged(NodeId(1)), 0);
}

// The sender's HandshakeAck was lost, so the receiver answers the
// retransmitted Syn again: the sender confirms again, and nothing else.
#[test]
fn a_repeated_syn_ack_of_the_live_connection_is_confirmed_again() {
    let (mut h, conn) = established_sender();
    assert_eq!(
        h.message(
            NodeId(1),
            Segment::SynAck {
                isn: conn.isn,
                nonce: conn.nonce
            }
        ),
        vec![Effect::Send {
            to: NodeId(1),
            msg: Segment::HandshakeAck { conn }
        }]
    );
    assert_eq!(h.node().unacknowledged(NodeId(1)), 2);
}

// A duplicate Syn is answered with the nonce already given, whether the
// connection is still pending or already live: a fresh nonce would make
// the sender's handshake ack and data unrecognisable.
#[test]
fn a_duplicate_syn_gets_the_same_nonce_pending_or_live() {
    let mut h = Harness::new(
        Reliable::new(Numbers::new(0), ReliableConfig::default()).expect("valid configuration"),
        NodeId(1),
        2,
    );
    h.start();
    let first = h.message(NodeId(0), Segment::Syn { isn: 1000 });
    let [Effect::Send {
        msg: Segment::SynAck { nonce, .. },
        ..
    }] = first[..]
    else {
        panic!("{first:?}");
    };
    // Pending: the duplicate gets the same answer.
    assert_eq!(h.message(NodeId(0), Segment::Syn { isn: 1000 }), first);
    let conn = ConnId { isn: 1000, nonce };
    h.message(NodeId(0), Segment::HandshakeAck { conn });
    // Live: the same answer again, and the connection still works.
    assert_eq!(h.message(NodeId(0), Segment::Syn { isn: 1000 }), first);
    assert_eq!(
        h.message(NodeId(0), data_from_n0(conn, 1001, 0)),
        vec![to_n0(Segment::Ack { conn, ack: 1002 }), received(0)]
    );
}

// The receive window is [next, next + window): a segment `window` ahead of
// the hole is outside it, discarded and counted, not buffered.
#[test]
fn a_segment_just_beyond_the_receive_window_is_discarded() {
    let (mut h, conn) = established_receiver();
    let window = ReliableConfig::default().window as u64;
    assert_eq!(
        h.message(NodeId(0), data_from_n0(conn, 1001 + window, 9)),
        vec![to_n0(Segment::Ack { conn, ack: 1001 })]
    );
    assert_eq!(h.node().stats().duplicates_discarded, 1);
    // The last seq inside the window is buffered, not discarded.
    h.message(NodeId(0), data_from_n0(conn, 1000 + window, 8));
    assert_eq!(h.node().stats().duplicates_discarded, 1);
}

#[test]
fn an_early_duplicate_is_counted_and_deliveries_are_totalled() {
    let (mut h, conn) = established_receiver();
    h.message(NodeId(0), data_from_n0(conn, 1002, 1));
    h.message(NodeId(0), data_from_n0(conn, 1002, 1));
    assert_eq!(h.node().stats().duplicates_discarded, 1);
    h.message(NodeId(0), data_from_n0(conn, 1001, 0));
    assert_eq!(h.node().stats().delivered, 2);
    assert_eq!(h.node().inner().received_total(), 2);
}

#[test]
fn a_reset_is_counted() {
    let (mut h, conn) = established_sender();
    h.message(NodeId(1), Segment::Reset { conn });
    assert_eq!(h.node().stats().resets, 1);
    // A reset of a connection that is no longer the live one is ignored.
    h.message(NodeId(1), Segment::Reset { conn });
    assert_eq!(h.node().stats().resets, 1);
}

/// An inner node that sends each request's number to n1.
#[derive(Debug)]
struct Forward;

impl dsys_core::Node for Forward {
    type Msg = Number;
    type Timer = ();
    type Request = u32;
    type Event = ();

    fn on_message(&mut self, _: &mut dsys_core::Context<'_, Self>, _: NodeId, _: Number) {}

    fn on_request(&mut self, ctx: &mut dsys_core::Context<'_, Self>, n: u32) {
        ctx.send(NodeId(1), Number(n));
    }
}

// Requests reach the inner node, and what it sends goes through the channel.
#[test]
fn a_request_reaches_the_inner_node() {
    let mut h = Harness::new(
        Reliable::new(Forward, ReliableConfig::default()).expect("valid configuration"),
        NodeId(0),
        2,
    );
    assert_eq!(h.start(), vec![]);
    let effects = h.request(7);
    assert!(
        matches!(
            effects[..],
            [
                Effect::Send {
                    to: NodeId(1),
                    msg: Segment::Syn { .. }
                },
                Effect::SetTimer { .. }
            ]
        ),
        "{effects:?}"
    );
    assert_eq!(h.node().queued(NodeId(1)), 1);
}

// The workload's checker: an incomplete run is refused, naming what is
// missing; a complete one passes.
#[test]
fn check_complete_refuses_missing_numbers() {
    let mut h = Harness::new(Numbers::new(2), NodeId(0), 2);
    h.message(NodeId(1), Number(0));
    let both = [NodeId(0), NodeId(1)];
    let err = h.node().check_complete(NodeId(0), &both).unwrap_err();
    assert!(err.contains("received 1 of 2"), "{err}");
    h.message(NodeId(1), Number(1));
    assert_eq!(h.node().check_complete(NodeId(0), &both), Ok(()));
    assert_eq!(h.node().received_total(), 2);
}
