//! # Active replication over a sequencer's total order
//!
//! **The problem.** The same as [passive replication](crate::primary_backup):
//! a replicated service whose clients see one copy — but with no replica
//! in charge of executing: every replica does the work.
//!
//! **The scheme** (Coulouris et al., §18.3.2; Schneider, *Implementing
//! fault-tolerant services using the state machine approach*, 1990).
//! Every replica is a deterministic state machine ([`Store`]); if each
//! receives the same requests in the same order, each computes the same
//! state and the same answers. In the lecture's five stages, each a
//! function of [`Active`]:
//!
//! 1. **Request** — the [front end](crate::kv::FrontEnd) gives the call a
//!    unique id and hands it to a replica, which multicasts it to the group
//!    (through the sequencer, below).
//! 2. **Coordination** (`coordinate`, `deliver`) — the group communication
//!    layer delivers every request to every correct replica in the same
//!    **total order**.
//! 3. **Execution** (`execute`) — every replica executes the request;
//!    the answer carries the request's id.
//! 4. **Agreement** — none is needed: total-order delivery already makes
//!    every replica execute the same sequence.
//! 5. **Response** (`respond`) — every replica answers the front end, which
//!    takes the first answer (crash failures only: every answer is right).
//!
//! **The total order: a sequencer.** One replica, the *sequencer* (the
//! lowest-numbered), gives each request the next sequence number and
//! multicasts it (Order); every replica holds back out-of-order requests
//! and delivers them in sequence (Coulouris §15.4.3). A replica reports
//! how far it has delivered on every heartbeat tick, and the sequencer
//! resends what is missing — or its whole state, to a replica too far
//! behind (one that restarted empty, say). We chose a sequencer because it
//! is the simplest total order there is, and it shows the stages plainly;
//! its cost is that **the sequencer is a single point of failure**: while
//! it is down, nothing is ordered. Removing that needs the order itself to
//! be agreed by consensus (atomic broadcast and consensus are equivalent —
//! Chandra & Toueg, 1996): the [Raft and Multi-Paxos backends](crate::kv)
//! are exactly that.
//!
//! **Consistency.** Gets ordered with the writes ([`Read::Linearizable`])
//! are linearizable: a request's place in the order is fixed after its call
//! and before its first answer. The lecture's claim — active replication
//! is sequentially consistent, not linearizable — is about the cheaper
//! reading: a get answered by one replica from its own copy
//! ([`Read::Local`]) without going through the order. Each replica's copy
//! is a prefix of the one sequence; the front end's token makes a client
//! read from a prefix at least as long as any it has seen, so the client's
//! own operations keep their program order (**sequentially consistent**),
//! but a replica that lags can still answer a read with a value another
//! client has already overwritten and been told so (**not linearizable**).
//! `tests/active.rs` shows both verdicts.
//!
//! **Assumptions.** Crash failures; a non-sequencer replica may crash and
//! restart empty (it catches up from the sequencer); messages may be lost,
//! duplicated, delayed and reordered. Liveness needs the sequencer up, and
//! the sequencer must not restart: it keeps its numbering only in memory,
//! so a restarted one would number from 1 again (and `dsys sim` refuses
//! `--restart 0`).
//!
//! **Message cost.** Per call: one Submit to the sequencer (none if the
//! front end called the sequencer), `n − 1` Order, and `n` answers to the
//! front end. Every heartbeat tick, each other replica sends the sequencer
//! one Delivered.
//!
//! ```
//! use std::time::Duration;
//! use dsys_core::sim::Simulation;
//! use dsys_core::NodeId;
//! use dsys_replication::active::{Active, ActiveConfig, ActiveEvent};
//! use dsys_replication::consistency::models::{KvOp, KvRet};
//! use dsys_replication::kv::{Answer, Call, Read, RequestId};
//!
//! let mut sim = Simulation::new(3, 1, |_| Active::new(ActiveConfig::default()));
//! let put = Call {
//!     id: RequestId { client: 1, seq: 1 },
//!     op: KvOp::Put { key: "x".into(), value: "1".into() },
//!     read: Read::Linearizable,
//! };
//! sim.request(NodeId(2), put).unwrap(); // any replica takes a call
//! sim.run_until(Duration::from_millis(100)).unwrap();
//! // Every replica executed it and answered.
//! for id in [NodeId(0), NodeId(1), NodeId(2)] {
//!     let answers: Vec<_> = sim.events(id).iter().map(|e| e.event.clone()).collect();
//!     let done = Answer::Done { id: RequestId { client: 1, seq: 1 }, ret: KvRet::Done, index: 1 };
//!     assert_eq!(answers, vec![ActiveEvent::Answer(done)]);
//!     assert_eq!(sim.node(id).unwrap().store().get("x"), "1");
//! }
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use dsys_core::{Context, Message, Node, NodeId};
use serde::{Deserialize, Serialize};

use crate::consistency::models::{KvOp, KvRet};
use crate::kv::{Answer, Backlog, Call, Executed, Read, Replica, Store};

#[cfg(test)]
mod tests;

/// What replicas tell each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ActiveMsg {
    /// A replica passes a client's call to the sequencer, to be ordered.
    Submit {
        /// The call.
        call: Call,
    },
    /// The sequencer's multicast: `calls[0]` is request number `first` in
    /// the total order, the next one `first + 1`, ….
    Order {
        /// The sequence number of `calls[0]`.
        first: u64,
        /// The calls, in order.
        calls: Vec<Call>,
    },
    /// A replica has delivered every request up to `upto`.
    Delivered {
        /// Its position.
        upto: u64,
    },
    /// The sequencer's whole state, for a replica too far behind for its
    /// log to reach.
    Snapshot {
        /// The state.
        store: Store,
    },
}

impl Message for ActiveMsg {}

/// What a replica tells its application.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ActiveEvent {
    /// **Response**: this replica's answer to a call.
    Answer(Answer),
}

/// The one timer: report progress, resend what is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tick;

/// Active replication's settings.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ActiveConfig {
    /// How often replicas report progress and the sequencer resends.
    pub tick: Duration,
    /// Ordered calls the sequencer keeps for replicas that fall behind;
    /// one further behind gets the whole state.
    pub log_max: usize,
    /// Calls per Order when a replica catches up.
    pub batch_max: usize,
    /// How far past its delivered position a replica holds calls back;
    /// further ones it drops (the sequencer resends).
    pub holdback_max: usize,
    /// Local reads a replica holds while its copy catches up with the
    /// client's token; beyond, it redirects.
    pub parked_reads_max: usize,
    /// Client sessions the store keeps.
    pub sessions_max: usize,
}

impl Default for ActiveConfig {
    fn default() -> Self {
        ActiveConfig {
            tick: Duration::from_millis(20),
            log_max: 1_024,
            batch_max: 64,
            holdback_max: 1_024,
            parked_reads_max: 256,
            sessions_max: crate::kv::SESSIONS_MAX,
        }
    }
}

/// One replica of an actively replicated key-value store; the lowest id
/// is also the sequencer. See the [module documentation](self).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Active {
    config: ActiveConfig,
    sequencer: NodeId,
    store: Store,
    /// Calls received ahead of their turn, by sequence number.
    holdback: BTreeMap<u64, Call>,
    /// Local reads waiting for this copy to catch up.
    parked: Vec<Call>,
    /// The sequencer's ordered calls, for replicas that fall behind.
    log: Backlog<Call>,
    /// How far each replica has delivered (the sequencer's view).
    delivered: BTreeMap<NodeId, u64>,
}

impl Active {
    /// A replica.
    pub fn new(config: ActiveConfig) -> Self {
        let store = Store::with_sessions_max(config.sessions_max);
        Active {
            config,
            sequencer: NodeId(0),
            store,
            holdback: BTreeMap::new(),
            parked: Vec::new(),
            log: Backlog::new(),
            delivered: BTreeMap::new(),
        }
    }

    /// This replica's copy of the store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The sequencer.
    pub fn sequencer(&self) -> NodeId {
        self.sequencer
    }

    /// How many requests this replica has delivered (and executed).
    pub fn delivered(&self) -> u64 {
        self.store.applied()
    }

    /// **Coordination**, at the sequencer: the next sequence number for
    /// a call not ordered before, multicast to the group and delivered
    /// here at once. A call ordered before is answered from the session.
    fn coordinate(&mut self, ctx: &mut Context<'_, Self>, call: Call) {
        if let Some((ret, index)) = self.store.answered(call.id) {
            let answer = Answer::Done {
                id: call.id,
                ret: ret.clone(),
                index,
            };
            ctx.emit(ActiveEvent::Answer(answer));
            return;
        }
        if self.store.is_stale(call.id) {
            return; // its client has moved on: nobody waits for it
        }
        let seq = self.delivered() + 1;
        ctx.broadcast(ActiveMsg::Order {
            first: seq,
            calls: vec![call.clone()],
        });
        self.log.push(call.clone());
        self.execute(ctx, call);
    }

    /// **Coordination**, at every replica: delivers held-back calls in
    /// sequence order.
    fn deliver(&mut self, ctx: &mut Context<'_, Self>) {
        while let Some(call) = self.holdback.remove(&(self.delivered() + 1)) {
            self.execute(ctx, call);
        }
        self.serve_parked(ctx);
    }

    /// **Execution** and **response**: runs the delivered call on this
    /// replica's store and answers it.
    fn execute(&mut self, ctx: &mut Context<'_, Self>, call: Call) {
        let seq = self.delivered() + 1;
        match self.store.execute(call.id, &call.op) {
            Executed::Fresh(ret) => {
                let answer = Answer::Done {
                    id: call.id,
                    ret,
                    index: seq,
                };
                self.respond(ctx, answer);
            }
            executed => unreachable!(
                "{} delivered {call:?} as number {seq}, but executing it gave {executed:?}: \
                 the sequencer orders only calls not executed before",
                ctx.id()
            ),
        }
    }

    /// **Response**: every replica answers; the front end takes the first.
    fn respond(&mut self, ctx: &mut Context<'_, Self>, answer: Answer) {
        ctx.emit(ActiveEvent::Answer(answer));
    }

    fn local_read(&mut self, ctx: &mut Context<'_, Self>, call: Call, min_index: u64) {
        if self.delivered() >= min_index {
            let KvOp::Get { key } = &call.op else {
                unreachable!("only gets are read locally")
            };
            let answer = Answer::Done {
                id: call.id,
                ret: KvRet::Value(self.store.get(key).to_string()),
                index: self.delivered(),
            };
            self.respond(ctx, answer);
        } else if self.parked.len() < self.config.parked_reads_max {
            self.parked.push(call);
        } else {
            ctx.emit(ActiveEvent::Answer(Answer::NotPrimary {
                id: call.id,
                hint: Some(self.sequencer),
            }));
        }
    }

    fn serve_parked(&mut self, ctx: &mut Context<'_, Self>) {
        if self.parked.is_empty() {
            return;
        }
        for call in std::mem::take(&mut self.parked) {
            let Read::Local { min_index } = call.read else {
                unreachable!("only local reads are parked")
            };
            self.local_read(ctx, call, min_index);
        }
    }

    /// The sequencer resends to each replica what it has not delivered
    /// (its whole state if the log no longer reaches back), and forgets
    /// what every replica has.
    fn catch_up(&mut self, ctx: &mut Context<'_, Self>) {
        let me = ctx.id();
        for &peer in ctx.peers().to_vec().iter() {
            let upto = self.delivered.get(&peer).copied().unwrap_or(0);
            if upto >= self.delivered() {
                continue;
            }
            if let Some(calls) = self.log.since(upto + 1, self.config.batch_max) {
                ctx.send(
                    peer,
                    ActiveMsg::Order {
                        first: upto + 1,
                        calls,
                    },
                );
            } else {
                ctx.send(
                    peer,
                    ActiveMsg::Snapshot {
                        store: self.store.clone(),
                    },
                );
            }
        }
        let everyone = ctx
            .peers()
            .iter()
            .filter(|&&p| p != me)
            .map(|p| self.delivered.get(p).copied().unwrap_or(0))
            .min()
            .unwrap_or(self.delivered());
        self.log.trim(everyone, self.config.log_max);
    }
}

impl Node for Active {
    type Msg = ActiveMsg;
    type Timer = Tick;
    type Request = Call;
    type Event = ActiveEvent;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.sequencer = ctx
            .peers()
            .iter()
            .copied()
            .chain([ctx.id()])
            .min()
            .expect("a cluster has at least this node");
        ctx.set_timer(self.config.tick, Tick);
    }

    /// **Request**, at the replica the front end called: a local read is
    /// answered here; anything else goes to the sequencer to be ordered.
    fn on_request(&mut self, ctx: &mut Context<'_, Self>, call: Call) {
        match call.read {
            Read::Local { min_index } if call.op.is_read() => self.local_read(ctx, call, min_index),
            _ if ctx.id() == self.sequencer => self.coordinate(ctx, call),
            _ => ctx.send(self.sequencer, ActiveMsg::Submit { call }),
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _: Tick) {
        if ctx.id() == self.sequencer {
            self.catch_up(ctx);
        } else {
            let upto = self.delivered();
            ctx.send(self.sequencer, ActiveMsg::Delivered { upto });
        }
        ctx.set_timer(self.config.tick, Tick);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: ActiveMsg) {
        let sequencer = ctx.id() == self.sequencer;
        match msg {
            ActiveMsg::Submit { call } if sequencer => self.coordinate(ctx, call),
            ActiveMsg::Order { first, calls } if from == self.sequencer && !sequencer => {
                // Held back within a window of `holdback_max` past the
                // delivered position; further ones come again later.
                let window = self.delivered() + self.config.holdback_max as u64;
                for (offset, call) in calls.into_iter().enumerate() {
                    let seq = first + offset as u64;
                    if seq > self.delivered() && seq <= window {
                        self.holdback.insert(seq, call);
                    }
                }
                self.deliver(ctx);
            }
            ActiveMsg::Delivered { upto } if sequencer => {
                let known = self.delivered.entry(from).or_insert(0);
                // A replica that restarted reports less than before: believe it.
                *known = upto.min(self.store.applied());
            }
            ActiveMsg::Snapshot { store }
                if from == self.sequencer && !sequencer && store.applied() > self.delivered() =>
            {
                self.store = store;
                self.holdback = self.holdback.split_off(&(self.delivered() + 1));
                self.deliver(ctx);
            }
            // Messages for another role (a Submit that reached a replica
            // that is not the sequencer, …) are ignored.
            _ => {}
        }
    }
}

impl Replica for Active {
    fn call(call: Call) -> Call {
        call
    }

    fn answer(event: &ActiveEvent) -> Option<Answer> {
        let ActiveEvent::Answer(answer) = event;
        Some(answer.clone())
    }
}
