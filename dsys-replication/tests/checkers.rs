//! The checkers on histories from real (simulated) runs, broken on
//! purpose, and at their limits. The brute-force comparison is in
//! `differential.rs`.

use crate::oracle;

use dsys_replication::consistency::generate::{self, etcd_corpus, Breakage, RunConfig};
use dsys_replication::consistency::history::{History, Operation};
use dsys_replication::consistency::model::Model;
use dsys_replication::consistency::models::{
    CasRegister, Kv, KvOp, KvRet, Queue, QueueOp, QueueRet, Register, RegisterOp, RegisterRet,
};
use dsys_replication::consistency::report::{Budget, Verdict};
use dsys_replication::consistency::{check_linearizable, check_sequential};
use oracle::{check_order, Property};

fn configs() -> Vec<RunConfig> {
    vec![
        RunConfig {
            clients: 1,
            ops: 30,
            ..RunConfig::default()
        },
        RunConfig {
            clients: 3,
            ops: 60,
            lost_per_mille: 0,
            unknown_per_mille: 0,
            ..RunConfig::default()
        },
        RunConfig {
            clients: 5,
            ops: 120,
            ..RunConfig::default()
        },
        RunConfig {
            clients: 8,
            ops: 150,
            lost_per_mille: 50,
            latency_max: 40,
            pause_max: 0,
            ..RunConfig::default()
        },
    ]
}

/// Both checkers hold, with witnesses that are valid orders.
fn holds<M: Model>(model: &M, h: &History<M::Input, M::Output>, what: &str) {
    h.validate().unwrap();
    let lin = check_linearizable(model, h, Budget::default());
    assert!(lin.holds(), "{what}: {lin}");
    for part in &lin.parts {
        let witness = part.witness.as_ref().unwrap();
        check_order(model, h, &part.ops, witness, Property::Linearizable, true)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
    }
    let sc = check_sequential(model, h, Budget::default());
    assert!(sc.holds(), "{what}: {sc}");
    check_order(
        model,
        h,
        &sc.parts[0].ops,
        sc.parts[0].witness.as_ref().unwrap(),
        Property::Sequential,
        true,
    )
    .unwrap_or_else(|e| panic!("{what}: {e}"));
}

#[test]
fn histories_of_correct_objects_are_linearizable_and_sequentially_consistent() {
    for (c, config) in configs().iter().enumerate() {
        for seed in 0..25 {
            let what = |m: &str| format!("{m}, config {c}, seed {seed}");
            holds(
                &CasRegister::new(),
                &generate::cas_register(config, seed),
                &what("cas-register"),
            );
            holds(
                &Register::new(),
                &generate::register(config, seed),
                &what("register"),
            );
            holds(&Kv, &generate::kv(config, 3, seed), &what("kv"));
            // A queue's search is exponential when many concurrent
            // enqueues are told apart only by much later dequeues: checked
            // on the shorter runs only (see the report's limits).
            if config.ops <= 60 {
                holds(
                    &Queue::new(),
                    &generate::queue(config, seed),
                    &what("queue"),
                );
            }
        }
    }
}

/// A history whose every call has returned before `end`, with no lost
/// calls (a lost write could explain anything).
fn settled<I, O>(h: History<I, O>) -> (Vec<Operation<I, O>>, u64) {
    let ops = h.into_ops();
    let end = ops.iter().filter_map(|op| op.complete).max().unwrap_or(0) + 1;
    (ops, end)
}

fn no_losses(ops: usize) -> RunConfig {
    RunConfig {
        clients: 4,
        ops,
        lost_per_mille: 0,
        unknown_per_mille: 50,
        ..RunConfig::default()
    }
}

#[test]
fn a_stale_read_after_a_completed_write_is_caught() {
    for seed in 0..20 {
        let h = generate::cas_register(&no_losses(80), seed);
        let final_value = {
            let report = check_linearizable(&CasRegister::new(), &h, Budget::default());
            report.parts[0]
                .witness
                .as_ref()
                .unwrap()
                .last()
                .and_then(|s| s.state)
        };
        let (mut ops, end) = settled(h);
        // Client 100 writes 9 (a value never used before); client 101 then
        // reads what the register held before.
        ops.push(Operation {
            client: 100,
            invoke: end,
            complete: Some(end + 1),
            input: RegisterOp::Write(9),
            output: Some(RegisterRet::Written),
        });
        ops.push(Operation {
            client: 101,
            invoke: end + 2,
            complete: Some(end + 3),
            input: RegisterOp::Read,
            output: Some(RegisterRet::Value(final_value)),
        });
        let h = History::from(ops);
        let report = check_linearizable(&CasRegister::new(), &h, Budget::default());
        assert_eq!(report.verdict, Verdict::Violated, "seed {seed}");
        let failing = &report.parts[0].failing;
        let (write, read) = (h.len() - 2, h.len() - 1);
        assert!(
            failing.contains(&write) && failing.contains(&read),
            "seed {seed}: {failing:?}"
        );
        // Real time aside, the read could come first: sequentially consistent.
        assert!(
            check_sequential(&CasRegister::new(), &h, Budget::default()).holds(),
            "seed {seed}"
        );
    }
}

#[test]
fn a_lost_write_is_caught() {
    for seed in 0..20 {
        // An acknowledged enqueue whose value never comes out.
        // (No dequeue without result either: in sequential consistency one
        // could be ordered after the enqueue and have taken the 7.)
        let config = RunConfig {
            unknown_per_mille: 0,
            clients: 3,
            ..no_losses(24)
        };
        let (mut ops, end) = settled(generate::queue(&config, seed));
        let mut queue: std::collections::VecDeque<i64> = Default::default();
        let report = check_linearizable(
            &Queue::new(),
            &History::from(ops.clone()),
            Budget::default(),
        );
        if let Some(last) = report.parts[0].witness.as_ref().unwrap().last() {
            queue = last.state.clone();
        }
        ops.push(Operation {
            client: 100,
            invoke: end,
            complete: Some(end + 1),
            input: QueueOp::Enqueue(7),
            output: Some(QueueRet::Enqueued),
        });
        let mut t = end + 2;
        // The same client then drains the queue: 7 never comes out.
        for value in queue.iter().copied().map(Some).chain([None]) {
            ops.push(Operation {
                client: 100,
                invoke: t,
                complete: Some(t + 1),
                input: QueueOp::Dequeue,
                output: Some(QueueRet::Dequeued(value)),
            });
            t += 2;
        }
        let h = History::from(ops);
        h.validate().unwrap();
        assert_eq!(
            check_linearizable(&Queue::new(), &h, Budget::default()).verdict,
            Verdict::Violated,
            "seed {seed}"
        );
        assert_eq!(
            check_sequential(&Queue::new(), &h, Budget::default()).verdict,
            Verdict::Violated,
            "seed {seed}"
        );

        // An acknowledged append missing from the value read after it.
        let (mut ops, end) = settled(generate::kv(&no_losses(60), 2, seed));
        let before = KvOp::Get { key: "k0".into() };
        let current = {
            let report = check_linearizable(&Kv, &History::from(ops.clone()), Budget::default());
            let part = report
                .parts
                .iter()
                .find(|p| p.ops.iter().any(|&i| ops[i].input.key() == "k0"));
            part.and_then(|p| {
                p.witness
                    .as_ref()
                    .unwrap()
                    .last()
                    .map(|s| s.state.get("k0").cloned().unwrap_or_default())
            })
            .unwrap_or_default()
        };
        ops.push(Operation {
            client: 100,
            invoke: end,
            complete: Some(end + 1),
            input: KvOp::Append {
                key: "k0".into(),
                value: "z".into(),
            },
            output: Some(KvRet::Done),
        });
        ops.push(Operation {
            client: 101,
            invoke: end + 2,
            complete: Some(end + 3),
            input: before,
            output: Some(KvRet::Value(current)),
        });
        let h = History::from(ops);
        assert_eq!(
            check_linearizable(&Kv, &h, Budget::default()).verdict,
            Verdict::Violated,
            "kv seed {seed}"
        );
    }
}

#[test]
fn a_read_of_a_value_never_written_is_caught_by_both() {
    let mut caught = 0;
    for (h, breakage) in etcd_corpus(12, 80, 5) {
        if breakage != Breakage::NeverWritten {
            continue;
        }
        let broken = h
            .ops()
            .iter()
            .position(|op| op.output == Some(RegisterRet::Value(Some(5))))
            .unwrap();
        let lin = check_linearizable(&CasRegister::new(), &h, Budget::default());
        assert_eq!(lin.verdict, Verdict::Violated);
        assert!(
            lin.parts[0].failing.contains(&broken),
            "{:?}",
            lin.parts[0].failing
        );
        caught += 1;
    }
    assert!(caught >= 2);
    // Sequential consistency too, on a short run (the search is
    // exponential in clients).
    for seed in 0..10 {
        let mut ops = generate::cas_register(
            &RunConfig {
                clients: 3,
                ops: 40,
                ..RunConfig::default()
            },
            seed,
        )
        .into_ops();
        let read = ops
            .iter()
            .position(|op| op.input == RegisterOp::Read && op.output.is_some())
            .unwrap();
        ops[read].output = Some(RegisterRet::Value(Some(5)));
        let h = History::from(ops);
        let sc = check_sequential(&CasRegister::new(), &h, Budget::default());
        assert_eq!(sc.verdict, Verdict::Violated, "seed {seed}");
        // With every other operation relaxed the read is still wrong; the
        // shrinking may run out of budget before getting down to it alone.
        let failing = &sc.parts[0].failing;
        assert!(failing.contains(&read), "seed {seed}: {failing:?}");
    }
}

#[test]
fn a_call_that_returned_without_result_took_effect() {
    let mut h = History::new();
    h.push(Operation {
        client: 0,
        invoke: 0,
        complete: Some(1),
        input: RegisterOp::Write(1),
        output: None,
    });
    h.complete_op(1, 2, 3, RegisterOp::Read, RegisterRet::Value(None));
    assert_eq!(
        check_linearizable(&Register::<u8>::new(), &h, Budget::default()).verdict,
        Verdict::Violated
    );
    // Had it never returned, it might not have.
    let mut h = History::new();
    h.open_op(0, 0, RegisterOp::Write(1));
    h.complete_op(1, 2, 3, RegisterOp::Read, RegisterRet::Value(None));
    assert!(check_linearizable(&Register::<u8>::new(), &h, Budget::default()).holds());
    assert!(check_sequential(&Register::<u8>::new(), &h, Budget::default()).holds());
    // A call that never returned need not be possible at all.
    let mut h = History::new();
    h.open_op(0, 0, RegisterOp::Cas { expect: 1, new: 2 });
    assert!(check_linearizable(&Register::<u8>::new(), &h, Budget::default()).holds());
    assert!(check_sequential(&Register::<u8>::new(), &h, Budget::default()).holds());
}

#[test]
fn calls_at_one_instant_keep_locality() {
    // Client A: put x then put y; client B: put y then put x; all four
    // at instant 5 and every key read afterwards in an order that needs
    // B's put x after A's and A's put y after B's: a cycle through
    // program order. Per key it might look fine; the instant's rule keeps
    // linearizability local (the whole and the parts agree).
    let put = |k: &str, v: &str| KvOp::Put {
        key: k.into(),
        value: v.into(),
    };
    let get = |k: &str| KvOp::Get { key: k.into() };
    let mut h = History::new();
    h.complete_op(0, 5, 5, put("x", "a"), KvRet::Done);
    h.complete_op(0, 5, 5, put("y", "a"), KvRet::Done);
    h.complete_op(1, 5, 5, put("y", "b"), KvRet::Done);
    h.complete_op(1, 5, 5, put("x", "b"), KvRet::Done);
    h.complete_op(2, 9, 10, get("x"), KvRet::Value("a".into()));
    h.complete_op(2, 11, 12, get("y"), KvRet::Value("b".into()));
    h.validate().unwrap();
    let report = check_linearizable(&Kv, &h, Budget::default());
    let whole = oracle::brute(&Kv, h.ops(), Property::Linearizable);
    assert_eq!(report.holds(), whole, "{report}");
}

#[test]
fn a_read_no_order_can_explain_is_caught_without_a_search() {
    // A read of 5, a value no call writes: whatever the order and whichever
    // lost calls took effect, no state answers it. That is found before
    // any search (one step would not suffice for one), and the read alone
    // is the failing set.
    let h = etcd_corpus(4, 80, 3)
        .into_iter()
        .find(|(_, b)| *b == Breakage::NeverWritten)
        .unwrap()
        .0;
    let broken = h
        .ops()
        .iter()
        .position(|op| op.output == Some(RegisterRet::Value(Some(5))))
        .unwrap();
    let one_step = Budget {
        steps_max: Some(1),
        stop: None,
    };
    let lin = check_linearizable(&CasRegister::new(), &h, one_step);
    assert_eq!(lin.verdict, Verdict::Violated, "{lin}");
    assert_eq!(lin.parts[0].failing, vec![broken]);
    let sc = check_sequential(&CasRegister::new(), &h, one_step);
    assert_eq!(sc.verdict, Verdict::Violated, "{sc}");
    assert_eq!(sc.parts[0].failing, vec![broken]);
    // The longest prefix still comes from a (short) search: it stops
    // where the read would have to go.
    let full = check_linearizable(&CasRegister::new(), &h, Budget::default());
    let prefix = &full.parts[0].longest_prefix;
    assert!(!prefix.is_empty());
    assert!(prefix.iter().all(|step| step.op != broken));
}

#[test]
fn budgets_end_in_unknown() {
    let h = etcd_corpus(8, 80, 3)
        .into_iter()
        .find(|(h, b)| {
            *b == Breakage::OtherValue
                && check_linearizable(&CasRegister::new(), h, Budget::default()).verdict
                    == Verdict::Violated
        })
        .unwrap()
        .0;
    let one_step = Budget {
        steps_max: Some(1),
        stop: None,
    };
    let lin = check_linearizable(&CasRegister::new(), &h, one_step);
    assert_eq!(lin.verdict, Verdict::Unknown);
    assert_eq!(lin.parts[0].steps, 2, "stopped at once");
    assert!(lin.parts[0].failing.is_empty());
    assert_eq!(
        check_sequential(&CasRegister::new(), &h, one_step).verdict,
        Verdict::Unknown
    );
    let no_time = Budget {
        steps_max: None,
        stop: Some(|| true),
    };
    assert_eq!(
        check_linearizable(&CasRegister::new(), &h, no_time).verdict,
        Verdict::Unknown
    );
    assert_eq!(
        check_sequential(&CasRegister::new(), &h, no_time).verdict,
        Verdict::Unknown
    );
    // A correct history within a generous budget is judged.
    let h = generate::cas_register(&RunConfig::default(), 1);
    assert!(check_linearizable(&CasRegister::new(), &h, Budget::default()).holds());
}

#[test]
fn bad_input_does_not_panic() {
    /// A model whose partition names operations that do not exist.
    #[derive(Debug)]
    struct Sloppy;
    impl Model for Sloppy {
        type Input = RegisterOp<u8>;
        type Output = RegisterRet<u8>;
        type State = Option<u8>;
        fn name(&self) -> &'static str {
            "sloppy"
        }
        fn init(&self) -> Option<u8> {
            None
        }
        fn step(
            &self,
            s: &Option<u8>,
            i: &RegisterOp<u8>,
            o: Option<&RegisterRet<u8>>,
        ) -> Option<Option<u8>> {
            CasRegister::new().step(s, i, o)
        }
        fn partition(&self, _: &[Operation<RegisterOp<u8>, RegisterRet<u8>>]) -> Vec<Vec<usize>> {
            vec![vec![0, 0, 7, 1], vec![]]
        }
    }
    // An invalid history too: client 0's calls overlap, and one comes
    // after a call that never returned.
    let mut h = History::new();
    h.complete_op(0, 0, 10, RegisterOp::Write(1), RegisterRet::Written);
    h.complete_op(0, 5, 6, RegisterOp::Read, RegisterRet::Value(Some(1)));
    h.open_op(1, 0, RegisterOp::Write(2));
    h.complete_op(1, 20, 21, RegisterOp::Read, RegisterRet::Value(Some(2)));
    assert!(h.validate().is_err());
    let lin = check_linearizable(&Sloppy, &h, Budget::default());
    assert_eq!(lin.parts[0].ops, vec![0, 1]);
    let _ = check_sequential(&Sloppy, &h, Budget::default());
    let _ = check_linearizable(&CasRegister::new(), &h, Budget::default());
    assert_eq!(
        check_linearizable(
            &CasRegister::<u8>::new(),
            &History::new(),
            Budget::default()
        )
        .verdict,
        Verdict::Holds
    );
    assert_eq!(
        check_sequential(&Kv, &History::new(), Budget::default()).verdict,
        Verdict::Holds
    );
}

#[test]
fn reports_say_what_failed() {
    let mut h = History::new();
    h.complete_op(0, 0, 10, RegisterOp::Write(100u32), RegisterRet::Written);
    h.complete_op(1, 20, 30, RegisterOp::Read, RegisterRet::Value(None));
    let report = check_linearizable(&Register::new(), &h, Budget::default());
    let text = report.to_string();
    assert!(
        text.contains("VIOLATED") && text.contains("[0, 1]"),
        "{text}"
    );
    assert_eq!(report.parts[0].longest_prefix.len(), 1);
}
