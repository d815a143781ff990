//! Every iteration in numbers: the setup, what the optimizer measured (the median of its requests'
//! root spans, the mean cost), and what the model had predicted for it.

use std::fmt::Write;

use fusion_tune::tuning_loop::LoopReport;

use super::setups::label;
use super::svg::{escape, short};

/// The table, one row per measured setup, the best marked.
pub(crate) fn table(report: &LoopReport) -> String {
    let mut out = String::from(
        "<table class=\"iterations\"><tr><th>#</th><th>setup</th><th>p50 ms</th><th>µ$ per request</th>\
         <th>invocations</th><th>predicted p50 ms</th><th>predicted µ$</th><th>groups</th></tr>",
    );
    for (i, step) in report.steps.iter().enumerate() {
        let (p50, cost) = step.predicted.map_or(("–".into(), "–".into()), |p| (short(p.latency_ms), short(p.cost * 1e6)));
        let (class, best) = if i == report.best { (" class=\"best\"", " <b>best</b>") } else { ("", "") };
        let _ = write!(
            out,
            "<tr{class}><td>{i}</td><td>{}{best}</td><td>{}</td><td>{}</td><td>{}</td><td>{p50}</td><td>{cost}</td><td class=\"groups\">{}</td></tr>",
            escape(&label(step)),
            short(step.measured.p50_latency_ms),
            short(step.measured.mean_cost * 1e6),
            short(step.measured.invocations),
            escape(&step.groups())
        );
    }
    out.push_str("</table>");
    out
}
