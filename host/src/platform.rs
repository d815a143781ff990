//! Platform profiles (DESIGN.md §8). A loopback hop costs a fraction of a millisecond where a hop
//! between Lambda functions costs tens of milliseconds, so the emulator can add the platform's own
//! overheads as delays. `raw` adds none and shows Fusion's true overheads.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The overheads a platform adds on top of Fusion's own.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Platform {
    pub name: &'static str,
    /// Starting a new execution environment, before Fusion loads its components: Lambda's
    /// runtime init for a Rust custom runtime (~18 ms on provided.al2023).
    pub runtime_init: Duration,
    /// Added to every synchronous call between functions, half each way: a warm remote call
    /// through API Gateway took ~40 ms in Fusionize's measurements.
    pub sync_hop: Duration,
    /// Added to an asynchronous call before the caller may go on: an async enqueue seen by the
    /// caller took 80–100 ms in Fusionize's data.
    pub async_enqueue: Duration,
    /// False on the real platform (a host on AWS Lambda): cold starts, hops and loading happen for
    /// real there, so nothing is added, not even the time the group's components took to load.
    #[serde(default = "emulated")]
    pub emulated: bool,
}

fn emulated() -> bool {
    true
}

impl Platform {
    pub const RAW: Platform =
        Platform { name: "raw", runtime_init: Duration::ZERO, sync_hop: Duration::ZERO, async_enqueue: Duration::ZERO, emulated: true };

    pub const LAMBDA: Platform = Platform {
        name: "lambda",
        runtime_init: Duration::from_millis(18),
        sync_hop: Duration::from_millis(40),
        async_enqueue: Duration::from_millis(90),
        emulated: true,
    };

    /// AWS Lambda itself: a host in Lambda mode.
    pub const AWS: Platform =
        Platform { name: "aws", runtime_init: Duration::ZERO, sync_hop: Duration::ZERO, async_enqueue: Duration::ZERO, emulated: false };

    pub fn named(name: &str) -> Option<Platform> {
        [Platform::RAW, Platform::LAMBDA].into_iter().find(|p| p.name == name)
    }
}

impl Default for Platform {
    fn default() -> Self {
        Platform::RAW
    }
}
