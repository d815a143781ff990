//! Which telemetry lines to believe. Anything that can write to a telemetry folder or store can
//! put any line there (a host killed mid-write, a broken disk, a hostile writer), and one record
//! with a duration of `u64::MAX` would be the p99 of a run, or the request an optimizer picks a
//! setup for. So each line is read bounded, decoded and parsed on its own, and a record is kept
//! only when every field is possible; what is dropped is counted by reason, never fatal.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{BufRead, Read};
use std::time::SystemTime;

use fusion_host::policy::TIMEOUT_S_RANGE;
use fusion_host::engine::MAX_TASK_MEMORY;
use fusion_host::setup::MEMORY_MB_RANGE;
use fusion_host::telemetry::{InvocationRecord, Record, Span, billed_ms, unix_micros};

/// The longest line read, in bytes (its newline excluded). A host's records are a few hundred
/// bytes; a longer line is passed over without being held in memory.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// The longest duration believed, µs: Lambda's maximum timeout (900 s) plus a minute for an
/// invocation's init phase and for rounding.
pub const MAX_DURATION_US: u64 = (*TIMEOUT_S_RANGE.end() as u64 + 60) * 1_000_000;

/// The longest name or id believed (task, function, trace, span), in bytes.
pub const MAX_NAME_BYTES: usize = 256;

/// No telemetry was written before 2020-01-01 (Unix time, µs).
const EARLIEST_START_US: u64 = 1_577_836_800_000_000;

/// How far in the future a start may be, µs: a day of clock skew between writer and reader.
const FUTURE_SLACK_US: u64 = 86_400_000_000;

/// What a part of a duration (guest CPU, waits on calls) may exceed it by, µs: the two are
/// measured separately and rounded to whole microseconds.
const ROUNDING_US: u64 = 1_000;

/// Why a line was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// Longer than [`MAX_LINE_BYTES`].
    TooLong,
    /// Not valid UTF-8.
    NotUtf8,
    /// Not the JSON of a record (a host killed mid-write, another file's lines).
    NotARecord,
    /// A duration over [`MAX_DURATION_US`], a part of it longer than the whole, or a billed
    /// duration that is not the duration rounded up.
    Duration,
    /// A start before 2020 or more than a day in the future.
    StartTime,
    /// A memory size Lambda does not have.
    Memory,
    /// An empty name or id, or one over [`MAX_NAME_BYTES`].
    Name,
    /// A task, caller or function that is not one of the app's tasks.
    UnknownTask,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::TooLong => write!(f, "longer than {} KiB", MAX_LINE_BYTES / 1024),
            Reason::NotUtf8 => f.write_str("not UTF-8"),
            Reason::NotARecord => f.write_str("not a telemetry record"),
            Reason::Duration => f.write_str("with an impossible duration"),
            Reason::StartTime => f.write_str("with a start before 2020 or in the future"),
            Reason::Memory => write!(f, "with a memory size outside {}..={} MB or more memory used than possible", MEMORY_MB_RANGE.start(), MEMORY_MB_RANGE.end()),
            Reason::Name => f.write_str("with an empty or overlong name"),
            Reason::UnknownTask => f.write_str("naming a task the app does not have"),
        }
    }
}

/// The lines skipped, counted by reason.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Skipped(BTreeMap<Reason, usize>);

impl Skipped {
    /// How many lines were skipped in all.
    pub fn total(&self) -> usize {
        self.0.values().sum()
    }

    /// How many lines were skipped for `reason`.
    pub fn count(&self, reason: Reason) -> usize {
        self.0.get(&reason).copied().unwrap_or(0)
    }

    /// Adds the counts of `other`.
    pub fn merge(&mut self, other: Skipped) {
        for (reason, n) in other.0 {
            *self.0.entry(reason).or_default() += n;
        }
    }

    fn add(&mut self, reason: Reason) {
        *self.0.entry(reason).or_default() += 1;
    }
}

/// `2 not UTF-8, 1 with an impossible duration`.
impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(reason, n)| format!("{n} {reason}")).collect();
        f.write_str(&parts.join(", "))
    }
}

/// The records in the JSON lines of `reader` that pass every check (and, when `tasks` is given,
/// name only those tasks), and the lines skipped. Blank lines are neither.
pub fn read(mut reader: impl BufRead, tasks: Option<&BTreeSet<String>>) -> std::io::Result<(Vec<Record>, Skipped)> {
    let now_us = unix_micros(SystemTime::now());
    let (mut records, mut skipped) = (Vec::new(), Skipped::default());
    let mut line = Vec::new();
    loop {
        line.clear();
        if Read::take(&mut reader, MAX_LINE_BYTES as u64 + 1).read_until(b'\n', &mut line)? == 0 {
            return Ok((records, skipped));
        }
        if line.last() != Some(&b'\n') && line.len() > MAX_LINE_BYTES {
            reader.skip_until(b'\n')?;
            skipped.add(Reason::TooLong);
            continue;
        }
        let Ok(text) = std::str::from_utf8(&line) else {
            skipped.add(Reason::NotUtf8);
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(text).map_err(|_| Reason::NotARecord).and_then(|r| check(r, tasks, now_us)) {
            Ok(record) => records.push(record),
            Err(reason) => skipped.add(reason),
        }
    }
}

/// `record` if every field of it is possible, else the first reason it is not.
fn check(record: Record, tasks: Option<&BTreeSet<String>>, now_us: u64) -> Result<Record, Reason> {
    let (start_us, duration_us, memory_mb) = match &record {
        Record::Span(s) => (s.start_us, s.duration_us, s.memory_mb),
        Record::Invocation(i) => (i.start_us, i.duration_us, i.memory_mb),
    };
    let parts_fit = match &record {
        Record::Span(Span { cpu_us, calls_us, kv_us, .. }) => [cpu_us, calls_us, kv_us].iter().all(|&&part| part <= duration_us.saturating_add(ROUNDING_US)),
        Record::Invocation(InvocationRecord { init_us, response_us, billed_ms: billed, .. }) => {
            *init_us <= duration_us && *response_us <= duration_us && *billed == billed_ms(duration_us)
        }
    };
    if duration_us > MAX_DURATION_US || !parts_fit {
        return Err(Reason::Duration);
    }
    if !(EARLIEST_START_US..=now_us + FUTURE_SLACK_US).contains(&start_us) {
        return Err(Reason::StartTime);
    }
    // Memory used: a store holds at most a task's largest linear memory; an environment at most
    // its memory size, unless it ran out (then it says what it wanted, which one store bounds).
    let used_fits = match &record {
        Record::Span(s) => s.memory_used_kb <= (MAX_TASK_MEMORY as u64) >> 10,
        Record::Invocation(i) => i.max_memory_used_mb <= memory_mb || (i.out_of_memory && i.max_memory_used_mb <= memory_mb + (MAX_TASK_MEMORY >> 20) as u32),
    };
    if !MEMORY_MB_RANGE.contains(&memory_mb) || !used_fits {
        return Err(Reason::Memory);
    }
    // Functions are named after their task, so a function's name is a task's too.
    let (ids, tasks_named): (Vec<&str>, Vec<&str>) = match &record {
        Record::Span(s) => (
            [&s.trace_id, &s.span_id].into_iter().chain(&s.parent_span).chain(&s.outside_parent).map(String::as_str).collect(),
            [&s.task, &s.function].into_iter().chain(&s.caller).chain(&s.called_together).map(String::as_str).collect(),
        ),
        Record::Invocation(i) => (vec![&i.trace_id, &i.root_span], vec![&i.function]),
    };
    if ids.iter().chain(&tasks_named).any(|name| name.is_empty() || name.len() > MAX_NAME_BYTES) {
        return Err(Reason::Name);
    }
    if tasks.is_some_and(|tasks| tasks_named.iter().any(|name| !tasks.contains(*name))) {
        return Err(Reason::UnknownTask);
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fusion_host::CallMode;

    fn span(trace: &str) -> Span {
        Span {
            trace_id: trace.into(),
            span_id: "s1".into(),
            parent_span: None,
            outside_parent: None,
            function: "A".into(),
            setup_version: 1,
            task: "A".into(),
            caller: None,
            mode: CallMode::Sync,
            remote: false,
            start_us: unix_micros(SystemTime::now()),
            duration_us: 5_000,
            cpu_us: 1_000,
            calls_us: 0,
            called_together: Vec::new(),
            kv_ops: 0,
            kv_us: 0,
            memory_mb: 128,
            memory_used_kb: 0,
            cold_start: false,
            error: None,
        }
    }

    fn invocation() -> InvocationRecord {
        InvocationRecord {
            trace_id: "t".into(),
            function: "A".into(),
            setup_version: 1,
            root_span: "s1".into(),
            start_us: unix_micros(SystemTime::now()),
            init_us: 0,
            response_us: 4_000,
            duration_us: 5_000,
            billed_ms: 5,
            memory_mb: 128,
            max_memory_used_mb: 0,
            out_of_memory: false,
            process_max_rss_mb: 0,
            cold_start: false,
        }
    }

    fn line(record: Record) -> Vec<u8> {
        let mut line = serde_json::to_vec(&record).unwrap();
        line.push(b'\n');
        line
    }

    fn parse(bytes: &[u8], tasks: Option<&BTreeSet<String>>) -> (Vec<Record>, Skipped) {
        read(bytes, tasks).unwrap()
    }

    #[test]
    fn valid_records_are_kept_and_blank_lines_ignored() {
        let kept = [Record::Span(span("t")), Record::Invocation(invocation())];
        let text = [line(kept[0].clone()), b"\n  \r\n".to_vec(), line(kept[1].clone())].concat();
        let (records, skipped) = parse(&text, Some(&BTreeSet::from(["A".to_string()])));
        assert_eq!(records, kept);
        assert_eq!(skipped.total(), 0);
    }

    #[test]
    fn endless_durations_are_skipped_and_counted() {
        let endless = Span { duration_us: u64::MAX, cpu_us: u64::MAX, calls_us: u64::MAX, ..span("endless") };
        let billed = InvocationRecord { billed_ms: 1, ..invocation() };
        let slow_response = InvocationRecord { response_us: 6_000, ..invocation() };
        let text = [line(Record::Span(endless)), line(Record::Invocation(billed)), line(Record::Invocation(slow_response)), line(Record::Span(span("t")))].concat();
        let (records, skipped) = parse(&text, None);
        assert_eq!(records.len(), 1, "only the plausible span is kept");
        assert_eq!((skipped.count(Reason::Duration), skipped.total()), (3, 3));
    }

    #[test]
    fn a_byte_that_is_not_utf8_skips_only_its_line() {
        let mut bad = line(Record::Span(span("bad")));
        bad[10] = 0xff;
        let text = [line(Record::Span(span("t1"))), bad, line(Record::Span(span("t2")))].concat();
        let (records, skipped) = parse(&text, None);
        assert_eq!(records.len(), 2);
        assert_eq!(skipped.count(Reason::NotUtf8), 1);
        assert_eq!(skipped.to_string(), "1 not UTF-8");
    }

    #[test]
    fn an_oversized_line_is_skipped_and_the_next_one_read() {
        let long = Span { trace_id: "x".repeat(MAX_LINE_BYTES), ..span("long") };
        // A last line of exactly the limit, without a newline, is still read.
        let mut at_limit = line(Record::Span(span("t")));
        at_limit.resize(MAX_LINE_BYTES, b' ');
        let text = [line(Record::Span(long)), at_limit].concat();
        let (records, skipped) = parse(&text, None);
        assert_eq!(records.len(), 1);
        assert_eq!((skipped.count(Reason::TooLong), skipped.total()), (1, 1));
    }

    #[test]
    fn implausible_fields_and_unknown_tasks_are_skipped_by_reason() {
        let tasks = BTreeSet::from(["A".to_string()]);
        let cases = [
            (Record::Span(Span { start_us: 1, ..span("t") }), Reason::StartTime),
            (Record::Span(Span { start_us: u64::MAX / 2, ..span("t") }), Reason::StartTime),
            (Record::Invocation(InvocationRecord { memory_mb: 0, ..invocation() }), Reason::Memory),
            (Record::Invocation(InvocationRecord { max_memory_used_mb: 129, ..invocation() }), Reason::Memory),
            (Record::Span(Span { memory_used_kb: u64::MAX, ..span("t") }), Reason::Memory),
            (Record::Span(Span { trace_id: String::new(), ..span("t") }), Reason::Name),
            (Record::Span(Span { task: "Z".into(), ..span("t") }), Reason::UnknownTask),
            (Record::Span(Span { caller: Some("Z".into()), ..span("t") }), Reason::UnknownTask),
            (Record::Invocation(InvocationRecord { function: "Z".into(), ..invocation() }), Reason::UnknownTask),
        ];
        for (record, reason) in cases {
            let (records, skipped) = parse(&line(record.clone()), Some(&tasks));
            assert!(records.is_empty() && skipped.count(reason) == 1, "{record:?}: {skipped:?}");
        }
        let (_, skipped) = parse(b"{\"kind\":\"span\"}\nnot json\n", None);
        assert_eq!(skipped.to_string(), "2 not a telemetry record");
    }
}
