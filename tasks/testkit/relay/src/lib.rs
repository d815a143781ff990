//! Calls the task it is told to (`times` times at once, for a fan-out) and reports what came
//! back, including the kind of a failed call, so tests can see a callee's failure exactly as its
//! caller does.

use fusion_guest::{CallError, Error};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Deserialize)]
struct Relay {
    task: String,
    #[serde(default)]
    input: Value,
    #[serde(default)]
    r#async: bool,
    /// Sync calls made together (`invoke-all`); their results as a list.
    #[serde(default)]
    times: Option<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    Ok(Value),
    Error { kind: String, message: String },
}

fn relay(request: Relay) -> Result<Outcome, Error> {
    let result = if request.r#async {
        fusion_guest::spawn(&request.task, &request.input).map(|()| Value::Null)
    } else if let Some(times) = request.times {
        let calls = (0..times).map(|_| (request.task.as_str(), &request.input));
        fusion_guest::call_all::<_, Value>(calls).into_iter().collect::<Result<Vec<Value>, CallError>>().map(Value::from)
    } else {
        fusion_guest::call(&request.task, &request.input)
    };
    Ok(match result {
        Ok(value) => Outcome::Ok(value),
        Err(CallError { kind, message }) => Outcome::Error { kind: fusion_guest::error_kind_name(kind).into(), message },
    })
}

fusion_guest::export_task!(relay);
