//! The key-value backend on AWS: one DynamoDB table per app (`fusion deploy aws` creates it),
//! partition key `store`, sort key `key`, the bytes in `value`. Reads are strongly consistent;
//! `increment` and `compare-and-swap` are conditional writes (the item's old value or its absence
//! is the condition), retried when another writer got there first, so no update is lost. A retry
//! waits a random time under a cap that doubles per attempt (full jitter), so writers contending
//! for one counter spread out instead of colliding again in lockstep.
//! Calls are the DynamoDB JSON API signed with SigV4, as the Invoke API's are.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use fusion_host::kv::{KvAnswer, KvBackend, KvError, KvFuture, KvOp, MAX_LISTED_KEYS, add_to_counter, parse_counter};
use serde_json::{Value, json};

use fusion_store::aws_api::{AwsClient, Failure};

/// The table's key schema: the partition key `store` and the sort key `key`, both strings
/// (`fusion deploy aws` creates the table with it). Items also hold the bytes in `value`.
pub const KEY_SCHEMA: [(&str, &str); 2] = [("store", "HASH"), ("key", "RANGE")];

/// How often an increment retries when other writers keep changing the same item.
const MAX_INCREMENT_ATTEMPTS: u32 = 64;

/// The cap of the random wait before a retry: 1 ms doubled per failed attempt, at most 64 ms.
fn retry_wait(failed_attempts: u32) -> std::time::Duration {
    let cap_ms = 1u64 << failed_attempts.min(6);
    std::time::Duration::from_micros(fastrand::u64(0..=cap_ms * 1000))
}

/// One call of DynamoDB's JSON API at `endpoint`, signed for `dynamodb`: the answer's body, or
/// what DynamoDB refused it with. The backend below and `fusion deploy aws`'s table both use it.
pub async fn call(client: &AwsClient, endpoint: &str, action: &str, body: &Value) -> Result<Result<Value, Refused>, Failure> {
    let target = format!("DynamoDB_20120810.{action}");
    let headers = [("content-type", "application/x-amz-json-1.0"), ("x-amz-target", target.as_str())];
    let answer = client.send("dynamodb", "POST", endpoint, &headers, body.to_string().into_bytes()).await?;
    let parsed: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    if answer.status == 200 {
        return Ok(Ok(parsed));
    }
    // `__type` is `com.amazonaws.dynamodb.v20120810#ResourceNotFoundException`.
    let kind = parsed["__type"].as_str().unwrap_or_default().rsplit('#').next().unwrap_or_default().to_string();
    let message = parsed["message"].as_str().or(parsed["Message"].as_str()).unwrap_or_default().to_string();
    Ok(Err(Refused { kind, message, status: answer.status }))
}

/// The stores of one app in its DynamoDB table. Cheap to clone: each operation's future owns one.
#[derive(Clone)]
pub struct DynamoKv(Arc<Table>);

struct Table {
    client: AwsClient,
    endpoint: String,
    name: String,
}

impl DynamoKv {
    /// The app's stores in `table`, reached at `endpoint` (`https://dynamodb.{region}.amazonaws.com`,
    /// or an emulator's).
    pub fn new(client: AwsClient, endpoint: &str, table: &str) -> Arc<DynamoKv> {
        Arc::new(DynamoKv(Arc::new(Table { client, endpoint: endpoint.to_string(), name: table.to_string() })))
    }

    /// AWS's own DynamoDB endpoint in `region`.
    pub fn aws_endpoint(region: &str) -> String {
        format!("https://dynamodb.{region}.amazonaws.com")
    }

    /// One call of the JSON API on this table; a transport failure is `unavailable`.
    async fn call(&self, action: &str, body: Value) -> Result<Result<Value, Refused>, KvError> {
        call(&self.0.client, &self.0.endpoint, action, &body).await.map_err(KvError::unavailable)
    }

    /// A call whose refusal is a failure.
    async fn must(&self, action: &str, body: Value) -> Result<Value, KvError> {
        self.call(action, body).await?.map_err(|refused| KvError::unavailable(format!("DynamoDB {action} on {}: {refused}", self.0.name)))
    }

    fn key(&self, store: &str, key: &str) -> Value {
        json!({ "TableName": self.0.name, "Key": { "store": { "S": store }, "key": { "S": key } }, "ConsistentRead": true })
    }

    async fn get(&self, store: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let answer = self.must("GetItem", self.key(store, key)).await?;
        match answer["Item"]["value"]["B"].as_str() {
            Some(encoded) => STANDARD.decode(encoded).map(Some).map_err(|e| KvError::unavailable(format!("DynamoDB returned a value that is not base64: {e}"))),
            None => Ok(None),
        }
    }

    /// Writes `value` if the item's value still is `expected` (`None`: absent); false when it was not.
    async fn put_if(&self, store: &str, key: &str, value: &[u8], expected: Option<Option<&[u8]>>) -> Result<bool, KvError> {
        let mut body = json!({
            "TableName": self.0.name,
            "Item": { "store": { "S": store }, "key": { "S": key }, "value": { "B": STANDARD.encode(value) } },
        });
        match expected {
            None => {}
            Some(None) => {
                body["ConditionExpression"] = json!("attribute_not_exists(#k)");
                body["ExpressionAttributeNames"] = json!({ "#k": "key" });
            }
            Some(Some(old)) => {
                body["ConditionExpression"] = json!("#v = :old");
                body["ExpressionAttributeNames"] = json!({ "#v": "value" });
                body["ExpressionAttributeValues"] = json!({ ":old": { "B": STANDARD.encode(old) } });
            }
        }
        match self.call("PutItem", body).await? {
            Ok(_) => Ok(true),
            Err(refused) if refused.kind == "ConditionalCheckFailedException" => Ok(false),
            Err(refused) => Err(KvError::unavailable(format!("DynamoDB PutItem on {}: {refused}", self.0.name))),
        }
    }

    async fn keys(&self, store: &str, prefix: &str) -> Result<Vec<String>, KvError> {
        let mut body = json!({
            "TableName": self.0.name,
            "KeyConditionExpression": "#s = :s",
            "ExpressionAttributeNames": { "#s": "store" },
            "ExpressionAttributeValues": { ":s": { "S": store } },
            "ProjectionExpression": "#s, #k",
            "ConsistentRead": true,
            "Limit": MAX_LISTED_KEYS,
        });
        body["ExpressionAttributeNames"]["#k"] = json!("key");
        if !prefix.is_empty() {
            body["KeyConditionExpression"] = json!("#s = :s AND begins_with(#k, :p)");
            body["ExpressionAttributeValues"][":p"] = json!({ "S": prefix });
        }
        let answer = self.must("Query", body).await?;
        let items = answer["Items"].as_array().cloned().unwrap_or_default();
        Ok(items.iter().filter_map(|item| item["key"]["S"].as_str().map(str::to_string)).take(MAX_LISTED_KEYS).collect())
    }

    async fn run_op(&self, op: KvOp) -> Result<KvAnswer, KvError> {
        match op {
            KvOp::Get { store, key } => self.get(&store, &key).await.map(KvAnswer::Value),
            KvOp::Exists { store, key } => self.get(&store, &key).await.map(|v| KvAnswer::Flag(v.is_some())),
            KvOp::Set { store, key, value } => self.put_if(&store, &key, &value, None).await.map(|_| KvAnswer::Done),
            KvOp::Delete { store, key } => {
                let mut body = self.key(&store, &key);
                body.as_object_mut().expect("an object").remove("ConsistentRead");
                self.must("DeleteItem", body).await.map(|_| KvAnswer::Done)
            }
            KvOp::Keys { store, prefix } => self.keys(&store, &prefix).await.map(KvAnswer::Keys),
            KvOp::Increment { store, key, delta } => {
                for attempt in 0..MAX_INCREMENT_ATTEMPTS {
                    if attempt > 0 {
                        tokio::time::sleep(retry_wait(attempt)).await;
                    }
                    let old = self.get(&store, &key).await?;
                    let sum = add_to_counter(&key, parse_counter(&key, old.as_deref())?, delta)?;
                    if self.put_if(&store, &key, sum.to_string().as_bytes(), Some(old.as_deref())).await? {
                        return Ok(KvAnswer::Number(sum));
                    }
                }
                Err(KvError::unavailable(format!("'{key}' kept changing under {MAX_INCREMENT_ATTEMPTS} attempts to increment it")))
            }
            KvOp::CompareAndSwap { store, key, expected, new } => self.put_if(&store, &key, &new, Some(expected.as_deref())).await.map(KvAnswer::Flag),
        }
    }
}

impl KvBackend for DynamoKv {
    fn run(&self, op: KvOp) -> KvFuture {
        let this = self.clone();
        Box::pin(async move { this.run_op(op).await })
    }
}

/// A refusal of the DynamoDB API.
#[derive(Debug)]
pub struct Refused {
    /// The error's type without its namespace, e.g. `ConditionalCheckFailedException`.
    pub kind: String,
    /// DynamoDB's message.
    pub message: String,
    /// The HTTP status.
    pub status: u16,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.kind, self.message)
    }
}
