//! What the end-to-end tests share: running `fusion`, a `fusion up` that cannot outlive its test,
//! and moto. Each test crate uses a part of it.
#![allow(dead_code)]

pub mod c_toolchain;
pub mod moto;

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// `fusion ARGS` in the current directory.
pub fn fusion(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fusion")).args(args).output().expect("fusion runs")
}

/// `fusion ARGS` in `dir`.
pub fn fusion_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fusion")).args(args).current_dir(dir).output().expect("fusion runs")
}

/// The stdout of a command that must have succeeded.
pub fn ok(out: &Output) -> String {
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The stderr of a command that must have failed.
pub fn failed(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A `fusion up` process, killed (with its hosts) when the test ends, even by a failed assertion.
pub struct Up(pub Child);

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `command` (a `fusion up …`) and returns it once its cluster is up, with the lines it
/// printed until then (the table of functions and the front door).
pub fn spawn_up(command: &mut Command) -> (Up, Vec<String>) {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("fusion up starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let up = Up(child);
    let mut reader = std::io::BufReader::new(stdout).lines();
    let lines = reader.by_ref().map_while(Result::ok).take_while(|l| !l.starts_with("telemetry:")).collect();
    // Keep reading what it prints later: a closed pipe would make its next line fail, and it with it.
    std::thread::spawn(move || reader.for_each(drop));
    (up, lines)
}
