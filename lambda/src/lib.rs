//! Fusion on AWS Lambda.
//!
//! - [`front_end`]: a function's host as a Lambda custom runtime (`provided.al2023`): its setup
//!   and components come from the store at init, invocations come through the Runtime API, and a
//!   failed init or invocation is reported on the Runtime API's error endpoints.
//! - [`invoke`]: calls between functions through the Lambda Invoke API, `RequestResponse` for
//!   sync calls and `Event` for async ones, signed with SigV4.
//! - [`event`]: how a Fusion call travels as a Lambda event, and how its result or error comes back.
//! - [`emulator`]: a local stand-in for the Lambda service (the Invoke API, and a Runtime API per
//!   execution environment) that runs unmodified hosts in Lambda mode on one machine, started by
//!   the caller or by the emulator itself from the functions' configurations.

pub mod dynamodb;
pub mod emulator;
pub mod event;
pub mod front_end;
pub mod invoke;
mod telemetry;
