//! The `fusion` CLI end to end: the real binaries (`fusion`, `fusion-host`), real components,
//! clusters on loopback, the embedded S3 store, moto for AWS, Prometheus and Chromium. One test
//! binary, a module per area: each test binary would compile and link the same dependencies'
//! generic code again (about half a minute of CPU each).

// A test holds its share of the machine (`support::alone`, `support::shared`) for its whole run,
// awaits included: each test runs on a thread and a runtime of its own, and nothing on that
// runtime takes the lock, so holding it across an await cannot deadlock.
#![allow(clippy::await_holding_lock)]

mod support;

mod autopilot;
mod autopilot_aws;
mod bare_host;
mod cli;
mod cluster;
mod demo;
mod deploy_aws;
mod hot_swap;
mod memory;
mod observability;
mod overload;
mod polyglot;
mod projects;
mod report;
mod store_cli;
