//! Histories to test and benchmark checkers with: simulated concurrent
//! runs of a correct object, and ways to break them.
//!
//! [`run`] simulates clients calling a sequential object concurrently.
//! Each client makes one call at a time, with a random pause before it and
//! a random latency; each call takes effect at a random instant inside its
//! interval, and the object answers in the order of those instants. So
//! every history it makes is **linearizable by construction** (and
//! sequentially consistent), whatever the seed. A call can also be
//! *lost* — it never returns, took effect at some later instant or not at
//! all, and its client continues under a new id, as Jepsen's processes do —
//! or return *without a result* (it took effect; its answer is hidden).
//!
//! [`cas_register`], [`register`], [`kv`] and [`queue`] pick inputs for
//! the four models; [`etcd_corpus`] makes a corpus like the Jepsen etcd
//! histories Porcupine is measured on, some of them broken on purpose.
//!
//! Everything is a pure function of its seed ([`SplitMix64`]), so a
//! failing test names the seed that reproduces it.
//!
//! ```
//! use dsys_replication::consistency::check_linearizable;
//! use dsys_replication::consistency::generate::{cas_register, RunConfig};
//! use dsys_replication::consistency::models::CasRegister;
//! use dsys_replication::consistency::report::Budget;
//!
//! let config = RunConfig { clients: 5, ops: 100, ..RunConfig::default() };
//! let history = cas_register(&config, 7);
//! assert_eq!(history.len(), 100);
//! history.validate().unwrap();
//! assert!(check_linearizable(&CasRegister::new(), &history, Budget::default()).holds());
//! ```

use super::history::{History, Operation};
use super::models::{KvOp, KvRet, QueueOp, QueueRet, RegisterOp, RegisterRet};

/// A small, fast, seeded pseudo-random generator (Steele, Lea & Flood's
/// SplitMix64): good enough for test data, and the same on every machine.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            // Multiply-shift: unbiased enough for test data, no division.
            ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
        }
    }

    /// `true` with probability `per_mille` / 1000.
    pub fn chance(&mut self, per_mille: u32) -> bool {
        self.below(1000) < u64::from(per_mille)
    }
}

/// The shape of a simulated run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunConfig {
    /// Clients calling at the same time.
    pub clients: usize,
    /// Calls in all.
    pub ops: usize,
    /// Per mille of calls that never return (half of them take effect).
    pub lost_per_mille: u32,
    /// Per mille of calls that return without a result (they took effect).
    pub unknown_per_mille: u32,
    /// A call's latency is 1 to this many ticks.
    pub latency_max: u64,
    /// A client pauses 0 to this many ticks between calls.
    pub pause_max: u64,
}

impl Default for RunConfig {
    /// Five clients, 200 calls, 10% lost, 5% without result, latency up to
    /// 20 ticks, pauses up to 5: about four calls overlap at any time.
    fn default() -> Self {
        RunConfig {
            clients: 5,
            ops: 200,
            lost_per_mille: 100,
            unknown_per_mille: 50,
            latency_max: 20,
            pause_max: 5,
        }
    }
}

/// Simulates `config.ops` calls by `config.clients` concurrent clients on a
/// correct sequential object that starts in `state`: `next_input` picks each
/// call, `apply` performs it on the object and answers. The history is
/// linearizable by construction (see the [module](self) documentation).
///
/// ```
/// use dsys_replication::consistency::generate::{run, RunConfig, SplitMix64};
///
/// // A counter: every call increments it and answers the new value.
/// let config = RunConfig { clients: 3, ops: 30, lost_per_mille: 0, unknown_per_mille: 0, ..RunConfig::default() };
/// let history = run(&config, &mut SplitMix64::new(1), 0u64, |_| (), |n: &mut u64, _: &()| { *n += 1; *n });
/// let mut answers: Vec<u64> = history.ops().iter().map(|op| op.output.unwrap()).collect();
/// answers.sort();
/// assert_eq!(answers, (1..=30).collect::<Vec<_>>(), "each call took effect once");
/// ```
pub fn run<I, O, S>(
    config: &RunConfig,
    rng: &mut SplitMix64,
    mut state: S,
    mut next_input: impl FnMut(&mut SplitMix64) -> I,
    mut apply: impl FnMut(&mut S, &I) -> O,
) -> History<I, O> {
    let clients = config.clients.max(1);
    // Per client slot: its current id and when it is free.
    let mut slots: Vec<(u64, u64)> = (0..clients as u64).map(|c| (c, 0)).collect();
    let mut next_id = clients as u64;
    let mut ops: Vec<Operation<I, O>> = Vec::with_capacity(config.ops);
    // (effect instant, operation, output hidden)
    let mut effects: Vec<(u64, usize, bool)> = Vec::with_capacity(config.ops);
    for index in 0..config.ops {
        let slot = (0..clients)
            .min_by_key(|&s| (slots[s].1, s))
            .unwrap_or_default();
        let (client, free) = slots[slot];
        let invoke = free + rng.below(config.pause_max + 1);
        let latency = 1 + rng.below(config.latency_max.max(1));
        let complete = invoke + latency;
        let input = next_input(rng);
        if rng.chance(config.lost_per_mille) {
            // Lost: the client gives up at `complete` and continues under
            // a new id; the call took effect later, or never.
            if rng.chance(500) {
                let horizon = 3 * config.latency_max.max(1);
                effects.push((invoke + rng.below(horizon + 1), index, true));
            }
            ops.push(Operation {
                client,
                invoke,
                complete: None,
                input,
                output: None,
            });
            slots[slot] = (next_id, complete);
            next_id += 1;
        } else {
            let hidden = rng.chance(config.unknown_per_mille);
            effects.push((invoke + rng.below(latency + 1), index, hidden));
            ops.push(Operation {
                client,
                invoke,
                complete: Some(complete),
                input,
                output: None,
            });
            slots[slot] = (client, complete);
        }
    }
    // The object answers in the order the calls took effect.
    effects.sort_unstable();
    for (_, index, hidden) in effects {
        let output = apply(&mut state, &ops[index].input);
        if !hidden {
            ops[index].output = Some(output);
        }
    }
    History::from(ops)
}

/// A run on a CAS register of values 0–4 (etcd's test): 40% reads, 30%
/// writes, 30% compare-and-sets.
pub fn cas_register(config: &RunConfig, seed: u64) -> History<RegisterOp<i64>, RegisterRet<i64>> {
    register_run(config, seed, true)
}

/// A run on a read/write register of values 0–4: 50% reads, 50% writes.
pub fn register(config: &RunConfig, seed: u64) -> History<RegisterOp<i64>, RegisterRet<i64>> {
    register_run(config, seed, false)
}

fn register_run(
    config: &RunConfig,
    seed: u64,
    with_cas: bool,
) -> History<RegisterOp<i64>, RegisterRet<i64>> {
    let value = |rng: &mut SplitMix64| rng.below(5) as i64;
    run(
        config,
        &mut SplitMix64::new(seed),
        None,
        |rng| match (with_cas, rng.below(10)) {
            (true, 0..=3) | (false, 0..=4) => RegisterOp::Read,
            (true, 4..=6) | (false, _) => RegisterOp::Write(value(rng)),
            (true, _) => RegisterOp::Cas {
                expect: value(rng),
                new: value(rng),
            },
        },
        apply_register,
    )
}

/// What a correct register answers (and how it changes).
fn apply_register(state: &mut Option<i64>, op: &RegisterOp<i64>) -> RegisterRet<i64> {
    match op {
        RegisterOp::Read => RegisterRet::Value(*state),
        RegisterOp::Write(v) => {
            *state = Some(*v);
            RegisterRet::Written
        }
        RegisterOp::Cas { expect, new } => {
            let ok = *state == Some(*expect);
            if ok {
                *state = Some(*new);
            }
            RegisterRet::Cas(ok)
        }
    }
}

/// A run on a key-value map with `keys` keys (`"k0"`, `"k1"`, …) and values
/// `"0"`–`"4"`: 40% gets, 30% puts, 10% appends, 20% compare-and-sets.
pub fn kv(config: &RunConfig, keys: usize, seed: u64) -> History<KvOp, KvRet> {
    let keys = keys.max(1) as u64;
    run(
        config,
        &mut SplitMix64::new(seed),
        std::collections::BTreeMap::<String, String>::new(),
        |rng| {
            let key = format!("k{}", rng.below(keys));
            let value = |rng: &mut SplitMix64| rng.below(5).to_string();
            match rng.below(10) {
                0..=3 => KvOp::Get { key },
                4..=6 => KvOp::Put {
                    key,
                    value: value(rng),
                },
                7 => KvOp::Append {
                    key,
                    value: value(rng),
                },
                _ => KvOp::Cas {
                    key,
                    expect: value(rng),
                    new: value(rng),
                },
            }
        },
        |map, op| {
            let current = map.get(op.key()).cloned().unwrap_or_default();
            match op {
                KvOp::Get { .. } => KvRet::Value(current),
                KvOp::Put { key, value } => {
                    map.insert(key.clone(), value.clone());
                    KvRet::Done
                }
                KvOp::Append { key, value } => {
                    map.insert(key.clone(), current + value);
                    KvRet::Done
                }
                KvOp::Cas { key, expect, new } => {
                    let ok = current == *expect;
                    if ok {
                        map.insert(key.clone(), new.clone());
                    }
                    KvRet::Cas(ok)
                }
                KvOp::Delete { key } => {
                    map.remove(key);
                    KvRet::Done
                }
            }
        },
    )
}

/// A run on a FIFO queue: half enqueues (of values 0–4), half dequeues.
pub fn queue(config: &RunConfig, seed: u64) -> History<QueueOp<i64>, QueueRet<i64>> {
    run(
        config,
        &mut SplitMix64::new(seed),
        std::collections::VecDeque::new(),
        |rng| {
            if rng.chance(500) {
                QueueOp::Enqueue(rng.below(5) as i64)
            } else {
                QueueOp::Dequeue
            }
        },
        |queue, op| match op {
            QueueOp::Enqueue(v) => {
                queue.push_back(*v);
                QueueRet::Enqueued
            }
            QueueOp::Dequeue => QueueRet::Dequeued(queue.pop_front()),
        },
    )
}

/// A history of a CAS register of `i64`, as [`etcd_corpus`] makes them.
pub type CasHistory = History<RegisterOp<i64>, RegisterRet<i64>>;

/// How a history of the corpus was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Breakage {
    /// Unchanged: linearizable.
    None,
    /// One completed read answers a different value of 0–4 than the
    /// register held: usually, not always, a violation (another write of
    /// that value may have been concurrent).
    OtherValue,
    /// One completed read answers 5, a value no one writes: always a
    /// violation, of sequential consistency too.
    NeverWritten,
}

/// A corpus like the Jepsen etcd histories Porcupine is measured on: `count`
/// CAS-register histories ([`cas_register`]) of 5–10 clients and `ops`
/// calls (Porcupine's corpus has about 80 calls, 170 log lines, per history),
/// 15% of writes and compare-and-sets lost (Jepsen's `:info`), 10% of reads
/// without result (`:fail :read :timed-out`); a quarter are left alone, and
/// the others have one read broken ([`Breakage`]), as real stale reads do.
///
/// ```
/// use dsys_replication::consistency::generate::{etcd_corpus, Breakage};
///
/// let corpus = etcd_corpus(8, 100, 1);
/// assert_eq!(corpus.len(), 8);
/// assert!(corpus.iter().any(|(_, b)| *b == Breakage::None));
/// ```
pub fn etcd_corpus(count: usize, ops: usize, seed: u64) -> Vec<(CasHistory, Breakage)> {
    let mut rng = SplitMix64::new(seed);
    (0..count)
        .map(|i| {
            let config = RunConfig {
                clients: 5 + rng.below(6) as usize,
                ops,
                ..RunConfig::default()
            };
            let history = etcd_like(&config, rng.next_u64());
            let breakage = match i % 4 {
                0 => Breakage::None,
                1 => Breakage::NeverWritten,
                _ => Breakage::OtherValue,
            };
            (break_read(history, breakage, &mut rng), breakage)
        })
        .collect()
}

/// A CAS-register run where 15% of writes and compare-and-sets are lost
/// and 10% of reads time out without result, as in Jepsen's etcd test
/// (whose client never loses a read: a read that times out is a `:fail`).
fn etcd_like(config: &RunConfig, seed: u64) -> History<RegisterOp<i64>, RegisterRet<i64>> {
    let mut rng = SplitMix64::new(seed);
    let value = |rng: &mut SplitMix64| rng.below(5) as i64;
    let lossy = RunConfig {
        lost_per_mille: 150,
        unknown_per_mille: 0,
        ..*config
    };
    let mut ops = run(
        &lossy,
        &mut rng,
        None,
        |rng| match rng.below(10) {
            0..=3 => RegisterOp::Read,
            4..=6 => RegisterOp::Write(value(rng)),
            _ => RegisterOp::Cas {
                expect: value(rng),
                new: value(rng),
            },
        },
        apply_register,
    )
    .into_ops();
    for op in &mut ops {
        if op.input == RegisterOp::Read {
            if op.complete.is_none() {
                // A lost read becomes one that returned without result
                // (its client already continues under a new id).
                op.complete = Some(op.invoke + 1 + rng.below(config.latency_max.max(1)));
            } else if rng.chance(100) {
                op.output = None;
            }
        }
    }
    History::from(ops)
}

/// Breaks one completed read with a known value, chosen at random; returns
/// the history unchanged if it has none.
fn break_read(
    history: History<RegisterOp<i64>, RegisterRet<i64>>,
    breakage: Breakage,
    rng: &mut SplitMix64,
) -> History<RegisterOp<i64>, RegisterRet<i64>> {
    let mut ops = history.into_ops();
    let reads: Vec<usize> = (0..ops.len())
        .filter(|&i| ops[i].input == RegisterOp::Read && ops[i].output.is_some())
        .collect();
    if breakage != Breakage::None && !reads.is_empty() {
        let i = reads[rng.below(reads.len() as u64) as usize];
        let truth = match ops[i].output {
            Some(RegisterRet::Value(v)) => v,
            _ => None,
        };
        let wrong = match breakage {
            Breakage::NeverWritten => 5,
            _ => {
                let other = rng.below(4) as i64;
                match truth {
                    Some(v) if other >= v => other + 1,
                    _ => other,
                }
            }
        };
        ops[i].output = Some(RegisterRet::Value(Some(wrong)));
    }
    History::from(ops)
}
