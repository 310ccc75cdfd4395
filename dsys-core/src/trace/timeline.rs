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
            TraceKind::Violation { property, detail } => {
                format!("VIOLATES {property}: {detail}")
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NodeId;

    const MS: u64 = 1_000_000;

    /// One event of every kind, at 1 ms, 2 ms, … in this order.
    fn every_kind() -> Trace {
        let n = |i| Some(NodeId(i));
        let kinds: Vec<(Option<NodeId>, TraceKind)> = vec![
            (
                n(0),
                TraceKind::Request {
                    request: "Enter".into(),
                },
            ),
            (
                None,
                TraceKind::RequestDropped {
                    request: "Late".into(),
                },
            ),
            (
                n(0),
                TraceKind::Emit {
                    event: "Entered".into(),
                },
            ),
            (
                n(0),
                TraceKind::Send {
                    to: NodeId(1),
                    msg_id: 0,
                    kind: "Ping".into(),
                    msg: "Ping(1)".into(),
                },
            ),
            (
                n(1),
                TraceKind::Deliver {
                    from: NodeId(0),
                    msg_id: 0,
                    kind: "Ping".into(),
                    msg: "Ping(1)".into(),
                },
            ),
            (
                None,
                TraceKind::Drop {
                    from: NodeId(1),
                    to: NodeId(0),
                    msg_id: 1,
                    kind: "Pong".into(),
                    reason: DropReason::Loss,
                },
            ),
            (
                n(1),
                TraceKind::Timer {
                    timer: "Tick".into(),
                },
            ),
            (n(2), TraceKind::Crash),
            (n(2), TraceKind::Restart { incarnation: 1 }),
            (n(1), TraceKind::Pause),
            (n(1), TraceKind::Resume),
            (
                None,
                TraceKind::Partition {
                    sides: vec![vec![NodeId(0)], vec![NodeId(1), NodeId(2)]],
                },
            ),
            (None, TraceKind::Heal),
            (
                None,
                TraceKind::CutLink {
                    from: NodeId(0),
                    to: NodeId(2),
                },
            ),
            (
                None,
                TraceKind::RestoreLink {
                    from: NodeId(0),
                    to: NodeId(2),
                },
            ),
            (
                n(2),
                TraceKind::Byzantine {
                    strategy: "drop".into(),
                },
            ),
            (n(2), TraceKind::Honest),
            (
                n(2),
                TraceKind::ByzantineSend {
                    to: NodeId(0),
                    msg_id: None,
                    original: "Pong(2)".into(),
                    delay_ns: 0,
                },
            ),
        ];
        let mut trace = Trace::new();
        for (i, (node, kind)) in kinds.into_iter().enumerate() {
            trace.push((i as u64 + 1) * MS, node, None, kind);
        }
        trace
    }

    fn lines(timeline: Timeline<'_>) -> Vec<String> {
        timeline
            .to_string()
            .lines()
            .skip(1) // the header
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    #[test]
    fn every_kind_has_its_line_and_the_defaults_hide_deliveries_and_timers() {
        let trace = every_kind();
        assert_eq!(
            lines(trace.timeline()),
            vec![
                "1.000 n0 asks: Enter",
                "2.000 asks while down (lost): Late",
                "3.000 n0 ** Entered **",
                "4.000 n0 sends Ping(1) to n1",
                "6.000 the network drops Pong n1 -> n0 (lost)",
                "8.000 n2 CRASHES",
                "9.000 n2 RESTARTS (incarnation 1)",
                "10.000 n1 PAUSES",
                "11.000 n1 RESUMES",
                "12.000 PARTITION n0 | n1 n2",
                "13.000 the partition HEALS",
                "14.000 link n0 -> n2 CUT",
                "15.000 link n0 -> n2 restored",
                "16.000 n2 turns BYZANTINE (drop)",
                "17.000 n2 turns honest",
                "18.000 n2 (Byzantine) withholds Pong(2) to n0",
            ]
        );
        assert!(trace
            .timeline()
            .to_string()
            .starts_with("   time (ms)  node  what\n"));
    }

    #[test]
    fn the_switches_show_and_hide_what_they_name() {
        let trace = every_kind();
        let all = lines(trace.timeline().deliveries(true).timers(true));
        assert!(all.contains(&"5.000 n1 receives Ping(1) from n0".to_string()));
        assert!(all.contains(&"7.000 n1 timer Tick fires".to_string()));
        assert_eq!(all.len(), 18);
        let quiet = lines(trace.timeline().sends(false));
        assert!(!quiet
            .iter()
            .any(|l| l.contains("sends") || l.contains("withholds")));
        assert_eq!(quiet.len(), 14);
        // Hiding a kind hides its sends, deliveries and drops, not others'.
        let no_ping = lines(trace.timeline().deliveries(true).hide("Ping"));
        assert!(!no_ping.iter().any(|l| l.contains("Ping")));
        assert!(no_ping.iter().any(|l| l.contains("drops Pong")));
        let no_pong = lines(trace.timeline().hide("Pong"));
        assert!(!no_pong.iter().any(|l| l.contains("drops")));
        assert!(no_pong.iter().any(|l| l.contains("sends Ping")));
    }

    #[test]
    fn between_keeps_the_events_inside_its_bounds_inclusive() {
        let trace = every_kind();
        let window = lines(
            trace
                .timeline()
                .between(Duration::from_millis(3), Duration::from_millis(4)),
        );
        assert_eq!(
            window,
            vec!["3.000 n0 ** Entered **", "4.000 n0 sends Ping(1) to n1"]
        );
        assert!(lines(
            trace
                .timeline()
                .between(Duration::from_millis(19), Duration::MAX)
        )
        .is_empty());
    }
}
