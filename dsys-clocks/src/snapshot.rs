//! The Chandy–Lamport snapshot algorithm, as a wrapper around any node.
//!
//! # The problem
//!
//! Take a picture of a running distributed system — every process's state
//! and every message in transit — without stopping it, and without a shared
//! clock. The picture must be **consistent**: a state the system could have
//! been in, so that what holds of every real state (a bank's money adds up,
//! a token exists exactly once, a deadlock is still a deadlock) holds of the
//! picture. Recording each process at "the same time" is impossible, and
//! recording at arbitrary moments is wrong: money sent after its sender
//! recorded but received before its receiver recorded would be counted
//! twice (the [`cut`](crate::cut) module explains cuts and their
//! consistency).
//!
//! # The algorithm (Chandy & Lamport, 1985)
//!
//! A **marker** is a control message that travels the channels alongside
//! the application's messages and separates, on each channel, what was sent
//! before its sender recorded from what was sent after.
//!
//! 1. **Initiation.** Any node may start a snapshot ([`SnapshotRequest::Snapshot`],
//!    or periodically with [`SnapshotConfig::initiate_every`]): it records its
//!    own local state, sends a marker on every outgoing channel, and starts
//!    recording every incoming channel.
//! 2. **First marker.** A node that receives a marker of a snapshot it has not
//!    recorded yet records its local state (before handling anything else),
//!    records the channel the marker came on as **empty**, sends a marker on
//!    every outgoing channel, and starts recording its other incoming
//!    channels.
//! 3. **Recording.** Every application message that arrives on a channel that
//!    is being recorded is appended to that channel's state (and delivered to
//!    the application as usual).
//! 4. **Later markers.** A marker on a channel being recorded closes it: its
//!    state is the messages recorded so far.
//! 5. **Collection.** When all of a node's incoming channels are closed, its
//!    part of the snapshot — its local state and the state of each incoming
//!    channel ([`LocalSnapshot`]) — is final, and it sends it to the initiator
//!    in a [`SnapshotMsg::Report`]. When the initiator holds every node's
//!    report it emits the whole [`GlobalSnapshot`] as [`SnapshotEvent::Completed`].
//!
//! [`Snapshotting`] does all this around any node `N` whose state can be
//! cloned (and serialised, to travel in the report). It is a [`Wrapper`]:
//! it runs `N`'s handlers ([`Wrapper::run_inner`]) and translates their
//! effects with [`Effect::map`]: `N`'s messages travel as
//! [`SnapshotMsg::App`], its timers as [`SnapshotTimer::App`] (so `N` sets,
//! replaces and cancels its timers by value as if unwrapped), its events as
//! [`SnapshotEvent::App`], and its own requests are forwarded from
//! [`SnapshotRequest::App`]. `N` never sees a marker.
//!
//! ```
//! use std::time::Duration;
//! use dsys_clocks::snapshot::bank::{self, Bank, BankConfig};
//! use dsys_clocks::snapshot::{SnapshotEvent, SnapshotRequest, Snapshotting};
//! use dsys_core::sim::Simulation;
//! use dsys_core::NodeId;
//!
//! let branch = Snapshotting::new(Bank::new(BankConfig::default()).unwrap());
//! let mut sim = Simulation::new(4, 1, move |_| branch.clone());
//! sim.enable_trace();
//! sim.request_at(Duration::from_millis(50), NodeId(2), SnapshotRequest::Snapshot).unwrap();
//! sim.run_until(Duration::from_millis(200)).unwrap();
//!
//! let SnapshotEvent::Completed(snapshot) = &sim.events(NodeId(2)).last().unwrap().event else {
//!     panic!("n2 initiated a snapshot, so n2 gets it")
//! };
//! assert_eq!(bank::total(snapshot), 4 * 100); // balances + money in transit
//! assert_eq!(snapshot.check_against_trace(sim.trace().unwrap()), Ok(()));
//! ```
//!
//! # Assumptions
//!
//! - **Reliable FIFO channels.** The marker separates "before" from "after"
//!   only if nothing overtakes it. On a network that reorders, a message
//!   sent after the marker can arrive before it (it is then counted in the
//!   receiver's state *and* its sender's: money created) and one sent before
//!   can arrive after (counted nowhere: money destroyed). The tests and the
//!   tutorial chapter `dsys::tutorial::ch06b_global_state` show it. A lost marker
//!   or report means the snapshot never completes.
//! - **No failures** during a snapshot: a crashed node never reports.
//! - **Every node can reach every other** (the simulator's network is
//!   complete: markers go to every peer). Messages a node sends to itself
//!   are a channel too: once the wrapped node has sent itself a message, the
//!   wrapper also sends itself a marker at each recording.
//! - Markers are not duplicated: a duplicated marker that arrives after its
//!   snapshot finished is ignored while the id is among the last
//!   [`FINISHED_REMEMBERED_MAX`] finished ones.
//!
//! # Guarantees
//!
//! - **Consistency.** The recorded cut is consistent (no orphan message),
//!   and each recorded channel state is exactly the application messages
//!   that crossed the cut on that channel. The recorded global state need
//!   not be one the system actually passed through at any instant, but it
//!   is reachable from the state at initiation and the state at completion
//!   is reachable from it. So what holds in every reachable state holds in
//!   it (the bank's money adds up), and a stable property seen in it (a
//!   deadlock, termination) is true.
//! - **Termination.** On reliable channels every node records within one
//!   message delay of the initiation, and the snapshot completes within
//!   three message delays.
//!
//! # Memory
//!
//! A node keeps one recording per snapshot in progress (its state and the
//! messages on its still-open channels) and, at the initiator, the reports
//! received. A snapshot that never completes — a crashed node, a lost
//! marker, both outside the assumptions — keeps them until the node
//! restarts; [`SnapshotConfig::in_progress_max`] bounds how many of its own
//! a node has in flight.
//!
//! # Checkers
//!
//! [`GlobalSnapshot::check_against_trace`] (the cut from the
//! recording points is consistent, by vector timestamps, and the channel
//! states match the messages that crossed it), [`check_conservation`] (any
//! quantity the application conserves adds up) and its use for the bank,
//! [`bank::check_conservation`] (the money adds up).
//!
//! | property | checked by | source |
//! |---|---|---|
//! | the recorded cut is consistent | [`GlobalSnapshot::check_against_trace`], [`crate::cut::Cut::check`] | Chandy & Lamport 1985, §4 (Theorem 1) |
//! | channel states = messages crossing the cut | [`GlobalSnapshot::check_against_trace`] | §3.1–3.2 (marker rules) |
//! | the recorded state is reachable, so what holds in every reachable state holds in it (the money adds up) | [`bank::check_conservation`] | §4; its use for stable properties, §5 |
//! | every snapshot completes | `dsys sim snapshot` (termination) | §3.3 |
//!
//! # Several snapshots at once
//!
//! Every snapshot has an id ([`SnapshotId`]: initiator and sequence number),
//! carried by its markers and reports. Any number may run at the same time,
//! from one initiator or from several: each node keeps one recording per
//! snapshot id, an application message is appended to every recording
//! whose channel is still open, and a marker only concerns its own
//! snapshot. Concurrent snapshots are therefore independent, each
//! consistent on its own, and each costs its own markers; they are not
//! merged (merging concurrent initiations is the Spezialetti–Kearns
//! optimisation). A node refuses to initiate more than
//! [`SnapshotConfig::in_progress_max`] of its own snapshots at once
//! ([`SnapshotEvent::Refused`]).
//!
//! # Message cost
//!
//! Per snapshot, one marker per channel: `N (N − 1)` markers in a complete
//! network of `N` nodes — O(N²) — (plus one for each node that uses its
//! channel to itself), and `N − 1` reports, each carrying a local state and
//! the recorded messages.
//!
//! # The bank, and `dsys sim snapshot`
//!
//! [`bank`] is the classic example: branches that transfer money at random.
//! [`ALGORITHM`] runs it for `dsys sim snapshot`, with n0 initiating a
//! snapshot every 100 ms and the last node every 150 ms (so some run
//! concurrently), and judges money conservation in every completed
//! snapshot, the consistency of every snapshot's cut, and termination.
//!
//! Source: K. M. Chandy and L. Lamport, "Distributed Snapshots: Determining
//! Global States of Distributed Systems", ACM Transactions on Computer
//! Systems 3(1):63–75, 1985.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use dsys_core::trace::{Trace, TraceKind};
use dsys_core::{Context, Effect, EffectOf, Input, Message, Node, NodeId, Wrapper};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::cut::Cut;
use crate::{Error, Result};

/// How many finished snapshot ids a node remembers, to ignore duplicated
/// markers of snapshots it has already finished.
pub const FINISHED_REMEMBERED_MAX: usize = 64;

/// Names one snapshot: who initiated it, and its sequence number among that
/// node's snapshots. Written `n0#3`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SnapshotId {
    /// The node that initiated the snapshot (and collects it).
    pub initiator: NodeId,
    /// The initiator's sequence number, from 0.
    pub seq: u64,
}

impl fmt::Display for SnapshotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.initiator, self.seq)
    }
}

/// A directed channel between two nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Channel {
    /// The sending end.
    pub from: NodeId,
    /// The receiving end.
    pub to: NodeId,
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}→{}", self.from, self.to)
    }
}

/// Messages between [`Snapshotting`] nodes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound(serialize = "N: Serialize", deserialize = "N: DeserializeOwned"))]
pub enum SnapshotMsg<N: Node> {
    /// A message of the wrapped node.
    App(N::Msg),
    /// The marker of a snapshot: on its channel, everything before it was
    /// sent before its sender recorded, everything after it was sent after.
    Marker(SnapshotId),
    /// A node's part of a snapshot, to the initiator.
    Report {
        /// The snapshot.
        snapshot: SnapshotId,
        /// The sender's local state and incoming channel states.
        local: LocalSnapshot<N>,
    },
}

impl<N> Message for SnapshotMsg<N> where N: Node + Clone + fmt::Debug + Serialize + DeserializeOwned {}

/// Timers of a [`Snapshotting`] node.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SnapshotTimer<T> {
    /// A timer of the wrapped node.
    App(T),
    /// Time to initiate the next periodic snapshot.
    Initiate,
}

/// Requests to a [`Snapshotting`] node.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SnapshotRequest<R> {
    /// Initiate a snapshot now; this node collects it.
    Snapshot,
    /// A request for the wrapped node, forwarded to it.
    App(R),
}

/// Events of a [`Snapshotting`] node.
#[derive(Clone, Debug)]
pub enum SnapshotEvent<N: Node> {
    /// An event of the wrapped node.
    App(N::Event),
    /// This node has recorded its local state for the snapshot. It is the
    /// first effect of the handler that recorded: in a trace, that handler's
    /// event (the marker's delivery, or the initiating request or timer)
    /// immediately precedes it, and [`recording_cut`] finds it there.
    Recorded(SnapshotId),
    /// The snapshot is complete (emitted by its initiator only).
    Completed(GlobalSnapshot<N>),
    /// A snapshot was not initiated: this node already has
    /// [`SnapshotConfig::in_progress_max`] of its own in progress.
    Refused {
        /// Its own snapshots in progress.
        in_progress: usize,
    },
}

// `derive` would bound only `N`, not the `N::Msg` inside `GlobalSnapshot<N>`:
// these impls spell the bounds out.
impl<N: Node + PartialEq> PartialEq for SnapshotEvent<N>
where
    N::Msg: PartialEq,
    N::Event: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (SnapshotEvent::App(a), SnapshotEvent::App(b)) => a == b,
            (SnapshotEvent::Recorded(a), SnapshotEvent::Recorded(b)) => a == b,
            (SnapshotEvent::Completed(a), SnapshotEvent::Completed(b)) => a == b,
            (
                SnapshotEvent::Refused { in_progress: a },
                SnapshotEvent::Refused { in_progress: b },
            ) => a == b,
            _ => false,
        }
    }
}

impl<N: Node + Eq> Eq for SnapshotEvent<N>
where
    N::Msg: Eq,
    N::Event: Eq,
{
}

impl<N: Node + Hash> Hash for SnapshotEvent<N>
where
    N::Msg: Hash,
    N::Event: Hash,
{
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            SnapshotEvent::App(event) => event.hash(state),
            SnapshotEvent::Recorded(id) => id.hash(state),
            SnapshotEvent::Completed(snapshot) => snapshot.hash(state),
            SnapshotEvent::Refused { in_progress } => in_progress.hash(state),
        }
    }
}

/// One node's part of a snapshot: its recorded local state and the recorded
/// state of each of its incoming channels.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound(serialize = "N: Serialize", deserialize = "N: DeserializeOwned"))]
pub struct LocalSnapshot<N: Node> {
    /// The wrapped node's state when this node recorded.
    pub state: N,
    /// For each incoming channel, by sender: the application messages that
    /// were in transit on it, in arrival order.
    pub incoming: BTreeMap<NodeId, Vec<N::Msg>>,
}

/// A complete snapshot: every node's recorded state and every channel's.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound(serialize = "N: Serialize", deserialize = "N: DeserializeOwned"))]
pub struct GlobalSnapshot<N: Node> {
    /// Which snapshot this is.
    pub id: SnapshotId,
    /// Each node's recorded local state.
    pub states: BTreeMap<NodeId, N>,
    /// Each channel's recorded state: the application messages in transit on
    /// it, in order. Every channel of the snapshot is present, empty or not.
    pub channels: BTreeMap<Channel, Vec<N::Msg>>,
}

impl<N: Node> GlobalSnapshot<N> {
    /// The number of nodes in the snapshot.
    pub fn nodes(&self) -> usize {
        self.states.len()
    }

    /// A node's recorded state.
    pub fn state(&self, node: NodeId) -> Option<&N> {
        self.states.get(&node)
    }

    /// The messages recorded in transit on the channel `from → to`.
    pub fn channel(&self, from: NodeId, to: NodeId) -> &[N::Msg] {
        self.channels
            .get(&Channel { from, to })
            .map_or(&[], Vec::as_slice)
    }

    /// Every recorded message in transit, with its channel.
    pub fn in_transit(&self) -> impl Iterator<Item = (Channel, &N::Msg)> + '_ {
        self.channels
            .iter()
            .flat_map(|(channel, msgs)| msgs.iter().map(move |msg| (*channel, msg)))
    }

    /// The cut this snapshot recorded, rebuilt from the trace of the run
    /// that took it (see [`recording_cut`]); `None` if the trace does not
    /// hold every node's recording.
    pub fn cut<'t>(&self, trace: &'t Trace) -> Option<Cut<'t>> {
        recording_cut(trace, self.id, self.nodes())
    }
}

impl<N> GlobalSnapshot<N>
where
    N: Node + Clone + fmt::Debug + Serialize + DeserializeOwned,
{
    /// Checks the snapshot against the trace of the run that took it: its
    /// cut (from the nodes' recording points) is consistent — no message
    /// received inside it was sent outside it, judged by the simulator's
    /// vector timestamps — and each recorded channel state is exactly the
    /// application messages that crossed the cut on that channel, in order.
    ///
    /// Needs the trace of the whole run, of [`Snapshotting`] nodes run
    /// directly by the simulator (not wrapped further).
    pub fn check_against_trace(&self, trace: &Trace) -> std::result::Result<(), String> {
        let cut = self.cut(trace).ok_or_else(|| {
            format!(
                "the trace does not hold every node's recording of snapshot {}",
                self.id
            )
        })?;
        cut.check()
            .map_err(|why| format!("snapshot {}: {why}", self.id))?;
        let mut crossing: BTreeMap<Channel, Vec<String>> = BTreeMap::new();
        for message in cut.in_transit() {
            if message.kind == APP_KIND {
                crossing
                    .entry(Channel {
                        from: message.from,
                        to: message.to,
                    })
                    .or_default()
                    .push(message.msg);
            }
        }
        let channels: BTreeSet<Channel> = self
            .channels
            .keys()
            .chain(crossing.keys())
            .copied()
            .collect();
        for channel in channels {
            let recorded: Vec<String> = self
                .channel(channel.from, channel.to)
                .iter()
                .map(|msg| format!("{:?}", SnapshotMsg::<N>::App(msg.clone())))
                .collect();
            let crossed = crossing.remove(&channel).unwrap_or_default();
            if recorded != crossed {
                return Err(format!(
                    "snapshot {}: channel {channel} was recorded with {} message(s) in transit {recorded:?}, \
                     but {} crossed the cut in the run {crossed:?}",
                    self.id,
                    recorded.len(),
                    crossed.len()
                ));
            }
        }
        Ok(())
    }
}

/// A conserved quantity that a snapshot does not add up to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConservationViolation {
    /// The snapshot.
    pub snapshot: SnapshotId,
    /// What the total should be.
    pub expected: u64,
    /// The amount held in the recorded local states.
    pub in_states: u64,
    /// The amount carried by the recorded messages in transit.
    pub in_transit: u64,
}

impl ConservationViolation {
    /// What the snapshot adds up to.
    pub fn total(&self) -> u64 {
        self.in_states.saturating_add(self.in_transit)
    }
}

impl fmt::Display for ConservationViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "snapshot {} adds up to {} ({} in local states + {} in transit), expected {}",
            self.snapshot,
            self.total(),
            self.in_states,
            self.in_transit,
            self.expected
        )
    }
}

/// Checks that a snapshot holds exactly `expected` of a quantity the
/// application conserves: `held` of every recorded local state plus
/// `carried` by every recorded message in transit.
///
/// ```
/// use std::collections::BTreeMap;
/// use dsys_clocks::snapshot::bank::{Bank, BankConfig, Transfer};
/// use dsys_clocks::snapshot::{check_conservation, Channel, GlobalSnapshot, SnapshotId};
/// use dsys_core::NodeId;
///
/// let bank = Bank::new(BankConfig::default()).unwrap(); // 100 each
/// let snapshot = GlobalSnapshot {
///     id: SnapshotId { initiator: NodeId(0), seq: 0 },
///     states: BTreeMap::from([(NodeId(0), bank.clone()), (NodeId(1), bank)]),
///     channels: BTreeMap::from([
///         (Channel { from: NodeId(0), to: NodeId(1) }, vec![Transfer { amount: 5 }]),
///     ]),
/// };
/// let violation = check_conservation(&snapshot, 200, Bank::balance, |t| t.amount).unwrap_err();
/// assert_eq!((violation.in_states, violation.in_transit), (200, 5));
/// assert!(check_conservation(&snapshot, 205, Bank::balance, |t| t.amount).is_ok());
/// ```
pub fn check_conservation<N: Node>(
    snapshot: &GlobalSnapshot<N>,
    expected: u64,
    held: impl Fn(&N) -> u64,
    carried: impl Fn(&N::Msg) -> u64,
) -> std::result::Result<(), ConservationViolation> {
    let in_states = snapshot
        .states
        .values()
        .fold(0u64, |sum, state| sum.saturating_add(held(state)));
    let in_transit = snapshot
        .channels
        .values()
        .flatten()
        .fold(0u64, |sum, msg| sum.saturating_add(carried(msg)));
    if in_states.saturating_add(in_transit) == expected {
        Ok(())
    } else {
        Err(ConservationViolation {
            snapshot: snapshot.id,
            expected,
            in_states,
            in_transit,
        })
    }
}

/// The trace's `kind` of [`SnapshotMsg::App`].
const APP_KIND: &str = "App";

/// The cut a snapshot recorded, rebuilt from a trace of [`Snapshotting`]
/// nodes (`nodes` of them): for each node, its last event *before* the
/// event whose handler recorded its state.
///
/// The recording handler — the first marker's delivery, or the initiating
/// request or timer — leaves the wrapped node's state as it was, so the
/// recorded state is the state after that earlier event; the handler's own
/// sends (markers) are outside the cut. `None` if some node's
/// [`SnapshotEvent::Recorded`] is not in the trace.
pub fn recording_cut(trace: &Trace, id: SnapshotId, nodes: usize) -> Option<Cut<'_>> {
    let recorded = format!("Recorded({id:?})");
    let mut own_events: Vec<Vec<usize>> = vec![Vec::new(); nodes];
    let mut frontier: Vec<Option<Option<usize>>> = vec![None; nodes];
    for event in trace.events() {
        let (Some(node), Some(_)) = (event.node, &event.clock) else {
            continue;
        };
        let Some(own) = own_events.get_mut(node.index()) else {
            continue;
        };
        if frontier[node.index()].is_none()
            && let TraceKind::Emit { event: text } = &event.kind
            && *text == recorded
        {
            // own = [.., frontier, trigger]; the emit comes right after its trigger.
            let before_trigger = own.len().checked_sub(2).map(|i| own[i]);
            frontier[node.index()] = Some(before_trigger);
        }
        own.push(event.index);
    }
    let frontier = frontier.into_iter().collect::<Option<Vec<_>>>()?;
    Cut::new(trace, frontier).ok()
}

/// How a [`Snapshotting`] node initiates snapshots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SnapshotConfig {
    /// Initiate a snapshot every this long (on the local clock), the first
    /// one this long after start; `None`: only on request.
    pub initiate_every: Option<Duration>,
    /// At most this many snapshots initiated by this node in progress at
    /// once; further initiations are refused.
    pub in_progress_max: usize,
}

impl Default for SnapshotConfig {
    fn default() -> Self {
        SnapshotConfig {
            initiate_every: None,
            in_progress_max: 8,
        }
    }
}

impl SnapshotConfig {
    /// Initiate a snapshot every `period`, with the other defaults.
    pub fn every(period: Duration) -> Self {
        SnapshotConfig {
            initiate_every: Some(period),
            ..SnapshotConfig::default()
        }
    }

    /// Checks the values, with a message saying what to fix.
    pub fn validate(&self) -> Result<()> {
        if self.initiate_every == Some(Duration::ZERO) {
            return Err(Error::InvalidConfig(
                "initiate_every must be longer than zero (or None for snapshots on request only)"
                    .to_string(),
            ));
        }
        if self.in_progress_max == 0 {
            return Err(Error::InvalidConfig(
                "in_progress_max must be at least 1, or no snapshot could ever be initiated"
                    .to_string(),
            ));
        }
        Ok(())
    }
}

/// What a node is recording for one snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Recording<N: Node> {
    /// The wrapped node's state when this node recorded.
    state: N,
    /// The state of each incoming channel so far.
    incoming: BTreeMap<NodeId, Vec<N::Msg>>,
    /// The incoming channels whose marker has not arrived yet.
    open: BTreeSet<NodeId>,
}

/// Chandy–Lamport snapshots around any node `N` (see the [module docs](self)).
///
/// `N` must be `Clone` (a recorded state is a clone of it), `Debug`, and
/// `Serialize + DeserializeOwned`: the recorded state travels to the
/// initiator in a [`SnapshotMsg::Report`], over the same transports as any
/// message.
///
/// ```
/// use dsys_clocks::snapshot::bank::{Bank, BankConfig};
/// use dsys_clocks::snapshot::{SnapshotEvent, SnapshotId, SnapshotMsg, SnapshotRequest, Snapshotting};
/// use dsys_core::testing::Harness;
/// use dsys_core::{Effect, NodeId};
///
/// let bank = Bank::new(BankConfig::default()).unwrap();
/// let mut h = Harness::new(Snapshotting::new(bank), NodeId(0), 3);
/// h.start();
/// let id = SnapshotId { initiator: NodeId(0), seq: 0 };
/// assert_eq!(
///     h.request(SnapshotRequest::Snapshot),
///     vec![
///         Effect::Emit(SnapshotEvent::Recorded(id)),
///         Effect::Send { to: NodeId(1), msg: SnapshotMsg::Marker(id) },
///         Effect::Send { to: NodeId(2), msg: SnapshotMsg::Marker(id) },
///     ],
/// );
/// ```
#[derive(Clone, Debug)]
pub struct Snapshotting<N: Node> {
    inner: N,
    config: SnapshotConfig,
    /// The sequence number of this node's next snapshot.
    next_seq: u64,
    /// Whether the wrapped node has ever sent a message to itself (then the
    /// channel to itself is recorded too).
    sent_to_self: bool,
    /// Snapshots this node has recorded and whose channels are still open.
    recordings: BTreeMap<SnapshotId, Recording<N>>,
    /// The last finished snapshots, oldest first.
    finished: VecDeque<SnapshotId>,
    /// Snapshots this node initiated: the reports received so far.
    collecting: BTreeMap<SnapshotId, BTreeMap<NodeId, LocalSnapshot<N>>>,
}

impl<N: Node + PartialEq> PartialEq for Snapshotting<N>
where
    N::Msg: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner
            && self.config == other.config
            && self.next_seq == other.next_seq
            && self.sent_to_self == other.sent_to_self
            && self.recordings == other.recordings
            && self.finished == other.finished
            && self.collecting == other.collecting
    }
}

impl<N: Node + Eq> Eq for Snapshotting<N> where N::Msg: Eq {}

impl<N: Node + Hash> Hash for Snapshotting<N>
where
    N::Msg: Hash,
{
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.inner.hash(state);
        self.config.hash(state);
        self.next_seq.hash(state);
        self.sent_to_self.hash(state);
        self.recordings.hash(state);
        self.finished.hash(state);
        self.collecting.hash(state);
    }
}

impl<N: Node> Snapshotting<N> {
    /// Wraps `inner`; snapshots are initiated on request only.
    pub fn new(inner: N) -> Self {
        Snapshotting {
            inner,
            config: SnapshotConfig::default(),
            next_seq: 0,
            sent_to_self: false,
            recordings: BTreeMap::new(),
            finished: VecDeque::new(),
            collecting: BTreeMap::new(),
        }
    }

    /// Wraps `inner` with the given configuration.
    pub fn with_config(inner: N, config: SnapshotConfig) -> Result<Self> {
        config.validate()?;
        Ok(Snapshotting {
            config,
            ..Snapshotting::new(inner)
        })
    }

    /// The wrapped node.
    pub fn inner(&self) -> &N {
        &self.inner
    }

    /// The wrapped node, mutably (changing it bypasses the algorithm: for tests).
    pub fn inner_mut(&mut self) -> &mut N {
        &mut self.inner
    }

    /// The configuration.
    pub fn config(&self) -> &SnapshotConfig {
        &self.config
    }

    /// The snapshots this node has recorded and is still recording channels for.
    pub fn recording(&self) -> impl Iterator<Item = SnapshotId> + '_ {
        self.recordings.keys().copied()
    }

    /// The incoming channels (by sender) of snapshot `id` whose marker this
    /// node is still waiting for; empty if it is not recording `id`.
    pub fn awaiting_markers(&self, id: SnapshotId) -> Vec<NodeId> {
        self.recordings
            .get(&id)
            .map(|r| r.open.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The messages recorded so far on the channel from `from` for snapshot
    /// `id`; `None` if this node is not recording `id`.
    pub fn recorded_messages(&self, id: SnapshotId, from: NodeId) -> Option<&[N::Msg]> {
        let recording = self.recordings.get(&id)?;
        Some(recording.incoming.get(&from).map_or(&[], Vec::as_slice))
    }

    /// The snapshots this node initiated that have not completed yet.
    pub fn collecting(&self) -> impl Iterator<Item = SnapshotId> + '_ {
        self.collecting.keys().copied()
    }
}

impl<N> Snapshotting<N>
where
    N: Node + Clone + fmt::Debug + Serialize + DeserializeOwned,
{
    /// Rule 1: start a snapshot of our own.
    fn initiate(&mut self, ctx: &mut Context<'_, Self>) {
        if self.collecting.len() >= self.config.in_progress_max {
            ctx.emit(SnapshotEvent::Refused {
                in_progress: self.collecting.len(),
            });
            return;
        }
        let id = SnapshotId {
            initiator: ctx.id(),
            seq: self.next_seq,
        };
        self.next_seq += 1;
        self.collecting.insert(id, BTreeMap::new());
        self.record(ctx, id, None);
    }

    /// Rules 1 and 2: record the local state, send markers on every outgoing
    /// channel, record every incoming channel but the one the marker came on.
    fn record(&mut self, ctx: &mut Context<'_, Self>, id: SnapshotId, marker_from: Option<NodeId>) {
        // First effect, so that the trace shows the recording point right
        // after the event that caused it (see `recording_cut`).
        ctx.emit(SnapshotEvent::Recorded(id));
        let me = ctx.id();
        let mut channels: Vec<NodeId> = ctx.peers().to_vec();
        if self.sent_to_self {
            channels.push(me);
        }
        let mut incoming = BTreeMap::new();
        let mut open = BTreeSet::new();
        for &peer in &channels {
            incoming.insert(peer, Vec::new());
            if Some(peer) != marker_from {
                open.insert(peer);
            }
            ctx.send(peer, SnapshotMsg::Marker(id));
        }
        let done = open.is_empty();
        self.recordings.insert(
            id,
            Recording {
                state: self.inner.clone(),
                incoming,
                open,
            },
        );
        if done {
            self.finish(ctx, id);
        }
    }

    /// Rules 2 and 4.
    fn on_marker(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, id: SnapshotId) {
        if let Some(recording) = self.recordings.get_mut(&id) {
            recording.open.remove(&from);
            if recording.open.is_empty() {
                self.finish(ctx, id);
            }
        } else if !self.finished.contains(&id) {
            self.record(ctx, id, Some(from));
        }
        // Otherwise a duplicated marker of a finished snapshot: nothing to do.
    }

    /// Rule 5: every incoming channel is closed; report to the initiator.
    fn finish(&mut self, ctx: &mut Context<'_, Self>, id: SnapshotId) {
        let Some(recording) = self.recordings.remove(&id) else {
            return;
        };
        if self.finished.len() == FINISHED_REMEMBERED_MAX {
            self.finished.pop_front();
        }
        self.finished.push_back(id);
        let local = LocalSnapshot {
            state: recording.state,
            incoming: recording.incoming,
        };
        if id.initiator == ctx.id() {
            self.collect(ctx, ctx.id(), id, local);
        } else {
            ctx.send(
                id.initiator,
                SnapshotMsg::Report {
                    snapshot: id,
                    local,
                },
            );
        }
    }

    /// At the initiator: one more node's part; emit the snapshot when complete.
    fn collect(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        id: SnapshotId,
        local: LocalSnapshot<N>,
    ) {
        let Some(reports) = self.collecting.get_mut(&id) else {
            return; // not ours, or already complete (a duplicated report)
        };
        reports.insert(from, local);
        if reports.len() < ctx.cluster_size() {
            return;
        }
        let reports = self.collecting.remove(&id).unwrap_or_default();
        let mut snapshot = GlobalSnapshot {
            id,
            states: BTreeMap::new(),
            channels: BTreeMap::new(),
        };
        for (to, local) in reports {
            for (from, msgs) in local.incoming {
                snapshot.channels.insert(Channel { from, to }, msgs);
            }
            snapshot.states.insert(to, local.state);
        }
        ctx.emit(SnapshotEvent::Completed(snapshot));
    }
}

impl<N> Wrapper for Snapshotting<N>
where
    N: Node + Clone + fmt::Debug + Serialize + DeserializeOwned,
{
    type Inner = N;

    fn inner_mut(&mut self) -> &mut N {
        &mut self.inner
    }

    /// Wraps the wrapped node's effects as this node's, noting whether it
    /// uses its channel to itself (which markers then cover too).
    fn translate(&mut self, ctx: &mut Context<'_, Self>, effect: EffectOf<N>) {
        if let Effect::Send { to, .. } = &effect {
            self.sent_to_self |= *to == ctx.id();
        }
        ctx.record(effect.map(SnapshotMsg::App, SnapshotTimer::App, SnapshotEvent::App));
    }
}

impl<N> Node for Snapshotting<N>
where
    N: Node + Clone + fmt::Debug + Serialize + DeserializeOwned,
{
    type Msg = SnapshotMsg<N>;
    type Timer = SnapshotTimer<N::Timer>;
    type Request = SnapshotRequest<N::Request>;
    type Event = SnapshotEvent<N>;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.run_inner(ctx, Input::Start);
        if let Some(every) = self.config.initiate_every {
            ctx.set_timer(every, SnapshotTimer::Initiate);
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: SnapshotMsg<N>) {
        match msg {
            SnapshotMsg::App(msg) => {
                // Rule 3: in transit on every channel still being recorded.
                for recording in self.recordings.values_mut() {
                    if recording.open.contains(&from)
                        && let Some(log) = recording.incoming.get_mut(&from)
                    {
                        log.push(msg.clone());
                    }
                }
                self.run_inner(ctx, Input::Message { from, msg });
            }
            SnapshotMsg::Marker(id) => self.on_marker(ctx, from, id),
            SnapshotMsg::Report { snapshot, local } => self.collect(ctx, from, snapshot, local),
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: SnapshotTimer<N::Timer>) {
        match timer {
            SnapshotTimer::App(timer) => {
                self.run_inner(ctx, Input::Timer(timer));
            }
            SnapshotTimer::Initiate => {
                self.initiate(ctx);
                if let Some(every) = self.config.initiate_every {
                    ctx.set_timer(every, SnapshotTimer::Initiate);
                }
            }
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: SnapshotRequest<N::Request>) {
        match request {
            SnapshotRequest::Snapshot => self.initiate(ctx),
            SnapshotRequest::App(request) => {
                self.run_inner(ctx, Input::Request(request));
            }
        }
    }
}

pub mod bank;
mod model;
mod scenario;

pub use model::model;

pub use scenario::{ALGORITHM, SCENARIO_BANK, SCENARIO_EVERY_FIRST, SCENARIO_EVERY_LAST};

#[cfg(test)]
mod tests {
    use super::bank::{Bank, BankConfig, NextTransfer, Transfer};
    use super::*;
    use dsys_core::testing::Harness;

    #[test]
    fn recorded_text_matches_the_events_debug_rendering() {
        let id = SnapshotId {
            initiator: NodeId(3),
            seq: 9,
        };
        let event: SnapshotEvent<Bank> = SnapshotEvent::Recorded(id);
        assert_eq!(format!("{event:?}"), format!("Recorded({id:?})"));
        let msg: SnapshotMsg<Bank> = SnapshotMsg::App(Transfer { amount: 1 });
        assert_eq!(msg.kind(), APP_KIND);
    }

    #[test]
    fn configurations_are_validated() {
        let zero = SnapshotConfig::every(Duration::ZERO);
        assert!(matches!(zero.validate(), Err(Error::InvalidConfig(_))));
        let none = SnapshotConfig {
            in_progress_max: 0,
            ..SnapshotConfig::default()
        };
        assert!(none.validate().is_err());
        let empty = BankConfig {
            transfer_every_min: Duration::from_millis(9),
            ..BankConfig::default()
        };
        let err = Bank::new(empty).unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
    }

    #[test]
    fn a_single_node_snapshot_completes_at_once() {
        let bank = Bank::new(BankConfig::default()).unwrap();
        let mut h = Harness::new(Snapshotting::new(bank.clone()), NodeId(0), 1);
        h.start();
        let id = SnapshotId {
            initiator: NodeId(0),
            seq: 0,
        };
        assert_eq!(
            h.request(SnapshotRequest::Snapshot),
            vec![
                Effect::Emit(SnapshotEvent::Recorded(id)),
                Effect::Emit(SnapshotEvent::Completed(GlobalSnapshot {
                    id,
                    states: BTreeMap::from([(NodeId(0), bank)]),
                    channels: BTreeMap::new(),
                })),
            ]
        );
    }

    #[test]
    fn the_bank_never_sends_more_than_it_holds() {
        let config = BankConfig {
            initial_balance: 3,
            ..BankConfig::default()
        };
        let mut h = Harness::new(Bank::new(config).unwrap(), NodeId(0), 2);
        h.start();
        let mut sent = 0;
        for _ in 0..10 {
            for effect in h.timer(NextTransfer) {
                if let Effect::Send { msg, .. } = effect {
                    sent += msg.amount;
                }
            }
        }
        assert_eq!(sent, 3);
        assert_eq!(h.node().balance(), 0);
    }
}
