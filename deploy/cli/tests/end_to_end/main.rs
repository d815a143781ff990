//! The `fusion` CLI end to end: the real binaries (`fusion`, `fusion-host`), real components,
//! clusters on loopback, the embedded S3 store, moto for AWS, Prometheus and Chromium. One test
//! binary, a module per area: each test binary would compile and link the same dependencies'
//! generic code again (about half a minute of CPU each).

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
