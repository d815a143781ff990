//! IoT CSL: two database queries and one write.

use fusion_guest::Error;
use serde_json::{Value, json};
use workload::{Payload, db_op};

fn handle(input: Payload) -> Result<Value, Error> {
    for _ in 0..3 {
        db_op(&input.work);
    }
    Ok(json!({ "task": "CSL", "queries": 2, "writes": 1 }))
}

fusion_guest::export_task!(handle);
