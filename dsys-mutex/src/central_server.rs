//! # Central server
//!
//! **Problem.** N processes share a critical section; at most one may be
//! inside at a time (ME1), every request must eventually be served (ME2),
//! and requests should be served in happened-before order (ME3).
//!
//! **Algorithm.** The simplest solution elects nobody and runs no vote: one
//! process, the *server*, owns a token and a FIFO queue.
//!
//! 1. *Request.* A process that wants the section sends `Request` to the
//!    server and waits.
//! 2. *Grant.* If nobody holds the token, the server sends `Grant` to the
//!    requester at once; otherwise it appends the requester to its queue.
//! 3. *Release.* On exit the holder sends `Release`; the server grants the
//!    token to the head of the queue, if any.
//!
//! The server may also be a client: it grants itself the token without
//! messages.
//!
//! **Assumptions.** Reliable channels (no loss, no duplication; reordering
//! is harmless: a process has at most one message to the server in flight
//! that matters, and a `Request` overtaking its sender's `Release` is simply
//! queued), and no crash. A crashed server stops everyone (its token and
//! queue are gone); a crashed holder stops everyone too, since its `Release`
//! never comes.
//!
//! **Guarantees.** ME1: the server grants the single token to one process at
//! a time. ME2: the queue is FIFO and every holder eventually releases.
//! ME3 holds for the causality that this algorithm's own messages create
//! (if request *a* happened-before request *b*, the server received *a*
//! before it sent anything that led to *b*, so *a* is ahead in the queue);
//! it fails when processes also talk through other channels, because the
//! queue follows arrival order, not happened-before.
//!
//! **Cost** (latency of one message = 1, measured by [`crate::cost`]):
//! entering takes 2 messages (request, grant) and exiting 1 (release);
//! client delay 2 (a round trip); synchronisation delay 2 (release to the
//! server, grant to the next). The server is a bottleneck and a single
//! point of failure.
//!
//! **Source.** Coulouris, Dollimore, Kindberg and Blair, *Distributed
//! Systems: Concepts and Design*, 5th ed., §15.2.2.

use std::collections::VecDeque;

use dsys_core::model::{ModelOptions, ModelVerdict};
use dsys_core::scenario::{Algorithm, DefectInfo, Outcome, SimOptions};
use dsys_core::{Context, Message, Node, NodeId};
use serde::{Deserialize, Serialize};

use crate::{Event, MutexNode, Phase, Request};

/// The central server algorithm's messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Msg {
    /// Client to server: I want the token.
    Request,
    /// Server to client: the token is yours.
    Grant,
    /// Client to server: I give the token back.
    Release,
}

impl Message for Msg {}

/// A deliberate bug, so that the checkers can be seen to catch it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Defect {
    /// The server grants every request at once, even while the token is out
    /// (breaks ME1, and ME3: a request made after another's is served
    /// before it is).
    GrantsTwice,
    /// The server serves its queue last-in first-out (breaks ME2's fairness
    /// and ME3).
    LifoQueue,
}

/// One process of the central server algorithm (the server, or a client).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CentralServer {
    server: NodeId,
    phase: Phase,
    /// Server only: who holds the token.
    holder: Option<NodeId>,
    /// Server only: who waits, first come first served (each process at
    /// most once, so at most N entries).
    queue: VecDeque<NodeId>,
    defect: Option<Defect>,
}

impl CentralServer {
    /// A process of a cluster whose server is `server`.
    pub fn new(server: NodeId) -> Self {
        CentralServer {
            server,
            phase: Phase::Released,
            holder: None,
            queue: VecDeque::new(),
            defect: None,
        }
    }

    /// A process with a deliberate bug (for checker tests and demonstrations).
    pub fn broken(server: NodeId, defect: Defect) -> Self {
        CentralServer {
            defect: Some(defect),
            ..CentralServer::new(server)
        }
    }

    /// Where this process stands.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Server only: who holds the token.
    pub fn holder(&self) -> Option<NodeId> {
        self.holder
    }

    /// Server only: who waits, in order.
    pub fn queue(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.queue.iter().copied()
    }

    fn on_server_request(&mut self, ctx: &mut Context<'_, Self>, from: NodeId) {
        if self.holder.is_none() || self.defect == Some(Defect::GrantsTwice) {
            self.grant(ctx, from);
        } else if !self.queue.contains(&from) {
            self.queue.push_back(from);
        }
    }

    fn on_server_release(&mut self, ctx: &mut Context<'_, Self>, from: NodeId) {
        if self.holder != Some(from) {
            return; // a release from a non-holder: a protocol surprise, ignored
        }
        self.holder = None;
        let next = if self.defect == Some(Defect::LifoQueue) {
            self.queue.pop_back()
        } else {
            self.queue.pop_front()
        };
        if let Some(next) = next {
            self.grant(ctx, next);
        }
    }

    fn grant(&mut self, ctx: &mut Context<'_, Self>, to: NodeId) {
        self.holder = Some(to);
        if to == ctx.id() {
            self.enter(ctx);
        } else {
            ctx.send(to, Msg::Grant);
        }
    }

    fn enter(&mut self, ctx: &mut Context<'_, Self>) {
        if self.phase == Phase::Wanted {
            self.phase = Phase::Held;
            ctx.emit(Event::Entered);
        }
    }
}

impl Node for CentralServer {
    type Msg = Msg;
    type Timer = ();
    type Request = Request;
    type Event = Event;

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Request if ctx.id() == self.server => self.on_server_request(ctx, from),
            Msg::Release if ctx.id() == self.server => self.on_server_release(ctx, from),
            Msg::Grant => self.enter(ctx),
            Msg::Request | Msg::Release => {} // sent to a non-server: ignored
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Request) {
        let me = ctx.id();
        match (request, self.phase) {
            (Request::Enter, Phase::Released) => {
                self.phase = Phase::Wanted;
                if me == self.server {
                    self.on_server_request(ctx, me);
                } else {
                    ctx.send(self.server, Msg::Request);
                }
            }
            (Request::Exit, Phase::Held) => {
                self.phase = Phase::Released;
                ctx.emit(Event::Exited);
                if me == self.server {
                    self.on_server_release(ctx, me);
                } else {
                    ctx.send(self.server, Msg::Release);
                }
            }
            _ => {} // Enter while wanting or holding, Exit while not holding
        }
    }
}

impl MutexNode for CentralServer {
    fn in_section(&self) -> bool {
        self.phase == Phase::Held
    }
}

/// `dsys sim central-server`: node 0 is the server; every node asks for the
/// section twice; ME1–ME3 are judged.
pub const ALGORITHM: Algorithm = Algorithm {
    name: "central-server",
    summary: "mutual exclusion through one server's FIFO queue (request, grant, release)",
    run: simulate,
    settings: &[],
    model: Some(model),
    defects: &[
        DefectInfo {
            name: "grants-twice",
            breaks: "the server grants every request at once, even while the token is out (ME1; and ME3, which dsys check finds first, in 3 steps)",
        },
        DefectInfo {
            name: "lifo-queue",
            breaks: "the server serves its queue last-in first-out (ME3: dsys check central-server finds it in 8 steps, the server's own later request served first)",
        },
    ],
};

fn defect(name: Option<&str>) -> dsys_core::Result<Option<Defect>> {
    Ok(match ALGORITHM.defect_named(name)? {
        Some("grants-twice") => Some(Defect::GrantsTwice),
        Some(_) => Some(Defect::LifoQueue),
        None => None,
    })
}

fn process(defect: Option<Defect>) -> CentralServer {
    match defect {
        Some(defect) => CentralServer::broken(NodeId(0), defect),
        None => CentralServer::new(NodeId(0)),
    }
}

fn simulate(options: &SimOptions) -> dsys_core::Result<Outcome> {
    let defect = defect(options.defect.as_deref())?;
    crate::workload::run_scenario(ALGORITHM.name, options, move |_| process(defect))
}

/// `dsys check central-server`: each process (the server n0 among them)
/// enters once, in every interleaving
/// ([`each_enters_once`](crate::workload::each_enters_once)); with
/// `grants-twice` two processes hold the section at once. ME3 is judged
/// too, over the clients' history stamped with vector clocks
/// ([`me3_history`](crate::properties::me3_history)): with `lifo-queue`,
/// the server's own request, made after it queued another's, is served
/// first. A model's history holds no crashes, so with crashes ME3 is left
/// to the simulator's trace checker.
fn model(options: &ModelOptions) -> dsys_core::Result<ModelVerdict> {
    let defect = defect(options.defect.as_deref())?;
    let model = crate::workload::each_enters_once(
        options.nodes,
        move |_| process(defect),
        CentralServer::phase,
    );
    let model = crate::workload::judged_by_me3(model, options);
    Ok(model.options(options).verdict())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsys_core::testing::Harness;
    use dsys_core::Effect;

    const SERVER: NodeId = NodeId(0);

    // Handler tests assert exact effects (STYLE.md #9). Coulouris §15.2.2.
    #[test]
    fn a_client_asks_the_server_and_enters_on_grant() {
        let mut h = Harness::new(CentralServer::new(SERVER), NodeId(2), 3);
        assert_eq!(
            h.request(Request::Enter),
            vec![Effect::Send {
                to: SERVER,
                msg: Msg::Request
            }]
        );
        assert_eq!(
            h.request(Request::Enter),
            vec![],
            "a second Enter is ignored"
        );
        assert_eq!(
            h.request(Request::Exit),
            vec![],
            "Exit before entry is ignored"
        );
        assert_eq!(
            h.message(SERVER, Msg::Grant),
            vec![Effect::Emit(Event::Entered)]
        );
        assert_eq!(
            h.request(Request::Exit),
            vec![
                Effect::Emit(Event::Exited),
                Effect::Send {
                    to: SERVER,
                    msg: Msg::Release
                }
            ]
        );
    }

    #[test]
    fn the_server_grants_a_free_token_and_queues_the_rest_in_order() {
        let mut h = Harness::new(CentralServer::new(SERVER), SERVER, 4);
        assert_eq!(
            h.message(NodeId(1), Msg::Request),
            vec![Effect::Send {
                to: NodeId(1),
                msg: Msg::Grant
            }]
        );
        assert_eq!(h.message(NodeId(3), Msg::Request), vec![]);
        assert_eq!(h.message(NodeId(2), Msg::Request), vec![]);
        assert_eq!(
            h.node().queue().collect::<Vec<_>>(),
            vec![NodeId(3), NodeId(2)]
        );
        assert_eq!(
            h.message(NodeId(2), Msg::Release),
            vec![],
            "only the holder releases"
        );
        assert_eq!(
            h.message(NodeId(1), Msg::Release),
            vec![Effect::Send {
                to: NodeId(3),
                msg: Msg::Grant
            }]
        );
        assert_eq!(
            h.message(NodeId(3), Msg::Release),
            vec![Effect::Send {
                to: NodeId(2),
                msg: Msg::Grant
            }]
        );
        assert_eq!(h.message(NodeId(2), Msg::Release), vec![]);
        assert_eq!(h.node().holder(), None);
    }

    #[test]
    fn the_server_as_a_client_needs_no_messages() {
        let mut h = Harness::new(CentralServer::new(SERVER), SERVER, 3);
        assert_eq!(
            h.request(Request::Enter),
            vec![Effect::Emit(Event::Entered)]
        );
        assert_eq!(h.message(NodeId(1), Msg::Request), vec![]);
        assert_eq!(
            h.request(Request::Exit),
            vec![
                Effect::Emit(Event::Exited),
                Effect::Send {
                    to: NodeId(1),
                    msg: Msg::Grant
                }
            ]
        );
    }

    #[test]
    fn a_request_overtaking_its_senders_release_is_queued() {
        let mut h = Harness::new(CentralServer::new(SERVER), SERVER, 3);
        h.message(NodeId(1), Msg::Request);
        assert_eq!(h.message(NodeId(1), Msg::Request), vec![]);
        assert_eq!(
            h.message(NodeId(1), Msg::Release),
            vec![Effect::Send {
                to: NodeId(1),
                msg: Msg::Grant
            }]
        );
    }

    #[test]
    fn the_process_shows_its_phase_and_the_server_its_holder() {
        let mut client = Harness::new(CentralServer::new(SERVER), NodeId(1), 3);
        assert_eq!(client.node().phase(), Phase::Released);
        client.request(Request::Enter);
        assert_eq!(client.node().phase(), Phase::Wanted);
        assert!(!client.node().in_section(), "wanting is not holding");
        client.message(SERVER, Msg::Grant);
        assert_eq!(client.node().phase(), Phase::Held);
        assert!(client.node().in_section());
        client.request(Request::Exit);
        assert!(!client.node().in_section());

        let mut server = Harness::new(CentralServer::new(SERVER), SERVER, 3);
        server.message(NodeId(2), Msg::Request);
        assert_eq!(server.node().holder(), Some(NodeId(2)));
    }

    #[test]
    fn a_client_ignores_a_stray_request() {
        // Only the server grants: a client that answered a stray `Request`
        // would hand out a second token (ME1).
        let mut h = Harness::new(CentralServer::new(SERVER), NodeId(2), 3);
        assert_eq!(h.message(NodeId(1), Msg::Request), vec![]);
        assert_eq!(h.node().holder(), None);
        assert_eq!(h.node().queue().count(), 0);
    }

    #[test]
    fn defects_are_found_by_their_names() {
        assert_eq!(defect(None).unwrap(), None);
        assert_eq!(
            defect(Some("grants-twice")).unwrap(),
            Some(Defect::GrantsTwice)
        );
        assert_eq!(defect(Some("lifo-queue")).unwrap(), Some(Defect::LifoQueue));
        let err = defect(Some("no-such")).unwrap_err().to_string();
        assert!(err.contains("has no defect \"no-such\""), "{err}");
    }

    #[test]
    fn the_model_passes_the_correct_server_and_catches_grants_twice() {
        let correct = model(&ModelOptions::default()).unwrap();
        assert!(correct.passed && correct.exhaustive, "{}", correct.text);
        let broken = model(&ModelOptions {
            nodes: 2,
            defect: Some("grants-twice".to_string()),
            ..ModelOptions::default()
        })
        .unwrap();
        assert!(!broken.passed, "{}", broken.text);
        assert!(broken.text.contains("ME1"), "{}", broken.text);
        // ME3 over the causal history: the server enters on its own request,
        // made after it had queued n1's.
        let lifo = model(&ModelOptions {
            defect: Some("lifo-queue".to_string()),
            ..ModelOptions::default()
        })
        .unwrap();
        assert!(!lifo.passed, "{}", lifo.text);
        assert!(lifo.text.contains("ME3: n"), "{}", lifo.text);
        // With two processes no request can follow another's: the server
        // hears a request only once it is made, and n0 asks once.
        let two = model(&ModelOptions {
            nodes: 2,
            defect: Some("lifo-queue".to_string()),
            ..ModelOptions::default()
        })
        .unwrap();
        assert!(two.passed && two.exhaustive, "{}", two.text);
    }

    #[test]
    fn the_broken_server_grants_twice() {
        let mut h = Harness::new(
            CentralServer::broken(SERVER, Defect::GrantsTwice),
            SERVER,
            3,
        );
        h.message(NodeId(1), Msg::Request);
        assert_eq!(
            h.message(NodeId(2), Msg::Request),
            vec![Effect::Send {
                to: NodeId(2),
                msg: Msg::Grant
            }]
        );
    }
}
