//! IoT entry (I): ingests a sensor reading. Checks it (CW) and stores it (SE) synchronously, then
//! starts the three analyses (CT, CS, CA) asynchronously.

use fusion_guest::{Error, call, spawn};
use serde_json::{Value, json};
use workload::Payload;

fn handle(input: Payload) -> Result<Value, Error> {
    let next = input.for_callee("I");
    let checked: Value = call("CW", &next)?;
    let stored: Value = call("SE", &next)?;
    for analysis in ["CT", "CS", "CA"] {
        spawn(analysis, &next)?;
    }
    Ok(json!({ "task": "I", "checked": checked, "stored": stored }))
}

fusion_guest::export_task!(handle);
