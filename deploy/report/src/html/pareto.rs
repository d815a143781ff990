//! The Pareto chart: median latency against cost per request, on log axes zoomed to the setups
//! the loop found (an all-remote start is often ten times slower than all of them: it is drawn at
//! the frame's edge with its values, rather than crowding the rest into a corner). It shows the
//! measured setups joined by arrows in the order the loop tried them, what the model predicted
//! for each, its last predicted front and pick, and Fusionize++'s published grouping; every point
//! is labelled, and the key beside it says what each label is.

use std::fmt::Write;

use fusion_optimizer::model::Prediction;
use fusion_optimizer::search::describe;
use fusion_tune::tuning_loop::LoopReport;

use super::setups::{label, same_groups};
use super::svg::{Area, Labels, PALETTE, Scale, Svg, escape, short};

const WIDTH: f64 = 740.0;
const HEIGHT: f64 = 470.0;
const AREA: Area = Area { left: 78.0, top: 14.0, right: WIDTH - 16.0, bottom: HEIGHT - 48.0 };

const MEASURED: &str = PALETTE[0];
const PREDICTED: &str = PALETTE[1];
const PICK: &str = PALETTE[3];
const PUBLISHED: &str = PALETTE[6];

/// The ring around the best measured setup.
fn best_ring() -> String {
    format!("<circle r=\"10\" fill=\"none\" stroke=\"{}\" stroke-width=\"2.5\"/>", PALETTE[2])
}

/// The ring around a measured setup with Fusionize++'s published groups.
fn published_ring() -> String {
    format!("<circle r=\"13.5\" fill=\"none\" stroke=\"{PUBLISHED}\" stroke-width=\"1.5\" stroke-dasharray=\"3 2\"/>")
}

/// What a point on the chart is.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// A setup the loop measured.
    Measured,
    /// What the model predicted for a setup before it was measured.
    Predicted,
    /// A point of the model's last predicted front.
    Front,
    /// The model's last pick.
    Pick,
    /// Fusionize++'s published grouping, as the model predicts it.
    Published,
}

impl Kind {
    /// Its class in the markup.
    fn class(self) -> &'static str {
        match self {
            Kind::Measured => "measured",
            Kind::Predicted => "predicted",
            Kind::Front => "front",
            Kind::Pick => "pick",
            Kind::Published => "published",
        }
    }

    /// Its marker, drawn around (0, 0).
    fn mark(self) -> String {
        match self {
            Kind::Measured => format!("<circle r=\"6\" fill=\"{MEASURED}\"/>"),
            Kind::Predicted => format!("<circle r=\"5\" fill=\"white\" stroke=\"{PREDICTED}\" stroke-width=\"2\"/>"),
            Kind::Front => format!("<circle r=\"3.5\" fill=\"{PREDICTED}\"/>"),
            Kind::Pick => format!("<path d=\"M0,-7 l7,7 l-7,7 l-7,-7 z\" fill=\"{PICK}\"/>"),
            Kind::Published => format!("<path d=\"{}\" fill=\"{PUBLISHED}\"/>", star(9.0)),
        }
    }

    /// How far its marker reaches from its centre.
    fn radius(self) -> f64 {
        match self {
            Kind::Measured => 6.0,
            Kind::Predicted => 5.0,
            Kind::Front => 3.5,
            Kind::Pick => 7.0,
            Kind::Published => 9.0,
        }
    }

    /// What it is, for the key and the tooltips.
    fn describe(self) -> &'static str {
        match self {
            Kind::Measured => "measured",
            Kind::Predicted => "predicted before it was measured",
            Kind::Front => "on the predicted Pareto front",
            Kind::Pick => "the model's last pick",
            Kind::Published => "Fusionize++'s published grouping, predicted",
        }
    }
}

/// One labelled point: where, what, and the row of the key that explains it.
struct Point {
    latency_ms: f64,
    cost_usd: f64,
    kind: Kind,
    /// The loop's best measured setup.
    best: bool,
    /// A measured setup with Fusionize++'s published groups.
    as_published: bool,
    label: String,
    setup: String,
}

impl Point {
    fn predicted(p: &Prediction, kind: Kind, label: String, setup: String) -> Point {
        Point { latency_ms: p.latency_ms, cost_usd: p.cost, kind, best: false, as_published: false, label, setup }
    }
}

/// The points of `report`, in the order their labels are placed (the measured ones first).
fn points(report: &LoopReport) -> Vec<Point> {
    let mut points: Vec<Point> = report
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let best = i == report.best;
            let as_published = report.published.as_ref().is_some_and(|p| same_groups(&s.grouping, &p.grouping));
            let label = if best { format!("{} best", label(s)) } else { label(s) };
            Point { latency_ms: s.measured.p50_latency_ms, cost_usd: s.measured.mean_cost, kind: Kind::Measured, best, as_published, label, setup: s.groups() }
        })
        .collect();
    if let Some(pick) = &report.pick {
        points.push(Point::predicted(&pick.prediction, Kind::Pick, "model's pick".into(), describe(&pick.grouping)));
    }
    if let Some(published) = &report.published {
        let measured: Vec<String> = report.steps.iter().filter(|s| same_groups(&s.grouping, &published.grouping)).map(|s| format!("v{}", s.version)).collect();
        let also = if measured.is_empty() { String::new() } else { format!(" (the groups of {})", measured.join(", ")) };
        points.push(Point::predicted(&published.prediction, Kind::Published, "Fusionize++".into(), format!("{}{also}", describe(&published.grouping))));
    }
    // The pick a step was measured for is the loop's last pick when the loop stopped on it: one point.
    let last_pick = report.pick.as_ref().map(|p| p.prediction);
    for step in report.steps.iter().filter(|s| s.predicted.is_some() && s.predicted != last_pick) {
        let p = step.predicted.expect("filtered");
        points.push(Point::predicted(&p, Kind::Predicted, format!("v{} pred.", step.version), step.groups()));
    }
    for (i, candidate) in report.front.iter().enumerate() {
        points.push(Point::predicted(&candidate.prediction, Kind::Front, format!("P{}", i + 1), describe(&candidate.grouping)));
    }
    points
}

/// The chart, its legend and its key.
pub(crate) fn chart(report: &LoopReport, id: &str) -> String {
    let points = points(report);
    // The start (often all-remote, far slower and dearer than the rest) and Fusionize++'s point
    // are on the scale only when they leave room for the rest.
    let far = |i: usize, p: &Point| i == 0 || p.kind == Kind::Published;
    let (core, extra): (Vec<_>, Vec<_>) = points.iter().enumerate().partition(|(i, p)| !far(*i, p));
    let fit = |value: fn(&Point) -> f64, range| Scale::fit_around(core.iter().map(|(_, p)| value(p)), extra.iter().map(|(_, p)| value(p)), true, range);
    let x = fit(|p| p.latency_ms, (AREA.left, AREA.right));
    let y = fit(|p| p.cost_usd * 1e6, (AREA.bottom, AREA.top));
    // Off-scale points sit just inside the frame, at the end of the axis they are beyond.
    let at = |latency_ms: f64, cost_usd: f64| (x.at_inset(latency_ms, 12.0), y.at_inset(cost_usd * 1e6, 12.0));
    let placed = spread_off_scale(&points, &x, &y, at);
    let mut svg = Svg::new(id, "pareto", WIDTH, HEIGHT);
    let arrow = svg.arrowhead("path", MEASURED);
    let y_ticks: Vec<(f64, String)> = y.ticks().into_iter().map(|v| (v, short(v))).collect();
    svg.axes(AREA, (&x, "median latency, ms (log)"), (&y, "cost per request, µ$ (log)"), &y_ticks);

    let front: Vec<String> = report.front.iter().map(|c| at(c.prediction.latency_ms, c.prediction.cost)).map(|(px, py)| format!("{px:.1},{py:.1}")).collect();
    let _ = write!(svg.body, "<polyline points=\"{}\" fill=\"none\" stroke=\"{PREDICTED}\" stroke-width=\"1.5\" stroke-dasharray=\"5 4\"/>", front.join(" "));
    // What was predicted for a step, joined to what it measured: the model's error at a glance.
    for (step, (x1, y1)) in report.steps.iter().zip(&placed) {
        let Some(p) = step.predicted else { continue };
        let (x0, y0) = at(p.latency_ms, p.cost);
        let _ = write!(svg.body, "<line x1=\"{x0:.1}\" y1=\"{y0:.1}\" x2=\"{x1:.1}\" y2=\"{y1:.1}\" stroke=\"{PREDICTED}\" stroke-dasharray=\"2 3\"/>");
    }
    // The measured steps come first among the points, in the order the loop tried them.
    for pair in placed[..report.steps.len()].windows(2) {
        let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
        let length = (x1 - x0).hypot(y1 - y0);
        if length < 16.0 {
            continue;
        }
        let (ux, uy) = ((x1 - x0) / length, (y1 - y0) / length);
        let _ = write!(
            svg.body,
            "<line class=\"path\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"{MEASURED}\" stroke-width=\"1.8\" marker-end=\"url(#{arrow})\"/>",
            x0 + ux * 8.0,
            y0 + uy * 8.0,
            x1 - ux * 9.0,
            y1 - uy * 9.0
        );
    }

    let mut labels = Labels::new(AREA);
    for (px, py) in &placed {
        labels.avoid(*px, *py, 6.0, 6.0);
    }
    let mut marks = Vec::new();
    for (p, (px, py)) in points.iter().zip(&placed) {
        let (px, py) = (*px, *py);
        let r = p.kind.radius();
        let rings = [(p.best, best_ring()), (p.as_published, published_ring())];
        let rings: String = rings.iter().filter(|(on, _)| *on).map(|(_, ring)| format!("<g transform=\"translate({px:.1} {py:.1})\">{ring}</g>")).collect();
        let off_scale = !(x.contains(p.latency_ms) && y.contains(p.cost_usd * 1e6));
        let text = if off_scale { format!("{} (off-scale: {} ms, {} µ$)", p.label, short(p.latency_ms), short(p.cost_usd * 1e6)) } else { p.label.clone() };
        let text = labels.place(px, py, r, &text, p.kind.class());
        let tooltip = format!("{}: {} · p50 {} ms · {} µ$ · {}", p.label, p.kind.describe(), short(p.latency_ms), short(p.cost_usd * 1e6), p.setup);
        let mark = format!("<g transform=\"translate({px:.1} {py:.1})\">{}</g>", p.kind.mark());
        marks.push((p.kind, format!("<g class=\"point {}\" data-label=\"{}\"><title>{}</title>{rings}{mark}{text}</g>", p.kind.class(), escape(&p.label), escape(&tooltip))));
    }
    // Measured points on top of everything predicted.
    marks.sort_by_key(|(kind, _)| *kind == Kind::Measured);
    for (_, mark) in marks {
        svg.body.push_str(&mark);
    }
    format!("<div class=\"pareto-block\"><div>{}{}</div>{}</div>", svg.finish(), legend(report, &points), key(&points))
}

/// Where each point is drawn: at `at`, except that an off-scale point landing on another one
/// (a far-off start and Fusionize++'s point share a corner) moves along the frame, inward.
fn spread_off_scale(points: &[Point], x: &Scale, y: &Scale, at: impl Fn(f64, f64) -> (f64, f64)) -> Vec<(f64, f64)> {
    let mut placed: Vec<(f64, f64)> = Vec::new();
    for p in points {
        let (mut px, mut py) = at(p.latency_ms, p.cost_usd);
        let off_x = !x.contains(p.latency_ms);
        if off_x || !y.contains(p.cost_usd * 1e6) {
            let centre = ((AREA.left + AREA.right) / 2.0, (AREA.top + AREA.bottom) / 2.0);
            while placed.iter().any(|(qx, qy)| (qx - px).hypot(qy - py) < 16.0) {
                if off_x { py += 20.0 * (centre.1 - py).signum() } else { px += 20.0 * (centre.0 - px).signum() }
            }
        }
        placed.push((px, py));
    }
    placed
}

/// A five-pointed star of outer radius `r` around (0, 0), as path data.
fn star(r: f64) -> String {
    let corners: Vec<String> = (0..10)
        .map(|i| {
            let (radius, angle) = (if i % 2 == 0 { r } else { r * 0.45 }, std::f64::consts::PI * (i as f64 / 5.0 - 0.5));
            format!("{:.1},{:.1}", radius * angle.cos(), radius * angle.sin())
        })
        .collect();
    format!("M{}z", corners.join(" L"))
}

/// What each mark means, under the chart; only the marks the chart has.
fn legend(report: &LoopReport, points: &[Point]) -> String {
    let mut items = vec![(Kind::Measured.mark(), "measured, → in the order tried"), (best_ring(), "best")];
    let optional = [
        (report.steps.iter().any(|s| s.predicted.is_some()), Kind::Predicted.mark(), "predicted, ┈ to its measurement"),
        (!report.front.is_empty(), Kind::Front.mark(), "predicted Pareto front"),
        (report.pick.is_some(), Kind::Pick.mark(), "model's pick"),
        (report.published.is_some(), Kind::Published.mark(), "Fusionize++ published"),
        (points.iter().any(|p| p.as_published), published_ring(), "measured with Fusionize++'s groups"),
    ];
    items.extend(optional.into_iter().filter(|(shown, ..)| *shown).map(|(_, mark, text)| (mark, text)));
    let items: Vec<String> = items.into_iter().map(|(mark, text)| format!("<span><svg width=\"28\" height=\"28\" viewBox=\"-14 -14 28 28\">{mark}</svg>{}</span>", escape(text))).collect();
    format!("<p class=\"legend\">{}</p>", items.join(""))
}

/// The key beside the chart: per label, what the point is, where it is and its groups.
fn key(points: &[Point]) -> String {
    let mut out = String::from("<div class=\"key\"><table class=\"key\"><tr><th>point</th><th>p50 ms</th><th>µ$</th><th>groups</th></tr>");
    for p in points {
        let _ = write!(
            out,
            "<tr class=\"{}\" title=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td class=\"groups\">{}</td></tr>",
            p.kind.class(),
            escape(p.kind.describe()),
            escape(&p.label),
            short(p.latency_ms),
            short(p.cost_usd * 1e6),
            escape(&p.setup)
        );
    }
    out.push_str("</table></div>");
    out
}
