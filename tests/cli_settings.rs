//! The command line's per-algorithm parts: `--set` settings, `dsys sim ALGO
//! --help`, the defects `dsys list` names, and one registry serving `list`,
//! `sim` and `node` for a binary that registers its own algorithm.

use std::process::ExitCode;

use dsys::cli::{Hooks, NodeSetup, Registry};
use dsys::core::scenario::{Algorithm, Outcome, SimOptions};

use crate::support_cli as cli;

use cli::dsys;

/// Runs `args`, which must exit 0 with `property` failing as expected
/// because of `because`; returns the run for more checks.
fn assert_expected(args: &[&str], property: &str, because: &str) -> cli::Run {
    let run = dsys(args);
    let context = run.describe();
    assert_eq!(run.code, Some(0), "{context}");
    let line = verdict(&run.stdout, property);
    assert!(
        line.contains("as expected") && line.contains(because),
        "{context}"
    );
    run
}

/// The line of `run`'s report that starts with `property`.
fn verdict<'a>(stdout: &'a str, property: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.trim_start().starts_with(property))
        .unwrap_or_else(|| panic!("no {property:?} line in\n{stdout}"))
}

/// At-least-once re-executes a retried deposit; the same lossy run under
/// the default at-most-once keeps the balances; the replay line carries
/// the setting.
#[test]
fn rpc_semantics_chosen_by_a_setting_show_a_deposit_counted_twice() {
    let lossy = ["sim", "rpc", "--loss", "0.3", "--seed", "1"];
    let once = dsys(lossy);
    assert_eq!(once.code, Some(0), "{}", once.describe());
    let mut args = lossy.to_vec();
    args.extend(["--set", "semantics=at-least-once"]);
    let twice = dsys(&args);
    let context = twice.describe();
    assert_eq!(twice.code, Some(1), "{context}");
    assert!(
        verdict(&twice.stdout, "at most once").contains("VIOLATED"),
        "{context}"
    );
    assert!(
        twice.stdout.contains("--set 'semantics=at-least-once'"),
        "the replay line sets it too\n{context}"
    );
    // `tries=1` is maybe semantics: calls give up, nothing runs twice.
    let mut args = lossy.to_vec();
    args.extend(["--set", "semantics=at-least-once", "--set", "tries=1"]);
    let maybe = dsys(&args);
    assert!(
        verdict(&maybe.stdout, "at most once").contains("holds"),
        "{}",
        maybe.describe()
    );
}

/// Unknown, repeated, malformed and out-of-range settings stop before the
/// run with a message naming what is wrong and what is allowed.
#[test]
fn bad_settings_are_refused_with_what_to_write_instead() {
    for (args, needles) in [
        (
            vec!["--set", "retries=3"],
            vec![
                "no setting \"retries\"",
                "semantics, table-max, tries, timeout-ms",
            ],
        ),
        (
            vec!["--set", "tries=1", "--set", "tries=2"],
            vec!["given twice"],
        ),
        (vec!["--set", "tries"], vec!["NAME=VALUE"]),
        (
            vec!["--set", "tries=many"],
            vec!["--set tries=many", "tries per call"],
        ),
        (vec!["--set", "tries=0"], vec!["1 or more"]),
        (
            vec!["--set", "semantics=exactly-once"],
            vec!["at-most-once or at-least-once"],
        ),
    ] {
        let mut all = vec!["sim", "rpc"];
        all.extend(args);
        let run = dsys(&all);
        let context = format!("{all:?}\n{}", run.describe());
        assert_eq!(run.code, Some(2), "{context}");
        assert!(!run.stderr.contains("panicked"), "{context}");
        for needle in needles {
            assert!(run.stderr.contains(needle), "{needle:?} missing\n{context}");
        }
    }
    let run = dsys(["sim", "lamport", "--set", "x=1"]);
    assert!(
        run.stderr.contains("lamport has no settings"),
        "{}",
        run.describe()
    );
    let run = dsys(["sim", "raft", "--set", "election-timeout-ms=300..100"]);
    assert!(run.stderr.contains("is empty"), "{}", run.describe());
}

/// Each algorithm's `--help` lists its own settings and defects after the
/// common options; another algorithm's help does not.
#[test]
fn sim_help_is_per_algorithm() {
    let rpc = dsys(["sim", "rpc", "--help"]);
    assert_eq!(rpc.code, Some(0), "{}", rpc.describe());
    assert!(rpc.stdout.contains("--loss"), "{}", rpc.describe());
    assert!(
        rpc.stdout.contains("semantics  (default at-most-once)"),
        "{}",
        rpc.describe()
    );
    let raft = dsys(["sim", "raft", "--help"]);
    assert!(
        raft.stdout
            .contains("election-timeout-ms  (default 150..300)"),
        "{}",
        raft.describe()
    );
    assert!(!raft.stdout.contains("semantics"), "{}", raft.describe());
    let ra = dsys(["sim", "ricart-agrawala", "--help"]);
    assert!(
        ra.stdout.contains("ignores-timestamps"),
        "{}",
        ra.describe()
    );
    assert!(
        ra.stdout.contains("ricart-agrawala has no settings"),
        "{}",
        ra.describe()
    );
}

/// Raft's timing is a setting: an election timeout within the round trip
/// breaks §5.6's requirement, and the report names it as expected; a long
/// one gets the time it needs before liveness is judged.
#[test]
fn raft_timing_set_too_short_is_named_as_the_broken_assumption() {
    assert_expected(
        &[
            "sim",
            "raft",
            "--set",
            "election-timeout-ms=2..4",
            "--set",
            "heartbeat-ms=1",
        ],
        "liveness after faults",
        "shortest election timeout (2ms)",
    );
    let run = dsys(["sim", "raft", "--set", "election-timeout-ms=1000..2000"]);
    let context = run.describe();
    assert_eq!(run.code, Some(0), "{context}");
    let line = verdict(&run.stdout, "liveness after faults");
    assert!(
        line.contains("skipped") && line.contains("8s to start"),
        "{context}"
    );
    let run = dsys(["sim", "raft", "--set", "heartbeat-ms=500"]);
    assert!(
        run.stderr
            .contains("heartbeat_interval must be non-zero and below election_timeout_min"),
        "{}",
        run.describe()
    );
}

/// The bully's broken variant is shipped as a defect its checkers catch;
/// a too-short answer timeout and a restart during an election break E1
/// as expected, not silently.
#[test]
fn bully_defects_and_timing_from_the_command_line() {
    let run = dsys(["sim", "bully", "--defect", "declares-without-waiting"]);
    let context = run.describe();
    assert_eq!(run.code, Some(1), "{context}");
    assert!(
        verdict(&run.stdout, "E1 safety").contains("VIOLATED"),
        "{context}"
    );
    // A restart in the middle of an election: Coulouris's caveat, named.
    let run = assert_expected(
        &[
            "sim",
            "bully",
            "--crash",
            "2@100",
            "--restart",
            "2@400",
            "--until-ms",
            "3000",
        ],
        "E1 safety",
        "same id",
    );
    assert!(
        verdict(&run.stdout, "E2 liveness").contains("holds"),
        "{}",
        run.describe()
    );
    assert_expected(
        &["sim", "bully", "--set", "answer-timeout-ms=5"],
        "E1 safety",
        "answer timeout",
    );
}

/// A heartbeat timeout too close to the period suspects live nodes, and
/// the report says which assumption the settings broke.
#[test]
fn heartbeat_accuracy_broken_by_its_settings_is_expected() {
    assert_expected(
        &[
            "sim",
            "heartbeat",
            "--set",
            "period-ms=20",
            "--set",
            "timeout-ms=30",
            "--latency-ms",
            "1..30",
        ],
        "accuracy",
        "timeout − period",
    );
    let run = dsys(["sim", "heartbeat"]);
    assert!(
        verdict(&run.stdout, "accuracy").contains("holds"),
        "{}",
        run.describe()
    );
}

// ----- one registry, in someone else's binary --------------------------------

fn always_three(_: &SimOptions) -> dsys::core::Result<Outcome> {
    (dsys::core::ping_pong::ALGORITHM.run)(&SimOptions {
        nodes: 3,
        ..SimOptions::default()
    })
}

/// A made-up algorithm a user registers: a ping-pong that always runs on
/// three nodes.
const MINE: Algorithm = Algorithm {
    name: "mine",
    summary: "a user's own algorithm",
    run: always_three,
    settings: &[],
    model: None,
    defects: &[],
};

fn ping_pong_node(setup: NodeSetup) -> anyhow::Result<ExitCode> {
    setup.serve(
        dsys::core::ping_pong::PingPong::new(Default::default()),
        Hooks::default(),
    )
}

#[test]
fn a_registry_adds_replaces_and_finds_entries() {
    let standard = Registry::standard();
    assert_eq!(standard.node_names(), ["ricart-agrawala", "bully", "raft"]);
    let names: Vec<_> = standard
        .entries()
        .iter()
        .map(|e| e.algorithm.name)
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        names.len(),
        "a name registered twice: {names:?}"
    );

    let mine = Registry::new().with(MINE);
    assert_eq!(mine.entries().len(), 1);
    assert!(mine.find("raft").is_none());
    // Registering a name again replaces the entry in its place.
    let replaced = Registry::standard().with_node(
        Algorithm {
            summary: "replaced",
            ..dsys::core::ping_pong::ALGORITHM
        },
        ping_pong_node,
    );
    assert_eq!(replaced.entries().len(), standard.entries().len());
    let entry = replaced.find("ping-pong").expect("still there");
    assert_eq!(entry.algorithm.summary, "replaced");
    assert!(entry.node.is_some());
    assert_eq!(replaced.entries()[0].algorithm.name, "ping-pong");
}

#[test]
fn run_from_serves_a_users_registry() {
    let registry = || Registry::new().with_node(MINE, ping_pong_node);
    assert_eq!(
        dsys::cli::run_from(registry(), ["me", "sim", "mine"]),
        ExitCode::SUCCESS
    );
    assert_eq!(
        dsys::cli::run_from(registry(), ["me", "list"]),
        ExitCode::SUCCESS
    );
    // Not registered here: the standard algorithms are not in this registry.
    assert_eq!(
        dsys::cli::run_from(registry(), ["me", "sim", "raft"]),
        ExitCode::from(2)
    );
    assert_eq!(
        dsys::cli::run_from(
            registry(),
            [
                "me",
                "node",
                "--cluster",
                "/nonexistent.toml",
                "--id",
                "0",
                "--algorithm",
                "raft"
            ]
        ),
        ExitCode::from(2)
    );
    assert_eq!(
        dsys::cli::run_from(registry(), ["me", "sim", "mine", "--help"]),
        ExitCode::SUCCESS
    );
    assert_eq!(
        dsys::cli::run_from(registry(), ["me", "no-such-command"]),
        ExitCode::from(2)
    );
}

/// Each report tells its algorithm's own story: critical-section entries
/// in order, measured skew beside its bound, snapshot totals.
#[test]
fn reports_tell_each_algorithms_story() {
    let run = dsys(["sim", "ricart-agrawala"]);
    let line = verdict(&run.stdout, "critical section");
    // Entries in time order, each with its holder; then the count per node.
    let first = line.find(" n").expect(line);
    assert!(line[first..].contains(" ms; "), "{line}");
    assert!(line.contains("entries: n0 "), "{line}");
    let run = dsys(["sim", "central-server", "--crash", "0@300"]);
    assert!(
        verdict(&run.stdout, "critical section").contains("entries"),
        "{}",
        run.describe()
    );
    let run = dsys(["sim", "berkeley", "--nodes", "5"]);
    let line = verdict(&run.stdout, "correct clocks");
    assert!(
        line.contains("4 of 4 clocks") && line.contains("max skew") && line.contains("(bound D = "),
        "{line}"
    );
    for algorithm in ["cristian", "ntp"] {
        let run = dsys(["sim", algorithm]);
        assert!(
            verdict(&run.stdout, "clocks").contains("max error"),
            "{}",
            run.describe()
        );
    }
    let run = dsys(["sim", "snapshot"]);
    let line = verdict(&run.stdout, "snapshots");
    assert!(
        line.contains("completed (the bank holds 300)") && line.contains("in transit"),
        "{line}"
    );
    // Each shown snapshot adds up to what the bank holds.
    for part in line
        .split(": ")
        .nth(1)
        .unwrap()
        .split("; ")
        .filter(|p| p.contains("held"))
    {
        let numbers: Vec<u64> = part
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        assert_eq!(numbers.iter().sum::<u64>(), 300, "{part}");
    }
}

/// `dsys check` model-checks the algorithms that have a model: the correct
/// one holds over every interleaving (exit 0), a defect is caught with its
/// shortest run (exit 1), a lossy network starves a waiting process (exit
/// 1), and what cannot be checked says why (exit 2).
#[test]
fn dsys_check_explores_every_interleaving() {
    let run = dsys(["check", "ricart-agrawala", "--nodes", "2"]);
    assert_eq!(run.code, Some(0), "{}", run.describe());
    assert!(
        run.stdout.contains("(exhaustive)") && run.stdout.contains("ME1: holds"),
        "{}",
        run.describe()
    );
    let run = dsys([
        "check",
        "ricart-agrawala",
        "--nodes",
        "2",
        "--defect",
        "replies-in-section",
    ]);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(
        run.stdout.contains("ME1: VIOLATED in "),
        "{}",
        run.describe()
    );
    assert!(
        run.stdout.contains("1. n"),
        "the steps are listed\n{}",
        run.describe()
    );
    // The counterexample, replayed in the simulator, as a trace.
    let dir = cli::TempDir::new("check-trace");
    let jsonl = dir.file("ce.jsonl");
    let run = dsys([
        "check",
        "ricart-agrawala",
        "--nodes",
        "2",
        "--defect",
        "ignores-timestamps",
        "--trace",
        jsonl.to_str().unwrap(),
    ]);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    let trace = std::fs::read_to_string(&jsonl).expect("the trace file");
    assert!(
        trace.lines().count() > 5 && trace.contains("\"emit\""),
        "{trace}"
    );
    let run = dsys([
        "check",
        "ricart-agrawala",
        "--nodes",
        "2",
        "--trace",
        jsonl.to_str().unwrap(),
    ]);
    assert!(
        run.stdout.contains("no counterexample, so no trace"),
        "{}",
        run.describe()
    );
    let run = dsys(["check", "ricart-agrawala", "--nodes", "2", "--lossy"]);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    assert!(
        run.stdout.contains("nobody left waiting: VIOLATED") && run.stdout.contains("drops"),
        "{}",
        run.describe()
    );
    let run = dsys(["check", "maekawa", "--defect", "no-inquire"]);
    assert_eq!(run.code, Some(1), "{}", run.describe());
    let run = dsys([
        "check",
        "maekawa",
        "--nodes",
        "3",
        "--strategy",
        "random",
        "--walks",
        "50",
        "--seed",
        "3",
    ]);
    assert!(run.stdout.contains("50 random walks"), "{}", run.describe());
    for (args, needle) in [
        (vec!["check", "ntp"], "ntp has no model to check yet"),
        (
            vec!["check", "ricart-agrawala", "--nodes", "0"],
            "1 to 8 nodes",
        ),
        (
            vec!["check", "ricart-agrawala", "--defect", "nope"],
            "no defect \"nope\"",
        ),
        (vec!["check", "nope"], "unknown algorithm"),
    ] {
        let run = dsys(&args);
        assert_eq!(run.code, Some(2), "{args:?}\n{}", run.describe());
        assert!(run.stderr.contains(needle), "{args:?}\n{}", run.describe());
    }
    let list = dsys(["list"]);
    assert!(
        list.stdout
            .contains("has a model: dsys check ricart-agrawala"),
        "{}",
        list.describe()
    );
}
