//! Drives the key-value stores for tests and benchmarks: one operation on `store`, or `times`
//! increments of one key, or `none` (the benchmark's baseline: the same call, no store
//! operation); a store error comes back as `{"error": {"kind", "message"}}`.

use fusion_guest::kv::{self, KvError, kind_name};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Op {
    op: String,
    store: String,
    #[serde(default)]
    key: String,
    /// A UTF-8 value for `set` and `cas`, or a repeated byte: `{"fill": N}` makes N bytes.
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    fill: Option<usize>,
    #[serde(default)]
    expected: Option<String>,
    #[serde(default = "one")]
    times: u32,
}

fn one() -> u32 {
    1
}

fn handle(op: Op) -> Result<Value, fusion_guest::Error> {
    Ok(match run(&op) {
        Ok(answer) => answer,
        Err(e) => json!({ "error": { "kind": kind_name(e.kind), "message": e.message } }),
    })
}

fn run(op: &Op) -> Result<Value, KvError> {
    let (store, key) = (op.store.as_str(), op.key.as_str());
    let value = match (op.fill, &op.value) {
        (Some(n), _) => vec![b'x'; n],
        (None, Some(text)) => text.as_bytes().to_vec(),
        (None, None) => Vec::new(),
    };
    Ok(match op.op.as_str() {
        "none" => Value::Null,
        "get" => json!(kv::get(store, key)?.map(|v| String::from_utf8_lossy(&v).into_owned())),
        "set" => json!(kv::set(store, key, &value)?),
        "delete" => json!(kv::delete(store, key)?),
        "exists" => json!(kv::exists(store, key)?),
        "keys" => json!(kv::keys(store, key)?),
        "incr" => {
            let mut last = 0;
            for _ in 0..op.times {
                last = kv::increment(store, key, 1)?;
            }
            json!(last)
        }
        "cas" => json!(kv::compare_and_swap(store, key, op.expected.as_deref().map(str::as_bytes), &value)?),
        other => json!({ "error": { "kind": "unknown-op", "message": other } }),
    })
}

fusion_guest::export_task!(handle);
