//! Raft as a service for remote clients: [`RaftService`] wraps a [`Raft`]
//! server so that processes that are not members — a command-line client,
//! an application front end — can propose commands over the same transport
//! and get an answer: committed (with the index and the state machine's
//! output), a redirect to the leader, or a failure.
//!
//! A client is any node id that is not a member. It sends
//! [`ServiceMsg::Propose`] to any server; a follower answers
//! [`ClientOutcome::Redirect`] with the leader it knows, the leader answers
//! [`ClientOutcome::Committed`] once the command is applied. Clients that
//! retry should use a [`Session`] (exactly-once application).
//!
//! ```
//! use std::time::Duration;
//! use dsys_core::testing::Harness;
//! use dsys_core::{Effect, NodeId};
//! use dsys_consensus::raft::service::{ClientOutcome, RaftService, ServiceMsg};
//! use dsys_consensus::raft::{Counter, MemStorage, Raft, RaftConfig};
//!
//! let raft = Raft::new(RaftConfig::default(), MemStorage::new(), Counter::default()).unwrap();
//! let mut server = Harness::new(RaftService::new(raft), NodeId(1), 3);
//! server.start();
//! // Not the leader: the client is redirected (no leader known yet).
//! let client = NodeId(100);
//! let effects = server.message(client, ServiceMsg::Propose { request: 7, command: 1, session: None });
//! assert!(effects.contains(&Effect::Send {
//!     to: client,
//!     msg: ServiceMsg::Reply { request: 7, outcome: ClientOutcome::Redirect { leader: None } },
//! }));
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use dsys_core::{Context, Effect, EffectOf, Input, Message, Node, NodeId, Wrapper};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::message::{Msg, RaftEvent, RaftRequest, Rejection};
use super::node::{Raft, Timer};
use super::state_machine::StateMachine;
use super::storage::Storage;
use super::types::{LogIndex, RequestId, Session};

/// Request ids the service gives Raft have this bit set; an application's
/// own [`RaftRequest`] ids must not.
pub const SERVICE_ID_BIT: RequestId = 1 << 63;

/// A message of the service: Raft's own, or a client's.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ServiceMsg<C, O> {
    /// Between servers.
    Peer(Msg<C>),
    /// From a client: replicate `command`.
    Propose {
        /// The client's number for this request, echoed in the reply.
        request: u64,
        /// The command.
        command: C,
        /// The client session, for exactly-once application of retries.
        session: Option<Session>,
    },
    /// To a client: what became of its request.
    Reply {
        /// The client's number for the request.
        request: u64,
        /// The outcome.
        outcome: ClientOutcome<O>,
    },
}

/// What became of a client's proposal.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClientOutcome<O> {
    /// Committed at `index` and applied; `output` is the state machine's
    /// answer.
    Committed {
        /// Where it committed.
        index: LogIndex,
        /// The answer.
        output: O,
    },
    /// This server is not the leader; try `leader` (if known) or another.
    Redirect {
        /// The leader this server knows of.
        leader: Option<NodeId>,
    },
    /// Not carried out (busy, leadership lost — the command may still
    /// commit: retry with the same session —, …).
    Failed {
        /// Why.
        reason: String,
    },
}

impl<C, O> Message for ServiceMsg<C, O>
where
    C: Clone + std::fmt::Debug + Send + Serialize + DeserializeOwned + 'static,
    O: Clone + std::fmt::Debug + Send + Serialize + DeserializeOwned + 'static,
{
    /// Raft's own kinds for server traffic, so metrics name AppendEntries
    /// rather than the envelope.
    fn kind(&self) -> &'static str {
        match self {
            ServiceMsg::Peer(msg) => msg.kind(),
            ServiceMsg::Propose { .. } => "Propose",
            ServiceMsg::Reply { .. } => "Reply",
        }
    }
}

/// A Raft server that also answers remote clients. Its requests and events
/// are Raft's, so a local application uses it as it would [`Raft`].
pub struct RaftService<SM: StateMachine, S> {
    raft: Raft<SM, S>,
    clients: BTreeMap<RequestId, (NodeId, u64)>,
    next_id: RequestId,
}

// A service is a value like the Raft server inside it (see Raft's own
// impls): cloned, compared and hashed with the clients it is answering.
impl<SM: StateMachine, S> Clone for RaftService<SM, S>
where
    Raft<SM, S>: Clone,
{
    fn clone(&self) -> Self {
        RaftService {
            raft: self.raft.clone(),
            clients: self.clients.clone(),
            next_id: self.next_id,
        }
    }
}

impl<SM: StateMachine, S> PartialEq for RaftService<SM, S>
where
    Raft<SM, S>: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        self.raft == other.raft && self.clients == other.clients && self.next_id == other.next_id
    }
}

impl<SM: StateMachine, S> Eq for RaftService<SM, S> where Raft<SM, S>: Eq {}

impl<SM: StateMachine, S> std::hash::Hash for RaftService<SM, S>
where
    Raft<SM, S>: std::hash::Hash,
{
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.raft.hash(state);
        self.clients.hash(state);
        self.next_id.hash(state);
    }
}

impl<SM: StateMachine, S> std::fmt::Debug for RaftService<SM, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftService")
            .field("raft", &self.raft)
            .field("clients_waiting", &self.clients.len())
            .finish()
    }
}

impl<SM, S> RaftService<SM, S>
where
    SM: StateMachine,
    S: Storage<SM::Command>,
{
    /// Serves `raft` to clients.
    pub fn new(raft: Raft<SM, S>) -> Self {
        RaftService {
            raft,
            clients: BTreeMap::new(),
            next_id: SERVICE_ID_BIT,
        }
    }

    /// The Raft server inside.
    pub fn raft(&self) -> &Raft<SM, S> {
        &self.raft
    }
}

fn outcome_of<O>(reason: &Rejection) -> ClientOutcome<O> {
    match reason {
        Rejection::NotLeader { leader } => ClientOutcome::Redirect { leader: *leader },
        other => ClientOutcome::Failed {
            reason: format!("{other:?}"),
        },
    }
}

impl<SM, S> Node for RaftService<SM, S>
where
    SM: StateMachine,
    S: Storage<SM::Command>,
{
    type Msg = ServiceMsg<SM::Command, SM::Output>;
    type Timer = Timer;
    type Request = RaftRequest<SM::Command, SM::Query>;
    type Event = RaftEvent<SM::Output>;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.run_inner(ctx, Input::Start);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Self::Msg) {
        match msg {
            ServiceMsg::Peer(msg) => self.run_inner(ctx, Input::Message { from, msg }),
            ServiceMsg::Propose {
                request,
                command,
                session,
            } => {
                let id = self.next_id;
                self.next_id += 1;
                self.clients.insert(id, (from, request));
                let propose = RaftRequest::Propose {
                    id,
                    command,
                    session,
                };
                self.run_inner(ctx, Input::Request(propose));
            }
            // Servers do not take replies.
            ServiceMsg::Reply { .. } => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Timer) {
        self.run_inner(ctx, Input::Timer(timer));
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Self::Request) {
        self.run_inner(ctx, Input::Request(request));
    }
}

impl<SM, S> Wrapper for RaftService<SM, S>
where
    SM: StateMachine,
    S: Storage<SM::Command>,
{
    type Inner = Raft<SM, S>;

    fn inner_mut(&mut self) -> &mut Raft<SM, S> {
        &mut self.raft
    }

    /// Carries out Raft's effects as the service's, answering clients whose
    /// requests Raft has settled.
    fn translate(&mut self, ctx: &mut Context<'_, Self>, effect: EffectOf<Raft<SM, S>>) {
        let Effect::Emit(event) = effect else {
            ctx.record(effect.map(ServiceMsg::Peer, |timer| timer, |event| event));
            return;
        };
        let answer = match &event {
            RaftEvent::Applied { id, index, output } => Some((
                *id,
                ClientOutcome::Committed {
                    index: *index,
                    output: output.clone(),
                },
            )),
            RaftEvent::Rejected { id, reason } => Some((*id, outcome_of(reason))),
            _ => None,
        };
        if let Some((id, outcome)) = answer {
            if let Some((client, request)) = self.clients.remove(&id) {
                ctx.send(client, ServiceMsg::Reply { request, outcome });
            }
        }
        ctx.emit(event);
    }
}

/// What a [`RaftClient`]'s application asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientRequest<C> {
    /// Have `command` committed (one at a time: a second proposal while one
    /// is outstanding is refused with [`ClientEvent::Failed`]).
    Propose(C),
}

/// What a [`RaftClient`] tells its application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEvent<O> {
    /// The command committed at `index`; `output` is the state machine's
    /// answer.
    Committed {
        /// Where it committed.
        index: LogIndex,
        /// The answer.
        output: O,
    },
    /// The command could not be committed (no answer after every retry, or
    /// a proposal while another is outstanding).
    Failed {
        /// Why.
        reason: String,
    },
}

/// A [`RaftClient`]'s timer: retry the request with this sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Retry(u64);

/// A client of a [`RaftService`] cluster, as a node of its own (a process
/// that is not a member): it sends each command to the server it believes
/// leads, follows redirects, retries on silence with the same session
/// number (so a command is applied once however often it is sent), and
/// reports the outcome. Its peers are the servers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RaftClient<C, O> {
    retry_after: Duration,
    attempts_max: u32,
    client: u64,
    seq: u64,
    target: usize,
    pending: Option<(C, u32)>,
    /// The pending retry timer.
    timer: Option<Retry>,
    _output: std::marker::PhantomData<O>,
}

impl<C, O> RaftClient<C, O> {
    /// A client that waits `retry_after` for an answer before asking
    /// another server, `attempts_max` times at most.
    pub fn new(retry_after: Duration, attempts_max: u32) -> Self {
        RaftClient {
            retry_after,
            attempts_max,
            client: 0,
            seq: 0,
            target: 0,
            pending: None,
            timer: None,
            _output: std::marker::PhantomData,
        }
    }
}

impl<C, O> RaftClient<C, O>
where
    C: Clone + std::fmt::Debug + Send + Serialize + DeserializeOwned + 'static,
    O: Clone + std::fmt::Debug + Send + Serialize + DeserializeOwned + 'static,
{
    fn send(&mut self, ctx: &mut Context<'_, Self>) {
        let Some((command, _)) = &self.pending else {
            return;
        };
        let servers = ctx.peers();
        if servers.is_empty() {
            return;
        }
        let to = servers[self.target % servers.len()];
        let msg = ServiceMsg::Propose {
            request: self.seq,
            command: command.clone(),
            session: Some(Session {
                client: self.client,
                seq: self.seq,
            }),
        };
        ctx.send(to, msg);
        if let Some(old) = self.timer.take() {
            ctx.cancel_timer(&old);
        }
        ctx.set_timer(self.retry_after, Retry(self.seq));
        self.timer = Some(Retry(self.seq));
    }
}

impl<C, O> Node for RaftClient<C, O>
where
    C: Clone + std::fmt::Debug + Send + Serialize + DeserializeOwned + 'static,
    O: Clone + std::fmt::Debug + Send + Serialize + DeserializeOwned + 'static,
{
    type Msg = ServiceMsg<C, O>;
    type Timer = Retry;
    type Request = ClientRequest<C>;
    type Event = ClientEvent<O>;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        use rand::RngExt;
        // A session id unlikely to collide with another client's.
        self.client = ctx.rng().random();
    }

    fn on_request(
        &mut self,
        ctx: &mut Context<'_, Self>,
        ClientRequest::Propose(command): ClientRequest<C>,
    ) {
        if self.pending.is_some() {
            ctx.emit(ClientEvent::Failed {
                reason: "a command is already outstanding: wait for its outcome".into(),
            });
            return;
        }
        self.seq += 1;
        self.pending = Some((command, 1));
        self.send(ctx);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Self::Msg) {
        let ServiceMsg::Reply { request, outcome } = msg else {
            return;
        };
        if request != self.seq || self.pending.is_none() {
            return; // an answer to an earlier attempt, already settled
        }
        match outcome {
            ClientOutcome::Committed { index, output } => {
                self.pending = None;
                ctx.emit(ClientEvent::Committed { index, output });
            }
            ClientOutcome::Redirect {
                leader: Some(leader),
            } if leader != from => {
                if let Some(i) = ctx.peers().iter().position(|&p| p == leader) {
                    self.target = i;
                }
                self.send(ctx);
            }
            // No leader known, or a failure (e.g. leadership lost): the
            // retry timer asks the next server.
            _ => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, Retry(seq): Retry) {
        self.timer = None;
        if seq != self.seq {
            return;
        }
        let Some((_, attempts)) = &mut self.pending else {
            return;
        };
        if *attempts >= self.attempts_max {
            let attempts = *attempts;
            self.pending = None;
            ctx.emit(ClientEvent::Failed {
                reason: format!("no server committed the command after {attempts} attempts"),
            });
            return;
        }
        *attempts += 1;
        self.target += 1;
        self.send(ctx);
    }
}
