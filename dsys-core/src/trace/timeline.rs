//! A trace as a readable timeline, one line per event: [`Timeline`].

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use super::{DropReason, Trace, TraceEvent, TraceKind};

/// A trace printed as a timeline a person can read: one line per event,
/// with its virtual time and node, in the order things happened. Built by
/// [`Trace::timeline`]; choose what to show with the builder methods, then
/// print it (it implements `Display`).
///
/// By default it shows requests, sends, drops, emitted events, crashes,
/// restarts, pauses and partitions; deliveries and timers are hidden
/// (turn them on with [`Timeline::deliveries`] and [`Timeline::timers`]).
///
/// ```
/// use std::time::Duration;
/// use dsys_core::ping_pong::{PingPong, PingPongConfig};
/// use dsys_core::sim::Simulation;
///
/// let config = PingPongConfig { rounds: 1, ..PingPongConfig::default() };
/// let mut sim = Simulation::new(2, 7, move |_| PingPong::new(config));
/// sim.enable_trace();
/// sim.run_until(Duration::from_secs(1)).unwrap();
/// let text = sim.trace().unwrap().timeline().hide("Pong").to_string();
/// assert!(text.contains("n0    sends Ping { round: 0 } to n1"));
/// assert!(!text.contains("Pong"));
/// print!("{text}");
/// ```
#[derive(Clone, Debug)]
pub struct Timeline<'a> {
    trace: &'a Trace,
    from: Duration,
    to: Duration,
    hidden: BTreeSet<String>,
    deliveries: bool,
    timers: bool,
    sends: bool,
}

impl<'a> Timeline<'a> {
    pub(super) fn new(trace: &'a Trace) -> Self {
        Timeline {
            trace,
            from: Duration::ZERO,
            to: Duration::MAX,
            hidden: BTreeSet::new(),
            deliveries: false,
            timers: false,
            sends: true,
        }
    }

    /// Shows only the events from `from` to `to` (virtual time, inclusive).
    pub fn between(mut self, from: Duration, to: Duration) -> Self {
        self.from = from;
        self.to = to;
        self
    }

    /// Leaves out the messages of this kind ([`crate::Message::kind`], e.g.
    /// `"Heartbeat"`): their sends, deliveries and drops.
    pub fn hide(mut self, kind: &str) -> Self {
        self.hidden.insert(kind.to_string());
        self
    }

    /// Shows sends (on by default).
    pub fn sends(mut self, on: bool) -> Self {
        self.sends = on;
        self
    }

    /// Shows deliveries (off by default).
    pub fn deliveries(mut self, on: bool) -> Self {
        self.deliveries = on;
        self
    }

    /// Shows timers firing (off by default).
    pub fn timers(mut self, on: bool) -> Self {
        self.timers = on;
        self
    }

    /// What one event says on its line, or `None` when it is not shown.
    fn describe(&self, event: &TraceEvent) -> Option<String> {
        let shown = |kind: &String| !self.hidden.contains(kind);
        Some(match &event.kind {
            TraceKind::Request { request } => format!("asks: {request}"),
            TraceKind::RequestDropped { request } => format!("asks while down (lost): {request}"),
            TraceKind::Emit { event } => format!("** {event} **"),
            TraceKind::Send { to, kind, msg, .. } if self.sends && shown(kind) => {
                format!("sends {msg} to {to}")
            }
            TraceKind::Deliver {
                from, kind, msg, ..
            } if self.deliveries && shown(kind) => format!("receives {msg} from {from}"),
            TraceKind::Drop {
                from,
                to,
                kind,
                reason,
                ..
            } if shown(kind) => {
                let why = match reason {
                    DropReason::Loss => "lost",
                    DropReason::Partition => "link cut",
                    DropReason::NodeDown => "destination down",
                    DropReason::NoSuchNode => "no such node",
                };
                format!("the network drops {kind} {from} -> {to} ({why})")
            }
            TraceKind::Timer { timer } if self.timers => format!("timer {timer} fires"),
            TraceKind::Crash => "CRASHES".to_string(),
            TraceKind::Restart { incarnation } => format!("RESTARTS (incarnation {incarnation})"),
            TraceKind::Pause => "PAUSES".to_string(),
            TraceKind::Resume => "RESUMES".to_string(),
            TraceKind::Partition { sides } => {
                let side = |s: &Vec<crate::NodeId>| {
                    s.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                let sides: Vec<String> = sides.iter().map(side).collect();
                format!("PARTITION {}", sides.join(" | "))
            }
            TraceKind::Heal => "the partition HEALS".to_string(),
            TraceKind::CutLink { from, to } => format!("link {from} -> {to} CUT"),
            TraceKind::RestoreLink { from, to } => format!("link {from} -> {to} restored"),
            TraceKind::Byzantine { strategy } => format!("turns BYZANTINE ({strategy})"),
            TraceKind::Honest => "turns honest".to_string(),
            TraceKind::ByzantineSend {
                to,
                msg_id: None,
                original,
                ..
            } if self.sends => format!("(Byzantine) withholds {original} to {to}"),
            _ => return None,
        })
    }
}

impl fmt::Display for Timeline<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "  {:>10}  {:<4}  what", "time (ms)", "node")?;
        for event in self.trace.events() {
            let time = event.time();
            if time < self.from || time > self.to {
                continue;
            }
            let Some(what) = self.describe(event) else {
                continue;
            };
            let node = event.node.map_or(String::new(), |n| n.to_string());
            writeln!(f, "  {:>10.3}  {node:<4}  {what}", time.as_secs_f64() * 1e3)?;
        }
        Ok(())
    }
}
