//! A user's own project, outside this repository: `fusion new`, `fusion add`, build, run, a
//! cluster with its public front door, a mixed load, the optimizer, push; and the clear errors of
//! a bad manifest, a build that leaves no component and a component of a foreign world.

use crate::support;

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

use support::moto::Moto;
use support::{failed, ok, spawn_up};

/// `fusion` run in `dir`, building the projects' Rust tasks into one cargo target folder, as for a
/// user whose `CARGO_TARGET_DIR` says so: the template's dependencies (wit-bindgen's macros,
/// serde_json) compile once for the three projects with Rust tasks, not once each. Python and
/// JavaScript components are cached for this run of the tests only, emptied at its start, so
/// every run builds them (the user's cache would keep them from the last run) and the projects
/// built from the same templates build each once.
fn fusion(dir: &Path, args: &[&str]) -> std::process::Output {
    static EMPTIED: std::sync::Once = std::sync::Once::new();
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("project-tasks");
    let components = Path::new(env!("CARGO_TARGET_TMPDIR")).join("project-components");
    EMPTIED.call_once(|| {
        let _ = std::fs::remove_dir_all(&components);
    });
    Command::new(env!("CARGO_BIN_EXE_fusion"))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env("FUSION_COMPONENT_CACHE", components)
        .output()
        .expect("fusion runs")
}

/// The last response `fusion run` printed, as JSON.
fn response(run: &str) -> serde_json::Value {
    let line = run.lines().find_map(|l| l.strip_prefix("response: ")).unwrap_or_else(|| panic!("no response in {run}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

/// A plain HTTP/1.1 POST, as any client outside Fusion sends it: (status, body).
fn post(url: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    write!(stream, "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

#[test]
fn a_rust_project_builds_runs_serves_its_front_door_and_is_optimized() {
    let _machine = support::shared();
    let home = tempfile::tempdir().unwrap();
    let made = ok(&fusion(home.path(), &["new", "shop", "--template", "rust"]));
    assert!(made.contains("created shop"), "{made}");
    let dir = home.path().join("shop");
    let added = ok(&fusion(&dir, &["add", "audit", "--lang", "rust"]));
    assert!(added.contains("added task audit") && added.contains(r#"fusion_guest::call("audit", &input)"#), "says how to call it: {added}");
    assert!(std::fs::read_to_string(dir.join("fusion.toml")).unwrap().contains("[tasks.audit]"));

    let run = ok(&fusion(&dir.join("tasks/main"), &["run", "--payload", r#"{"quantity": 3}"#, "--requests", "2"]));
    assert!(run.contains("2 requests, 0 errors") && run.contains(r#""verdict":{"ok":true,"quantity":3}"#), "found from a folder below the manifest: {run}");
    for edge in ["check sync in F(main)", "archive async in F(main)"] {
        assert!(run.contains(edge), "{edge} in {run}");
    }

    let (up, lines) = spawn_up(Command::new(env!("CARGO_BIN_EXE_fusion")).args(["up", "--no-build"]).current_dir(&dir));
    let door = lines.iter().find_map(|l| l.strip_prefix("front door: ")).and_then(|l| l.split_whitespace().next()).unwrap_or_else(|| panic!("no front door in {lines:?}")).to_string();
    let (status, body) = post(&door, &[("x-fusion-depth", "31"), ("x-fusion-setup-version", "99")], r#"{"quantity": 500}"#);
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["verdict"]["ok"], false, "the entry ran check, whatever x-fusion-* headers said: {body}");
    let (status, body) = post(&door, &[], &"x".repeat(6 * 1024 * 1024 + 1));
    assert_eq!(status, 413, "{body}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["kind"], "rejected", "a typed JSON error: {body}");
    let (status, body) = post(&door, &[], "not json");
    assert_eq!(status, 400, "{body}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["kind"], "rejected", "a typed JSON error: {body}");
    let state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join(".fusion/cluster/cluster.json")).unwrap()).unwrap();
    let (status, _) = post(state["endpoints"]["main"].as_str().unwrap(), &[], "{}");
    assert_eq!(status, 404, "the functions' own listener has no front door");

    let mix = dir.join("mix.json");
    std::fs::write(&mix, r#"[{"weight": 3, "payload": {"quantity": 1}}, {"weight": 1, "payload": {"quantity": 200}}]"#).unwrap();
    let load = ok(&fusion(&dir, &["load", "--mix", mix.to_str().unwrap(), "--rate", "8", "--duration", "1s"]));
    assert!(load.contains("8 requests") && load.contains("0 failed"), "{load}");
    let extracted = ok(&fusion(&dir, &["extract"]));
    assert!(extracted.contains("main → check") && extracted.contains("main → archive"), "{extracted}");
    let optimized = ok(&fusion(&dir, &["optimize"]));
    assert!(optimized.contains("pick (balanced)"), "{optimized}");
    let pushed = ok(&fusion(&dir, &["push", "--no-build"]));
    assert_eq!(pushed.matches("unchanged").count(), 4, "`fusion up` pushed all four components already: {pushed}");

    // Started again, `fusion up` serves the setup applied meanwhile, adding no version.
    ok(&fusion(&dir, &["setup", "apply", "all-local"]));
    drop(up);
    let (up, _) = spawn_up(Command::new(env!("CARGO_BIN_EXE_fusion")).args(["up", "--no-build"]).current_dir(&dir));
    let history = ok(&fusion(&dir, &["setup", "history"]));
    let versions: Vec<&str> = history.lines().filter(|l| l.trim_start_matches('*').trim_start().starts_with('v')).collect();
    assert_eq!(versions.len(), 2, "all-remote, then all-local: {history}");
    assert!(versions[1].starts_with('*') && versions[1].contains("all-local"), "all-local is current: {history}");
    drop(up);

    // The same project on AWS (moto), from its own folder, with a public front door.
    let moto = Moto::start();
    let deployed = moto.deploy(&dir, &["--bucket", "shop-deploy", "--no-build", "--setup", "all-remote", "--url", "none"]);
    for task in ["main", "check", "archive", "audit"] {
        assert!(deployed.lines().any(|l| l.trim_start().starts_with(&format!("fusion-shop-{task} ")) && l.ends_with("created")), "{task}: {deployed}");
    }
    assert!(deployed.contains("front door: "), "{deployed}");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let entry = runtime.block_on(moto.configuration("fusion-shop-main")).expect("the entry function exists");
    assert_eq!(entry["Environment"]["Variables"]["FUSION_APP"], "shop", "{entry}");
    assert!(runtime.block_on(moto.lambda_get("/2021-10-31/functions/fusion-shop-main/url")).is_some(), "the entry function has its Function URL");
    let destroyed = moto.deploy(&dir, &["--bucket", "shop-deploy", "--destroy"]);
    assert!(destroyed.contains("removed 4 functions, its role"), "{destroyed}");
}

#[test]
fn a_python_project_builds_and_runs_unchanged() {
    let _machine = support::shared();
    let home = tempfile::tempdir().unwrap();
    ok(&fusion(home.path(), &["new", "py", "--template", "python"]));
    let run = ok(&fusion(&home.path().join("py"), &["run", "--payload", r#"{"quantity": 101}"#, "--requests", "2"]));
    assert!(run.contains("2 requests, 0 errors"), "{run}");
    assert_eq!(response(&run)["verdict"], serde_json::json!({"ok": false, "quantity": 101}), "{run}");
    assert!(run.contains("archive async in F(main)"), "{run}");
    for task in ["main", "check", "archive"] {
        let folder = home.path().join("py/tasks").join(task);
        assert!(folder.join("task.py").is_file() && !folder.join("__pycache__").exists(), "the build leaves no bytecode in {}", folder.display());
    }
    // The same code in another project is not built again.
    ok(&fusion(home.path(), &["new", "copy", "--template", "python"]));
    let build = fusion(&home.path().join("copy"), &["build"]);
    ok(&build);
    let built = String::from_utf8_lossy(&build.stderr);
    assert_eq!(built.matches("from the component cache").count(), 3, "{built}");
    let (first, copy) = (home.path().join("py/.fusion/components/check.wasm"), home.path().join("copy/.fusion/components/check.wasm"));
    assert_eq!(std::fs::read(first).unwrap(), std::fs::read(copy).unwrap());
}

/// The JavaScript template as written, then with `check` replaced by a task in C that its own
/// `build` command compiles (examples/c-task: clang for wasm32 with wasi-libc, `wit-bindgen c`,
/// `wasm-tools component new`), with the tools from the machine or the toolchain cache.
#[test]
fn a_javascript_project_runs_unchanged_and_with_a_task_in_c() {
    let _machine = support::shared();
    let home = tempfile::tempdir().unwrap();
    ok(&fusion(home.path(), &["new", "web", "--template", "js"]));
    let dir = home.path().join("web");
    let run = ok(&fusion(&dir, &["run", "--payload", r#"{"quantity": 4}"#, "--requests", "2"]));
    assert!(run.contains("2 requests, 0 errors") && run.contains(r#""verdict":{"ok":true,"quantity":4}"#), "{run}");

    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/c-task");
    std::fs::create_dir(dir.join("c-check")).unwrap();
    for file in ["check.c", "build.sh"] {
        std::fs::copy(example.join(file), dir.join("c-check").join(file)).unwrap();
    }
    let manifest = std::fs::read_to_string(dir.join("fusion.toml")).unwrap();
    let js_check = "[tasks.check]\njs = \"tasks/check/task.js\"";
    assert!(manifest.contains(js_check), "{manifest}");
    std::fs::write(dir.join("fusion.toml"), manifest.replace(js_check, "[tasks.check]\nbuild = \"sh c-check/build.sh\"\ncomponent = \"c-check/check.wasm\"")).unwrap();
    let c = support::c_toolchain::ensure();
    let built = Command::new(env!("CARGO_BIN_EXE_fusion")).arg("build").current_dir(&dir).env("PATH", &c.path).env("CC", &c.cc).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&built.stdout), String::from_utf8_lossy(&built.stderr));
    assert!(built.status.success(), "the C task builds with CC={}: {text}", c.cc);
    assert!(text.contains("building check with `sh c-check/build.sh`"), "{text}");
    for (quantity, verdict) in [(7, r#""verdict":{"ok":true,"quantity":7}"#), (250, r#""verdict":{"ok":false,"quantity":250}"#)] {
        let run = ok(&fusion(&dir, &["run", "--no-build", "--setup", "all-remote", "--payload", &format!(r#"{{"quantity": {quantity}}}"#), "--requests", "1"]));
        assert!(run.contains("1 requests, 0 errors") && run.contains(verdict), "JavaScript called C: {run}");
    }
    let refused = ok(&fusion(&dir, &["run", "--no-build", "--payload", r#"{"quantity": -2}"#, "--requests", "1"]));
    assert!(refused.contains("quantity must not be negative"), "the C task's error reaches the caller: {refused}");
}

#[test]
fn a_mixed_project_builds_and_runs_its_python_and_javascript_tasks() {
    let _machine = support::shared();
    let home = tempfile::tempdir().unwrap();
    ok(&fusion(home.path(), &["new", "mixed", "--template", "mixed"]));
    let run = ok(&fusion(&home.path().join("mixed"), &["run", "--payload", r#"{"quantity": 7}"#, "--requests", "1"]));
    assert!(run.contains(r#""verdict":{"ok":true,"quantity":7}"#), "Rust called Python: {run}");
    assert!(run.contains("archive async in F(main)"), "and JavaScript: {run}");
}

#[test]
fn bad_manifests_builds_and_components_are_refused_and_nothing_else_is_lost() {
    let _machine = support::shared();
    let home = tempfile::tempdir().unwrap();
    ok(&fusion(home.path(), &["new", "app", "--template", "rust"]));
    let dir = home.path().join("app");
    ok(&fusion(&dir, &["build"]));
    let components = dir.join(".fusion/components");
    let manifest = std::fs::read_to_string(dir.join("fusion.toml")).unwrap();

    std::fs::write(dir.join("fusion.toml"), manifest.replace("entry = \"main\"", "entry = \"main\"\ncolour = \"blue\"")).unwrap();
    let err = failed(&fusion(&dir, &["build"]));
    assert!(err.contains("line 4, column 1") && err.contains("unknown field `colour`"), "{err}");
    assert!(components.join("main.wasm").is_file(), "what was built before is still there");

    let foreign = fusion_test_artifacts::other_world_component();
    let with_foreign = format!("{manifest}\n[tasks.alien]\nbuild = \"cp {} alien.wasm\"\ncomponent = \"alien.wasm\"\n", foreign.display());
    std::fs::write(dir.join("fusion.toml"), &with_foreign).unwrap();
    let err = failed(&fusion(&dir, &["build"]));
    assert!(err.contains("task 'alien' was refused") && err.contains("fusion:task world"), "{err}");
    assert!(!components.join("alien.wasm").exists(), "a refused component is not left to run");

    std::fs::write(dir.join("fusion.toml"), format!("{manifest}\n[tasks.ghost]\nbuild = \"true\"\ncomponent = \"ghost.wasm\"\n")).unwrap();
    let err = failed(&fusion(&dir, &["build"]));
    assert!(err.contains("task 'ghost' succeeded but left no component at"), "{err}");

    std::fs::write(dir.join("fusion.toml"), &manifest).unwrap();
    assert!(ok(&fusion(&dir, &["run", "--requests", "1"])).contains("1 requests, 0 errors"), "the project is whole again");
    let outside = tempfile::tempdir().unwrap();
    let err = failed(&fusion(outside.path(), &["build"]));
    assert!(err.contains("no fusion.toml in") && err.contains("fusion new"), "no fallback to this repository: {err}");
}
