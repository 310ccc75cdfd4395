//! Headless Chromium for the tests of the HTML views (`tests/views.rs`:
//! `views/history.rs`, `views/trace.rs`), included with `#[path = "support/chromium.rs"] mod
//! chromium;`.
//!
//! Needs Debian's `chromium` package (`apt-get install chromium`), or any
//! Chromium or Chrome named by the `CHROMIUM` environment variable. Without
//! one the tests say what to install and pass — unless `CI` is set: in CI a
//! missing Chromium is a failure (`.ci/run` installs it).
//!
//! Set `DSYS_VIEW_KEEP=DIR` to keep the pages and screenshots in DIR.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one Chromium run may take before it is killed.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(90);

const INSTALL_HINT: &str = "headless Chromium is needed to test the HTML views: \
     install Debian's `chromium` package (`apt-get update && apt-get install -y chromium`), \
     or point the CHROMIUM environment variable at a Chromium or Chrome binary";

/// Chromium, or `None` (after saying what to install) when it is missing
/// and `CI` is unset. With `CI` set, a missing Chromium fails the test.
pub fn chromium() -> Option<PathBuf> {
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
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(test: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("dsys-view-{}-{test}", std::process::id()));
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
                    if entry.path().is_file() {
                        let _ = fs::copy(entry.path(), keep.join(entry.file_name()));
                    }
                }
            }
        }
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Runs headless Chromium on `page` (with `fragment` after `#` when not
/// empty) with `args` (its own profile in `dir`, no sandbox: CI runs as
/// root) and returns its stdout.
pub fn run_chromium(
    chromium: &Path,
    dir: &Path,
    args: &[String],
    page: &Path,
    fragment: &str,
) -> String {
    let mut url = format!("file://{}", page.display());
    if !fragment.is_empty() {
        url.push('#');
        url.push_str(fragment);
    }
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
        .arg(url)
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

/// The DOM of `page` (opened at `fragment`) after its scripts ran.
pub fn dump_dom(chromium: &Path, dir: &Path, page: &Path, fragment: &str) -> String {
    run_chromium(chromium, dir, &["--dump-dom".to_string()], page, fragment)
}

/// Takes a `width`×`height` screenshot of `page` into `png`, and checks it
/// is a PNG of that size.
pub fn screenshot(
    chromium: &Path,
    dir: &Path,
    page: &Path,
    fragment: &str,
    png: &Path,
    (width, height): (u32, u32),
) {
    run_chromium(
        chromium,
        dir,
        &[
            format!("--screenshot={}", png.display()),
            format!("--window-size={width},{height}"),
        ],
        page,
        fragment,
    );
    let bytes = fs::read(png).expect("chromium wrote the screenshot");
    assert_eq!(png_size(&bytes), (width, height));
}

/// The width and height of a PNG file, from its IHDR chunk.
pub fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(
        bytes.len() > 24 && bytes.starts_with(b"\x89PNG\r\n\x1a\n") && &bytes[12..16] == b"IHDR",
        "not a PNG file"
    );
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

/// How many times `needle` occurs in `dom`.
pub fn count(dom: &str, needle: &str) -> usize {
    dom.matches(needle).count()
}
