//! The app's key-value stores on AWS: one DynamoDB table per app, through DynamoDB's JSON API.
//! Its partition key `store` names the task's store, its sort key `key` the entry's key (both
//! strings); items hold their bytes as `value`. Billed per request, so an idle app costs nothing.

use std::time::Duration;

use anyhow::{Result, bail};
use fusion_store::aws_api::AwsClient;
use fusion_lambda::dynamodb;
use serde_json::{Value, json};

/// The table's keys: attribute name and key type, each attribute a string (`S`), as the backend
/// that reads the table expects them.
pub(crate) const KEYS: [(&str, &str); 2] = fusion_lambda::dynamodb::KEY_SCHEMA;

/// What DynamoDB answers about a table that does not exist.
const NOT_FOUND: &str = "ResourceNotFoundException";

/// What DynamoDB answers when a table is being created or deleted.
const IN_USE: &str = "ResourceInUseException";

/// How often, and how many times, `ensure` looks whether the table has become ACTIVE: for up to
/// two minutes (AWS takes seconds; moto answers ACTIVE at once).
const POLL_EVERY: Duration = Duration::from_millis(500);
const POLLS: usize = 240;

/// The app's table through the DynamoDB API.
pub struct Tables<'a> {
    /// Signs the calls.
    pub client: &'a AwsClient,
    /// DynamoDB's endpoint.
    pub endpoint: String,
}

impl Tables<'_> {
    /// Creates the table if missing and waits until it is ACTIVE; true if it was created. A table
    /// of that name with other keys is an error: it is not one Fusion made.
    pub async fn ensure(&self, name: &str) -> Result<bool> {
        let mut created = false;
        let mut status = String::new();
        for _ in 0..POLLS {
            match self.describe(name).await? {
                None if !created => {
                    let create = json!({
                        "TableName": name,
                        "KeySchema": KEYS.map(|(attribute, kind)| json!({ "AttributeName": attribute, "KeyType": kind })),
                        "AttributeDefinitions": KEYS.map(|(attribute, _)| json!({ "AttributeName": attribute, "AttributeType": "S" })),
                        "BillingMode": "PAY_PER_REQUEST",
                    });
                    // In use: someone else's deploy has just created it; it is then awaited as theirs.
                    created = self.call("CreateTable", create, &[IN_USE]).await?.is_ok();
                    if created {
                        continue;
                    }
                }
                // Just created: DynamoDB may take a moment to describe it.
                None => status = "missing".into(),
                Some(table) => {
                    status = table["TableStatus"].as_str().unwrap_or_default().to_string();
                    // A table being deleted (by a `--destroy` just before) is recreated once gone.
                    if status != "DELETING" {
                        check_keys(name, &table)?;
                    }
                    if status == "ACTIVE" {
                        return Ok(created);
                    }
                }
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
        bail!("the DynamoDB table {name} did not become ACTIVE within two minutes (it is {status})")
    }

    /// Deletes the table and the entries of every store in it; true if there was one.
    pub async fn delete(&self, name: &str) -> Result<bool> {
        match self.call("DeleteTable", json!({ "TableName": name }), &[NOT_FOUND, IN_USE]).await? {
            Ok(_) => Ok(true),
            Err(kind) if kind == NOT_FOUND => Ok(false),
            // Being deleted already (by an earlier `--destroy`) is as good as gone.
            Err(_) => match self.describe(name).await? {
                Some(table) if table["TableStatus"] != "DELETING" => bail!("the DynamoDB table {name} is {} and cannot be deleted now; try again", table["TableStatus"].as_str().unwrap_or("busy")),
                _ => Ok(false),
            },
        }
    }

    /// The table as DescribeTable describes it, or None if there is none (a table being deleted
    /// has its status DELETING, and is None once gone).
    async fn describe(&self, name: &str) -> Result<Option<Value>> {
        Ok(self.call("DescribeTable", json!({ "TableName": name }), &[NOT_FOUND]).await?.ok().map(|answer| answer["Table"].clone()))
    }

    /// One call of DynamoDB's JSON API: the answer, or the kind of error (`ResourceNotFoundException`,
    /// …) when it is one of `tolerated`; any other error fails.
    async fn call(&self, action: &str, body: Value, tolerated: &[&str]) -> Result<Result<Value, String>> {
        match dynamodb::call(self.client, &self.endpoint, action, &body).await? {
            Ok(answer) => Ok(Ok(answer)),
            Err(refused) if tolerated.contains(&refused.kind.as_str()) => Ok(Err(refused.kind)),
            Err(refused) => bail!("DynamoDB {action} answered {refused}"),
        }
    }
}

/// Fails unless `table` has the keys of [`KEYS`], each a string.
fn check_keys(name: &str, table: &Value) -> Result<()> {
    let schema = |attribute: &str| table["KeySchema"].as_array().into_iter().flatten().find(|k| k["AttributeName"] == attribute).map(|k| k["KeyType"].clone());
    let kind = |attribute: &str| table["AttributeDefinitions"].as_array().into_iter().flatten().find(|d| d["AttributeName"] == attribute).map(|d| d["AttributeType"].clone());
    let as_wanted = table["KeySchema"].as_array().map(Vec::len) == Some(KEYS.len())
        && KEYS.iter().all(|(attribute, key_type)| schema(attribute) == Some(json!(key_type)) && kind(attribute) == Some(json!("S")));
    if !as_wanted {
        bail!(
            "the DynamoDB table {name} exists with the key schema {} (attributes {}), not the one Fusion's key-value stores need \
             (partition key `store`, sort key `key`, both strings): it is not Fusion's; rename the app or delete that table",
            table["KeySchema"],
            table["AttributeDefinitions"]
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(keys: Value, attributes: Value) -> Value {
        json!({ "TableStatus": "ACTIVE", "KeySchema": keys, "AttributeDefinitions": attributes })
    }

    #[test]
    fn only_a_table_keyed_by_store_and_key_strings_is_accepted() {
        let keys = json!([{ "AttributeName": "key", "KeyType": "RANGE" }, { "AttributeName": "store", "KeyType": "HASH" }]);
        let strings = json!([{ "AttributeName": "store", "AttributeType": "S" }, { "AttributeName": "key", "AttributeType": "S" }]);
        check_keys("t", &table(keys.clone(), strings.clone())).expect("the order of the keys does not matter");

        let swapped = json!([{ "AttributeName": "store", "KeyType": "RANGE" }, { "AttributeName": "key", "KeyType": "HASH" }]);
        let error = check_keys("t", &table(swapped, strings.clone())).unwrap_err().to_string();
        assert!(error.contains("the DynamoDB table t exists with the key schema") && error.contains("partition key `store`"), "{error}");

        let hash_only = json!([{ "AttributeName": "store", "KeyType": "HASH" }]);
        assert!(check_keys("t", &table(hash_only, strings)).is_err());
        let binary = json!([{ "AttributeName": "store", "AttributeType": "S" }, { "AttributeName": "key", "AttributeType": "B" }]);
        assert!(check_keys("t", &table(keys, binary)).is_err());
    }
}
