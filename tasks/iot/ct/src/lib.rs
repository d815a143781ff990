//! IoT CT: a CPU-heavy analysis (burn × reps), then hands its result to AS asynchronously.

use fusion_guest::{Error, spawn};
use serde_json::{Value, json};
use workload::{Payload, burn_reps};

fn handle(input: Payload) -> Result<Value, Error> {
    let sum = burn_reps(&input.work, input.work.burn);
    spawn("AS", &input.for_callee("CT"))?;
    Ok(json!({ "task": "CT", "sum": sum }))
}

fusion_guest::export_task!(handle);
