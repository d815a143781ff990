//! IoT CA: calls DJ synchronously, then AS asynchronously.

use fusion_guest::{Error, call, spawn};
use serde_json::{Value, json};
use workload::Payload;

fn handle(input: Payload) -> Result<Value, Error> {
    let next = input.for_callee("CA");
    let dj: Value = call("DJ", &next)?;
    spawn("AS", &next)?;
    Ok(json!({ "task": "CA", "dj": dj }))
}

fusion_guest::export_task!(handle);
