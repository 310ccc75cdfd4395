//! `dsys view`: a trace (JSON Lines, from `dsys sim --trace` or `dsys check
//! --trace`) as a self-contained HTML page to step through.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{bail, Context as _};
use clap::Args;

use crate::core::trace::{html, Trace, TraceEvent};

use super::sim::{create, write_page};

#[derive(Debug, Args)]
pub(crate) struct ViewArgs {
    /// The trace, as JSON Lines (`dsys sim --trace`, `dsys check --trace`).
    trace: PathBuf,
    /// Where to write the page (default: the trace's name with `.html`).
    #[arg(short, long, value_name = "FILE.html")]
    output: Option<PathBuf>,
    /// The page's title (default: the trace's file name).
    #[arg(long)]
    title: Option<String>,
    /// Open the page in the default browser once written.
    #[arg(long)]
    open: bool,
}

pub(crate) fn view(args: ViewArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.trace)
        .with_context(|| format!("cannot read the trace {}", args.trace.display()))?;
    let trace = read(&text).with_context(|| {
        format!(
            "{} is not a dsys trace (JSON Lines, as `dsys sim --trace FILE.jsonl` writes)",
            args.trace.display()
        )
    })?;
    let output = args
        .output
        .unwrap_or_else(|| args.trace.with_extension("html"));
    if output == args.trace {
        bail!(
            "the page would overwrite the trace {}: name another file with -o",
            args.trace.display()
        );
    }
    let title = args.title.unwrap_or_else(|| {
        args.trace
            .file_name()
            .map_or_else(|| "trace".to_string(), |n| n.to_string_lossy().into_owned())
    });
    let (path, file) = create(output)?;
    write_page(&path, file, &html::render(&trace, &title, None))?;
    if args.open {
        open(&path)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The trace in `text`, or an error naming the first bad line.
fn read(text: &str) -> anyhow::Result<Trace> {
    let mut trace = Trace::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event: TraceEvent = serde_json::from_str(line)
            .with_context(|| format!("line {}: not a trace record", number + 1))?;
        trace.push(event.time_ns, event.node, event.clock, event.kind);
        if let Some(state) = event.state {
            trace.set_state(trace.len() - 1, state);
        }
    }
    Ok(trace)
}

/// Opens `path` with the desktop's default handler.
fn open(path: &Path) -> anyhow::Result<()> {
    let (program, args): (&str, Vec<&std::ffi::OsStr>) = if cfg!(target_os = "macos") {
        ("open", vec![path.as_os_str()])
    } else if cfg!(windows) {
        (
            "cmd",
            vec![
                "/C".as_ref(),
                "start".as_ref(),
                "".as_ref(),
                path.as_os_str(),
            ],
        )
    } else {
        ("xdg-open", vec![path.as_os_str()])
    };
    let status = Command::new(program)
        .args(&args)
        .stdin(Stdio::null())
        .status()
        .with_context(|| {
            format!(
                "cannot run {program} to open {}: open it in a browser yourself",
                path.display()
            )
        })?;
    if !status.success() {
        bail!(
            "{program} could not open {} ({status}): open it in a browser yourself",
            path.display()
        );
    }
    Ok(())
}
