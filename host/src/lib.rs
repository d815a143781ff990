//! The Fusion host: runs the tasks of one fusion group as WebAssembly components, calls fused
//! tasks in-process and routes every other call to the function that hosts it.

pub mod admission;
pub mod app;
pub mod auth;
pub mod bindings;
pub mod call;
pub mod components;
pub mod cpu;
pub mod engine;
pub mod environments;
pub mod error;
pub mod front_door;
pub mod function;
mod guest_log;
pub mod http_server;
pub mod http_transport;
mod instances;
pub mod in_process;
pub mod kv;
pub mod listener;
mod mem_file;
pub mod memory;
pub mod metrics;
pub mod named;
pub mod outbox;
pub mod platform;
pub mod policy;
mod replay;
pub mod router;
pub mod routers;
pub mod runtime;
pub mod setup;
mod task_state;
pub mod telemetry;
pub mod trace_context;
pub mod wire;

pub use app::AppManifest;
pub use call::{Call, CallMode};
pub use trace_context::TraceContext;
pub use error::{CallError, ErrorKind};
pub use function::FunctionHost;
pub use in_process::InProcessCluster;
pub use runtime::{RuntimeConfig, Runtime};
pub use policy::{FunctionPolicy, Policy};
pub use setup::{FusionSetup, Preset};
