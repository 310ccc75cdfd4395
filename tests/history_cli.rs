//! End-to-end tests of `dsys history check`: the binary is run on small
//! JSON Lines, Jepsen log and Jepsen EDN files; its verdict text, exit
//! codes (0 holds, 1 violated, 2 error, 3 unknown) and error messages are
//! checked.

use std::fs;

use crate::support_cli as cli;

use cli::{dsys, Run, TempDir};

/// Runs `dsys history check ARGS` and expects `code` and every needle in
/// stdout (for 0, 1 and 3) or stderr (for 2).
fn check(args: &[&str], code: i32, needles: &[&str]) -> Run {
    let mut all = vec!["history", "check"];
    all.extend_from_slice(args);
    let run = dsys(&all);
    let context = format!("dsys {}\n{}", all.join(" "), run.describe());
    assert_eq!(run.code, Some(code), "{context}");
    assert!(!run.stderr.contains("panicked"), "{context}");
    let out = if code == 2 { &run.stderr } else { &run.stdout };
    for needle in needles {
        assert!(out.contains(needle), "{needle:?} missing\n{context}");
    }
    run
}

/// Client 0 writes 1, then client 1 writes 2, then client 2 reads `read`.
fn register_jsonl(read: i64) -> String {
    format!(
        "{{\"client\":0,\"invoke\":0,\"complete\":10,\"input\":{{\"write\":1}},\"output\":\"written\"}}\n\
         {{\"client\":1,\"invoke\":12,\"complete\":20,\"input\":{{\"write\":2}},\"output\":\"written\"}}\n\
         {{\"client\":2,\"invoke\":25,\"complete\":30,\"input\":\"read\",\"output\":{{\"value\":{read}}}}}\n\
         {{\"client\":3,\"invoke\":5,\"complete\":null,\"input\":{{\"cas\":{{\"expect\":2,\"new\":3}}}},\"output\":null}}\n"
    )
}

const JEPSEN_LOG: &str = "\
INFO  jepsen.core - Running test
INFO  jepsen.util - 0\t:invoke\t:write\t1
INFO  jepsen.util - 0\t:ok\t:write\t1
INFO  jepsen.util - 1\t:invoke\t:cas\t[1 2]
INFO  jepsen.util - 2\t:invoke\t:read\tnil
INFO  jepsen.util - 1\t:ok\t:cas\t[1 2]
INFO  jepsen.util - 2\t:ok\t:read\t2
INFO  jepsen.util - 3\t:invoke\t:read\tnil
INFO  jepsen.util - 3\t:fail\t:read\t:timed-out
INFO  jepsen.util - 4\t:invoke\t:write\t4
INFO  jepsen.util - 4\t:info\t:write\t:timed-out
INFO  jepsen.util - 0\t:invoke\t:read\tnil
INFO  jepsen.util - 0\t:ok\t:read\t";

const KV_EDN: &str = r#"{:process 0, :type :invoke, :f :put, :key "x", :value "1"}
{:process 0, :type :ok, :f :put, :key "x", :value "1"}
{:process 1, :type :invoke, :f :append, :key "y", :value "a"}
{:process 2, :type :invoke, :f :get, :key "x", :value nil}
{:process 2, :type :ok, :f :get, :key "x", :value "1"}
{:process 1, :type :ok, :f :append, :key "y", :value "a"}
{:process 2, :type :invoke, :f :get, :key "y", :value nil}
"#;

#[test]
fn a_jsonl_history_holds_or_is_violated_with_the_right_exit_code() {
    let dir = TempDir::new("jsonl");
    let fresh = dir.write("fresh.jsonl", &register_jsonl(2));
    check(
        &["--model", "cas-register", &fresh],
        0,
        &[
            "4 operations by 4 clients (1 never returned), read as JSON Lines",
            "linearizability (cas-register model, 1 part): holds",
        ],
    );
    let stale = dir.write("stale.jsonl", &register_jsonl(1));
    let run = check(
        &["--model", "cas-register", &stale],
        1,
        &[
            "linearizability (cas-register model, 1 part): VIOLATED",
            "smallest failing set of operations",
            "longest accepted order",
        ],
    );
    assert!(run.stderr.contains("--html"), "{}", run.describe());
    // Real time aside, the stale read fits an order: write 2, write 1, read 1.
    check(
        &["--model", "cas-register", "--sequential", &stale],
        0,
        &["sequential consistency (cas-register model, 1 part): holds"],
    );
}

#[test]
fn a_jepsen_log_is_read_and_drawn() {
    let dir = TempDir::new("jepsen");
    let ok = dir.write("ok.log", &format!("{JEPSEN_LOG}2\n"));
    check(
        &["--model", "cas-register", &ok],
        0,
        &["read as Jepsen etcd log", "holds"],
    );
    // Client 0 reads 1 after the cas to 2 completed.
    let bad = dir.write("bad.log", &format!("{JEPSEN_LOG}1\n"));
    let html = dir.0.join("bad.html");
    let html_arg = html.to_str().unwrap();
    check(
        &[
            "--model",
            "cas-register",
            "--format",
            "jepsen",
            &bad,
            "--html",
            html_arg,
        ],
        1,
        &["VIOLATED", "html: "],
    );
    let page = fs::read_to_string(&html).expect("the page was written");
    assert_eq!(page.matches("class=\"lane\"").count(), 5);
    assert!(page.contains("op failing"), "{page}");
}

#[test]
fn jepsen_edn_is_a_kv_history_and_a_tiny_budget_is_unknown() {
    let dir = TempDir::new("edn");
    let edn = dir.write("kv.edn", KV_EDN);
    check(
        &["--model", "kv", &edn],
        0,
        &[
            "read as Jepsen EDN",
            "linearizability (kv model, 2 parts): holds",
        ],
    );
    check(
        &["--model", "kv", "--budget-steps", "1", &edn],
        3,
        &["unknown (budget exhausted)"],
    );
}

#[test]
fn the_format_is_guessed_past_blank_lines_and_comments() {
    let dir = TempDir::new("guess");
    let edn = dir.write("kv.edn", &format!("\n  ; a comment\n{KV_EDN}"));
    check(&["--model", "kv", &edn], 0, &["read as Jepsen EDN"]);
    let spaced = register_jsonl(2).replace("{\"client\"", "{ \"client\"");
    let jsonl = dir.write("spaced.jsonl", &spaced);
    check(
        &["--model", "cas-register", &jsonl],
        0,
        &["read as JSON Lines"],
    );
}

#[test]
fn bad_files_and_wrong_models_are_clear_errors() {
    let dir = TempDir::new("errors");
    let missing = dir.0.join("missing.log");
    check(
        &["--model", "cas-register", missing.to_str().unwrap()],
        2,
        &["cannot read", "missing.log"],
    );
    let log = dir.write("bad.log", "INFO  jepsen.util - 0\t:invoke\t:cas\t[1]\n");
    check(
        &["--model", "cas-register", &log],
        2,
        &["line 1, column 36", "expected [expect new], two integers"],
    );
    let edn = dir.write("bad.edn", "{:process 0, :type :invoke, :f :get}\n");
    check(
        &["--model", "kv", &edn],
        2,
        &["line 1, column 1", "expected :key"],
    );
    let jsonl = dir.write("bad.jsonl", "{\"client\": 0}\n{\"client\": oops}\n");
    check(
        &["--model", "queue", "--format", "jsonl", &jsonl],
        2,
        &["line 1, column"],
    );
    let cas_log = dir.write("cas.log", &format!("{JEPSEN_LOG}2\n"));
    check(&["--model", "kv", &cas_log], 2, &["--model cas-register"]);
    check(
        &["--model", "register", &cas_log],
        2,
        &["compare-and-set", "--model cas-register"],
    );
    check(&["--model", "queue", &edn], 2, &["--model kv"]);
    let queue = dir.write(
        "queue.jsonl",
        "{\"client\":0,\"invoke\":0,\"complete\":1,\"input\":{\"enqueue\":1},\"output\":\"enqueued\"}\n",
    );
    check(&["--model", "kv", &queue], 2, &["--model queue"]);
    let text = dir.write("notes.txt", "hello\n");
    check(
        &["--model", "kv", &text],
        2,
        &["cannot tell the format", "--format"],
    );
    // Two calls of one client at once: not a history.
    let overlap = dir.write(
        "overlap.jsonl",
        "{\"client\":0,\"invoke\":0,\"complete\":10,\"input\":\"read\",\"output\":null}\n\
         {\"client\":0,\"invoke\":5,\"complete\":12,\"input\":\"read\",\"output\":null}\n",
    );
    check(
        &["--model", "register", &overlap],
        2,
        &["not a valid history", "one call at a time"],
    );
}

#[test]
fn help_documents_the_exit_codes() {
    let run = dsys(["history", "check", "--help"]);
    assert_eq!(run.code, Some(0), "{}", run.describe());
    for needle in [
        "Exit codes:",
        "1  the property is violated",
        "3  unknown",
        "--budget-steps",
    ] {
        assert!(
            run.stdout.contains(needle),
            "{needle:?}\n{}",
            run.describe()
        );
    }
}
