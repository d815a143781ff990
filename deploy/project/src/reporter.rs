//! How long-running library work (builds, installs, measurements, the optimizer loop) reports
//! progress: the caller hands in a reporter, and only the CLI's decides where the lines go.

/// Receives progress lines meant for a person watching.
pub trait Reporter: Send + Sync {
    /// One line of progress, without a trailing newline.
    fn note(&self, line: &str);
}

/// A reporter that drops everything: for tests and for work nobody watches.
#[derive(Debug, Default, Clone, Copy)]
pub struct Quiet;

impl Reporter for Quiet {
    fn note(&self, _: &str) {}
}
