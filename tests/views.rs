//! The HTML views in headless Chromium: the history view
//! (`dsys_replication::consistency::html`, in `views/history.rs`) and the
//! trace viewer (`dsys_core::trace::html`, in `views/trace.rs`). One test
//! binary for both, so that a fresh clone links one binary fewer.
//!
//! Needs Debian's `chromium` package (see `support/chromium.rs`).

#[path = "support/chromium.rs"]
mod chromium;
#[path = "views/history.rs"]
mod history;
#[path = "views/trace.rs"]
mod trace;
