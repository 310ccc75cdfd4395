//! NTP-style synchronisation: the symmetric on-wire protocol, a clock
//! filter, and servers organised in strata.
//!
//! # The problem
//!
//! Cristian's algorithm has one server: a bottleneck and a single point of
//! failure, reachable only over a short network path. The Network Time
//! Protocol spreads true time over the Internet through a **hierarchy of
//! servers**: **stratum 1** servers read a reference clock (stratum 0: an
//! atomic clock, a GPS or radio receiver); **stratum 2** servers synchronise
//! to stratum 1, **stratum 3** to stratum 2, and so on. Each level adds a
//! little error, and says how much.
//!
//! # The algorithm
//!
//! 1. **Exchange (symmetric mode).** Two peers send each other packets,
//!    each on its own poll timer. Every packet carries three timestamps:
//!    `origin` — when the peer sent the last packet we received from it;
//!    `receive` — when we received that packet; `transmit` — now. So every
//!    packet both answers the peer's last packet and asks a new question.
//!    When a packet arrives at `T4` answering our packet sent at `T1`
//!    (`origin = T1`, `receive = T2`, `transmit = T3`):
//!
//!    ```text
//!    offset θ = ((T2 − T1) + (T3 − T4)) / 2      the peer's clock minus ours
//!    delay  δ = (T4 − T1) − (T3 − T2)            the round trip, less the peer's hold
//!    ```
//!
//!    If the two one-way delays are `d₁` and `d₂` (`δ = d₁ + d₂`), θ is
//!    wrong by `(d₁ − d₂)/2`: at most `δ/2 − min`, as in Cristian's method.
//!    An `origin` that matches none of our recent packets is bogus (a
//!    duplicate, or a forgery) and gives no sample; each of our packets is
//!    answered once at most.
//! 2. **Filter.** A peer's association keeps its last **eight** samples
//!    ([`FILTER_SAMPLES`]) and trusts the one with the **smallest delay**:
//!    a short round trip leaves little room for asymmetry, so its offset is
//!    the most accurate.
//! 3. **Select and adjust.** Among its servers a node picks the one whose
//!    filtered sample has the smallest **root distance** — that sample's
//!    error bound, which includes the server's own bound — and when that is
//!    a sample newer than the last one used, corrects its clock to it and
//!    takes stratum `server's stratum + 1`.
//!
//! The error bound a node claims, and sends in every packet as
//! `root_bound`, is
//!
//! ```text
//! δ/2 − min  +  ρ·(T4 − T1)  +  server's root_bound at T3  +  ρ·(time since the sample)
//! ```
//!
//! so bounds add up along the path to the reference, as NTP's root delay
//! and root dispersion do.
//!
//! Timestamps go on the wire on the sender's synchronised clock, but are
//! *taken* on its hardware clock and converted when the packet leaves: a
//! node that steps its clock between receiving a packet and answering it
//! would otherwise report a hold time that includes the step — a garbage
//! sample with an excellent-looking delay.
//!
//! # Assumptions
//!
//! - Stratum 1 is right: it reads a reference clock. In the simulator give
//!   it a perfect clock (the default [`ClockConfig`]); it claims a zero
//!   bound, and the checker verifies that.
//! - One-way delays are at least `min_one_way_delay`; hardware drift is at
//!   most `drift_max_ppm` (ρ). Servers are configured so that there are no
//!   loops (a node's servers are at lower strata).
//!
//! # Guarantees
//!
//! - **Accuracy** (external synchronisation): every synchronised node's
//!   error against true time stays within the bound it claims, growing by
//!   `ρ·elapsed` between adjustments ([`check_external`]). The bound grows
//!   with the stratum.
//! - **Strata**: on a network that delivers, every node synchronises and
//!   reaches stratum `1 + its server's`.
//!
//! # Message cost
//!
//! One packet per association per `poll_interval` on each side: two packets
//! per client–server pair per interval, each yielding a sample at its
//! receiver when it answers a packet.
//!
//! # Source
//!
//! D. L. Mills, RFC 5905, *Network Time Protocol Version 4*, 2010 (§8 the
//! on-wire protocol, §10 the clock filter); Coulouris et al., *Distributed
//! Systems*, 5th ed., §14.3.4.
//!
//! ```
//! use std::time::Duration;
//! use dsys_clocks::ntp::{self, Ntp, NtpConfig};
//! use dsys_clocks::sync::{self, DriftingClocks};
//! use dsys_core::sim::Simulation;
//! use dsys_core::NodeId;
//!
//! // n0 is stratum 1; n1, n2 stratum 2; n3, n4 stratum 3.
//! let roles = ntp::hierarchy(5);
//! let config = NtpConfig::default();
//! let mut sim = Simulation::new(5, 2, move |id| Ntp::new(roles[id.index()].clone(), config).unwrap());
//! for (i, clock) in DriftingClocks::default().clocks(2, 5).into_iter().enumerate().skip(1) {
//!     sim.set_clock(NodeId(i as u32), clock).unwrap();
//! }
//! sim.run_until(Duration::from_secs(2)).unwrap();
//!
//! let strata: Vec<u8> = sim.nodes().map(|(_, n)| n.stratum()).collect();
//! assert_eq!(strata, vec![1, 2, 2, 3, 3]);
//! let nodes: Vec<NodeId> = sim.ids().collect();
//! sync::check_external(&sim, &nodes, config.drift_max_ppm).unwrap();
//! ```
//!
//! [`ClockConfig`]: dsys_core::sim::ClockConfig
//! [`check_external`]: crate::sync::check_external

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use dsys_core::scenario::{Algorithm, Check, Outcome, Property, SimOptions, Verdict};
use dsys_core::sim::{ClockConfig, Simulation};
use dsys_core::{Context, Message, Node, NodeId};
use serde::{Deserialize, Serialize};

use crate::software_clock::{drift_over, from_ns, to_ns, Discipline, SoftwareClock};
use crate::sync::{self, DriftingClocks, ErrorBound, SyncEvent};
use crate::{Error, Result};

/// Samples an association's clock filter keeps.
pub const FILTER_SAMPLES: usize = 8;

/// The stratum of a node that is not synchronised (as in NTP).
pub const STRATUM_UNSYNCHRONISED: u8 = 16;

/// Our recent packets per association that an answer may match.
const SENT_HISTORY: usize = 4;

/// How an NTP node behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NtpConfig {
    /// Time between packets to each peer, on the node's clock (real NTP
    /// polls every 64 s to 17 min; the simulator runs faster).
    pub poll_interval: Duration,
    /// The least one-way delay of the network.
    pub min_one_way_delay: Duration,
    /// The assumed bound ρ on hardware drift, in ppm.
    pub drift_max_ppm: u32,
    /// Step or slew corrections.
    pub discipline: Discipline,
    /// Emit a [`SyncEvent::Reading`] this often (`None`: only on adjustments).
    pub sample_interval: Option<Duration>,
}

impl Default for NtpConfig {
    /// Poll every 100 ms; no known minimum delay; ρ = 500 ppm; stepping; a
    /// reading every 20 ms.
    fn default() -> Self {
        NtpConfig {
            poll_interval: Duration::from_millis(100),
            min_one_way_delay: Duration::ZERO,
            drift_max_ppm: 500,
            discipline: Discipline::STEP,
            sample_interval: Some(Duration::from_millis(20)),
        }
    }
}

impl NtpConfig {
    /// Checks the configuration.
    pub fn validate(&self) -> Result<()> {
        self.discipline.validate()?;
        if self.poll_interval.is_zero() || self.sample_interval.is_some_and(|i| i.is_zero()) {
            return Err(Error::InvalidConfig(
                "poll_interval and sample_interval must be longer than zero".to_string(),
            ));
        }
        Ok(())
    }

    /// The bound of a sample with delay `delay` over an exchange of `span`
    /// (`T4 − T1`), from a server claiming `server_bound`:
    /// `δ/2 − min + ρ·span + server_bound`.
    pub fn sample_bound(
        &self,
        delay: Duration,
        span: Duration,
        server_bound: Duration,
    ) -> Duration {
        (delay / 2).saturating_sub(self.min_one_way_delay)
            + drift_over(span, self.drift_max_ppm)
            + server_bound
    }
}

/// What a node is in the hierarchy.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Stratum 1: reads a reference clock (true time), synchronises to no one.
    Reference,
    /// Synchronises to the best of these servers.
    Client {
        /// The servers, at lower strata.
        servers: Vec<NodeId>,
    },
}

/// The one message: a packet of the symmetric on-wire protocol.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Packet {
    /// The sender's stratum ([`STRATUM_UNSYNCHRONISED`] if it is not
    /// synchronised).
    pub stratum: u8,
    /// The sender's error bound against true time at `transmit` (its root
    /// distance).
    pub root_bound: Duration,
    /// `transmit` of the last packet the sender received from us.
    pub origin: Option<Duration>,
    /// When the sender received that packet.
    pub receive: Option<Duration>,
    /// When the sender sent this packet.
    pub transmit: Duration,
}

impl Message for Packet {}

/// Timers of an NTP node.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Timer {
    /// Send a packet to every peer.
    Poll,
    /// Emit a reading.
    Sample,
}

/// One exchange's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NtpSample {
    /// The server's clock minus this node's hardware clock, in nanoseconds.
    pub offset_ns: i64,
    /// δ.
    pub delay: Duration,
    /// The error bound against true time when taken.
    pub bound: Duration,
    /// This node's hardware clock at `T4`.
    pub taken_at: Duration,
    /// The server's stratum.
    pub server_stratum: u8,
}

/// What a node knows of one peer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct Association {
    /// One of our servers (samples are kept only for those).
    server: bool,
    /// The peer's last `transmit`, and our hardware clock when it arrived.
    last_received: Option<(Duration, Duration)>,
    /// Our recent packets: `transmit` as sent, and our hardware clock then.
    sent: VecDeque<(Duration, Duration)>,
    /// The clock filter: the last samples, oldest first.
    filter: VecDeque<NtpSample>,
}

impl Association {
    /// The filter's pick: the sample with the smallest delay.
    fn best(&self) -> Option<NtpSample> {
        self.filter.iter().min_by_key(|s| s.delay).copied()
    }
}

/// A node of the NTP-style protocol (see the [module docs](self)). Emits
/// [`SyncEvent`]s.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ntp {
    config: NtpConfig,
    role: Role,
    clock: SoftwareClock,
    stratum: u8,
    associations: BTreeMap<NodeId, Association>,
    /// The bound claimed at the last adjustment, and the hardware clock then.
    claim: Option<(Duration, Duration)>,
    /// `taken_at` of the last sample used.
    last_used: Option<Duration>,
}

impl Ntp {
    /// A node with the given role.
    pub fn new(role: Role, config: NtpConfig) -> Result<Self> {
        config.validate()?;
        if let Role::Client { servers } = &role
            && servers.is_empty()
        {
            return Err(Error::InvalidConfig(
                "an NTP client needs at least one server".to_string(),
            ));
        }
        Ok(Ntp {
            config,
            stratum: match role {
                Role::Reference => 1,
                Role::Client { .. } => STRATUM_UNSYNCHRONISED,
            },
            role,
            clock: SoftwareClock::new(config.discipline)?,
            associations: BTreeMap::new(),
            claim: None,
            last_used: None,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &NtpConfig {
        &self.config
    }

    /// The node's role.
    pub fn role(&self) -> &Role {
        &self.role
    }

    /// The current stratum ([`STRATUM_UNSYNCHRONISED`] before the first
    /// adjustment).
    pub fn stratum(&self) -> u8 {
        self.stratum
    }

    /// The software clock.
    pub fn clock(&self) -> &SoftwareClock {
        &self.clock
    }

    /// The clock filter's samples for `peer`, oldest first.
    pub fn filter(&self, peer: NodeId) -> Vec<NtpSample> {
        self.associations
            .get(&peer)
            .map(|a| a.filter.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The error bound against true time this node claims at hardware time
    /// `now` (`Duration::MAX` when unsynchronised).
    pub fn root_bound(&self, now: Duration) -> Duration {
        match (&self.role, self.claim) {
            (Role::Reference, _) => Duration::ZERO,
            (_, Some((bound, at))) => {
                bound + drift_over(now.saturating_sub(at), self.config.drift_max_ppm)
            }
            (_, None) => Duration::MAX,
        }
    }

    fn poll(&mut self, ctx: &mut Context<'_, Self>) {
        let now = ctx.now();
        let offset_ns = self.clock.offset_ns(now);
        let transmit = self.clock.read(now);
        let (stratum, root_bound) = (self.stratum, self.root_bound(now));
        for (&peer, association) in &mut self.associations {
            let packet = Packet {
                stratum,
                root_bound,
                origin: association.last_received.map(|(theirs, _)| theirs),
                // Taken on the hardware clock, put on today's synchronised
                // scale (see the module docs).
                receive: association
                    .last_received
                    .map(|(_, at)| from_ns(to_ns(at) + offset_ns)),
                transmit,
            };
            if association.sent.len() == SENT_HISTORY {
                association.sent.pop_front();
            }
            association.sent.push_back((transmit, now));
            ctx.send(peer, packet);
        }
        ctx.set_timer(self.config.poll_interval, Timer::Poll);
    }

    /// Picks the best server's filtered sample and adjusts to it if it is
    /// newer than the last one used.
    fn select(&mut self, ctx: &mut Context<'_, Self>) {
        let now = ctx.now();
        let rho = self.config.drift_max_ppm;
        let current = |s: &NtpSample| s.bound + drift_over(now.saturating_sub(s.taken_at), rho);
        let Some(best) = self
            .associations
            .values()
            .filter(|a| a.server)
            .filter_map(Association::best)
            .min_by_key(current)
        else {
            return;
        };
        if self.last_used.is_some_and(|used| best.taken_at <= used) {
            return;
        }
        self.last_used = Some(best.taken_at);
        let delta_ns = best.offset_ns.saturating_sub(self.clock.offset_ns(now));
        let (event, bound) = sync::correct(
            &mut self.clock,
            now,
            delta_ns,
            current(&best),
            ErrorBound::External,
        );
        self.claim = Some((bound, now));
        self.stratum = best.server_stratum + 1;
        ctx.emit(event);
    }
}

impl Node for Ntp {
    type Msg = Packet;
    type Timer = Timer;
    type Request = ();
    type Event = SyncEvent;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        let now = ctx.now();
        match &self.role {
            Role::Reference => {
                // The reference clock claims to be exact; the checkers verify it.
                self.claim = Some((Duration::ZERO, now));
                let clock = self.clock.read(now);
                ctx.emit(SyncEvent::Adjusted {
                    before: clock,
                    after: clock,
                    bound: ErrorBound::External(Duration::ZERO),
                });
            }
            Role::Client { servers } => {
                for &server in servers {
                    self.associations.insert(
                        server,
                        Association {
                            server: true,
                            ..Association::default()
                        },
                    );
                }
            }
        }
        sync::sample_later(ctx, self.config.sample_interval, Timer::Sample);
        self.poll(ctx);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, packet: Packet) {
        let now = ctx.now();
        let config = self.config;
        // An unknown peer gets a passive association: we answer it on our polls.
        let association = self.associations.entry(from).or_default();
        if association
            .last_received
            .is_some_and(|(theirs, _)| theirs == packet.transmit)
        {
            return; // a duplicate
        }
        association.last_received = Some((packet.transmit, now));
        let answered = packet.origin.and_then(|origin| {
            let i = association
                .sent
                .iter()
                .position(|&(ours, _)| ours == origin)?;
            association.sent.remove(i)
        });
        let (Some((_, t1)), Some(t2)) = (answered, packet.receive) else {
            return; // not an answer to a packet of ours (yet): no sample
        };
        if !association.server || packet.stratum >= STRATUM_UNSYNCHRONISED {
            return;
        }
        let (t1, t2, t3, t4) = (to_ns(t1), to_ns(t2), to_ns(packet.transmit), to_ns(now));
        let delay = from_ns((t4 - t1) - (t3 - t2));
        let sample = NtpSample {
            offset_ns: ((t2 - t1) + (t3 - t4)) / 2,
            delay,
            bound: config.sample_bound(delay, from_ns(t4 - t1), packet.root_bound),
            taken_at: now,
            server_stratum: packet.stratum,
        };
        if association.filter.len() == FILTER_SAMPLES {
            association.filter.pop_front();
        }
        association.filter.push_back(sample);
        self.select(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Timer) {
        match timer {
            Timer::Poll => self.poll(ctx),
            Timer::Sample => {
                sync::sample(ctx, &self.clock, self.config.sample_interval, Timer::Sample)
            }
        }
    }
}

/// A three-level hierarchy of `nodes` nodes: n0 is the stratum-1 reference;
/// the next `max(1, nodes / 2)` nodes are stratum 2, each a client of n0; the
/// rest are stratum 3, each a client of every stratum-2 node.
///
/// ```
/// use dsys_clocks::ntp::{hierarchy, Role};
/// use dsys_core::NodeId;
///
/// let roles = hierarchy(4);
/// assert_eq!(roles[0], Role::Reference);
/// assert_eq!(roles[1], Role::Client { servers: vec![NodeId(0)] });
/// assert_eq!(roles[3], Role::Client { servers: vec![NodeId(1), NodeId(2)] });
/// ```
pub fn hierarchy(nodes: usize) -> Vec<Role> {
    let stratum_two = (nodes / 2).max(1).min(nodes.saturating_sub(1));
    (0..nodes)
        .map(|i| match i {
            0 => Role::Reference,
            i if i <= stratum_two => Role::Client {
                servers: vec![NodeId(0)],
            },
            _ => Role::Client {
                servers: (1..=stratum_two as u32).map(NodeId).collect(),
            },
        })
        .collect()
}

/// The stratum each node of [`hierarchy`] reaches.
pub fn hierarchy_strata(nodes: usize) -> Vec<u8> {
    let roles = hierarchy(nodes);
    roles
        .iter()
        .map(|role| match role {
            Role::Reference => 1,
            Role::Client { servers } if servers == &[NodeId(0)] => 2,
            Role::Client { .. } => 3,
        })
        .collect()
}

/// Strata: every node has reached the stratum in `expected` (indexed by id).
pub fn strata(sim: &Simulation<Ntp>, expected: &[u8]) -> std::result::Result<(), String> {
    for (id, node) in sim.nodes() {
        let want = expected.get(id.index()).copied();
        if Some(node.stratum()) != want {
            return Err(format!(
                "{id} is at stratum {} at the end, expected {}",
                node.stratum(),
                want.map_or("none".to_string(), |s| s.to_string())
            ));
        }
    }
    Ok(())
}

/// Accuracy: every node's error against true time stays within the root
/// bound it claimed, plus drift ([`sync::check_external`]).
pub fn accuracy(sim: &Simulation<Ntp>) -> std::result::Result<(), String> {
    let nodes: Vec<NodeId> = sim.ids().collect();
    let drift_max_ppm = sim
        .nodes()
        .map(|(_, n)| n.config.drift_max_ppm)
        .max()
        .unwrap_or(0);
    sync::check_external(sim, &nodes, drift_max_ppm)
}

/// The configuration `dsys sim ntp` uses for a run's options.
pub fn scenario_config(options: &SimOptions) -> NtpConfig {
    NtpConfig {
        min_one_way_delay: options.latency.min,
        drift_max_ppm: DriftingClocks::default().drift_max_ppm,
        ..NtpConfig::default()
    }
}

/// The hardware clocks of a scenario: [`DriftingClocks::default`] from the
/// seed, except stratum 1's (n0), which is perfect: it is the reference.
pub fn scenario_clocks(options: &SimOptions) -> Vec<ClockConfig> {
    let mut clocks = DriftingClocks::default().clocks(options.seed, options.nodes);
    if let Some(reference) = clocks.first_mut() {
        *reference = ClockConfig::default();
    }
    clocks
}

/// `dsys sim ntp`: a three-stratum [`hierarchy`] with skewed, drifting
/// clocks from the seed (stratum 1 perfect); judges accuracy against the
/// claimed root bounds and, on a reliable network, the strata reached.
pub const ALGORITHM: Algorithm = Algorithm {
    name: "ntp",
    summary: "NTP-style symmetric mode in strata: error within the claimed root bound",
    run: simulate,
    settings: &[],
    model: None,
    defects: &[],
};

fn simulate(options: &SimOptions) -> dsys_core::Result<Outcome> {
    let config = scenario_config(options);
    config
        .validate()
        .map_err(|e| dsys_core::Error::InvalidConfig(e.to_string()))?;
    let roles = hierarchy(options.nodes);
    sync::run_with_clocks(
        ALGORITHM.name,
        options,
        &scenario_clocks(options),
        move |id| {
            Ntp::new(roles[id.index()].clone(), config).expect("configuration validated above")
        },
        &[
            Property {
                name: "accuracy (root bound)",
                check: Check::at_end(|sim, _| Verdict::from(accuracy(sim))),
            },
            Property {
                name: "strata reached",
                check: Check::at_end(|sim, options| {
                    if let Some(skipped) = sync::unreliable(options) {
                        return skipped;
                    }
                    if options.until < scenario_config(options).poll_interval * 6 {
                        return Verdict::Skipped("the run is shorter than six polls".into());
                    }
                    Verdict::from(strata(sim, &hierarchy_strata(options.nodes)))
                }),
            },
            Property {
                name: "clocks",
                check: Check::figure(|sim, _| {
                    let nodes: Vec<NodeId> = sim.ids().collect();
                    sync::story(sim, &nodes, None)
                }),
            },
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use dsys_core::scenario::LatencyRange;
    use dsys_core::testing::Harness;
    use dsys_core::Effect;

    const MS: fn(u64) -> Duration = Duration::from_millis;
    const US: fn(u64) -> Duration = Duration::from_micros;

    type Effects = Vec<Effect<Packet, Timer, SyncEvent>>;

    /// A started client of `servers`, as n1 of four: 1 ms minimum delay, ρ =
    /// 500 ppm, no readings.
    fn client(servers: &[u32]) -> Harness<Ntp> {
        let config = NtpConfig {
            min_one_way_delay: MS(1),
            sample_interval: None,
            ..NtpConfig::default()
        };
        let servers = servers.iter().map(|&s| NodeId(s)).collect();
        let mut h = Harness::new(
            Ntp::new(Role::Client { servers }, config).unwrap(),
            NodeId(1),
            4,
        );
        h.start();
        h
    }

    /// The `transmit` of the packet to `to` among `effects`.
    fn transmit_to(effects: &Effects, to: NodeId) -> Duration {
        effects
            .iter()
            .find_map(|e| match e {
                Effect::Send { to: t, msg } if *t == to => Some(msg.transmit),
                _ => None,
            })
            .expect("a packet to the server")
    }

    /// A server's answer to our packet `origin`, received at `receive` on its
    /// clock and sent straight back.
    fn answer(stratum: u8, root_bound: Duration, origin: Duration, receive: Duration) -> Packet {
        Packet {
            stratum,
            root_bound,
            origin: Some(origin),
            receive: Some(receive),
            transmit: receive,
        }
    }

    /// One exchange with stratum-1 server n0, whose clock is 1 s ahead of
    /// the client's hardware: polled at `at` ms, `out` ms there and `back` ms
    /// back. The effects of the answer.
    fn exchange(h: &mut Harness<Ntp>, at: u64, out: u64, back: u64) -> Effects {
        let n0 = NodeId(0);
        h.set_now(MS(at));
        let origin = transmit_to(&h.timer(Timer::Poll), n0);
        h.set_now(MS(at + out + back));
        h.message(n0, answer(1, Duration::ZERO, origin, MS(1000 + at + out)))
    }

    #[test]
    fn zero_intervals_and_bad_slew_rates_are_rejected_each_alone() {
        let base = NtpConfig::default();
        let rejected = |c: NtpConfig| c.validate().is_err();
        assert!(rejected(NtpConfig {
            poll_interval: Duration::ZERO,
            ..base
        }));
        assert!(rejected(NtpConfig {
            sample_interval: Some(Duration::ZERO),
            ..base
        }));
        assert!(rejected(NtpConfig {
            discipline: Discipline::slew(0),
            ..base
        }));
        assert_eq!(
            NtpConfig {
                sample_interval: None,
                ..base
            }
            .validate(),
            Ok(())
        );
    }

    #[test]
    fn a_sample_bound_adds_half_the_delay_less_the_minimum_drift_and_the_servers_bound() {
        let config = NtpConfig {
            min_one_way_delay: MS(1),
            ..NtpConfig::default()
        };
        // 14/2 − 1 ms + 500 ppm of 110 ms + 3 ms.
        assert_eq!(config.sample_bound(MS(14), MS(110), MS(3)), US(9055));
        // Half a delay below the minimum counts as zero.
        assert_eq!(config.sample_bound(MS(1), MS(2), MS(3)), US(3001));
    }

    #[test]
    fn the_filter_keeps_eight_samples_and_trusts_the_shortest_delay() {
        let n0 = NodeId(0);
        let mut h = client(&[0]);
        // A 10 ms round trip: the clock steps 1 s ahead, with 5 − 1 ms + ρ·10 ms.
        assert_eq!(
            exchange(&mut h, 100, 5, 5),
            vec![Effect::Emit(SyncEvent::Adjusted {
                before: MS(110),
                after: MS(1110),
                bound: ErrorBound::External(US(4005)),
            })]
        );
        assert_eq!(h.node().stratum(), 2);
        // A 2 ms round trip is better: used at once (the offset is unchanged).
        let best = SyncEvent::Adjusted {
            before: MS(1202),
            after: MS(1202),
            bound: ErrorBound::External(US(1)),
        };
        assert_eq!(exchange(&mut h, 200, 1, 1), vec![Effect::Emit(best)]);
        // Seven more of 10 ms: worse, so nothing changes.
        for at in (300..=900).step_by(100) {
            assert_eq!(exchange(&mut h, at, 5, 5), vec![], "at {at} ms");
        }
        let filter = h.node().filter(n0);
        assert_eq!(filter.len(), FILTER_SAMPLES);
        assert_eq!(filter[0].taken_at, MS(202));
        assert_eq!(filter[0].delay, MS(2));
        // The ninth pushes the 2 ms sample out: the oldest of the 10 ms ones
        // (taken at 310 ms) is now the best, and new, with 700 ms of drift.
        assert_eq!(
            exchange(&mut h, 1000, 5, 5),
            vec![Effect::Emit(SyncEvent::Adjusted {
                before: MS(2010),
                after: MS(2010),
                bound: ErrorBound::External(US(4005 + 350)),
            })]
        );
        assert_eq!(h.node().filter(n0)[0].taken_at, MS(310));
    }

    #[test]
    fn only_the_last_four_packets_may_be_answered_and_each_once() {
        let n0 = NodeId(0);
        let mut h = client(&[0]);
        // Packets at 0 (on start), 100, 200, 300 and 400 ms, all unanswered.
        for at in [100, 200, 300, 400] {
            h.set_now(MS(at));
            h.timer(Timer::Poll);
        }
        h.set_now(MS(410));
        let samples = |h: &Harness<Ntp>| h.node().filter(n0).len();
        // The packet of 0 ms is forgotten: an answer to it is bogus.
        assert_eq!(
            h.message(n0, answer(1, Duration::ZERO, MS(0), MS(405))),
            vec![]
        );
        assert_eq!(samples(&h), 0);
        // The one of 100 ms is remembered, and answered once only.
        let adjusted = h.message(n0, answer(1, Duration::ZERO, MS(100), MS(406)));
        assert!(
            matches!(adjusted[..], [Effect::Emit(SyncEvent::Adjusted { .. })]),
            "{adjusted:?}"
        );
        assert_eq!(samples(&h), 1);
        assert_eq!(
            h.message(n0, answer(1, Duration::ZERO, MS(100), MS(407))),
            vec![]
        );
        assert_eq!(samples(&h), 1);
        h.message(n0, answer(1, Duration::ZERO, MS(400), MS(408)));
        assert_eq!(samples(&h), 2);
    }

    #[test]
    fn neither_an_unsynchronised_server_nor_a_passive_peer_gives_a_sample() {
        let (n0, n2) = (NodeId(0), NodeId(2));
        let mut h = client(&[0]);
        // n2, not a server, says hello: we answer it on our polls.
        h.set_now(MS(10));
        let hello = Packet {
            stratum: 1,
            root_bound: Duration::ZERO,
            origin: None,
            receive: None,
            transmit: MS(5),
        };
        assert_eq!(h.message(n2, hello), vec![]);
        h.set_now(MS(100));
        let polled = h.timer(Timer::Poll);
        assert_eq!(transmit_to(&polled, n2), MS(100));
        h.set_now(MS(104));
        // n2's answer is right, but n2 is not a server.
        assert_eq!(
            h.message(n2, answer(1, Duration::ZERO, MS(100), MS(102))),
            vec![]
        );
        // n0 answers, but is not synchronised itself.
        let unsynchronised = answer(STRATUM_UNSYNCHRONISED, Duration::MAX, MS(100), MS(102));
        assert_eq!(h.message(n0, unsynchronised), vec![]);
        assert_eq!(
            (h.node().filter(n0).len(), h.node().filter(n2).len()),
            (0, 0)
        );
        assert_eq!(h.node().stratum(), STRATUM_UNSYNCHRONISED);
        assert_eq!(h.node().root_bound(MS(104)), Duration::MAX);
    }

    #[test]
    fn the_server_with_the_smallest_bound_now_wins_counting_drift_since_its_sample() {
        let (n0, n2) = (NodeId(0), NodeId(2));
        let mut h = client(&[0, 2]);
        // n0 (stratum 1, exact) answers our first packet with a 10 ms round
        // trip: bound 5 − 1 ms + ρ·10 ms.
        h.set_now(MS(10));
        assert_eq!(
            h.message(n0, answer(1, Duration::ZERO, MS(0), MS(5))),
            vec![Effect::Emit(SyncEvent::Adjusted {
                before: MS(10),
                after: MS(10),
                bound: ErrorBound::External(US(4005)),
            })]
        );
        // Almost a second later n2 (stratum 2, 50 ms ahead, claiming 4 ms)
        // answers with a 2 ms round trip: 4 ms + ρ·2 ms beats n0's 4.005 ms
        // grown by ρ·992 ms.
        h.set_now(MS(1000));
        h.timer(Timer::Poll);
        h.set_now(MS(1002));
        assert_eq!(
            h.message(n2, answer(2, MS(4), MS(1000), MS(1051))),
            vec![Effect::Emit(SyncEvent::Adjusted {
                before: MS(1002),
                after: MS(1052),
                bound: ErrorBound::External(US(4001)),
            })]
        );
        assert_eq!(h.node().stratum(), 3);
        assert_eq!(h.node().clock().offset_ns(MS(1002)), 50_000_000);
        assert_eq!(h.node().root_bound(MS(1102)), US(4001 + 50));
        assert_eq!(h.node().filter(n0).len(), 1);
    }

    #[test]
    fn a_reference_keeps_its_settings_and_emits_readings_every_sample_interval() {
        let config = NtpConfig {
            min_one_way_delay: MS(1),
            ..NtpConfig::default()
        };
        let mut h = Harness::new(Ntp::new(Role::Reference, config).unwrap(), NodeId(0), 1);
        assert_eq!(h.node().config(), &config);
        assert_eq!(h.node().role(), &Role::Reference);
        h.set_now(MS(3));
        let sample = Effect::SetTimer {
            after: MS(20),
            timer: Timer::Sample,
        };
        assert_eq!(
            h.start(),
            vec![
                Effect::Emit(SyncEvent::Adjusted {
                    before: MS(3),
                    after: MS(3),
                    bound: ErrorBound::External(Duration::ZERO),
                }),
                sample.clone(),
                Effect::SetTimer {
                    after: MS(100),
                    timer: Timer::Poll
                },
            ]
        );
        h.set_now(MS(23));
        assert_eq!(
            h.timer(Timer::Sample),
            vec![Effect::Emit(SyncEvent::Reading { clock: MS(23) }), sample]
        );
    }

    /// `hierarchy(nodes)` with `config`, on the simulator's default links
    /// (1–10 ms) and perfect clocks, run for 1 s.
    fn run_hierarchy(nodes: usize, config: NtpConfig) -> Simulation<Ntp> {
        let roles = hierarchy(nodes);
        let mut sim = Simulation::new(nodes, 1, move |id| {
            Ntp::new(roles[id.index()].clone(), config).unwrap()
        });
        sim.run_until(MS(1000)).unwrap();
        sim
    }

    #[test]
    fn the_strata_checker_names_a_node_at_another_stratum_than_expected() {
        let sim = run_hierarchy(3, NtpConfig::default());
        assert_eq!(strata(&sim, &[1, 2, 3]), Ok(()));
        assert_eq!(
            strata(&sim, &[1, 2, 2]),
            Err("n2 is at stratum 3 at the end, expected 2".to_string())
        );
        assert_eq!(
            strata(&sim, &[1, 2]),
            Err("n2 is at stratum 3 at the end, expected none".to_string())
        );
        assert_eq!(accuracy(&sim), Ok(()));
    }

    #[test]
    fn the_accuracy_checker_catches_an_overestimated_minimum_delay() {
        // Links take 1 to 10 ms each way: assuming 5 ms, a client claims too
        // small a bound for an asymmetric exchange.
        let config = NtpConfig {
            min_one_way_delay: MS(5),
            ..NtpConfig::default()
        };
        let why = accuracy(&run_hierarchy(2, config)).unwrap_err();
        assert!(why.contains("n1 reads"), "{why}");
    }

    #[test]
    fn the_scenario_takes_the_minimum_delay_from_the_options_and_keeps_n0_exact() {
        let options = SimOptions {
            nodes: 4,
            seed: 7,
            latency: LatencyRange {
                min: MS(3),
                max: MS(9),
            },
            ..SimOptions::default()
        };
        assert_eq!(
            scenario_config(&options),
            NtpConfig {
                min_one_way_delay: MS(3),
                ..NtpConfig::default()
            }
        );
        let clocks = scenario_clocks(&options);
        assert_eq!(clocks.len(), 4);
        assert_eq!(clocks[0], ClockConfig::default());
        assert_eq!(clocks[1..], DriftingClocks::default().clocks(7, 4)[1..]);
    }

    #[test]
    fn the_scenario_judges_the_strata_only_after_six_polls() {
        let verdicts = |until| {
            let options = SimOptions {
                until,
                ..SimOptions::default()
            };
            simulate(&options).unwrap().report.verdicts
        };
        let short = verdicts(MS(599));
        assert_eq!(short[1].0, "strata reached");
        assert!(matches!(short[1].1, Verdict::Skipped(_)), "{short:?}");
        assert!(verdicts(MS(600)).iter().all(|(_, v)| *v == Verdict::Holds));
    }

    #[test]
    fn hierarchies_of_every_size_have_one_reference() {
        assert_eq!(hierarchy_strata(1), vec![1]);
        assert_eq!(hierarchy_strata(2), vec![1, 2]);
        assert_eq!(hierarchy_strata(3), vec![1, 2, 3]);
        assert_eq!(hierarchy_strata(5), vec![1, 2, 2, 3, 3]);
    }

    #[test]
    fn a_client_needs_a_server() {
        let err = Ntp::new(Role::Client { servers: vec![] }, NtpConfig::default()).unwrap_err();
        assert!(err.to_string().contains("at least one server"), "{err}");
    }
}
