//! IoT CW: validates a reading, CPU-bound (a sieve of Eratosthenes).

use fusion_guest::Error;
use serde_json::{Value, json};
use workload::{Payload, sieve};

fn handle(input: Payload) -> Result<Value, Error> {
    Ok(json!({ "task": "CW", "primes": sieve(input.work.sieve) }))
}

fusion_guest::export_task!(handle);
