//! What the end-to-end tests share: running `fusion`, a `fusion up` that cannot outlive its test,
//! moto, and the machine itself.

pub mod autopilot;
pub mod c_toolchain;
mod machine;
pub mod moto;
pub mod otlp;

pub use machine::{alone, shared};

use std::io::BufRead;
use std::process::{Child, Command, Output, Stdio};

/// `fusion ARGS` in the current directory.
pub fn fusion(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fusion")).args(args).output().expect("fusion runs")
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

/// A Python virtual environment in the user's toolchain cache with `requirement` installed from
/// PyPI (once: later calls find it there).
pub fn python_venv(name: &str, requirement: &str) -> std::path::PathBuf {
    let venv = fusion_project::toolchains_dir().join(name);
    let done = venv.join(".installed");
    if std::fs::read_to_string(&done).ok().as_deref() != Some(requirement) {
        assert!(Command::new("python3").args(["-m", "venv"]).arg(&venv).status().unwrap().success(), "python3 -m venv");
        let pip = Command::new(venv.join("bin/pip")).args(["install", "--quiet", "--disable-pip-version-check", requirement]).status().unwrap();
        assert!(pip.success(), "pip install {requirement}");
        std::fs::write(&done, requirement).unwrap();
    }
    venv
}

/// Makes sure `program` (from Debian's `package`) can run: found on PATH, or installed with
/// apt-get when the tests run as root without it (a fresh CI machine), as the guest toolchains and
/// moto are installed on first use. Otherwise the test fails saying what to install.
pub fn debian_program(program: &str, package: &str) {
    static APT: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_install_at_a_time = APT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let runs = || Command::new(program).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if runs() {
        return;
    }
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(root, "this test needs `{program}`: install Debian's `{package}` package (`.ci/run` does; run as root, the tests install it themselves)");
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends", package])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !install() {
        let _ = Command::new("apt-get").args(["update", "-qq"]).status();
        assert!(install(), "apt-get install {package} failed");
    }
    assert!(runs(), "`{program}` does not run after installing Debian's `{package}`");
}

/// A child process (a server the test started), killed and reaped when the test ends, even by a
/// failed assertion.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `fusion up` process; its hosts die with it.
pub type Up = Killed;

/// Starts `command` (a `fusion up …`) and returns it once its cluster is up, with the lines it
/// printed until then (the table of functions and the front door). Panics with what it said on
/// stderr when it ends before its cluster is up.
pub fn spawn_up(command: &mut Command) -> (Up, Vec<String>) {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("fusion up starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");
    let said = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let mut up = Killed(child);
    let mut reader = std::io::BufReader::new(stdout).lines();
    let mut lines = Vec::new();
    loop {
        match reader.next() {
            Some(Ok(line)) if line.starts_with("telemetry:") => break,
            Some(Ok(line)) => lines.push(line),
            _ => {
                let status = up.0.wait().unwrap();
                panic!("fusion up ended ({status}) before its cluster was up:\n{}\n{}", lines.join("\n"), said.join().unwrap());
            }
        }
    }
    // Keep reading what it prints later: a closed pipe would make its next line fail, and it with it.
    std::thread::spawn(move || reader.for_each(drop));
    (up, lines)
}
