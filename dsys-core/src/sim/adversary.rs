//! Adversarial scheduling: a hook that chooses which pending event runs
//! next, for showing what asynchrony allows (FLP) and for testing a protocol
//! against the worst order rather than a random one.
//!
//! By default the simulator runs events in the order of their virtual times.
//! With a [`Scheduler`] set ([`Simulation::set_scheduler`]), it shows the
//! scheduler every pending event — messages in flight with their contents,
//! live timers, and anything else scheduled — and runs the one it picks.
//! The rules keep the adversary within the asynchronous model:
//!
//! - **Nothing is lost or invented.** The scheduler only orders: each
//!   message is delivered once (or dropped by the network's own faults, as
//!   without a scheduler), and no event it does not pick disappears.
//! - **Messages take any time.** A message may be delivered before the time
//!   the network drew for it, or long after; the clock does not move for
//!   it.
//! - **Clocks stay honest.** A timer fires no earlier than its due time,
//!   and a scheduled request, fault or call happens no earlier than
//!   scheduled: picking one moves the clock forward to it, if it is ahead.
//!
//! Whether every message is *eventually* delivered is up to the scheduler;
//! a fair adversary bounds how long it holds one (see
//! `dsys_consensus::paxos::flp` for one that does, and the example
//! `flp`).
//!
//! ```
//! use std::time::Duration;
//! use dsys_core::ping_pong::{PingPong, PingPongConfig};
//! use dsys_core::sim::{Pending, Simulation};
//!
//! let mut sim = Simulation::new(2, 1, |_| PingPong::new(PingPongConfig::default()));
//! // The newest message first: a LIFO network.
//! sim.set_scheduler(|_now: Duration, pending: &[Pending<'_, _, _>]| {
//!     pending
//!         .iter()
//!         .rposition(|p| matches!(p, Pending::Message { .. }))
//!         .unwrap_or(0)
//! });
//! for _ in 0..50 {
//!     sim.step().unwrap();
//! }
//! assert_eq!(sim.metrics().dropped, 0, "reordered, never lost");
//! ```
//!
//! [`Simulation::set_scheduler`]: super::Simulation::set_scheduler

use std::time::Duration;

use crate::node::NodeId;

/// One pending event, as a [`Scheduler`] sees it. `due` is the virtual time
/// the simulator would have run it at.
#[derive(Debug)]
pub enum Pending<'a, M, T> {
    /// A message in flight.
    Message {
        /// The message's id (as in the trace): stable while it is pending,
        /// so a scheduler can tell how long it has held it.
        id: u64,
        /// The sender.
        from: NodeId,
        /// The receiver.
        to: NodeId,
        /// The message.
        msg: &'a M,
        /// When the network would have delivered it.
        due: Duration,
    },
    /// A timer that will fire (cancelled and replaced ones are not shown).
    Timer {
        /// The node whose timer it is.
        node: NodeId,
        /// The timer.
        timer: &'a T,
        /// When it is due: picking it moves the clock there.
        due: Duration,
    },
    /// A start, a request, a fault or a call scheduled at `due`.
    Other {
        /// When it is scheduled: picking it moves the clock there.
        due: Duration,
    },
}

impl<M, T> Pending<'_, M, T> {
    /// When the simulator would have run it.
    pub fn due(&self) -> Duration {
        match self {
            Pending::Message { due, .. } | Pending::Timer { due, .. } | Pending::Other { due } => {
                *due
            }
        }
    }
}

/// Chooses the next event: given the virtual time and the pending events
/// (in the simulator's own order, earliest due first), answers an index
/// into `pending`. Any `FnMut(Duration, &[Pending<M, T>]) -> usize` is a
/// scheduler.
pub trait Scheduler<M, T> {
    /// The index of the event to run next. An index out of range ends the
    /// step with [`Error::BadSchedule`](crate::Error::BadSchedule).
    fn choose(&mut self, now: Duration, pending: &[Pending<'_, M, T>]) -> usize;
}

impl<M, T, F> Scheduler<M, T> for F
where
    F: FnMut(Duration, &[Pending<'_, M, T>]) -> usize,
{
    fn choose(&mut self, now: Duration, pending: &[Pending<'_, M, T>]) -> usize {
        self(now, pending)
    }
}
