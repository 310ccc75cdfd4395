//! `dsys sim … --shrink`: a deliberately long failing run of Ricart &
//! Agrawala (30 nodes, duplicates, a crash, the `ignores-timestamps`
//! defect) shrinks to a run at most a tenth of its length, which the
//! printed command replays to the same violation.

use super::cli::{dsys, TempDir};
use dsys::core::trace::{Trace, TraceKind};

/// The number after `prefix` in `text`.
fn number_after(text: &str, prefix: &str) -> usize {
    let at = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix:?} in:\n{text}"))
        + prefix.len();
    text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

#[test]
fn a_long_failing_ricart_agrawala_run_shrinks_to_a_tenth_and_replays() {
    let dir = TempDir::new("shrink");
    let shrunk_trace = dir.file("shrunk.jsonl");
    let run = dsys([
        "sim",
        "ricart-agrawala",
        "--nodes",
        "30",
        "--seed",
        "1",
        "--defect",
        "ignores-timestamps",
        "--dup",
        "0.05",
        "--crash",
        "7@1500",
        "--until-ms",
        "5000",
        "--shrink",
        "--trace",
        shrunk_trace.to_str().unwrap(),
    ]);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    let out = &run.stdout;
    let original = number_after(out, "ME1 safety (states) broke after ");
    let shrunk = number_after(out, "ME1 safety (states) breaks after ");
    println!("{original} trace records shrunk to {shrunk}");
    assert!(original > 3000, "a long run: {original} records");
    assert!(
        shrunk * 10 <= original,
        "at most a tenth: {shrunk} of {original}\n{out}"
    );
    assert!(
        out.contains("the shrunk run:\n"),
        "the run is printed:\n{out}"
    );
    assert!(out.contains("** Entered **"), "{out}");

    // The trace written is the shrunk run's, ending in the violation.
    let trace = Trace::read_jsonl(&std::fs::read_to_string(&shrunk_trace).unwrap()).unwrap();
    assert_eq!(trace.len(), shrunk);
    assert!(matches!(
        &trace.events().last().unwrap().kind,
        TraceKind::Violation { property, .. } if property == "ME1 safety (states)"
    ));

    // The printed command replays it, to the same violation.
    let replay = out
        .lines()
        .filter_map(|l| l.strip_prefix("replay: cargo run --release -- "))
        .next_back()
        .expect("a replay line for the shrunk run");
    let again = dir.file("again.jsonl");
    let mut args: Vec<String> = replay.split_whitespace().map(String::from).collect();
    args.extend(["--trace".into(), again.to_str().unwrap().into()]);
    let rerun = dsys(&args);
    assert_eq!(rerun.code, Some(1), "{}", rerun.describe());
    assert!(rerun
        .stdout
        .contains("ME1 safety (states)  VIOLATED: ME1: n"));
    assert_eq!(
        std::fs::read_to_string(&again).unwrap(),
        std::fs::read_to_string(&shrunk_trace).unwrap(),
        "the same run, record for record"
    );
}

#[test]
fn shrink_says_so_when_nothing_failed() {
    let run = dsys(["sim", "ricart-agrawala", "--shrink"]);
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(run
        .stdout
        .contains("--shrink: nothing to shrink, no property was violated"));
}
