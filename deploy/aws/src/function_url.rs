//! The app's front door on AWS: a Lambda Function URL on the entry function (`deploy aws --url`),
//! with auth type NONE (anyone may call it: Lambda also needs a resource policy allowing
//! `lambda:InvokeFunctionUrl` to everyone) or AWS_IAM (callers sign with SigV4). The host answers
//! its payload-2.0 events as the local front door answers HTTP (see `fusion_lambda::event`).

use anyhow::{Result, bail};
use fusion_store::aws_api::{Answer, AwsClient};
use serde_json::{Value, json};

/// The statement of the public-invoke permission a NONE URL needs.
const PUBLIC_STATEMENT: &str = "FusionFunctionUrlPublic";

/// Who may call the Function URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlAuth {
    /// Anyone.
    None,
    /// Callers who sign with SigV4 and whom IAM allows.
    AwsIam,
}

impl UrlAuth {
    /// The name in Lambda's API.
    pub fn lambda_name(self) -> &'static str {
        match self {
            UrlAuth::None => "NONE",
            UrlAuth::AwsIam => "AWS_IAM",
        }
    }
}

impl std::str::FromStr for UrlAuth {
    type Err = String;

    fn from_str(name: &str) -> Result<UrlAuth, String> {
        match name {
            "none" => Ok(UrlAuth::None),
            "aws-iam" => Ok(UrlAuth::AwsIam),
            _ => Err(format!("unknown Function URL auth '{name}' (none, aws-iam)")),
        }
    }
}

/// Function URLs through the Lambda API.
pub struct FunctionUrls<'a> {
    /// Signs the calls.
    pub client: &'a AwsClient,
    /// Lambda's endpoint.
    pub endpoint: String,
}

impl FunctionUrls<'_> {
    /// Gives `function` a URL with `auth` (creating or changing it) and the permission that auth
    /// needs; returns the URL.
    pub async fn ensure(&self, function: &str, auth: UrlAuth) -> Result<String> {
        let want = json!({ "AuthType": auth.lambda_name() });
        let config = match self.get(function).await? {
            None => self.send("POST", &self.url_config(function), Some(want), &[201]).await?,
            Some(have) if have["AuthType"] != auth.lambda_name() => self.send("PUT", &self.url_config(function), Some(want), &[200]).await?,
            Some(have) => have,
        };
        match auth {
            UrlAuth::None => {
                let permission = json!({
                    "StatementId": PUBLIC_STATEMENT,
                    "Action": "lambda:InvokeFunctionUrl",
                    "Principal": "*",
                    "FunctionUrlAuthType": "NONE",
                });
                // AWS answers 201 (moto 200); 409 when the statement is there from an earlier deploy.
                self.send("POST", &self.policy(function, ""), Some(permission), &[200, 201, 409]).await?;
            }
            UrlAuth::AwsIam => {
                self.send("DELETE", &self.policy(function, &format!("/{PUBLIC_STATEMENT}")), None, &[200, 204, 404]).await?;
            }
        }
        match config["FunctionUrl"].as_str() {
            Some(url) => Ok(url.to_string()),
            None => bail!("Lambda gave {function} a URL configuration without its URL: {config}"),
        }
    }

    /// The function's URL configuration, if it has one.
    pub async fn get(&self, function: &str) -> Result<Option<Value>> {
        let Answer { status, body, .. } = self.client.send("lambda", "GET", &self.url_config(function), &[], Vec::new()).await?;
        match status {
            // moto answers 201 here, AWS 200.
            200 | 201 => Ok(Some(serde_json::from_slice(&body)?)),
            404 => Ok(None),
            _ => bail!("Lambda GetFunctionUrlConfig {function} answered {status}: {}", String::from_utf8_lossy(&body)),
        }
    }

    /// Removes the function's URL and its public permission; true if it had a URL.
    pub async fn remove(&self, function: &str) -> Result<bool> {
        let had = self.get(function).await?.is_some();
        if had {
            self.send("DELETE", &self.url_config(function), None, &[200, 204, 404]).await?;
        }
        self.send("DELETE", &self.policy(function, &format!("/{PUBLIC_STATEMENT}")), None, &[200, 204, 404]).await?;
        Ok(had)
    }

    fn url_config(&self, function: &str) -> String {
        format!("{}/2021-10-31/functions/{function}/url", self.endpoint.trim_end_matches('/'))
    }

    fn policy(&self, function: &str, rest: &str) -> String {
        format!("{}/2015-03-31/functions/{function}/policy{rest}", self.endpoint.trim_end_matches('/'))
    }

    async fn send(&self, method: &str, url: &str, body: Option<Value>, expected: &[u16]) -> Result<Value> {
        let headers = [("content-type", "application/json")];
        let body = body.map(|b| serde_json::to_vec(&b)).transpose()?.unwrap_or_default();
        let Answer { status, body, .. } = self.client.send("lambda", method, url, &headers, body).await?;
        if !expected.contains(&status) {
            bail!("Lambda {method} {url} answered {status}: {}", String::from_utf8_lossy(&body));
        }
        Ok(serde_json::from_slice(&body).unwrap_or(Value::Null))
    }
}
