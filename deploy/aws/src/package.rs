//! The Lambda package: a zip holding the host binary as `bootstrap`, the entry of a custom
//! runtime on `provided.al2023`. The binary is built static (musl) with cargo-zigbuild, which
//! cross-compiles to arm64 as well; cargo-zigbuild and zig come from PyPI into
//! the user's toolchain cache.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use fusion_build::run;
use fusion_project::{Reporter, Project};

/// A Lambda instruction set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// x86_64.
    X86_64,
    /// arm64 (Graviton).
    Arm64,
}

impl std::str::FromStr for Arch {
    type Err = String;

    fn from_str(name: &str) -> Result<Arch, String> {
        [Arch::X86_64, Arch::Arm64].into_iter().find(|a| a.lambda_name() == name).ok_or_else(|| format!("unknown architecture '{name}' (x86_64, arm64)"))
    }
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.lambda_name())
    }
}

impl Arch {
    /// The name in Lambda's API.
    pub fn lambda_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }

    fn rust_target(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-linux-musl",
            Arch::Arm64 => "aarch64-unknown-linux-musl",
        }
    }
}

/// The package, and base64 of its SHA-256 as Lambda reports it (`CodeSha256`).
pub struct Package {
    /// The zip.
    pub zip: Vec<u8>,
    /// Base64 of its SHA-256.
    pub sha256: String,
}

/// Zips `binary` as `bootstrap`. The zip is the same for the same binary (fixed timestamps), so
/// an unchanged host is not uploaded again.
pub fn package(binary: &Path) -> Result<Package> {
    let bytes = std::fs::read(binary).with_context(|| format!("reading the host binary {}", binary.display()))?;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755)
        .last_modified_time(zip::DateTime::default());
    zip.start_file("bootstrap", options)?;
    zip.write_all(&bytes)?;
    let zip = zip.finish()?.into_inner();
    use base64::Engine;
    let sha256 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&zip));
    Ok(Package { zip, sha256 })
}

/// Builds `fusion-host` for Lambda on `arch` in the checkout of Fusion this binary was built
/// from; returns the binary. An installed `fusion` whose checkout is gone says how to get one.
pub fn build_host(project: &Project, arch: Arch, reporter: &dyn Reporter) -> Result<PathBuf> {
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    anyhow::ensure!(
        checkout.join("server/Cargo.toml").is_file(),
        "the Lambda build of fusion-host is made from Fusion's repository, which is not at {}: build it there with \
         `cargo zigbuild --profile lambda -p fusion-server --bin fusion-host --target {}` and pass --host-binary",
        checkout.display(),
        arch.rust_target()
    );
    let zig = project.toolchains_dir().join("zig");
    let program = zig.join("bin/cargo-zigbuild");
    if !program.is_file() {
        reporter.note(&format!("installing cargo-zigbuild and zig from PyPI into {}", zig.display()));
        run(Command::new("python3").args(["-m", "venv"]).arg(&zig), "python3 -m venv")?;
        run(Command::new(zig.join("bin/pip")).args(["install", "--quiet", "--disable-pip-version-check", "cargo-zigbuild", "ziglang"]), "pip install cargo-zigbuild ziglang")?;
    }
    run(Command::new("rustup").args(["target", "add", arch.rust_target()]), "rustup target add")?;
    let path = std::env::join_paths(std::iter::once(zig.join("bin")).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())))?;
    run(
        Command::new(&program)
            .args(["zigbuild", "--profile", "lambda", "-p", "fusion-server", "--bin", "fusion-host", "--target", arch.rust_target()])
            .current_dir(&checkout)
            .env("PATH", path),
        "cargo zigbuild",
    )?;
    Ok(checkout.join("target").join(arch.rust_target()).join("lambda/fusion-host"))
}
