//! The store over consensus: [Raft](dsys_consensus::raft) and
//! [Multi-Paxos](dsys_consensus::multi_paxos) replicate a log of calls,
//! and every replica applies it to a [`KvMachine`].
//!
//! In the five stages: the front end's **request** goes to the leader;
//! **coordination** is the leader's choice of a log position;
//! **agreement** is consensus on that position's entry (a majority
//! accepts it) — here it comes *before* **execution**, which every replica
//! does as it applies the committed log; the leader gives the
//! **response**. Agreeing before executing is what lets consensus survive
//! any minority of crashes and partitions with no split brain.
//!
//! Gets: Raft answers them by read-index (dissertation §6.4: the leader
//! confirms it still leads, then reads its applied state), Multi-Paxos by
//! putting them in the log. Neither has a stale-read path, so a
//! [`Read::Local`](super::Read::Local) get is served linearizably too: a backend may give more
//! than a request asks, never less.

use std::collections::HashMap;

use dsys_consensus::multi_paxos::{
    MultiPaxos, MultiPaxosConfig, MultiPaxosEvent, MultiPaxosRequest,
};
use dsys_consensus::raft::{
    LogIndex, MemStorage, Raft, RaftConfig, RaftEvent, RaftRequest, Rejection, StateMachine,
    Storage,
};
use dsys_consensus::stable::Stable;
use dsys_core::NodeId;
use serde::{Deserialize, Serialize};

use crate::consistency::models::{KvOp, KvRet};

use super::{Answer, Call, Executed, Replica, RequestId, Store};

/// What applying a call gives: the call's id (so any replica's event can
/// be matched to its front end), its answer — `None` for a stale call,
/// which nobody waits for — and the store's position after it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KvOutput {
    /// The call.
    pub id: RequestId,
    /// Its answer.
    pub ret: Option<KvRet>,
    /// The store's [`Store::applied`] count when it was answered.
    pub index: u64,
}

/// A [`Store`] as a consensus state machine: commands and queries are
/// [`Call`]s.
///
/// ```
/// use dsys_consensus::raft::StateMachine;
/// use dsys_replication::consistency::models::{KvOp, KvRet};
/// use dsys_replication::kv::consensus::{KvMachine, KvOutput};
/// use dsys_replication::kv::{Call, Read, RequestId};
///
/// let mut machine = KvMachine::default();
/// let id = RequestId { client: 1, seq: 1 };
/// let put = Call { id, op: KvOp::Put { key: "k".into(), value: "v".into() }, read: Read::Linearizable };
/// let done = KvOutput { id, ret: Some(KvRet::Done), index: 1 };
/// assert_eq!(machine.apply(1, &put), done);
/// assert_eq!(machine.apply(2, &put), done, "a retry is answered, not applied again");
///
/// let mut copy = KvMachine::default();
/// copy.restore(&machine.snapshot()).unwrap();
/// assert_eq!(copy, machine);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KvMachine {
    store: Store,
}

impl KvMachine {
    /// A machine over `store`.
    pub fn new(store: Store) -> Self {
        KvMachine { store }
    }

    /// The replica's copy of the store.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

impl StateMachine for KvMachine {
    type Command = Call;
    type Query = Call;
    type Output = KvOutput;

    fn apply(&mut self, _: LogIndex, call: &Call) -> KvOutput {
        let (ret, index) = match self.store.execute(call.id, &call.op) {
            Executed::Fresh(ret) => (Some(ret), self.store.applied()),
            Executed::Repeat { ret, index } => (Some(ret), index),
            Executed::Stale => (None, self.store.applied()),
        };
        KvOutput {
            id: call.id,
            ret,
            index,
        }
    }

    fn query(&self, call: &Call) -> KvOutput {
        let ret = match &call.op {
            KvOp::Get { key } => Some(KvRet::Value(self.store.get(key).to_string())),
            // Only gets are sent as queries (see `Replica::call` below).
            _ => None,
        };
        KvOutput {
            id: call.id,
            ret,
            index: self.store.applied(),
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        postcard::to_allocvec(&self.store).expect("a store encodes")
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), String> {
        self.store = postcard::from_bytes(snapshot)
            .map_err(|e| format!("not a key-value store snapshot: {e}"))?;
        Ok(())
    }
}

/// A call's id as a consensus request id: the client in the high 64 bits,
/// the call's number in the low 64 — one to one, so a refusal ("not the
/// leader") that carries only the consensus id names its call exactly.
fn consensus_id(id: RequestId) -> u128 {
    (u128::from(id.client) << 64) | u128::from(id.seq)
}

fn request_id(id: u128) -> RequestId {
    RequestId {
        client: (id >> 64) as u64,
        seq: id as u64,
    }
}

fn done(output: &KvOutput) -> Option<Answer> {
    output.ret.clone().map(|ret| Answer::Done {
        id: output.id,
        ret,
        index: output.index,
    })
}

/// Raft serving the store.
pub type RaftKv<S = MemStorage<Call>> = Raft<KvMachine, S>;

impl<S: Storage<Call>> Replica for Raft<KvMachine, S> {
    fn call(call: Call) -> RaftRequest<Call, Call> {
        let id = consensus_id(call.id);
        if call.op.is_read() {
            RaftRequest::Read { id, query: call }
        } else {
            RaftRequest::Propose {
                id,
                command: call,
                session: None,
            }
        }
    }

    fn answer(event: &RaftEvent<KvOutput>) -> Option<Answer> {
        match event {
            RaftEvent::Applied { output, .. } | RaftEvent::ReadDone { output, .. } => done(output),
            RaftEvent::Rejected { id, reason } => Some(Answer::NotPrimary {
                id: request_id(*id),
                hint: match reason {
                    Rejection::NotLeader { leader } => *leader,
                    _ => None,
                },
            }),
            _ => None,
        }
    }
}

/// Multi-Paxos serving the store.
pub type MultiPaxosKv = MultiPaxos<KvMachine>;

impl Replica for MultiPaxos<KvMachine> {
    fn call(call: Call) -> MultiPaxosRequest<Call> {
        MultiPaxosRequest::Propose {
            id: consensus_id(call.id),
            command: call,
        }
    }

    fn answer(event: &MultiPaxosEvent<KvOutput>) -> Option<Answer> {
        match event {
            MultiPaxosEvent::Applied { output, .. } => done(output),
            MultiPaxosEvent::NotLeader { id, leader } => Some(Answer::NotPrimary {
                id: request_id(*id),
                hint: *leader,
            }),
            _ => None,
        }
    }
}

/// A simulation factory for Raft replicas of the store: each node's
/// [`MemStorage`] outlives its crashes, so a restarted node recovers its
/// term, vote and log.
pub fn raft_factory(config: RaftConfig) -> impl FnMut(NodeId) -> RaftKv + 'static {
    let mut disks: HashMap<NodeId, MemStorage<Call>> = HashMap::new();
    move |id| {
        let disk = disks.entry(id).or_default().clone();
        Raft::new(config.clone(), disk, KvMachine::default()).expect("memory storage always loads")
    }
}

/// A simulation factory for Multi-Paxos replicas of the store, each with
/// stable storage that outlives its crashes.
pub fn multi_paxos_factory(
    config: MultiPaxosConfig,
) -> impl FnMut(NodeId) -> MultiPaxosKv + 'static {
    let mut disks = HashMap::new();
    move |id| {
        let disk: Stable<_> = disks.entry(id).or_insert_with(Stable::default).clone();
        MultiPaxos::new(config.clone(), disk, KvMachine::default()).expect("a valid configuration")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consensus_ids_round_trip() {
        for id in [
            RequestId { client: 0, seq: 1 },
            RequestId { client: 7, seq: 99 },
            RequestId {
                client: u64::MAX,
                seq: u64::MAX - 1,
            },
        ] {
            assert_eq!(request_id(consensus_id(id)), id);
        }
        assert_ne!(
            consensus_id(RequestId { client: 1, seq: 0 }),
            consensus_id(RequestId { client: 0, seq: 1 })
        );
    }

    #[test]
    fn consensus_events_become_the_front_ends_answers() {
        let id = RequestId { client: 3, seq: 9 };
        let output = KvOutput {
            id,
            ret: Some(KvRet::Done),
            index: 4,
        };
        let done = Some(Answer::Done {
            id,
            ret: KvRet::Done,
            index: 4,
        });
        let redirect = |hint| Some(Answer::NotPrimary { id, hint });
        type Kv = RaftKv;
        let applied = RaftEvent::Applied {
            id: consensus_id(id),
            index: 7,
            output: output.clone(),
        };
        assert_eq!(Kv::answer(&applied), done);
        let read = RaftEvent::ReadDone {
            id: consensus_id(id),
            output: output.clone(),
        };
        assert_eq!(Kv::answer(&read), done);
        let rejected = |reason| RaftEvent::Rejected {
            id: consensus_id(id),
            reason,
        };
        let leader = Some(NodeId(2));
        assert_eq!(
            Kv::answer(&rejected(Rejection::NotLeader { leader })),
            redirect(leader)
        );
        assert_eq!(
            Kv::answer(&rejected(Rejection::LeadershipLost)),
            redirect(None)
        );

        let applied = MultiPaxosEvent::Applied {
            id: consensus_id(id),
            slot: 7,
            output,
        };
        assert_eq!(MultiPaxosKv::answer(&applied), done);
        let not_leader = MultiPaxosEvent::NotLeader {
            id: consensus_id(id),
            leader,
        };
        assert_eq!(MultiPaxosKv::answer(&not_leader), redirect(leader));
    }

    #[test]
    fn a_stale_call_has_no_answer_and_queries_answer_only_gets() {
        let mut machine = KvMachine::default();
        let call = |seq, op| Call {
            id: RequestId { client: 1, seq },
            op,
            read: crate::kv::Read::Linearizable,
        };
        let put = KvOp::Put {
            key: "k".into(),
            value: "v".into(),
        };
        machine.apply(1, &call(2, put.clone()));
        let stale = machine.apply(2, &call(1, put.clone()));
        assert_eq!(stale.ret, None);
        assert_eq!(done(&stale), None);
        let get = machine.query(&call(3, KvOp::Get { key: "k".into() }));
        assert_eq!((get.ret, get.index), (Some(KvRet::Value("v".into())), 1));
        assert_eq!(machine.query(&call(3, put)).ret, None);
        assert!(KvMachine::default().restore(b"\xff\xff\xff").is_err());
        // A snapshot holds the map and the sessions: a restored copy
        // answers a retry from its session and reads the same value.
        let mut copy = KvMachine::default();
        copy.restore(&machine.snapshot()).unwrap();
        assert_eq!(copy, machine);
        assert_eq!(copy.store().applied(), 1);
        assert_eq!(KvMachine::new(machine.store().clone()), machine);
    }
}
