//! Fusion's optimizer: from telemetry to a better fusion setup.
//! - [`profile`]: what one measured setup says about the app's tasks and calls;
//! - [`model`]: the latency, completion time and cost any setup would have, predicted from a profile;
//! - [`fit`]: the hop, CPU and wait scales the model fits to every setup measured;
//! - [`cold_starts`]: how often a setup's functions start new environments in steady state;
//! - [`objective`]: what a setup is judged by, one definition for predictions and measurements;
//! - [`search`]: groupings and memory sizes searched with the model, the Pareto front, the pick;
//! - [`heuristic`]: Fusionize++'s published procedure, the baseline;
//! - [`pricing`]: the price table the cost model uses.

pub mod cold_starts;
pub mod fit;
pub mod heuristic;
pub mod model;
pub mod objective;
pub mod pricing;
pub mod profile;
pub mod resources;
pub mod search;
