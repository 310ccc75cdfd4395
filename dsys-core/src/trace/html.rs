//! A trace as a self-contained HTML page: a space-time diagram a student
//! can step through (`dsys view trace.jsonl`, `dsys sim … --html run.html`).
//!
//! One horizontal lane per node, time running to the right. On its lane,
//! each event of the node is a mark at its virtual time (or, with the
//! *order* axis, at its position in the trace): a dot for a send or a
//! delivery, a diamond for a timer, a triangle for a request, a star for an
//! emitted event, a square for a start, a cross for a crash. Each delivered
//! message is an arrow from its send to its delivery (a duplicate copy is
//! dashed and labelled ×2); a lost message is an arrow that ends in a cross.
//! A crashed node's lane is shaded until it restarts, a paused one is
//! hatched until it resumes, and a partition is a band across the diagram
//! from the moment it is cut to the moment it heals.
//!
//! What the page lets a reader do:
//!
//! - **step** through the trace with the slider or the keyboard (→ and ←,
//!   Home and End): events after the step fade, and the last one is
//!   selected;
//! - **select** an event (click): its details (time, payload in `Debug`
//!   form, vector and Lamport timestamps, what the same handler sent and
//!   emitted, the node's state after it when the run recorded states) and
//!   its **causal past and future**, computed from the vector timestamps,
//!   with every concurrent event greyed;
//! - **filter** nodes and message kinds, **zoom** on a time range (buttons,
//!   the range fields, or the mouse wheel), and label the events with their
//!   Lamport or vector timestamps;
//! - read the **violation** when the run broke a property (the trace ends
//!   with a `violation` record): the event after which the property failed
//!   and the latest events of the nodes its message names are highlighted;
//! - read the **summary**: messages by kind (sent, delivered, dropped,
//!   duplicated) and events by node, and the whole `dsys sim` report when
//!   the page was made by `dsys sim --html`.
//!
//! Big traces stay responsive: only the events in the visible time range
//! are drawn, and when more than [`DRAWN_EVENTS_MAX`] are in range, each
//! lane shows how many events fall in each stretch of time instead (zoom in
//! to see them one by one). A page opens on the whole run when it has at
//! most [`DRAWN_EVENTS_MAX`] events, else on its beginning.
//!
//! The page needs no server and no network: the trace is inline as JSON,
//! the CSS and the script too. The address's fragment can open it on a step
//! or a selected event: `run.html#step=12`, `run.html#select=40`,
//! `#range=100..250` (in milliseconds) or `#range=all`,
//! `#labels=lamport` (or `vector`), `#hide=n1,Reply` (nodes and message
//! kinds to filter out), and
//! `#keys=Home,ArrowRight` replays key presses (the browser tests use it).
//!
//! Stable names for tests and styling: `svg#diagram`; `g.lane` per shown
//! node (`id="lane-N"`); `.ev` per drawn event (`id="ev-I"`, I its index in
//! the trace, with `ev-TYPE` for its type and, as they apply, `current`,
//! `later`, `selected`, `past`, `future`, `concurrent`, `violating`,
//! `named`); `line.arrow` per drawn delivery (`data-msg`, and `dup` for a
//! duplicate copy); `line.lost` and `path.cross` per drawn loss;
//! `rect.down`, `rect.paused`, `rect.partition`; `#details`, `#violation`,
//! `#summary`. Once drawn, `<body>` has `data-viewer="ready"`,
//! `data-step`, `data-selected`, `data-drawn` (events drawn) and
//! `data-first-render-ms` (time from navigation to the first drawing).
//!
//! ```
//! use dsys_core::ping_pong::{PingPong, PingPongConfig};
//! use dsys_core::sim::Simulation;
//! use dsys_core::trace::html;
//! use std::time::Duration;
//!
//! let mut sim = Simulation::new(3, 7, |_| PingPong::new(PingPongConfig::default()));
//! sim.enable_trace();
//! sim.run_until(Duration::from_millis(100)).unwrap();
//! let page = html::render(sim.trace().unwrap(), "ping-pong, seed 7", None);
//! assert!(page.starts_with("<!DOCTYPE html>"));
//! assert!(page.contains(r#"<script type="application/json" id="trace-data">"#));
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use serde::Serialize;

use super::{Trace, TraceKind};
use crate::scenario::{Report, Verdict};

/// Above this many events in the visible range, lanes show counts per
/// stretch of time instead of single events.
pub const DRAWN_EVENTS_MAX: usize = 2500;

const STYLE: &str = include_str!("view.css");
const SCRIPT: &str = include_str!("view.js");

/// The page for `trace`, titled `title`, with `report`'s verdicts, figures
/// and counts in its summary when given (`dsys sim --html` gives it;
/// `dsys view` has only the trace).
pub fn render(trace: &Trace, title: &str, report: Option<&Report>) -> String {
    let data = ViewData::of(trace);
    let json = serde_json::to_string(&data).expect("the view data serialises");
    let mut page = String::with_capacity(json.len() + STYLE.len() + SCRIPT.len() + 8192);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title} · dsys</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
        title = escape(title)
    );
    let _ = writeln!(
        page,
        "<header><h1>{}</h1><span id=\"counts\">{} events on {} node{}</span></header>",
        escape(title),
        trace.len(),
        data.nodes,
        if data.nodes == 1 { "" } else { "s" }
    );
    page.push_str(CONTROLS);
    page.push_str("<main>\n<div id=\"canvas\"><svg id=\"diagram\" xmlns=\"http://www.w3.org/2000/svg\"></svg>\n<p id=\"note\"></p>\n");
    page.push_str(LEGEND);
    page.push_str("</div>\n<aside>\n");
    page.push_str(&violation_panel(&data));
    page.push_str("<section id=\"details\"><h2>Event</h2><p class=\"hint\">Click an event, or step with → and ←.</p></section>\n");
    page.push_str(&summary_panel(&data, report));
    page.push_str("</aside>\n</main>\n");
    // `<` never appears raw inside the JSON, so no string in the trace can
    // close the script element.
    let _ = write!(
        page,
        "<script type=\"application/json\" id=\"trace-data\">{}</script>\n<script>\n{SCRIPT}</script>\n</body>\n</html>\n",
        json.replace('<', "\\u003c")
    );
    page
}

/// The bar above the diagram. The script wires it up; node and kind
/// filters are filled in from the data.
const CONTROLS: &str = "<nav id=\"controls\">\n\
<button id=\"first\" title=\"Home: before the first event\">|◀</button>\
<button id=\"prev\" title=\"←: one event back\">◀</button>\
<input id=\"step\" type=\"range\" min=\"0\" value=\"0\" aria-label=\"step\">\
<button id=\"next\" title=\"→: one event on\">▶</button>\
<button id=\"last\" title=\"End: after the last event\">▶|</button>\
<span id=\"step-label\"></span>\n\
<span class=\"group\">axis <select id=\"axis\"><option value=\"time\">virtual time</option><option value=\"order\">trace order</option></select></span>\
<span class=\"group\">labels <select id=\"labels\"><option value=\"none\">none</option><option value=\"lamport\">Lamport</option><option value=\"vector\">vector</option></select></span>\
<span class=\"group\">range <input id=\"from\" size=\"7\" aria-label=\"from\"> to <input id=\"to\" size=\"7\" aria-label=\"to\"> <span id=\"unit\">ms</span>\
<button id=\"zoom-in\" title=\"zoom in\">+</button><button id=\"zoom-out\" title=\"zoom out\">−</button>\
<button id=\"pan-left\" title=\"earlier\">«</button><button id=\"pan-right\" title=\"later\">»</button>\
<button id=\"zoom-all\" title=\"the whole run\">all</button></span>\
<label class=\"group\"><input id=\"causal\" type=\"checkbox\" checked> causality</label>\n\
<div id=\"filters\"><span id=\"node-filter\">nodes </span><span id=\"kind-filter\">messages </span></div>\n\
</nav>\n";

/// What the marks mean, under the diagram.
const LEGEND: &str = "<p id=\"legend\"><b>■</b> start <b>●</b> send (small) or delivery \
<b>◆</b> timer <b>▲</b> request <b>★</b> emitted event <b>✕</b> crash · arrow: a delivered \
message, dashed ×2: a duplicate copy, red dashed line ending in ✕: a lost message · grey: \
the node is down, hatched: paused, yellow band: a partition · selected event: \
<span class=\"in-past\">causal past</span>, <span class=\"in-future\">causal future</span>, \
faded: concurrent · dashed red line: where a property failed</p>\n";

/// What the script draws from: the trace's records in a compact form, and
/// what the diagram needs precomputed (messages, intervals, Lamport times).
#[derive(Debug, Serialize)]
struct ViewData {
    nodes: usize,
    /// Message kinds, sorted.
    kinds: Vec<String>,
    events: Vec<ViewEvent>,
    messages: Vec<ViewMessage>,
    /// A crash to its restart, per node (`end` null: still down at the end).
    down: Vec<Interval>,
    /// A pause to its resume, per node.
    paused: Vec<Interval>,
    /// Partitions and one-way cuts, to their heal or restore.
    cuts: Vec<Cut>,
    violation: Option<ViewViolation>,
    /// [`DRAWN_EVENTS_MAX`].
    drawn_max: usize,
}

#[derive(Debug, Serialize)]
struct ViewEvent {
    /// Virtual time, ns.
    t: u64,
    /// The node, or null for a network record.
    n: Option<u32>,
    /// The record's type.
    y: &'static str,
    /// The vector timestamp, dense (one entry per node), or null.
    c: Option<Vec<u64>>,
    /// A Lamport timestamp consistent with the vector clocks (null for
    /// network records).
    l: Option<u64>,
    /// One line for a person.
    d: String,
    /// The payload in `Debug` form (message, timer, request or event).
    #[serde(skip_serializing_if = "Option::is_none")]
    p: Option<String>,
    /// Message kind of a send, delivery or drop.
    #[serde(skip_serializing_if = "Option::is_none")]
    k: Option<String>,
    /// The node's state after this handler, when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    s: Option<String>,
    /// The record of the handler input that caused this one (a send or an
    /// emit inside a delivery's handler points at the delivery).
    #[serde(skip_serializing_if = "Option::is_none")]
    h: Option<usize>,
}

#[derive(Debug, Serialize)]
struct ViewMessage {
    id: u64,
    kind: String,
    from: u32,
    to: u32,
    /// The send record.
    send: usize,
    /// Delivery records, in order (more than one when duplicated).
    recv: Vec<usize>,
    /// Drop records.
    drop: Vec<usize>,
}

#[derive(Debug, Serialize)]
struct Interval {
    node: u32,
    start: usize,
    end: Option<usize>,
}

#[derive(Debug, Serialize)]
struct Cut {
    label: String,
    start: usize,
    end: Option<usize>,
}

#[derive(Debug, Serialize)]
struct ViewViolation {
    /// The violation record.
    at: usize,
    property: String,
    detail: String,
    /// The handler input after which the property failed.
    event: Option<usize>,
    /// The latest event of each node the detail names.
    named: Vec<usize>,
}

impl ViewData {
    fn of(trace: &Trace) -> ViewData {
        let nodes = nodes_of(trace);
        let mut events = Vec::with_capacity(trace.len());
        let mut messages: Vec<ViewMessage> = Vec::new();
        let mut message_at: HashMap<u64, usize> = HashMap::new();
        let mut lamport = vec![0u64; nodes];
        let mut send_lamport: HashMap<u64, u64> = HashMap::new();
        let mut last_input: Vec<Option<usize>> = vec![None; nodes];
        let mut down: Vec<Interval> = Vec::new();
        let mut paused: Vec<Interval> = Vec::new();
        let mut cuts: Vec<Cut> = Vec::new();
        let mut kinds: BTreeSet<String> = BTreeSet::new();
        let mut violation = None;
        let close = |intervals: &mut Vec<Interval>, node: u32, at: usize| {
            if let Some(open) = intervals
                .iter_mut()
                .rev()
                .find(|i| i.node == node && i.end.is_none())
            {
                open.end = Some(at);
            }
        };
        for (index, event) in trace.events().iter().enumerate() {
            let node = event.node.map(|n| n.0);
            let clock = event.clock.as_ref().map(|c| {
                let mut dense = c.0.clone();
                dense.resize(nodes, 0);
                dense
            });
            let mut view = ViewEvent {
                t: event.time_ns,
                n: node,
                y: event.kind.name(),
                c: clock,
                l: None,
                d: event.kind.describe(),
                p: None,
                k: None,
                s: event.state.clone(),
                h: None,
            };
            // Lamport time: one more than the node's last event, and than
            // the send of a delivered message.
            if let (Some(n), Some(_)) = (node, &event.clock) {
                let own = &mut lamport[n as usize];
                let mut time = *own + 1;
                if let TraceKind::Deliver { msg_id, .. } = &event.kind {
                    time = time.max(send_lamport.get(msg_id).map_or(0, |l| l + 1));
                }
                *own = time;
                view.l = Some(time);
            }
            match &event.kind {
                TraceKind::Start { .. }
                | TraceKind::Timer { .. }
                | TraceKind::Request { .. }
                | TraceKind::Deliver { .. } => {
                    if let Some(n) = node {
                        last_input[n as usize] = Some(index);
                    }
                    view.h = Some(index);
                }
                TraceKind::Send { .. } | TraceKind::Emit { .. } => {
                    view.h = node.and_then(|n| {
                        last_input[n as usize]
                            .filter(|&i| trace.events()[i].time_ns == event.time_ns)
                    });
                }
                _ => {}
            }
            match &event.kind {
                TraceKind::Send {
                    to,
                    msg_id,
                    kind,
                    msg,
                } => {
                    view.p = Some(msg.clone());
                    view.k = Some(kind.clone());
                    kinds.insert(kind.clone());
                    if let Some(l) = view.l {
                        send_lamport.insert(*msg_id, l);
                    }
                    message_at.insert(*msg_id, messages.len());
                    messages.push(ViewMessage {
                        id: *msg_id,
                        kind: kind.clone(),
                        from: node.unwrap_or(0),
                        to: to.0,
                        send: index,
                        recv: Vec::new(),
                        drop: Vec::new(),
                    });
                }
                TraceKind::Deliver {
                    msg_id, kind, msg, ..
                } => {
                    view.p = Some(msg.clone());
                    view.k = Some(kind.clone());
                    if let Some(&m) = message_at.get(msg_id) {
                        messages[m].recv.push(index);
                    }
                }
                TraceKind::Drop { msg_id, kind, .. } => {
                    view.k = Some(kind.clone());
                    if let Some(&m) = message_at.get(msg_id) {
                        messages[m].drop.push(index);
                    }
                }
                TraceKind::Duplicate { msg_id, .. } => {
                    view.k = message_at.get(msg_id).map(|&m| messages[m].kind.clone());
                }
                TraceKind::Timer { timer } => view.p = Some(timer.clone()),
                TraceKind::Request { request } | TraceKind::RequestDropped { request } => {
                    view.p = Some(request.clone())
                }
                TraceKind::Emit { event } => view.p = Some(event.clone()),
                TraceKind::Crash => {
                    if let Some(n) = node {
                        close(&mut paused, n, index);
                        down.push(Interval {
                            node: n,
                            start: index,
                            end: None,
                        });
                    }
                }
                TraceKind::Restart { .. } => {
                    if let Some(n) = node {
                        close(&mut down, n, index);
                    }
                }
                TraceKind::Pause => {
                    if let Some(n) = node {
                        paused.push(Interval {
                            node: n,
                            start: index,
                            end: None,
                        });
                    }
                }
                TraceKind::Resume => {
                    if let Some(n) = node {
                        close(&mut paused, n, index);
                    }
                }
                TraceKind::Partition { sides } => {
                    let sides: Vec<String> = sides
                        .iter()
                        .map(|side| {
                            side.iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join(" ")
                        })
                        .collect();
                    cuts.push(Cut {
                        label: format!("partition {}", sides.join(" | ")),
                        start: index,
                        end: None,
                    });
                }
                TraceKind::CutLink { from, to } => cuts.push(Cut {
                    label: format!("link {from}→{to} cut"),
                    start: index,
                    end: None,
                }),
                TraceKind::RestoreLink { from, to } => {
                    let label = format!("link {from}→{to} cut");
                    if let Some(cut) = cuts
                        .iter_mut()
                        .rev()
                        .find(|c| c.end.is_none() && c.label == label)
                    {
                        cut.end = Some(index);
                    }
                }
                TraceKind::Heal => {
                    for cut in cuts.iter_mut().filter(|c| c.end.is_none()) {
                        cut.end = Some(index);
                    }
                }
                TraceKind::Violation { property, detail } => {
                    violation = Some(violation_of(trace, index, property, detail, nodes));
                }
                _ => {}
            }
            events.push(view);
        }
        ViewData {
            nodes,
            kinds: kinds.into_iter().collect(),
            events,
            messages,
            down,
            paused,
            cuts,
            violation,
            drawn_max: DRAWN_EVENTS_MAX,
        }
    }
}

/// How many nodes the trace shows: one more than the highest node any
/// record names.
fn nodes_of(trace: &Trace) -> usize {
    let mut highest: Option<u32> = None;
    let mut see = |n: u32| highest = Some(highest.map_or(n, |h| h.max(n)));
    for event in trace.events() {
        if let Some(n) = event.node {
            see(n.0);
        }
        match &event.kind {
            TraceKind::Send { to, .. } | TraceKind::ByzantineSend { to, .. } => see(to.0),
            TraceKind::Drop { from, to, .. }
            | TraceKind::Duplicate { from, to, .. }
            | TraceKind::CutLink { from, to }
            | TraceKind::RestoreLink { from, to } => {
                see(from.0);
                see(to.0);
            }
            TraceKind::Partition { sides } => sides.iter().flatten().for_each(|n| see(n.0)),
            _ => {}
        }
        if let Some(clock) = &event.clock
            && let Some(last) = clock.0.iter().rposition(|&c| c > 0)
        {
            see(last as u32);
        }
    }
    highest.map_or(0, |h| h as usize + 1)
}

/// The violation record at `at`: the handler input after which the
/// property failed (the input of the last node event before the record),
/// and the latest event of each node `detail` names (`n2`).
fn violation_of(
    trace: &Trace,
    at: usize,
    property: &str,
    detail: &str,
    nodes: usize,
) -> ViewViolation {
    let events = &trace.events()[..at];
    let last_node_event = events
        .iter()
        .rposition(|e| e.node.is_some() && e.clock.is_some());
    // The handler's input: walk back over its sends and emits.
    let event = last_node_event.map(|last| {
        let node = events[last].node;
        let time = events[last].time_ns;
        let mut input = last;
        while matches!(
            events[input].kind,
            TraceKind::Send { .. } | TraceKind::Emit { .. }
        ) && input > 0
        {
            match events[..input]
                .iter()
                .rposition(|e| e.node == node && e.clock.is_some())
            {
                Some(before) if events[before].time_ns == time => input = before,
                _ => break,
            }
        }
        input
    });
    let mut named: Vec<usize> = named_nodes(detail)
        .into_iter()
        .filter(|&n| (n as usize) < nodes)
        .filter_map(|n| {
            let of_node = |e: &&super::TraceEvent| e.node.map(|id| id.0) == Some(n);
            events
                .iter()
                .rposition(|e| of_node(&e) && matches!(e.kind, TraceKind::Emit { .. }))
                .or_else(|| {
                    events
                        .iter()
                        .rposition(|e| of_node(&e) && e.clock.is_some())
                })
        })
        .collect();
    named.sort_unstable();
    named.dedup();
    ViewViolation {
        at,
        property: property.to_string(),
        detail: detail.to_string(),
        event,
        named,
    }
}

/// The node ids a checker's message names, as `n0`, `n12` (whole words).
fn named_nodes(detail: &str) -> Vec<u32> {
    let bytes = detail.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if bytes[i] == b'n' && starts_word {
            let digits = bytes[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            let end = i + 1 + digits;
            let ends_word =
                end >= bytes.len() || !(bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_');
            if digits > 0
                && ends_word
                && let Ok(n) = detail[i + 1..end].parse::<u32>()
                && !found.contains(&n)
            {
                found.push(n);
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    found
}

fn violation_panel(data: &ViewData) -> String {
    let Some(v) = &data.violation else {
        return String::new();
    };
    let mut html = format!(
        "<section id=\"violation\"><h2>{} violated</h2><p>{}</p><ul>",
        escape(&v.property),
        escape(&v.detail)
    );
    if let Some(event) = v.event {
        let _ = write!(
            html,
            "<li><a href=\"#select={event}\" data-select=\"{event}\">#{event}</a> after this \
             event the property failed: {}</li>",
            escape(&data.events[event].d)
        );
    }
    for &named in &v.named {
        let _ = write!(
            html,
            "<li><a href=\"#select={named}\" data-select=\"{named}\">#{named}</a> named: {}</li>",
            escape(&data.events[named].d)
        );
    }
    html.push_str("</ul></section>\n");
    html
}

/// Counts from the trace (messages by kind, events by node) and, when
/// given, the report's properties, figures and metrics.
fn summary_panel(data: &ViewData, report: Option<&Report>) -> String {
    let mut html = String::from("<section id=\"summary\"><h2>Summary</h2>\n");
    if let Some(report) = report {
        html.push_str("<h3>Properties</h3><ul class=\"verdicts\">");
        for (name, verdict) in &report.verdicts {
            let (class, text) = match verdict {
                Verdict::Holds => ("holds", "holds".to_string()),
                Verdict::Violated(why) => ("violated", format!("VIOLATED: {why}")),
                Verdict::Skipped(why) => ("skipped", format!("skipped ({why})")),
                Verdict::Expected(why) => ("expected", format!("violated, as expected: {why}")),
            };
            let _ = write!(
                html,
                "<li class=\"{class}\"><b>{}</b> {}</li>",
                escape(name),
                escape(&text)
            );
        }
        html.push_str("</ul>");
        if !report.figures.is_empty() {
            html.push_str("<h3>Figures</h3><table class=\"figures\">");
            for (name, value) in &report.figures {
                let _ = write!(
                    html,
                    "<tr><td>{}</td><td>{}</td></tr>",
                    escape(name),
                    escape(value)
                );
            }
            html.push_str("</table>");
        }
        let _ = write!(
            html,
            "<details><summary>The report</summary><pre>{}</pre></details>",
            escape(&report.to_string())
        );
    }
    // Messages by kind and events by node, from the view's records.
    let mut by_kind: BTreeMap<&str, [u64; 4]> = BTreeMap::new();
    let mut by_node = vec![[0u64; 3]; data.nodes];
    for event in &data.events {
        let column = match event.y {
            "send" => Some(0),
            "deliver" => Some(1),
            "drop" => Some(2),
            "duplicate" => Some(3),
            _ => None,
        };
        if let Some(column) = column {
            by_kind
                .entry(event.k.as_deref().unwrap_or("?"))
                .or_default()[column] += 1;
        }
        if let (Some(node), Some(_)) = (event.n, &event.c) {
            let row = &mut by_node[node as usize];
            row[0] += 1;
            match event.y {
                "send" => row[1] += 1,
                "deliver" => row[2] += 1,
                _ => {}
            }
        }
    }
    html.push_str(
        "<h3>Messages by kind</h3><table class=\"kinds\"><tr><th>kind</th><th>sent</th>\
         <th>delivered</th><th>dropped</th><th>duplicated</th></tr>",
    );
    for (kind, [sent, delivered, dropped, duplicated]) in &by_kind {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{sent}</td><td>{delivered}</td><td>{dropped}</td><td>{duplicated}</td></tr>",
            escape(kind)
        );
    }
    html.push_str(
        "</table><h3>Events by node</h3><table class=\"nodes\"><tr><th>node</th><th>events</th>\
         <th>sent</th><th>delivered</th></tr>",
    );
    for (node, [all, sent, delivered]) in by_node.iter().enumerate() {
        let _ = write!(
            html,
            "<tr><td>n{node}</td><td>{all}</td><td>{sent}</td><td>{delivered}</td></tr>"
        );
    }
    html.push_str("</table></section>\n");
    html
}

/// `text`, safe inside HTML text and attribute values: `&`, `<`, `>`,
/// `"` and `'` escaped. (The history view in dsys-replication uses it too.)
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
