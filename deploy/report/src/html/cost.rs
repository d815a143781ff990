//! Where the money goes: the cost per request of every measured setup, and of the start's and the
//! best setup's functions one by one, split into compute, cold-start init, sync callers billed
//! while they wait on another function (what fusing saves), and request fees. All of it is
//! computed from the invocations the telemetry recorded.

use std::fmt::Write;

use fusion_measure::cost::CostParts;
use fusion_tune::Step;
use fusion_tune::tuning_loop::LoopReport;

use super::setups::label;
use super::svg::{GREY, PALETTE, Scale, Svg, escape, short};

const WIDTH: f64 = 600.0;
const ROW: f64 = 22.0;
const HEADING: f64 = 30.0;
const LEFT: f64 = 112.0;
const RIGHT: f64 = WIDTH - 70.0;

/// A part of the cost: its name, its colour, and its value in a function's parts.
type Part = (&'static str, &'static str, fn(&CostParts) -> f64);

/// The parts in the order they are stacked.
const PARTS: [Part; 4] = [
    ("compute", PALETTE[0], |p| p.compute),
    ("init (cold starts)", PALETTE[5], |p| p.init),
    ("waiting on other functions", PALETTE[3], |p| p.waiting),
    ("request fees", GREY, |p| p.requests),
];

/// One block of bars: a heading, then per row its name and its parts.
struct Block {
    heading: String,
    class: &'static str,
    rows: Vec<(String, CostParts)>,
}

/// The functions of `step`, the most expensive first.
fn by_function(step: &Step) -> Vec<(String, CostParts)> {
    let mut rows: Vec<(String, CostParts)> = step.observed.cost.iter().map(|(f, p)| (f.clone(), *p)).collect();
    rows.sort_by(|a, b| b.1.total().total_cmp(&a.1.total()));
    rows
}

/// The chart: a block of every setup's whole request, then a block per function of the start and
/// of the best setup (one block when the start was the best). Each block has its own scale.
pub(crate) fn chart(report: &LoopReport, id: &str) -> String {
    let mut blocks = vec![Block {
        heading: "per request, every setup measured (µ$)".into(),
        class: "cost-total",
        rows: report.steps.iter().map(|s| (label(s), s.observed.cost.values().copied().sum())).collect(),
    }];
    let start = &report.steps[0];
    let best = &report.steps[report.best];
    let shown: Vec<(&Step, &str)> = if report.best == 0 { vec![(start, "start and best")] } else { vec![(start, "start"), (best, "best")] };
    for (step, role) in shown {
        blocks.push(Block { heading: format!("by function, {role}: {} (µ$ per request)", label(step)), class: "cost-bar", rows: by_function(step) });
    }
    let height = blocks.iter().map(|b| HEADING + b.rows.len() as f64 * ROW).sum::<f64>() + 36.0;
    let mut svg = Svg::new(id, "cost", WIDTH, height);
    let mut top = 0.0;
    // The function blocks share a scale, so the start's and the best's functions compare.
    let function_max = blocks[1..].iter().flat_map(|b| b.rows.iter().map(|r| r.1.total())).fold(0.0, f64::max);
    for (i, block) in blocks.iter().enumerate() {
        let max = if i == 0 { block.rows.iter().map(|r| r.1.total()).fold(0.0, f64::max) } else { function_max };
        let x = Scale::linear(0.0, max.max(f64::MIN_POSITIVE), (LEFT, RIGHT));
        let _ = write!(svg.body, "<text x=\"4\" y=\"{:.1}\" class=\"heading\">{}</text>", top + 20.0, escape(&block.heading));
        top += HEADING;
        for (name, parts) in &block.rows {
            bar(&mut svg, &x, top, name, parts, block.class);
            top += ROW;
        }
    }
    legend(&mut svg, height - 12.0);
    svg.finish()
}

/// One stacked bar, its name on the left and its total on the right.
fn bar(svg: &mut Svg, x: &Scale, top: f64, name: &str, parts: &CostParts, class: &str) {
    let _ = write!(
        svg.body,
        "<g class=\"{class}\" data-name=\"{}\"><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" class=\"tick\">{}</text>",
        escape(name),
        LEFT - 6.0,
        top + 15.0,
        escape(name)
    );
    let mut at = 0.0;
    for (part, colour, value) in PARTS {
        let v = value(parts);
        if v > 0.0 {
            let (x0, x1) = (x.at(at), x.at(at + v));
            let _ = write!(
                svg.body,
                "<rect class=\"cost-part\" x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\"><title>{}: {} µ$</title></rect>",
                top + 3.0,
                (x1 - x0).max(0.5),
                ROW - 6.0,
                escape(part),
                short(v * 1e6)
            );
        }
        at += v;
    }
    let _ = write!(svg.body, "<text x=\"{:.1}\" y=\"{:.1}\" class=\"tick\">{}</text></g>", x.at(at) + 5.0, top + 15.0, short(at * 1e6));
}

fn legend(svg: &mut Svg, y: f64) {
    let mut x = 4.0;
    for (part, colour, _) in PARTS {
        let _ = write!(svg.body, "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{y:.1}\" class=\"legend\">{}</text>", y - 10.0, x + 16.0, escape(part));
        x += 30.0 + part.chars().count() as f64 * 6.6;
    }
}
