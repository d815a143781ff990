//! `fusion report`: renders recorded optimizer loops (`fusion optimize --loop` and `fusion demo`
//! keep each in the project's `.fusion/loops/`) into one self-contained HTML page.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use fusion_project::Project;
use fusion_report::html;
use fusion_tune::record;
use fusion_tune::tuning_loop::LoopReport;

/// `fusion report`'s options.
#[derive(clap::Args)]
pub struct Args {
    /// Recorded loops (`.fusion/loops/<app>-<time>.json`): a section each, in this order. None:
    /// the project's newest loop.
    #[arg(value_name = "FILE.json")]
    files: Vec<PathBuf>,
    /// Where the page goes (default: the first file's path with `.html` for `.json`).
    #[arg(short = 'o', long, value_name = "FILE.html")]
    output: Option<PathBuf>,
}

/// Reads the loops (the newest of the project `project` opens, when none is named) and writes
/// their page.
pub async fn run(args: Args, project: impl FnOnce() -> Result<Project>) -> Result<()> {
    let files = match args.files {
        files if !files.is_empty() => files,
        _ => vec![newest(&record::loops_dir(&project()?))?],
    };
    let loops = files.iter().map(|f| record::load(f)).collect::<Result<Vec<_>>>()?;
    let output = args.output.unwrap_or_else(|| files[0].with_extension("html"));
    write(&output, &loops)?;
    println!("report: {}", output.display());
    Ok(())
}

/// The most recently written loop in `dir`.
fn newest(dir: &Path) -> Result<PathBuf> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("no recorded loops in {} (run `fusion optimize --loop` or `fusion demo`)", dir.display()))?;
    let loops = entries.filter_map(Result::ok).filter(|e| e.path().extension().is_some_and(|x| x == "json"));
    let newest = loops.filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path()))).max();
    newest.map(|(_, path)| path).with_context(|| format!("no recorded loops in {} (run `fusion optimize --loop` or `fusion demo`)", dir.display()))
}

/// Writes the page of `loops` to `path`, making its folder when it is missing.
pub fn write(path: &Path, loops: &[LoopReport]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, html::render(loops)).with_context(|| format!("cannot write {}", path.display()))
}
