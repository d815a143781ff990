//! Tree F: burns CPU (burn(n) × reps).

use fusion_guest::Error;
use serde_json::{Value, json};
use workload::{Payload, burn_reps};

fn handle(input: Payload) -> Result<Value, Error> {
    Ok(json!({ "task": "F", "sum": burn_reps(&input.work, input.work.burn) }))
}

fusion_guest::export_task!(handle);
