//! The call graph of one measured setup: tasks in columns by call depth from the entry, each
//! filled with its group's colour, calls drawn solid when sync and dashed when async, grey when
//! they cross to another function and in the group's colour when they stay inside one, each with
//! how often it was made per request.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write;

use fusion_host::CallMode;
use fusion_tune::Step;

use super::setups::colour_of;
use super::svg::{Area, GREY, Labels, Svg, escape, short};

const COLUMN: f64 = 150.0;
const ROW: f64 = 48.0;
const MARGIN: f64 = 24.0;
const NODE_HEIGHT: f64 = 28.0;
const REMOTE: &str = "#555555";

/// Each task's column (its call depth from `entry`) and row, the rows ordered so that a task
/// sits near the tasks that call it.
fn layout(entry: &str, edges: &[(&str, &str)]) -> BTreeMap<String, (usize, usize)> {
    let mut depth: BTreeMap<&str, usize> = BTreeMap::from([(entry, 0)]);
    let mut order = vec![entry];
    let mut queue = VecDeque::from([entry]);
    while let Some(task) = queue.pop_front() {
        for (_, callee) in edges.iter().filter(|(caller, _)| *caller == task) {
            if !depth.contains_key(callee) {
                depth.insert(callee, depth[task] + 1);
                order.push(callee);
                queue.push_back(callee);
            }
        }
    }
    // Tasks the entry's calls never reached (their callers' spans were lost) go in a last column.
    let unreached: BTreeSet<&str> = edges.iter().flat_map(|(a, b)| [*a, *b]).filter(|t| !depth.contains_key(t)).collect();
    let last = depth.values().max().map_or(0, |d| d + 1);
    for task in unreached {
        depth.insert(task, last);
        order.push(task);
    }
    let mut place: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for column in 0..=depth.values().copied().max().unwrap_or(0) {
        let mut tasks: Vec<(f64, &str)> = order
            .iter()
            .filter(|t| depth[**t] == column)
            .map(|t| {
                let rows: Vec<f64> = edges.iter().filter(|(_, callee)| callee == t).filter_map(|(caller, _)| place.get(*caller)).map(|(_, row)| *row as f64).collect();
                (if rows.is_empty() { f64::INFINITY } else { rows.iter().sum::<f64>() / rows.len() as f64 }, *t)
            })
            .collect();
        tasks.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (row, (_, task)) in tasks.into_iter().enumerate() {
            place.insert(task.to_string(), (column, row));
        }
    }
    place
}

/// The width of a task's box.
fn node_width(task: &str) -> f64 {
    (task.chars().count() as f64 * 8.0 + 22.0).max(44.0)
}

/// Dark text on light fills, white on dark ones.
fn text_colour(fill: &str) -> &'static str {
    let channel = |i: usize| u8::from_str_radix(fill.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0) as f64 / 255.0;
    let luminance = 0.299 * channel(1) + 0.587 * channel(3) + 0.114 * channel(5);
    if luminance > 0.62 { "#222" } else { "white" }
}

/// The graph of `step`, entered at `entry`, as a chart with element id `id`.
pub(crate) fn chart(step: &Step, entry: &str, id: &str) -> String {
    let edges: Vec<_> = step.observed.edges.iter().filter(|e| e.caller != "client").collect();
    let place = layout(entry, &edges.iter().map(|e| (e.caller.as_str(), e.callee.as_str())).collect::<Vec<_>>());
    let columns = place.values().map(|p| p.0).max().unwrap_or(0) + 1;
    let rows = place.values().map(|p| p.1).max().unwrap_or(0) + 1;
    let widest = place.keys().map(|t| node_width(t)).fold(0.0, f64::max);
    let width = (MARGIN * 2.0 + widest + (columns - 1) as f64 * COLUMN).max(300.0);
    let height = MARGIN * 2.0 + (rows - 1) as f64 * ROW + NODE_HEIGHT;
    let centre = |task: &str| place.get(task).map(|(c, r)| (MARGIN + widest / 2.0 + *c as f64 * COLUMN, MARGIN + NODE_HEIGHT / 2.0 + *r as f64 * ROW));
    let mut svg = Svg::new(id, "graph", width, height);
    let mut arrowheads: BTreeMap<&str, String> = BTreeMap::new();
    // Counts keep off the boxes of the tasks and off each other.
    let mut labels = Labels::new(Area { left: 0.0, top: 0.0, right: width, bottom: height });
    for task in place.keys() {
        let (x, y) = centre(task).expect("placed");
        labels.avoid(x, y, node_width(task) / 2.0, NODE_HEIGHT / 2.0);
    }
    let mut counts = String::new();
    for edge in &edges {
        let (Some((x0, y0)), Some((x1, y1))) = (centre(&edge.caller), centre(&edge.callee)) else { continue };
        let colour = if edge.remote { REMOTE } else { colour_of(&step.grouping, &edge.caller) };
        let arrow = arrowheads.entry(colour).or_insert_with(|| svg.arrowhead(&format!("arrow{}", colour.trim_start_matches('#')), colour)).clone();
        // Out of the caller's right side, into the callee's left side (or its right, when it is not further right).
        let (sx, ex) = (x0 + node_width(&edge.caller) / 2.0, if x1 > x0 { x1 - node_width(&edge.callee) / 2.0 } else { x1 + node_width(&edge.callee) / 2.0 });
        let bend = if x1 > x0 { (ex - sx) / 2.0 } else { 40.0 };
        let (c1, c2) = ((sx + bend, y0), (if x1 > x0 { ex - bend } else { ex + bend }, y1));
        let dash = if edge.mode == CallMode::Async { " stroke-dasharray=\"6 4\"" } else { "" };
        let calls = step.observed.per_request(edge);
        let title = format!("{} → {}: {}, {}, {} per request", edge.caller, edge.callee, edge.mode.as_str(), if edge.remote { "to another function" } else { "inside the function" }, short(calls));
        let _ = write!(
            svg.body,
            "<path class=\"edge {}\" d=\"M{sx:.1},{y0:.1} C{:.1},{:.1} {:.1},{:.1} {ex:.1},{y1:.1}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.6\"{dash} marker-end=\"url(#{arrow})\"><title>{}</title></path>",
            edge.mode.as_str(),
            c1.0,
            c1.1,
            c2.0,
            c2.1,
            escape(&title)
        );
        // The count goes near the callee's end, where the edges into different tasks are apart.
        let (mx, my) = bezier(0.8, [(sx, y0), c1, c2, (ex, y1)]);
        counts.push_str(&labels.place(mx, my, 2.0, &format!("×{}", short(calls)), "count"));
    }
    svg.body.push_str(&counts);
    for task in place.keys() {
        let (x, y) = centre(task).expect("placed");
        let fill = colour_of(&step.grouping, task);
        let w = node_width(task);
        let outline = if task == entry { " stroke=\"#222\" stroke-width=\"2.5\"" } else { "" };
        let _ = write!(
            svg.body,
            "<g class=\"node\" data-task=\"{t}\"><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{NODE_HEIGHT}\" rx=\"6\" fill=\"{fill}\"{outline}/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"{}\" class=\"task\">{t}</text></g>",
            x - w / 2.0,
            y - NODE_HEIGHT / 2.0,
            y + 4.5,
            text_colour(fill),
            t = escape(task)
        );
    }
    format!("{}{}", svg.finish(), groups(step))
}

/// The point at `t` along a cubic bezier curve.
fn bezier(t: f64, [p0, p1, p2, p3]: [(f64, f64); 4]) -> (f64, f64) {
    let u = 1.0 - t;
    let at = |a: f64, b: f64, c: f64, d: f64| u * u * u * a + 3.0 * u * u * t * b + 3.0 * u * t * t * c + t * t * t * d;
    (at(p0.0, p1.0, p2.0, p3.0), at(p0.1, p1.1, p2.1, p3.1))
}

/// Which colour is which group, with its memory size.
fn groups(step: &Step) -> String {
    let mut shown: Vec<String> = step
        .grouping
        .iter()
        .filter(|(g, _)| g.len() > 1)
        .map(|(g, mb)| {
            let first = g.iter().next().expect("a group has a task");
            format!("<span class=\"swatch\" style=\"background:{}\"></span>{{{}}} {mb} MB", colour_of(&step.grouping, first), escape(&g.iter().cloned().collect::<Vec<_>>().join(",")))
        })
        .collect();
    let alone: Vec<String> = step.grouping.iter().filter(|(g, _)| g.len() == 1).flat_map(|(g, mb)| g.iter().map(move |t| format!("{} {mb} MB", escape(t)))).collect();
    if !alone.is_empty() {
        shown.push(format!("<span class=\"swatch\" style=\"background:{GREY}\"></span>a function each: {}", alone.join(", ")));
    }
    format!("<p class=\"groups\">{}</p>", shown.join(" · "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_go_in_columns_by_call_depth_and_near_their_callers() {
        let place = layout("I", &[("I", "B"), ("I", "A"), ("A", "X"), ("B", "Y"), ("Z", "Q")]);
        assert_eq!(place["I"], (0, 0));
        assert_eq!((place["B"].0, place["A"].0, place["X"].0, place["Y"].0), (1, 1, 2, 2));
        assert_eq!(place["Y"].1 < place["X"].1, place["B"].1 < place["A"].1, "callees keep their callers' order");
        assert_eq!((place["Z"].0, place["Q"].0), (3, 3), "what the entry does not reach goes last");
    }

    #[test]
    fn text_stays_readable_on_its_fill() {
        assert_eq!((text_colour("#4e79a7"), text_colour("#edc948")), ("white", "#222"));
    }
}
