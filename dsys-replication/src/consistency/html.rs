//! A history and its verdict as a self-contained HTML page: one lane per
//! client, each operation a bar from its invocation to its completion, and
//! the checker's answer drawn on top.
//!
//! - **Holds**: each operation of the witness order gets a numbered dot,
//!   its linearization point, and a line joins the dots in order. For
//!   linearizability the dots sit inside the bars, in increasing time — the
//!   instant each operation appears to take effect. For sequential
//!   consistency real time does not matter: the dots sit in the middle of
//!   the bars and only their numbers count.
//! - **Violated**: the smallest failing set of operations is highlighted in
//!   red, the longest order the model accepted is numbered (grey dots), and
//!   a table lists the model's state after each of its steps, then what the
//!   model says to each operation left out.
//! - **Unknown**: the history alone, with the budget's verdict.
//!
//! Times are drawn by rank: only their order matters, so equal gaps
//! between consecutive events are drawn equal. An operation that never
//! returned runs to the right edge with a dashed, fading end.
//!
//! The page needs no server and no network: CSS and a small script are
//! inline. Without the script it is still complete; the script adds the
//! lines joining the dots, a panel that shows an operation in full when it
//! is clicked, and buttons to step through the order.
//!
//! Stable names for tests and styling: `#timeline`; `.lane` (with
//! `data-client`) per client; `.op` per operation (`id="op-N"`, N its
//! index in the history) with the extra classes `open`, `unknown` (returned
//! without a result), `failing` and `ordered` (in the witness or longest
//! order); `.point` per dot (`data-step`, and `prefix` when it is the
//! longest accepted order of a violation); `#verdict` (classes `holds`,
//! `violated`, `unknown`); `.part` per part's table. Once the script ran,
//! `<body data-viewer="ready">` and `svg#order-lines` holds one `polyline`
//! per ordered part.
//!
//! ```
//! use dsys_replication::consistency::history::History;
//! use dsys_replication::consistency::html::render;
//! use dsys_replication::consistency::models::{CasRegister, RegisterOp, RegisterRet};
//! use dsys_replication::consistency::report::{PartReport, Report, Step, Verdict};
//!
//! let mut history = History::new();
//! history.complete_op(0, 0, 10, RegisterOp::Write(1), RegisterRet::Written);
//! history.complete_op(1, 20, 30, RegisterOp::Read, RegisterRet::Value(Some(2)));
//! // What a checker answers: the read of 2 can follow nothing.
//! let report = Report {
//!     property: "linearizability",
//!     model: "cas-register",
//!     verdict: Verdict::Violated,
//!     parts: vec![PartReport {
//!         ops: vec![0, 1],
//!         verdict: Verdict::Violated,
//!         witness: None,
//!         longest_prefix: vec![Step { op: 0, state: Some(1) }],
//!         failing: vec![1],
//!         failing_minimal: true,
//!         steps: 2,
//!     }],
//! };
//! let page = render(&CasRegister::<i64>::new(), &history, &report);
//! assert!(page.contains(r#"class="op failing""#));
//! assert_eq!(page.matches(r#"class="lane""#).count(), 2);
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::{Debug, Write as _};

use dsys_core::trace::html::escape;

use super::history::History;
use super::model::Model;
use super::report::{Report, Verdict};

/// Labels on bars are cut to this many characters; the full text is in
/// the bar's tooltip and in the details panel.
const LABEL_CHARS_MAX: usize = 48;
/// Width of one time rank, in pixels, before fitting to the page.
const TIMELINE_WIDTH_PX: f64 = 1050.0;
const RANK_WIDTH_MIN_PX: f64 = 16.0;
const RANK_WIDTH_MAX_PX: f64 = 150.0;
/// The gap between consecutive linearization points in one crowded
/// stretch, in ranks.
const POINT_GAP_RANKS: f64 = 0.3;

/// `text` cut to `LABEL_CHARS_MAX` characters, with an ellipsis if cut.
fn shorten(text: &str) -> String {
    if text.chars().count() <= LABEL_CHARS_MAX {
        text.to_string()
    } else {
        let mut out: String = text.chars().take(LABEL_CHARS_MAX - 1).collect();
        out.push('…');
        out
    }
}

fn debug(value: &impl Debug) -> String {
    format!("{value:?}")
}

/// Maps times to ranks: the k-th smallest distinct time has rank k.
struct Ranks {
    times: Vec<u64>,
}

impl Ranks {
    fn rank(&self, time: u64) -> f64 {
        self.times.binary_search(&time).unwrap_or_else(|i| i) as f64
    }

    /// The rank where open operations end.
    fn end(&self) -> f64 {
        self.times.len() as f64
    }
}

/// Renders `history` and the checker's `report` on it as a self-contained
/// HTML page (see the [module docs](self)). `model` names the object and
/// says, after a violation, which left-out operations it would accept next.
pub fn render<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    report: &Report<M::State>,
) -> String {
    let ops = history.ops();
    let ranks = Ranks {
        times: ops
            .iter()
            .flat_map(|op| std::iter::once(op.invoke).chain(op.complete))
            .collect::<BTreeSet<u64>>()
            .into_iter()
            .collect(),
    };
    let rank_px =
        (TIMELINE_WIDTH_PX / (ranks.end() + 1.0)).clamp(RANK_WIDTH_MIN_PX, RANK_WIDTH_MAX_PX);
    let x = |rank: f64| (rank + 0.5) * rank_px;
    let span = |i: usize| {
        let op = &ops[i];
        let start = ranks.rank(op.invoke);
        let end = op.complete.map_or(ranks.end() + 0.5, |c| ranks.rank(c));
        (start, end)
    };
    let linearizable = report.property.starts_with("linear");

    // Which part each operation is in, and where it is in that part's order.
    let mut part_of: HashMap<usize, usize> = HashMap::new();
    let mut failing: BTreeSet<usize> = BTreeSet::new();
    // op → (part, step from 1, point rank, state after, prefix?)
    let mut points: BTreeMap<usize, (usize, usize, f64, String, bool)> = BTreeMap::new();
    for (p, part) in report.parts.iter().enumerate() {
        for &op in &part.ops {
            part_of.insert(op, p);
        }
        failing.extend(part.failing.iter().copied().filter(|&i| i < ops.len()));
        let (order, prefix) = match (&part.witness, part.verdict) {
            (Some(witness), _) => (witness.as_slice(), false),
            (None, Verdict::Violated) => (part.longest_prefix.as_slice(), true),
            (None, _) => (&[][..], false),
        };
        let mut previous = f64::NEG_INFINITY;
        for (k, step) in order.iter().enumerate() {
            if step.op >= ops.len() {
                continue;
            }
            let (start, end) = span(step.op);
            let at = if linearizable {
                // The earliest instant after the previous point within the
                // bar: the order respects real time, so it fits.
                let at = (previous + POINT_GAP_RANKS).max(start).min(end);
                previous = at;
                at
            } else {
                (start + end) / 2.0
            };
            points.insert(step.op, (p, k + 1, at, debug(&step.state), prefix));
        }
    }

    let mut clients: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, op) in ops.iter().enumerate() {
        clients.entry(op.client).or_default().push(i);
    }

    let mut page = String::new();
    let verdict_class = match report.verdict {
        Verdict::Holds => "holds",
        Verdict::Violated => "violated",
        Verdict::Unknown => "unknown",
    };
    let title = format!(
        "{} of a {} history: {}",
        report.property,
        model.name(),
        report.verdict
    );
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&title)
    );
    let _ = writeln!(
        page,
        "<h1 id=\"verdict\" class=\"{verdict_class}\">{}: {}</h1>",
        escape(report.property),
        escape(&report.verdict.to_string())
    );
    let steps: u64 = report.parts.iter().map(|p| p.steps).sum();
    let _ = writeln!(
        page,
        "<p class=\"summary\">model <b>{}</b> · {} operations · {} clients · {} part{} · {} search steps</p>",
        escape(model.name()),
        ops.len(),
        clients.len(),
        report.parts.len(),
        if report.parts.len() == 1 { "" } else { "s" },
        steps
    );
    let _ = writeln!(
        page,
        "{LEGEND}<span class=\"point-sample\">3</span> {} \
         <span class=\"point-sample prefix\">3</span> step 3 of the longest accepted order</p>",
        if linearizable {
            "linearization point (step 3 of the witness)"
        } else {
            "step 3 of the witness order (real time plays no part)"
        }
    );

    // The timeline.
    let width = x(ranks.end() + 1.0);
    let _ = writeln!(
        page,
        "<div id=\"scroller\"><div id=\"timeline\" style=\"width:{:.0}px\" data-rank-px=\"{rank_px:.2}\">",
        width + 8.0
    );
    // The axis: a tick per rank that has room for its label.
    let every = ((48.0 / rank_px).ceil() as usize).max(1);
    page.push_str(
        "<div class=\"axis\"><span class=\"lane-label\">time</span><div class=\"track\">",
    );
    for (r, time) in ranks.times.iter().enumerate().step_by(every) {
        let _ = write!(
            page,
            "<span class=\"tick\" style=\"left:{:.1}px\">{time}</span>",
            x(r as f64)
        );
    }
    page.push_str("</div></div>\n");
    for (client, indices) in &clients {
        let _ = write!(
            page,
            "<div class=\"lane\" id=\"lane-{client}\" data-client=\"{client}\">\
             <span class=\"lane-label\">client {client}</span><div class=\"track\">"
        );
        for &i in indices {
            let op = &ops[i];
            let (start, end) = span(i);
            let left = x(start);
            let right = if op.is_open() {
                x(end) + rank_px / 2.0
            } else {
                x(end)
            };
            let mut class = String::from("op");
            if op.is_open() {
                class.push_str(" open");
            } else if op.output.is_none() {
                class.push_str(" unknown");
            }
            if failing.contains(&i) {
                class.push_str(" failing");
            }
            if points.contains_key(&i) {
                class.push_str(" ordered");
            }
            let input = debug(&op.input);
            let output = match (&op.output, op.complete) {
                (Some(output), _) => debug(output),
                (None, Some(_)) => "? (unknown result)".to_string(),
                (None, None) => "never returned".to_string(),
            };
            let label = format!("{input} → {output}");
            let complete = op.complete.map_or("never".to_string(), |c| c.to_string());
            let part = part_of.get(&i).map_or(String::new(), |p| p.to_string());
            let (step, state) = points
                .get(&i)
                .map_or((String::new(), String::new()), |(_, k, _, s, _)| {
                    (k.to_string(), s.clone())
                });
            let _ = write!(
                page,
                "<div class=\"{class}\" id=\"op-{i}\" data-op=\"{i}\" data-client=\"{client}\" \
                 data-invoke=\"{}\" data-complete=\"{complete}\" data-part=\"{part}\" data-step=\"{step}\" \
                 data-input=\"{}\" data-output=\"{}\" data-state=\"{}\" \
                 style=\"left:{left:.1}px;width:{:.1}px\" title=\"op {i}: {}\"><span class=\"label\">{}</span></div>",
                op.invoke,
                escape(&input),
                escape(&output),
                escape(&state),
                (right - left).max(6.0),
                escape(&label),
                escape(&shorten(&label)),
            );
            if let Some((p, k, at, state, prefix)) = points.get(&i) {
                let _ = write!(
                    page,
                    "<div class=\"point{}\" data-op=\"{i}\" data-part=\"{p}\" data-step=\"{k}\" \
                     style=\"left:{:.1}px\" title=\"step {k} of part {p}: op {i}, then state {}\">{k}</div>",
                    if *prefix { " prefix" } else { "" },
                    x(*at),
                    escape(state)
                );
            }
        }
        page.push_str("</div></div>\n");
    }
    page.push_str("<svg id=\"order-lines\" aria-hidden=\"true\"></svg>\n</div></div>\n");

    page.push_str(
        "<div id=\"controls\"><button id=\"step-back\" type=\"button\">◀ step</button> \
         <button id=\"step-next\" type=\"button\">step ▶</button> <span id=\"step-state\">\
         Click an operation, or step through the order.</span></div>\n\
         <pre id=\"details\">(no operation selected)</pre>\n",
    );

    // One table per part that did not simply hold, and the holding ones
    // after them (collapsed).
    for (p, part) in report.parts.iter().enumerate() {
        // Parts that did not hold are open; holding ones too when few.
        let open = if part.verdict != Verdict::Holds || report.parts.len() <= 3 {
            " open"
        } else {
            ""
        };
        let _ = writeln!(
            page,
            "<details class=\"part\" id=\"part-{p}\"{open}><summary>part {p}: {} operations, {} ({} steps)</summary>",
            part.ops.len(),
            escape(&part.verdict.to_string()),
            part.steps
        );
        let (order, caption) = match (&part.witness, part.verdict) {
            (Some(w), _) => (w.as_slice(), "witness order, with the model's state after each step"),
            (None, Verdict::Violated) => (
                part.longest_prefix.as_slice(),
                "longest order the model accepts, with its state after each step — where the search got stuck",
            ),
            (None, _) => (&[][..], ""),
        };
        if part.verdict == Verdict::Violated {
            let list: Vec<String> = part
                .failing
                .iter()
                .filter(|&&i| i < ops.len())
                .map(|&i| {
                    format!(
                        "<a href=\"#op-{i}\" data-op=\"{i}\">op {i}</a> ({})",
                        escape(&shorten(&debug(&ops[i].input)))
                    )
                })
                .collect();
            let _ = writeln!(
                page,
                "<p class=\"failing-list\">Smallest failing set (violated on its own): {}</p>",
                if list.is_empty() {
                    "—".to_string()
                } else {
                    list.join(", ")
                }
            );
        }
        if !order.is_empty() || part.verdict == Verdict::Violated {
            let _ = writeln!(
                page,
                "<table><caption>{}</caption><tr><th>step</th><th>op</th><th>client</th><th>input</th><th>output</th><th>state after</th></tr>",
                escape(caption)
            );
            let _ = writeln!(
                page,
                "<tr class=\"initial\"><td>0</td><td colspan=\"4\">(initial state)</td><td>{}</td></tr>",
                escape(&debug(&model.init()))
            );
            for (k, step) in order.iter().enumerate() {
                let Some(op) = ops.get(step.op) else { continue };
                let output = op.output.as_ref().map_or("?".to_string(), debug);
                let _ = writeln!(
                    page,
                    "<tr class=\"step\" data-op=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    step.op,
                    k + 1,
                    step.op,
                    op.client,
                    escape(&debug(&op.input)),
                    escape(&output),
                    escape(&debug(&step.state))
                );
            }
            page.push_str("</table>\n");
        }
        if part.verdict == Verdict::Violated {
            let state = part
                .longest_prefix
                .last()
                .map_or_else(|| model.init(), |s| s.state.clone());
            let placed: BTreeSet<usize> = part.longest_prefix.iter().map(|s| s.op).collect();
            let _ = writeln!(
                page,
                "<p>After that order the model is in state <code>{}</code>. The operations left out:</p><ul class=\"left-out\">",
                escape(&debug(&state))
            );
            for &i in part.ops.iter().filter(|i| !placed.contains(i)) {
                let Some(op) = ops.get(i) else { continue };
                let says = if model.step(&state, &op.input, op.output.as_ref()).is_some() {
                    "the model would accept it here, but it cannot come next"
                } else {
                    "the model refuses it in this state"
                };
                let _ = writeln!(
                    page,
                    "<li data-op=\"{i}\"{}>op {i} (client {}): <code>{}</code> → <code>{}</code>: {says}</li>",
                    if failing.contains(&i) { " class=\"failing\"" } else { "" },
                    op.client,
                    escape(&debug(&op.input)),
                    escape(&op.output.as_ref().map_or("?".to_string(), debug)),
                );
            }
            page.push_str("</ul>\n");
        }
        page.push_str("</details>\n");
    }
    let _ = write!(page, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    page
}

const LEGEND: &str = "<p class=\"legend\">\
<span class=\"op-sample\">operation: invoke → complete</span> \
<span class=\"op-sample open\">never returned</span> \
<span class=\"op-sample unknown\">returned, result unknown</span> \
<span class=\"op-sample failing\">in the smallest failing set</span> ";

const STYLE: &str = r#"
body { font: 14px/1.4 system-ui, sans-serif; margin: 16px; color: #1b1f24; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; }
h1.holds { color: #1b7f3b; } h1.violated { color: #c62828; } h1.unknown { color: #a36100; }
.summary, .legend { margin: 4px 0; color: #444; }
#scroller { overflow-x: auto; border: 1px solid #ddd; border-radius: 4px; margin: 8px 0; }
#timeline { position: relative; padding: 4px 0 8px 96px; }
.lane, .axis { position: relative; height: 40px; border-bottom: 1px dashed #eee; }
.axis { height: 22px; border-bottom: 1px solid #ccc; }
.lane-label { position: absolute; left: -92px; width: 86px; top: 10px; font-size: 12px; color: #555; text-align: right; }
.axis .lane-label { top: 2px; }
.track { position: absolute; left: 0; right: 0; top: 0; bottom: 0; }
.tick { position: absolute; top: 3px; font-size: 11px; color: #777; transform: translateX(-50%); }
.op { position: absolute; top: 8px; height: 24px; box-sizing: border-box; padding: 2px 5px; font: 11px/18px ui-monospace, monospace;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; background: #dce9ff; border: 1px solid #4a78c2; border-radius: 4px; cursor: pointer; z-index: 1; }
.op.open { border-style: dashed; border-right: none; border-radius: 4px 0 0 4px; background: linear-gradient(to right, #e8e8e8 60%, rgba(232,232,232,0)); border-color: #888; color: #555; }
.op.unknown { background: #eef2f7; border-style: dotted; }
.op.failing { background: #ffd9d6; border: 2px solid #c62828; font-weight: bold; color: #8e0000; }
.op.selected { outline: 3px solid #f2b400; z-index: 3; }
.op:hover, .op.selected { overflow: visible; z-index: 4; }
.op .label { background: inherit; padding-right: 4px; }
.op.current { outline: 3px solid #1b7f3b; z-index: 3; }
.point { position: absolute; top: 0; width: 16px; height: 16px; margin-left: -8px; border-radius: 50%; background: #1b7f3b; color: #fff;
  font: bold 10px/16px system-ui, sans-serif; text-align: center; z-index: 2; pointer-events: none; }
.point.prefix { background: #666; }
#order-lines { position: absolute; left: 96px; top: 0; pointer-events: none; overflow: visible; z-index: 0; }
#order-lines polyline { fill: none; stroke: #1b7f3b; stroke-width: 1.5; stroke-opacity: .6; }
#order-lines polyline.prefix { stroke: #666; stroke-dasharray: 4 3; }
.op-sample { display: inline-block; padding: 0 6px; font: 12px ui-monospace, monospace; background: #dce9ff; border: 1px solid #4a78c2; border-radius: 4px; }
.op-sample.open { border-style: dashed; background: #e8e8e8; border-color: #888; }
.op-sample.unknown { background: #eef2f7; border-style: dotted; }
.op-sample.failing { background: #ffd9d6; border: 2px solid #c62828; }
.point-sample { display: inline-block; width: 16px; height: 16px; border-radius: 50%; background: #1b7f3b; color: #fff; text-align: center; font: bold 10px/16px system-ui; }
.point-sample.prefix { background: #666; }
#controls { margin: 8px 0; } #step-state { margin-left: 8px; font-family: ui-monospace, monospace; }
#details { background: #f6f8fa; border: 1px solid #ddd; padding: 8px; white-space: pre-wrap; margin: 4px 0 12px; }
details.part { margin: 8px 0; } details.part summary { cursor: pointer; font-weight: bold; }
table { border-collapse: collapse; margin: 6px 0; font-size: 13px; }
caption { text-align: left; color: #555; padding: 2px 0; }
td, th { border: 1px solid #ddd; padding: 2px 8px; font-family: ui-monospace, monospace; text-align: left; }
tr.current td { background: #e3f4e8; }
li.failing { color: #8e0000; font-weight: bold; }
"#;

const SCRIPT: &str = r##"
(function () {
  "use strict";
  var timeline = document.getElementById("timeline");
  var svg = document.getElementById("order-lines");
  var ns = "http://www.w3.org/2000/svg";
  var base = timeline.getBoundingClientRect();
  svg.setAttribute("width", timeline.scrollWidth);
  svg.setAttribute("height", timeline.scrollHeight);
  // One line per part through its points, in step order.
  var byPart = {};
  Array.prototype.forEach.call(document.querySelectorAll(".point"), function (p) {
    (byPart[p.dataset.part] = byPart[p.dataset.part] || []).push(p);
  });
  Object.keys(byPart).forEach(function (part) {
    var pts = byPart[part].sort(function (a, b) { return a.dataset.step - b.dataset.step; });
    var line = document.createElementNS(ns, "polyline");
    line.setAttribute("data-part", part);
    if (pts[0].classList.contains("prefix")) line.setAttribute("class", "prefix");
    line.setAttribute("points", pts.map(function (p) {
      var r = p.getBoundingClientRect();
      return (r.left + r.width / 2 - base.left - 96).toFixed(1) + "," + (r.top + r.height / 2 - base.top).toFixed(1);
    }).join(" "));
    svg.appendChild(line);
  });
  var details = document.getElementById("details");
  function show(op) {
    Array.prototype.forEach.call(document.querySelectorAll(".op.selected"), function (o) { o.classList.remove("selected"); });
    op.classList.add("selected");
    var d = op.dataset;
    details.textContent = "op " + d.op + " — client " + d.client + "\n" +
      "invoked at " + d.invoke + ", completed at " + d.complete + "\n" +
      "input:  " + d.input + "\noutput: " + d.output + "\n" +
      (d.part !== "" ? "part " + d.part + (d.step !== "" ? ", step " + d.step + ", state after: " + d.state : ", not in the order") : "");
  }
  Array.prototype.forEach.call(document.querySelectorAll(".op"), function (op) {
    op.addEventListener("click", function () { show(op); });
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-op]:not(.op):not(.point)"), function (el) {
    el.addEventListener("click", function (e) {
      var op = document.getElementById("op-" + el.dataset.op);
      if (op) { e.preventDefault(); show(op); op.scrollIntoView({ block: "nearest", inline: "center" }); }
    });
  });
  // Stepping through the order of the first part that failed, or else part 0.
  var stepPart = (document.querySelector(".point.prefix") || document.querySelector(".point") || { dataset: {} }).dataset.part;
  var steps = (byPart[stepPart] || []).map(function (p) { return document.getElementById("op-" + p.dataset.op); });
  var at = 0;
  var state = document.getElementById("step-state");
  function step(to) {
    if (!steps.length) { state.textContent = "No order to step through."; return; }
    at = Math.max(1, Math.min(steps.length, to));
    steps.forEach(function (op, k) { op.classList.toggle("current", k + 1 === at); });
    Array.prototype.forEach.call(document.querySelectorAll("#part-" + stepPart + " tr.step"), function (tr, k) {
      tr.classList.toggle("current", k + 1 === at);
    });
    var op = steps[at - 1];
    state.textContent = "part " + stepPart + ", step " + at + "/" + steps.length + ": op " + op.dataset.op + " " +
      op.dataset.input + " → " + op.dataset.output + "; state after: " + op.dataset.state;
  }
  document.getElementById("step-next").addEventListener("click", function () { step(at + 1); });
  document.getElementById("step-back").addEventListener("click", function () { step(at - 1); });
  document.body.setAttribute("data-viewer", "ready");
})();
"##;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consistency::models::{CasRegister, RegisterOp, RegisterRet};
    use crate::consistency::report::{PartReport, Step};

    #[test]
    fn escapes_what_html_would_read() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(shorten(&"x".repeat(100)).chars().count(), LABEL_CHARS_MAX);
    }

    #[test]
    fn a_witness_puts_points_in_order_inside_the_bars() {
        let mut history = History::new();
        history.complete_op(0, 0, 10, RegisterOp::Write(1), RegisterRet::Written);
        history.complete_op(1, 5, 30, RegisterOp::Read, RegisterRet::Value(Some(1)));
        history.open_op(2, 2, RegisterOp::Write(7));
        let report = Report {
            property: "linearizability",
            model: "cas-register",
            verdict: Verdict::Holds,
            parts: vec![PartReport {
                ops: vec![0, 1, 2],
                verdict: Verdict::Holds,
                witness: Some(vec![
                    Step {
                        op: 0,
                        state: Some(1),
                    },
                    Step {
                        op: 1,
                        state: Some(1),
                    },
                ]),
                longest_prefix: vec![],
                failing: vec![],
                failing_minimal: false,
                steps: 3,
            }],
        };
        let page = render(&CasRegister::<i64>::new(), &history, &report);
        assert_eq!(page.matches("class=\"lane\"").count(), 3);
        assert!(page.contains("class=\"op ordered\" id=\"op-0\""));
        assert!(page.contains("class=\"op open\" id=\"op-2\""));
        assert_eq!(page.matches("class=\"point\"").count(), 2);
        assert!(page.contains("id=\"verdict\" class=\"holds\""));
        assert!(
            !page.contains("src=") && !page.contains("href=\"http"),
            "no network"
        );
    }
}
