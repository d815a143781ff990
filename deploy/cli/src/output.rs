//! Where the CLI's output goes: results on stdout, progress on stderr.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use fusion_measure::load::Progress;
use fusion_measure::stats::Summary;
use fusion_project::Reporter;

/// The reporter the CLI hands to long work: one line per note, on stderr for progress, or on
/// stdout where the notes are the result as it streams in (the optimizer loop's table).
#[derive(Clone, Copy)]
pub enum Terminal {
    /// Progress, on stderr.
    Progress,
    /// Rows of the command's result, on stdout.
    Results,
}

impl Reporter for Terminal {
    fn note(&self, line: &str) {
        match self {
            Terminal::Progress => eprintln!("{line}"),
            Terminal::Results => println!("{line}"),
        }
    }
}

/// Whether progress is drawn: only on a terminal. In a log or a pipe, frames redrawn in place
/// would pile up on one line.
pub fn draws_progress() -> bool {
    std::io::stderr().is_terminal()
}

/// A progress bar for a load of `total` length, redrawn in place on stderr when it is a terminal.
pub fn progress_bar(total: Duration) -> impl FnMut(&Progress) {
    let draw = draws_progress();
    move |p: &Progress| {
        if !draw {
            return;
        }
        const WIDTH: usize = 30;
        let filled = ((p.elapsed.as_secs_f64() / total.as_secs_f64().max(1e-9)).min(1.0) * WIDTH as f64) as usize;
        eprint!(
            "\r[{}{}] {:>5.1}/{:.0} s  sent {:>5}  answered {:>5}  failed {:>3}",
            "#".repeat(filled),
            " ".repeat(WIDTH - filled),
            p.elapsed.as_secs_f64(),
            total.as_secs_f64(),
            p.sent,
            p.done,
            p.failed
        );
        let _ = std::io::stderr().flush();
    }
}

/// The median of `samples` (zero when there are none).
pub fn median(samples: &[Duration]) -> Duration {
    Summary::of(samples).map_or(Duration::ZERO, |s| s.p50)
}

/// Milliseconds, for printing.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Prints a failed command's error and its causes, one per line; a backtrace only when
/// `FUSION_BACKTRACE=1` asks for one (RUST_BACKTRACE is often set on developer machines).
pub fn error(err: &anyhow::Error) {
    eprintln!("error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    if std::env::var_os("FUSION_BACKTRACE").is_some_and(|v| v == "1") {
        eprintln!("\n{}", err.backtrace());
    }
}
