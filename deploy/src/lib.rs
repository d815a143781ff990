//! The Fusion control plane: builds task components, runs applications, renders what happened.

pub mod admin;
pub mod aws;
pub mod builder;
pub mod calltree;
pub mod cold_start;
pub mod demo;
pub mod cluster;
pub mod extract;
pub mod host_process;
pub mod html_report;
pub mod languages;
pub mod loadgen;
pub mod local_store;
pub mod optimize;
pub mod random;
pub mod refusion;
pub mod report;
pub mod runner;
pub mod stats;
pub mod store_commands;
pub mod throughput;
pub mod workspace;

pub use fusion_optimizer::pricing;
pub use workspace::Workspace;
