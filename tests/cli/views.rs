//! `dsys view`, `dsys sim --html --trace-states` and `dsys check --html`
//! from the command line: the files they write and the errors they give.
//! (The pages themselves are tested in Chromium by `tests/views/trace.rs`.)

use std::fs;

use dsys::core::trace::{Trace, TraceKind};

use super::cli::{dsys, TempDir};

#[test]
fn sim_html_writes_the_page_with_the_report() {
    let dir = TempDir::new("view-sim-html");
    let page = dir.file("ra.html");
    let run = dsys([
        "sim",
        "ricart-agrawala",
        "--seed",
        "3",
        "--html",
        page.to_str().unwrap(),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(
        run.stdout
            .contains(&format!("view: {} written", page.display())),
        "{}",
        run.describe()
    );
    let html = fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<title>ricart-agrawala on 3 nodes, seed 3 · dsys</title>"));
    assert!(html.contains("<li class=\"holds\"><b>ME1 safety (states)</b> holds</li>"));
}

#[test]
fn trace_states_records_the_state_after_each_handler_and_view_shows_it() {
    let dir = TempDir::new("view-states");
    let jsonl = dir.file("run.jsonl");
    let run = dsys([
        "sim",
        "ping-pong",
        "--trace-states",
        "--trace",
        jsonl.to_str().unwrap(),
    ]);
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let trace = Trace::read_jsonl(&fs::read_to_string(&jsonl).unwrap()).unwrap();
    let mut inputs = 0;
    for event in trace.events() {
        let input = matches!(
            event.kind,
            TraceKind::Start { .. }
                | TraceKind::Deliver { .. }
                | TraceKind::Timer { .. }
                | TraceKind::Request { .. }
        );
        assert_eq!(event.state.is_some(), input, "{event:?}");
        inputs += usize::from(input);
    }
    assert!(inputs > 3);
    let state = trace.events()[0].state.clone().unwrap();
    assert!(state.starts_with("PingPong {"), "{state}");

    // `dsys view` names the page after the trace by default.
    let run = dsys(["view", jsonl.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{}", run.describe());
    let page = dir.file("run.html");
    assert!(run
        .stdout
        .contains(&format!("view: {} written", page.display())));
    let html = fs::read_to_string(&page).unwrap();
    assert!(html.contains("<title>run.jsonl · dsys</title>"));
    let first_line = state.lines().next().unwrap();
    assert!(html.contains(first_line), "the state is in the page's data");
    // No report, but the counts from the trace.
    assert!(!html.contains("<h3>Properties</h3>"));
    assert!(html.contains("<h3>Messages by kind</h3>"));
}

#[test]
fn view_says_what_is_wrong_with_its_input() {
    let dir = TempDir::new("view-errors");
    let missing = dir.file("missing.jsonl");
    let run = dsys(["view", missing.to_str().unwrap()]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("cannot read the trace"),
        "{}",
        run.describe()
    );

    let bad = dir.write(
        "bad.jsonl",
        "{\"index\":0,\"time_ns\":0,\"node\":0,\"clock\":{\"n0\":1},\"type\":\"start\",\"incarnation\":0}\n\
         {\"type\":\"nonsense\"}\n",
    );
    let run = dsys(["view", &bad]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("is not a dsys trace"),
        "{}",
        run.describe()
    );
    assert!(
        run.stderr.contains("line 2: not a trace record"),
        "{}",
        run.describe()
    );

    let good = dir.write(
        "good.jsonl",
        "{\"index\":0,\"time_ns\":0,\"node\":0,\"clock\":{\"n0\":1},\"type\":\"start\",\"incarnation\":0}\n",
    );
    let run = dsys(["view", &good, "-o", &good]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("would overwrite the trace"),
        "{}",
        run.describe()
    );
    assert!(fs::read_to_string(&good).unwrap().starts_with("{\"index\""));

    let run = dsys(["sim", "ping-pong", "--trace-states"]);
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr
            .contains("add --trace FILE.jsonl or --html FILE.html"),
        "{}",
        run.describe()
    );
}

#[test]
fn a_counterexample_becomes_a_page_that_ends_in_its_violation() {
    let dir = TempDir::new("view-check");
    let page = dir.file("cx.html");
    let jsonl = dir.file("cx.jsonl");
    let run = dsys([
        "check",
        "ricart-agrawala",
        "--nodes",
        "2",
        "--defect",
        "ignores-timestamps",
        "--html",
        page.to_str().unwrap(),
        "--trace",
        jsonl.to_str().unwrap(),
    ]);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    let trace = Trace::read_jsonl(&fs::read_to_string(&jsonl).unwrap()).unwrap();
    let TraceKind::Violation { property, .. } = &trace.events().last().unwrap().kind else {
        panic!("the counterexample's trace ends with its violation")
    };
    let html = fs::read_to_string(&page).unwrap();
    assert!(html.contains(&format!(
        "<section id=\"violation\"><h2>{property} violated</h2>"
    )));
    assert!(html.contains("ricart-agrawala (ignores-timestamps) on 2 nodes: counterexample"));
}
