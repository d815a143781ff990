//! Builds every task component of the checkout once, before any test or benchmark that depends
//! on this crate compiles, and tells them where the components are. The builder is incremental,
//! so a rerun after an unrelated change costs a cargo no-op.

use std::path::Path;

use fusion_project::{Quiet, Workspace};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the checkout");
    let ws = Workspace::at(&root).expect("a Fusion checkout");
    // What the components are built from (tasks/target and the toolchains are outputs).
    for input in ["wit", "guest-sdk/src", "guest-sdk/Cargo.toml", "guest-sdk/python", "guest-sdk/js/fusion.js", "guest-sdk/js/package.json", "tasks/Cargo.toml", "tasks/Cargo.lock"] {
        println!("cargo::rerun-if-changed={}", root.join(input).display());
    }
    for app in std::fs::read_dir(ws.tasks_dir()).expect("tasks/").flatten() {
        if app.path().is_dir() && app.file_name() != "target" {
            println!("cargo::rerun-if-changed={}", app.path().display());
        }
    }
    if let Err(err) = fusion_build::build(&ws, &Quiet) {
        panic!("building the task components failed: {err:#}");
    }
    println!("cargo::rustc-env=FUSION_TEST_ROOT={}", root.display());
}
