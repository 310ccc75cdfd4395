//! Measured costs of a mutual exclusion algorithm, in the units of the
//! textbook comparison (Coulouris et al. §15.2): messages per entry and per
//! exit, *client delay* (from `Enter` to `Entered` when the section is
//! free) and *synchronisation delay* (from one process's `Exit` to the next
//! waiting process's `Entered`), both in units of one message latency.
//!
//! [`measure`] runs the algorithm in the simulator on a network whose every
//! message takes exactly [`LATENCY`] ([`Latency::Fixed`]), so delays divide
//! into whole latencies. It measures every requester (for entry and exit)
//! and every (holder, waiter) pair (for synchronisation), and reports the
//! minimum, mean and maximum: algorithms such as the token ring or the
//! central server (whose server enters without messages) are not uniform.
//!
//! ```
//! use dsys_core::NodeId;
//! use dsys_mutex::central_server::CentralServer;
//!
//! let costs = dsys_mutex::cost::measure(5, |_| CentralServer::new(NodeId(0))).unwrap();
//! assert_eq!(costs.enter_messages.max, 2.0); // request, grant
//! assert_eq!(costs.exit_messages.max, 1.0); // release
//! assert_eq!(costs.client_delay.max, 2.0); // a round trip
//! assert_eq!(costs.sync_delay.max, 2.0); // release, grant
//! ```

use std::fmt;
use std::time::Duration;

use dsys_core::sim::{Latency, LinkConfig, Simulation};
use dsys_core::NodeId;

use crate::{Error, Event, MutexNode, Request};

/// The latency of every message in a measurement.
pub const LATENCY: Duration = Duration::from_millis(10);

/// How long a measurement waits for an entry before calling it starved.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

/// Minimum, mean and maximum of one measured figure.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Smallest value measured.
    pub min: f64,
    /// Mean of the values measured.
    pub mean: f64,
    /// Largest value measured.
    pub max: f64,
}

impl Stats {
    fn of(values: &[f64]) -> Stats {
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
        Stats { min, mean, max }
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.min == self.max {
            write!(f, "{}", self.min)
        } else {
            write!(f, "{}…{} (mean {:.1})", self.min, self.max, self.mean)
        }
    }
}

/// What [`measure`] found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Costs {
    /// Number of processes.
    pub nodes: usize,
    /// Messages sent from an uncontended `Enter` to its `Entered`.
    pub enter_messages: Stats,
    /// Messages sent by an `Exit` (at the moment of exit).
    pub exit_messages: Stats,
    /// Latencies from an uncontended `Enter` to `Entered`.
    pub client_delay: Stats,
    /// Latencies from an `Exit` to the `Entered` of the one process waiting.
    pub sync_delay: Stats,
    /// Entries per latency when every process always wants the section and
    /// holds it for one latency (the textbook predicts 1 / (sync delay + 1)).
    pub throughput: f64,
}

fn fresh<N: MutexNode>(
    nodes: usize,
    factory: &(impl Fn(NodeId) -> N + Clone + 'static),
) -> crate::Result<Simulation<N>> {
    let mut sim = Simulation::new(nodes, 0, factory.clone());
    sim.set_all_links(LinkConfig {
        latency: Latency::Fixed(LATENCY),
        ..LinkConfig::default()
    })?;
    // Let start-up traffic (a circulating token, …) settle first.
    sim.run_for(LATENCY * 10)?;
    Ok(sim)
}

fn in_latencies(d: Duration) -> f64 {
    d.as_nanos() as f64 / LATENCY.as_nanos() as f64
}

/// Asks `node` to enter and runs until it has: (messages sent, delay).
fn enter<N: MutexNode>(sim: &mut Simulation<N>, node: NodeId) -> crate::Result<(u64, Duration)> {
    let seen = sim.events(node).len();
    let (sent, start) = (sim.metrics().sent, sim.now());
    sim.request(node, Request::Enter)?;
    let entered = sim.run_until_condition(start + PATIENCE, |s| {
        s.events(node)[seen..]
            .iter()
            .any(|e| e.event == Event::Entered)
    })?;
    if !entered {
        return Err(Error::Starved(node));
    }
    Ok((sim.metrics().sent - sent, sim.now() - start))
}

/// Asks `node` to exit and runs the events of that instant: messages sent.
fn exit<N: MutexNode>(sim: &mut Simulation<N>, node: NodeId) -> crate::Result<u64> {
    let sent = sim.metrics().sent;
    sim.request(node, Request::Exit)?;
    sim.run_until(sim.now())?;
    Ok(sim.metrics().sent - sent)
}

/// Saturation: everyone asks again as soon as it has left, and holds the
/// section for one latency; entries per latency after a warm-up.
fn throughput<N: MutexNode>(
    nodes: usize,
    factory: &(impl Fn(NodeId) -> N + Clone + 'static),
) -> crate::Result<f64> {
    let (warm_up, window) = (50u32, 200u32);
    let mut sim = fresh(nodes, factory)?;
    crate::workload::Workload {
        rounds: u32::MAX,
        hold: LATENCY,
        think_max: Duration::ZERO,
        poll: LATENCY / 100,
        until: sim.now() + LATENCY * (warm_up + window),
        requests_until: Duration::MAX,
    }
    .install(&mut sim)?;
    sim.run_for(LATENCY * warm_up)?;
    let entries = |sim: &Simulation<N>| {
        sim.all_events()
            .iter()
            .filter(|(_, e)| e.event == Event::Entered)
            .count()
    };
    let before = entries(&sim);
    sim.run_for(LATENCY * window)?;
    Ok((entries(&sim) - before) as f64 / f64::from(window))
}

/// Measures an algorithm on `nodes` processes built by `factory`.
pub fn measure<N: MutexNode>(
    nodes: usize,
    factory: impl Fn(NodeId) -> N + Clone + 'static,
) -> crate::Result<Costs> {
    let ids: Vec<NodeId> = (0..nodes as u32).map(NodeId).collect();
    let (mut enter_messages, mut exit_messages, mut client_delay, mut sync_delay) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for &node in &ids {
        let mut sim = fresh(nodes, &factory)?;
        let (sent, delay) = enter(&mut sim, node)?;
        enter_messages.push(sent as f64);
        client_delay.push(in_latencies(delay));
        exit_messages.push(exit(&mut sim, node)? as f64);
    }
    for &holder in &ids {
        for &waiter in ids.iter().filter(|&&w| w != holder) {
            let mut sim = fresh(nodes, &factory)?;
            enter(&mut sim, holder)?;
            sim.request(waiter, Request::Enter)?;
            sim.run_for(LATENCY * 4 * nodes as u32)?;
            let seen = sim.events(waiter).len();
            let start = sim.now();
            sim.request(holder, Request::Exit)?;
            let entered = sim.run_until_condition(start + PATIENCE, |s| {
                s.events(waiter)[seen..]
                    .iter()
                    .any(|e| e.event == Event::Entered)
            })?;
            if !entered {
                return Err(Error::Starved(waiter));
            }
            sync_delay.push(in_latencies(sim.now() - start));
        }
    }
    Ok(Costs {
        throughput: throughput(nodes, &factory)?,
        nodes,
        enter_messages: Stats::of(&enter_messages),
        exit_messages: Stats::of(&exit_messages),
        client_delay: Stats::of(&client_delay),
        sync_delay: Stats::of(&sync_delay),
    })
}
