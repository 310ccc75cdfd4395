//! Cuts of a run and the consistent-cut checker.
//!
//! # The problem
//!
//! A **global state** of a distributed system is the local state of every
//! process plus the messages in transit on every channel. Nobody can look at
//! all processes at one instant: there is no shared clock. What a process
//! *can* do is record its own state at some event of its own, so a global
//! state is really assembled from a **cut**: for every process, a prefix of
//! its events (everything up to and including its **frontier** event). The
//! cut's global state is each process's state after its frontier event, and
//! on each channel the messages sent inside the cut but not received inside
//! it.
//!
//! A cut is **consistent** when it is closed under happened-before: if an
//! event is inside, so is everything that happened before it. Equivalently,
//! no message is received inside the cut whose send is outside it — no
//! **orphan** message, received "before" it was sent. A consistent cut's
//! global state is one the system could have been in (one its run passes
//! through, for some observer); an inconsistent cut's state never existed —
//! money that arrived but never left, say.
//!
//! # Checking it with vector timestamps
//!
//! The simulator stamps every node event with a vector timestamp `V`, where
//! `V(e)[i]` counts the events of node `i` that happened before or are `e`
//! ([`dsys_core::trace`]). A cut with frontier events `e_0 … e_{n−1}` holds
//! exactly `V(e_i)[i]` events of node `i`, so
//!
//! > the cut is consistent **iff** `V(e_j)[i] ≤ V(e_i)[i]` for all `i`, `j`
//!
//! — no frontier event has seen more of node `i` than the cut contains
//! (Mattern, 1989). [`Cut::check`] tests exactly that, and when it fails it
//! names a witness: an orphan message, found by linking each delivery to its
//! send through the trace's `msg_id`. (One always exists: the causal chain
//! that leads from an outside event to an inside one must enter the cut
//! somewhere, and only a message can carry it from one node to another.)
//!
//! [`Cut::in_transit`] lists the messages that cross the cut forwards (sent
//! inside, not received inside): the channel states a snapshot of that cut
//! must record.
//!
//! # Consistent in application terms
//!
//! A consistent cut also keeps the application's invariants. For a bank, no
//! money is created or destroyed by transfers, so every consistent global
//! state holds the initial total — counting the money in transit. This
//! module knows only traces; the [`snapshot`](crate::snapshot) module, which
//! builds on it, ties both checks to Chandy–Lamport: it rebuilds a
//! snapshot's cut from the trace and checks its consistency and its
//! recorded channel states
//! ([`GlobalSnapshot::check_against_trace`](crate::snapshot::GlobalSnapshot::check_against_trace)),
//! and checks any conserved quantity over a recorded snapshot
//! ([`check_conservation`](crate::snapshot::check_conservation)).
//!
//! ```
//! use std::time::Duration;
//! use dsys_clocks::cut::Cut;
//! use dsys_core::ping_pong::{PingPong, PingPongConfig};
//! use dsys_core::sim::Simulation;
//! use dsys_core::trace::TraceKind;
//!
//! let config = PingPongConfig { rounds: 1, ..PingPongConfig::default() };
//! let mut sim = Simulation::new(2, 3, move |_| PingPong::new(config));
//! sim.enable_trace();
//! sim.run_until(Duration::from_secs(1)).unwrap();
//! let trace = sim.trace().unwrap();
//!
//! // A cut drawn at one instant of virtual time is consistent: no message
//! // arrives before it is sent.
//! let now = Cut::at_time(trace, 2, Duration::from_millis(5));
//! assert!(now.check().is_ok());
//!
//! // n1 up to the delivery of n0's ping, n0 only up to its start: the ping
//! // is received inside the cut but sent outside it.
//! let events = trace.events();
//! let start0 = events.iter().position(|e| e.node.map(|n| n.0) == Some(0)).unwrap();
//! let ping = events
//!     .iter()
//!     .position(|e| matches!(&e.kind, TraceKind::Deliver { kind, .. } if kind == "Ping") && e.node.map(|n| n.0) == Some(1))
//!     .unwrap();
//! let bad = Cut::new(trace, vec![Some(start0), Some(ping)]).unwrap();
//! let why = bad.check().unwrap_err();
//! assert_eq!(why.orphan.as_ref().unwrap().deliver_index, ping);
//! println!("{why}");
//! ```
//!
//! Sources: K. M. Chandy and L. Lamport, "Distributed Snapshots: Determining
//! Global States of Distributed Systems", ACM TOCS 3(1), 1985; F. Mattern,
//! "Virtual Time and Global States of Distributed Systems", 1989;
//! Ö. Babaoğlu and K. Marzullo, "Consistent Global States of Distributed
//! Systems: Fundamental Concepts and Mechanisms", 1993.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use dsys_core::trace::{Trace, TraceKind, VectorTimestamp};
use dsys_core::NodeId;

use crate::{Error, Result};

/// A cut of a traced run: for each node, its last event inside the cut.
///
/// Node `k`'s events inside the cut are its trace events up to and including
/// `frontier()[k]`; `None` means none of its events are inside. The frontier
/// has one entry per node of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cut<'t> {
    trace: &'t Trace,
    frontier: Vec<Option<usize>>,
    /// `counts[k]`: how many events of node `k` are inside (its frontier
    /// event's own entry of its vector timestamp).
    counts: Vec<u64>,
}

impl<'t> Cut<'t> {
    /// The cut of `trace` whose frontier at node `k` is the trace index
    /// `frontier[k]` (`None`: no event of `k` is inside).
    ///
    /// Fails with [`Error::InvalidConfig`] when an index is outside the trace
    /// or is not an event of that node.
    pub fn new(trace: &'t Trace, frontier: Vec<Option<usize>>) -> Result<Self> {
        let mut counts = Vec::with_capacity(frontier.len());
        for (k, last) in frontier.iter().enumerate() {
            let count = match *last {
                None => 0,
                Some(i) => {
                    let event = trace.events().get(i).ok_or_else(|| {
                        Error::InvalidConfig(format!(
                            "the frontier of n{k} is trace index {i}, but the trace has only {} events",
                            trace.len()
                        ))
                    })?;
                    match (event.node, &event.clock) {
                        (Some(node), Some(clock)) if node.index() == k => clock.get(k),
                        _ => {
                            return Err(Error::InvalidConfig(format!(
                                "the frontier of n{k} is trace index {i}, a `{}` event of {}: \
                                 each node's frontier must be one of that node's own events",
                                event.kind.name(),
                                event
                                    .node
                                    .map_or("the network".to_string(), |n| n.to_string())
                            )))
                        }
                    }
                }
            };
            counts.push(count);
        }
        Ok(Cut {
            trace,
            frontier,
            counts,
        })
    }

    /// The cut holding every event of nodes `0..nodes` that happened at or
    /// before virtual time `time`. Always consistent: a message is never
    /// received before it is sent.
    pub fn at_time(trace: &'t Trace, nodes: usize, time: Duration) -> Self {
        let time_ns = u64::try_from(time.as_nanos()).unwrap_or(u64::MAX);
        let mut frontier = vec![None; nodes];
        for event in trace.events() {
            if event.time_ns > time_ns {
                break;
            }
            if let (Some(node), Some(_)) = (event.node, &event.clock)
                && let Some(last) = frontier.get_mut(node.index())
            {
                *last = Some(event.index);
            }
        }
        Cut::new(trace, frontier).expect("every frontier entry is an event of its own node")
    }

    /// The trace this is a cut of.
    pub fn trace(&self) -> &'t Trace {
        self.trace
    }

    /// For each node, the trace index of its last event inside the cut.
    pub fn frontier(&self) -> &[Option<usize>] {
        &self.frontier
    }

    /// The number of nodes the cut spans.
    pub fn nodes(&self) -> usize {
        self.frontier.len()
    }

    /// Whether trace event `index` is inside the cut (network events and
    /// events of nodes the cut does not span never are).
    pub fn contains(&self, index: usize) -> bool {
        match self.trace.events().get(index) {
            Some(event) if event.clock.is_some() => event.node.is_some_and(|node| {
                self.frontier
                    .get(node.index())
                    .copied()
                    .flatten()
                    .is_some_and(|last| index <= last)
            }),
            _ => false,
        }
    }

    /// The cut's own vector timestamp: entry `k` is the number of node `k`'s
    /// events inside it.
    pub fn timestamp(&self) -> VectorTimestamp {
        VectorTimestamp(self.counts.clone())
    }

    /// Whether the cut is consistent (see [`Cut::check`]).
    pub fn is_consistent(&self) -> bool {
        self.first_overreach().is_none()
    }

    /// Checks consistency with vector timestamps: no frontier event has
    /// seen more events of a node than the cut contains. On failure, names
    /// an orphan message (received inside the cut, sent outside it).
    pub fn check(&self) -> std::result::Result<(), Inconsistency> {
        let Some((node, depends_on, seen, included)) = self.first_overreach() else {
            return Ok(());
        };
        Err(Inconsistency {
            node,
            depends_on,
            seen,
            included,
            orphan: self.find_orphan(),
        })
    }

    /// `(j, i, V(e_j)[i], V(e_i)[i])` for the first frontier event `e_j`
    /// that has seen more of node `i` than the cut holds.
    fn first_overreach(&self) -> Option<(NodeId, NodeId, u64, u64)> {
        for (j, last) in self.frontier.iter().enumerate() {
            let Some(clock) = last.and_then(|e| self.trace.events()[e].clock.as_ref()) else {
                continue;
            };
            for i in 0..clock.0.len().max(self.counts.len()) {
                let included = self.counts.get(i).copied().unwrap_or(0);
                if clock.get(i) > included {
                    return Some((node_id(j), node_id(i), clock.get(i), included));
                }
            }
        }
        None
    }

    /// The earliest delivery inside the cut whose send is in the trace but
    /// outside the cut.
    fn find_orphan(&self) -> Option<Orphan> {
        let mut sends: HashMap<u64, usize> = HashMap::new();
        for event in self.trace.events() {
            match &event.kind {
                TraceKind::Send { msg_id, .. } => {
                    sends.entry(*msg_id).or_insert(event.index);
                }
                TraceKind::Deliver {
                    from,
                    msg_id,
                    kind,
                    msg,
                } if self.contains(event.index) => {
                    // A delivery without a node (a hand-edited trace) is no
                    // node's event: it cannot be inside a cut.
                    let Some(to) = event.node else { continue };
                    if let Some(&send) = sends.get(msg_id)
                        && !self.contains(send)
                    {
                        return Some(Orphan {
                            from: *from,
                            to,
                            msg_id: *msg_id,
                            kind: kind.clone(),
                            msg: msg.clone(),
                            send_index: send,
                            deliver_index: event.index,
                        });
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// The messages in transit across the cut: sent inside it and not
    /// received inside it, in send order. These are the channel states of
    /// the cut's global state (control messages included: filter by
    /// [`InTransit::kind`]).
    pub fn in_transit(&self) -> Vec<InTransit> {
        let mut pending: HashMap<u64, InTransit> = HashMap::new();
        let mut received_inside: Vec<u64> = Vec::new();
        for event in self.trace.events() {
            match &event.kind {
                TraceKind::Send {
                    to,
                    msg_id,
                    kind,
                    msg,
                } if self.contains(event.index) => {
                    let Some(from) = event.node else { continue };
                    pending.insert(
                        *msg_id,
                        InTransit {
                            from,
                            to: *to,
                            msg_id: *msg_id,
                            kind: kind.clone(),
                            msg: msg.clone(),
                            send_index: event.index,
                            deliver_index: None,
                        },
                    );
                }
                TraceKind::Deliver { msg_id, .. } => {
                    if self.contains(event.index) {
                        received_inside.push(*msg_id);
                    } else if let Some(message) = pending.get_mut(msg_id) {
                        message.deliver_index.get_or_insert(event.index);
                    }
                }
                _ => {}
            }
        }
        for msg_id in received_inside {
            pending.remove(&msg_id);
        }
        let mut in_transit: Vec<InTransit> = pending.into_values().collect();
        in_transit.sort_by_key(|m| m.send_index);
        in_transit
    }
}

fn node_id(index: usize) -> NodeId {
    NodeId(u32::try_from(index).expect("node indices fit in u32"))
}

/// Why a cut is not consistent.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Inconsistency {
    /// The node whose frontier event has seen too much.
    pub node: NodeId,
    /// The node it has seen too much of.
    pub depends_on: NodeId,
    /// How many events of `depends_on` the frontier event of `node` has seen.
    pub seen: u64,
    /// How many events of `depends_on` are inside the cut.
    pub included: u64,
    /// A message received inside the cut whose send is outside it (`None`
    /// only if that send is not in the trace, e.g. tracing began late).
    pub orphan: Option<Orphan>,
}

impl fmt::Display for Inconsistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the cut is not consistent: {}'s last event inside it has seen {} events of {}, \
             but only {} of them are inside",
            self.node, self.seen, self.depends_on, self.included
        )?;
        if let Some(orphan) = &self.orphan {
            write!(f, "; {orphan}")?;
        }
        Ok(())
    }
}

/// A message received inside a cut but sent outside it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Orphan {
    /// The sender.
    pub from: NodeId,
    /// The receiver.
    pub to: NodeId,
    /// The trace's message id.
    pub msg_id: u64,
    /// The message's kind.
    pub kind: String,
    /// The message, as the trace renders it.
    pub msg: String,
    /// Trace index of the send (outside the cut).
    pub send_index: usize,
    /// Trace index of the delivery (inside the cut).
    pub deliver_index: usize,
}

impl fmt::Display for Orphan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "message {} `{}` from {} to {} was received inside the cut (trace index {}) \
             but sent outside it (trace index {})",
            self.msg_id, self.msg, self.from, self.to, self.deliver_index, self.send_index
        )
    }
}

/// A message crossing a cut forwards: sent inside it, not received inside it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct InTransit {
    /// The sender.
    pub from: NodeId,
    /// The receiver.
    pub to: NodeId,
    /// The trace's message id.
    pub msg_id: u64,
    /// The message's kind.
    pub kind: String,
    /// The message, as the trace renders it.
    pub msg: String,
    /// Trace index of the send (inside the cut).
    pub send_index: usize,
    /// Trace index of its first delivery (outside the cut); `None` if it was
    /// dropped or still in flight when the trace ended.
    pub deliver_index: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-made trace's send of message `msg_id` to `to`.
    fn send(to: u32, msg_id: u64) -> TraceKind {
        TraceKind::Send {
            to: NodeId(to),
            msg_id,
            kind: "M".into(),
            msg: format!("M{msg_id}"),
        }
    }

    /// A hand-made trace's delivery of message `msg_id` from `from`.
    fn deliver(from: u32, msg_id: u64) -> TraceKind {
        TraceKind::Deliver {
            from: NodeId(from),
            msg_id,
            kind: "M".into(),
            msg: format!("M{msg_id}"),
        }
    }

    /// A vector timestamp, as a trace event holds it.
    fn stamp(v: &[u64]) -> Option<VectorTimestamp> {
        Some(VectorTimestamp(v.to_vec()))
    }

    /// A hand-made trace: n0 sends m0 to n1 (delivered), n1 sends m1 to n0
    /// (still in flight).
    fn two_messages() -> Trace {
        let mut trace = Trace::new();
        let start = TraceKind::Start { incarnation: 0 };
        trace.push(0, Some(NodeId(0)), stamp(&[1, 0]), start.clone()); // 0
        trace.push(0, Some(NodeId(1)), stamp(&[0, 1]), start); // 1
        trace.push(1, Some(NodeId(0)), stamp(&[2, 0]), send(1, 0)); // 2
        trace.push(2, Some(NodeId(1)), stamp(&[2, 2]), deliver(0, 0)); // 3
        trace.push(3, Some(NodeId(1)), stamp(&[2, 3]), send(0, 1)); // 4
        trace
    }

    #[test]
    fn an_orphan_message_makes_a_cut_inconsistent() {
        let trace = two_messages();
        // n1 has received m0, but n0's send of m0 is outside.
        let cut = Cut::new(&trace, vec![Some(0), Some(3)]).unwrap();
        let why = cut.check().unwrap_err();
        assert_eq!(
            (why.node, why.depends_on, why.seen, why.included),
            (NodeId(1), NodeId(0), 2, 1)
        );
        let orphan = why.orphan.unwrap();
        assert_eq!(
            (orphan.msg_id, orphan.send_index, orphan.deliver_index),
            (0, 2, 3)
        );
        assert!(!cut.is_consistent());
    }

    #[test]
    fn a_consistent_cut_lists_what_is_in_transit() {
        let trace = two_messages();
        // m0 sent inside, not received inside: in transit.
        let cut = Cut::new(&trace, vec![Some(2), Some(1)]).unwrap();
        assert_eq!(cut.check(), Ok(()));
        let in_transit = cut.in_transit();
        assert_eq!(in_transit.len(), 1);
        assert_eq!(
            (in_transit[0].msg_id, in_transit[0].deliver_index),
            (0, Some(3))
        );
        // Everything: m1 is in transit and never delivered; m0 is not.
        let all = Cut::new(&trace, vec![Some(2), Some(4)]).unwrap();
        assert_eq!(all.check(), Ok(()));
        let in_transit = all.in_transit();
        assert_eq!(
            in_transit
                .iter()
                .map(|m| (m.msg_id, m.deliver_index))
                .collect::<Vec<_>>(),
            vec![(1, None)]
        );
        assert_eq!(all.timestamp(), VectorTimestamp(vec![2, 3]));
    }

    #[test]
    fn cuts_at_an_instant_are_consistent() {
        let trace = two_messages();
        for t in 0..4 {
            let cut = Cut::at_time(&trace, 2, Duration::from_nanos(t));
            assert!(cut.is_consistent(), "cut at {t} ns: {:?}", cut.check());
        }
        assert_eq!(
            Cut::at_time(&trace, 2, Duration::from_nanos(1)).frontier(),
            &[Some(2), Some(1)]
        );
    }

    #[test]
    fn a_frontier_must_name_the_nodes_own_events() {
        let trace = two_messages();
        let err = Cut::new(&trace, vec![Some(1), None]).unwrap_err();
        assert!(err.to_string().contains("event of n1"), "{err}");
        let err = Cut::new(&trace, vec![Some(99), None]).unwrap_err();
        assert!(err.to_string().contains("only 5 events"), "{err}");
    }

    /// Three nodes: n2 sends m0 to n0, n0 sends m1 to n1, and both are
    /// delivered (m0 first); between the two deliveries the network drops a
    /// message to n1 (an event at n1 with no vector timestamp, as the
    /// simulator records network events).
    fn three_nodes() -> Trace {
        let mut trace = Trace::new();
        let start = TraceKind::Start { incarnation: 0 };
        trace.push(0, Some(NodeId(0)), stamp(&[1, 0, 0]), start.clone()); // 0
        trace.push(0, Some(NodeId(1)), stamp(&[0, 1, 0]), start.clone()); // 1
        trace.push(0, Some(NodeId(2)), stamp(&[0, 0, 1]), start); // 2
        trace.push(1, Some(NodeId(2)), stamp(&[0, 0, 2]), send(0, 0)); // 3
        trace.push(1, Some(NodeId(0)), stamp(&[2, 0, 0]), send(1, 1)); // 4
        trace.push(2, Some(NodeId(0)), stamp(&[3, 0, 2]), deliver(2, 0)); // 5
        let drop = TraceKind::Drop {
            from: NodeId(2),
            to: NodeId(1),
            msg_id: 2,
            kind: "M".into(),
            reason: dsys_core::trace::DropReason::Loss,
        };
        trace.push(2, Some(NodeId(1)), None, drop); // 6: a network event at n1
        trace.push(3, Some(NodeId(1)), stamp(&[2, 2, 0]), deliver(0, 1)); // 7
        trace
    }

    #[test]
    fn the_orphan_named_is_received_inside_the_cut() {
        // n0 and n2 only started; n1 received m1. m0 was also sent and
        // received outside the cut (n2 → n0), earlier in the trace: it is
        // not an orphan, since its delivery is outside too.
        let trace = three_nodes();
        let cut = Cut::new(&trace, vec![Some(0), Some(7), Some(2)]).unwrap();
        let why = cut.check().unwrap_err();
        assert_eq!(
            (why.node, why.depends_on, why.seen, why.included),
            (NodeId(1), NodeId(0), 2, 1)
        );
        let orphan = why.orphan.unwrap();
        assert_eq!(
            (orphan.from, orphan.to, orphan.msg_id),
            (NodeId(0), NodeId(1), 1)
        );
        assert_eq!((orphan.send_index, orphan.deliver_index), (4, 7));
    }

    #[test]
    fn network_events_are_never_inside_a_cut() {
        let trace = three_nodes();
        let cut = Cut::new(&trace, vec![Some(5), Some(7), Some(3)]).unwrap();
        assert!(cut.is_consistent());
        // Index 6 is n1's, before n1's frontier, but it is the network's
        // drop of a message to n1, not an event of n1.
        assert!(!cut.contains(6));
        assert!(cut.contains(7) && cut.contains(1));
        // Past a node's frontier, and past the trace's end, nothing is inside.
        let early = Cut::new(&trace, vec![Some(0), Some(1), Some(2)]).unwrap();
        assert!(early.contains(0) && !early.contains(4) && !early.contains(7));
        assert!(!cut.contains(99));
    }

    #[test]
    fn a_cut_knows_its_trace_and_its_width() {
        let trace = three_nodes();
        let cut = Cut::new(&trace, vec![Some(0), None, None]).unwrap();
        assert!(std::ptr::eq(cut.trace(), &trace));
        assert_eq!(cut.nodes(), 3);
        assert_eq!(Cut::new(&trace, vec![]).unwrap().nodes(), 0);
    }

    #[test]
    fn an_inconsistency_says_who_saw_what_and_names_the_orphan() {
        let trace = two_messages();
        let why = Cut::new(&trace, vec![Some(0), Some(3)])
            .unwrap()
            .check()
            .unwrap_err();
        assert_eq!(
            why.to_string(),
            "the cut is not consistent: n1's last event inside it has seen 2 events of n0, \
             but only 1 of them are inside; message 0 `M0` from n0 to n1 was received inside \
             the cut (trace index 3) but sent outside it (trace index 2)"
        );
        let without_orphan = Inconsistency {
            orphan: None,
            ..why
        };
        assert_eq!(
            without_orphan.to_string(),
            "the cut is not consistent: n1's last event inside it has seen 2 events of n0, \
             but only 1 of them are inside"
        );
    }
}
