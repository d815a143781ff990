//! IoT AS: a CPU-heavy step (burn × reps); when called by CA it also writes six records.

use fusion_guest::Error;
use serde_json::{Value, json};
use workload::{Payload, burn_reps, db_op};

fn handle(input: Payload) -> Result<Value, Error> {
    let sum = burn_reps(&input.work, input.work.burn);
    let writes = if input.from.as_deref() == Some("CA") { 6 } else { 0 };
    for _ in 0..writes {
        db_op(&input.work);
    }
    Ok(json!({ "task": "AS", "sum": sum, "writes": writes }))
}

fusion_guest::export_task!(handle);
