//! The HTML report of optimizer loops: one self-contained page (inline SVG and CSS, no scripts,
//! nothing from the network) with a section per loop. Each says in a sentence what the loop found,
//! then shows latency against cost with the loop's path and the model's predictions, the latency
//! distributions, where the money goes, the call graph at the start and at the best setup, and
//! every iteration in numbers.

mod cost;
mod ecdf;
mod graph;
mod pareto;
mod setups;
mod svg;
mod table;

use std::collections::BTreeMap;
use std::fmt::Write;

use fusion_tune::tuning_loop::LoopReport;

use setups::label;
use svg::{escape, id_part, short};

const STYLE: &str = "\
body{font-family:system-ui,'DejaVu Sans','Liberation Sans',sans-serif;color:#222;margin:0 auto;padding:16px 24px;max-width:1240px;line-height:1.4}\
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.35em;margin:1.6em 0 .2em;border-bottom:1px solid #ddd}h3{font-size:1.05em;margin:1.2em 0 .4em}\
p.summary{font-size:1.05em;margin:.3em 0 .8em}p.note{color:#555;font-size:.9em}\
.row{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:8px 28px;align-items:start}\
.pareto-block{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}\
p.legend{font-size:12.5px;margin:.2em 0 0 60px;max-width:700px}p.legend span{white-space:nowrap;margin-right:14px}p.legend svg{vertical-align:middle;margin-right:3px}\
table.key td:first-child{white-space:nowrap}\
svg.chart{max-width:100%;height:auto;display:block;font-size:12px}\
.grid{stroke:#ececec}.frame{fill:none;stroke:#999}.level{stroke:#999;stroke-dasharray:2 3}\
.tick{fill:#555;font-size:11px}.axis{fill:#333;font-size:12px}.legend{fill:#333;font-size:12px}.heading{fill:#222;font-size:12.5px;font-weight:600}\
.leader{stroke:#999;stroke-width:.8}.label{font-size:12px;fill:#222;paint-order:stroke;stroke:white;stroke-width:3px;stroke-linejoin:round}.label.count{font-size:11px;fill:#444}\
.task{font-size:12.5px;font-weight:600}\
table{border-collapse:collapse;font-size:12.5px}td,th{border-bottom:1px solid #e3e3e3;padding:2px 8px;text-align:right;vertical-align:top}\
th{font-weight:600;border-bottom:1px solid #bbb;white-space:nowrap}td.groups,th:last-child{text-align:left}td:first-child,th:first-child{text-align:left}\
div.key{flex:1 1 360px;min-width:0}table.key{width:100%;font-size:12px}table.key td.groups{color:#444}tr.best{background:#eef6ea}\
.swatch{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px}\
p.groups{font-size:12.5px;margin:.3em 0 1em}svg.line-key{margin-right:5px;vertical-align:middle}";

/// The page for `loops`, one section each, in order.
pub fn render(loops: &[LoopReport]) -> String {
    let apps: Vec<&str> = loops.iter().map(|l| l.app.as_str()).collect();
    let mut page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>Fusion report: {}</title><style>{STYLE}</style></head><body><h1>Fusion: what the optimizer measured and chose</h1>",
        escape(&apps.join(", "))
    );
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for report in loops {
        let n = seen.entry(&report.app).or_default();
        *n += 1;
        let key = if *n == 1 { id_part(&report.app) } else { format!("{}-{n}", id_part(&report.app)) };
        section(&mut page, report, &key);
    }
    page.push_str(
        "<p class=\"note\">Latency: a request's first span start to its root span's end, from the hosts' telemetry. Cost: every invocation's \
         billed duration at its memory size plus the request fee (the platform's price table). µ$: millionths of a dollar.</p></body></html>\n",
    );
    page
}

/// One loop's section; `key` makes its element ids unique on the page.
fn section(page: &mut String, report: &LoopReport, key: &str) {
    let start = &report.steps[0];
    let best = &report.steps[report.best];
    let _ = write!(page, "<section class=\"loop\" id=\"{key}\"><h2>{}: the {} loop</h2><p class=\"summary\">{}</p>", escape(&report.app), report.strategy.name(), summary(report));
    let _ = write!(page, "<h3>Latency against cost</h3>{}", pareto::chart(report, &format!("{key}-pareto")));
    let _ = write!(
        page,
        "<div class=\"row\"><div><h3>Latency distribution per setup</h3>{}</div><div><h3>Cost per request, by part</h3>{}</div></div>",
        ecdf::chart(report, &format!("{key}-ecdf")),
        cost::chart(report, &format!("{key}-cost"))
    );
    page.push_str("<h3>Call graphs</h3><p class=\"note\">Solid: sync call, dashed: async call; grey: the call goes to another function, coloured: it stays inside its group's function; ×n: calls per request. The entry is outlined.</p><div class=\"row\">");
    if report.best == 0 {
        let _ = write!(page, "<div><h3>{}, the start and the best</h3>{}</div>", escape(&label(start)), graph::chart(start, &report.entry, &format!("{key}-graph-start")));
    } else {
        let _ = write!(page, "<div><h3>At the start: {}</h3>{}</div>", escape(&label(start)), graph::chart(start, &report.entry, &format!("{key}-graph-start")));
        let _ = write!(page, "<div><h3>The best: {}</h3>{}</div>", escape(&label(best)), graph::chart(best, &report.entry, &format!("{key}-graph-best")));
    }
    let _ = write!(page, "</div><h3>Every iteration</h3>{}</section>", table::table(report));
}

/// What the loop found, in a sentence: how it searched, and the best against the start.
fn summary(report: &LoopReport) -> String {
    let (start, best) = (&report.steps[0], &report.steps[report.best]);
    let slos: Vec<String> = [(report.goal.latency_slo_ms, "median"), (report.goal.completion_slo_ms, "median completion")]
        .into_iter()
        .filter_map(|(slo, what)| slo.map(|ms| format!("a {} ms {what}", short(ms))))
        .collect();
    let slo = if slos.is_empty() { String::new() } else { format!(" under {}", slos.join(" and ")) };
    let searched = format!(
        "The loop (objective {}{slo}) measured {} setups, starting from {}.",
        report.goal.objective,
        report.steps.len(),
        escape(&label(start))
    );
    if report.best == 0 {
        return format!("{searched} None beat the start.");
    }
    let (m0, m1) = (&start.measured, &best.measured);
    format!(
        "{searched} Best: <b>{}</b>, {} — median {} ms ({}) at {} µ$ per request ({}).",
        escape(&label(best)),
        escape(&best.groups()),
        short(m1.p50_latency_ms),
        ratio(m0.p50_latency_ms, m1.p50_latency_ms, "faster", "slower"),
        short(m1.mean_cost * 1e6),
        ratio(m0.mean_cost, m1.mean_cost, "cheaper", "dearer")
    )
}

/// `3.2× faster` when `after` is below `before`, `1.5× slower` when above.
fn ratio(before: f64, after: f64, better: &str, worse: &str) -> String {
    if after <= before { format!("{}× {better} than the start", short(before / after)) } else { format!("{}× {worse} than the start", short(after / before)) }
}
