//! Measuring an application: the open-loop load generator, the extractor that turns the hosts'
//! telemetry into call graphs, latency and cost (believing only plausible records), the cost of a
//! request by function and part, latency summaries, what a report keeps of a run, call trees, and
//! requests run in one process.

pub mod calltree;
pub mod cost;
pub mod extract;
pub mod in_process;
pub mod load;
pub mod mix;
mod measurement;
pub mod observed;
pub mod stats;
pub mod telemetry_lines;

pub use measurement::{LoadResult, measure};
