//! IoT SE: stores the reading (one database write).

use fusion_guest::Error;
use serde_json::{Value, json};
use workload::{Payload, db_op};

fn handle(input: Payload) -> Result<Value, Error> {
    db_op(&input.work);
    Ok(json!({ "task": "SE", "writes": 1 }))
}

fusion_guest::export_task!(handle);
