//! The functions' IAM role through IAM's Query API: one role per app, trusted by Lambda, allowed
//! to read and write the app's store and the entries of its key-value table, invoke the app's
//! functions and write logs.

use anyhow::{Result, bail};
use fusion_store::aws_api::{Answer, AwsClient};

const VERSION: &str = "2010-05-08";

pub struct Iam<'a> {
    pub client: &'a AwsClient,
    pub endpoint: String,
}

/// What `ensure_role` did.
pub struct Role {
    pub arn: String,
    pub created: bool,
}

impl Iam<'_> {
    /// Creates the role if missing and (re)writes its policy; returns its ARN.
    pub async fn ensure_role(&self, name: &str, policy: &serde_json::Value) -> Result<Role> {
        let (arn, created) = match self.call(&[("Action", "GetRole"), ("RoleName", name)]).await? {
            Some(body) => (tag(&body, "Arn")?, false),
            None => {
                let trust = serde_json::json!({
                    "Version": "2012-10-17",
                    "Statement": [{ "Effect": "Allow", "Principal": { "Service": "lambda.amazonaws.com" }, "Action": "sts:AssumeRole" }]
                })
                .to_string();
                let body = self.call(&[("Action", "CreateRole"), ("RoleName", name), ("AssumeRolePolicyDocument", &trust)]).await?;
                (tag(&body.unwrap_or_default(), "Arn")?, true)
            }
        };
        let policy = policy.to_string();
        self.call(&[("Action", "PutRolePolicy"), ("RoleName", name), ("PolicyName", "fusion"), ("PolicyDocument", &policy)]).await?;
        Ok(Role { arn, created })
    }

    /// Deletes the role and its policy; true if there was one.
    pub async fn delete_role(&self, name: &str) -> Result<bool> {
        self.call(&[("Action", "DeleteRolePolicy"), ("RoleName", name), ("PolicyName", "fusion")]).await?;
        Ok(self.call(&[("Action", "DeleteRole"), ("RoleName", name)]).await?.is_some())
    }

    /// One Query API call: the XML answer, or None when the entity does not exist.
    async fn call(&self, params: &[(&str, &str)]) -> Result<Option<String>> {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.extend_pairs(params.iter().copied().chain([("Version", VERSION)]));
        let body = form.finish().into_bytes();
        let headers = [("content-type", "application/x-www-form-urlencoded; charset=utf-8")];
        let Answer { status, body, .. } = self.client.send("iam", "POST", &self.endpoint, &headers, body).await?;
        let text = String::from_utf8_lossy(&body).into_owned();
        match status {
            200 => Ok(Some(text)),
            404 => Ok(None),
            _ if text.contains("<Code>NoSuchEntity</Code>") => Ok(None),
            _ => bail!("IAM {} answered {status}: {text}", params[0].1),
        }
    }
}

/// The text of the first `<name>` element of an XML answer.
fn tag(xml: &str, name: &str) -> Result<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open).map(|i| i + open.len());
    let end = start.and_then(|s| xml[s..].find(&format!("</{name}>")).map(|e| s + e));
    match (start, end) {
        (Some(s), Some(e)) => Ok(xml[s..e].trim().to_string()),
        _ => bail!("no <{name}> in IAM's answer: {xml}"),
    }
}
