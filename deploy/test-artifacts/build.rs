//! Builds every reference project of the checkout (`tasks/*/fusion.toml`) once, before any test
//! or benchmark that depends on this crate compiles, plus a stand-alone component of a foreign
//! world for the tests that check it is refused. The builder is incremental, so a rerun after an
//! unrelated change costs a cargo no-op.

use std::path::Path;

use fusion_project::{Project, Quiet};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("the checkout");
    // What the components are built from (tasks/target, .fusion and the toolchains are outputs).
    for input in ["wit", "guest-sdk/src", "guest-sdk/Cargo.toml", "guest-sdk/python", "guest-sdk/js/fusion.js", "guest-sdk/js/package.json", "tasks/Cargo.toml", "tasks/Cargo.lock"] {
        println!("cargo::rerun-if-changed={}", root.join(input).display());
    }
    let tasks = root.join("tasks");
    let mut apps: Vec<_> = std::fs::read_dir(&tasks).expect("tasks/").flatten().map(|e| e.path()).filter(|p| p.join("fusion.toml").is_file()).collect();
    apps.sort();
    for app in &apps {
        for entry in std::fs::read_dir(app).expect("an app folder").flatten() {
            if entry.file_name() != ".fusion" {
                println!("cargo::rerun-if-changed={}", entry.path().display());
            }
        }
        let project = Project::open(app).expect("a reference project");
        if let Err(err) = fusion_build::build(&project, &Quiet) {
            panic!("building the components of {} failed: {err:#}", app.display());
        }
    }
    let other_world = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("other_world.wasm");
    if let Err(err) = fusion_build::build_rust_crate(&tasks.join("testkit/other-world"), &other_world, &Quiet) {
        panic!("building the foreign-world component failed: {err:#}");
    }
    println!("cargo::rustc-env=FUSION_TEST_ROOT={}", root.display());
    println!("cargo::rustc-env=FUSION_TEST_OTHER_WORLD={}", other_world.display());
}
