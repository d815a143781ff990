//! `fusion report` end to end, in a real browser: the page rendered from loops the real loop
//! recorded loads in headless Chromium (Debian's `chromium`) without a console message, and its
//! DOM holds every chart and, per loop, every labelled point, latency line, cost bar and graph
//! node its data calls for.

use crate::support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fusion_tune::record;
use fusion_tune::tuning_loop::LoopReport;
use fusion_tune::Step;

/// Loops `fusion optimize --loop` recorded on IoT, with the model and with the heuristic.
fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../report/tests/fixtures");
    ["iot-model-loop.json", "iot-heuristic-loop.json"].map(|f| dir.join(f)).into()
}

/// Headless Chromium on `page`, cut off from the network and any profile: its stdout (the DOM
/// once loaded) and the console messages it logged.
fn chromium(page: &Path, profile: &Path) -> (String, Vec<String>) {
    let out: Output = Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"])
        .args(["--disable-component-update", "--disable-sync", "--enable-logging=stderr", "--v=0", "--dump-dom"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap_or_else(|e| panic!("cannot run chromium: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chromium failed: {stderr}");
    let console = stderr.lines().filter(|l| l.contains(":CONSOLE")).map(String::from).collect();
    (String::from_utf8_lossy(&out.stdout).into_owned(), console)
}

/// How many elements of the DOM carry `attribute="value"`.
fn count(dom: &str, attribute: &str, value: &str) -> usize {
    dom.matches(&format!("{attribute}=\"{value}\"")).count()
}

/// The tasks of a step's call graph.
fn tasks(step: &Step) -> BTreeSet<&str> {
    step.observed.edges.iter().filter(|e| e.caller != "client").flat_map(|e| [e.caller.as_str(), e.callee.as_str()]).collect()
}

#[test]
fn the_report_loads_in_chromium_with_every_chart_and_no_console_message() {
    let _machine = support::shared();
    support::debian_program("chromium", "chromium");
    let dir = tempfile::tempdir().unwrap();
    // The check can fail: a page with a broken SVG attribute and a script error is caught.
    let broken = dir.path().join("broken.html");
    std::fs::write(&broken, "<!doctype html><svg><circle cx=\"NaN\" r=\"1\"/></svg><script>missing()</script>").unwrap();
    let (_, console) = chromium(&broken, &dir.path().join("profile"));
    assert!(console.len() >= 2, "chromium's console messages are seen: {console:?}");

    let page = dir.path().join("out/report.html");
    let fixtures = fixtures();
    let out = Command::new(env!("CARGO_BIN_EXE_fusion")).arg("report").args(&fixtures).arg("-o").arg(&page).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&page.display().to_string()), "it says where the page is");
    let (dom, console) = chromium(&page, &dir.path().join("profile"));
    assert!(console.is_empty(), "the page logged to the console: {console:#?}");
    assert!(dom.contains("</html>"), "chromium dumped the page: {dom}");

    let loops: Vec<LoopReport> = fixtures.iter().map(|f| record::load(f).unwrap()).collect();
    for (key, report) in ["iot", "iot-2"].iter().zip(&loops) {
        let at = dom.find(&format!("<section class=\"loop\" id=\"{key}\"")).unwrap_or_else(|| panic!("no section {key}"));
        let section = &dom[at..at + dom[at..].find("</section>").unwrap()];
        let (start, best) = (&report.steps[0], &report.steps[report.best]);
        for chart in ["pareto", "ecdf", "cost", "graph-start", "graph-best"] {
            assert_eq!(count(section, "id", &format!("{key}-{chart}")), 1, "{key}: the {chart} chart");
        }
        let mut labels: Vec<String> = report.steps.iter().map(|s| format!("v{}", s.version)).collect();
        labels.extend((1..=report.front.len()).map(|i| format!("P{i}")));
        labels.extend(report.pick.iter().map(|_| "model's pick".to_string()));
        labels.extend(report.published.iter().map(|_| "Fusionize++".to_string()));
        // Each point's markup, up to the next one: its opening tag names it, a <text> draws its label.
        let points: Vec<&str> = section.split("<g class=\"point ").skip(1).collect();
        for label in &labels {
            let named = |tag: &str| tag.contains(&format!("data-label=\"{label}\"")) || tag.contains(&format!("data-label=\"{label} "));
            let point = points.iter().find(|p| named(&p[..p.find('>').unwrap()])).unwrap_or_else(|| panic!("{key}: no point labelled {label}"));
            assert!(point.contains("<text"), "{key}: {label} has its label drawn");
        }
        for step in &report.steps {
            assert_eq!(count(section, "data-version", &step.version.to_string()), 1, "{key}: the latency line of v{}", step.version);
        }
        let bars: Vec<&str> = section.match_indices("<g class=\"cost-bar\" data-name=\"").map(|(i, m)| &section[i + m.len()..]).map(|s| &s[..s.find('"').unwrap()]).collect();
        let functions: Vec<&str> = start.observed.cost.keys().chain(best.observed.cost.keys()).map(String::as_str).collect();
        assert_eq!(bars.iter().collect::<BTreeSet<_>>(), functions.iter().collect::<BTreeSet<_>>(), "{key}: a cost bar per function of the start and the best");
        assert_eq!(bars.len(), functions.len());
        assert_eq!(count(section, "class", "cost-total"), report.steps.len(), "{key}: a whole-request bar per setup");
        for (graph, step) in [("graph-start", start), ("graph-best", best)] {
            let at = section.find(&format!("id=\"{key}-{graph}\"")).unwrap();
            let svg = &section[at..at + section[at..].find("</svg>").unwrap()];
            let nodes: BTreeSet<&str> = svg.match_indices("data-task=\"").map(|(i, m)| &svg[i + m.len()..]).map(|s| &s[..s.find('"').unwrap()]).collect();
            assert_eq!(nodes, tasks(step), "{key}: every task in the {graph}");
            assert!(svg.contains("class=\"edge sync\"") && svg.contains("class=\"edge async\""), "{key}: sync and async calls in the {graph}");
        }
    }
}

#[test]
fn without_a_file_the_report_is_of_the_projects_newest_loop() {
    let _machine = support::shared();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fusion.toml"), "name = \"iot\"\nentry = \"I\"\n\n[tasks.I]\nrust = \"i\"\n").unwrap();
    let empty = Command::new(env!("CARGO_BIN_EXE_fusion")).args(["report"]).current_dir(dir.path()).output().unwrap();
    assert!(!empty.status.success());
    assert!(String::from_utf8_lossy(&empty.stderr).contains("no recorded loops"), "{}", String::from_utf8_lossy(&empty.stderr));
    let loops = dir.path().join(".fusion/loops");
    std::fs::create_dir_all(&loops).unwrap();
    let [model, heuristic] = <[PathBuf; 2]>::try_from(fixtures()).unwrap();
    std::fs::copy(&model, loops.join("iot-1.json")).unwrap();
    std::fs::copy(&heuristic, loops.join("iot-2.json")).unwrap();
    // The heuristic's loop is the newest: the model's was written a minute before.
    let older = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    std::fs::File::options().write(true).open(loops.join("iot-1.json")).unwrap().set_modified(older).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fusion")).args(["report"]).current_dir(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let page = std::fs::read_to_string(loops.join("iot-2.html")).expect("the page beside the newest loop");
    assert!(page.contains(": the heuristic loop</h2>") && !page.contains(": the model loop</h2>"), "only the newest loop");
}
