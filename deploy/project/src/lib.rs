//! The project model of the control plane: a project is a folder with a `fusion.toml`
//! ([`Manifest`]): the app's name, its entry task and where each task's component comes from.
//! [`Project`] finds it and says where Fusion keeps its state; the [`Reporter`] is how long work
//! tells the user how far it is. A leaf crate: the builder (also run from a build script) uses it
//! without pulling in the host.

mod manifest;
mod project;
mod reporter;

pub use manifest::{MANIFEST_FILE, Manifest, TaskSource};
pub use project::{Project, toolchains_dir};
pub use reporter::{Quiet, Reporter};
