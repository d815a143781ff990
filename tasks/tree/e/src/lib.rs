//! Tree E: the leaf of the synchronous chain A → B → D → E; sleeps.

use fusion_guest::Error;
use serde_json::{Value, json};
use workload::{Payload, sleep_ms};

fn handle(input: Payload) -> Result<Value, Error> {
    sleep_ms(input.work.sleep_ms);
    Ok(json!({ "task": "E" }))
}

fusion_guest::export_task!(handle);
