//! The replicated object itself: a key-value map with client sessions, the
//! deterministic state machine every backend executes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::consistency::models::{KvOp, KvRet};

use super::RequestId;

/// How many clients' last answers a [`Store`] keeps by default.
pub const SESSIONS_MAX: usize = 10_000;

/// A client's last executed request and its answer.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Session {
    seq: u64,
    ret: KvRet,
    /// The store's [`Store::applied`] count when it was executed.
    index: u64,
}

/// What [`Store::execute`] did with a request.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Executed {
    /// Executed now, for the first time.
    Fresh(KvRet),
    /// Executed before, at `index`: its stored answer, not run again
    /// (exactly-once for a retried request).
    Repeat {
        /// The stored answer.
        ret: KvRet,
        /// Where it was executed.
        index: u64,
    },
    /// An older request of a client that has since made a newer one: its
    /// answer is gone and nobody waits for it (a client makes one call at a
    /// time). Nothing is executed.
    Stale,
}

impl Executed {
    /// The answer to send, if anyone waits for one.
    pub fn ret(&self) -> Option<&KvRet> {
        match self {
            Executed::Fresh(ret) | Executed::Repeat { ret, .. } => Some(ret),
            Executed::Stale => None,
        }
    }
}

/// A key-value map of strings with get, put, append, compare-and-set and
/// delete (an absent key reads as `""`, as in the
/// [`Kv`](crate::consistency::models::Kv) model the checkers judge it by),
/// and one session per client that remembers the client's last request
/// id and answer, so that a retried request is answered, not executed
/// again (Coulouris' *coordination* stage; Raft dissertation §6.3).
///
/// It is deterministic: replicas that execute the same requests in the
/// same order hold equal stores and give equal answers. Sessions are
/// bounded ([`Store::with_sessions_max`]): beyond the bound the client
/// whose last request is oldest is forgotten, the same one on every
/// replica — so exactly-once holds for a retry only while its client is
/// among the `sessions_max` most recent; a retry after that is executed
/// again. Size the bound above the number of clients that may retry.
///
/// ```
/// use dsys_replication::consistency::models::{KvOp, KvRet};
/// use dsys_replication::kv::{Executed, RequestId, Store};
///
/// let mut store = Store::new();
/// let put = KvOp::Put { key: "x".into(), value: "1".into() };
/// let append = KvOp::Append { key: "x".into(), value: "2".into() };
/// let id = RequestId { client: 7, seq: 1 };
/// assert_eq!(store.execute(id, &put), Executed::Fresh(KvRet::Done));
/// let id = RequestId { client: 7, seq: 2 };
/// assert_eq!(store.execute(id, &append), Executed::Fresh(KvRet::Done));
/// // The front end retries seq 2 (its answer was lost): not appended twice.
/// assert_eq!(store.execute(id, &append), Executed::Repeat { ret: KvRet::Done, index: 2 });
/// assert_eq!(store.get("x"), "12");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Store {
    data: BTreeMap<String, String>,
    sessions: BTreeMap<u64, Session>,
    /// Clients by the index of their last request, to find the oldest.
    by_index: BTreeMap<u64, u64>,
    applied: u64,
    sessions_max: usize,
}

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}

impl Store {
    /// An empty store keeping up to [`SESSIONS_MAX`] sessions.
    pub fn new() -> Self {
        Store::with_sessions_max(SESSIONS_MAX)
    }

    /// An empty store keeping up to `sessions_max` client sessions (at
    /// least one).
    pub fn with_sessions_max(sessions_max: usize) -> Self {
        Store {
            data: BTreeMap::new(),
            sessions: BTreeMap::new(),
            by_index: BTreeMap::new(),
            applied: 0,
            sessions_max: sessions_max.max(1),
        }
    }

    /// Executes request `id`, unless its client's session already holds
    /// its answer. Every call that executes counts one [`Store::applied`].
    pub fn execute(&mut self, id: RequestId, op: &KvOp) -> Executed {
        if let Some(session) = self.sessions.get(&id.client) {
            if id.seq == session.seq {
                return Executed::Repeat {
                    ret: session.ret.clone(),
                    index: session.index,
                };
            }
            if id.seq < session.seq {
                return Executed::Stale;
            }
        }
        let ret = self.apply(op);
        self.applied += 1;
        if let Some(old) = self.sessions.insert(
            id.client,
            Session {
                seq: id.seq,
                ret: ret.clone(),
                index: self.applied,
            },
        ) {
            self.by_index.remove(&old.index);
        }
        self.by_index.insert(self.applied, id.client);
        if self.sessions.len() > self.sessions_max
            && let Some((_, oldest)) = self.by_index.pop_first()
        {
            self.sessions.remove(&oldest);
        }
        Executed::Fresh(ret)
    }

    /// The stored answer to request `id` and where it was executed, if its
    /// client's session still holds it.
    pub fn answered(&self, id: RequestId) -> Option<(&KvRet, u64)> {
        self.sessions
            .get(&id.client)
            .filter(|session| session.seq == id.seq)
            .map(|session| (&session.ret, session.index))
    }

    /// Whether request `id` is older than its client's last executed one:
    /// [`Store::execute`] would answer [`Executed::Stale`].
    pub fn is_stale(&self, id: RequestId) -> bool {
        self.sessions
            .get(&id.client)
            .is_some_and(|session| id.seq < session.seq)
    }

    /// Runs `op` on the map, with no session: the answer a read gets from
    /// this replica's state as it is (a local read), or the effect of a
    /// write.
    fn apply(&mut self, op: &KvOp) -> KvRet {
        match op {
            KvOp::Get { key } => KvRet::Value(self.get(key).to_string()),
            KvOp::Put { key, value } => {
                self.set(key, value.clone());
                KvRet::Done
            }
            KvOp::Append { key, value } => {
                let appended = format!("{}{value}", self.get(key));
                self.set(key, appended);
                KvRet::Done
            }
            KvOp::Cas { key, expect, new } => {
                let swap = self.get(key) == expect;
                if swap {
                    self.set(key, new.clone());
                }
                KvRet::Cas(swap)
            }
            KvOp::Delete { key } => {
                self.data.remove(key);
                KvRet::Done
            }
        }
    }

    /// An empty value is an absent key: one state, as in the model.
    fn set(&mut self, key: &str, value: String) {
        if value.is_empty() {
            self.data.remove(key);
        } else {
            self.data.insert(key.to_string(), value);
        }
    }

    /// The value of `key` in this replica's state (`""` when absent).
    pub fn get(&self, key: &str) -> &str {
        self.data.get(key).map_or("", String::as_str)
    }

    /// How many requests this store has executed (repeats and stale ones
    /// not counted): the position of its state in the order of requests.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// How many keys hold a value.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether no key holds a value.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// How many client sessions are kept.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(client: u64, seq: u64) -> RequestId {
        RequestId { client, seq }
    }

    fn put(key: &str, value: &str) -> KvOp {
        KvOp::Put {
            key: key.into(),
            value: value.into(),
        }
    }

    #[test]
    fn every_operation_does_what_the_model_says() {
        let mut store = Store::new();
        let get =
            |store: &mut Store, seq| store.execute(id(1, seq), &KvOp::Get { key: "k".into() });
        assert_eq!(
            get(&mut store, 1),
            Executed::Fresh(KvRet::Value(String::new()))
        );
        store.execute(id(1, 2), &put("k", "a"));
        store.execute(
            id(1, 3),
            &KvOp::Append {
                key: "k".into(),
                value: "b".into(),
            },
        );
        assert_eq!(
            get(&mut store, 4),
            Executed::Fresh(KvRet::Value("ab".into()))
        );
        let cas = |expect: &str| KvOp::Cas {
            key: "k".into(),
            expect: expect.into(),
            new: "c".into(),
        };
        assert_eq!(
            store.execute(id(1, 5), &cas("a")),
            Executed::Fresh(KvRet::Cas(false))
        );
        assert_eq!(store.get("k"), "ab");
        assert_eq!(
            store.execute(id(1, 6), &cas("ab")),
            Executed::Fresh(KvRet::Cas(true))
        );
        assert_eq!(store.get("k"), "c");
        assert_eq!(store.len(), 1);
        assert_eq!(
            store.execute(id(1, 7), &KvOp::Delete { key: "k".into() }),
            Executed::Fresh(KvRet::Done)
        );
        assert!(store.is_empty());
        assert_eq!(store.applied(), 7);
        store.execute(id(1, 8), &put("x", "1"));
        store.execute(id(1, 9), &put("y", "2"));
        assert_eq!((store.len(), store.is_empty()), (2, false));
    }

    #[test]
    fn an_execution_hands_out_its_answer_unless_stale() {
        let done = KvRet::Done;
        assert_eq!(Executed::Fresh(done.clone()).ret(), Some(&done));
        let repeat = Executed::Repeat {
            ret: done.clone(),
            index: 3,
        };
        assert_eq!(repeat.ret(), Some(&done));
        assert_eq!(Executed::Stale.ret(), None);
    }

    #[test]
    fn an_empty_value_is_an_absent_key() {
        let mut store = Store::new();
        store.execute(id(1, 1), &put("k", "a"));
        store.execute(id(1, 2), &put("k", ""));
        assert!(store.is_empty());
        assert_eq!(store, {
            let mut fresh = Store::new();
            fresh.applied = 2;
            fresh.sessions = store.sessions.clone();
            fresh.by_index = store.by_index.clone();
            fresh
        });
    }

    #[test]
    fn a_retry_is_answered_from_the_session_and_an_older_request_is_stale() {
        let mut store = Store::new();
        let append = KvOp::Append {
            key: "k".into(),
            value: "x".into(),
        };
        store.execute(id(1, 5), &append);
        assert_eq!(
            store.execute(id(1, 5), &append),
            Executed::Repeat {
                ret: KvRet::Done,
                index: 1
            }
        );
        assert_eq!(store.execute(id(1, 4), &append), Executed::Stale);
        assert!(store.is_stale(id(1, 4)));
        assert!(
            !store.is_stale(id(1, 5)) && !store.is_stale(id(1, 6)) && !store.is_stale(id(2, 1))
        );
        assert_eq!(Executed::Stale.ret(), None);
        assert_eq!(store.get("k"), "x");
        assert_eq!(store.applied(), 1);
        assert_eq!(store.answered(id(1, 5)), Some((&KvRet::Done, 1)));
        assert_eq!(store.answered(id(1, 4)), None);
        assert_eq!(store.answered(id(2, 5)), None);
        // Another client's same sequence number is its own request.
        assert_eq!(
            store.execute(id(2, 5), &append),
            Executed::Fresh(KvRet::Done)
        );
        assert_eq!(store.get("k"), "xx");
    }

    #[test]
    fn sessions_beyond_the_bound_forget_the_client_whose_last_request_is_oldest() {
        let mut store = Store::with_sessions_max(2);
        store.execute(id(1, 1), &put("a", "1"));
        store.execute(id(2, 1), &put("b", "1"));
        store.execute(id(1, 2), &put("a", "2")); // client 1 is now the newer
        store.execute(id(3, 1), &put("c", "1")); // evicts client 2
        assert_eq!(store.sessions(), 2);
        assert_eq!(store.answered(id(2, 1)), None);
        assert!(store.answered(id(1, 2)).is_some());
        assert!(store.answered(id(3, 1)).is_some());
        assert_eq!(store.by_index.len(), 2);
        assert_eq!(Store::with_sessions_max(0).sessions_max, 1);
    }
}
