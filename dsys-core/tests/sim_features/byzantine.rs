//! Byzantine nodes in the simulator: each strategy does what it says, on a
//! small node whose every message is numbered, with exact counts and
//! contents; lies are a function of the seed; honest nodes are unaffected;
//! the trace marks what a Byzantine node did; the CLI options reach the
//! simulation.

use std::collections::BTreeMap;
use std::time::Duration;

use dsys_core::scenario::SimOptions;
use dsys_core::sim::{Latency, LinkConfig, Simulation, Strategy};
use dsys_core::trace::TraceKind;
use dsys_core::{Context, Error, Message, Node, NodeId};
use serde::{Deserialize, Serialize};

fn ms(x: u64) -> Duration {
    Duration::from_millis(x)
}

fn n(i: u32) -> NodeId {
    NodeId(i)
}

/// A numbered message.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Say(u32);
impl Message for Say {}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Tick;

/// Every 10 ms, for `rounds` rounds, broadcasts `Say(round)`; remembers
/// what it heard, from whom, when (its local clock: perfect here).
#[derive(Clone, Debug, Default)]
struct Talker {
    rounds: u32,
    next: u32,
    heard: Vec<(NodeId, u32, Duration)>,
}

impl Node for Talker {
    type Msg = Say;
    type Timer = Tick;
    type Request = ();
    type Event = ();

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        ctx.set_timer(ms(10), Tick);
    }
    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _: Tick) {
        ctx.broadcast(Say(self.next));
        self.next += 1;
        if self.next < self.rounds {
            ctx.set_timer(ms(10), Tick);
        }
    }
    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, Say(x): Say) {
        self.heard.push((from, x, ctx.now()));
    }
}

const ROUNDS: u32 = 5;

/// Three talkers on fixed 5 ms FIFO links, tracing.
fn talkers(seed: u64) -> Simulation<Talker> {
    let mut sim = Simulation::new(3, seed, |_| Talker {
        rounds: ROUNDS,
        ..Talker::default()
    });
    sim.set_all_links(LinkConfig::reliable(Latency::Fixed(ms(5))))
        .unwrap();
    sim.enable_trace();
    sim
}

/// What `to` heard from `from`: (number, local time of delivery).
fn heard(sim: &Simulation<Talker>, to: u32, from: u32) -> Vec<(u32, Duration)> {
    sim.node(n(to))
        .unwrap()
        .heard
        .iter()
        .filter(|(f, _, _)| *f == n(from))
        .map(|&(_, x, t)| (x, t))
        .collect()
}

fn numbers(sim: &Simulation<Talker>, to: u32, from: u32) -> Vec<u32> {
    heard(sim, to, from).into_iter().map(|(x, _)| x).collect()
}

/// What an honest n2 sends n0: round r at 10(r + 1) ms, arriving 5 ms later.
fn honest_schedule() -> Vec<(u32, Duration)> {
    (0..ROUNDS)
        .map(|r| (r, ms(10 * (u64::from(r) + 1) + 5)))
        .collect()
}

fn byzantine_sends(sim: &Simulation<Talker>) -> Vec<(NodeId, Option<u64>, String, u64)> {
    sim.trace()
        .unwrap()
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::ByzantineSend {
                to,
                msg_id,
                original,
                delay_ns,
            } => Some((*to, *msg_id, original.clone(), *delay_ns)),
            _ => None,
        })
        .collect()
}

#[test]
fn an_honest_run_for_reference() {
    let mut sim = talkers(1);
    sim.run_until(ms(200)).unwrap();
    assert_eq!(heard(&sim, 0, 2), honest_schedule());
    assert_eq!(sim.metrics().sent, 3 * 2 * u64::from(ROUNDS));
    assert!(sim.byzantine_nodes().is_empty());
}

#[test]
fn drop_with_probability_one_silences_the_node() {
    let mut sim = talkers(1);
    sim.byzantine(n(2), Strategy::silent()).unwrap();
    sim.run_until(ms(200)).unwrap();
    assert_eq!(numbers(&sim, 0, 2), Vec::<u32>::new());
    assert_eq!(numbers(&sim, 1, 2), Vec::<u32>::new());
    assert_eq!(numbers(&sim, 0, 1), vec![0, 1, 2, 3, 4], "n1 is heard");
    assert_eq!(sim.metrics().node(n(2)).unwrap().sent, 0);
    assert_eq!(
        sim.node(n(2)).unwrap().heard.len(),
        10,
        "n2 still hears everyone: its handlers run"
    );
    let withheld = byzantine_sends(&sim);
    assert_eq!(withheld.len(), 10, "one record per withheld message");
    assert!(withheld.iter().all(|(_, id, _, _)| id.is_none()));
    assert_eq!(withheld[0], (n(0), None, "Say(0)".to_string(), 0));
}

#[test]
fn drop_with_a_probability_withholds_some_and_passes_the_rest_unchanged() {
    let mut sim = talkers(3);
    sim.byzantine(n(2), Strategy::drop(0.5)).unwrap();
    sim.run_until(ms(200)).unwrap();
    let passed = numbers(&sim, 0, 2).len() + numbers(&sim, 1, 2).len();
    let withheld = byzantine_sends(&sim)
        .iter()
        .filter(|(_, id, _, _)| id.is_none())
        .count();
    assert_eq!(passed + withheld, 10);
    assert!(
        passed > 0 && withheld > 0,
        "passed {passed}, withheld {withheld}"
    );
    assert_eq!(sim.metrics().node(n(2)).unwrap().sent, passed as u64);
    // What passes is what was sent, in order.
    let to0 = numbers(&sim, 0, 2);
    assert!(to0.windows(2).all(|w| w[0] < w[1]), "{to0:?}");
}

#[test]
fn delay_holds_every_message_back_by_the_extra_delay() {
    let mut sim = talkers(1);
    sim.byzantine(n(2), Strategy::delay(ms(100), ms(100)))
        .unwrap();
    sim.run_until(ms(400)).unwrap();
    let expected: Vec<(u32, Duration)> = honest_schedule()
        .into_iter()
        .map(|(r, t)| (r, t + ms(100)))
        .collect();
    assert_eq!(heard(&sim, 0, 2), expected);
    assert_eq!(heard(&sim, 1, 2), expected);
    assert_eq!(heard(&sim, 0, 1), honest_schedule(), "n1 is on time");
    let records = byzantine_sends(&sim);
    assert_eq!(records.len(), 10);
    assert!(records
        .iter()
        .all(|(_, id, _, d)| id.is_some() && *d == 100_000_000));
}

#[test]
fn delay_samples_within_its_range() {
    let mut sim = talkers(5);
    sim.byzantine(n(2), Strategy::delay(ms(20), ms(60)))
        .unwrap();
    sim.run_until(ms(400)).unwrap();
    for ((r, t), (_, honest)) in heard(&sim, 0, 2).into_iter().zip(honest_schedule()) {
        // FIFO: a message never overtakes one put on the network before it,
        // so it may wait for it beyond its own delay, never less.
        assert!(t >= honest + ms(20), "Say({r}) at {t:?}");
        assert!(t <= honest + ms(60) + ms(60), "Say({r}) at {t:?}");
    }
}

#[test]
fn equivocation_tells_each_peer_its_own_story() {
    let mut sim = talkers(1);
    sim.byzantine(
        n(2),
        Strategy::equivocate(|to: NodeId, Say(x): &Say| Say(x + 100 * to.0)),
    )
    .unwrap();
    sim.run_until(ms(200)).unwrap();
    assert_eq!(heard(&sim, 0, 2), honest_schedule());
    assert_eq!(numbers(&sim, 1, 2), vec![100, 101, 102, 103, 104]);
    assert_eq!(sim.metrics().node(n(2)).unwrap().sent, 10);
    let records = byzantine_sends(&sim);
    assert_eq!(records[1].0, n(1));
    assert_eq!(records[1].2, "Say(0)", "the original is recorded");
}

#[test]
fn tampering_alters_every_message_the_same_way() {
    let mut sim = talkers(1);
    sim.byzantine(n(2), Strategy::tamper(|Say(x): &Say| Say(x * 10)))
        .unwrap();
    sim.run_until(ms(200)).unwrap();
    assert_eq!(numbers(&sim, 0, 2), vec![0, 10, 20, 30, 40]);
    assert_eq!(numbers(&sim, 1, 2), vec![0, 10, 20, 30, 40]);
}

#[test]
fn replay_resends_earlier_messages_later() {
    let mut sim = talkers(1);
    sim.byzantine(n(2), Strategy::replay(1.0, ms(1), ms(1)))
        .unwrap();
    sim.run_until(ms(300)).unwrap();
    // 10 handler sends; every one after the first brings one replay.
    assert_eq!(sim.metrics().node(n(2)).unwrap().sent, 10 + 9);
    let to0 = numbers(&sim, 0, 2);
    let to1 = numbers(&sim, 1, 2);
    assert_eq!(to0.len() + to1.len(), 19);
    // The originals all arrive, once each, in order.
    for to in [&to0, &to1] {
        let mut firsts: Vec<u32> = Vec::new();
        for &x in to.iter() {
            if !firsts.contains(&x) {
                firsts.push(x);
            }
        }
        assert_eq!(firsts, vec![0, 1, 2, 3, 4]);
    }
    // A replay is an old message: it never runs ahead of the rounds sent.
    let replays: Vec<_> = byzantine_sends(&sim)
        .into_iter()
        .filter(|(_, _, _, delay)| *delay > 0)
        .collect();
    assert_eq!(replays.len(), 9);
    assert!(replays.iter().all(|(_, _, _, d)| *d == 1_000_000));
}

#[test]
fn a_custom_strategy_sees_history_and_gets_its_own_rng() {
    let mut sim = talkers(1);
    sim.byzantine(
        n(2),
        Strategy::custom(|ctx, to, msg: Say| {
            assert_eq!(ctx.node(), n(2));
            assert_eq!(ctx.cluster_size(), 3);
            assert_eq!(ctx.peers().collect::<Vec<_>>(), vec![n(0), n(1)]);
            let tag = 1000 + ctx.sent().len() as u32;
            vec![(to, msg, Duration::ZERO), (to, Say(tag), ms(1))]
        }),
    )
    .unwrap();
    sim.run_until(ms(200)).unwrap();
    // n2's handler sends to n0 then n1 each round: n0 gets sends 0, 2, 4, …
    assert_eq!(
        numbers(&sim, 0, 2),
        vec![0, 1000, 1, 1002, 2, 1004, 3, 1006, 4, 1008]
    );
    assert_eq!(
        numbers(&sim, 1, 2),
        vec![0, 1001, 1, 1003, 2, 1005, 3, 1007, 4, 1009]
    );
}

/// A random liar: flips coins for drops, values and delays.
fn random_liar() -> Strategy<Say> {
    use dsys_core::rand::RngExt;
    Strategy::custom(|ctx, to, Say(x)| {
        if ctx.rng().random_bool(0.3) {
            return Vec::new();
        }
        let lie = ctx.rng().random_range(0..1000);
        let delay = ms(ctx.rng().random_range(0..50));
        vec![(to, Say(x + lie), delay)]
    })
}

fn lying_run(seed: u64) -> String {
    let mut sim = talkers(seed);
    sim.set_all_links(LinkConfig::default().with_loss(0.1))
        .unwrap();
    sim.byzantine(n(1), random_liar()).unwrap();
    sim.byzantine(n(2), Strategy::replay(0.5, ms(1), ms(80)))
        .unwrap();
    sim.run_until(ms(500)).unwrap();
    sim.trace().unwrap().to_jsonl()
}

#[test]
fn lies_are_a_function_of_the_seed() {
    assert_eq!(
        lying_run(11),
        lying_run(11),
        "same seed, same run, byte for byte"
    );
    assert_ne!(lying_run(11), lying_run(12));
}

#[test]
fn honest_nodes_are_unaffected() {
    // Equivocation draws nothing from the network's RNG and sends as many
    // messages: what honest nodes send each other is identical, to the
    // nanosecond, with and without the liar.
    let mut honest = talkers(9);
    honest
        .set_all_links(LinkConfig::reliable(Latency::uniform_ms(1, 10)))
        .unwrap();
    honest.run_until(ms(300)).unwrap();
    let mut lying = talkers(9);
    lying
        .set_all_links(LinkConfig::reliable(Latency::uniform_ms(1, 10)))
        .unwrap();
    lying
        .byzantine(n(2), Strategy::equivocate(|_, Say(x): &Say| Say(x + 7)))
        .unwrap();
    lying.run_until(ms(300)).unwrap();
    assert_eq!(heard(&honest, 0, 1), heard(&lying, 0, 1));
    assert_eq!(heard(&honest, 1, 0), heard(&lying, 1, 0));
    assert_ne!(heard(&honest, 0, 2), heard(&lying, 0, 2));
    // The liar's handlers hear what they would have heard honestly.
    assert_eq!(
        honest.node(n(2)).unwrap().heard,
        lying.node(n(2)).unwrap().heard
    );
}

#[test]
fn a_node_turns_byzantine_and_honest_again_on_schedule() {
    let mut sim = talkers(1);
    sim.byzantine_at(ms(15), n(2), Strategy::tamper(|Say(x): &Say| Say(x + 50)))
        .unwrap();
    sim.call_at(ms(35), |sim| sim.honest(n(2)).unwrap());
    sim.run_until(ms(200)).unwrap();
    // Round 0 at 10 ms honest, rounds 1 and 2 (20, 30 ms) tampered, then honest.
    assert_eq!(numbers(&sim, 0, 2), vec![0, 51, 52, 3, 4]);
    assert!(sim.byzantine_nodes().is_empty());
    let marks: Vec<(Option<NodeId>, String)> = sim
        .trace()
        .unwrap()
        .events()
        .iter()
        .filter(|e| matches!(e.kind, TraceKind::Byzantine { .. } | TraceKind::Honest))
        .map(|e| (e.node, e.kind.name().to_string()))
        .collect();
    assert_eq!(
        marks,
        vec![
            (Some(n(2)), "byzantine".to_string()),
            (Some(n(2)), "honest".to_string())
        ]
    );
}

#[test]
fn held_messages_die_with_their_node() {
    let mut sim = talkers(1);
    sim.byzantine(n(2), Strategy::delay(ms(100), ms(100)))
        .unwrap();
    sim.call_at(ms(55), |sim| sim.crash(n(2)).unwrap());
    sim.run_until(ms(400)).unwrap();
    assert_eq!(numbers(&sim, 0, 2), Vec::<u32>::new());
    assert_eq!(sim.metrics().node(n(2)).unwrap().sent, 0);
    assert_eq!(
        sim.byzantine_nodes(),
        vec![n(2)],
        "the strategy outlives a crash"
    );
}

#[test]
fn the_trace_links_each_byzantine_send_to_its_send_and_round_trips() {
    let mut sim = talkers(1);
    sim.byzantine(n(2), Strategy::tamper(|Say(x): &Say| Say(x + 1)))
        .unwrap();
    sim.run_until(ms(100)).unwrap();
    let trace = sim.trace().unwrap();
    let sends: BTreeMap<u64, (NodeId, String)> = trace
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Send { msg_id, msg, .. } => Some((*msg_id, (e.node.unwrap(), msg.clone()))),
            _ => None,
        })
        .collect();
    let forged = byzantine_sends(&sim);
    assert_eq!(forged.len(), 10);
    for (_, id, original, _) in &forged {
        let (node, msg) = &sends[&id.unwrap()];
        assert_eq!(*node, n(2));
        let x: u32 = original[4..original.len() - 1].parse().unwrap();
        assert_eq!(*msg, format!("Say({})", x + 1));
    }
    let jsonl = trace.to_jsonl();
    assert!(
        jsonl.contains(r#""type":"byzantine","strategy":"tamper""#),
        "{jsonl}"
    );
    assert!(jsonl.contains(r#""type":"byzantine_send""#));
    assert_eq!(dsys_core::trace::Trace::read_jsonl(&jsonl).unwrap(), *trace);
    // Annotations have no clock: ShiViz sees only the node's own events.
    assert!(!trace.to_shiviz().contains("Byzantine"));
}

#[test]
fn bad_strategies_and_unknown_nodes_are_errors() {
    let mut sim = talkers(1);
    assert!(matches!(
        sim.byzantine(n(7), Strategy::silent()),
        Err(Error::UnknownNode { .. })
    ));
    assert!(matches!(
        sim.byzantine(n(1), Strategy::drop(1.5)),
        Err(Error::InvalidConfig(_))
    ));
    assert!(matches!(
        sim.byzantine(n(1), Strategy::delay(ms(5), ms(1))),
        Err(Error::InvalidConfig(_))
    ));
    assert!(sim.byzantine_nodes().is_empty());
}

#[test]
fn the_cli_options_make_nodes_byzantine_in_any_scenario() {
    let options = SimOptions {
        nodes: 3,
        seed: 4,
        byzantine: vec!["2:drop".parse().unwrap()],
        ..SimOptions::default()
    };
    let outcome = (dsys_core::ping_pong::ALGORITHM.run)(&options).unwrap();
    assert_eq!(outcome.report.byzantine, vec![n(2)]);
    assert_eq!(outcome.report.metrics.node(n(2)).unwrap().sent, 0);
    assert!(outcome
        .report
        .to_string()
        .contains("Byzantine: n2 (n2 drop=1)"));
    let options = SimOptions {
        byzantine: vec!["2:equivocate".parse().unwrap()],
        ..options
    };
    let error = (dsys_core::ping_pong::ALGORITHM.run)(&options).unwrap_err();
    assert!(matches!(error, Error::InvalidConfig(_)), "{error}");
}
