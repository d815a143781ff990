//! `fusion bench`: measurements of Fusion itself, each reported against a baseline measured in
//! the same run — throughput of one host against its `/healthz`, a host's cold start from the
//! store, hot swaps under load, and the cost of each guest language against Rust.

pub mod cold_start;
pub mod languages;
pub mod refusion;
pub mod throughput;
