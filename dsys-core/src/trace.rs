//! What happened in a run: every send, delivery, drop, duplicate, timer,
//! request, event, crash and restart, with its virtual time and a vector
//! timestamp the simulator keeps by itself.
//!
//! Because the simulator stamps every node event with a vector timestamp
//! (tick on each event, merge on delivery), happens-before between any two
//! trace events is known without the algorithm's help:
//! [`Trace::happens_before`] and [`Trace::concurrent`].
//!
//! # Exports
//!
//! **JSON Lines** ([`Trace::write_jsonl`]): one JSON object per line, in the
//! order events happened. Every object has
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `index` | integer | position in the trace, from 0 |
//! | `time_ns` | integer | virtual time in nanoseconds |
//! | `node` | integer or null | the node the event belongs to; null for network events (drop, duplicate, partition, heal, link cut/restore) |
//! | `clock` | object or null | the node's vector timestamp after the event, `{"n0": 3, "n2": 1}` (zero entries left out); null for network events |
//! | `type` | string | `start`, `send`, `deliver`, `drop`, `duplicate`, `timer`, `request`, `request_dropped`, `emit`, `crash`, `restart`, `pause`, `resume`, `partition`, `heal`, `cut_link`, `restore_link`, `byzantine`, `honest`, `byzantine_send`, `violation` |
//!
//! and, by type: `send` — `to`, `msg_id`, `kind`, `msg`; `deliver` — `from`,
//! `msg_id`, `kind`, `msg`; `drop` — `from`, `to`, `msg_id`, `kind`,
//! `reason` (`loss`, `partition`, `node_down`, `no_such_node`); `duplicate` — `from`, `to`,
//! `msg_id`; `timer` — `timer`; `request`, `request_dropped` —
//! `request`; `emit` — `event`; `start`, `restart` — `incarnation`;
//! `partition` — `sides` (lists of node ids); `cut_link`, `restore_link` —
//! `from`, `to`; `byzantine` — `strategy` (a description: `equivocate`,
//! `drop 0.5`, …); `honest` — nothing; `byzantine_send` — `to`, `msg_id`
//! (null when the strategy withheld the message), `original`, `delay_ns`;
//! `violation` — `property`, `detail`.
//! `msg`, `timer`, `request` and `event` are the value's
//! `Debug` rendering. A `msg_id` is shared by a send, its duplicates and
//! their deliveries or drops.
//!
//! A node event may also carry `state`: the node's state after the handler
//! it ran, in `Debug` form, when the run recorded states
//! ([`crate::sim::Simulation::record_states`], `dsys sim --trace-states`).
//! A run that broke a property ends with a `violation` record (no node, no
//! clock) naming the property and what it said.
//!
//! **Byzantine nodes** ([`crate::sim::Strategy`]). `byzantine` marks the
//! moment its `node` turned Byzantine, `honest` the moment it stopped.
//! Every message a Byzantine node's strategy puts on the network has its
//! ordinary `send` record, followed by a `byzantine_send` record with the
//! same `msg_id`, the message the node's handler had sent (`original`, to
//! compare with the `send`'s `msg`) and how long the strategy held it back
//! (`delay_ns`, 0 if not); a withheld message leaves only a
//! `byzantine_send` whose `msg_id` is null. These three records name their
//! node but carry no `clock`: they annotate the run, they are not events of
//! the node's process (readers that know only the older types can skip
//! them).
//!
//! **ShiViz** ([`Trace::write_shiviz`]): for [ShiViz](https://bestchai.bitbucket.io/shiviz/),
//! each node event as one line of text followed by one line holding the
//! host and its vector clock as JSON:
//!
//! ```text
//! send Ping { round: 0 } to n1
//! n0 {"n0":2}
//! deliver Ping { round: 0 } from n0
//! n1 {"n0":2,"n1":2}
//! ```
//!
//! Paste the log into ShiViz with this parser regular expression
//! ([`SHIVIZ_REGEX`]):
//!
//! ```text
//! (?<event>.*)\n(?<host>\S*) (?<clock>\{.*\})
//! ```
//!
//! (The braces are escaped so that the same expression means the same thing
//! to ShiViz's JavaScript and to Rust's `regex` crate.)
//!
//! The log obeys ShiViz's rules: a host's own clock entry is 1 at its first
//! event and rises by exactly 1 per event, and no clock names an event of
//! another host that has not happened yet. Network events have no host and
//! are left out.
//!
//! A node's vector clock belongs to the process, not to one incarnation: it
//! carries on across a crash and restart (`crash` is one event of the host,
//! `restart` and the new `start` the next ones), which is what ShiViz needs
//! to draw a restarted host as one timeline.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::node::NodeId;

pub mod html;
mod timeline;

pub use timeline::Timeline;

/// The regular expression to paste into ShiViz for [`Trace::write_shiviz`] logs.
pub const SHIVIZ_REGEX: &str = r"(?<event>.*)\n(?<host>\S*) (?<clock>\{.*\})";

/// A vector timestamp: entry `i` counts the events of node `i` that happened
/// before (or are) the stamped event. Missing entries count as zero, so
/// `[1, 0, 0]` equals `[1]` (the JSON form leaves zero entries out).
#[derive(Clone, Debug, Default)]
pub struct VectorTimestamp(pub Vec<u64>);

impl PartialEq for VectorTimestamp {
    fn eq(&self, other: &Self) -> bool {
        self.significant() == other.significant()
    }
}

impl Eq for VectorTimestamp {}

impl std::hash::Hash for VectorTimestamp {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.significant().hash(state);
    }
}

impl VectorTimestamp {
    /// The entries without trailing zeros.
    fn significant(&self) -> &[u64] {
        let end = self.0.iter().rposition(|&c| c != 0).map_or(0, |i| i + 1);
        &self.0[..end]
    }

    /// `self ≤ other` entry by entry: the event stamped `self` happened
    /// before, or is, the event stamped `other`.
    pub fn le(&self, other: &VectorTimestamp) -> bool {
        let n = self.0.len().max(other.0.len());
        (0..n).all(|i| self.get(i) <= other.get(i))
    }

    /// Entry `i`, zero when absent.
    pub fn get(&self, i: usize) -> u64 {
        self.0.get(i).copied().unwrap_or(0)
    }
}

impl Serialize for VectorTimestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        for (i, &count) in self.0.iter().enumerate() {
            if count > 0 {
                map.serialize_entry(&format!("n{i}"), &count)?;
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for VectorTimestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, u64>::deserialize(deserializer)?;
        let mut entries = Vec::new();
        for (host, count) in map {
            let index: usize = host
                .strip_prefix('n')
                .and_then(|i| i.parse().ok())
                .ok_or_else(|| serde::de::Error::custom(format!("bad host name {host:?}")))?;
            if entries.len() <= index {
                entries.resize(index + 1, 0);
            }
            entries[index] = count;
        }
        Ok(VectorTimestamp(entries))
    }
}

/// Why the network dropped a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Random loss on the link.
    Loss,
    /// The link was cut (a partition or a one-way cut) at send or arrival.
    Partition,
    /// The destination was crashed, or crashed while the message was in flight.
    NodeDown,
    /// The destination is not a node of the cluster (an algorithm bug).
    NoSuchNode,
}

/// One thing that happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEvent {
    /// Position in the trace.
    pub index: usize,
    /// Virtual time in nanoseconds.
    pub time_ns: u64,
    /// The node the event belongs to; `None` for network events.
    pub node: Option<NodeId>,
    /// The node's vector timestamp after this event; `None` for network events.
    pub clock: Option<VectorTimestamp>,
    /// What happened.
    #[serde(flatten)]
    pub kind: TraceKind,
    /// The node's state after the handler this event ran, in `Debug` form:
    /// on `start`, `deliver`, `timer` and `request` records when the run
    /// recorded states ([`crate::sim::Simulation::record_states`],
    /// `dsys sim --trace-states`); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

impl TraceEvent {
    /// Virtual time as a duration.
    pub fn time(&self) -> Duration {
        Duration::from_nanos(self.time_ns)
    }
}

/// What happened, by type. See the [module docs](self) for the JSON schema.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(missing_docs)] // fields are documented in the module's schema table
pub enum TraceKind {
    /// The node's `on_start` ran.
    Start { incarnation: u64 },
    /// The node sent a message.
    Send {
        to: NodeId,
        msg_id: u64,
        kind: String,
        msg: String,
    },
    /// A message was delivered to the node.
    Deliver {
        from: NodeId,
        msg_id: u64,
        kind: String,
        msg: String,
    },
    /// The network dropped a message.
    Drop {
        from: NodeId,
        to: NodeId,
        msg_id: u64,
        kind: String,
        reason: DropReason,
    },
    /// The network duplicated a message.
    Duplicate {
        from: NodeId,
        to: NodeId,
        msg_id: u64,
    },
    /// A timer of the node fired.
    Timer { timer: String },
    /// A request reached the node.
    Request { request: String },
    /// A request was addressed to a crashed node and lost.
    RequestDropped { request: String },
    /// The node emitted an event to its application.
    Emit { event: String },
    /// The node crashed.
    Crash,
    /// The node was rebuilt from its factory.
    Restart { incarnation: u64 },
    /// The node was paused.
    Pause,
    /// The node was resumed.
    Resume,
    /// The network was partitioned between the sides.
    Partition { sides: Vec<Vec<NodeId>> },
    /// Every cut link was restored.
    Heal,
    /// The one-way link `from → to` was cut.
    CutLink { from: NodeId, to: NodeId },
    /// The one-way link `from → to` was restored.
    RestoreLink { from: NodeId, to: NodeId },
    /// The node turned Byzantine: what it sends passes through `strategy`.
    Byzantine { strategy: String },
    /// The node is honest again.
    Honest,
    /// A property failed after the previous event, and the run stopped
    /// there: the last record of a run that broke a property.
    Violation { property: String, detail: String },
    /// A Byzantine node's strategy sent a message (`msg_id`, after the
    /// `send` record with that id) or withheld one (`msg_id` null) in place
    /// of `original`, what the node's handler sent.
    ByzantineSend {
        to: NodeId,
        msg_id: Option<u64>,
        original: String,
        delay_ns: u64,
    },
}

impl TraceKind {
    /// The `type` tag, as written in JSON Lines.
    pub fn name(&self) -> &'static str {
        match self {
            TraceKind::Start { .. } => "start",
            TraceKind::Send { .. } => "send",
            TraceKind::Deliver { .. } => "deliver",
            TraceKind::Drop { .. } => "drop",
            TraceKind::Duplicate { .. } => "duplicate",
            TraceKind::Timer { .. } => "timer",
            TraceKind::Request { .. } => "request",
            TraceKind::RequestDropped { .. } => "request_dropped",
            TraceKind::Emit { .. } => "emit",
            TraceKind::Crash => "crash",
            TraceKind::Restart { .. } => "restart",
            TraceKind::Pause => "pause",
            TraceKind::Resume => "resume",
            TraceKind::Partition { .. } => "partition",
            TraceKind::Heal => "heal",
            TraceKind::CutLink { .. } => "cut_link",
            TraceKind::RestoreLink { .. } => "restore_link",
            TraceKind::Byzantine { .. } => "byzantine",
            TraceKind::Honest => "honest",
            TraceKind::ByzantineSend { .. } => "byzantine_send",
            TraceKind::Violation { .. } => "violation",
        }
    }

    /// A one-line description for a person (used in ShiViz logs).
    pub fn describe(&self) -> String {
        let text = match self {
            TraceKind::Start { incarnation } => format!("start (incarnation {incarnation})"),
            TraceKind::Send { to, msg, .. } => format!("send {msg} to {to}"),
            TraceKind::Deliver { from, msg, .. } => format!("deliver {msg} from {from}"),
            TraceKind::Drop {
                from,
                to,
                kind,
                reason,
                ..
            } => format!("drop {kind} {from}->{to} ({reason:?})"),
            TraceKind::Duplicate { from, to, msg_id } => {
                format!("duplicate message {msg_id} {from}->{to}")
            }
            TraceKind::Timer { timer, .. } => format!("timer {timer}"),
            TraceKind::Request { request } => format!("request {request}"),
            TraceKind::RequestDropped { request } => format!("request dropped {request}"),
            TraceKind::Emit { event } => format!("emit {event}"),
            TraceKind::Crash => "crash".to_string(),
            TraceKind::Restart { incarnation } => format!("restart (incarnation {incarnation})"),
            TraceKind::Pause => "pause".to_string(),
            TraceKind::Resume => "resume".to_string(),
            TraceKind::Partition { sides } => format!("partition {sides:?}"),
            TraceKind::Heal => "heal".to_string(),
            TraceKind::CutLink { from, to } => format!("cut link {from}->{to}"),
            TraceKind::RestoreLink { from, to } => format!("restore link {from}->{to}"),
            TraceKind::Byzantine { strategy } => format!("turns Byzantine ({strategy})"),
            TraceKind::Honest => "turns honest".to_string(),
            TraceKind::ByzantineSend {
                to,
                msg_id: Some(id),
                original,
                delay_ns,
            } => format!("Byzantine send {id} to {to} in place of {original} (held {delay_ns} ns)"),
            TraceKind::ByzantineSend {
                to,
                msg_id: None,
                original,
                ..
            } => format!("Byzantine node withholds {original} to {to}"),
            TraceKind::Violation { property, detail } => {
                format!("{property} violated: {detail}")
            }
        };
        // One event, one line: ShiViz's parser depends on it.
        text.replace(['\n', '\r'], " ")
    }
}

/// The record of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    events: Vec<TraceEvent>,
}

impl Trace {
    /// The trace as a readable timeline, one line per event (see
    /// [`Timeline`] for what it shows and how to choose).
    pub fn timeline(&self) -> Timeline<'_> {
        Timeline::new(self)
    }

    /// An empty trace.
    pub fn new() -> Self {
        Trace::default()
    }

    /// Appends an event, setting its index.
    pub fn push(
        &mut self,
        time_ns: u64,
        node: Option<NodeId>,
        clock: Option<VectorTimestamp>,
        kind: TraceKind,
    ) {
        let index = self.events.len();
        self.events.push(TraceEvent {
            index,
            time_ns,
            node,
            clock,
            kind,
            state: None,
        });
    }

    /// Sets the node state recorded with event `index` (see
    /// [`TraceEvent::state`]); nothing when there is no such event.
    pub fn set_state(&mut self, index: usize, state: String) {
        if let Some(event) = self.events.get_mut(index) {
            event.state = Some(state);
        }
    }

    /// The events, in the order they happened.
    pub fn events(&self) -> &[TraceEvent] {
        &self.events
    }

    /// The number of events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether the trace is empty.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Whether event `a` happened before event `b` (Lamport's →): both are
    /// node events and `a`'s vector timestamp is below `b`'s. `false` for
    /// network events and out-of-range indices.
    pub fn happens_before(&self, a: usize, b: usize) -> bool {
        match (self.clock(a), self.clock(b)) {
            (Some(x), Some(y)) => a != b && x.le(y) && x != y,
            _ => false,
        }
    }

    /// Whether two node events are concurrent: neither happened before the other.
    pub fn concurrent(&self, a: usize, b: usize) -> bool {
        self.clock(a).is_some()
            && self.clock(b).is_some()
            && a != b
            && !self.happens_before(a, b)
            && !self.happens_before(b, a)
    }

    fn clock(&self, i: usize) -> Option<&VectorTimestamp> {
        self.events.get(i).and_then(|e| e.clock.as_ref())
    }

    /// Writes the trace as JSON Lines (schema in the [module docs](self)).
    pub fn write_jsonl<W: Write>(&self, mut out: W) -> io::Result<()> {
        for event in &self.events {
            serde_json::to_writer(&mut out, event)?;
            out.write_all(b"\n")?;
        }
        out.flush()
    }

    /// The JSON Lines export as a string.
    pub fn to_jsonl(&self) -> String {
        let mut out = Vec::new();
        self.write_jsonl(&mut out)
            .expect("writing to a Vec cannot fail");
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }

    /// Reads a JSON Lines export back.
    pub fn read_jsonl(text: &str) -> Result<Trace, serde_json::Error> {
        let events = text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(serde_json::from_str)
            .collect::<Result<Vec<TraceEvent>, _>>()?;
        Ok(Trace { events })
    }

    /// Writes the node events as a ShiViz log (format in the [module docs](self)).
    pub fn write_shiviz<W: Write>(&self, mut out: W) -> io::Result<()> {
        for event in &self.events {
            let (Some(node), Some(clock)) = (event.node, &event.clock) else {
                continue;
            };
            writeln!(out, "{}", event.kind.describe())?;
            writeln!(out, "{node} {}", serde_json::to_string(clock)?)?;
        }
        out.flush()
    }

    /// The ShiViz export as a string.
    pub fn to_shiviz(&self) -> String {
        let mut out = Vec::new();
        self.write_shiviz(&mut out)
            .expect("writing to a Vec cannot fail");
        String::from_utf8(out).expect("ShiViz log is UTF-8")
    }
}
