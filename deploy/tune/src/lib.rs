//! Tuning an application's fusion setup with the optimizer, on what its cluster measured:
//!
//! - [`propose`]: one step — profile the setup measured last, then the model's pick and Pareto
//!   front, or Fusionize++'s next step; optionally applied and hot-swapped;
//! - [`tuning_loop`]: the closed loop — measure, optimize, hot-swap, measure again until
//!   nothing improves;
//! - [`validate`]: measure what the model predicted, to compare its pick with the measured best;
//! - [`record`]: loops kept as JSON, for reports;
//! - [`autopilot`]: the optimizer beside live traffic, window by window, with rollback.

pub mod autopilot;
mod profiling;
pub mod propose;
pub mod record;
mod request;
mod score;
mod step;
pub mod tuning_loop;
pub mod validate;

pub use profiling::profile;
pub use request::{Request, Strategy};
pub use step::Step;
