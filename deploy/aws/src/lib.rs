//! `fusion deploy aws`: the app on AWS Lambda. Components and the setup go to the store on S3,
//! the tasks' key-value stores live in one DynamoDB table, one IAM role lets the functions read
//! the store, use the table and invoke each other, and every task gets a Lambda function running
//! the same package with its memory size from the setup. Running it again changes only what
//! differs (a new setup's memory sizes need no code upload); `--destroy` removes what it made.

pub mod autopilot;
mod function_url;
mod functions;
mod iam;
pub mod package;
mod table;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use fusion_host::policy::DEFAULT_TIMEOUT;
use fusion_host::{FusionSetup, Preset};
use fusion_store::aws_api::AwsClient;
use fusion_lambda::dynamodb::DynamoKv;
use fusion_lambda::front_end::vars;
use fusion_store::{Store, StoreConfig};

pub use function_url::UrlAuth;
pub use functions::Change;
use function_url::FunctionUrls;
use functions::{Configuration, Desired, Functions};
use iam::Iam;
use package::Arch;
use table::Tables;

use fusion_cluster::{publish, random};
use fusion_cluster::resolve_setup;
use fusion_project::{Reporter, Project};

/// Where and how to deploy.
pub struct Target {
    /// The app to deploy.
    pub app: String,
    /// The S3 bucket of its store.
    pub bucket: String,
    /// The AWS region.
    pub region: String,
    /// The functions' instruction set.
    pub arch: Arch,
    /// A host binary already built for Lambda; None builds one.
    pub host_binary: Option<PathBuf>,
    /// One endpoint for S3, IAM, Lambda and DynamoDB instead of AWS's (an emulator such as moto).
    pub endpoint: Option<String>,
    /// Give the entry function a Function URL, the app's front door, with this auth.
    pub url: Option<UrlAuth>,
}

impl Target {
    /// The Lambda function of Fusion function `F` is `fusion-{app}-F`.
    pub fn function_prefix(&self) -> String {
        format!("fusion-{}-", self.app)
    }

    /// The Lambda function of `task`'s function.
    pub fn function_name(&self, task: &str) -> String {
        format!("{}{task}", self.function_prefix())
    }

    /// The IAM role every function of the app runs as.
    pub fn role_name(&self) -> String {
        format!("fusion-{}-role", self.app)
    }

    /// The DynamoDB table of the app's key-value stores.
    pub fn table_name(&self) -> String {
        format!("{}kv", self.function_prefix())
    }

    /// The app's store: its own prefix of the bucket, so `--destroy` can remove it whole.
    pub fn store_location(&self) -> String {
        format!("s3://{}/fusion/{}", self.bucket, self.app)
    }

    /// A client of Lambda, IAM and DynamoDB signing with `store`'s credentials.
    fn client(&self, store: &Store) -> Result<AwsClient> {
        AwsClient::new(store.credentials(), &self.region, Duration::from_secs(120))
    }

    fn lambda(&self) -> String {
        self.endpoint.clone().unwrap_or_else(|| format!("https://lambda.{}.amazonaws.com", self.region))
    }

    fn iam(&self) -> String {
        self.endpoint.clone().unwrap_or_else(|| "https://iam.amazonaws.com".into())
    }

    fn dynamodb(&self) -> String {
        self.endpoint.clone().unwrap_or_else(|| DynamoKv::aws_endpoint(&self.region))
    }

    async fn store(&self) -> Result<Store> {
        let config = StoreConfig::at(&self.store_location(), self.endpoint.clone(), &self.region)?;
        Store::connect(&config).await.with_context(|| format!("cannot reach the store {}", self.store_location()))
    }
}

/// What a deploy did.
pub struct Deployed {
    /// The setup current after the deploy.
    pub setup: FusionSetup,
    /// False when the role existed and only its policy was updated.
    pub role_created: bool,
    /// False when the key-value table existed (with the right keys).
    pub table_created: bool,
    /// Lambda function name → what changed.
    pub functions: BTreeMap<String, Change>,
    /// The entry function's Function URL, when `--url` asked for one.
    pub url: Option<String>,
}

/// Deploys the app; `setup` (a preset, a shipped setup or a file) becomes current, else the
/// store's current setup stays (all-remote on a first deploy), on the components just pushed:
/// changed code is applied as a new version of it. `reporter` hears about the host's cross-build.
pub async fn deploy(project: &Project, target: &Target, setup: Option<&str>, reporter: &dyn Reporter) -> Result<Deployed> {
    let manifest = fusion_cluster::app_manifest(project);
    let store = target.store().await?;
    publish::upload(project, &store).await?;
    let setup = match setup {
        Some(choice) => publish::pin_and_apply(&store, resolve_setup(project, choice)?).await?,
        None => match publish::current_on_pushed(&store, &target.app, "fusion deploy aws: the current setup on new code").await? {
            Some(current) => current,
            None => {
                let preset = FusionSetup::preset(Preset::AllRemote, &manifest.app, &manifest.task_names(), &manifest.entry);
                publish::pin_and_apply(&store, preset).await?
            }
        },
    };
    let client = target.client(&store)?;
    let table_created = Tables { client: &client, endpoint: target.dynamodb() }
        .ensure(&target.table_name())
        .await
        .context("making the DynamoDB table of the key-value stores")?;
    let role = Iam { client: &client, endpoint: target.iam() }.ensure_role(&target.role_name(), &policy(target)).await?;
    let binary = match &target.host_binary {
        Some(path) => path.clone(),
        None => package::build_host(project, target.arch, reporter)?,
    };
    let package = package::package(&binary)?;
    let lambda = Functions { client: &client, endpoint: target.lambda() };
    let mut existing = BTreeMap::new();
    for task in manifest.task_names() {
        existing.insert(task.clone(), lambda.get(&target.function_name(&task)).await?);
    }
    let artifact_key = existing_artifact_key(existing.values().flatten()).map_or_else(|| random::random_hex(32), Ok)?;
    let mut changes = BTreeMap::new();
    for (task, have) in existing {
        let name = target.function_name(&task);
        let want = Desired {
            name: name.clone(),
            architecture: target.arch.lambda_name(),
            zip: &package.zip,
            zip_sha256: &package.sha256,
            configuration: configuration(target, &setup, &task, &role.arn, &artifact_key),
        };
        changes.insert(name, lambda.ensure(&want, have).await.with_context(|| format!("deploying the function of '{task}'"))?);
    }
    let url = match target.url {
        Some(auth) => {
            let urls = FunctionUrls { client: &client, endpoint: target.lambda() };
            Some(urls.ensure(&target.function_name(&manifest.entry), auth).await.context("giving the entry function its Function URL")?)
        }
        None => None,
    };
    Ok(Deployed { setup, role_created: role.created, table_created, functions: changes, url })
}

/// What making a setup current on the deployed app changed.
pub struct SetupApplied {
    /// The setup as stored, with its version.
    pub setup: FusionSetup,
    /// The Lambda functions whose configuration changed (their memory sizes).
    pub reconfigured: Vec<String>,
}

/// Makes `setup` the deployed app's current setup: the store's pointer (hosts take the new
/// grouping up at their next invocation) and every function's memory size through the Lambda
/// API, as `fusion deploy aws` sets them — no code upload. The app must have been deployed.
/// Sizes that grow are raised before the pointer moves (and Lambda has finished the update),
/// sizes that shrink after it: no environment runs a group larger than its memory holds.
pub async fn apply_setup(target: &Target, setup: FusionSetup) -> Result<SetupApplied> {
    let store = target.store().await?;
    let tasks: Vec<String> = store.component_index(&target.app).await?.with_context(|| format!("'{}' is not deployed: run `fusion deploy aws` first", target.app))?.into_keys().collect();
    let client = target.client(&store)?;
    let lambda = Functions { client: &client, endpoint: target.lambda() };
    let mut deployed = BTreeMap::new();
    for task in &tasks {
        let name = target.function_name(task);
        let have = lambda.get(&name).await?.with_context(|| format!("the function {name} is missing: run `fusion deploy aws` first"))?;
        deployed.insert(task.clone(), have);
    }
    let pinned = publish::pin(&store, setup).await?;
    let artifact_key = existing_artifact_key(deployed.values()).context("the deployed functions carry no artifact key: run `fusion deploy aws` again")?;
    let grows = |task: &str, have: &serde_json::Value| u64::from(pinned.function(task).memory_mb) > have["Configuration"]["MemorySize"].as_u64().unwrap_or(0);
    let (mut reconfigured, mut applied) = (Vec::new(), None);
    for growing in [true, false] {
        if !growing {
            applied = Some(store.apply_setup(pinned.clone()).await?);
        }
        for (task, have) in deployed.iter().filter(|(task, have)| grows(task, have) == growing) {
            let name = target.function_name(task);
            let role = have["Configuration"]["Role"].as_str().unwrap_or_default().to_string();
            if lambda.configure(&name, &configuration(target, &pinned, task, &role, &artifact_key), have).await? {
                if growing {
                    lambda.wait_until_updated(&name).await?;
                }
                reconfigured.push(name);
            }
        }
    }
    Ok(SetupApplied { setup: applied.context("the setup was applied between the two passes")?, reconfigured })
}

/// The configuration of `task`'s function under `setup`.
fn configuration(target: &Target, setup: &FusionSetup, task: &str, role_arn: &str, artifact_key: &str) -> Configuration {
    Configuration {
        role_arn: role_arn.to_string(),
        memory_mb: setup.function(task).memory_mb,
        timeout_s: setup.policy.timeout(task, DEFAULT_TIMEOUT).as_secs() as u32,
        concurrency: setup.policy.functions.get(task).and_then(|limits| limits.concurrency),
        environment: environment(target, task, artifact_key),
    }
}

/// What `--destroy` removed.
pub struct Destroyed {
    /// Lambda functions deleted.
    pub functions: usize,
    /// Whether the role was there to delete.
    pub role: bool,
    /// Whether the key-value table was there to delete.
    pub table: bool,
    /// Objects removed from the app's store.
    pub objects: usize,
}

/// Removes the app's functions, its key-value table (with every entry), its role and its store.
pub async fn destroy(project: &Project, target: &Target) -> Result<Destroyed> {
    let manifest = fusion_cluster::app_manifest(project);
    let store = target.store().await?;
    let client = target.client(&store)?;
    FunctionUrls { client: &client, endpoint: target.lambda() }.remove(&target.function_name(&manifest.entry)).await?;
    let lambda = Functions { client: &client, endpoint: target.lambda() };
    let mut functions = 0;
    for task in manifest.task_names() {
        functions += usize::from(lambda.delete(&target.function_name(&task)).await?);
    }
    let table = Tables { client: &client, endpoint: target.dynamodb() }.delete(&target.table_name()).await?;
    let role = Iam { client: &client, endpoint: target.iam() }.delete_role(&target.role_name()).await?;
    let objects = store.destroy().await?;
    Ok(Destroyed { functions, role, table, objects })
}

/// The key sealing the app's artifacts, as its deployed functions have it: kept across deploys,
/// so artifacts published by old environments stay usable.
fn existing_artifact_key<'a>(functions: impl IntoIterator<Item = &'a serde_json::Value>) -> Option<String> {
    functions.into_iter().find_map(|function| function["Configuration"]["Environment"]["Variables"][vars::ARTIFACT_KEY].as_str().map(str::to_string))
}

/// The environment of `task`'s function (see `fusion_lambda::front_end`).
fn environment(target: &Target, task: &str, artifact_key: &str) -> BTreeMap<String, String> {
    let mut env = BTreeMap::from([
        (vars::STORE, target.store_location()),
        (vars::APP, target.app.clone()),
        (vars::FUNCTION, task.to_string()),
        (vars::FUNCTION_PREFIX, target.function_prefix()),
        (vars::ARTIFACT_KEY, artifact_key.to_string()),
        (vars::KV_TABLE, target.table_name()),
    ]);
    if let Some(endpoint) = &target.endpoint {
        env.insert(vars::STORE_ENDPOINT, endpoint.clone());
        env.insert(vars::LAMBDA_ENDPOINT, endpoint.clone());
        env.insert(vars::KV_ENDPOINT, endpoint.clone());
    }
    env.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// The role's permissions: the app's store, its key-value table (entries only, not the table
/// itself), invoking the app's functions, writing logs.
fn policy(target: &Target) -> serde_json::Value {
    let (bucket, app, region) = (&target.bucket, &target.app, &target.region);
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            { "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": format!("arn:aws:s3:::{bucket}/fusion/{app}/*") },
            { "Effect": "Allow", "Action": "s3:ListBucket", "Resource": format!("arn:aws:s3:::{bucket}") },
            { "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"], "Resource": format!("arn:aws:dynamodb:{region}:*:table/{}", target.table_name()) },
            { "Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": format!("arn:aws:lambda:{region}:*:function:{}*", target.function_prefix()) },
            { "Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*" }
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Terraform module in deploy/terraform makes what this module makes: same names, same
    /// environment, same permissions.
    #[test]
    fn the_terraform_module_is_in_step_with_the_cli() {
        let module = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../terraform/main.tf")).unwrap();
        // `terraform fmt` aligns the `=` of neighbouring lines: compare with single spaces.
        let module = module.split_whitespace().collect::<Vec<_>>().join(" ");
        let target = Target { app: "APP".into(), bucket: "BUCKET".into(), region: "REGION".into(), arch: Arch::X86_64, host_binary: None, endpoint: None, url: None };
        for key in environment(&target, "TASK", "KEY").keys() {
            assert!(module.contains(&format!("{key} = ")), "main.tf sets no {key}");
        }
        let terraform = |cli: &str| cli.replace("APP", "${var.app}").replace("BUCKET", "${var.bucket}");
        assert!(module.contains(&format!("prefix = \"{}\"", terraform(&target.function_prefix()))), "function names differ");
        assert!(module.contains(&format!("store = \"{}\"", terraform(&target.store_location()))), "store location differs");
        assert_eq!(target.role_name(), format!("{}role", target.function_prefix()));
        assert!(module.contains("name = \"${local.prefix}role\""), "role names differ");
        let table = module.split("resource \"aws_dynamodb_table\" \"kv\"").nth(1).expect("main.tf makes the key-value table").split("resource ").next().unwrap();
        assert_eq!(target.table_name(), format!("{}kv", target.function_prefix()));
        assert!(table.contains("name = \"${local.prefix}kv\""), "table names differ");
        assert!(table.contains("billing_mode = \"PAY_PER_REQUEST\""), "the table is not billed per request");
        for (attribute, kind) in table::KEYS {
            let key = if kind == "HASH" { "hash_key" } else { "range_key" };
            assert!(table.contains(&format!("{key} = \"{attribute}\"")), "the table's {key} differs");
            assert!(table.contains(&format!("attribute {{ name = \"{attribute}\" type = \"S\" }}")), "the table's {attribute} is no string");
        }
        assert!(module.contains(&format!("{} = aws_dynamodb_table.kv.name", vars::KV_TABLE)), "the functions are not told the table");
        assert!(module.contains("Resource = aws_dynamodb_table.kv.arn"), "the role is not granted the table");
        for statement in policy(&target)["Statement"].as_array().unwrap() {
            for action in statement["Action"].as_array().cloned().unwrap_or_else(|| vec![statement["Action"].clone()]) {
                assert!(module.contains(&format!("\"{}\"", action.as_str().unwrap())), "main.tf does not allow {action}");
            }
        }
    }
}
