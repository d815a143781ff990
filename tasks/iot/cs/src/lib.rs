//! IoT CS: calls CSL and CSA synchronously and concurrently and combines their answers.

use fusion_guest::{Error, call_all};
use serde_json::{Value, json};
use workload::Payload;

fn handle(input: Payload) -> Result<Value, Error> {
    let next = input.for_callee("CS");
    let mut results = call_all::<_, Value>([("CSL", &next), ("CSA", &next)]).into_iter();
    let (csl, csa) = (results.next().expect("CSL")?, results.next().expect("CSA")?);
    Ok(json!({ "task": "CS", "csl": csl, "csa": csa }))
}

fusion_guest::export_task!(handle);
