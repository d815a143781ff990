//! The latency distributions: one empirical CDF per measured setup on a log latency axis, with the
//! p50, p95 and p99 levels marked, and beside it those percentiles per iteration. A median can
//! improve while the tail gets worse; this is where that shows.

use std::fmt::Write;

use fusion_tune::tuning_loop::LoopReport;

use super::setups::label;
use super::svg::{Area, PALETTE, Scale, Svg, escape, short};

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 380.0;
const AREA: Area = Area { left: 78.0, top: 14.0, right: WIDTH - 40.0, bottom: HEIGHT - 50.0 };

/// The stroke of the `i`th step's line: a colour of its own, dashed once the palette comes round
/// again.
fn stroke(i: usize) -> String {
    let dash = if i >= PALETTE.len() { " stroke-dasharray=\"6 3\"" } else { "" };
    format!("stroke=\"{}\"{dash}", PALETTE[i % PALETTE.len()])
}

/// The chart and the table of percentiles, one row per step.
pub(crate) fn chart(report: &LoopReport, id: &str) -> String {
    let samples = report.steps.iter().map(|s| &s.observed.latency);
    let x = Scale::fit(samples.flat_map(|l| l.sorted_ms.iter().copied()), true, (AREA.left, AREA.right));
    let y = Scale::linear(0.0, 1.0, (AREA.bottom, AREA.top));
    let mut svg = Svg::new(id, "ecdf", WIDTH, HEIGHT);
    let y_ticks: Vec<(f64, String)> = [0.0, 0.25, 0.5, 0.75, 1.0].map(|v| (v, format!("{:.0} %", v * 100.0))).into();
    svg.axes(AREA, (&x, "request latency, ms (log)"), (&y, "requests at most this slow"), &y_ticks);
    for (level, name) in [(0.5, "p50"), (0.95, "p95"), (0.99, "p99")] {
        let py = y.at(level);
        let _ = write!(
            svg.body,
            "<line x1=\"{}\" y1=\"{py:.1}\" x2=\"{}\" y2=\"{py:.1}\" class=\"level\"/><text x=\"{}\" y=\"{:.1}\" class=\"tick\">{name}</text>",
            AREA.left,
            AREA.right,
            AREA.right + 4.0,
            py + 4.0
        );
    }
    for (i, step) in report.steps.iter().enumerate() {
        // A staircase: along at the share so far, then up at each latency.
        let mut d = String::new();
        for (ms, share) in step.observed.latency.ecdf() {
            let px = x.at(ms);
            let _ = if d.is_empty() { write!(d, "M{px:.1},{:.1}", y.at(0.0)) } else { write!(d, " H{px:.1}") };
            let _ = write!(d, " V{:.1}", y.at(share));
        }
        let width = if i == report.best { 3.0 } else { 1.6 };
        let _ = write!(
            svg.body,
            "<path class=\"ecdf-line\" data-version=\"{}\" d=\"{d}\" fill=\"none\" {} stroke-width=\"{width}\"><title>{}</title></path>",
            step.version,
            stroke(i),
            escape(&label(step))
        );
    }
    format!("<div class=\"ecdf-block\">{}{}</div>", svg.finish(), percentiles(report))
}

/// p50, p95 and p99 per iteration, each row keyed by its line's colour.
fn percentiles(report: &LoopReport) -> String {
    let mut out = String::from("<table class=\"percentiles\"><tr><th>setup</th><th>requests</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th></tr>");
    for (i, step) in report.steps.iter().enumerate() {
        let l = &step.observed.latency;
        let best = if i == report.best { " class=\"best\"" } else { "" };
        let _ = write!(
            out,
            "<tr{best}><td><svg width=\"22\" height=\"10\" class=\"line-key\"><line x1=\"0\" y1=\"5\" x2=\"22\" y2=\"5\" stroke-width=\"3\" {}/></svg>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            stroke(i),
            escape(&label(step)),
            l.count,
            short(l.p50_ms),
            short(l.p95_ms),
            short(l.p99_ms)
        );
    }
    out.push_str("</table>");
    out
}
