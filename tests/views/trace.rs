//! The trace viewer (`dsys_core::trace::html`, `dsys sim --html`, `dsys
//! view`) in headless Chromium: lanes, arrows, losses, duplicates, crashes
//! and partitions in the DOM; stepping with the keyboard; the causal past
//! and future of a selected event against the vector clocks; a violation
//! highlighted; a 5-node Raft run opened and its first drawing timed.
//!
//! Needs Debian's `chromium` package (see `tests/support/chromium.rs`).
//! `DSYS_VIEW_KEEP=DIR` keeps the pages and screenshots;
//! `DSYS_UPDATE_SCREENSHOT=1` also writes the README's screenshot
//! (`docs/viewer.png`) from the test that takes it.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::Duration;

use super::chromium::{chromium, count, dump_dom, screenshot, TempDir};
use dsys::cli::Registry;
use dsys::core::scenario::{Outcome, SimOptions};
use dsys::core::trace::html::{self, DRAWN_EVENTS_MAX};
use dsys::core::trace::{Trace, TraceKind};

/// Runs a registered algorithm with a trace (and node states).
fn run(algorithm: &str, options: SimOptions) -> Outcome {
    let registry = Registry::standard();
    let entry = registry.find(algorithm).expect("a registered algorithm");
    let options = SimOptions {
        trace: true,
        ..options
    };
    (entry.algorithm.run)(&options).expect("the run")
}

/// Writes the page for `outcome` and returns its path.
fn page(dir: &TempDir, name: &str, outcome: &Outcome) -> std::path::PathBuf {
    let trace = outcome.trace.as_ref().expect("traced");
    let path = dir.0.join(format!("{name}.html"));
    let options = &outcome.report.options;
    let title = format!(
        "{} on {} nodes, seed {}{}",
        outcome.report.algorithm,
        options.nodes,
        options.seed,
        options
            .defect
            .as_ref()
            .map_or(String::new(), |d| format!(", defect {d}"))
    );
    fs::write(&path, html::render(trace, &title, Some(&outcome.report))).expect("write page");
    path
}

/// The drawing: the DOM's `svg#diagram` element (the inline script also
/// holds the markup it writes, so counts are made in here).
fn diagram(dom: &str) -> &str {
    let start = dom.find("<svg id=\"diagram\"").expect("the diagram");
    let end = start + dom[start..].find("</svg>").expect("closed svg");
    &dom[start..end]
}

/// The class attribute of every drawn event, by trace index.
fn event_classes(dom: &str) -> BTreeMap<usize, String> {
    let mut classes = BTreeMap::new();
    let mut rest = diagram(dom);
    while let Some(at) = rest.find("class=\"ev ") {
        let tail = &rest[at + 7..];
        let end = tail.find('"').expect("closed class");
        let class = &tail[..end];
        let after = &tail[end..];
        let id_at = after.find("id=\"ev-").expect("an event mark has its id") + 7;
        let id_end = id_at + after[id_at..].find('"').expect("closed id");
        let index: usize = after[id_at..id_end].parse().expect("numeric id");
        classes.insert(index, class.to_string());
        rest = &after[id_end..];
    }
    classes
}

fn has(class: &str, name: &str) -> bool {
    class.split_whitespace().any(|c| c == name)
}

/// The body's `data-NAME` attribute.
fn body_data<'a>(dom: &'a str, name: &str) -> &'a str {
    let key = format!("data-{name}=\"");
    let body = &dom[dom.find("<body").expect("a body")..];
    let body = &body[..body.find('>').expect("closed body tag")];
    let at = body
        .find(&key)
        .unwrap_or_else(|| panic!("no {key} on <body>: {body}"))
        + key.len();
    &body[at..at + body[at..].find('"').expect("closed attribute")]
}

/// Ricart & Agrawala, seed 3, fault-free: about a thousand records.
fn ricart_agrawala() -> Outcome {
    run(
        "ricart-agrawala",
        SimOptions {
            seed: 3,
            until: Duration::from_millis(1300),
            trace_states: true,
            ..SimOptions::default()
        },
    )
}

/// Ricart & Agrawala ignoring timestamps, seed 3: ME1 broken after 35
/// records, with node states.
fn broken_ricart_agrawala() -> Outcome {
    run(
        "ricart-agrawala",
        SimOptions {
            seed: 3,
            until: Duration::from_millis(200),
            defect: Some("ignores-timestamps".into()),
            trace_states: true,
            ..SimOptions::default()
        },
    )
}

#[test]
fn a_thousand_event_run_is_drawn_in_full_with_one_arrow_per_delivery() {
    let Some(chromium) = chromium() else { return };
    let dir = TempDir::new("ra");
    let outcome = ricart_agrawala();
    let trace = outcome.trace.as_ref().unwrap();
    assert!(
        (900..=DRAWN_EVENTS_MAX).contains(&trace.len()),
        "{} records",
        trace.len()
    );
    let page = page(&dir, "ricart-agrawala", &outcome);
    let dom = dump_dom(&chromium, &dir.0, &page, "");
    assert_eq!(body_data(&dom, "viewer"), "ready", "the script ran");
    assert_eq!(
        count(diagram(&dom), "<g class=\"lane\""),
        3,
        "one lane per node"
    );
    for n in 0..3 {
        assert!(dom.contains(&format!("id=\"lane-{n}\"")));
    }
    let node_records = trace.events().iter().filter(|e| e.node.is_some()).count();
    assert_eq!(body_data(&dom, "drawn"), node_records.to_string());
    assert_eq!(event_classes(&dom).len(), node_records, "every event drawn");
    let deliveries = trace
        .events()
        .iter()
        .filter(|e| matches!(e.kind, TraceKind::Deliver { .. }))
        .count();
    assert_eq!(count(diagram(&dom), "<line class=\"arrow"), deliveries);
    assert_eq!(count(diagram(&dom), "class=\"lost"), 0, "nothing lost");
    // The summary counts what the trace holds.
    assert!(dom.contains("<li class=\"holds\"><b>ME1 safety (states)</b> holds</li>"));
}

#[test]
fn losses_duplicates_crashes_and_partitions_are_drawn() {
    let Some(chromium) = chromium() else { return };
    let dir = TempDir::new("faults");
    let outcome = run(
        "raft",
        SimOptions {
            seed: 3,
            loss: 0.15,
            duplicate: 0.15,
            partitions: vec!["0|1,2@200..300".parse().unwrap()],
            crashes: vec!["2@350".parse().unwrap()],
            restarts: vec!["2@420".parse().unwrap()],
            until: Duration::from_millis(600),
            ..SimOptions::default()
        },
    );
    let trace = outcome.trace.as_ref().unwrap();
    let of = |f: fn(&TraceKind) -> bool| trace.events().iter().filter(|e| f(&e.kind)).count();
    let deliveries = of(|k| matches!(k, TraceKind::Deliver { .. }));
    let drops = of(|k| matches!(k, TraceKind::Drop { .. }));
    let duplicates = of(|k| matches!(k, TraceKind::Duplicate { .. }));
    assert!(drops > 0 && duplicates > 0, "the run has both");
    let page = page(&dir, "raft-faults", &outcome);
    let dom = dump_dom(&chromium, &dir.0, &page, "");
    assert_eq!(body_data(&dom, "viewer"), "ready");
    assert_eq!(count(diagram(&dom), "<line class=\"arrow"), deliveries);
    assert_eq!(
        count(diagram(&dom), "<line class=\"lost"),
        drops,
        "a line per loss"
    );
    assert_eq!(
        count(diagram(&dom), "<path class=\"cross"),
        drops,
        "ending in a cross"
    );
    // A duplicated message delivered twice has its second arrow dashed.
    let mut copies: BTreeMap<u64, usize> = BTreeMap::new();
    for e in trace.events() {
        if let TraceKind::Deliver { msg_id, .. } = e.kind {
            *copies.entry(msg_id).or_default() += 1;
        }
    }
    let extra: usize = copies.values().map(|c| c - 1).sum();
    assert!(extra > 0, "a duplicate was delivered");
    assert_eq!(count(diagram(&dom), "<line class=\"arrow dup"), extra);
    assert_eq!(
        count(diagram(&dom), "<rect class=\"down\""),
        1,
        "n2 down 350..420 ms"
    );
    assert_eq!(count(diagram(&dom), "<rect class=\"partition\""), 1);
    assert!(
        dom.contains("partition n0 | n1 n2"),
        "the band names the sides"
    );
    assert!(dom.contains("id=\"ev-") && dom.contains("ev-crash"));
}

#[test]
fn stepping_with_the_keyboard_highlights_the_current_event() {
    let Some(chromium) = chromium() else { return };
    let dir = TempDir::new("step");
    let outcome = ricart_agrawala();
    let page = page(&dir, "step", &outcome);
    let dom = dump_dom(
        &chromium,
        &dir.0,
        &page,
        "keys=Home,ArrowRight,ArrowRight,ArrowRight,ArrowRight,ArrowLeft",
    );
    assert_eq!(body_data(&dom, "step"), "3", "three events have happened");
    assert_eq!(body_data(&dom, "selected"), "2", "the third is selected");
    let classes = event_classes(&dom);
    let current: Vec<usize> = classes
        .iter()
        .filter(|(_, c)| has(c, "current"))
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(current, vec![2]);
    for (&i, class) in &classes {
        assert_eq!(has(class, "later"), i >= 3, "event {i}: {class}");
    }
    assert!(dom.contains("<h2>Event #2: "), "the details show it");
    assert!(dom.contains("step 3 of "));
}

#[test]
fn filters_hide_nodes_and_message_kinds() {
    let Some(chromium) = chromium() else { return };
    let dir = TempDir::new("filters");
    let outcome = ricart_agrawala();
    let trace = outcome.trace.as_ref().unwrap();
    let page = page(&dir, "filters", &outcome);
    let dom = dump_dom(&chromium, &dir.0, &page, "hide=n1,Reply");
    let svg = diagram(&dom);
    assert_eq!(count(svg, "<g class=\"lane\""), 2);
    assert!(!svg.contains("id=\"lane-1\""));
    let classes = event_classes(&dom);
    let expected: Vec<usize> = trace
        .events()
        .iter()
        .filter(|e| e.node.is_some_and(|n| n.0 != 1))
        .filter(|e| match &e.kind {
            TraceKind::Send { kind, .. } | TraceKind::Deliver { kind, .. } => kind != "Reply",
            _ => true,
        })
        .map(|e| e.index)
        .collect();
    assert_eq!(classes.keys().copied().collect::<Vec<_>>(), expected);
    // Requests between n0 and n2 only.
    let arrows = trace
        .events()
        .iter()
        .filter(|e| {
            matches!(&e.kind, TraceKind::Deliver { from, kind, .. }
                if kind == "Request" && from.0 != 1 && e.node.is_some_and(|n| n.0 != 1))
        })
        .count();
    assert_eq!(count(svg, "<line class=\"arrow"), arrows);
}

#[test]
fn a_selected_event_shows_its_causal_past_and_future_from_the_vector_clocks() {
    let Some(chromium) = chromium() else { return };
    let dir = TempDir::new("causal");
    let outcome = ricart_agrawala();
    let trace: &Trace = outcome.trace.as_ref().unwrap();
    // A delivery in the middle of the run.
    let chosen = trace
        .events()
        .iter()
        .position(|e| e.index > trace.len() / 3 && matches!(e.kind, TraceKind::Deliver { .. }))
        .unwrap();
    let page = page(&dir, "causal", &outcome);
    let dom = dump_dom(&chromium, &dir.0, &page, &format!("select={chosen}"));
    assert_eq!(body_data(&dom, "selected"), chosen.to_string());
    let classes = event_classes(&dom);
    let (mut past, mut future, mut concurrent) = (0, 0, 0);
    for (&i, class) in &classes {
        if trace.events()[i].clock.is_none() || i == chosen {
            for relation in ["past", "future", "concurrent"] {
                assert!(!has(class, relation), "event {i}: {class}");
            }
            continue;
        }
        assert_eq!(has(class, "past"), trace.happens_before(i, chosen), "{i}");
        assert_eq!(has(class, "future"), trace.happens_before(chosen, i), "{i}");
        assert_eq!(has(class, "concurrent"), trace.concurrent(i, chosen), "{i}");
        past += usize::from(has(class, "past"));
        future += usize::from(has(class, "future"));
        concurrent += usize::from(has(class, "concurrent"));
    }
    assert!(past > 0 && future > 0 && concurrent > 0, "all three occur");
    assert!(has(&classes[&chosen], "selected"));
    assert!(dom.contains(&format!(
        "{past} events happened before it, {future} after it, {concurrent} are concurrent with it"
    )));
    // The details name the payload and the state the run recorded.
    assert!(dom.contains("<dt>payload</dt>") && dom.contains("<dt>state after</dt>"));
    let png = dir.0.join("causal.png");
    screenshot(
        &chromium,
        &dir.0,
        &page,
        &format!("select={chosen}"),
        &png,
        (1400, 800),
    );
}

#[test]
fn a_violation_is_listed_and_its_events_highlighted() {
    let Some(chromium) = chromium() else { return };
    let dir = TempDir::new("violation");
    let outcome = broken_ricart_agrawala();
    assert!(!outcome.report.passed());
    let trace = outcome.trace.as_ref().unwrap();
    let last = trace.events().last().unwrap();
    let TraceKind::Violation { property, .. } = &last.kind else {
        panic!("the trace ends with the violation: {last:?}")
    };
    let page = page(&dir, "violation", &outcome);
    let dom = dump_dom(&chromium, &dir.0, &page, "");
    assert!(dom.contains(&format!(
        "<section id=\"violation\"><h2>{property} violated</h2>"
    )));
    let classes = event_classes(&dom);
    let violating: Vec<usize> = classes
        .iter()
        .filter(|(_, c)| has(c, "violating"))
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(violating.len(), 1, "{violating:?}");
    // The handler that broke ME1: a delivery whose handler emitted Entered.
    let event = &trace.events()[violating[0]];
    assert!(matches!(event.kind, TraceKind::Deliver { .. }), "{event:?}");
    let named: Vec<usize> = classes
        .iter()
        .filter(|(_, c)| has(c, "named"))
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(named.len(), 2, "both nodes in the section");
    for i in named {
        assert!(
            matches!(&trace.events()[i].kind, TraceKind::Emit { event } if event.contains("Entered")),
            "{:?}",
            trace.events()[i]
        );
    }
    assert_eq!(count(diagram(&dom), "class=\"violation-line\""), 1);
}

#[test]
fn a_five_node_raft_run_with_loss_opens_quickly_and_draws_only_what_is_in_range() {
    let Some(chromium) = chromium() else { return };
    let dir = TempDir::new("raft5");
    let outcome = run(
        "raft",
        SimOptions {
            nodes: 5,
            seed: 1,
            loss: 0.1,
            until: Duration::from_secs(10),
            ..SimOptions::default()
        },
    );
    let trace = outcome.trace.as_ref().unwrap();
    assert!(trace.len() > 10_000, "{} records", trace.len());
    let page = page(&dir, "raft5", &outcome);
    let dom = dump_dom(&chromium, &dir.0, &page, "");
    assert_eq!(body_data(&dom, "viewer"), "ready");
    assert_eq!(count(diagram(&dom), "<g class=\"lane\""), 5);
    let drawn: usize = body_data(&dom, "drawn").parse().unwrap();
    assert!(
        drawn > 0 && drawn <= DRAWN_EVENTS_MAX,
        "{drawn} events drawn"
    );
    assert!(dom.contains("zoom out or pan to see the rest"));
    // Time from navigation to the first drawing, as Chromium measured it
    // (printed, not asserted: tests do not depend on wall-clock time).
    let first: f64 = body_data(&dom, "first-render-ms").parse().unwrap();
    println!(
        "5-node Raft, 10 s with 10% loss: {} records, {} bytes of page, first drawing {first} ms \
         after navigation (bound: 2000 ms), {drawn} events drawn",
        trace.len(),
        fs::metadata(&page).unwrap().len()
    );
    // The whole run, zoomed out, is drawn as counts per stretch of time.
    let dom = dump_dom(&chromium, &dir.0, &page, "range=all");
    assert_eq!(body_data(&dom, "drawn"), "0");
    assert!(
        count(diagram(&dom), "<rect class=\"bin\"") >= 5,
        "counts on every lane"
    );
    assert!(dom.contains("each lane shows how many fall in each stretch"));
}

#[test]
fn the_readme_screenshot_comes_from_this_test() {
    let Some(chromium) = chromium() else { return };
    let dir = TempDir::new("readme");
    let outcome = broken_ricart_agrawala();
    let trace = outcome.trace.as_ref().unwrap();
    let chosen = trace
        .events()
        .iter()
        .rposition(|e| matches!(e.kind, TraceKind::Deliver { .. }))
        .unwrap();
    let page = page(&dir, "readme", &outcome);
    let png = dir.0.join("viewer.png");
    screenshot(
        &chromium,
        &dir.0,
        &page,
        &format!("select={chosen}&labels=lamport"),
        &png,
        (1400, 760),
    );
    if std::env::var_os("DSYS_UPDATE_SCREENSHOT").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
        fs::create_dir_all(&docs).unwrap();
        fs::copy(&png, docs.join("viewer.png")).unwrap();
        println!("wrote {}", docs.join("viewer.png").display());
    }
}
