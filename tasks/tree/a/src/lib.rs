//! Tree A (entry): starts C asynchronously, then calls B synchronously.

use fusion_guest::{Error, call, spawn};
use serde_json::{Value, json};
use workload::Payload;

fn handle(input: Payload) -> Result<Value, Error> {
    let next = input.for_callee("A");
    spawn("C", &next)?;
    let b: Value = call("B", &next)?;
    Ok(json!({ "task": "A", "b": b }))
}

fusion_guest::export_task!(handle);
