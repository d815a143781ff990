//! Tree C: starts F and G asynchronously, then burns CPU itself.

use fusion_guest::{Error, spawn};
use serde_json::{Value, json};
use workload::{Payload, burn_reps};

fn handle(input: Payload) -> Result<Value, Error> {
    let next = input.for_callee("C");
    spawn("F", &next)?;
    spawn("G", &next)?;
    let sum = burn_reps(&input.work, input.work.burn);
    Ok(json!({ "task": "C", "sum": sum }))
}

fusion_guest::export_task!(handle);
