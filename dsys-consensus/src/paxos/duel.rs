//! Dueling proposers: the schedule under which Paxos never decides
//! ("Paxos Made Simple" §2.4, "Progress").
//!
//! Two proposers, p and q, three acceptors. p completes phase 1 with ballot
//! b1; before its Accept messages arrive, q completes phase 1 with a higher
//! b2, so the acceptors reject p's Accepts. p retries with b3 > b2, whose
//! Prepares overtake q's Accepts, which are rejected in turn; and so on.
//! Every message is delivered, every node is up, safety holds throughout,
//! and nobody ever decides.
//!
//! [`hostile_duel`] plays that schedule on a [`Scripted`] network for as
//! many rounds as asked. The adversary controls *when* things happen —
//! which is all asynchrony allows it — so it fires a preempted proposer's
//! retry timer as soon as it is pending, whatever the back-off says. No
//! deterministic protocol escapes such an adversary (FLP). What randomised
//! back-off buys is termination with probability 1 when delays are *not*
//! chosen against the coin flips, as in the simulator: see
//! `tests/paxos.rs`, where dueling proposers decide in every seed.

use dsys_core::NodeId;

use super::message::{Msg, Timer};
use super::node::{Paxos, PaxosConfig};
use super::properties::safety;
use super::scripted::Scripted;
use crate::stable::Stable;

/// Plays the dueling schedule for `rounds` preemptions on three nodes: n0
/// proposes 100, n1 proposes 101, n2 only accepts and learns. Returns the
/// network afterwards (its events tell the story); `Err` if a safety
/// checker fired (it never should).
pub fn hostile_duel(config: PaxosConfig, rounds: usize) -> Result<Scripted<Paxos<u64>>, String> {
    let mut net = Scripted::new(3, move |id: NodeId| {
        let node =
            Paxos::new(config.clone(), Stable::default()).expect("the configuration was validated");
        match id.0 {
            0 => node.proposing(100),
            1 => node.proposing(101),
            _ => node,
        }
    });
    for (name, check) in safety() {
        net.invariant(name, check);
    }
    net.start_all()?; // both proposers send Prepare for round 1

    let (mut p, mut q) = (NodeId(0), NodeId(1));
    // p's phase 1 completes: its Accepts are in flight.
    deliver(&mut net, |m| {
        m.from == p && matches!(m.msg, Msg::Prepare { .. })
    })?;
    deliver(&mut net, |m| {
        m.to == p && matches!(m.msg, Msg::Promise { .. })
    })?;
    for _ in 0..rounds {
        // q's higher Prepares overtake p's Accepts…
        deliver(&mut net, |m| {
            m.from == q && matches!(m.msg, Msg::Prepare { .. })
        })?;
        // …so p's Accepts are rejected, and p is preempted,
        deliver(&mut net, |m| {
            m.from == p && matches!(m.msg, Msg::Accept { .. })
        })?;
        deliver(&mut net, |m| {
            m.to == p && matches!(m.msg, Msg::Reject { .. })
        })?;
        // retries at once with a higher ballot (its Prepares now in flight),
        net.fire(p, Timer::Retry)?;
        // while q's phase 1 completes and its Accepts go out. Swap roles.
        deliver(&mut net, |m| {
            m.to == q && matches!(m.msg, Msg::Promise { .. })
        })?;
        std::mem::swap(&mut p, &mut q);
    }
    Ok(net)
}

fn deliver(
    net: &mut Scripted<Paxos<u64>>,
    which: impl Fn(&super::scripted::Envelope<Msg<u64>>) -> bool,
) -> Result<usize, String> {
    net.deliver_all(which)
}
