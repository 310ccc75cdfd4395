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
//! retry should use a [`Session`] (exactly-once application), opened with
//! [`ServiceMsg::OpenSession`]; [`RaftClient`] does all of this.
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
use rand::RngExt;
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
    /// From a client: open a session (dissertation §6.3, RegisterClient).
    OpenSession {
        /// The client's number for this request, echoed in the reply.
        request: u64,
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
    /// The session is open: its commands carry [`Session`] with this
    /// `client`, numbered from 1.
    SessionOpened {
        /// The session's id.
        client: u64,
    },
    /// The command's session expired (or was never opened): the command
    /// was not applied now, and whether an earlier copy was is unknown.
    /// Open a new session and go on under it.
    SessionExpired {
        /// The session's id.
        client: u64,
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
            ServiceMsg::OpenSession { .. } => "OpenSession",
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
        Rejection::SessionExpired { client } => ClientOutcome::SessionExpired { client: *client },
        other => ClientOutcome::Failed {
            reason: other.to_string(),
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
            ServiceMsg::OpenSession { request } => {
                let id = self.next_id;
                self.next_id += 1;
                self.clients.insert(id, (from, request));
                self.run_inner(ctx, Input::Request(RaftRequest::OpenSession { id }));
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
            RaftEvent::SessionOpened { id, client } => {
                Some((*id, ClientOutcome::SessionOpened { client: *client }))
            }
            RaftEvent::Rejected { id, reason } => Some((*id, outcome_of(reason))),
            _ => None,
        };
        if let Some((id, outcome)) = answer
            && let Some((client, request)) = self.clients.remove(&id)
        {
            ctx.send(client, ServiceMsg::Reply { request, outcome });
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
    /// The client's session expired before the command's answer came back
    /// (dissertation §6.3): the command may or may not have been applied,
    /// its answer being lost with the session. The next command opens a
    /// new session.
    SessionExpired {
        /// The expired session's id.
        client: u64,
    },
}

/// A [`RaftClient`]'s timer: retry the request with this number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Retry(u64);

/// A client of a [`RaftService`] cluster, as a node of its own (a process
/// that is not a member): it opens a session (dissertation §6.3) before
/// its first command, sends each command to the server it believes leads,
/// follows redirects, retries on silence with the same session number (so
/// a command is applied once however often it is sent), and reports the
/// outcome. Its peers are the servers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RaftClient<C, O> {
    retry_after: Duration,
    attempts_max: u32,
    /// The session, once the cluster has opened one.
    session: Option<u64>,
    /// The sequence number of the latest command in the session.
    seq: u64,
    /// The number of the request in flight (opening or command), echoed
    /// in the servers' replies. Numbers start at a random point drawn at
    /// start, so that a new client process with the same node id never
    /// takes a reply meant for an earlier one (servers and links may still
    /// hold those).
    request: u64,
    target: usize,
    pending: Option<(C, u32)>,
    /// The pending retry timer.
    timer: Option<Retry>,
    _output: std::marker::PhantomData<O>,
}

impl<C, O> RaftClient<C, O> {
    /// A client that waits `retry_after` for an answer before asking
    /// another server, `attempts_max` times at most (for opening its
    /// session, and again for each command).
    pub fn new(retry_after: Duration, attempts_max: u32) -> Self {
        RaftClient {
            retry_after,
            attempts_max,
            session: None,
            seq: 0,
            request: 0,
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
    /// Sends the request in flight: the opening of a session while there is
    /// none, else the pending command.
    fn send(&mut self, ctx: &mut Context<'_, Self>) {
        let Some((command, _)) = &self.pending else {
            return;
        };
        let servers = ctx.peers();
        if servers.is_empty() {
            return;
        }
        let to = servers[self.target % servers.len()];
        let msg = match self.session {
            None => ServiceMsg::OpenSession {
                request: self.request,
            },
            Some(client) => ServiceMsg::Propose {
                request: self.request,
                command: command.clone(),
                session: Some(Session {
                    client,
                    seq: self.seq,
                }),
            },
        };
        ctx.send(to, msg);
        if let Some(old) = self.timer.take() {
            ctx.cancel_timer(&old);
        }
        ctx.set_timer(self.retry_after, Retry(self.request));
        self.timer = Some(Retry(self.request));
    }

    /// Moves on to a new request (a new number, so that late replies to
    /// the previous one are ignored) and sends it.
    fn next_request(&mut self, ctx: &mut Context<'_, Self>) {
        self.request += 1;
        if let Some((_, attempts)) = &mut self.pending {
            *attempts = 1;
        }
        self.send(ctx);
    }

    /// The request in flight is settled: stop retrying it.
    fn settle(&mut self, ctx: &mut Context<'_, Self>) {
        self.pending = None;
        if let Some(old) = self.timer.take() {
            ctx.cancel_timer(&old);
        }
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
        // Half the range: 2^63 requests before the numbers could wrap.
        self.request = ctx.rng().random::<u64>() >> 1;
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
        self.next_request(ctx);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Self::Msg) {
        let ServiceMsg::Reply { request, outcome } = msg else {
            return;
        };
        if request != self.request || self.pending.is_none() {
            return; // an answer to an earlier attempt, already settled
        }
        match outcome {
            ClientOutcome::SessionOpened { client } if self.session.is_none() => {
                self.session = Some(client);
                self.seq = 1;
                self.next_request(ctx);
            }
            // Only a command is answered by a commit, never an opening.
            ClientOutcome::Committed { index, output } if self.session.is_some() => {
                self.settle(ctx);
                ctx.emit(ClientEvent::Committed { index, output });
            }
            ClientOutcome::SessionExpired { client } => {
                // Dissertation §6.3: the session is gone for good, and with
                // it the answer to this command; the next opens another.
                self.settle(ctx);
                self.session = None;
                self.seq = 0;
                ctx.emit(ClientEvent::SessionExpired { client });
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

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, Retry(request): Retry) {
        self.timer = None;
        if request != self.request {
            return;
        }
        let Some((_, attempts)) = &mut self.pending else {
            return;
        };
        if *attempts >= self.attempts_max {
            let attempts = *attempts;
            let what = if self.session.is_none() {
                "opened a session"
            } else {
                "committed the command"
            };
            self.pending = None;
            ctx.emit(ClientEvent::Failed {
                reason: format!("no server {what} after {attempts} attempts"),
            });
            return;
        }
        *attempts += 1;
        self.target += 1;
        self.send(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsys_core::testing::Harness;

    const RETRY: Duration = Duration::from_millis(500);
    const S0: NodeId = NodeId(0);

    fn reply(request: u64, outcome: ClientOutcome<u64>) -> ServiceMsg<u64, u64> {
        ServiceMsg::Reply { request, outcome }
    }

    #[test]
    fn a_client_opens_a_session_first_and_a_new_one_once_it_expired() {
        // Dissertation §6.3: a client registers before its first command,
        // numbers its commands under the session the cluster named, and
        // once told the session expired, reports it (the command's fate is
        // unknown) and registers anew for the next command.
        let mut h = Harness::new(RaftClient::<u64, u64>::new(RETRY, 3), NodeId(3), 4);
        h.start();
        // Request numbers start at a random point (here fixed by the seed).
        let b = h.node().request;
        assert_ne!(b, 0);
        assert_eq!(
            h.request(ClientRequest::Propose(5)),
            vec![
                Effect::Send {
                    to: S0,
                    msg: ServiceMsg::OpenSession { request: b + 1 },
                },
                Effect::SetTimer {
                    after: RETRY,
                    timer: Retry(b + 1),
                },
            ]
        );
        assert_eq!(
            h.message(S0, reply(b + 1, ClientOutcome::SessionOpened { client: 9 })),
            vec![
                Effect::Send {
                    to: S0,
                    msg: ServiceMsg::Propose {
                        request: b + 2,
                        command: 5,
                        session: Some(Session { client: 9, seq: 1 }),
                    },
                },
                Effect::CancelTimer {
                    timer: Retry(b + 1)
                },
                Effect::SetTimer {
                    after: RETRY,
                    timer: Retry(b + 2),
                },
            ]
        );
        assert_eq!(
            h.message(
                S0,
                reply(b + 2, ClientOutcome::SessionExpired { client: 9 })
            ),
            vec![
                Effect::CancelTimer {
                    timer: Retry(b + 2)
                },
                Effect::Emit(ClientEvent::SessionExpired { client: 9 }),
            ]
        );
        // A late answer to the settled request is ignored.
        let late = ClientOutcome::Committed {
            index: 4,
            output: 5,
        };
        assert_eq!(h.message(S0, reply(b + 2, late)), vec![]);
        assert_eq!(
            h.request(ClientRequest::Propose(6)),
            vec![
                Effect::Send {
                    to: S0,
                    msg: ServiceMsg::OpenSession { request: b + 3 },
                },
                Effect::SetTimer {
                    after: RETRY,
                    timer: Retry(b + 3),
                },
            ]
        );
    }

    #[test]
    fn a_client_takes_only_the_reply_to_its_request_in_flight() {
        // A new client process has the id of the one before it, and replies
        // meant for that one may still be queued for the id. Its numbers
        // start elsewhere, and a commit never answers a session opening.
        let mut h = Harness::new(RaftClient::<u64, u64>::new(RETRY, 3), NodeId(3), 4);
        h.start();
        let b = h.node().request;
        h.request(ClientRequest::Propose(5));
        let stale = ClientOutcome::Committed {
            index: 29,
            output: 13,
        };
        // The earlier process's numbers (from 1), and a commit answering
        // this process's opening: all ignored.
        assert_eq!(h.message(S0, reply(1, stale.clone())), vec![]);
        assert_eq!(h.message(S0, reply(2, stale.clone())), vec![]);
        assert_eq!(h.message(S0, reply(b + 1, stale)), vec![]);
        assert!(h.node().pending.is_some(), "still waiting for its session");
        let opened = h.message(S0, reply(b + 1, ClientOutcome::SessionOpened { client: 9 }));
        assert!(matches!(
            opened[0],
            Effect::Send {
                msg: ServiceMsg::Propose { request, .. },
                ..
            } if request == b + 2
        ));
    }
}
