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
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dsys::replication::consistency::history::History;
use dsys::replication::consistency::html::render;
use dsys::replication::consistency::models::{CasRegister, RegisterOp, RegisterRet};
use dsys::replication::consistency::report::{PartReport, Report, Step, Verdict};

/// How long one Chromium run may take before it is killed.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(90);

const INSTALL_HINT: &str = "headless Chromium is needed to test the HTML history view: \
     install Debian's `chromium` package (`apt-get update && apt-get install -y chromium`), \
     or point the CHROMIUM environment variable at a Chromium or Chrome binary";

/// Chromium, or `None` (after saying what to install) when it is missing
/// and `CI` is unset. With `CI` set, a missing Chromium fails the test.
fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .filter(|path| path.is_file())
        .or_else(|| {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path).find_map(|dir| {
                [
                    "chromium",
                    "chromium-browser",
                    "google-chrome",
                    "google-chrome-stable",
                ]
                .iter()
                .map(|name| dir.join(name))
                .find(|candidate| candidate.is_file())
            })
        });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set and Chromium is missing: {INSTALL_HINT}"
        );
        eprintln!("SKIPPED: {INSTALL_HINT}");
    }
    found
}

/// A fresh directory under the system temp dir, removed on drop (or kept
/// in `DSYS_VIEW_KEEP`).
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let path =
            std::env::temp_dir().join(format!("dsys-history-view-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Some(keep) = std::env::var_os("DSYS_VIEW_KEEP") {
            let keep = PathBuf::from(keep);
            let _ = fs::create_dir_all(&keep);
            if let Ok(entries) = fs::read_dir(&self.0) {
                for entry in entries.flatten() {
                    let _ = fs::copy(entry.path(), keep.join(entry.file_name()));
                }
            }
        }
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Runs headless Chromium on `page` with `args` (its own profile in `dir`,
/// no sandbox: CI runs as root) and returns its stdout.
fn run_chromium(chromium: &Path, dir: &Path, args: &[String], page: &Path) -> String {
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", chromium.display()));
    // Read stdout on a thread, so a large DOM cannot fill the pipe while we wait.
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut out).map(|_| out)
    });
    let errors = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut out);
        out
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if started.elapsed() > CHROMIUM_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {CHROMIUM_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = reader
        .join()
        .expect("reader thread")
        .expect("chromium stdout is UTF-8");
    let err = errors.join().expect("stderr thread");
    assert!(status.success(), "chromium failed ({status}):\n{err}");
    out
}

/// The width and height of a PNG file, from its IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(
        bytes.len() > 24 && bytes.starts_with(b"\x89PNG\r\n\x1a\n") && &bytes[12..16] == b"IHDR",
        "not a PNG file"
    );
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

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
    let dom = run_chromium(chromium, &dir.0, &["--dump-dom".to_string()], &page);
    let screenshot = dir.0.join(format!("{name}.png"));
    run_chromium(
        chromium,
        &dir.0,
        &[
            format!("--screenshot={}", screenshot.display()),
            "--window-size=1200,800".to_string(),
        ],
        &page,
    );
    let png = fs::read(&screenshot).expect("chromium wrote the screenshot");
    assert_eq!(png_size(&png), (1200, 800));
    dom
}

fn count(dom: &str, needle: &str) -> usize {
    dom.matches(needle).count()
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
