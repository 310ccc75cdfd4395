//! The models dsys ships: [`Register`], [`CasRegister`] (etcd's model in
//! Jepsen and Porcupine), [`Kv`] (a key-value map checked per key) and
//! [`Queue`] (FIFO).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Debug;
use std::hash::Hash;
use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use super::history::Operation;
use super::model::Model;

/// What a client asks a register.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegisterOp<V> {
    /// Read the value.
    Read,
    /// Write a value.
    Write(V),
    /// Compare-and-set: if the value is `expect`, make it `new` (only the
    /// [`CasRegister`] takes it).
    Cas {
        /// The value the register must hold.
        expect: V,
        /// The value it then holds.
        new: V,
    },
}

/// What a register answers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegisterRet<V> {
    /// A read's value (`None`: never written).
    Value(Option<V>),
    /// A write is done.
    Written,
    /// Whether a compare-and-set took effect.
    Cas(bool),
}

/// A read/write register, initially empty (`None`). A [`RegisterOp::Cas`]
/// is refused: use [`CasRegister`] for histories with compare-and-set.
#[derive(Debug)]
pub struct Register<V>(PhantomData<V>);

impl<V> Default for Register<V> {
    fn default() -> Self {
        Register(PhantomData)
    }
}

impl<V> Register<V> {
    /// The model.
    pub fn new() -> Self {
        Register::default()
    }
}

impl<V: Clone + Eq + Hash + Debug> Model for Register<V> {
    type Input = RegisterOp<V>;
    type Output = RegisterRet<V>;
    type State = Option<V>;

    fn name(&self) -> &'static str {
        "register"
    }

    fn init(&self) -> Option<V> {
        None
    }

    fn step(
        &self,
        state: &Option<V>,
        input: &RegisterOp<V>,
        output: Option<&RegisterRet<V>>,
    ) -> Option<Option<V>> {
        match input {
            RegisterOp::Cas { .. } => None,
            _ => CasRegister::<V>::new().step(state, input, output),
        }
    }
}

/// A register with compare-and-set, initially empty (`None`): etcd's model.
/// A `Cas` on an empty register fails.
#[derive(Debug)]
pub struct CasRegister<V>(PhantomData<V>);

impl<V> Default for CasRegister<V> {
    fn default() -> Self {
        CasRegister(PhantomData)
    }
}

impl<V> CasRegister<V> {
    /// The model.
    pub fn new() -> Self {
        CasRegister::default()
    }
}

impl<V: Clone + Eq + Hash + Debug> Model for CasRegister<V> {
    type Input = RegisterOp<V>;
    type Output = RegisterRet<V>;
    type State = Option<V>;

    fn name(&self) -> &'static str {
        "cas-register"
    }

    fn init(&self) -> Option<V> {
        None
    }

    fn step(
        &self,
        state: &Option<V>,
        input: &RegisterOp<V>,
        output: Option<&RegisterRet<V>>,
    ) -> Option<Option<V>> {
        let (answer, next) = match input {
            RegisterOp::Read => (RegisterRet::Value(state.clone()), state.clone()),
            RegisterOp::Write(v) => (RegisterRet::Written, Some(v.clone())),
            RegisterOp::Cas { expect, new } => {
                if state.as_ref() == Some(expect) {
                    (RegisterRet::Cas(true), Some(new.clone()))
                } else {
                    (RegisterRet::Cas(false), state.clone())
                }
            }
        };
        match output {
            Some(output) if *output != answer => None,
            _ => Some(next),
        }
    }
}

/// What a client asks a key-value map.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KvOp {
    /// Read a key.
    Get {
        /// The key.
        key: String,
    },
    /// Set a key.
    Put {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// Append to a key's value.
    Append {
        /// The key.
        key: String,
        /// What is appended.
        value: String,
    },
    /// Compare-and-set a key.
    Cas {
        /// The key.
        key: String,
        /// The value the key must hold.
        expect: String,
        /// The value it then holds.
        new: String,
    },
    /// Remove a key: it reads as `""` again.
    Delete {
        /// The key.
        key: String,
    },
}

impl KvOp {
    /// The key the operation touches.
    pub fn key(&self) -> &str {
        match self {
            KvOp::Get { key }
            | KvOp::Put { key, .. }
            | KvOp::Append { key, .. }
            | KvOp::Cas { key, .. }
            | KvOp::Delete { key } => key,
        }
    }

    /// Whether the operation changes nothing (a get).
    pub fn is_read(&self) -> bool {
        matches!(self, KvOp::Get { .. })
    }
}

/// What a key-value map answers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KvRet {
    /// A get's value (`""` for a key never written).
    Value(String),
    /// A put, append or delete is done.
    Done,
    /// Whether a compare-and-set took effect.
    Cas(bool),
}

/// A key-value map of strings (an absent key reads as `""`), with get,
/// put, append and compare-and-set. Keys are independent, so
/// [`Model::partition`] checks each key's operations on their own.
#[derive(Clone, Copy, Debug, Default)]
pub struct Kv;

impl Model for Kv {
    type Input = KvOp;
    type Output = KvRet;
    /// The keys written so far (only the keys of one part, when partitioned).
    type State = BTreeMap<String, String>;

    fn name(&self) -> &'static str {
        "kv"
    }

    fn init(&self) -> Self::State {
        BTreeMap::new()
    }

    fn step(
        &self,
        state: &Self::State,
        input: &KvOp,
        output: Option<&KvRet>,
    ) -> Option<Self::State> {
        let current = state.get(input.key()).map_or("", String::as_str);
        let (answer, value) = match input {
            KvOp::Get { .. } => (KvRet::Value(current.to_string()), None),
            KvOp::Put { value, .. } => (KvRet::Done, Some(value.clone())),
            KvOp::Append { value, .. } => (KvRet::Done, Some(format!("{current}{value}"))),
            KvOp::Cas { expect, new, .. } => {
                if current == expect {
                    (KvRet::Cas(true), Some(new.clone()))
                } else {
                    (KvRet::Cas(false), None)
                }
            }
            KvOp::Delete { .. } => (KvRet::Done, Some(String::new())),
        };
        if output.is_some_and(|output| *output != answer) {
            return None;
        }
        let mut next = state.clone();
        match value {
            // One state for "absent" and "empty", so that histories that
            // reach the same map by different routes meet in the cache.
            Some(value) if value.is_empty() => {
                next.remove(input.key());
            }
            Some(value) => {
                next.insert(input.key().to_string(), value);
            }
            None => {}
        }
        Some(next)
    }

    fn partition(&self, ops: &[Operation<KvOp, KvRet>]) -> Vec<Vec<usize>> {
        let keys: BTreeSet<&str> = ops.iter().map(|op| op.input.key()).collect();
        keys.into_iter()
            .map(|key| {
                (0..ops.len())
                    .filter(|&i| ops[i].input.key() == key)
                    .collect()
            })
            .collect()
    }
}

/// What a client asks a queue.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueOp<V> {
    /// Add a value at the tail.
    Enqueue(V),
    /// Take the value at the head.
    Dequeue,
}

/// What a queue answers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueRet<V> {
    /// An enqueue is done.
    Enqueued,
    /// The dequeued value (`None`: the queue was empty).
    Dequeued(Option<V>),
}

/// A FIFO queue, initially empty.
#[derive(Debug)]
pub struct Queue<V>(PhantomData<V>);

impl<V> Default for Queue<V> {
    fn default() -> Self {
        Queue(PhantomData)
    }
}

impl<V> Queue<V> {
    /// The model.
    pub fn new() -> Self {
        Queue::default()
    }
}

impl<V: Clone + Eq + Hash + Debug> Model for Queue<V> {
    type Input = QueueOp<V>;
    type Output = QueueRet<V>;
    type State = VecDeque<V>;

    fn name(&self) -> &'static str {
        "queue"
    }

    fn init(&self) -> VecDeque<V> {
        VecDeque::new()
    }

    fn step(
        &self,
        state: &VecDeque<V>,
        input: &QueueOp<V>,
        output: Option<&QueueRet<V>>,
    ) -> Option<VecDeque<V>> {
        let mut next = state.clone();
        let answer = match input {
            QueueOp::Enqueue(v) => {
                next.push_back(v.clone());
                QueueRet::Enqueued
            }
            QueueOp::Dequeue => QueueRet::Dequeued(next.pop_front()),
        };
        match output {
            Some(output) if *output != answer => None,
            _ => Some(next),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cas_register_answers_as_etcd_does() {
        let m = CasRegister::<i64>::new();
        let cas = |expect, new| RegisterOp::Cas { expect, new };
        assert_eq!(
            m.step(&None, &cas(0, 1), Some(&RegisterRet::Cas(false))),
            Some(None)
        );
        assert_eq!(
            m.step(&None, &cas(0, 1), Some(&RegisterRet::Cas(true))),
            None
        );
        assert_eq!(
            m.step(&Some(0), &cas(0, 1), Some(&RegisterRet::Cas(true))),
            Some(Some(1))
        );
        assert_eq!(
            m.step(&Some(0), &cas(0, 1), None),
            Some(Some(1)),
            "unknown: takes effect"
        );
        assert_eq!(
            m.step(
                &Some(3),
                &RegisterOp::Read,
                Some(&RegisterRet::Value(Some(3)))
            ),
            Some(Some(3))
        );
        assert_eq!(
            m.step(&Some(3), &RegisterOp::Read, Some(&RegisterRet::Value(None))),
            None
        );
        assert_eq!(
            m.step(&None, &RegisterOp::Write(4), Some(&RegisterRet::Written)),
            Some(Some(4))
        );
        assert_eq!(
            Register::<i64>::new().step(&Some(0), &cas(0, 1), None),
            None,
            "plain registers have no cas"
        );
    }

    #[test]
    fn kv_appends_and_partitions_by_key() {
        let m = Kv;
        let s = m
            .step(
                &m.init(),
                &KvOp::Append {
                    key: "a".into(),
                    value: "x".into(),
                },
                Some(&KvRet::Done),
            )
            .unwrap();
        let s = m
            .step(
                &s,
                &KvOp::Append {
                    key: "a".into(),
                    value: "y".into(),
                },
                None,
            )
            .unwrap();
        assert_eq!(
            m.step(
                &s,
                &KvOp::Get { key: "a".into() },
                Some(&KvRet::Value("xy".into()))
            ),
            Some(s.clone())
        );
        assert_eq!(
            m.step(
                &s,
                &KvOp::Get { key: "b".into() },
                Some(&KvRet::Value(String::new()))
            ),
            Some(s.clone())
        );
        assert_eq!(
            m.step(
                &s,
                &KvOp::Get { key: "a".into() },
                Some(&KvRet::Value("x".into()))
            ),
            None
        );
        let op = |key: &str| Operation {
            client: 0,
            invoke: 0,
            complete: Some(1),
            input: KvOp::Get { key: key.into() },
            output: None,
        };
        assert_eq!(
            m.partition(&[op("b"), op("a"), op("b")]),
            vec![vec![1], vec![0, 2]]
        );
    }

    #[test]
    fn queue_is_fifo() {
        let m = Queue::<u8>::new();
        let s = m
            .step(&m.init(), &QueueOp::Enqueue(1), Some(&QueueRet::Enqueued))
            .unwrap();
        let s = m.step(&s, &QueueOp::Enqueue(2), None).unwrap();
        assert_eq!(
            m.step(&s, &QueueOp::Dequeue, Some(&QueueRet::Dequeued(Some(2)))),
            None
        );
        let s = m
            .step(&s, &QueueOp::Dequeue, Some(&QueueRet::Dequeued(Some(1))))
            .unwrap();
        let s = m
            .step(&s, &QueueOp::Dequeue, Some(&QueueRet::Dequeued(Some(2))))
            .unwrap();
        assert_eq!(
            m.step(&s, &QueueOp::Dequeue, Some(&QueueRet::Dequeued(None))),
            Some(s.clone())
        );
    }
}
