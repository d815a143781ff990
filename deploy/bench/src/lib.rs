//! `fusion bench`: measurements of Fusion itself, each reported against a baseline measured in
//! the same run — throughput of one host against its `/healthz` and against a bare wasmtime host, a host's cold start from the
//! store, hot swaps under load, the cost of each guest language against Rust, and the memory
//! environments hold.

pub mod bare_host;
pub mod cold_start;
pub mod languages;
pub mod memory;
pub mod refusion;
pub mod throughput;
