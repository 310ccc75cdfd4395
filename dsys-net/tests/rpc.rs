//! RPC semantics: exact-effect handler tests, then a bank over a lossy
//! (0.3), duplicating (0.2) network across 300 seeds under each semantics
//! (Coulouris §5.3.1; Birrell & Nelson 1984 §3).

use std::time::Duration;

use dsys_core::scenario::SimOptions;
use dsys_core::sim::{LinkConfig, Ordering, Simulation};
use dsys_core::testing::{check_seeds, Harness};
use dsys_core::{Effect, EffectOf, NodeId};
use dsys_net::rpc::bank::{self, Bank, BankOp};
use dsys_net::rpc::{
    at_most_once, calls_finish, ClientConfig, RequestId, RetryPolicy, RetryTimer, RpcEvent, RpcMsg,
    RpcNode, Semantics,
};

const MS: fn(u64) -> Duration = Duration::from_millis;
const SEEDS: std::ops::Range<u64> = 0..300;
const CALLS_PER_CLIENT: u32 = 10;

fn deposit(amount: i64) -> BankOp {
    BankOp::Deposit { account: 1, amount }
}

fn started_client(config: ClientConfig) -> (Harness<RpcNode<Bank>>, u32) {
    let mut h = Harness::new(RpcNode::client(config), NodeId(1), 2);
    assert_eq!(h.start(), vec![]);
    let session = h.node().as_client().unwrap().session();
    (h, session)
}

fn id(session: u32, seq: u64) -> RequestId {
    RequestId { session, seq }
}

#[test]
fn a_call_sends_the_request_and_sets_its_timeout_then_completes_on_the_reply() {
    let (mut h, s) = started_client(ClientConfig::default());
    assert_eq!(
        h.request(deposit(10)),
        vec![
            Effect::Send {
                to: NodeId(0),
                msg: RpcMsg::Request {
                    id: id(s, 1),
                    op: deposit(10)
                }
            },
            Effect::SetTimer {
                after: MS(30),
                timer: RetryTimer(id(s, 1))
            },
        ]
    );
    let reply = RpcMsg::Reply {
        id: id(s, 1),
        reply: 10,
    };
    assert_eq!(
        h.message(NodeId(0), reply.clone()),
        vec![
            Effect::CancelTimer {
                timer: RetryTimer(id(s, 1))
            },
            Effect::Emit(RpcEvent::Completed {
                id: id(s, 1),
                reply: 10,
                tries: 1
            }),
        ]
    );
    // A duplicated reply changes nothing.
    assert_eq!(h.message(NodeId(0), reply), vec![]);
}

#[test]
fn a_timeout_retries_with_the_same_id_and_a_longer_timeout() {
    let (mut h, s) = started_client(ClientConfig::default());
    h.request(deposit(10));
    h.set_now(MS(30));
    assert_eq!(
        h.timer(RetryTimer(id(s, 1))),
        vec![
            Effect::Send {
                to: NodeId(0),
                msg: RpcMsg::Request {
                    id: id(s, 1),
                    op: deposit(10)
                }
            },
            Effect::SetTimer {
                after: MS(60),
                timer: RetryTimer(id(s, 1))
            },
        ]
    );
    assert_eq!(h.node().as_client().unwrap().stats().retries, 1);
}

#[test]
fn after_max_tries_the_client_gives_up_and_sends_the_next_call() {
    let config = ClientConfig {
        retry: RetryPolicy {
            tries_max: 2,
            ..RetryPolicy::default()
        },
        ..ClientConfig::default()
    };
    let (mut h, s) = started_client(config);
    h.request(deposit(10));
    h.request(deposit(20)); // queued behind the first
    h.timer(RetryTimer(id(s, 1)));
    assert_eq!(
        h.timer(RetryTimer(id(s, 1))),
        vec![
            Effect::Emit(RpcEvent::GaveUp {
                id: id(s, 1),
                op: deposit(10),
                tries: 2
            }),
            Effect::Send {
                to: NodeId(0),
                msg: RpcMsg::Request {
                    id: id(s, 2),
                    op: deposit(20)
                }
            },
            Effect::SetTimer {
                after: MS(30),
                timer: RetryTimer(id(s, 2))
            },
        ]
    );
    // The reply to the abandoned call, arriving late, is ignored.
    assert_eq!(
        h.message(
            NodeId(0),
            RpcMsg::Reply {
                id: id(s, 1),
                reply: 10
            }
        ),
        vec![]
    );
}

#[test]
fn a_full_queue_refuses_the_call() {
    let config = ClientConfig {
        queue_max: 1,
        ..ClientConfig::default()
    };
    let (mut h, _) = started_client(config);
    h.request(deposit(1)); // in flight
    h.request(deposit(2)); // queued
    assert_eq!(
        h.request(deposit(3)),
        vec![Effect::Emit(RpcEvent::Refused { op: deposit(3) })]
    );
}

fn server(semantics: Semantics) -> Harness<RpcNode<Bank>> {
    Harness::new(RpcNode::server(Bank::default(), semantics), NodeId(0), 2)
}

fn request(seq: u64, amount: i64) -> RpcMsg<BankOp, i64> {
    RpcMsg::Request {
        id: id(7, seq),
        op: deposit(amount),
    }
}

fn executed_and_replied(seq: u64, amount: i64, balance: i64) -> Vec<EffectOf<RpcNode<Bank>>> {
    vec![
        Effect::Emit(RpcEvent::Executed {
            client: NodeId(1),
            id: id(7, seq),
            op: deposit(amount),
        }),
        Effect::Send {
            to: NodeId(1),
            msg: RpcMsg::Reply {
                id: id(7, seq),
                reply: balance,
            },
        },
    ]
}

#[test]
fn at_most_once_executes_the_first_request_and_answers_a_duplicate_from_the_table() {
    let mut h = server(Semantics::AtMostOnce { table_max: 4 });
    assert_eq!(
        h.message(NodeId(1), request(1, 10)),
        executed_and_replied(1, 10, 10)
    );
    assert_eq!(
        h.message(NodeId(1), request(1, 10)),
        vec![
            Effect::Emit(RpcEvent::AnsweredFromCache {
                client: NodeId(1),
                id: id(7, 1)
            }),
            Effect::Send {
                to: NodeId(1),
                msg: RpcMsg::Reply {
                    id: id(7, 1),
                    reply: 10
                }
            },
        ]
    );
    let server = h.node().as_server().unwrap();
    assert_eq!(server.service().balance(1), 10);
    assert_eq!(server.stats().executions, 1);
}

#[test]
fn at_least_once_executes_a_duplicate_again() {
    let mut h = server(Semantics::AtLeastOnce);
    h.message(NodeId(1), request(1, 10));
    assert_eq!(
        h.message(NodeId(1), request(1, 10)),
        executed_and_replied(1, 10, 20)
    );
}

#[test]
fn a_full_table_evicts_the_oldest_entry_and_its_late_duplicate_runs_again() {
    // The documented window: table_max newer requests later, the old id is
    // forgotten.
    let mut h = server(Semantics::AtMostOnce { table_max: 2 });
    h.message(NodeId(1), request(1, 10));
    h.message(NodeId(1), request(2, 10));
    h.message(NodeId(1), request(3, 10));
    let server = h.node().as_server().unwrap();
    assert_eq!(
        (server.stats().evictions, server.table_len(NodeId(1))),
        (1, 2)
    );
    assert_eq!(
        h.message(NodeId(1), request(1, 10)),
        executed_and_replied(1, 10, 40)
    );
}

/// Three nodes (n0 the bank, n1 and n2 clients), every link losing 30 % and
/// duplicating 20 %; each client makes `CALLS_PER_CLIENT` calls on its own
/// account, one request every 10 ms.
fn run_bank(
    seed: u64,
    semantics: Semantics,
    op: fn(u32, u32) -> BankOp,
) -> Simulation<RpcNode<Bank>> {
    run_bank_on(seed, semantics, op, Ordering::Fifo)
}

fn run_bank_on(
    seed: u64,
    semantics: Semantics,
    op: fn(u32, u32) -> BankOp,
    ordering: Ordering,
) -> Simulation<RpcNode<Bank>> {
    let mut sim = Simulation::new(3, seed, bank::cluster(semantics, ClientConfig::default()));
    sim.set_measure_bytes(false);
    sim.set_all_links(
        LinkConfig::default()
            .with_loss(0.3)
            .with_duplicate(0.2)
            .with_ordering(ordering),
    )
    .unwrap();
    for client in 1..3 {
        for k in 0..CALLS_PER_CLIENT {
            sim.request_at(MS(10 * u64::from(k + 1)), NodeId(client), op(client, k))
                .unwrap();
        }
    }
    sim
}

fn deposit_ten(client: u32, _: u32) -> BankOp {
    BankOp::Deposit {
        account: client,
        amount: 10,
    }
}

fn set_balance(client: u32, k: u32) -> BankOp {
    BankOp::SetBalance {
        account: client,
        balance: i64::from(100 * client + k),
    }
}

// Coulouris §5.3.1: at-least-once re-executes retried requests.
#[test]
fn at_least_once_double_deposits_for_some_seed() {
    let mut caught = Vec::new();
    for seed in SEEDS {
        let mut sim = run_bank(seed, Semantics::AtLeastOnce, deposit_ten);
        sim.run_until(Duration::from_secs(10)).unwrap();
        calls_finish(&sim).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        if let Err(why) = at_most_once(sim.states()) {
            assert!(
                bank::balances_as_if_once(&sim).is_err(),
                "seed {seed}: executed twice ({why}) yet the balances add up"
            );
            caught.push(seed);
        }
    }
    assert!(
        !caught.is_empty(),
        "no seed double-deposited: the checker should have caught one"
    );
    println!(
        "{} of {} seeds double-deposited (first: {})",
        caught.len(),
        SEEDS.end,
        caught[0]
    );
}

// Birrell & Nelson §3: at-most-once with a table of replies.
#[test]
fn at_most_once_executes_every_request_at_most_once_on_every_seed() {
    let mut from_cache = 0;
    check_seeds(SEEDS, |seed| {
        let mut sim = run_bank(seed, Semantics::AtMostOnce { table_max: 8 }, deposit_ten);
        sim.invariant("at most once", at_most_once);
        sim.run_until(Duration::from_secs(10))
            .map_err(|e| e.to_string())?;
        calls_finish(&sim)?;
        bank::balances_as_if_once(&sim)?;
        let server = sim.node(NodeId(0)).unwrap().as_server().unwrap();
        from_cache += server.stats().answered_from_cache;
        for client in 1..3u32 {
            let c = sim.node(NodeId(client)).unwrap().as_client().unwrap();
            let executed = server
                .executions()
                .keys()
                .filter(|(from, _)| *from == NodeId(client))
                .count() as i64;
            let balance = server.service().balance(client);
            // Completed calls were executed; given-up ones maybe.
            if balance != 10 * executed || executed < c.stats().completed as i64 {
                return Err(format!(
                    "{client}: balance {balance}, {executed} executed, {:?}",
                    c.stats()
                ));
            }
        }
        Ok::<_, String>(())
    });
    assert!(from_cache > 0, "no duplicate ever reached the table");
}

// Coulouris §5.3.1: idempotent operations are safe under at-least-once.
#[test]
fn idempotent_set_balance_ends_in_the_correct_state_under_retries_on_every_seed() {
    let mut re_executed = 0;
    check_seeds(SEEDS, |seed| {
        let mut sim = run_bank(seed, Semantics::AtLeastOnce, set_balance);
        sim.run_until(Duration::from_secs(10))
            .map_err(|e| e.to_string())?;
        calls_finish(&sim)?;
        bank::balances_as_if_once(&sim)?;
        if at_most_once(sim.states()).is_err() {
            re_executed += 1;
        }
        // The correct state: the value of the last call the server executed.
        for client in 1..3u32 {
            let last = sim
                .events(NodeId(0))
                .iter()
                .rev()
                .find_map(|e| match e.event {
                    RpcEvent::Executed {
                        op: BankOp::SetBalance { account, balance },
                        ..
                    } if account == client => Some(balance),
                    _ => None,
                })
                .unwrap_or(0);
            let server = sim.node(NodeId(0)).unwrap().as_server().unwrap();
            let balance = server.service().balance(client);
            // Every call after the last one executed was given up unexecuted.
            let completed_last =
                sim.events(NodeId(client))
                    .iter()
                    .rev()
                    .find_map(|e| match e.event {
                        RpcEvent::Completed { reply, .. } => Some(reply),
                        _ => None,
                    });
            if balance != last || completed_last.is_some_and(|r| r > balance) {
                return Err(format!(
                    "n{client}: balance {balance}, last executed {last}, last completed {completed_last:?}"
                ));
            }
        }
        Ok::<_, String>(())
    });
    assert!(re_executed > 0, "no set_balance was ever executed twice");
}

// The window of the bounded table: on reordering links a duplicate can
// arrive after its entry was evicted. Eight entries cover a copy's lifetime
// (at most 10 ms in flight); one does not.
#[test]
fn on_reordering_links_a_table_of_eight_suffices_and_a_table_of_one_does_not() {
    check_seeds(SEEDS, |seed| {
        let mut sim = run_bank_on(
            seed,
            Semantics::AtMostOnce { table_max: 8 },
            deposit_ten,
            Ordering::Reorder,
        );
        sim.invariant("at most once", at_most_once);
        sim.run_until(Duration::from_secs(10))
            .map_err(|e| e.to_string())?;
        calls_finish(&sim)
    });
    let degraded = SEEDS
        .filter(|&seed| {
            let mut sim = run_bank_on(
                seed,
                Semantics::AtMostOnce { table_max: 1 },
                deposit_ten,
                Ordering::Reorder,
            );
            sim.run_until(Duration::from_secs(10)).unwrap();
            at_most_once(sim.states()).is_err()
        })
        .count();
    assert!(degraded > 0, "a table of one never forgot a live request");
}

#[test]
fn the_registered_scenario_passes_on_a_lossy_duplicating_network() {
    for seed in 0..20 {
        let options = SimOptions {
            seed,
            loss: 0.3,
            duplicate: 0.2,
            until: Duration::from_secs(10),
            ..SimOptions::default()
        };
        let outcome = (dsys_net::rpc::ALGORITHM.run)(&options).unwrap();
        if seed == 0 {
            println!("{}", outcome.report);
        }
        assert!(outcome.report.passed(), "{}", outcome.report);
        assert!(
            outcome
                .report
                .verdicts
                .iter()
                .all(|(_, v)| *v == dsys_core::scenario::Verdict::Holds),
            "{}",
            outcome.report
        );
    }
}

// ----- mutation-testing gaps (issue #19): each test pins one outcome --------

// A client is idle only with no call in flight and none queued: the
// termination checker relies on it.
#[test]
fn a_client_with_a_call_in_flight_is_not_idle() {
    let (mut h, s) = started_client(ClientConfig::default());
    assert!(h.node().as_client().unwrap().is_idle());
    h.request(deposit(10));
    assert!(
        !h.node().as_client().unwrap().is_idle(),
        "one call in flight, none queued"
    );
    h.request(deposit(20));
    assert!(!h.node().as_client().unwrap().is_idle());
    h.message(
        NodeId(0),
        RpcMsg::Reply {
            id: id(s, 1),
            reply: 10,
        },
    );
    assert!(!h.node().as_client().unwrap().is_idle(), "the second call");
    h.message(
        NodeId(0),
        RpcMsg::Reply {
            id: id(s, 2),
            reply: 30,
        },
    );
    assert!(h.node().as_client().unwrap().is_idle());
}

// The session is drawn at start, so that request ids differ across a
// client's restarts: two incarnations (different RNG seeds in the
// simulator) get different sessions, neither the unstarted 0.
#[test]
fn a_started_client_draws_a_session() {
    let (_, session) = started_client(ClientConfig::default());
    assert_ne!(session, 0, "the session is drawn at start");
    let sessions: std::collections::BTreeSet<u32> = (0..4)
        .map(|seed| {
            let mut sim = Simulation::new(
                2,
                seed,
                bank::cluster(Semantics::AtLeastOnce, ClientConfig::default()),
            );
            sim.run_until(MS(1)).unwrap();
            let client = sim.node(NodeId(1)).unwrap().as_client().unwrap();
            client.session()
        })
        .collect();
    assert_eq!(sessions.len(), 4, "{sessions:?}");
}

#[test]
fn refused_calls_and_received_requests_are_counted() {
    let config = ClientConfig {
        queue_max: 0,
        ..ClientConfig::default()
    };
    let (mut h, _) = started_client(config);
    h.request(deposit(1));
    h.request(deposit(2));
    assert_eq!(h.node().as_client().unwrap().stats().refused, 2);

    let mut h = server(Semantics::AtMostOnce { table_max: 4 });
    h.message(NodeId(1), request(1, 10));
    h.message(NodeId(1), request(1, 10));
    h.message(NodeId(1), request(2, 10));
    let stats = h.node().as_server().unwrap().stats();
    assert_eq!(
        (stats.requests, stats.executions, stats.answered_from_cache),
        (3, 2, 1)
    );
}

// A table of 0 keeps nothing: at-most-once degrades to at-least-once, and
// the server neither caches nor evicts (nor loops looking for an entry to
// evict).
#[test]
fn an_at_most_once_table_of_zero_caches_nothing() {
    let mut h = server(Semantics::AtMostOnce { table_max: 0 });
    h.message(NodeId(1), request(1, 10));
    assert_eq!(
        h.message(NodeId(1), request(1, 10)),
        executed_and_replied(1, 10, 20)
    );
    let server = h.node().as_server().unwrap();
    assert_eq!(server.table_len(NodeId(1)), 0);
    assert_eq!(server.stats().evictions, 0);
}

// The termination checker fails a run that ends with a call in flight.
#[test]
fn calls_finish_refuses_a_client_with_a_call_in_flight() {
    let mut sim = Simulation::new(
        2,
        1,
        bank::cluster(Semantics::AtLeastOnce, ClientConfig::default()),
    );
    sim.set_all_links(LinkConfig::default().with_loss(1.0))
        .unwrap();
    sim.request(NodeId(1), deposit(10)).unwrap();
    // The first timeout is 30 ms: the call is still in flight at 10 ms.
    sim.run_until(MS(10)).unwrap();
    let err = calls_finish(&sim).unwrap_err();
    assert!(err.contains("n1 still has calls in flight"), "{err}");
    // After five tries (30 + 60 + 120 + 240 + 240 ms) the client gives up.
    sim.run_until(MS(1000)).unwrap();
    assert_eq!(calls_finish(&sim), Ok(()));
}
