//! The HTML view of a history (`dsys_replication::consistency::html`),
//! loaded in headless Chromium: after its script ran, the lanes, the
//! highlighted operations and the linearization points are in the DOM, and
//! a screenshot can be taken.
//!
//! Needs Debian's `chromium` package (`apt-get install chromium`), or any
//! Chromium or Chrome named by the `CHROMIUM` environment variable. Without
//! one the tests say what to install and pass — unless `CI` is set: in CI a
//! missing Chromium is a failure (`.ci/run` installs it).
//!
//! Set `DSYS_VIEW_KEEP=DIR` to keep the pages and screenshots in DIR.

use std::fs;
use std::path::Path;

use super::chromium::{chromium, count, dump_dom, screenshot, TempDir};
use dsys::replication::consistency::history::History;
use dsys::replication::consistency::html::render;
use dsys::replication::consistency::models::{CasRegister, RegisterOp, RegisterRet};
use dsys::replication::consistency::report::{PartReport, Report, Step, Verdict};

type RegisterHistory = History<RegisterOp<i64>, RegisterRet<i64>>;

/// A stale read: client 2 reads 1 after client 1's write of 2 completed.
/// Client 3's cas never returned; client 4's read timed out.
fn stale_read() -> (RegisterHistory, Report<Option<i64>>) {
    let mut history = History::new();
    history.complete_op(0, 0, 10, RegisterOp::Write(1), RegisterRet::Written);
    history.complete_op(1, 12, 20, RegisterOp::Write(2), RegisterRet::Written);
    history.complete_op(2, 25, 30, RegisterOp::Read, RegisterRet::Value(Some(1)));
    history.open_op(3, 5, RegisterOp::Cas { expect: 2, new: 3 });
    history.push(dsys::replication::consistency::history::Operation {
        client: 4,
        invoke: 14,
        complete: Some(28),
        input: RegisterOp::Read,
        output: None,
    });
    // What a linearizability checker answers on it.
    let report = Report {
        property: "linearizability",
        model: "cas-register",
        verdict: Verdict::Violated,
        parts: vec![PartReport {
            ops: vec![0, 1, 2, 3, 4],
            verdict: Verdict::Violated,
            witness: None,
            longest_prefix: vec![
                Step {
                    op: 0,
                    state: Some(1),
                },
                Step {
                    op: 1,
                    state: Some(2),
                },
                Step {
                    op: 4,
                    state: Some(2),
                },
            ],
            failing: vec![0, 1, 2],
            failing_minimal: true,
            steps: 17,
        }],
    };
    (history, report)
}

/// The same clients, but the read sees 2: linearizable.
fn fresh_read() -> (RegisterHistory, Report<Option<i64>>) {
    let (mut history, _) = stale_read();
    let mut ops = std::mem::take(&mut history).into_ops();
    ops[2].output = Some(RegisterRet::Value(Some(2)));
    let history = History::from(ops);
    let report = Report {
        property: "linearizability",
        model: "cas-register",
        verdict: Verdict::Holds,
        parts: vec![PartReport {
            ops: vec![0, 1, 2, 3, 4],
            verdict: Verdict::Holds,
            witness: Some(vec![
                Step {
                    op: 0,
                    state: Some(1),
                },
                Step {
                    op: 1,
                    state: Some(2),
                },
                Step {
                    op: 4,
                    state: Some(2),
                },
                Step {
                    op: 2,
                    state: Some(2),
                },
            ]),
            longest_prefix: vec![],
            failing: vec![],
            failing_minimal: false,
            steps: 5,
        }],
    };
    (history, report)
}

/// Writes the page, loads it in Chromium, returns the DOM after scripts
/// ran, and takes a screenshot (checked to be a 1200×800 PNG).
fn load(
    chromium: &Path,
    dir: &TempDir,
    name: &str,
    history: &RegisterHistory,
    report: &Report<Option<i64>>,
) -> String {
    let page = dir.0.join(format!("{name}.html"));
    fs::write(&page, render(&CasRegister::<i64>::new(), history, report)).expect("write page");
    let dom = dump_dom(chromium, &dir.0, &page, "");
    let png = dir.0.join(format!("{name}.png"));
    screenshot(chromium, &dir.0, &page, "", &png, (1200, 800));
    dom
}

#[test]
fn a_failing_history_shows_its_failing_operations_in_chromium() {
    let Some(chromium) = chromium() else { return };
    let dir = TempDir::new("failing");
    let (history, report) = stale_read();
    let dom = load(&chromium, &dir, "failing", &history, &report);
    assert!(
        dom.contains("data-viewer=\"ready\""),
        "the script ran:\n{dom}"
    );
    assert!(dom.contains("id=\"verdict\" class=\"violated\""), "{dom}");
    assert_eq!(count(&dom, "class=\"lane\""), 5, "one lane per client");
    for client in 0..5 {
        assert!(
            dom.contains(&format!("id=\"lane-{client}\"")),
            "lane {client}"
        );
    }
    for op in 0..3 {
        assert!(
            dom.contains(&format!("class=\"op failing ordered\" id=\"op-{op}\""))
                || dom.contains(&format!("class=\"op failing\" id=\"op-{op}\"")),
            "op {op} is highlighted:\n{dom}"
        );
    }
    assert!(
        dom.contains("class=\"op open\" id=\"op-3\""),
        "the lost cas is open"
    );
    assert!(
        dom.contains("class=\"op unknown ordered\" id=\"op-4\""),
        "the timed-out read"
    );
    assert_eq!(
        count(&dom, "class=\"point prefix\""),
        3,
        "the longest accepted order"
    );
    assert_eq!(count(&dom, "<polyline"), 1, "the script joined the points");
    assert!(dom.contains("the model refuses it in this state"), "{dom}");
}

#[test]
fn a_passing_history_shows_its_linearization_points_in_chromium() {
    let Some(chromium) = chromium() else { return };
    let dir = TempDir::new("passing");
    let (history, report) = fresh_read();
    let dom = load(&chromium, &dir, "passing", &history, &report);
    assert!(
        dom.contains("data-viewer=\"ready\""),
        "the script ran:\n{dom}"
    );
    assert!(dom.contains("id=\"verdict\" class=\"holds\""), "{dom}");
    assert_eq!(count(&dom, "class=\"lane\""), 5);
    assert_eq!(count(&dom, "op failing"), 0, "nothing is highlighted");
    assert_eq!(
        count(&dom, "class=\"point\""),
        4,
        "one point per witness step"
    );
    assert_eq!(count(&dom, "<polyline"), 1);
    // The points follow the witness order left to right.
    let lefts: Vec<f64> = (1..=4)
        .map(|step| {
            let at = dom
                .find(&format!("data-step=\"{step}\" style=\"left:"))
                .unwrap_or_else(|| panic!("point {step}:\n{dom}"));
            let rest = &dom[at..];
            let start = rest.find("left:").unwrap() + 5;
            let end = rest[start..].find("px").unwrap() + start;
            rest[start..end].parse().unwrap()
        })
        .collect();
    assert!(lefts.windows(2).all(|w| w[0] < w[1]), "{lefts:?}");
}

#[test]
fn a_checked_jepsen_log_is_drawn_in_chromium() {
    use dsys::replication::consistency::check_linearizable;
    use dsys::replication::consistency::jepsen::read_etcd_log;
    use dsys::replication::consistency::report::Budget;

    let Some(chromium) = chromium() else { return };
    let dir = TempDir::new("jepsen");
    // Client 0 reads 1 after client 1's cas from 1 to 2 completed.
    let log = "INFO  jepsen.util - 0\t:invoke\t:write\t1\n\
               INFO  jepsen.util - 0\t:ok\t:write\t1\n\
               INFO  jepsen.util - 1\t:invoke\t:cas\t[1 2]\n\
               INFO  jepsen.util - 2\t:invoke\t:write\t4\n\
               INFO  jepsen.util - 1\t:ok\t:cas\t[1 2]\n\
               INFO  jepsen.util - 2\t:info\t:write\t:timed-out\n\
               INFO  jepsen.util - 0\t:invoke\t:read\tnil\n\
               INFO  jepsen.util - 0\t:ok\t:read\t1\n";
    let history = read_etcd_log(log.as_bytes()).unwrap();
    let report = check_linearizable(&CasRegister::<i64>::new(), &history, Budget::default());
    assert_eq!(report.verdict, Verdict::Violated, "{report}");
    let dom = load(&chromium, &dir, "jepsen", &history, &report);
    assert!(
        dom.contains("data-viewer=\"ready\""),
        "the script ran:\n{dom}"
    );
    assert_eq!(count(&dom, "class=\"lane\""), 3);
    assert!(count(&dom, "op failing") >= 1, "{dom}");
    assert!(
        dom.contains("class=\"op open"),
        "the lost write is open:\n{dom}"
    );
}
