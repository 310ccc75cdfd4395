//! # Ricart & Agrawala
//!
//! **Problem.** Mutual exclusion among N peers with no server: ME1 (at most
//! one inside), ME2 (every request served), ME3 (requests served in
//! happened-before order).
//!
//! **Algorithm.** Every process keeps a Lamport clock
//! ([`dsys_clocks::lamport::LamportClock`]); a request is identified by its
//! Lamport timestamp and its process id, `(T, i)`, a total order consistent
//! with happened-before.
//!
//! 1. *Request.* To enter, process *i* sets its state to WANTED, stamps the
//!    request `T_i`, multicasts `Request(T_i)` to the N − 1 others and waits.
//! 2. *Reply or defer.* On `Request(T_j)` from *j*, a process replies at
//!    once unless it is HELD, or it is WANTED with `(T_i, i) < (T_j, j)`:
//!    then it queues *j*'s request without replying.
//! 3. *Enter.* When all N − 1 replies are in, *i* is HELD: it enters.
//! 4. *Exit.* On exit, *i* is RELEASED and replies to every queued request.
//!
//! **Assumptions.** Reliable channels (no loss, no duplication; order does
//! not matter: each request is answered by one reply), no crash, and every
//! process knows all the others. A crashed process never replies, so every
//! other process blocks at its next request: N points of failure instead
//! of the central server's one.
//!
//! **Guarantees.** ME1: suppose *i* and *j* were inside at once, with
//! `(T_i, i) < (T_j, j)`. Each replied to the other's request. WANTED or
//! HELD with the smaller stamp, *i* would have deferred *j*; so *i* replied
//! while RELEASED, before stamping its own request, and after merging *j*'s
//! time: then `T_i > T_j`, a contradiction (Ricart & Agrawala 1981,
//! Theorem 1). ME2: the smallest outstanding `(T, id)` is deferred by no one
//! who is not inside, and whoever is inside replies on exit. ME3: if request
//! *a* happened-before request *b*, then `T_a < T_b` (the clock condition),
//! so *a*'s process, still WANTED, defers *b*, and *a* enters first.
//!
//! **Cost** (one message latency = 1, measured by [`crate::cost`]):
//! entering takes 2(N − 1) messages (N − 1 requests, N − 1 replies);
//! exiting sends one deferred reply per waiting process (0 uncontended,
//! up to N − 1); client delay 2 (request, reply); synchronisation delay 1
//! (the deferred reply).
//!
//! **Source.** G. Ricart and A. K. Agrawala, "An optimal algorithm for
//! mutual exclusion in computer networks", *CACM* 24(1), 1981; Coulouris et
//! al., *Distributed Systems*, 5th ed., §15.2.2.

use std::collections::BTreeSet;

use dsys_clocks::lamport::{LamportClock, LamportTimestamp};
use dsys_core::model::{ModelOptions, ModelVerdict};
use dsys_core::scenario::{Algorithm, DefectInfo, Outcome, SimOptions};
use dsys_core::{Context, Message, Node, NodeId};
use serde::{Deserialize, Serialize};

use crate::{Event, MutexNode, Phase, Request};

/// Ricart & Agrawala's messages, each carrying the sender's Lamport time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Msg {
    /// I want the section; my request's Lamport time is `time`.
    Request {
        /// The request's Lamport time (the sender's id breaks ties).
        time: u64,
    },
    /// You may enter, as far as I am concerned.
    Reply {
        /// The sender's Lamport time at the reply.
        time: u64,
    },
}

impl Message for Msg {}

/// A deliberate bug, so that the checkers can be seen to catch it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Defect {
    /// Replies at once even while in the section (breaks ME1).
    RepliesInSection,
    /// Orders requests by process id alone, ignoring Lamport time: a process
    /// that replied to an earlier request while idle can then be answered
    /// by its requester too (breaks ME1, and ME3 with it).
    IgnoresTimestamps,
}

/// One process of Ricart & Agrawala's algorithm.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RicartAgrawala {
    clock: LamportClock,
    phase: Phase,
    /// My outstanding request, while WANTED or HELD.
    request: Option<LamportTimestamp>,
    /// Who has replied to it.
    replies: BTreeSet<NodeId>,
    /// Whose requests I am deferring (at most N − 1).
    deferred: BTreeSet<NodeId>,
    defect: Option<Defect>,
}

impl RicartAgrawala {
    /// A correct process.
    pub fn new() -> Self {
        RicartAgrawala::default()
    }

    /// A process with a deliberate bug (for checker tests and demonstrations).
    pub fn broken(defect: Defect) -> Self {
        RicartAgrawala {
            defect: Some(defect),
            ..RicartAgrawala::default()
        }
    }

    /// Where this process stands.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The timestamp of the outstanding request, if any.
    pub fn request(&self) -> Option<LamportTimestamp> {
        self.request
    }

    /// The processes whose requests wait for this one's exit.
    pub fn deferred(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.deferred.iter().copied()
    }

    /// Whether my request goes before `theirs`.
    fn precedes(&self, theirs: LamportTimestamp) -> bool {
        match (self.request, self.defect) {
            (Some(mine), Some(Defect::IgnoresTimestamps)) => mine.node < theirs.node,
            (Some(mine), _) => mine < theirs,
            (None, _) => false,
        }
    }

    fn reply(&mut self, ctx: &mut Context<'_, Self>, to: NodeId) {
        let time = self.clock.stamp();
        ctx.send(to, Msg::Reply { time });
    }

    fn enter_if_all_replied(&mut self, ctx: &mut Context<'_, Self>) {
        if self.phase == Phase::Wanted && self.replies.len() == ctx.peers().len() {
            self.phase = Phase::Held;
            ctx.emit(Event::Entered);
        }
    }
}

impl Node for RicartAgrawala {
    type Msg = Msg;
    type Timer = ();
    type Request = Request;
    type Event = Event;

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Request { time } => {
                if self.clock.merge(time).is_err() {
                    return; // an impossible timestamp: refused, as the clock says
                }
                let theirs = LamportTimestamp { time, node: from };
                let defer = match self.phase {
                    Phase::Held => self.defect != Some(Defect::RepliesInSection),
                    Phase::Wanted => self.precedes(theirs),
                    Phase::Released => false,
                };
                if defer {
                    self.deferred.insert(from);
                } else {
                    self.reply(ctx, from);
                }
            }
            Msg::Reply { time } => {
                if self.clock.merge(time).is_err() {
                    return;
                }
                if self.phase == Phase::Wanted {
                    self.replies.insert(from);
                    self.enter_if_all_replied(ctx);
                }
            }
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Request) {
        match (request, self.phase) {
            (Request::Enter, Phase::Released) => {
                self.phase = Phase::Wanted;
                let time = self.clock.stamp();
                self.request = Some(LamportTimestamp {
                    time,
                    node: ctx.id(),
                });
                self.replies.clear();
                ctx.broadcast(Msg::Request { time });
                self.enter_if_all_replied(ctx); // alone in the cluster
            }
            (Request::Exit, Phase::Held) => {
                self.phase = Phase::Released;
                self.request = None;
                ctx.emit(Event::Exited);
                for to in std::mem::take(&mut self.deferred) {
                    self.reply(ctx, to);
                }
            }
            _ => {} // Enter while wanting or holding, Exit while not holding
        }
    }
}

impl MutexNode for RicartAgrawala {
    fn in_section(&self) -> bool {
        self.phase == Phase::Held
    }
}

/// `dsys sim ricart-agrawala`: every node asks for the section twice;
/// ME1–ME3 are judged.
pub const ALGORITHM: Algorithm = Algorithm {
    name: "ricart-agrawala",
    summary: "mutual exclusion by Lamport-stamped multicast requests and deferred replies",
    run: simulate,
    settings: &[],
    model: Some(model),
    defects: &[
        DefectInfo {
            name: "replies-in-section",
            breaks: "replies at once even while in the section (ME1)",
        },
        DefectInfo {
            name: "ignores-timestamps",
            breaks: "orders requests by process id alone, ignoring Lamport time (ME1, ME3)",
        },
    ],
};

/// The defect named `name`, checked against [`ALGORITHM`]'s list.
fn defect(name: Option<&str>) -> dsys_core::Result<Option<Defect>> {
    Ok(match ALGORITHM.defect_named(name)? {
        Some("replies-in-section") => Some(Defect::RepliesInSection),
        Some(_) => Some(Defect::IgnoresTimestamps),
        None => None,
    })
}

/// `dsys check ricart-agrawala`: each process enters once, in every
/// interleaving ([`each_enters_once`](crate::workload::each_enters_once)),
/// judged by ME3 too ([`judged_by_me3`](crate::workload::judged_by_me3)).
fn model(options: &ModelOptions) -> dsys_core::Result<ModelVerdict> {
    let defect = defect(options.defect.as_deref())?;
    let model = crate::workload::each_enters_once(
        options.nodes,
        move |_| defect.map_or_else(RicartAgrawala::new, RicartAgrawala::broken),
        RicartAgrawala::phase,
    );
    let model = crate::workload::judged_by_me3(model, options);
    Ok(model.options(options).verdict())
}

fn simulate(options: &SimOptions) -> dsys_core::Result<Outcome> {
    let defect = defect(options.defect.as_deref())?;
    crate::workload::run_scenario(ALGORITHM.name, options, move |_| match defect {
        Some(defect) => RicartAgrawala::broken(defect),
        None => RicartAgrawala::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsys_core::testing::Harness;
    use dsys_core::{Effect, EffectOf};

    fn send(to: u32, msg: Msg) -> EffectOf<RicartAgrawala> {
        Effect::Send {
            to: NodeId(to),
            msg,
        }
    }

    // Handler tests assert exact effects (STYLE.md #9). Ricart & Agrawala 1981, §2.
    #[test]
    fn enter_multicasts_a_stamped_request_and_waits_for_every_reply() {
        let mut h = Harness::new(RicartAgrawala::new(), NodeId(1), 3);
        assert_eq!(
            h.request(Request::Enter),
            vec![
                send(0, Msg::Request { time: 1 }),
                send(2, Msg::Request { time: 1 })
            ]
        );
        assert_eq!(h.message(NodeId(0), Msg::Reply { time: 4 }), vec![]);
        assert_eq!(
            h.message(NodeId(0), Msg::Reply { time: 4 }),
            vec![],
            "a duplicate reply counts once"
        );
        assert_eq!(
            h.message(NodeId(2), Msg::Reply { time: 2 }),
            vec![Effect::Emit(Event::Entered)]
        );
    }

    #[test]
    fn an_idle_process_replies_at_once() {
        let mut h = Harness::new(RicartAgrawala::new(), NodeId(1), 3);
        // merge(5) = 6, then the reply's send event is 7.
        assert_eq!(
            h.message(NodeId(0), Msg::Request { time: 5 }),
            vec![send(0, Msg::Reply { time: 7 })]
        );
    }

    #[test]
    fn a_wanting_process_defers_later_requests_and_answers_earlier_ones() {
        let mut h = Harness::new(RicartAgrawala::new(), NodeId(1), 3);
        h.request(Request::Enter); // (1, n1)
        assert_eq!(
            h.message(NodeId(2), Msg::Request { time: 1 }),
            vec![],
            "(1, n1) < (1, n2): deferred"
        );
        assert_eq!(
            h.message(NodeId(0), Msg::Request { time: 1 }),
            vec![send(0, Msg::Reply { time: 4 })],
            "(1, n0) < (1, n1): answered"
        );
        assert_eq!(h.node().deferred().collect::<Vec<_>>(), vec![NodeId(2)]);
    }

    #[test]
    fn a_holder_defers_everyone_and_replies_on_exit() {
        let mut h = Harness::new(RicartAgrawala::new(), NodeId(1), 3);
        h.request(Request::Enter); // time 1
        h.message(NodeId(0), Msg::Reply { time: 2 }); // 3
        h.message(NodeId(2), Msg::Reply { time: 2 }); // 4, entered
        assert_eq!(h.message(NodeId(0), Msg::Request { time: 1 }), vec![]); // 5
        assert_eq!(h.message(NodeId(2), Msg::Request { time: 9 }), vec![]); // 10
        assert_eq!(
            h.request(Request::Exit),
            vec![
                Effect::Emit(Event::Exited),
                send(0, Msg::Reply { time: 11 }),
                send(2, Msg::Reply { time: 12 })
            ]
        );
        assert_eq!(
            h.request(Request::Exit),
            vec![],
            "Exit while not holding is ignored"
        );
    }

    #[test]
    fn a_process_alone_enters_at_once() {
        let mut h = Harness::new(RicartAgrawala::new(), NodeId(0), 1);
        assert_eq!(
            h.request(Request::Enter),
            vec![Effect::Emit(Event::Entered)]
        );
    }

    #[test]
    fn the_process_shows_its_phase_and_request_and_ignores_a_second_enter() {
        let mut h = Harness::new(RicartAgrawala::new(), NodeId(1), 2);
        assert_eq!(
            (h.node().phase(), h.node().request()),
            (Phase::Released, None)
        );
        h.request(Request::Enter);
        let mine = LamportTimestamp {
            time: 1,
            node: NodeId(1),
        };
        assert_eq!(
            (h.node().phase(), h.node().request()),
            (Phase::Wanted, Some(mine))
        );
        assert_eq!(h.request(Request::Enter), vec![], "already waiting");
        assert_eq!(h.node().request(), Some(mine));
        h.message(NodeId(0), Msg::Reply { time: 2 });
        assert_eq!(h.node().phase(), Phase::Held);
        h.request(Request::Exit);
        assert_eq!(
            (h.node().phase(), h.node().request()),
            (Phase::Released, None)
        );
    }

    #[test]
    fn an_impossible_timestamp_is_refused_without_an_answer() {
        let mut h = Harness::new(RicartAgrawala::new(), NodeId(1), 2);
        let before = h.node().clone();
        assert_eq!(
            h.message(NodeId(0), Msg::Request { time: u64::MAX }),
            vec![]
        );
        assert_eq!(h.message(NodeId(0), Msg::Reply { time: u64::MAX }), vec![]);
        assert_eq!(h.node(), &before);
    }

    #[test]
    fn ignoring_timestamps_orders_requests_by_process_id_alone() {
        // n1 asks at time 1. n0's later request (time 9) should wait, and
        // n2's earlier one… the broken process looks only at the ids.
        let mut broken = Harness::new(
            RicartAgrawala::broken(Defect::IgnoresTimestamps),
            NodeId(1),
            3,
        );
        broken.request(Request::Enter);
        assert_eq!(
            broken.message(NodeId(0), Msg::Request { time: 9 }),
            vec![send(0, Msg::Reply { time: 11 })],
            "(9, n0) is later, but n0 < n1: answered"
        );
        assert_eq!(
            broken.message(NodeId(2), Msg::Request { time: 0 }),
            vec![],
            "n1 < n2: deferred, whatever the time"
        );
        // The correct process, given the same requests, does the opposite.
        let mut correct = Harness::new(RicartAgrawala::new(), NodeId(1), 3);
        correct.request(Request::Enter);
        assert_eq!(correct.message(NodeId(0), Msg::Request { time: 9 }), vec![]);
        assert_eq!(
            correct.message(NodeId(2), Msg::Request { time: 0 }),
            vec![send(2, Msg::Reply { time: 12 })]
        );
    }

    #[test]
    fn defects_are_found_by_their_names() {
        assert_eq!(defect(None).unwrap(), None);
        assert_eq!(
            defect(Some("replies-in-section")).unwrap(),
            Some(Defect::RepliesInSection)
        );
        assert_eq!(
            defect(Some("ignores-timestamps")).unwrap(),
            Some(Defect::IgnoresTimestamps)
        );
        let err = defect(Some("no-such")).unwrap_err().to_string();
        assert!(err.contains("has no defect \"no-such\""), "{err}");
    }

    #[test]
    fn the_broken_process_replies_while_in_the_section() {
        let mut h = Harness::new(
            RicartAgrawala::broken(Defect::RepliesInSection),
            NodeId(0),
            2,
        );
        h.request(Request::Enter);
        h.message(NodeId(1), Msg::Reply { time: 1 });
        assert_eq!(
            h.message(NodeId(1), Msg::Request { time: 1 }),
            vec![send(1, Msg::Reply { time: 4 })]
        );
    }
}
