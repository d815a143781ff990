//! Renders the call tree of one request from its spans.

use std::collections::BTreeMap;
use std::fmt::Write;

use fusion_host::telemetry::{Record, Span};

/// The spans of `trace_id`, as an indented tree ordered by start time.
pub fn render(records: &[Record], trace_id: &str) -> String {
    let spans: Vec<&Span> = records
        .iter()
        .filter_map(|r| match r {
            Record::Span(s) if s.trace_id == trace_id => Some(s),
            _ => None,
        })
        .collect();
    let mut children: BTreeMap<Option<&str>, Vec<&Span>> = BTreeMap::new();
    for span in &spans {
        children.entry(span.parent_span.as_deref()).or_default().push(span);
    }
    for list in children.values_mut() {
        list.sort_by_key(|s| s.start_us);
    }
    let mut out = String::new();
    for root in children.get(&None).into_iter().flatten() {
        write_span(&mut out, root, &children, "", "");
    }
    out
}

fn write_span(out: &mut String, span: &Span, children: &BTreeMap<Option<&str>, Vec<&Span>>, lead: &str, rest: &str) {
    let place = if span.remote || span.parent_span.is_none() { format!("new invocation of F({})", span.function) } else { format!("in F({})", span.function) };
    let outcome = span.error.map(|k| format!("  ✗ {}", k.as_str())).unwrap_or_default();
    let _ = writeln!(
        out,
        "{lead}{task} {mode} {place} {ms:.2} ms{outcome}",
        task = span.task,
        mode = span.mode.as_str(),
        ms = span.duration_us as f64 / 1000.0
    );
    let kids = children.get(&Some(span.span_id.as_str())).map(Vec::as_slice).unwrap_or_default();
    for (i, child) in kids.iter().enumerate() {
        let last = i + 1 == kids.len();
        let (branch, cont) = if last { ("└─ ", "   ") } else { ("├─ ", "│  ") };
        write_span(out, child, children, &format!("{rest}{branch}"), &format!("{rest}{cont}"));
    }
}
