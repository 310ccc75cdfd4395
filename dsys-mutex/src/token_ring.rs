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
//! message is ever in flight. [Recovery](#recovery-of-a-lost-token), off
//! by default, lifts "no loss, no crash" under stronger timing assumptions.
//!
//! **Guarantees.** ME1: one token, and only its holder is inside. ME2: the
//! token visits every process within N hops of any exit. ME3 holds
//! vacuously for the causality the ring itself creates (a process waiting
//! for the token sends nothing, so no request happens-after a pending one),
//! but the ring serves processes in ring order, not request order: with
//! other channels between processes it would fail.
//!
//! ## Recovery of a lost token
//!
//! With [`TokenRing::with_recovery`] the ring survives a lost token and
//! crashed processes (Coulouris §15.2.2 leaves this as "the token must be
//! regenerated", §15.3 supplies the election). Four additions:
//!
//! 1. *Generations.* The token carries a generation number (0 for the
//!    token process 0 creates). Every process remembers the highest
//!    generation it has seen and **discards** a token of an older one. A
//!    process that holds a token and receives a newer one keeps holding
//!    (one token absorbs the other) and passes the newer generation on.
//! 2. *Failure detection.* Each process embeds a heartbeat
//!    [`FailureDetector`]: it broadcasts `Alive` every `heartbeat.period`
//!    and suspects a peer silent for longer than its timeout (any message
//!    proves life).
//! 3. *Skipping the dead.* A process passes the token to its first
//!    successor in ring order that it does not suspect, so a crashed
//!    process is bypassed once it is suspected.
//! 4. *Loss detection and election.* A process that has not seen the token
//!    for longer than `token_timeout` suspects it lost. The election is the
//!    failure detector plus the *highest-live-id rule*: the new token's
//!    creator is the highest id that is not suspected. Each process checks
//!    on its heartbeat tick; the one that suspects loss **and** suspects
//!    every process with a higher id regenerates the token, one generation
//!    above the highest it has seen, and treats it as just received. No election message is needed:
//!    with a perfect detector every live process knows the same live set,
//!    so every process would elect the same one — the bully algorithm's
//!    outcome (§15.3.1) without its messages. (Embedding `dsys_election`'s
//!    bully would add up to N² messages per election and need the same
//!    timing assumptions.)
//!
//! **When ME1 still holds with recovery on.** All of the following:
//!
//! - *Bounded delays:* every message arrives within `latency_max`, and no
//!   process holds the section longer than `hold_max`. Between two visits
//!   of the live token a process waits at most N × `latency_max` +
//!   (N − 1) × `hold_max` (every other process may hold the section once
//!   per circulation), so a `token_timeout` above that (as
//!   [`RecoveryConfig::for_ring`] computes, plus one heartbeat period of
//!   margin) is never reached while the token lives.
//! - *Accurate failure detection:* no live process is suspected (heartbeats
//!   arrive within `timeout − period`, no partition, no one-way cut of
//!   heartbeats). Then at most one process — the highest live one — ever
//!   regenerates, and only after the token is really gone.
//! - *Crash-stop:* a crashed process does not restart (a restarted process
//!   0 would create a second generation-0 token), and no duplicating links.
//!
//! Under these, at every moment at most one token of the newest generation
//! exists and tokens of older generations are gone, so ME1 holds; ME2 holds
//! for live processes once the token is regenerated.
//!
//! **What a false suspicion does.** If a holder keeps the section longer
//! than `token_timeout` allows, or delays exceed the bound, or the highest
//! process is wrongly suspected, a second token (generation + 1) is created
//! while the old one lives. Until the old token reaches a process that has
//! seen the newer generation (which discards it) or is absorbed by a
//! process holding the newer one, **two processes can be in the section at
//! once: ME1 fails**, as it must — no algorithm can tell a lost token from
//! a slow one without timing assumptions. The generations bound the damage
//! of one regeneration: the old token dies within one circulation. They do
//! not when two processes each regenerate the same generation (each
//! wrongly suspecting the other of being down): the twins are equal, a
//! process never discards either, and both circulate for ever (the test
//! `a_holder_passes_on_a_second_token_of_its_own_generation` pins how a
//! holder treats its twin); ordering tokens by (generation, creator) would
//! let the lower twin die. The test
//! `a_false_suspicion_creates_a_second_token_until_the_old_one_is_discarded`
//! shows exactly this.
//!
//! **Cost of recovery.** N (N − 1) heartbeats per period, always; a
//! regeneration costs no extra message. Recovery time after a loss: about
//! `token_timeout` plus up to one heartbeat period (more if the highest
//! process itself crashed: its suspicion takes the detector's timeout).
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

use std::time::Duration;

use dsys_core::failure_detector::{FailureDetector, HeartbeatConfig};
use dsys_core::model::{ModelOptions, ModelVerdict};
use dsys_core::scenario::{Algorithm, Outcome, SimOptions};
use dsys_core::{Context, Message, Node, NodeId};
use serde::{Deserialize, Serialize};

use crate::{Event, MutexNode, Phase, Request};

/// The token ring's messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Msg {
    /// The right to enter, passed from a process to its successor. Without
    /// recovery the generation is always 0.
    Token {
        /// Raised by one at each regeneration; older tokens are discarded.
        generation: u64,
    },
    /// A heartbeat for the failure detector (sent only with recovery on).
    Alive,
}

impl Message for Msg {}

/// The one timer (recovery only): send heartbeats, check peers, and check
/// whether the token has been seen lately.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tick;

/// How the ring detects and regenerates a lost token (see the module
/// essay for the assumptions under which ME1 holds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RecoveryConfig {
    /// Timing of the embedded heartbeat failure detector; its `period` is
    /// also how often the token's silence is checked.
    pub heartbeat: HeartbeatConfig,
    /// How long a process may go without seeing the token before it
    /// suspects the token lost. Must exceed the longest gap between two
    /// visits of a live token, or a second token is created.
    pub token_timeout: Duration,
}

impl RecoveryConfig {
    /// Timing that is safe for a ring of `nodes` processes when every
    /// message arrives within `latency_max` and nobody holds the section
    /// longer than `hold_max`: heartbeats every `latency_max` (at least
    /// 1 ms), suspicion after 4 periods, and a token timeout of
    /// N × `latency_max` + (N − 1) × `hold_max` + one period.
    ///
    /// ```
    /// use std::time::Duration;
    /// use dsys_mutex::token_ring::RecoveryConfig;
    ///
    /// let ms = Duration::from_millis;
    /// let config = RecoveryConfig::for_ring(4, ms(10), ms(5));
    /// assert_eq!(config.token_timeout, ms(4 * 10 + 3 * 5 + 10));
    /// assert_eq!(config.heartbeat.timeout, ms(40));
    /// ```
    pub fn for_ring(nodes: usize, latency_max: Duration, hold_max: Duration) -> Self {
        let period = latency_max.max(Duration::from_millis(1));
        let n = nodes.max(1) as u32;
        RecoveryConfig {
            heartbeat: HeartbeatConfig {
                period,
                timeout: period * 4,
                timeout_increment: period,
                timeout_max: period * 40,
            },
            token_timeout: latency_max * n + hold_max * (n - 1) + period,
        }
    }
}

/// What a process keeps for recovery.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Recovery {
    config: RecoveryConfig,
    /// `None` before the process starts.
    detector: Option<FailureDetector>,
    /// When this process last received, created or passed the token.
    token_seen_at: Duration,
}

/// One process of the token ring.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TokenRing {
    phase: Phase,
    has_token: bool,
    generation: u64,
    recovery: Option<Recovery>,
}

impl TokenRing {
    /// A process of the ring; process 0 creates the token at start. A lost
    /// token is never regained.
    pub fn new() -> Self {
        TokenRing::default()
    }

    /// A process of a ring that regenerates a lost token and skips
    /// suspected processes (see the module essay).
    ///
    /// ```
    /// use std::time::Duration;
    /// use dsys_core::sim::Simulation;
    /// use dsys_core::NodeId;
    /// use dsys_mutex::token_ring::{RecoveryConfig, TokenRing};
    ///
    /// let ms = Duration::from_millis;
    /// let config = RecoveryConfig::for_ring(3, ms(10), ms(5));
    /// let mut sim = Simulation::new(3, 1, move |_| TokenRing::with_recovery(config));
    /// sim.crash(NodeId(1)).unwrap(); // may take the token with it
    /// sim.run_until(ms(500)).unwrap();
    /// // n2, the highest live process, made a new generation if needed.
    /// let n0 = sim.node(NodeId(0)).unwrap().generation();
    /// assert_eq!(n0, sim.node(NodeId(2)).unwrap().generation());
    /// ```
    pub fn with_recovery(config: RecoveryConfig) -> Self {
        TokenRing {
            recovery: Some(Recovery {
                config,
                detector: None,
                token_seen_at: Duration::ZERO,
            }),
            ..TokenRing::default()
        }
    }

    /// Where this process stands.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Whether this process holds the token now.
    pub fn has_token(&self) -> bool {
        self.has_token
    }

    /// The highest token generation this process has seen.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether this process suspects `peer` of having crashed (never
    /// without recovery).
    pub fn suspects(&self, peer: NodeId) -> bool {
        self.recovery
            .as_ref()
            .and_then(|r| r.detector.as_ref())
            .is_some_and(|d| d.is_suspected(peer))
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

    /// Passes the token to the first successor not suspected; keeps it if
    /// there is none.
    fn pass(&mut self, ctx: &mut Context<'_, Self>) {
        self.saw_token(ctx.now());
        let n = ctx.cluster_size() as u32;
        let me = ctx.id().0;
        let next = (1..n)
            .map(|k| NodeId((me + k) % n))
            .find(|&p| !self.suspects(p));
        if let Some(next) = next {
            self.has_token = false;
            ctx.send(
                next,
                Msg::Token {
                    generation: self.generation,
                },
            );
        }
    }

    fn saw_token(&mut self, now: Duration) {
        if let Some(recovery) = self.recovery.as_mut() {
            recovery.token_seen_at = now;
        }
    }

    fn on_token_message(&mut self, ctx: &mut Context<'_, Self>, generation: u64) {
        if generation < self.generation {
            return; // a stale token, superseded by a regeneration: discard
        }
        if generation > self.generation && self.has_token {
            // Two tokens meet here: keep holding one, of the new generation.
            self.generation = generation;
            self.saw_token(ctx.now());
            return;
        }
        self.generation = generation;
        self.has_token = true;
        self.saw_token(ctx.now());
        self.on_token(ctx);
    }

    /// The recovery tick: heartbeats, suspicions, and regeneration by the
    /// highest live process when the token has been silent too long.
    fn on_tick(&mut self, ctx: &mut Context<'_, Self>) {
        let Some(recovery) = self.recovery.as_mut() else {
            return;
        };
        let now = ctx.now();
        ctx.broadcast(Msg::Alive);
        ctx.set_timer(recovery.config.heartbeat.period, Tick);
        if let Some(detector) = recovery.detector.as_mut() {
            detector.check(now);
        }
        let silent = now.saturating_sub(recovery.token_seen_at) > recovery.config.token_timeout;
        let n = ctx.cluster_size() as u32;
        let highest_live = (ctx.id().0 + 1..n).all(|p| self.suspects(NodeId(p)));
        if silent && !self.has_token && highest_live {
            self.generation += 1;
            self.has_token = true;
            self.saw_token(now);
            self.on_token(ctx);
        }
    }
}

impl Node for TokenRing {
    type Msg = Msg;
    type Timer = Tick;
    type Request = Request;
    type Event = Event;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        let now = ctx.now();
        if let Some(recovery) = self.recovery.as_mut() {
            let detector = FailureDetector::new(recovery.config.heartbeat, ctx.peers(), now);
            recovery.detector = Some(detector);
            recovery.token_seen_at = now;
            ctx.broadcast(Msg::Alive);
            ctx.set_timer(recovery.config.heartbeat.period, Tick);
        }
        if ctx.id() == NodeId(0) {
            self.has_token = true;
            self.on_token(ctx);
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        let now = ctx.now();
        if let Some(detector) = self.recovery.as_mut().and_then(|r| r.detector.as_mut()) {
            detector.heartbeat(from, now); // every message proves life
        }
        match msg {
            Msg::Token { generation } => self.on_token_message(ctx, generation),
            Msg::Alive => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _: Tick) {
        self.on_tick(ctx);
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Request) {
        match (request, self.phase) {
            (Request::Enter, Phase::Released) => {
                self.phase = Phase::Wanted;
                if self.has_token {
                    self.on_token(ctx); // alone in the ring (or all others suspected)
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
/// `--loss 0.01` to see a lost token stop the ring. (The simulation runs
/// without recovery; see [`TokenRing::with_recovery`].)
pub const ALGORITHM: Algorithm = Algorithm {
    name: "token-ring",
    summary: "mutual exclusion by one token circulating around a logical ring",
    run: simulate,
    settings: &[],
    model: Some(model),
    defects: &[],
};

fn simulate(options: &SimOptions) -> dsys_core::Result<Outcome> {
    crate::workload::run_scenario(ALGORITHM.name, options, |_| TokenRing::new())
}

/// `dsys check token-ring`: each process enters once, in every
/// interleaving ([`each_enters_once`](crate::workload::each_enters_once)).
/// Try `--duplicates 1`: a duplicated token lets two processes in at once; and
/// `--lossy`: a lost token leaves the others waiting for ever.
fn model(options: &ModelOptions) -> dsys_core::Result<ModelVerdict> {
    ALGORITHM.defect_named(options.defect.as_deref())?; // it ships none
    let verdict =
        crate::workload::each_enters_once(options.nodes, |_| TokenRing::new(), TokenRing::phase)
            .options(options)
            .verdict();
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dsys_core::testing::Harness;
    use dsys_core::{Effect, EffectOf};

    // Handler tests assert exact effects (STYLE.md #9). Coulouris §15.2.2.
    #[test]
    fn process_0_creates_the_token_and_passes_it_on() {
        let mut h = Harness::new(TokenRing::new(), NodeId(0), 3);
        assert_eq!(
            h.start(),
            vec![Effect::Send {
                to: NodeId(1),
                msg: Msg::Token { generation: 0 }
            }]
        );
        let mut h = Harness::new(TokenRing::new(), NodeId(1), 3);
        assert_eq!(h.start(), vec![]);
    }

    #[test]
    fn an_idle_process_passes_the_token_to_its_successor() {
        let mut h = Harness::new(TokenRing::new(), NodeId(2), 3);
        assert_eq!(
            h.message(NodeId(1), Msg::Token { generation: 0 }),
            vec![Effect::Send {
                to: NodeId(0),
                msg: Msg::Token { generation: 0 }
            }]
        );
        assert!(!h.node().has_token());
    }

    #[test]
    fn a_wanting_process_keeps_the_token_until_it_exits() {
        let mut h = Harness::new(TokenRing::new(), NodeId(1), 3);
        assert_eq!(h.request(Request::Enter), vec![]);
        assert_eq!(
            h.message(NodeId(0), Msg::Token { generation: 0 }),
            vec![Effect::Emit(Event::Entered)]
        );
        assert!(h.node().has_token());
        assert_eq!(
            h.request(Request::Exit),
            vec![
                Effect::Emit(Event::Exited),
                Effect::Send {
                    to: NodeId(2),
                    msg: Msg::Token { generation: 0 }
                }
            ]
        );
    }

    #[test]
    fn only_the_process_that_used_the_token_is_in_the_section() {
        let mut h = Harness::new(TokenRing::new(), NodeId(1), 3);
        assert!(!h.node().in_section());
        h.request(Request::Enter);
        assert!(!h.node().in_section(), "wanting is not holding");
        h.message(NodeId(0), Msg::Token { generation: 0 });
        assert!(h.node().in_section());
        h.request(Request::Exit);
        assert!(!h.node().in_section());
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

    // Recovery (module essay, "Recovery of a lost token").
    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn recovery() -> RecoveryConfig {
        RecoveryConfig::for_ring(3, MS(10), MS(5)) // token timeout 50 ms
    }

    fn alive_to(ids: &[u32]) -> Vec<EffectOf<TokenRing>> {
        ids.iter()
            .map(|&i| Effect::Send {
                to: NodeId(i),
                msg: Msg::Alive,
            })
            .collect()
    }

    #[test]
    fn recovery_timing_for_a_ring_follows_the_longest_gap_between_visits() {
        // 4 × 10 ms of hops + 3 × 5 ms of holds + one 10 ms period.
        assert_eq!(
            RecoveryConfig::for_ring(4, MS(10), MS(5)),
            RecoveryConfig {
                heartbeat: HeartbeatConfig {
                    period: MS(10),
                    timeout: MS(40),
                    timeout_increment: MS(10),
                    timeout_max: MS(400),
                },
                token_timeout: MS(65),
            }
        );
        // No latency and no process: the 1 ms floor, and one process.
        let config = RecoveryConfig::for_ring(0, MS(0), MS(5));
        assert_eq!(config.heartbeat.period, MS(1));
        assert_eq!(config.token_timeout, MS(1));
    }

    /// A process n2 of three, started at 0 and hearing from n0 and n1 at
    /// 30 ms, so that it suspects nobody before 70 ms.
    fn n2_with_recovery() -> Harness<TokenRing> {
        let mut h = Harness::new(TokenRing::with_recovery(recovery()), NodeId(2), 3);
        h.start();
        h.set_now(MS(30));
        h.message(NodeId(0), Msg::Alive);
        h.message(NodeId(1), Msg::Alive);
        h
    }

    fn tick_effects() -> Vec<EffectOf<TokenRing>> {
        let mut expected = alive_to(&[0, 1]);
        expected.push(Effect::SetTimer {
            after: MS(10),
            timer: Tick,
        });
        expected
    }

    #[test]
    fn a_token_silent_for_exactly_the_timeout_is_not_yet_lost() {
        let mut h = n2_with_recovery();
        assert_eq!(h.node().generation(), 0);
        h.set_now(MS(50)); // token_timeout is 50 ms: at the limit, still fine
        assert_eq!(h.timer(Tick), tick_effects());
        assert_eq!(h.node().generation(), 0);
        assert!(!h.node().has_token());
    }

    #[test]
    fn the_token_timeout_counts_from_the_last_time_the_token_passed() {
        let mut h = n2_with_recovery();
        h.set_now(MS(40));
        h.message(NodeId(1), Msg::Token { generation: 0 }); // passed on to n0
        h.set_now(MS(60)); // 60 ms after start, but 20 ms after the token
        assert_eq!(h.timer(Tick), tick_effects(), "seen 20 ms ago");
        h.set_now(MS(80));
        h.message(NodeId(0), Msg::Alive);
        h.message(NodeId(1), Msg::Alive);
        h.set_now(MS(90));
        assert_eq!(h.timer(Tick), tick_effects(), "seen 50 ms ago");
        h.set_now(MS(91));
        let mut expected = tick_effects();
        expected.push(Effect::Send {
            to: NodeId(0),
            msg: Msg::Token { generation: 1 },
        });
        assert_eq!(h.timer(Tick), expected, "seen 51 ms ago: lost");
    }

    #[test]
    fn the_highest_live_process_regenerates_a_silent_token() {
        let mut h = Harness::new(TokenRing::with_recovery(recovery()), NodeId(2), 3);
        let mut expected = alive_to(&[0, 1]);
        expected.push(Effect::SetTimer {
            after: MS(10),
            timer: Tick,
        });
        assert_eq!(h.start(), expected);
        h.set_now(MS(30));
        h.message(NodeId(0), Msg::Alive);
        h.message(NodeId(1), Msg::Alive);
        h.set_now(MS(51)); // 51 ms without the token: suspected lost
        let mut expected = alive_to(&[0, 1]);
        expected.push(Effect::SetTimer {
            after: MS(10),
            timer: Tick,
        });
        expected.push(Effect::Send {
            to: NodeId(0),
            msg: Msg::Token { generation: 1 },
        });
        assert_eq!(h.timer(Tick), expected);
        assert_eq!(h.node().generation(), 1);
    }

    #[test]
    fn a_lower_process_waits_for_the_highest_live_one_then_replaces_it() {
        let mut h = Harness::new(TokenRing::with_recovery(recovery()), NodeId(1), 3);
        h.start();
        h.set_now(MS(35));
        h.message(NodeId(0), Msg::Alive);
        h.message(NodeId(2), Msg::Alive);
        h.set_now(MS(60)); // the token is silent, but n2 is alive: n2's job
        let mut expected = alive_to(&[0, 2]);
        expected.push(Effect::SetTimer {
            after: MS(10),
            timer: Tick,
        });
        assert_eq!(h.timer(Tick), expected);
        h.message(NodeId(0), Msg::Alive);
        h.set_now(MS(76)); // n2 silent for 41 ms > 40 ms: crashed; n1 is highest
        let mut expected = alive_to(&[0, 2]);
        expected.push(Effect::SetTimer {
            after: MS(10),
            timer: Tick,
        });
        // The new token skips the suspected n2.
        expected.push(Effect::Send {
            to: NodeId(0),
            msg: Msg::Token { generation: 1 },
        });
        assert_eq!(h.timer(Tick), expected);
        assert!(h.node().suspects(NodeId(2)));
    }

    #[test]
    fn a_token_of_an_older_generation_is_discarded() {
        let mut h = Harness::new(TokenRing::with_recovery(recovery()), NodeId(1), 3);
        h.start();
        assert_eq!(
            h.message(NodeId(0), Msg::Token { generation: 2 }),
            vec![Effect::Send {
                to: NodeId(2),
                msg: Msg::Token { generation: 2 }
            }]
        );
        assert_eq!(h.request(Request::Enter), vec![]);
        assert_eq!(h.message(NodeId(0), Msg::Token { generation: 1 }), vec![]);
        assert!(!h.node().has_token());
        assert_eq!(h.node().phase(), Phase::Wanted);
        assert_eq!(
            h.message(NodeId(0), Msg::Token { generation: 2 }),
            vec![Effect::Emit(Event::Entered)]
        );
    }

    #[test]
    fn a_holder_absorbs_a_newer_token_and_passes_the_newer_generation() {
        let mut h = Harness::new(TokenRing::with_recovery(recovery()), NodeId(1), 3);
        h.start();
        h.request(Request::Enter);
        h.message(NodeId(0), Msg::Token { generation: 0 });
        assert_eq!(h.message(NodeId(0), Msg::Token { generation: 1 }), vec![]);
        assert_eq!(
            h.request(Request::Exit),
            vec![
                Effect::Emit(Event::Exited),
                Effect::Send {
                    to: NodeId(2),
                    msg: Msg::Token { generation: 1 }
                }
            ]
        );
    }

    #[test]
    fn a_holder_passes_on_a_second_token_of_its_own_generation() {
        // Only a newer generation is absorbed. A second token of the held
        // generation (a duplicate, or a twin from two processes that
        // regenerated at once under false suspicion) is not recognised:
        // the holder passes it on while still inside, and two tokens
        // circulate, as the essay's "a duplicated token breaks safety".
        let mut h = Harness::new(TokenRing::with_recovery(recovery()), NodeId(1), 3);
        h.start();
        h.request(Request::Enter);
        h.message(NodeId(0), Msg::Token { generation: 1 });
        assert_eq!(
            h.message(NodeId(0), Msg::Token { generation: 1 }),
            vec![Effect::Send {
                to: NodeId(2),
                msg: Msg::Token { generation: 1 }
            }]
        );
        assert!(h.node().in_section());
    }
}
