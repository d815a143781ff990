//! What every key-value backend must do, checked the same way against each (SQLite, DynamoDB on
//! moto): every operation, and concurrent increments that lose no update.

use std::sync::Arc;

use fusion_host::kv::{KvAnswer, KvBackend, KvErrorKind, KvOp};

fn op(kind: &str, key: &str) -> KvOp {
    let (store, key) = ("s".to_string(), key.to_string());
    match kind {
        "get" => KvOp::Get { store, key },
        "exists" => KvOp::Exists { store, key },
        "delete" => KvOp::Delete { store, key },
        _ => KvOp::Keys { store, prefix: key },
    }
}

fn set(key: &str, value: &str) -> KvOp {
    KvOp::Set { store: "s".into(), key: key.into(), value: value.as_bytes().to_vec() }
}

fn cas(key: &str, expected: Option<&str>, new: &str) -> KvOp {
    KvOp::CompareAndSwap { store: "s".into(), key: key.into(), expected: expected.map(|e| e.as_bytes().to_vec()), new: new.as_bytes().to_vec() }
}

fn increment(key: &str, delta: i64) -> KvOp {
    KvOp::Increment { store: "s".into(), key: key.into(), delta }
}

/// Runs every operation on `kv`, an empty store of one app.
pub async fn check_operations(kv: &dyn KvBackend) {
    let value = |v: &str| KvAnswer::Value(Some(v.as_bytes().to_vec()));
    for (key, v) in [("u/1", "x"), ("u/2", "y"), ("v/1", "z")] {
        assert_eq!(kv.run(set(key, v)).await.unwrap(), KvAnswer::Done);
    }
    assert_eq!(kv.run(op("get", "u/1")).await.unwrap(), value("x"));
    assert_eq!(kv.run(op("get", "nothing")).await.unwrap(), KvAnswer::Value(None));
    assert_eq!(kv.run(op("keys", "u/")).await.unwrap(), KvAnswer::Keys(vec!["u/1".into(), "u/2".into()]));
    assert_eq!(kv.run(op("keys", "")).await.unwrap(), KvAnswer::Keys(vec!["u/1".into(), "u/2".into(), "v/1".into()]));
    assert_eq!(kv.run(op("delete", "u/1")).await.unwrap(), KvAnswer::Done);
    assert_eq!(kv.run(op("delete", "u/1")).await.unwrap(), KvAnswer::Done, "deleting what is absent is fine");
    assert_eq!(kv.run(op("exists", "u/1")).await.unwrap(), KvAnswer::Flag(false));
    assert_eq!(kv.run(op("exists", "u/2")).await.unwrap(), KvAnswer::Flag(true));
    assert_eq!(kv.run(increment("n", 5)).await.unwrap(), KvAnswer::Number(5));
    assert_eq!(kv.run(increment("n", -7)).await.unwrap(), KvAnswer::Number(-2));
    assert_eq!(kv.run(op("get", "n")).await.unwrap(), value("-2"), "a counter reads as decimal text");
    assert_eq!(kv.run(increment("u/2", 1)).await.unwrap_err().kind, KvErrorKind::NotANumber);
    assert_eq!(kv.run(cas("c", None, "1")).await.unwrap(), KvAnswer::Flag(true));
    assert_eq!(kv.run(cas("c", None, "2")).await.unwrap(), KvAnswer::Flag(false), "no longer absent");
    assert_eq!(kv.run(cas("c", Some("0"), "2")).await.unwrap(), KvAnswer::Flag(false), "not that value");
    assert_eq!(kv.run(cas("c", Some("1"), "2")).await.unwrap(), KvAnswer::Flag(true));
    assert_eq!(kv.run(op("get", "c")).await.unwrap(), value("2"));
    let bytes: Vec<u8> = (0..=255).collect();
    kv.run(KvOp::Set { store: "s".into(), key: "bytes".into(), value: bytes.clone() }).await.unwrap();
    assert_eq!(kv.run(op("get", "bytes")).await.unwrap(), KvAnswer::Value(Some(bytes)), "any bytes round-trip");
}

/// `writers` concurrent writers add 1 to one key `each` times: the sum is exact.
pub async fn check_concurrent_increments(kv: Arc<dyn KvBackend>, writers: usize, each: usize) {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..writers {
        let kv = kv.clone();
        tasks.spawn(async move {
            for _ in 0..each {
                kv.run(increment("hits", 1)).await.unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let total = (writers * each).to_string();
    assert_eq!(kv.run(op("get", "hits")).await.unwrap(), KvAnswer::Value(Some(total.into_bytes())));
}
