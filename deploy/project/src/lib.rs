//! The project model of the control plane: where an application's sources, manifest and shipped
//! setups live, where Fusion keeps its state for it, and the [`Reporter`] through which long
//! work tells the user how far it is. A leaf: the builder (also run from build scripts) uses it
//! without pulling in the host.
//!
//! Every other control-plane crate starts from a [`Workspace`]; none of them prints.

mod reporter;
mod workspace;

pub use reporter::{Quiet, Reporter};
pub use workspace::Workspace;
