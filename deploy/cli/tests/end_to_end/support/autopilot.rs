//! A running `fusion optimize --watch` (the autopilot), what it printed, its journal, and Ctrl-C.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fusion_test_artifacts::project;
use serde_json::Value;

use super::Killed;

/// The autopilot process, killed when dropped, and the lines it printed so far.
pub struct Autopilot {
    process: Killed,
    printed: Arc<Mutex<Vec<String>>>,
}

impl Autopilot {
    /// Starts `command` (a `fusion optimize --watch …`) on the reference project `app`, with a
    /// fresh journal.
    pub fn start(app: &str, command: &mut Command) -> Autopilot {
        let _ = std::fs::remove_file(journal_path(app));
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("the autopilot starts");
        let stdout = child.stdout.take().expect("piped");
        let printed = Arc::new(Mutex::new(Vec::new()));
        let lines = printed.clone();
        std::thread::spawn(move || std::io::BufReader::new(stdout).lines().map_while(Result::ok).for_each(|l| lines.lock().unwrap().push(l)));
        Autopilot { process: Killed(child), printed }
    }

    /// Everything it printed so far.
    pub fn printed(&self) -> String {
        self.printed.lock().unwrap().join("\n")
    }

    /// Waits until it printed a line starting with `prefix`, and returns it.
    pub fn wait_for(&self, prefix: &str, within: Duration) -> String {
        let until = std::time::Instant::now() + within;
        loop {
            if let Some(line) = self.printed.lock().unwrap().iter().find(|l| l.starts_with(prefix)) {
                return line.clone();
            }
            assert!(std::time::Instant::now() < until, "the autopilot did not print '{prefix}…': {}", self.printed());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Ctrl-C, and how it ended: whether it exited successfully, and everything it printed.
    pub fn interrupt(mut self) -> (bool, String) {
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(self.process.0.id() as libc::pid_t, libc::SIGINT) };
        let status = self.process.0.wait().unwrap();
        // The reader thread takes the last lines.
        std::thread::sleep(Duration::from_millis(200));
        (status.success(), self.printed())
    }
}

/// The journal of the reference project `app`'s autopilot.
pub fn journal_path(app: &str) -> PathBuf {
    project(app).state_dir().join("autopilot.jsonl")
}

/// The windows of `app`'s journal so far (a line being written is skipped).
pub fn journal(app: &str) -> Vec<Value> {
    std::fs::read_to_string(journal_path(app)).unwrap_or_default().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}
