//! # Token ring
//!
//! **Problem.** Mutual exclusion among N processes (ME1–ME3) with no server
//! and as few messages as an idle system can afford.
//!
//! **Algorithm.** The processes are arranged in a logical ring, process *i*
//! sending only to its successor *(i + 1) mod N*. One token exists; holding
//! it is the right to enter.
//!
//! 1. *Start.* Process 0 holds the token and passes it on.
//! 2. *Circulate.* A process that receives the token and does not want the
//!    section passes it to its successor at once.
//! 3. *Enter.* A process that wants the section waits for the token and
//!    keeps it while inside.
//! 4. *Exit.* On exit it passes the token to its successor.
//!
//! **Assumptions.** Reliable channels and no crash: a lost token (a dropped
//! message, a crashed process, a partition of the ring) stops everyone,
//! and a duplicated token breaks safety. Order does not matter: at most one
//! message is ever in flight. Regaining a lost token needs a failure
//! detector and an election to create exactly one new token (not done
//! here).
//!
//! **Guarantees.** ME1: one token, and only its holder is inside. ME2: the
//! token visits every process within N hops of any exit. ME3 holds
//! vacuously for the causality the ring itself creates (a process waiting
//! for the token sends nothing, so no request happens-after a pending one),
//! but the ring serves processes in ring order, not request order: with
//! other channels between processes it would fail.
//!
//! **Cost** (one message latency = 1, measured by [`crate::cost`]): the
//! token costs messages even when nobody wants the section (one per hop,
//! forever). Entering takes 0 to N − 1 token hops sent while the process
//! waits (the textbook's 0 to N counts the hop that delivers the token
//! too), exiting 1; client delay 1 to N latencies (the token's distance; N
//! when it has just left); synchronisation delay 1 to N − 1 (textbook: 1
//! to N), the distance from the exiting process to the next waiting one.
//!
//! **Source.** Coulouris et al., *Distributed Systems*, 5th ed., §15.2.2
//! (ring-based algorithm); G. Le Lann, "Distributed systems — towards a
//! formal approach", IFIP 1977.

use dsys_core::scenario::{Algorithm, Outcome, SimOptions};
use dsys_core::{Context, Message, Node, NodeId};
use serde::{Deserialize, Serialize};

use crate::{Event, MutexNode, Phase, Request};

/// The token ring's only message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Msg {
    /// The right to enter, passed from a process to its successor.
    Token,
}

impl Message for Msg {}

/// One process of the token ring.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TokenRing {
    phase: Phase,
    has_token: bool,
}

impl TokenRing {
    /// A process of the ring; process 0 creates the token at start.
    pub fn new() -> Self {
        TokenRing::default()
    }

    /// Where this process stands.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Whether this process holds the token now.
    pub fn has_token(&self) -> bool {
        self.has_token
    }

    /// Uses the token if wanted, else passes it on (if there is anyone to
    /// pass it to).
    fn on_token(&mut self, ctx: &mut Context<'_, Self>) {
        if self.phase == Phase::Wanted {
            self.phase = Phase::Held;
            ctx.emit(Event::Entered);
        } else {
            self.pass(ctx);
        }
    }

    fn pass(&mut self, ctx: &mut Context<'_, Self>) {
        let n = ctx.cluster_size() as u32;
        if n > 1 {
            self.has_token = false;
            ctx.send(NodeId((ctx.id().0 + 1) % n), Msg::Token);
        }
    }
}

impl Node for TokenRing {
    type Msg = Msg;
    type Timer = ();
    type Request = Request;
    type Event = Event;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if ctx.id() == NodeId(0) {
            self.has_token = true;
            self.on_token(ctx);
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, _from: NodeId, msg: Msg) {
        match msg {
            Msg::Token => {
                self.has_token = true;
                self.on_token(ctx);
            }
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Request) {
        match (request, self.phase) {
            (Request::Enter, Phase::Released) => {
                self.phase = Phase::Wanted;
                if self.has_token {
                    self.on_token(ctx); // alone in the ring
                }
            }
            (Request::Exit, Phase::Held) => {
                self.phase = Phase::Released;
                ctx.emit(Event::Exited);
                self.pass(ctx);
            }
            _ => {} // Enter while wanting or holding, Exit while not holding
        }
    }
}

impl MutexNode for TokenRing {
    fn in_section(&self) -> bool {
        self.phase == Phase::Held
    }
}

/// `dsys sim token-ring`: every node asks for the section twice; ME1–ME3
/// are judged. Try `--dup 0.1` to see a duplicated token break ME1, and
/// `--loss 0.01` to see a lost token stop the ring.
pub const ALGORITHM: Algorithm = Algorithm {
    name: "token-ring",
    summary: "mutual exclusion by one token circulating around a logical ring",
    run: simulate,
};

fn simulate(options: &SimOptions) -> dsys_core::Result<Outcome> {
    crate::workload::run_scenario(ALGORITHM.name, options, |_| TokenRing::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsys_core::testing::Harness;
    use dsys_core::Effect;

    // Handler tests assert exact effects (STYLE.md #9). Coulouris §15.2.2.
    #[test]
    fn process_0_creates_the_token_and_passes_it_on() {
        let mut h = Harness::new(TokenRing::new(), NodeId(0), 3);
        assert_eq!(
            h.start(),
            vec![Effect::Send {
                to: NodeId(1),
                msg: Msg::Token
            }]
        );
        let mut h = Harness::new(TokenRing::new(), NodeId(1), 3);
        assert_eq!(h.start(), vec![]);
    }

    #[test]
    fn an_idle_process_passes_the_token_to_its_successor() {
        let mut h = Harness::new(TokenRing::new(), NodeId(2), 3);
        assert_eq!(
            h.message(NodeId(1), Msg::Token),
            vec![Effect::Send {
                to: NodeId(0),
                msg: Msg::Token
            }]
        );
        assert!(!h.node().has_token());
    }

    #[test]
    fn a_wanting_process_keeps_the_token_until_it_exits() {
        let mut h = Harness::new(TokenRing::new(), NodeId(1), 3);
        assert_eq!(h.request(Request::Enter), vec![]);
        assert_eq!(
            h.message(NodeId(0), Msg::Token),
            vec![Effect::Emit(Event::Entered)]
        );
        assert!(h.node().has_token());
        assert_eq!(
            h.request(Request::Exit),
            vec![
                Effect::Emit(Event::Exited),
                Effect::Send {
                    to: NodeId(2),
                    msg: Msg::Token
                }
            ]
        );
    }

    #[test]
    fn a_process_alone_keeps_the_token() {
        let mut h = Harness::new(TokenRing::new(), NodeId(0), 1);
        assert_eq!(h.start(), vec![]);
        assert_eq!(
            h.request(Request::Enter),
            vec![Effect::Emit(Event::Entered)]
        );
        assert_eq!(h.request(Request::Exit), vec![Effect::Emit(Event::Exited)]);
        assert!(h.node().has_token());
    }
}
