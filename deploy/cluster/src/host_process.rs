//! Host processes (`fusion host serve`, or the `fusion-host` binary) started by the control plane (and by tests and benchmarks):
//! one per function, on a free loopback port, killed when dropped.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail};

use fusion_host::platform::Platform;
use fusion_project::Project;

use crate::store::StoreAccess;

/// The command that starts a host: `fusion host` when the running binary is `fusion` (the one
/// binary a user installs carries the host), else the `fusion-host` or `fusion` binary beside the
/// running one (tests and benches in `target/<profile>/deps` find them one level up). A test
/// binary of the checkout with neither built builds `fusion-host` there.
fn host_command() -> Result<Command> {
    let exe = std::env::current_exe()?;
    if exe.file_stem().is_some_and(|stem| stem == "fusion") {
        return Ok(fusion_host_subcommand(&exe));
    }
    let dir = exe.parent().context("the running binary has no directory")?;
    let dirs = [Some(dir), dir.parent()];
    for dir in dirs.into_iter().flatten() {
        if dir.join("fusion-host").is_file() {
            return Ok(Command::new(dir.join("fusion-host")));
        }
        if dir.join("fusion").is_file() {
            return Ok(fusion_host_subcommand(&dir.join("fusion")));
        }
    }
    let profile_dir = if dir.ends_with("deps") { dir.parent().unwrap_or(dir) } else { dir };
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let built_here = checkout.join("Cargo.toml").is_file() && profile_dir.starts_with(checkout.join("target").canonicalize().unwrap_or_default());
    if !built_here {
        bail!("neither fusion nor fusion-host is beside {}: install Fusion with `cargo install --path deploy/cli` from its repository", exe.display());
    }
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo.args(["build", "-q", "-p", "fusion-server", "--bin", "fusion-host", "--manifest-path"]).arg(checkout.join("Cargo.toml"));
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cargo.arg("--release");
    }
    if !cargo.status().context("running cargo to build fusion-host")?.success() {
        bail!("building fusion-host failed");
    }
    Ok(Command::new(profile_dir.join("fusion-host")))
}

fn fusion_host_subcommand(fusion: &Path) -> Command {
    let mut command = Command::new(fusion);
    command.arg("host");
    command
}

/// How to start one function's host.
pub struct HostSpec<'a> {
    /// The app the function belongs to.
    pub app: &'a str,
    /// The function (named after its task) the host serves.
    pub function: &'a str,
    /// A setup file for a host serving the workspace's components (all-remote when None).
    pub setup: Option<&'a Path>,
    /// A host that follows the app's current setup in a store instead (`setup` is then unused).
    pub store: Option<&'a StoreAccess>,
    /// Where the host caches precompiled artifacts (default: the workspace's cache).
    pub artifacts: Option<&'a Path>,
    /// Function → base URL of its host.
    pub peers: BTreeMap<String, String>,
    /// The secret calls between hosts are signed with.
    pub secret: &'a str,
    /// Where the host writes its spans, JSON lines; None: nowhere.
    pub telemetry: Option<&'a Path>,
    /// `127.0.0.1:0` for any free port.
    pub listen: &'a str,
    /// The platform profile the host emulates.
    pub platform: Platform,
    /// Where the host also serves the app's public front door (the entry function only).
    pub public_listen: Option<&'a str>,
    /// MiB of each pool slot's memory the host keeps mapped between uses (its default if None).
    pub keep_resident_mb: Option<u64>,
}

impl<'a> HostSpec<'a> {
    /// A host of `function` with no peers, on any free port, on the raw platform.
    pub fn new(app: &'a str, function: &'a str, secret: &'a str) -> HostSpec<'a> {
        HostSpec { app, function, setup: None, store: None, artifacts: None, peers: BTreeMap::new(), secret, telemetry: None, listen: "127.0.0.1:0", platform: Platform::RAW, public_listen: None, keep_resident_mb: None }
    }
}

/// A running `fusion-host serve` process; killed when dropped.
pub struct HostProcess {
    /// The function it serves.
    pub function: String,
    /// Its base URL, once it listens.
    pub url: String,
    child: Child,
    _peers_file: tempfile::NamedTempFile,
}

impl HostProcess {
    /// Starts the host and waits until it listens.
    pub fn start(project: &Project, spec: HostSpec<'_>) -> Result<HostProcess> {
        HostProcess::spawn(project, spec)?.ready()
    }

    /// Starts the host without waiting for it. Must be called on a thread that outlives the
    /// host: the kernel's parent-death signal follows the spawning thread, not the process.
    pub fn spawn(project: &Project, spec: HostSpec<'_>) -> Result<HostProcess> {
        let peers_file = tempfile::NamedTempFile::new()?;
        std::fs::write(peers_file.path(), serde_json::to_string(&spec.peers)?)?;
        let mut cmd = host_command()?;
        cmd.arg("serve")
            .arg("--artifacts")
            .arg(spec.artifacts.map_or_else(|| project.artifacts_dir(), Path::to_path_buf))
            .args(["--function", spec.function, "--listen", spec.listen, "--platform", spec.platform.name, "--peers"])
            .arg(peers_file.path())
            .env("FUSION_SECRET", spec.secret)
            .stdout(Stdio::piped());
        die_with_parent(&mut cmd);
        match spec.store {
            Some(store) => {
                cmd.args(["--store", &store.location, "--store-region", &store.region, "--app-name", spec.app]);
                if let Some(endpoint) = &store.endpoint {
                    cmd.args(["--store-endpoint", endpoint]);
                }
                if let Some((key, secret)) = &store.keys {
                    cmd.env("AWS_ACCESS_KEY_ID", key).env("AWS_SECRET_ACCESS_KEY", secret);
                }
                if let Some(key) = &store.artifact_key {
                    cmd.env("FUSION_ARTIFACT_KEY", key);
                }
                cmd.arg("--kv").arg(&store.kv_file);
            }
            None => {
                cmd.arg("--app").arg(crate::write_app_manifest(project)?).arg("--components").arg(project.components_dir());
                if let Some(setup) = spec.setup {
                    cmd.arg("--setup").arg(setup);
                }
            }
        }
        if let Some(public) = spec.public_listen {
            cmd.args(["--public-listen", public]);
        }
        if let Some(path) = spec.telemetry {
            cmd.arg("--telemetry").arg(path);
        }
        if let Some(mb) = spec.keep_resident_mb {
            cmd.arg("--keep-resident-mb").arg(mb.to_string());
        }
        let child = cmd.spawn().context("starting fusion-host")?;
        Ok(HostProcess { function: spec.function.to_string(), url: String::new(), child, _peers_file: peers_file })
    }

    /// The host's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until the spawned host listens (it prints its URL), or fails with what it said.
    pub fn ready(mut self) -> Result<HostProcess> {
        let mut line = String::new();
        let stdout = self.child.stdout.take().context("the host was already waited for")?;
        std::io::BufReader::new(stdout).read_line(&mut line)?;
        let url = line.trim().rsplit(' ').next().unwrap_or_default();
        if !url.starts_with("http://") {
            bail!("fusion-host for '{}' did not start (it said '{}')", self.function, line.trim());
        }
        self.url = url.to_string();
        Ok(self)
    }

    /// Asks the host to finish the work it accepted and exit.
    pub fn terminate(&mut self) {
        // SAFETY: sending a signal to our own child.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
    }

    /// Waits for the host to exit until `deadline`, then kills it.
    pub fn wait_until(&mut self, deadline: std::time::Instant) {
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        self.kill();
    }

    /// Kills the host at once and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A host must not outlive the control plane that started it, even when that is killed outright.
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
