//! The autopilot (`fusion optimize --watch`) beside a `fusion up` cluster and the traffic it
//! gets: it rolls back a setup that was predicted better and measured worse and does not try it
//! again; it follows Webshop from a browse-heavy to a checkout-heavy mix to a different setup,
//! holds while the mix is stable, and no request fails across the switches; Ctrl-C leaves the
//! current setup serving.

use crate::support;

use std::process::Command;
use std::time::{Duration, Instant};

use fusion_cluster::ClusterState;
use fusion_measure::load::{self, LoadSpec, Profile};
use fusion_measure::mix::Mix;
use fusion_test_artifacts::{SMALL_WORK, project, project_dir};
use serde_json::Value;
use support::autopilot::{Autopilot, journal};
use support::{fusion, ok, spawn_up};

/// The autopilot on the reference project `app`, started once it has said what it watches.
fn start_autopilot(app: &str, knobs: &[&str]) -> Autopilot {
    let autopilot = Autopilot::start(app, Command::new(env!("CARGO_BIN_EXE_fusion")).args(["optimize", "-f", project_dir(app).as_str(), "--watch"]).args(knobs));
    autopilot.wait_for("autopilot on ", Duration::from_secs(30));
    autopilot
}

fn action(entry: &Value) -> &str {
    entry["action"].as_str().unwrap()
}

/// The setup history's `created_by` of `version`.
fn created_by(app: &str, version: u64) -> String {
    let history = ok(&fusion(&["setup", "history", "-f", project_dir(app).as_str()]));
    let line = history.lines().find(|l| l.trim_start_matches(['*', ' ']).starts_with(&format!("v{version} "))).unwrap_or_else(|| panic!("v{version} in {history}"));
    line.to_string()
}

/// The app's current setup version.
fn current_version(app: &str) -> u64 {
    let shown: Value = serde_json::from_str(&ok(&fusion(&["setup", "show", "-f", project_dir(app).as_str()]))).unwrap();
    shown["version"].as_u64().unwrap()
}

/// Sends `payload` to the cluster at `rate` for `duration`; the requests' outcomes.
fn send(cluster: &ClusterState, payload: &str, rate: f64, duration: Duration) -> Vec<load::Outcome> {
    let spec = LoadSpec { rate, duration, profile: Profile::Steady, payload: Mix::single(payload.as_bytes().to_vec()) };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(load::run(cluster, &spec, |_| {})).unwrap()
}

#[test]
fn a_setup_measured_worse_than_predicted_is_rolled_back_and_not_tried_again() {
    let _machine = support::alone();
    // Fusion's own overheads only: fusing promises less than on Lambda, so a slower dependency
    // can undo it.
    let (_up, _) = spawn_up(Command::new(env!("CARGO_BIN_EXE_fusion")).args(["up", "-f", project_dir("iot").as_str(), "--setup", "all-remote", "--platform", "raw"]));
    let cluster = ClusterState::running(&project("iot").cluster_dir()).unwrap();
    let autopilot = start_autopilot("iot", &["--window-requests", "40", "--window", "3s", "--settle", "2s"]);
    let start = current_version("iot");

    // The regression: while the setup the autopilot applies is on trial, every database call
    // takes 30 ms longer (a dependency got slower, say): the model predicted the setup better,
    // its window measures it worse. Afterwards the work is as before.
    let heavy = SMALL_WORK.replace(r#""db_ms":1"#, r#""db_ms":31"#);
    let (mut failed, mut sent) = (0, 0);
    let (mut trial, mut rolled_back) = (None, None);
    let began = Instant::now();
    while began.elapsed() < Duration::from_secs(90) {
        let version = current_version("iot");
        if version != start && trial.is_none() {
            trial = Some(version);
        } else if trial.is_some_and(|t| version > t) && rolled_back.is_none() {
            rolled_back = Some(version);
        }
        let payload = if trial.is_some() && rolled_back.is_none() { heavy.as_str() } else { SMALL_WORK };
        let outcomes = send(&cluster, payload, 20.0, Duration::from_millis(500));
        sent += outcomes.len();
        failed += outcomes.iter().filter(|o| o.error.is_some()).count();
        // Two windows after the rollback, the autopilot has shown it does not go back.
        let after: Vec<Value> = journal("iot").into_iter().skip_while(|e| action(e) != "rollback").skip(1).collect();
        if after.len() >= 2 {
            break;
        }
    }
    let windows = journal("iot");
    let (trial, rolled_back) = (trial.expect("the autopilot applied a setup"), rolled_back.unwrap_or_else(|| panic!("no rollback: {windows:#?}")));
    assert_eq!(failed, 0, "{failed} of {sent} requests failed");

    let applied = windows.iter().find(|e| action(e) == "apply").unwrap();
    assert_eq!((applied["version"].as_u64(), applied["applied"].as_u64()), (Some(start), Some(trial)), "{applied:#}");
    let rollback = windows.iter().find(|e| action(e) == "rollback").unwrap();
    assert_eq!(rollback["version"].as_u64(), Some(trial), "the trial's own window judged it: {rollback:#}");
    let judgement = &rollback["judgement"];
    assert_eq!((judgement["before"].as_u64(), judgement["after"].as_u64(), judgement["worse"].as_bool()), (Some(start), Some(trial), Some(true)), "{rollback:#}");
    assert!(judgement["p_value"].as_f64().unwrap() < 0.01, "{rollback:#}");
    assert_eq!(rollback["applied"].as_u64(), Some(rolled_back));
    // The setup history says why, and the rollback runs the grouping from before the trial.
    let why = created_by("iot", rolled_back);
    assert!(why.contains(&format!("rolled v{trial} back to v{start}'s setup")) && why.contains("Mann–Whitney p = "), "{why}");
    assert!(created_by("iot", trial).contains("fusion autopilot, window 1"), "{}", created_by("iot", trial));
    // Not tried again: the work is as before, the model picks the same setup, which was rolled
    // back under this workload.
    let after: Vec<&Value> = windows.iter().skip_while(|e| action(e) != "rollback").skip(1).collect();
    assert!(after.len() >= 2 && after.iter().all(|e| action(e) == "hold" && e["reason"].as_str().unwrap().contains("was rolled back under this workload")), "{after:#?}");
    assert_eq!(after[0]["version"].as_u64(), Some(rolled_back));
    assert_eq!(after[0]["groups"], applied["groups"], "the rollback runs the groups from before the trial");

    // Ctrl-C: it stops, saying the current setup keeps serving, and that setup serves on.
    let (stopped, printed) = autopilot.interrupt();
    assert!(stopped, "{printed}");
    assert!(printed.contains(&format!("v{rolled_back} keeps serving")), "{printed}");
    assert_eq!(current_version("iot"), rolled_back);
    assert!(send(&cluster, SMALL_WORK, 10.0, Duration::from_millis(500)).iter().all(|o| o.error.is_none()));
}

#[test]
fn the_autopilot_follows_webshop_from_browsing_to_checkout_and_holds_while_the_mix_is_stable() {
    let _machine = support::alone();
    let webshop = project_dir("webshop");
    let (_up, _) = spawn_up(Command::new(env!("CARGO_BIN_EXE_fusion")).args(["up", "-f", webshop.as_str(), "--setup", "all-remote", "--platform", "lambda"]));
    let autopilot = start_autopilot("webshop", &["--window-requests", "60", "--window", "4s", "--settle", "1s"]);
    let mix = |name: &str| format!("{webshop}/mixes/{name}.json");
    let load = |name: &str| ok(&fusion(&["load", "-f", webshop.as_str(), "--mix", mix(name).as_str(), "--rate", "20", "--duration", "30s"]));

    let browsing = load("browse");
    let browse_windows = journal("webshop");
    let checkout = load("checkout");
    std::thread::sleep(Duration::from_secs(3));
    let windows = journal("webshop");
    let (_, printed) = autopilot.interrupt();
    for run in [&browsing, &checkout] {
        assert!(run.contains("600 requests") && run.contains(" 0 failed"), "no request fails across the switches: {run}");
    }

    // Browsing: the autopilot applies a setup, then holds while the mix stays the same.
    let applies = |ws: &[Value]| ws.iter().filter(|e| action(e) != "hold").count();
    assert!(applies(&browse_windows) >= 1, "{printed}");
    let settled: Vec<&Value> = browse_windows.iter().rev().take_while(|e| action(e) == "hold").collect();
    assert!(settled.len() >= 2, "holds on a stable mix: {printed}");
    assert!(settled.iter().all(|e| e["drift"].as_array().unwrap().is_empty()), "a stable mix is no drift: {settled:#?}");
    let browse_setup = browse_windows.last().unwrap()["groups"].as_str().unwrap().to_string();

    // Checkout: drift is noticed and, within three windows of it, a different setup applied;
    // then the autopilot holds again.
    let switched: Vec<&Value> = windows[browse_windows.len()..].iter().collect();
    let drifted = switched.iter().position(|e| !e["drift"].as_array().unwrap().is_empty()).unwrap_or_else(|| panic!("no drift noticed: {printed}"));
    let reapplied = switched.iter().position(|e| action(e) == "apply").unwrap_or_else(|| panic!("nothing applied for checkout: {printed}"));
    assert!(reapplied <= drifted + 2, "{printed}");
    let checkout_setup = switched.last().unwrap()["groups"].as_str().unwrap();
    assert_ne!(checkout_setup, browse_setup, "{printed}");
    let settled = switched.iter().rev().take_while(|e| action(e) == "hold" && e["drift"].as_array().unwrap().is_empty()).count();
    assert!(settled >= 2, "holds again once the mix is stable: {printed}");
}
