//! IoT DJ: a CPU-heavy step (burn × reps) and one database write.

use fusion_guest::Error;
use serde_json::{Value, json};
use workload::{Payload, burn_reps, db_op};

fn handle(input: Payload) -> Result<Value, Error> {
    let sum = burn_reps(&input.work, input.work.burn);
    db_op(&input.work);
    Ok(json!({ "task": "DJ", "sum": sum, "writes": 1 }))
}

fusion_guest::export_task!(handle);
