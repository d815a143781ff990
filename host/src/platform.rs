//! Platform profiles: the one place that says what a platform adds to Fusion's own overheads.
//! The host adds these delays when it emulates the platform, and the optimizer's model predicts
//! with the same figures (plus Fusion's own measured hop, [`FUSION_SYNC_HOP`]).
//!
//! A loopback hop costs a fraction of a millisecond where a hop between Lambda functions costs
//! tens of milliseconds, so the emulator adds the platform's published overheads as delays.
//! `raw` adds none and shows Fusion's true overheads.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Fusion's own synchronous hop between two local hosts over loopback HTTP, as the model
/// assumes it (`cargo bench -p fusion-server --bench remote_call`: ~0.2 ms on the dev VM).
pub const FUSION_SYNC_HOP: Duration = Duration::from_micros(200);

/// Fusion's own hand-over of an asynchronous call to a local host, until the callee has it (same
/// benchmark: ~0.15 ms). The caller does not wait for it: the call waits in its outbox.
pub const FUSION_ASYNC_CALL: Duration = Duration::from_micros(150);

/// How long every profile assumes an idle environment stays warm: 10 minutes.
const IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// The overheads a platform adds on top of Fusion's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Platform {
    /// The profile's name on the command line: `raw`, `lambda`, or `aws` for the real thing.
    pub name: &'static str,
    /// Starting a new execution environment, before Fusion loads its components: Lambda's
    /// runtime init for a Rust custom runtime (~18 ms on provided.al2023).
    pub runtime_init: Duration,
    /// Added to every synchronous call between functions, half each way: a warm remote call
    /// through API Gateway took ~40 ms in Fusionize's measurements.
    pub sync_hop: Duration,
    /// Added to an asynchronous call before it reaches the callee's function: an async enqueue
    /// took 80–100 ms in Fusionize's data. The caller goes on at once and its invocation lasts
    /// until the call is handed over; the enqueues of one invocation overlap, as concurrent
    /// `Event` invokes do ([`crate::outbox`]).
    pub async_enqueue: Duration,
    /// How long an idle execution environment stays warm before the next invocation of its
    /// function must start a new one. Lambda does not publish it (environments are seen kept for
    /// minutes); the emulator keeps them 10 minutes and the model predicts cold starts with it.
    pub idle_timeout: Duration,
    /// False on the real platform (a host on AWS Lambda): cold starts, hops and loading happen for
    /// real there, so nothing is added, not even the time the group's components took to load.
    pub emulated: bool,
}

impl Platform {
    /// Nothing added: Fusion's own overheads only.
    pub const RAW: Platform = Platform {
        name: "raw",
        runtime_init: Duration::ZERO,
        sync_hop: Duration::ZERO,
        async_enqueue: Duration::ZERO,
        idle_timeout: IDLE_TIMEOUT,
        emulated: true,
    };

    /// AWS Lambda's published overheads, emulated on local hosts.
    pub const LAMBDA: Platform = Platform {
        name: "lambda",
        runtime_init: Duration::from_millis(18),
        sync_hop: Duration::from_millis(40),
        async_enqueue: Duration::from_millis(90),
        idle_timeout: IDLE_TIMEOUT,
        emulated: true,
    };

    /// AWS Lambda itself: a host in Lambda mode.
    pub const AWS: Platform = Platform {
        name: "aws",
        runtime_init: Duration::ZERO,
        sync_hop: Duration::ZERO,
        async_enqueue: Duration::ZERO,
        idle_timeout: IDLE_TIMEOUT,
        emulated: false,
    };

    /// The profiles a local host can emulate.
    pub const EMULATED: [Platform; 2] = [Platform::RAW, Platform::LAMBDA];

    /// What a synchronous call between two functions costs its caller on this platform, Fusion's
    /// own hop included.
    pub fn expected_sync_hop(&self) -> Duration {
        self.sync_hop + FUSION_SYNC_HOP
    }

    /// How long an asynchronous call to another function takes to reach it on this platform.
    pub fn expected_async_call(&self) -> Duration {
        self.async_enqueue + FUSION_ASYNC_CALL
    }
}

impl Default for Platform {
    fn default() -> Self {
        Platform::RAW
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl FromStr for Platform {
    type Err = String;

    fn from_str(name: &str) -> Result<Platform, String> {
        Platform::EMULATED.into_iter().find(|p| p.name == name).ok_or_else(|| format!("unknown platform '{name}' (raw, lambda)"))
    }
}
