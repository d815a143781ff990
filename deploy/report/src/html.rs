//! The demo's HTML report: one self-contained page (inline SVG, no scripts) per run. Per app:
//! the iterations as a table, latency and cost per iteration, the predicted Pareto front with the
//! measured setups on it, and the call graph coloured by the groups the loop ended with.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;

use fusion_host::CallMode;

use fusion_tune::tuning_loop::LoopReport;

const PALETTE: [&str; 8] = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"];

/// The whole page for the loops of `reports` (app name, what its loop did).
pub fn render(reports: &[(String, LoopReport)]) -> String {
    let mut page = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Fusion demo</title><style>\
         body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}\
         td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}td:last-child{text-align:left}\
         svg{margin:1em 1em 0 0;border:1px solid #eee}</style></head><body><h1>Fusion demo</h1>",
    );
    for (app, report) in reports {
        let _ = write!(page, "<h2>{}</h2>{}", escape(app), table(report));
        let p50: Vec<f64> = report.steps.iter().map(|s| s.measured.p50_latency_ms).collect();
        let cost: Vec<f64> = report.steps.iter().map(|s| s.measured.mean_cost * 1e6).collect();
        page.push_str(&line_chart("median latency per iteration (ms)", &p50));
        page.push_str(&line_chart("cost per request per iteration (µ$)", &cost));
        page.push_str(&front_chart(report));
        page.push_str(&call_graph(report));
    }
    page.push_str("</body></html>\n");
    page
}

fn table(report: &LoopReport) -> String {
    let mut out = String::from("<table><tr><th>iteration</th><th>version</th><th>p50 ms</th><th>cost per request</th><th>predicted p50</th><th>predicted cost</th><th>setup</th></tr>");
    for (i, step) in report.steps.iter().enumerate() {
        let (p50, cost) = step.predicted.map_or(("–".into(), "–".into()), |p| (format!("{:.1}", p.latency_ms), format!("{:.3e}", p.cost)));
        let best = if i == report.best { " <b>(best)</b>" } else { "" };
        let _ = write!(
            out,
            "<tr><td>{i}</td><td>v{}</td><td>{:.1}</td><td>{:.3e}</td><td>{p50}</td><td>{cost}</td><td>{}{best}</td></tr>",
            step.version,
            step.measured.p50_latency_ms,
            step.measured.mean_cost,
            escape(&step.groups)
        );
    }
    out.push_str("</table>");
    out
}

const W: f64 = 420.0;
const H: f64 = 240.0;
const PAD: f64 = 40.0;

fn frame(title: &str, body: &str) -> String {
    format!("<svg width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\"><text x=\"{PAD}\" y=\"18\" font-size=\"13\">{}</text>{body}</svg>", escape(title))
}

/// Maps `v` in `[lo, hi]` onto `[a, b]`.
fn scale(v: f64, lo: f64, hi: f64, a: f64, b: f64) -> f64 {
    if hi > lo { a + (v - lo) / (hi - lo) * (b - a) } else { (a + b) / 2.0 }
}

fn line_chart(title: &str, values: &[f64]) -> String {
    let max = values.iter().copied().fold(0.0, f64::max);
    let n = values.len().max(2) - 1;
    let points: Vec<(f64, f64)> =
        values.iter().enumerate().map(|(i, v)| (scale(i as f64, 0.0, n as f64, PAD, W - PAD), scale(*v, 0.0, max, H - PAD, PAD))).collect();
    let mut body = format!("<line x1=\"{PAD}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\"/>", H - PAD, W - PAD, H - PAD);
    let path: Vec<String> = points.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
    let _ = write!(body, "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>", PALETTE[0], path.join(" "));
    for (i, ((x, y), v)) in points.iter().zip(values).enumerate() {
        let _ = write!(body, "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"4\" fill=\"{}\"/><text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{v:.3}</text>", PALETTE[0], y - 8.0);
        let _ = write!(body, "<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{i}</text>", H - PAD + 15.0);
    }
    frame(title, &body)
}

/// Predicted front (line) and the measured setups (crosses), latency against cost.
fn front_chart(report: &LoopReport) -> String {
    let predicted: Vec<(f64, f64)> = report.front.iter().map(|p| (p.prediction.latency_ms, p.prediction.cost * 1e6)).collect();
    let measured: Vec<(f64, f64)> = report.steps.iter().map(|s| (s.measured.p50_latency_ms, s.measured.mean_cost * 1e6)).collect();
    let all = predicted.iter().chain(&measured);
    let (max_x, max_y) = all.fold((0.0f64, 0.0f64), |(x, y), p| (x.max(p.0), y.max(p.1)));
    let at = |(x, y): (f64, f64)| (scale(x, 0.0, max_x, PAD, W - PAD), scale(y, 0.0, max_y, H - PAD, PAD));
    let mut body = format!(
        "<line x1=\"{PAD}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\"/><text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">p50 ms → (max {max_x:.0})</text>",
        H - PAD,
        W - PAD,
        H - PAD,
        W - PAD,
        H - PAD + 15.0
    );
    let line: Vec<String> = predicted.iter().map(|p| at(*p)).map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
    let _ = write!(body, "<polyline fill=\"none\" stroke=\"{}\" stroke-dasharray=\"4 3\" points=\"{}\"/>", PALETTE[1], line.join(" "));
    for p in &predicted {
        let (x, y) = at(*p);
        let _ = write!(body, "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"{}\"/>", PALETTE[1]);
    }
    for (i, p) in measured.iter().enumerate() {
        let (x, y) = at(*p);
        let _ = write!(body, "<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"13\" text-anchor=\"middle\" fill=\"{}\">×{i}</text>", y + 4.0, PALETTE[3]);
    }
    frame(&format!("predicted Pareto front (µ$ per request ↑), measured iterations ×, max {max_y:.2} µ$"), &body)
}

/// Tasks in columns by call depth from the entry; sync calls solid, async dashed; colour = group.
fn call_graph(report: &LoopReport) -> String {
    let mut depth: BTreeMap<&str, usize> = BTreeMap::from([(report.entry.as_str(), 0)]);
    let mut queue = VecDeque::from([report.entry.as_str()]);
    while let Some(task) = queue.pop_front() {
        for edge in report.edges.iter().filter(|e| e.caller == task) {
            if !depth.contains_key(edge.callee.as_str()) {
                depth.insert(&edge.callee, depth[task] + 1);
                queue.push_back(&edge.callee);
            }
        }
    }
    let mut rows: BTreeMap<usize, usize> = BTreeMap::new();
    let position: BTreeMap<&str, (f64, f64)> = depth
        .iter()
        .map(|(task, d)| {
            let row = rows.entry(*d).or_default();
            *row += 1;
            (*task, (60.0 + *d as f64 * 120.0, 40.0 + (*row - 1) as f64 * 50.0))
        })
        .collect();
    let (width, height) = (position.values().map(|p| p.0).fold(0.0, f64::max) + 80.0, position.values().map(|p| p.1).fold(0.0, f64::max) + 50.0);
    let group_of = |task: &str| report.best_grouping.iter().position(|(g, _)| g.contains(task)).unwrap_or(0);
    let mut body = String::new();
    for edge in &report.edges {
        let (Some(a), Some(b)) = (position.get(edge.caller.as_str()), position.get(edge.callee.as_str())) else { continue };
        let dash = if edge.mode == CallMode::Async { " stroke-dasharray=\"5 4\"" } else { "" };
        let _ = write!(body, "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#666\"{dash}/>", a.0, a.1, b.0, b.1);
    }
    for (task, (x, y)) in &position {
        let colour = PALETTE[group_of(task) % PALETTE.len()];
        let _ = write!(
            body,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"18\" fill=\"{colour}\"/><text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"white\" text-anchor=\"middle\">{}</text>",
            y + 4.0,
            escape(task)
        );
    }
    let memory: Vec<String> = report.best_grouping.iter().enumerate().map(|(i, (g, mb))| format!("<span style=\"color:{}\">■</span> {} {mb} MB", PALETTE[i % PALETTE.len()], escape(&g.iter().cloned().collect::<Vec<_>>().join(",")))).collect();
    format!("<div><svg width=\"{width}\" height=\"{height}\">{body}</svg><p>call graph, best setup's groups (solid: sync, dashed: async): {}</p></div>", memory.join(" · "))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
