//! Differential tests: both checkers agree with a brute-force checker (every
//! order tried, `support/oracle.rs`) on 10,000 random small histories — at
//! most 8 operations, over a register, a CAS register, a key-value map of 2
//! keys and a FIFO queue, with operations that never returned and
//! operations that returned without a result — and everything they report
//! (witness, longest prefix, failing set) is checked too.
//!
//! Seeded: a failure prints the model, the seed and the history, and
//! `cargo test -p dsys-replication --test replication differential::`
//! reproduces it.

use crate::oracle;

use dsys_replication::consistency::history::{History, Operation};
use dsys_replication::consistency::model::Model;
use dsys_replication::consistency::models::{
    CasRegister, Kv, KvOp, KvRet, Queue, QueueOp, QueueRet, Register, RegisterOp, RegisterRet,
};
use dsys_replication::consistency::report::{Budget, Verdict};
use dsys_replication::consistency::{check_linearizable, check_sequential};
use oracle::{audit, brute, Property};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What the random histories need from a model: random inputs, random
/// outputs for an input, and the output the object really gives.
trait Random: Model {
    fn input(&self, rng: &mut ChaCha8Rng) -> Self::Input;
    fn output(&self, rng: &mut ChaCha8Rng, input: &Self::Input) -> Self::Output;
    fn answer(&self, state: &Self::State, input: &Self::Input) -> Self::Output;
}

fn small_value(rng: &mut ChaCha8Rng) -> Option<u8> {
    match rng.random_range(0..3) {
        0 => None,
        v => Some(v - 1),
    }
}

fn register_input(rng: &mut ChaCha8Rng, cas: bool) -> RegisterOp<u8> {
    match rng.random_range(0..if cas { 3 } else { 2 }) {
        0 => RegisterOp::Read,
        1 => RegisterOp::Write(rng.random_range(0..2)),
        _ => RegisterOp::Cas {
            expect: rng.random_range(0..2),
            new: rng.random_range(0..2),
        },
    }
}

fn register_output(rng: &mut ChaCha8Rng, input: &RegisterOp<u8>) -> RegisterRet<u8> {
    match input {
        RegisterOp::Read => RegisterRet::Value(small_value(rng)),
        RegisterOp::Write(_) => RegisterRet::Written,
        RegisterOp::Cas { .. } => RegisterRet::Cas(rng.random_bool(0.5)),
    }
}

fn register_answer(state: &Option<u8>, input: &RegisterOp<u8>) -> RegisterRet<u8> {
    match input {
        RegisterOp::Read => RegisterRet::Value(*state),
        RegisterOp::Write(_) => RegisterRet::Written,
        RegisterOp::Cas { expect, .. } => RegisterRet::Cas(*state == Some(*expect)),
    }
}

impl Random for Register<u8> {
    fn input(&self, rng: &mut ChaCha8Rng) -> RegisterOp<u8> {
        register_input(rng, false)
    }
    fn output(&self, rng: &mut ChaCha8Rng, input: &RegisterOp<u8>) -> RegisterRet<u8> {
        register_output(rng, input)
    }
    fn answer(&self, state: &Option<u8>, input: &RegisterOp<u8>) -> RegisterRet<u8> {
        register_answer(state, input)
    }
}

impl Random for CasRegister<u8> {
    fn input(&self, rng: &mut ChaCha8Rng) -> RegisterOp<u8> {
        register_input(rng, true)
    }
    fn output(&self, rng: &mut ChaCha8Rng, input: &RegisterOp<u8>) -> RegisterRet<u8> {
        register_output(rng, input)
    }
    fn answer(&self, state: &Option<u8>, input: &RegisterOp<u8>) -> RegisterRet<u8> {
        register_answer(state, input)
    }
}

const KV_VALUES: [&str; 4] = ["", "a", "b", "ab"];

impl Random for Kv {
    fn input(&self, rng: &mut ChaCha8Rng) -> KvOp {
        let key = ["x", "y"][rng.random_range(0..2)].to_string();
        let value = |rng: &mut ChaCha8Rng| ["a", "b"][rng.random_range(0..2)].to_string();
        match rng.random_range(0..5) {
            4 => KvOp::Delete { key },
            0 => KvOp::Get { key },
            1 => KvOp::Put {
                key,
                value: value(rng),
            },
            2 => KvOp::Append {
                key,
                value: value(rng),
            },
            _ => KvOp::Cas {
                key,
                expect: KV_VALUES[rng.random_range(0..3)].to_string(),
                new: value(rng),
            },
        }
    }
    fn output(&self, rng: &mut ChaCha8Rng, input: &KvOp) -> KvRet {
        match input {
            KvOp::Get { .. } => KvRet::Value(KV_VALUES[rng.random_range(0..4)].to_string()),
            KvOp::Put { .. } | KvOp::Append { .. } | KvOp::Delete { .. } => KvRet::Done,
            KvOp::Cas { .. } => KvRet::Cas(rng.random_bool(0.5)),
        }
    }
    fn answer(&self, state: &Self::State, input: &KvOp) -> KvRet {
        let current = state.get(input.key()).cloned().unwrap_or_default();
        match input {
            KvOp::Get { .. } => KvRet::Value(current),
            KvOp::Put { .. } | KvOp::Append { .. } | KvOp::Delete { .. } => KvRet::Done,
            KvOp::Cas { expect, .. } => KvRet::Cas(current == *expect),
        }
    }
}

impl Random for Queue<u8> {
    fn input(&self, rng: &mut ChaCha8Rng) -> QueueOp<u8> {
        if rng.random_bool(0.5) {
            QueueOp::Enqueue(rng.random_range(0..2))
        } else {
            QueueOp::Dequeue
        }
    }
    fn output(&self, rng: &mut ChaCha8Rng, input: &QueueOp<u8>) -> QueueRet<u8> {
        match input {
            QueueOp::Enqueue(_) => QueueRet::Enqueued,
            QueueOp::Dequeue => QueueRet::Dequeued(small_value(rng)),
        }
    }
    fn answer(&self, state: &Self::State, input: &QueueOp<u8>) -> QueueRet<u8> {
        match input {
            QueueOp::Enqueue(_) => QueueRet::Enqueued,
            QueueOp::Dequeue => QueueRet::Dequeued(state.front().copied()),
        }
    }
}

/// A random valid history of at most 8 operations on few clients, with
/// close times (so ties at one instant happen). Half the histories have
/// random outputs; the other half come from a run of the real object (each
/// operation taking effect at a random instant of its interval) with a few
/// outputs then changed.
fn random_history<M: Random>(model: &M, rng: &mut ChaCha8Rng) -> History<M::Input, M::Output> {
    let len = rng.random_range(1..=8);
    let slots = rng.random_range(1..=3u64);
    let mut ids: Vec<u64> = (0..slots).collect();
    let mut free = vec![0u64; slots as usize];
    let mut next_id = slots;
    let mut ops = Vec::new();
    // (effect instant, operation) for the real run.
    let mut effects = Vec::new();
    for index in 0..len {
        let slot = rng.random_range(0..slots as usize);
        let invoke = free[slot] + rng.random_range(0..3);
        let input = model.input(rng);
        if rng.random_bool(0.15) {
            if rng.random_bool(0.5) {
                effects.push((invoke + rng.random_range(0..8), index));
            }
            ops.push(Operation {
                client: ids[slot],
                invoke,
                complete: None,
                input,
                output: None,
            });
            ids[slot] = next_id;
            next_id += 1;
            free[slot] = invoke + rng.random_range(0..4);
        } else {
            let complete = invoke + rng.random_range(0..5);
            effects.push((rng.random_range(invoke..=complete), index));
            let output = Some(model.output(rng, &input));
            ops.push(Operation {
                client: ids[slot],
                invoke,
                complete: Some(complete),
                input,
                output,
            });
            free[slot] = complete;
        }
    }
    if rng.random_bool(0.5) {
        effects.sort_unstable();
        let mut state = model.init();
        for (_, i) in effects {
            let op: &mut Operation<M::Input, M::Output> = &mut ops[i];
            if op.output.is_some() && !rng.random_bool(0.15) {
                op.output = Some(model.answer(&state, &op.input));
            }
            state = model
                .step(&state, &op.input, None)
                .expect("an unknown output is always accepted by these models");
        }
    }
    for op in &mut ops {
        if op.complete.is_some() && rng.random_bool(0.1) {
            op.output = None;
        }
    }
    let history = History::from(ops);
    history
        .validate()
        .expect("the generator makes valid histories");
    history
}

#[derive(Debug, Default)]
struct Tally {
    linearizable: usize,
    not_linearizable: usize,
    sequential_only: usize,
    not_sequential: usize,
}

fn differential<M: Random>(model: &M, histories: u64, seed: u64) -> Tally {
    let mut tally = Tally::default();
    for n in 0..histories {
        let seed = seed.wrapping_mul(1_000_003).wrapping_add(n);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let history = random_history(model, &mut rng);
        let context = || {
            format!(
                "model {}, seed {seed}, history {:#?}",
                model.name(),
                history.ops()
            )
        };

        let lin = check_linearizable(model, &history, Budget::unlimited());
        let parts = model.partition(history.ops());
        if let Err(e) = audit(model, &history, &lin, Property::Linearizable, &parts) {
            panic!("linearizability: {e}\nreport: {lin:#?}\n{}", context());
        }
        // Locality: per part agrees with the whole, as brute force sees it.
        let whole = brute(model, history.ops(), Property::Linearizable);
        assert_eq!(
            lin.holds(),
            whole,
            "linearizability is local\n{}",
            context()
        );

        let sc = check_sequential(model, &history, Budget::unlimited());
        let all: Vec<usize> = (0..history.len()).collect();
        if let Err(e) = audit(model, &history, &sc, Property::Sequential, &[all]) {
            panic!(
                "sequential consistency: {e}\nreport: {sc:#?}\n{}",
                context()
            );
        }
        match (lin.verdict, sc.verdict) {
            (Verdict::Holds, Verdict::Holds) => tally.linearizable += 1,
            (Verdict::Violated, Verdict::Holds) => {
                tally.not_linearizable += 1;
                tally.sequential_only += 1;
            }
            (Verdict::Violated, Verdict::Violated) => {
                tally.not_linearizable += 1;
                tally.not_sequential += 1;
            }
            other => panic!("verdicts {other:?}\n{}", context()),
        }
    }
    // The generator must produce every kind of history, or the test
    // proves little.
    let enough = histories as usize / 20;
    assert!(
        tally.linearizable >= enough
            && tally.not_linearizable >= enough
            && tally.sequential_only >= enough / 5
            && tally.not_sequential >= enough,
        "{}: too few of one kind: {tally:?}",
        model.name()
    );
    tally
}

#[test]
fn both_checkers_agree_with_brute_force_on_registers() {
    let tally = differential(&Register::<u8>::new(), 2_500, 1);
    println!("register: {tally:?}");
}

#[test]
fn both_checkers_agree_with_brute_force_on_cas_registers() {
    let tally = differential(&CasRegister::<u8>::new(), 2_500, 2);
    println!("cas-register: {tally:?}");
}

#[test]
fn both_checkers_agree_with_brute_force_on_a_map_of_two_keys() {
    let tally = differential(&Kv, 2_500, 3);
    println!("kv: {tally:?}");
}

#[test]
fn both_checkers_agree_with_brute_force_on_queues() {
    let tally = differential(&Queue::<u8>::new(), 2_500, 4);
    println!("queue: {tally:?}");
}
