//! The app's Lambda functions through the Lambda API (REST, JSON): one per task, all running the
//! same package, each told by its environment which Fusion function it is.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Result, bail};
use fusion_store::aws_api::{Answer, AwsClient};
use serde_json::{Value, json};

pub struct Functions<'a> {
    pub client: &'a AwsClient,
    pub endpoint: String,
}

/// What a function should be.
pub struct Desired<'a> {
    pub name: String,
    pub architecture: &'a str,
    /// The package, and base64 of its SHA-256 (what Lambda reports as `CodeSha256`).
    pub zip: &'a [u8],
    pub zip_sha256: &'a str,
    pub configuration: Configuration,
}

/// What a function's configuration should be: what a new setup or policy can change without a
/// code upload.
pub struct Configuration {
    pub role_arn: String,
    pub memory_mb: u32,
    pub timeout_s: u32,
    /// Reserved concurrency; None leaves the function on the account's unreserved pool.
    pub concurrency: Option<u32>,
    pub environment: BTreeMap<String, String>,
}

/// What `ensure` did to a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The function did not exist.
    Created,
    /// It existed and was changed.
    Updated {
        /// Its package was uploaded again.
        code: bool,
        /// Its memory size, timeout, reserved concurrency, role or environment changed.
        configuration: bool,
    },
    /// It was as wanted.
    Unchanged,
}

impl Functions<'_> {
    /// The function as GetFunction describes it (`Configuration`, `Concurrency`, …), or None if
    /// it does not exist.
    pub async fn get(&self, name: &str) -> Result<Option<Value>> {
        let Answer { status, body, .. } = self.client.send("lambda", "GET", &self.url(name, ""), &[], Vec::new()).await?;
        match status {
            200 => Ok(Some(serde_json::from_slice::<Value>(&body)?)),
            404 => Ok(None),
            _ => bail!("Lambda GetFunction {name} answered {status}: {}", String::from_utf8_lossy(&body)),
        }
    }

    /// Creates the function, or updates what differs from `have` (the function as [`get`] found
    /// it): its code only when the package changed.
    ///
    /// [`get`]: Functions::get
    pub async fn ensure(&self, want: &Desired<'_>, have: Option<Value>) -> Result<Change> {
        let Some(have) = have else {
            let mut create = configuration_body(&want.configuration);
            let extra = json!({
                "FunctionName": want.name,
                "Runtime": "provided.al2023",
                "Handler": "bootstrap",
                "Architectures": [want.architecture],
                "Code": { "ZipFile": base64_of(want.zip) },
            });
            create.as_object_mut().expect("an object").extend(extra.as_object().expect("an object").clone());
            self.create(&want.name, create).await?;
            self.set_concurrency(&want.name, want.configuration.concurrency).await?;
            return Ok(Change::Created);
        };
        let configuration = &have["Configuration"];
        let same_code = configuration["CodeSha256"] == want.zip_sha256 && configuration["Architectures"] == json!([want.architecture]);
        if !same_code {
            let code = json!({ "ZipFile": base64_of(want.zip), "Architectures": [want.architecture] });
            self.send("PUT", &self.url(&want.name, "/code"), code, 200).await?;
            self.wait_until_updated(&want.name).await?;
        }
        let configured = !self.configure(&want.name, &want.configuration, &have).await?;
        Ok(if same_code && configured { Change::Unchanged } else { Change::Updated { code: !same_code, configuration: !configured } })
    }

    /// Changes what differs between the configuration `want` and the function as [`get`] found
    /// it (`have`); true if anything did. New invocations run in environments of the new
    /// configuration (Lambda starts them; running ones finish as they were).
    ///
    /// [`get`]: Functions::get
    pub async fn configure(&self, name: &str, want: &Configuration, have: &Value) -> Result<bool> {
        let same_concurrency = have["Concurrency"]["ReservedConcurrentExecutions"].as_u64() == want.concurrency.map(u64::from);
        let have = &have["Configuration"];
        let same_configuration = have["Role"] == want.role_arn.as_str()
            && have["MemorySize"] == want.memory_mb
            && have["Timeout"] == want.timeout_s
            && have["Environment"]["Variables"] == json!(want.environment);
        if !same_configuration {
            self.send("PUT", &self.url(name, "/configuration"), configuration_body(want), 200).await?;
        }
        if !same_concurrency {
            self.set_concurrency(name, want.concurrency).await?;
        }
        Ok(!(same_configuration && same_concurrency))
    }

    /// Reserves `limit` concurrent executions for the function (Lambda throttles beyond it), or
    /// returns it to the unreserved pool.
    async fn set_concurrency(&self, name: &str, limit: Option<u32>) -> Result<()> {
        let url = format!("{}/2017-10-31/functions/{name}/concurrency", self.endpoint.trim_end_matches('/'));
        match limit {
            Some(limit) => self.send("PUT", &url, json!({ "ReservedConcurrentExecutions": limit }), 200).await,
            None => {
                let Answer { status, body, .. } = self.client.send("lambda", "DELETE", &url, &[], Vec::new()).await?;
                match status {
                    200 | 204 | 404 => Ok(()),
                    _ => bail!("Lambda DeleteFunctionConcurrency {name} answered {status}: {}", String::from_utf8_lossy(&body)),
                }
            }
        }
    }

    /// A role IAM has just created takes seconds to reach Lambda, which until then refuses it
    /// ("cannot be assumed"): retry for up to half a minute.
    async fn create(&self, name: &str, body: Value) -> Result<()> {
        let body = serde_json::to_vec(&body)?;
        for _ in 0..20 {
            let headers = [("content-type", "application/json")];
            let Answer { status, body: answer, .. } = self.client.send("lambda", "POST", &self.url("", ""), &headers, body.clone()).await?;
            let text = String::from_utf8_lossy(&answer);
            match status {
                201 => return Ok(()),
                400 if text.contains("cannot be assumed") => tokio::time::sleep(Duration::from_millis(1500)).await,
                _ => bail!("Lambda CreateFunction {name} answered {status}: {text}"),
            }
        }
        bail!("Lambda kept refusing the new role for {name}: IAM has not propagated it")
    }

    /// Deletes the function; true if there was one.
    pub async fn delete(&self, name: &str) -> Result<bool> {
        let Answer { status, body, .. } = self.client.send("lambda", "DELETE", &self.url(name, ""), &[], Vec::new()).await?;
        match status {
            200 | 202 | 204 => Ok(true),
            404 => Ok(false),
            _ => bail!("Lambda DeleteFunction {name} answered {status}: {}", String::from_utf8_lossy(&body)),
        }
    }

    /// Lambda refuses a configuration change while a code update is in progress.
    pub async fn wait_until_updated(&self, name: &str) -> Result<()> {
        for _ in 0..120 {
            let status = self.get(name).await?.map(|c| c["LastUpdateStatus"].as_str().unwrap_or("Successful").to_string());
            if status.as_deref() != Some("InProgress") {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        bail!("the code update of {name} did not finish within a minute")
    }

    /// `/2015-03-31/functions/{name}{rest}`; an empty name is the collection (for creating).
    fn url(&self, name: &str, rest: &str) -> String {
        let base = format!("{}/2015-03-31/functions", self.endpoint.trim_end_matches('/'));
        if name.is_empty() { base } else { format!("{base}/{name}{rest}") }
    }

    async fn send(&self, method: &str, url: &str, body: Value, expected: u16) -> Result<()> {
        let headers = [("content-type", "application/json")];
        let Answer { status, body, .. } = self.client.send("lambda", method, url, &headers, serde_json::to_vec(&body)?).await?;
        if status != expected {
            bail!("Lambda {method} {url} answered {status}: {}", String::from_utf8_lossy(&body));
        }
        Ok(())
    }
}

/// The configuration as UpdateFunctionConfiguration (and CreateFunction) take it.
fn configuration_body(want: &Configuration) -> Value {
    json!({
        "Role": want.role_arn,
        "MemorySize": want.memory_mb,
        "Timeout": want.timeout_s,
        "Environment": { "Variables": want.environment },
    })
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
