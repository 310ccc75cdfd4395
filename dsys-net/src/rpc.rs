//! RPC semantics: request/response with request ids, timeouts and bounded
//! retries, under **at-least-once** and **at-most-once** semantics, and over
//! idempotent operations.
//!
//! # The problem
//!
//! A remote procedure call makes a request to another process look like a
//! local call: the caller names an operation, the callee runs it on its state
//! and sends the result back. Unlike a shared-memory call it is *space
//! coupled* — the caller must know who serves the request and that process
//! must be up — and it crosses a network that may **lose** the request or the
//! reply, **duplicate** either, **delay** or **reorder** them, while the
//! server may **crash** before or after executing. A caller that hears
//! nothing cannot tell "the request was lost" from "the reply was lost" from
//! "the server is slow": it does not know whether the operation ran.
//!
//! # The semantics (Coulouris et al., *Distributed Systems*, §5.3.1)
//!
//! | semantics | retry request | filter duplicates | on a retry | outcome |
//! |---|---|---|---|---|
//! | *maybe* | no | — | — | executed once or not at all; the caller may not know |
//! | **at-least-once** | yes | no | re-execute | executed ≥ 1 times if a reply came back |
//! | **at-most-once** | yes | yes | resend the cached reply | executed ≤ 1 times |
//! | exactly-once (with idempotence) | yes | no | re-execute (harmless) | the *effect* of once |
//!
//! *Maybe* is a single try ([`RetryPolicy::tries_max`] = 1). At-least-once
//! re-executes a retried request, so it is correct only for **idempotent**
//! operations — ones whose repetition has the effect of one execution
//! (`set_balance(100)`, not `deposit(10)`). At-most-once makes any operation
//! safe to retry by remembering replies. Exactly-once in the face of an
//! unbounded run of failures is impossible (the caller must eventually give
//! up, not knowing); "exactly once" in practice means at-most-once or
//! idempotence *plus* retrying until a reply comes.
//!
//! # The mechanism (Birrell & Nelson, *Implementing Remote Procedure Calls*, 1984)
//!
//! 1. **Client.** The application hands the [`Client`] an operation. The
//!    client gives it a fresh [`RequestId`] — a per-incarnation random
//!    `session` and a sequence number, so ids are unique across client
//!    restarts — sends [`RpcMsg::Request`] and sets a timer. One call is in
//!    flight at a time; the others wait in a bounded queue
//!    ([`ClientConfig::queue_max`]; a call that does not fit is refused with
//!    [`RpcEvent::Refused`]).
//! 2. **Retry.** When the timer fires without a reply, the client resends the
//!    *same* request with the *same* id, with the timeout multiplied by
//!    [`RetryPolicy::backoff_factor`] (capped at
//!    [`RetryPolicy::timeout_max`]), up to [`RetryPolicy::tries_max`] tries.
//!    Then it gives up and tells the application [`RpcEvent::GaveUp`]: the
//!    request **may or may not have been executed**.
//! 3. **Server, at-least-once** ([`Semantics::AtLeastOnce`]): every request
//!    that arrives is executed and answered — a retry or a network duplicate
//!    runs the operation again.
//! 4. **Server, at-most-once** ([`Semantics::AtMostOnce`]): per client, a
//!    table of the last `table_max` replies by request id. A request whose id
//!    is in the table is answered from it ([`RpcEvent::AnsweredFromCache`])
//!    and **never re-executed**; a new one is executed and its reply cached.
//!    When the table is full the **oldest completed entry is evicted**.
//! 5. **Reply.** The first reply for the call in flight completes it
//!    ([`RpcEvent::Completed`]); later copies are ignored.
//!
//! # Assumptions
//!
//! Crash-stop or crash-recovery processes, no Byzantine ones; messages may
//! be lost, duplicated, delayed and reordered but not corrupted. The server's
//! table lives in memory: a **server restart forgets it**, and a retry that
//! arrives after the restart is executed again. The table keys requests by
//! the sender's node id, so clients must not share one.
//!
//! # Guarantees
//!
//! - *Termination*: every call ends, with a reply or by giving up after
//!   `tries_max` tries (checked by [`calls_finish`]).
//! - *At-most-once* ([`Semantics::AtMostOnce`]): no request id is executed
//!   twice (checked after every event by [`at_most_once`]) **as long as** its
//!   entry is still in the table whenever a copy of it arrives. The window in
//!   which this degrades: an entry is evicted after `table_max` newer
//!   requests of the same client have executed. This client has one call in
//!   flight, so that takes `table_max` later calls — and a copy of the old
//!   request arriving after them (a network duplicate delayed that long, or
//!   a retry from a client with a longer memory than the table) is executed
//!   again. Size the table for the longest time a request copy can live in
//!   the network, in calls: with one call in flight on FIFO links every
//!   copy of a request arrives before the next request, so `table_max` ≥ 1
//!   leaves no window; on reordering links a copy can overtake later calls,
//!   and the tests find seeds where a table of 1 re-executes a late
//!   duplicate while a table of 8 never does (a copy lives at most 10 ms).
//!   A server restart empties the table.
//! - *At-least-once*: a call that completed was executed at least once; a
//!   retried deposit may be executed several times (the tests find seeds
//!   where it is).
//! - *Idempotent operations* end in the right state under either semantics
//!   when one call is in flight and links are FIFO; with reordering links a
//!   late duplicate of an older `set_balance` can overwrite a newer one —
//!   idempotence is about repetition, not order.
//!
//! # Cost
//!
//! Two messages per successful try; at most `2 × tries_max` messages per call
//! plus network duplicates. The server keeps at most `table_max` replies per
//! client. Latency of a call that needs `k` tries is the sum of the first
//! `k − 1` timeouts plus one round trip.
//!
//! # Using it with your own service
//!
//! Implement [`Service`] (an operation applied to state, giving a reply) and
//! run [`RpcNode::server`] on one node and [`RpcNode::client`] on the others.
//! [`bank`] is a worked example.
//!
//! ```
//! use std::time::Duration;
//! use dsys_core::sim::{LinkConfig, Simulation};
//! use dsys_core::NodeId;
//! use dsys_net::rpc::bank::{self, BankOp};
//! use dsys_net::rpc::{at_most_once, calls_finish, ClientConfig, Semantics};
//!
//! let semantics = Semantics::AtMostOnce { table_max: 8 };
//! let mut sim = Simulation::new(2, 3, bank::cluster(semantics, ClientConfig::default()));
//! sim.set_all_links(LinkConfig::default().with_loss(0.3).with_duplicate(0.2)).unwrap();
//! sim.invariant("at most once", at_most_once);
//! for _ in 0..5 {
//!     sim.request(NodeId(1), BankOp::Deposit { account: 1, amount: 10 }).unwrap();
//! }
//! sim.run_until(Duration::from_secs(5)).unwrap();
//! calls_finish(&sim).unwrap();
//! let server = sim.node(NodeId(0)).unwrap().as_server().unwrap();
//! // Each deposit counted once, whatever the network did.
//! assert_eq!(server.service().balance(1), 10 * server.executions().len() as i64);
//! ```

pub mod bank;

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Debug;
use std::hash::Hash;
use std::time::Duration;

use dsys_core::rand::RngExt;
use dsys_core::sim::Simulation;
use dsys_core::{Context, Message, Node, NodeId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A service the server runs: operations applied to state, each giving a
/// reply. `apply` must be deterministic (it runs inside a state machine).
///
/// ```
/// use dsys_net::rpc::Service;
///
/// /// A counter: the operation is an increment, the reply the new value.
/// #[derive(Clone, Debug, Default)]
/// struct Counter(u64);
/// impl Service for Counter {
///     type Op = u64;
///     type Reply = u64;
///     fn apply(&mut self, op: &u64) -> u64 {
///         self.0 += op;
///         self.0
///     }
/// }
/// let mut counter = Counter::default();
/// assert_eq!(counter.apply(&5), 5);
/// ```
pub trait Service: Debug + Send + 'static {
    /// An operation a client asks for.
    type Op: Clone + Debug + PartialEq + Eq + Hash + Send + Serialize + DeserializeOwned + 'static;
    /// The result of an operation.
    type Reply: Clone
        + Debug
        + PartialEq
        + Eq
        + Hash
        + Send
        + Serialize
        + DeserializeOwned
        + 'static;

    /// Executes `op` on the state and returns its reply.
    fn apply(&mut self, op: &Self::Op) -> Self::Reply;
}

/// What the server does with a request it may have seen before.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Semantics {
    /// Execute every request that arrives: a retry or duplicate runs again.
    AtLeastOnce,
    /// Keep the last `table_max` replies per client and answer a request
    /// seen before from them, without executing it again. When the table is
    /// full the oldest entry is evicted (see the module doc for the window
    /// in which at-most-once then degrades).
    AtMostOnce {
        /// Replies kept per client.
        table_max: usize,
    },
}

/// When the client retries and when it gives up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Timeout of the first try.
    pub timeout: Duration,
    /// Tries per call, the first included (1 is *maybe* semantics).
    pub tries_max: u32,
    /// Each retry's timeout is the previous one times this.
    pub backoff_factor: u32,
    /// The largest a timeout may grow.
    pub timeout_max: Duration,
}

impl Default for RetryPolicy {
    /// 30 ms (a round trip on the default 1–10 ms links is at most 20 ms),
    /// doubling up to 240 ms, 5 tries.
    fn default() -> Self {
        RetryPolicy {
            timeout: Duration::from_millis(30),
            tries_max: 5,
            backoff_factor: 2,
            timeout_max: Duration::from_millis(240),
        }
    }
}

impl RetryPolicy {
    /// The timeout of try number `try_number` (1 for the first try).
    ///
    /// ```
    /// use std::time::Duration;
    /// let policy = dsys_net::rpc::RetryPolicy::default();
    /// let ms = Duration::from_millis;
    /// let timeouts: Vec<_> = (1..=5).map(|k| policy.timeout_for(k)).collect();
    /// assert_eq!(timeouts, vec![ms(30), ms(60), ms(120), ms(240), ms(240)]);
    /// ```
    pub fn timeout_for(&self, try_number: u32) -> Duration {
        let factor = self
            .backoff_factor
            .max(1)
            .saturating_pow(try_number.saturating_sub(1));
        self.timeout.saturating_mul(factor).min(self.timeout_max)
    }
}

/// A client's configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClientConfig {
    /// The node that serves requests.
    pub server: NodeId,
    /// Retries and backoff.
    pub retry: RetryPolicy,
    /// Calls waiting behind the one in flight; more are refused.
    pub queue_max: usize,
}

impl Default for ClientConfig {
    /// Server `n0`, the default retry policy, 64 queued calls.
    fn default() -> Self {
        ClientConfig {
            server: NodeId(0),
            retry: RetryPolicy::default(),
            queue_max: 64,
        }
    }
}

/// Identifies a call: unique per client across its restarts (the session is
/// drawn at random when the client starts), the same on every retry.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct RequestId {
    /// Random per client incarnation.
    pub session: u32,
    /// 1, 2, … within the session.
    pub seq: u64,
}

/// The protocol's messages.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RpcMsg<Op, Reply> {
    /// Client to server: please execute `op`.
    Request {
        /// The call's id, the same on every retry.
        id: RequestId,
        /// The operation.
        op: Op,
    },
    /// Server to client: the result of request `id`.
    Reply {
        /// The request answered.
        id: RequestId,
        /// The result.
        reply: Reply,
    },
}

impl<Op, Reply> Message for RpcMsg<Op, Reply>
where
    Op: Clone + Debug + Send + Serialize + DeserializeOwned + 'static,
    Reply: Clone + Debug + Send + Serialize + DeserializeOwned + 'static,
{
}

/// The client's one timer: request `0` has not been answered in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RetryTimer(pub RequestId);

/// What the nodes tell their applications (and checkers).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RpcEvent<Op, Reply> {
    /// Client: the call got its reply after `tries` tries.
    Completed {
        /// The call.
        id: RequestId,
        /// The reply.
        reply: Reply,
        /// Tries it took (1 = no retry).
        tries: u32,
    },
    /// Client: no reply after `tries` tries. The request may or may not
    /// have been executed.
    GaveUp {
        /// The call.
        id: RequestId,
        /// The operation.
        op: Op,
        /// Tries made.
        tries: u32,
    },
    /// Client: the queue was full; the call was never sent.
    Refused {
        /// The operation.
        op: Op,
    },
    /// Server: executed request `id` of `client`.
    Executed {
        /// The caller.
        client: NodeId,
        /// The request.
        id: RequestId,
        /// The operation.
        op: Op,
    },
    /// Server (at-most-once): answered a request seen before from the table.
    AnsweredFromCache {
        /// The caller.
        client: NodeId,
        /// The request.
        id: RequestId,
    },
}

/// What a client counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ClientStats {
    /// Calls sent (first tries).
    pub calls: u64,
    /// Retries sent.
    pub retries: u64,
    /// Calls that got a reply.
    pub completed: u64,
    /// Calls given up.
    pub gave_up: u64,
    /// Calls refused because the queue was full.
    pub refused: u64,
}

/// The call in flight.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct InFlight<Op> {
    id: RequestId,
    op: Op,
    tries: u32,
}

/// The calling side: one call in flight, retried with backoff, the rest queued.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Client<S: Service> {
    config: ClientConfig,
    session: u32,
    next_seq: u64,
    in_flight: Option<InFlight<S::Op>>,
    queue: VecDeque<S::Op>,
    stats: ClientStats,
}

impl<S: Service> Client<S> {
    /// A client with the given configuration (its session is drawn at start).
    pub fn new(config: ClientConfig) -> Self {
        Client {
            config,
            session: 0,
            next_seq: 1,
            in_flight: None,
            queue: VecDeque::new(),
            stats: ClientStats::default(),
        }
    }

    /// The session of this incarnation's request ids.
    pub fn session(&self) -> u32 {
        self.session
    }

    /// What the client counted.
    pub fn stats(&self) -> ClientStats {
        self.stats
    }

    /// Whether no call is in flight or queued.
    pub fn is_idle(&self) -> bool {
        self.in_flight.is_none() && self.queue.is_empty()
    }

    fn start(&mut self, ctx: &mut Context<'_, RpcNode<S>>) {
        self.session = ctx.rng().random();
    }

    fn call(&mut self, ctx: &mut Context<'_, RpcNode<S>>, op: S::Op) {
        if self.queue.len() >= self.config.queue_max {
            self.stats.refused += 1;
            ctx.emit(RpcEvent::Refused { op });
            return;
        }
        self.queue.push_back(op);
        self.send_next(ctx);
    }

    fn send_next(&mut self, ctx: &mut Context<'_, RpcNode<S>>) {
        if self.in_flight.is_some() {
            return;
        }
        let Some(op) = self.queue.pop_front() else {
            return;
        };
        let id = RequestId {
            session: self.session,
            seq: self.next_seq,
        };
        self.next_seq += 1;
        self.stats.calls += 1;
        ctx.send(self.config.server, RpcMsg::Request { id, op: op.clone() });
        ctx.set_timer(self.config.retry.timeout_for(1), RetryTimer(id));
        self.in_flight = Some(InFlight { id, op, tries: 1 });
    }

    fn timeout(&mut self, ctx: &mut Context<'_, RpcNode<S>>, id: RequestId) {
        let Some(call) = self.in_flight.as_mut().filter(|c| c.id == id) else {
            return; // a stale timer of a finished call
        };
        if call.tries < self.config.retry.tries_max {
            call.tries += 1;
            self.stats.retries += 1;
            ctx.send(
                self.config.server,
                RpcMsg::Request {
                    id,
                    op: call.op.clone(),
                },
            );
            ctx.set_timer(self.config.retry.timeout_for(call.tries), RetryTimer(id));
        } else {
            let call = self.in_flight.take().expect("checked above");
            self.stats.gave_up += 1;
            ctx.emit(RpcEvent::GaveUp {
                id,
                op: call.op,
                tries: call.tries,
            });
            self.send_next(ctx);
        }
    }

    fn reply(&mut self, ctx: &mut Context<'_, RpcNode<S>>, id: RequestId, reply: S::Reply) {
        if self.in_flight.as_ref().is_none_or(|c| c.id != id) {
            return; // a duplicate reply, or one for a call given up
        }
        let call = self.in_flight.take().expect("checked above");
        ctx.cancel_timer(&RetryTimer(id));
        self.stats.completed += 1;
        ctx.emit(RpcEvent::Completed {
            id,
            reply,
            tries: call.tries,
        });
        self.send_next(ctx);
    }
}

/// What a server counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ServerStats {
    /// Requests received (retries and duplicates included).
    pub requests: u64,
    /// Operations executed.
    pub executions: u64,
    /// Requests answered from the table.
    pub answered_from_cache: u64,
    /// Table entries evicted because the table was full.
    pub evictions: u64,
}

/// One client's cached replies, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ReplyTable<Reply> {
    order: VecDeque<RequestId>,
    replies: BTreeMap<RequestId, Reply>,
}

impl<Reply> Default for ReplyTable<Reply> {
    fn default() -> Self {
        ReplyTable {
            order: VecDeque::new(),
            replies: BTreeMap::new(),
        }
    }
}

/// The serving side: executes operations on its [`Service`] under the
/// chosen [`Semantics`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Server<S: Service> {
    service: S,
    semantics: Semantics,
    tables: BTreeMap<NodeId, ReplyTable<S::Reply>>,
    executions: BTreeMap<(NodeId, RequestId), u32>,
    stats: ServerStats,
}

impl<S: Service> Server<S> {
    /// A server running `service` under `semantics`.
    pub fn new(service: S, semantics: Semantics) -> Self {
        Server {
            service,
            semantics,
            tables: BTreeMap::new(),
            executions: BTreeMap::new(),
            stats: ServerStats::default(),
        }
    }

    /// The service's state.
    pub fn service(&self) -> &S {
        &self.service
    }

    /// The semantics.
    pub fn semantics(&self) -> Semantics {
        self.semantics
    }

    /// What the server counted.
    pub fn stats(&self) -> ServerStats {
        self.stats
    }

    /// How many times each (client, request) was executed. An audit log for
    /// checkers, not part of the protocol: it grows with every request (a
    /// production server would not keep it).
    pub fn executions(&self) -> &BTreeMap<(NodeId, RequestId), u32> {
        &self.executions
    }

    /// Cached replies held for `client`.
    pub fn table_len(&self, client: NodeId) -> usize {
        self.tables.get(&client).map_or(0, |t| t.order.len())
    }

    fn request(
        &mut self,
        ctx: &mut Context<'_, RpcNode<S>>,
        from: NodeId,
        id: RequestId,
        op: S::Op,
    ) {
        self.stats.requests += 1;
        if let Semantics::AtMostOnce { table_max } = self.semantics {
            let table = self.tables.entry(from).or_default();
            if let Some(reply) = table.replies.get(&id) {
                self.stats.answered_from_cache += 1;
                ctx.emit(RpcEvent::AnsweredFromCache { client: from, id });
                ctx.send(
                    from,
                    RpcMsg::Reply {
                        id,
                        reply: reply.clone(),
                    },
                );
                return;
            }
            let reply = self.service.apply(&op);
            if table_max > 0 {
                // Every entry is complete (apply is synchronous), so the
                // oldest is the one whose retries are most likely over.
                while table.order.len() >= table_max {
                    if let Some(oldest) = table.order.pop_front() {
                        table.replies.remove(&oldest);
                        self.stats.evictions += 1;
                    }
                }
                table.order.push_back(id);
                table.replies.insert(id, reply.clone());
            }
            self.executed(ctx, from, id, op, reply);
        } else {
            let reply = self.service.apply(&op);
            self.executed(ctx, from, id, op, reply);
        }
    }

    fn executed(
        &mut self,
        ctx: &mut Context<'_, RpcNode<S>>,
        from: NodeId,
        id: RequestId,
        op: S::Op,
        reply: S::Reply,
    ) {
        self.stats.executions += 1;
        *self.executions.entry((from, id)).or_insert(0) += 1;
        ctx.emit(RpcEvent::Executed {
            client: from,
            id,
            op,
        });
        ctx.send(from, RpcMsg::Reply { id, reply });
    }
}

/// A node of an RPC cluster: a server or a client of service `S`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RpcNode<S: Service> {
    /// Serves requests.
    Server(Server<S>),
    /// Makes calls (the application's requests are operations).
    Client(Client<S>),
}

impl<S: Service> RpcNode<S> {
    /// A server of `service` under `semantics`.
    pub fn server(service: S, semantics: Semantics) -> Self {
        RpcNode::Server(Server::new(service, semantics))
    }

    /// A client.
    pub fn client(config: ClientConfig) -> Self {
        RpcNode::Client(Client::new(config))
    }

    /// The server, if this node is one.
    pub fn as_server(&self) -> Option<&Server<S>> {
        match self {
            RpcNode::Server(server) => Some(server),
            RpcNode::Client(_) => None,
        }
    }

    /// The client, if this node is one.
    pub fn as_client(&self) -> Option<&Client<S>> {
        match self {
            RpcNode::Client(client) => Some(client),
            RpcNode::Server(_) => None,
        }
    }
}

impl<S: Service> Node for RpcNode<S> {
    type Msg = RpcMsg<S::Op, S::Reply>;
    type Timer = RetryTimer;
    type Request = S::Op;
    type Event = RpcEvent<S::Op, S::Reply>;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if let RpcNode::Client(client) = self {
            client.start(ctx);
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Self::Msg) {
        match (self, msg) {
            (RpcNode::Server(server), RpcMsg::Request { id, op }) => {
                server.request(ctx, from, id, op);
            }
            (RpcNode::Client(client), RpcMsg::Reply { id, reply }) => {
                client.reply(ctx, id, reply);
            }
            _ => {} // a request to a client or a reply to a server: ignored
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, RetryTimer(id): RetryTimer) {
        if let RpcNode::Client(client) = self {
            client.timeout(ctx, id);
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, op: S::Op) {
        if let RpcNode::Client(client) = self {
            client.call(ctx, op);
        }
    }
}

/// At-most-once (Birrell & Nelson §3; Coulouris §5.3.1): no server has
/// executed any request id more than once. An invariant over node states.
pub fn at_most_once<S: Service>(nodes: &[Option<RpcNode<S>>]) -> Result<(), String> {
    for server in nodes.iter().flatten().filter_map(RpcNode::as_server) {
        if let Some(((client, id), times)) = server.executions.iter().find(|&(_, &n)| n > 1) {
            return Err(format!(
                "request {id:?} from {client} was executed {times} times"
            ));
        }
    }
    Ok(())
}

/// Termination: at the end every client is idle, and every call it sent
/// either completed or was given up.
pub fn calls_finish<S: Service>(sim: &Simulation<RpcNode<S>>) -> Result<(), String> {
    for (id, node) in sim.nodes() {
        if let Some(client) = node.as_client() {
            let s = client.stats();
            if !client.is_idle() {
                return Err(format!("{id} still has calls in flight or queued"));
            }
            if s.calls != s.completed + s.gave_up {
                return Err(format!(
                    "{id} sent {} calls but {} completed and {} gave up",
                    s.calls, s.completed, s.gave_up
                ));
            }
        }
    }
    Ok(())
}

pub use bank::ALGORITHM;
