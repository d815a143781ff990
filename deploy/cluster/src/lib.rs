//! The local default of Fusion: everything `fusion up` needs to run an app on one machine.
//!
//! - [`app_manifest`]: the app as a host sees it, from the project's `fusion.toml`;
//! - [`check_components`]: every component checked against the `fusion:task` world;
//! - [`store`]: the store the commands use, the embedded S3 server unless a bucket is named;
//! - [`publish`]: components and setups into the store, and the hot swap that follows;
//! - [`host_process`]: one `fusion-host serve` process per function;
//! - [`cluster`]: a cluster of them for one app, and [`state`], the file that lets other
//!   commands find it;
//! - [`resolve_setup`]: which setup a name on the command line means;
//! - [`admin`]: the signed admin calls to running hosts (refresh, expire);
//! - [`prometheus`]: a Prometheus configuration that scrapes a running cluster.

pub mod admin;
mod app_manifest;
mod check;
pub mod cluster;
pub mod host_process;
mod policy;
pub mod prometheus;
pub mod publish;
pub mod random;
mod setup_choice;
pub mod state;
pub mod store;

pub use app_manifest::{app_manifest, write_app_manifest};
pub use check::check_components;
pub use cluster::LocalCluster;
pub use setup_choice::resolve_setup;
pub use state::ClusterState;
pub use store::OpenStore;
