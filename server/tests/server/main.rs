//! The `fusion-host` binary: its command line, hosts as processes calling each other over HTTP,
//! and hosts in Lambda mode against the Lambda stand-in. One test binary with a module per area,
//! so the dependencies' generic code is compiled and linked once, not once per file.

mod binary;
mod http;
mod lambda_mode;
