//! The store against the embedded S3 server: objects and setups, and components published as
//! precompiled artifacts. One test binary with a module per area.

mod bucket;
mod source;
