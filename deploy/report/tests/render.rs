//! The HTML report of loops the real loop recorded (`tests/fixtures`, written by `fusion optimize
//! --loop` on IoT with the model and with Fusionize++'s heuristic): every chart is drawn from the
//! loop's data, and nothing read from a recorded file can inject markup.

use std::path::PathBuf;

use fusion_report::html;
use fusion_tune::record;
use fusion_tune::tuning_loop::LoopReport;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn loops() -> Vec<LoopReport> {
    ["iot-model-loop.json", "iot-heuristic-loop.json"].map(|f| record::load(&fixture(f)).unwrap()).into()
}

/// The opening tags in `page` that carry `attribute="value"`.
fn count(page: &str, attribute: &str, value: &str) -> usize {
    page.matches(&format!("{attribute}=\"{value}\"")).count()
}

/// Whether `word` stands in `page` on its own, not inside a longer word (`inf`, not `info`).
fn has_word(page: &str, word: &str) -> bool {
    page.match_indices(word).any(|(i, _)| {
        let before = page[..i].chars().next_back().is_some_and(|c| c.is_ascii_alphabetic());
        let after = page[i + word.len()..].chars().next().is_some_and(|c| c.is_ascii_alphabetic());
        !before && !after
    })
}

#[test]
fn every_chart_of_every_loop_is_drawn_from_its_data() {
    let loops = loops();
    let page = html::render(&loops);
    for (key, report) in ["iot", "iot-2"].iter().zip(&loops) {
        for chart in ["pareto", "ecdf", "cost", "graph-start", "graph-best"] {
            assert_eq!(count(&page, "id", &format!("{key}-{chart}")), 1, "{key}: chart {chart}");
        }
        let section = &page[page.find(&format!("id=\"{key}\"")).unwrap()..];
        let section = &section[..section.find("</section>").unwrap()];
        let start = &report.steps[0];
        let best = &report.steps[report.best];
        for step in &report.steps {
            assert_eq!(count(section, "data-version", &step.version.to_string()), 1, "one latency line per setup");
            assert!(section.contains(&format!("data-label=\"v{}", step.version)), "v{} is labelled on the Pareto chart", step.version);
        }
        for (i, _) in report.front.iter().enumerate() {
            assert_eq!(count(section, "data-label", &format!("P{}", i + 1)), 1, "front point {i}");
        }
        assert_eq!(count(section, "class", "point pick"), usize::from(report.pick.is_some()));
        assert_eq!(count(section, "class", "point published"), usize::from(report.published.is_some()));
        for step in [start, best] {
            for function in step.observed.cost.keys() {
                assert!(count(section, "data-name", function) >= 1, "a cost bar for {function} of v{}", step.version);
            }
        }
        let tasks = |step: &fusion_tune::Step| step.observed.edges.iter().filter(|e| e.caller != "client").flat_map(|e| [e.caller.clone(), e.callee.clone()]).collect::<std::collections::BTreeSet<_>>();
        assert_eq!(section.matches("class=\"node\"").count(), tasks(start).len() + tasks(best).len(), "every task in both graphs");
        assert_eq!(section.matches("class=\"cost-bar\"").count(), start.observed.cost.len() + best.observed.cost.len());
    }
    assert!(!has_word(&page, "NaN") && !has_word(&page, "inf"), "every coordinate is a number");
    assert!(!page.contains("<script") && !page.contains("http"), "self-contained: no script, nothing from the network");
}

#[test]
fn names_in_a_recorded_file_cannot_inject_markup() {
    let mut report = loops().swap_remove(0);
    report.app = "<script>alert(1)</script>".into();
    report.entry = "I\"><img src=x onerror=alert(1)>".into();
    for step in &mut report.steps {
        for edge in &mut step.observed.edges {
            edge.callee.push_str("<em>");
        }
    }
    let page = html::render(&[report]);
    assert!(!page.contains("<script") && !page.contains("<img") && !page.contains("<em>"), "{page}");
    assert!(page.contains("&lt;script&gt;"));
}

/// Whether every field of `part` is in `whole` with the same value (`whole` may have more).
fn within(part: &Value, whole: &Value) -> bool {
    match (part, whole) {
        (Value::Object(p), Value::Object(w)) => p.iter().all(|(key, v)| w.get(key).is_some_and(|x| within(v, x))),
        (Value::Array(p), Value::Array(w)) => p.len() == w.len() && p.iter().zip(w).all(|(v, x)| within(v, x)),
        _ => part == whole,
    }
}

#[test]
fn a_recorded_loop_is_read_back_as_written_and_a_broken_one_refused() {
    let original = std::fs::read_to_string(fixture("iot-model-loop.json")).unwrap();
    let report = record::load(&fixture("iot-model-loop.json")).unwrap();
    let written: Value = serde_json::to_value(&report).unwrap();
    // Fields added since the loop was recorded are written with their defaults.
    assert!(within(&serde_json::from_str(&original).unwrap(), &written), "every field survives a round trip");
    assert_eq!(serde_json::to_value(serde_json::from_value::<LoopReport>(written.clone()).unwrap()).unwrap(), written);
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.json");
    let mut value = written.clone();
    value["best"] = serde_json::json!(report.steps.len());
    std::fs::write(&broken, value.to_string()).unwrap();
    let err = record::load(&broken).unwrap_err().to_string();
    assert!(err.contains("not one of its"), "{err}");
    std::fs::write(&broken, "{\"app\": 1}").unwrap();
    assert!(record::load(&broken).unwrap_err().to_string().contains("not a loop recorded by fusion"));
}
