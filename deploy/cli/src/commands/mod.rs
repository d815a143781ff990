//! One module per subcommand: each parses nothing itself, calls the library that does the work,
//! and prints what came back.

pub mod bench;
pub mod build;
pub mod demo;
pub mod deploy;
pub mod extract;
pub mod load;
pub mod new;
pub mod optimize;
pub mod push;
pub mod report;
pub mod run;
pub mod setup;
pub mod up;
