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

    fn sample_later(&self, ctx: &mut Context<'_, Self>) {
        if let Some(interval) = self.config.sample_interval {
            ctx.set_timer(interval, Timer::Sample);
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
        self.sample_later(ctx);
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
                ctx.emit(SyncEvent::Reading {
                    clock: self.clock.read(ctx.now()),
                });
                self.sample_later(ctx);
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
