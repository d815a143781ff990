//! The host in one process: the reference apps, precompiled artifacts, bad input, instance reuse,
//! key-value stores and Lambda's resource model. One test binary with a module per area, so the
//! dependencies' generic code is compiled and linked once, not once per file.

mod apps;
mod artifacts;
mod bad_input;
mod instance_reuse;
mod kv;
mod resource_model;
