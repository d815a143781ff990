//! Tree D: calls E synchronously, then sleeps.

use fusion_guest::{Error, call};
use serde_json::{Value, json};
use workload::{Payload, sleep_ms};

fn handle(input: Payload) -> Result<Value, Error> {
    let below: Value = call("E", &input.for_callee("D"))?;
    sleep_ms(input.work.sleep_ms);
    Ok(json!({ "task": "D", "below": below }))
}

fusion_guest::export_task!(handle);
