//! End-to-end tests of the `dsys` binary: it is run as a child process, its
//! exit code, stdout and stderr are checked, and the trace files it writes
//! are checked against the formats documented in `dsys_core::trace`.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use dsys::core::trace::{Trace, SHIVIZ_REGEX};
use regex::RegexBuilder;
use serde_json::Value;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

use crate::support_cli as cli;

use cli::{dsys, Run, TempDir};

// `dsys view`, `--html`, `--trace-states` and `--shrink`: modules of this
// binary, so that a fresh clone links one binary, not three.
#[path = "cli/shrink.rs"]
mod shrink;
#[path = "cli/views.rs"]
mod views;

fn path_arg(path: &Path) -> String {
    path.to_str().expect("temp path is UTF-8").to_string()
}

/// Runs `dsys sim ping-pong <extra> --trace … --shiviz …` in `dir`, expects
/// exit code 0, and returns the run with the two files' contents.
fn sim_with_traces(dir: &TempDir, extra: &[&str]) -> (Run, String, String) {
    let jsonl = dir.file("out.jsonl");
    let shiviz = dir.file("out.log");
    let mut args: Vec<String> = vec!["sim".into(), "ping-pong".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend([
        "--shiviz".into(),
        path_arg(&shiviz),
        "--trace".into(),
        path_arg(&jsonl),
    ]);
    let run = dsys(&args);
    assert_eq!(run.code, Some(0), "dsys {args:?}\n{}", run.describe());
    let jsonl = fs::read_to_string(&jsonl).expect("the JSONL trace was written");
    let shiviz = fs::read_to_string(&shiviz).expect("the ShiViz log was written");
    (run, jsonl, shiviz)
}

// ---------------------------------------------------------------------------
// The ShiViz checker
// ---------------------------------------------------------------------------

/// What [`check_shiviz`] found in a log that passed.
#[derive(Debug, Default)]
struct ShivizSummary {
    /// Events per host.
    events: BTreeMap<String, u64>,
    /// Every (host, clock) in file order.
    clocks: Vec<(String, BTreeMap<String, u64>)>,
    /// Every event description in file order.
    descriptions: Vec<String>,
}

/// Checks a ShiViz log against ShiViz's rules, parsing it the way ShiViz
/// does: the documented regular expression, applied repeatedly to the whole
/// text, must consume every line pair with nothing left over (only the line
/// break between one match and the next); every clock is a JSON object of
/// positive integers that contains its host's own entry; a host's own entry
/// is 1 at its first event and rises by exactly 1 per event; no clock names
/// an event of another host that has not been logged yet; and no entry
/// decreases within one host's sequence of clocks.
fn check_shiviz(log: &str) -> Result<ShivizSummary, String> {
    // ShiViz compiles the expression with JavaScript's `m` flag; `.` must
    // not cross lines (the Rust default), so one match is one line pair.
    let re = RegexBuilder::new(SHIVIZ_REGEX)
        .multi_line(true)
        .dot_matches_new_line(false)
        .build()
        .map_err(|e| format!("SHIVIZ_REGEX does not compile: {e}"))?;
    let line_of = |offset: usize| log[..offset].matches('\n').count() + 1;

    let mut summary = ShivizSummary::default();
    let mut last: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut consumed = 0;
    for caps in re.captures_iter(log) {
        let whole = caps.get(0).expect("group 0");
        let gap = &log[consumed..whole.start()];
        let allowed_gap = if consumed == 0 { "" } else { "\n" };
        if gap != allowed_gap {
            return Err(format!(
                "line {}: text the regular expression does not consume: {gap:?}",
                line_of(consumed)
            ));
        }
        consumed = whole.end();
        let line = line_of(whole.start());
        let event = &caps["event"];
        let host = &caps["host"];
        let clock_text = &caps["clock"];
        if host.is_empty() {
            return Err(format!("line {}: empty host name", line + 1));
        }
        let clock: Value = serde_json::from_str(clock_text)
            .map_err(|e| format!("line {}: clock {clock_text:?} is not JSON: {e}", line + 1))?;
        let Value::Object(entries) = clock else {
            return Err(format!(
                "line {}: clock {clock_text:?} is not a JSON object",
                line + 1
            ));
        };
        let mut clock = BTreeMap::new();
        for (h, v) in entries {
            match v.as_u64() {
                Some(n) if n >= 1 => {
                    clock.insert(h, n);
                }
                _ => {
                    return Err(format!(
                        "line {}: clock entry {h:?} = {v} is not a positive integer",
                        line + 1
                    ))
                }
            }
        }

        // Own entry: 1 at the first event, then +1 per event.
        let count = summary.events.entry(host.to_string()).or_insert(0);
        *count += 1;
        let count = *count;
        match clock.get(host) {
            None => {
                return Err(format!(
                    "line {}: the clock of {host} has no entry for {host}",
                    line + 1
                ))
            }
            Some(&own) if own != count => {
                return Err(format!(
                    "line {}: event {count} of {host} has own clock entry {own} (expected {count})",
                    line + 1
                ))
            }
            Some(_) => {}
        }
        // Causality: no clock names an event another host has not logged yet.
        for (other, &value) in &clock {
            if other == host {
                continue;
            }
            let logged = summary.events.get(other).copied().unwrap_or(0);
            if value > logged {
                return Err(format!(
                    "line {}: the clock of {host} says {other}:{value}, but {other} has logged only {logged} events so far",
                    line + 1
                ));
            }
        }
        // Monotonicity within one host's sequence.
        if let Some(previous) = last.get(host) {
            for (other, &before) in previous {
                let now = clock.get(other).copied().unwrap_or(0);
                if now < before {
                    return Err(format!(
                        "line {}: the clock of {host} went back for {other}: {before} then {now}",
                        line + 1
                    ));
                }
            }
        }
        last.insert(host.to_string(), clock.clone());
        summary.clocks.push((host.to_string(), clock));
        summary.descriptions.push(event.to_string());
    }
    let rest = &log[consumed..];
    let allowed_rest = if consumed == 0 { "" } else { "\n" };
    if rest != allowed_rest {
        return Err(format!(
            "line {}: text the regular expression does not consume: {rest:?}",
            line_of(consumed)
        ));
    }
    Ok(summary)
}

#[test]
fn the_shiviz_checker_accepts_a_good_log() {
    let log = "start\nn0 {\"n0\":1}\n\
               send Ping { round: 0 } to n1\nn0 {\"n0\":2}\n\
               start\nn1 {\"n1\":1}\n\
               deliver Ping { round: 0 } from n0\nn1 {\"n0\":2,\"n1\":2}\n";
    let summary = check_shiviz(log).unwrap();
    assert_eq!(summary.events["n0"], 2);
    assert_eq!(summary.events["n1"], 2);
    assert_eq!(summary.descriptions[1], "send Ping { round: 0 } to n1");
    // The empty log is a (vacuous) good log.
    assert!(check_shiviz("").is_ok());
}

#[test]
fn the_shiviz_checker_rejects_bad_logs() {
    let bad = [
        (
            "own entry skips from 1 to 3",
            "start\nn0 {\"n0\":1}\nsend\nn0 {\"n0\":3}\n",
            "own clock entry 3",
        ),
        (
            "own entry does not start at 1",
            "start\nn0 {\"n0\":2}\n",
            "own clock entry 2",
        ),
        (
            "a clock references a future event of another host",
            "start\nn0 {\"n0\":1}\nstart\nn1 {\"n1\":1}\ndeliver\nn1 {\"n0\":2,\"n1\":2}\n",
            "has logged only 1",
        ),
        (
            "a clock references a host that never logged",
            "start\nn0 {\"n0\":1,\"n7\":1}\n",
            "has logged only 0",
        ),
        (
            "a malformed line (no space between host and clock)",
            "start\nn0 {\"n0\":1}\nsend\nn0{\"n0\":2}\n",
            "does not consume",
        ),
        (
            "a stray line between pairs",
            "start\nn0 {\"n0\":1}\nstray\nsend\nn0 {\"n0\":2}\n",
            "does not consume",
        ),
        (
            "trailing text after the clock",
            "start\nn0 {\"n0\":1} trailing\n",
            "does not consume",
        ),
        (
            "a clock that is not JSON",
            "start\nn0 {n0: 1}\n",
            "not JSON",
        ),
        (
            "a clock that is not an object of positive integers",
            "start\nn0 {\"n0\":\"one\"}\n",
            "not a positive integer",
        ),
        (
            "a clock without its host's own entry",
            "start\nn0 {\"n0\":1}\nstart\nn1 {\"n0\":1}\n",
            "no entry for n1",
        ),
        (
            "an entry decreases within one host",
            "start\nn0 {\"n0\":1}\nsend\nn0 {\"n0\":2}\nstart\nn1 {\"n1\":1}\n\
             deliver\nn1 {\"n0\":2,\"n1\":2}\nlocal\nn1 {\"n0\":1,\"n1\":3}\n",
            "went back for n0",
        ),
    ];
    for (what, log, expected) in bad {
        match check_shiviz(log) {
            Ok(_) => panic!("the checker accepted a log with {what}:\n{log}"),
            Err(why) => assert!(
                why.contains(expected),
                "{what}: expected an error containing {expected:?}, got {why:?}"
            ),
        }
    }
}

// ---------------------------------------------------------------------------
// The JSONL checker
// ---------------------------------------------------------------------------

const TYPES: &[&str] = &[
    "start",
    "send",
    "deliver",
    "drop",
    "duplicate",
    "timer",
    "request",
    "request_dropped",
    "emit",
    "crash",
    "restart",
    "pause",
    "resume",
    "partition",
    "heal",
    "cut_link",
    "restore_link",
    "violation",
];

/// Checks the JSON Lines schema: one object per line with `index`,
/// `time_ns`, `node`, `clock` and `type`; indices 0, 1, 2, …; `time_ns` never
/// decreasing; `node` and `clock` both null (network events) or both set.
/// Returns the parsed objects.
fn check_jsonl(text: &str) -> Result<Vec<serde_json::Map<String, Value>>, String> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("the last line has no line break".to_string());
    }
    let mut events = Vec::new();
    let mut last_time = 0;
    for (i, line) in text.lines().enumerate() {
        let at = format!("line {}", i + 1);
        let value: Value =
            serde_json::from_str(line).map_err(|e| format!("{at}: not JSON: {e}: {line}"))?;
        let Value::Object(event) = value else {
            return Err(format!("{at}: not a JSON object: {line}"));
        };
        for field in ["index", "time_ns", "node", "clock", "type"] {
            if !event.contains_key(field) {
                return Err(format!("{at}: no field {field:?}: {line}"));
            }
        }
        if event["index"].as_u64() != Some(i as u64) {
            return Err(format!("{at}: index {} (expected {i})", event["index"]));
        }
        let time = event["time_ns"]
            .as_u64()
            .ok_or_else(|| format!("{at}: time_ns is not an integer"))?;
        if time < last_time {
            return Err(format!("{at}: time_ns went back: {last_time} then {time}"));
        }
        last_time = time;
        let kind = event["type"]
            .as_str()
            .ok_or_else(|| format!("{at}: type is not a string"))?;
        if !TYPES.contains(&kind) {
            return Err(format!("{at}: unknown type {kind:?}"));
        }
        match (&event["node"], &event["clock"]) {
            (Value::Null, Value::Null) => {}
            (Value::Number(n), Value::Object(_)) if n.is_u64() => {}
            (node, clock) => {
                let why = "must be both null, or an integer and an object";
                return Err(format!("{at}: node {node} and clock {clock} {why}"));
            }
        }
        events.push(event);
    }
    Ok(events)
}

#[test]
fn the_jsonl_checker_rejects_bad_traces() {
    let good = "{\"index\":0,\"time_ns\":5,\"node\":0,\"clock\":{\"n0\":1},\"type\":\"start\",\"incarnation\":0}\n\
                {\"index\":1,\"time_ns\":5,\"node\":null,\"clock\":null,\"type\":\"heal\"}\n";
    assert_eq!(check_jsonl(good).unwrap().len(), 2);
    let bad = [
        good.replace("\"index\":1", "\"index\":2"),
        good.replace("\"time_ns\":5,\"node\":null", "\"time_ns\":4,\"node\":null"),
        good.replace("\"type\":\"heal\"", "\"kind\":\"heal\""),
        good.replace("\"heal\"", "\"explode\""),
        good.replace("\"node\":null", "\"node\":1"),
        good.replacen('{', "[", 1),
        good.trim_end().to_string(),
    ];
    for text in bad {
        assert!(check_jsonl(&text).is_err(), "accepted:\n{text}");
    }
}

/// The two exports of one run describe the same node events: the ShiViz log
/// holds exactly the JSONL events that have a node, in order, with the same
/// host and clock; and both files are what `Trace` itself writes.
fn check_exports_agree(jsonl: &str, shiviz: &str) {
    let events = check_jsonl(jsonl).unwrap_or_else(|e| panic!("bad JSONL trace: {e}"));
    let summary = check_shiviz(shiviz).unwrap_or_else(|e| panic!("bad ShiViz log: {e}"));
    let node_events: Vec<(String, BTreeMap<String, u64>)> = events
        .iter()
        .filter(|e| !e["node"].is_null())
        .map(|e| {
            let host = format!("n{}", e["node"]);
            let clock = serde_json::from_value(e["clock"].clone()).expect("clock object");
            (host, clock)
        })
        .collect();
    assert_eq!(
        node_events.len(),
        summary.clocks.len(),
        "the ShiViz log and the JSONL trace hold different numbers of node events"
    );
    for (i, (a, b)) in node_events.iter().zip(&summary.clocks).enumerate() {
        assert_eq!(a, b, "node event {i}: JSONL and ShiViz disagree");
    }
    let trace = Trace::read_jsonl(jsonl).expect("Trace reads its own JSONL back");
    assert_eq!(trace.to_jsonl(), jsonl, "JSONL does not round-trip");
    assert_eq!(trace.to_shiviz(), shiviz, "ShiViz log differs from Trace's");
}

// ---------------------------------------------------------------------------
// The CLI
// ---------------------------------------------------------------------------

#[test]
fn list_shows_ping_pong() {
    let run = dsys(["list"]);
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(
        run.stdout.lines().any(|l| l.starts_with("ping-pong ")),
        "{}",
        run.describe()
    );
}

#[test]
fn sim_writes_valid_shiviz_and_jsonl() {
    let dir = TempDir::new("sim_writes_valid_shiviz_and_jsonl");
    let (run, jsonl, shiviz) = sim_with_traces(&dir, &["--nodes", "4", "--seed", "5"]);
    // Property verdicts.
    assert!(run.stdout.contains("properties:"), "{}", run.describe());
    assert!(
        run.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("validity") && l.trim_end().ends_with("holds")),
        "{}",
        run.describe()
    );
    assert!(
        run.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("completeness") && l.trim_end().ends_with("holds")),
        "{}",
        run.describe()
    );
    assert!(!run.stdout.contains("VIOLATED"), "{}", run.describe());
    assert!(!run.stdout.contains("replay:"), "{}", run.describe());
    assert!(run.stdout.contains(SHIVIZ_REGEX), "{}", run.describe());

    let summary = check_shiviz(&shiviz).unwrap_or_else(|e| panic!("bad ShiViz log: {e}"));
    let hosts: Vec<&str> = summary.events.keys().map(String::as_str).collect();
    assert_eq!(hosts, ["n0", "n1", "n2", "n3"]);
    let events = check_jsonl(&jsonl).unwrap_or_else(|e| panic!("bad JSONL trace: {e}"));
    assert!(!events.is_empty());
    // stdout reports the number of events written.
    let written = format!("trace: {} records written", events.len());
    assert!(
        run.stdout.contains(&written),
        "{written:?} in\n{}",
        run.describe()
    );
    // No faults: every send is delivered, and every node event is in the log.
    let count = |t: &str| events.iter().filter(|e| e["type"] == t).count();
    assert_eq!(count("start"), 4);
    assert_eq!(count("send"), count("deliver"));
    assert_eq!(count("drop") + count("duplicate"), 0);
    check_exports_agree(&jsonl, &shiviz);
}

#[test]
fn sim_with_faults_still_writes_a_valid_shiviz_log() {
    let dir = TempDir::new("sim_with_faults_still_writes_a_valid_shiviz_log");
    let (run, jsonl, shiviz) = sim_with_traces(
        &dir,
        &[
            "--nodes",
            "4",
            "--seed",
            "5",
            "--loss",
            "0.2",
            "--dup",
            "0.1",
            "--reorder",
            "--partition",
            "0,1|2,3@100..400",
            "--crash",
            "2@500",
            "--restart",
            "2@900",
        ],
    );
    assert!(run.stdout.contains("properties:"), "{}", run.describe());
    assert!(
        run.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("completeness") && l.contains("skipped")),
        "completeness is skipped on a faulty network\n{}",
        run.describe()
    );
    let summary = check_shiviz(&shiviz).unwrap_or_else(|e| panic!("bad ShiViz log: {e}"));
    for needed in ["crash", "restart (incarnation 1)", "start (incarnation 1)"] {
        assert!(
            summary.descriptions.iter().any(|d| d == needed),
            "no {needed:?} event in the ShiViz log"
        );
    }
    let events = check_jsonl(&jsonl).unwrap_or_else(|e| panic!("bad JSONL trace: {e}"));
    let has = |t: &str| events.iter().any(|e| e["type"] == t);
    for t in ["drop", "duplicate", "partition", "heal", "crash", "restart"] {
        assert!(has(t), "no {t:?} event in the JSONL trace");
    }
    // The crash and restart happen at the requested times, on node 2.
    let at = |t: &str| {
        events
            .iter()
            .find(|e| e["type"] == t)
            .map(|e| (e["node"].clone(), e["time_ns"].as_u64().unwrap()))
            .unwrap()
    };
    assert_eq!(at("crash"), (Value::from(2), 500_000_000));
    assert_eq!(at("restart"), (Value::from(2), 900_000_000));
    assert_eq!(at("partition").1, 100_000_000);
    assert_eq!(at("heal").1, 400_000_000);
    check_exports_agree(&jsonl, &shiviz);
}

#[test]
fn same_seed_same_trace_different_seed_different_trace() {
    let dir = TempDir::new("same_seed_same_trace_different_seed_different_trace");
    let run = |seed: &str, name: &str| {
        let path = dir.file(name);
        let r = dsys([
            "sim",
            "ping-pong",
            "--nodes",
            "4",
            "--seed",
            seed,
            "--loss",
            "0.1",
            "--dup",
            "0.05",
            "--reorder",
            "--trace",
            &path_arg(&path),
        ]);
        assert_eq!(r.code, Some(0), "{}", r.describe());
        (r.stdout, fs::read(&path).expect("trace written"))
    };
    let (out_a, a) = run("5", "a.jsonl");
    let (out_b, b) = run("5", "b.jsonl");
    let (_, c) = run("6", "c.jsonl");
    assert!(!a.is_empty());
    assert!(a == b, "the same seed gave different JSONL traces");
    // The reports match too, except for the file name they mention.
    assert_eq!(
        out_a.replace("a.jsonl", "X"),
        out_b.replace("b.jsonl", "X"),
        "the same seed gave different reports"
    );
    assert!(a != c, "seeds 5 and 6 gave the same JSONL trace");
}

/// Runs the CLI with bad arguments: a non-zero exit code, no panic, and an
/// error message on stderr that contains every one of `needles`.
fn assert_clean_error(args: &[&str], needles: &[&str]) {
    let run = dsys(args);
    let context = format!("dsys {}\n{}", args.join(" "), run.describe());
    assert!(
        run.code.is_some_and(|c| c != 0),
        "expected a non-zero exit code\n{context}"
    );
    assert_ne!(run.code, Some(101), "exit code 101 is a panic\n{context}");
    assert!(!run.stderr.contains("panicked"), "{context}");
    assert!(run.stderr.contains("error"), "{context}");
    for needle in needles {
        assert!(
            run.stderr.contains(needle),
            "{needle:?} not in stderr\n{context}"
        );
    }
}

#[test]
fn bad_input_is_a_clear_error_not_a_panic() {
    assert_clean_error(
        &["sim", "no-such-algorithm"],
        &["no-such-algorithm", "`dsys list`"],
    );
    assert_clean_error(
        &["sim", "ping-pong", "--nodes", "3", "--crash", "9@10"],
        &["n9"],
    );
    assert_clean_error(
        &["sim", "ping-pong", "--partition", "nonsense"],
        &["nonsense"],
    );
    assert_clean_error(&["sim", "ping-pong", "--latency-ms", "20..5"], &["20..5"]);
    assert_clean_error(&["sim", "ping-pong", "--loss", "2"], &["loss", "2"]);
    // A few more of the same family.
    assert_clean_error(&["sim", "ping-pong", "--nodes", "0"], &["--nodes"]);
    assert_clean_error(&["sim", "ping-pong", "--dup=-0.5"], &["duplicate"]);
    assert_clean_error(&["sim", "ping-pong", "--partition", "0|9@5"], &["n9"]);
    assert_clean_error(
        &["sim", "ping-pong", "--partition", "0|1@400..100"],
        &["heals before"],
    );
    assert_clean_error(&["sim", "ping-pong", "--crash", "x@10"], &["x@10"]);
    assert_clean_error(&["frobnicate"], &["frobnicate"]);
}

#[test]
fn bad_output_path_is_a_clear_error() {
    let dir = TempDir::new("bad_output_path_is_a_clear_error");
    let missing = dir.file("no/such/dir/out.jsonl");
    assert_clean_error(
        &["sim", "ping-pong", "--trace", &path_arg(&missing)],
        &["cannot create"],
    );
}

#[test]
fn a_violated_property_exits_1_with_a_replay_command() {
    // Ten rounds 100 ms apart cannot finish in 150 ms: completeness fails.
    let run = dsys(["sim", "ping-pong", "--seed", "3", "--until-ms", "150"]);
    let context = run.describe();
    assert_eq!(run.code, Some(1), "{context}");
    assert!(!run.stderr.contains("panicked"), "{context}");
    let verdict = run
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("completeness"))
        .unwrap_or_else(|| panic!("no completeness verdict\n{context}"));
    assert!(verdict.contains("VIOLATED"), "{context}");
    assert!(
        run.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("validity") && l.trim_end().ends_with("holds")),
        "{context}"
    );
    let replay = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("replay: "))
        .unwrap_or_else(|| panic!("no replay line on stdout\n{context}"));
    assert!(replay.contains("--seed 3"), "{context}");
    assert!(replay.contains("--until-ms 150"), "{context}");
    assert!(
        run.stderr.contains("property was violated (seed 3)"),
        "{context}"
    );

    // The replay command's arguments reproduce the run exactly.
    let args = replay
        .split_once(" -- ")
        .map(|(_, args)| args)
        .unwrap_or_else(|| panic!("replay command has no `--`: {replay}"));
    let again = dsys(args.split_whitespace());
    assert_eq!(again.code, Some(1), "{}", again.describe());
    assert_eq!(
        again.stdout, run.stdout,
        "the replay gave a different report"
    );
}

#[test]
fn byzantine_nodes_from_the_command_line() {
    // Three generals, one traitorous lieutenant: IC2 breaks (N <= 3f), and
    // the replay line carries the --byzantine option that reproduces it.
    let run = dsys([
        "sim",
        "byzantine-generals",
        "--nodes",
        "3",
        "--byzantine",
        "2:tamper",
    ]);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(
        run.stdout.contains("Byzantine: n2 (n2 tamper)"),
        "{}",
        run.describe()
    );
    assert!(run.stdout.contains("VIOLATED: IC2"), "{}", run.describe());
    assert!(
        run.stdout.contains("--byzantine 2:tamper"),
        "{}",
        run.describe()
    );
    // Four generals survive an equivocating commander.
    let run = dsys([
        "sim",
        "byzantine-generals",
        "--nodes",
        "4",
        "--byzantine",
        "0:equivocate",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.describe());
    // Generic strategies work for any algorithm; lies need the algorithm's help.
    let run = dsys(["sim", "ping-pong", "--byzantine", "1:drop=0.5"]);
    assert!(run.stdout.contains("Byzantine: n1"), "{}", run.describe());
    let run = dsys(["sim", "ping-pong", "--byzantine", "1:equivocate"]);
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(
        run.stderr.contains("does not say how"),
        "{}",
        run.describe()
    );
    let run = dsys(["sim", "ping-pong", "--byzantine", "1:lie"]);
    assert_eq!(run.code, Some(2), "{}", run.describe());
}

// ---------------------------------------------------------------------------
// A simulator that cannot run away, and the rough edges of a first hour
// ---------------------------------------------------------------------------

/// The run that used to take the machine's memory (duplicated tokens
/// multiply) now ends at once: with the workload running all along, the
/// first duplicate token puts two nodes in the section, and ME1 stops it.
#[test]
fn a_runaway_run_stops_with_an_error_naming_what_grew() {
    let run = dsys([
        "sim",
        "token-ring",
        "--nodes",
        "5",
        "--seed",
        "3",
        "--dup",
        "0.2",
        "--reorder",
    ]);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(
        run.stdout.contains("ME1 safety (states)  VIOLATED"),
        "{}",
        run.describe()
    );
    // A run that records more than it may keep stops with an error naming
    // what grew. The memory estimate is counted, not measured, so the stop
    // is the same on every machine.
    let dir = TempDir::new("a_runaway_run_stops_with_an_error_naming_what_grew");
    let trace = path_arg(&dir.file("big.jsonl"));
    assert_clean_error(
        &[
            "sim",
            "ping-pong",
            "--nodes",
            "100",
            "--trace",
            &trace,
            "--max-memory-mib",
            "64",
        ],
        &[
            "the run stopped at",
            "trace",
            "pending events",
            "--max-memory-mib",
        ],
    );
    // The other bounds, each named.
    assert_clean_error(
        &["sim", "ping-pong", "--max-events", "100"],
        &[
            "101 events processed, over the limit of 100",
            "--max-events",
        ],
    );
    assert_clean_error(
        &["sim", "ping-pong", "--nodes", "40", "--max-pending", "100"],
        &["events pending", "over the limit of 100"],
    );
    assert_clean_error(
        &["sim", "ping-pong", "--max-seconds", "0", "--nodes", "100"],
        &["wall time", "--max-seconds"],
    );
}

#[test]
fn impossible_runs_are_refused_before_they_start() {
    assert_clean_error(
        &["sim", "ping-pong", "--nodes", "10000"],
        &["1 to 1000 nodes"],
    );
    assert_clean_error(
        &["sim", "ping-pong", "--until-ms", "18446744073709551615"],
        &["a day"],
    );
    assert_clean_error(&["sim", "ping-pong", "--until-ms", "0"], &["--until-ms 0"]);
    assert_clean_error(
        &["sim", "ping-pong", "--until-ms", "-5"],
        &["-5 is negative"],
    );
    assert_clean_error(&["sim", "ping-pong", "--loss", "-1"], &["loss", "-1"]);
    assert_clean_error(
        &["sim", "ping-pong", "--crash", "0@99999999"],
        &["crash of n0", "after the end of the run"],
    );
    assert_clean_error(
        &["sim", "ping-pong", "--restart", "1@100"],
        &["restart of n1", "is up then", "--crash 1@99"],
    );
    assert_clean_error(
        &["sim", "ping-pong", "--crash", "1@100", "--crash", "1@200"],
        &["already down"],
    );
    assert_clean_error(
        &["sim", "ping-pong", "--partition", "0|1@5000"],
        &["partition", "after the end of the run"],
    );
    // A crash and its restart at the same instant is a bounce, and fine.
    let run = dsys(["sim", "ping-pong", "--crash", "1@100", "--restart", "1@100"]);
    assert_eq!(run.code, Some(0), "{}", run.describe());
}

/// An output path that cannot be written is reported before the run, with
/// nothing printed as if the run had happened.
#[test]
fn output_paths_are_checked_before_the_run() {
    let dir = TempDir::new("output_paths_are_checked_before_the_run");
    let missing = dir.file("no/such/dir/out.log");
    let run = dsys(["sim", "ping-pong", "--shiviz", &path_arg(&missing)]);
    assert_eq!(run.code, Some(2), "{}", run.describe());
    assert!(
        run.stdout.is_empty(),
        "no report before the error\n{}",
        run.describe()
    );
    assert!(run.stderr.contains("cannot create"), "{}", run.describe());
}

/// `dsys … | head -1` and a full disk: no panic; a closed pipe ends
/// quietly with the shell's SIGPIPE status, a full disk with an error.
#[test]
fn closed_pipes_and_full_disks_end_cleanly() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_dsys"))
        .args(["sim", "ping-pong", "--nodes", "30"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the dsys binary");
    // The reader goes away before the report is written (as `head` does
    // after its first line, with a report longer than a pipe holds).
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(141), "{stderr}");
    assert!(stderr.is_empty(), "a closed pipe is not an error: {stderr}");

    let Ok(full) = fs::OpenOptions::new().write(true).open("/dev/full") else {
        return; // not Linux: no device that is always full
    };
    let output = Command::new(env!("CARGO_BIN_EXE_dsys"))
        .arg("list")
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot write to standard output"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Validity was checked over every node after every event; now it is
/// checked of the node that moved, and a hundred nodes finish.
#[test]
fn a_hundred_node_ping_pong_runs() {
    let run = dsys(["sim", "ping-pong", "--nodes", "100"]);
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(
        run.stdout.contains("validity      holds"),
        "{}",
        run.describe()
    );
    assert!(
        run.stdout.contains("completeness  holds"),
        "{}",
        run.describe()
    );
}

// ---------------------------------------------------------------------------
// Showing algorithms break
// ---------------------------------------------------------------------------

/// The server crashes while clients wait: ME2 fails, and the report says
/// this is what the theory predicts, and which assumption the run broke.
/// The run itself passes: the algorithm kept every promise it makes.
#[test]
fn a_crashed_server_violates_me2_as_expected() {
    let run = dsys(["sim", "central-server", "--crash", "0@300"]);
    let context = run.describe();
    assert_eq!(run.code, Some(0), "{context}");
    assert!(
        run.stdout
            .contains("ME2 liveness         VIOLATED, as expected: ME2: n1"),
        "{context}"
    );
    assert!(
        run.stdout.contains("the crash of n0 at 300 ms"),
        "{context}"
    );
    assert!(
        run.stdout.contains("ME1 safety (states)  holds"),
        "{context}"
    );
}

/// `--defect` runs a broken variant the crate ships, and its checkers
/// catch it; the replay line carries the defect.
#[test]
fn a_shipped_defect_is_caught_from_the_command_line() {
    let run = dsys(["sim", "ricart-agrawala", "--defect", "ignores-timestamps"]);
    let context = run.describe();
    assert_eq!(run.code, Some(1), "{context}");
    assert!(
        run.stdout.contains(
            "ME1 safety (states)  VIOLATED: ME1: n0 and n2 are in the critical section at once"
        ),
        "{context}"
    );
    assert!(
        run.stdout.contains("--defect ignores-timestamps"),
        "the replay line runs the defect too\n{context}"
    );
    let list = dsys(["list"]);
    assert!(
        list.stdout
            .contains("--defect ignores-timestamps: orders requests by process id"),
        "{}",
        list.describe()
    );
    assert_clean_error(
        &["sim", "ricart-agrawala", "--defect", "nope"],
        &[
            "no defect \"nope\"",
            "replies-in-section, ignores-timestamps",
        ],
    );
    assert_clean_error(
        &["sim", "ping-pong", "--defect", "x"],
        &["ships no deliberate defects"],
    );
}

/// Latency beyond Raft's election timeout: no leader, and the report says
/// which of Raft's assumptions the run broke, instead of skipping liveness
/// and passing silently; without faults liveness is judged too.
#[test]
fn raft_liveness_is_judged_and_a_broken_timing_assumption_is_named() {
    let run = dsys(["sim", "raft", "--latency-ms", "50..400"]);
    let context = run.describe();
    assert_eq!(run.code, Some(0), "{context}");
    assert!(
        run.stdout
            .contains("liveness after faults           VIOLATED, as expected: no leader"),
        "{context}"
    );
    assert!(
        run.stdout.contains("broadcastTime ≪ electionTimeout"),
        "{context}"
    );
    let run = dsys(["sim", "raft"]);
    assert!(
        run.stdout.contains("liveness after faults           holds"),
        "{}",
        run.describe()
    );
}

/// An election report tells the run's story: who started elections and
/// whom the nodes came to hold as leader, and when.
#[test]
fn election_reports_say_who_was_elected_and_when() {
    let run = dsys(["sim", "bully", "--crash", "2@100"]);
    let context = run.describe();
    assert_eq!(run.code, Some(0), "{context}");
    let story = run
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("elections"))
        .unwrap_or_else(|| panic!("no elections line\n{context}"));
    // n2, the highest id, wins first; after its crash n1 takes over.
    let first = story.find("→ n2 at").expect(story);
    let second = story.find("→ n1 at").expect(story);
    assert!(first < second, "{story}");
    assert!(story.contains("n1 started at 400.0 ms"), "{story}");
}
