//! The Fusion control plane: builds task components, runs applications, renders what happened.

pub mod builder;
pub mod calltree;
pub mod host_process;
pub mod runner;
pub mod stats;
pub mod workspace;

pub use workspace::Workspace;
