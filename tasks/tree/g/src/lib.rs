//! Tree G: the heaviest burner: burn(8.8) × reps where the others run burn(7), scaled with the
//! request's work size.

use fusion_guest::Error;
use serde_json::{Value, json};
use workload::{Payload, burn_reps};

/// G's loop bound relative to the others' (8.8 against 7 in the paper).
const HEAVIER: f64 = 8.8 / 7.0;

fn handle(input: Payload) -> Result<Value, Error> {
    Ok(json!({ "task": "G", "sum": burn_reps(&input.work, input.work.burn * HEAVIER) }))
}

fusion_guest::export_task!(handle);
