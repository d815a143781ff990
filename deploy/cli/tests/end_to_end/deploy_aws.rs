//! `fusion deploy aws` against moto in server mode, a local emulator of AWS's APIs (S3, IAM,
//! the Lambda control plane and DynamoDB), run as a user runs it: created once, unchanged on a
//! second run, a new setup changes only the memory it names, `--destroy` removes everything, and
//! a DynamoDB table of the app's name that is not Fusion's is refused.
//!
//! moto stores functions but does not run them, so the package holds a stand-in `bootstrap`;
//! that unmodified hosts serve and call each other in Lambda mode is `server/tests/server/lambda_mode`'s
//! part, and `autopilot_aws.rs` runs them from the functions a deploy made in moto.

use crate::support;

use std::process::Output;

use fusion_store::{Store, StoreConfig};
use fusion_test_artifacts::project_dir;
use serde_json::json;
use support::moto::Moto;

/// The DynamoDB table of IoT's key-value stores.
const TABLE: &str = "fusion-iot-kv";

/// `fusion deploy aws` of the reference IoT app, already built, whether it succeeds or not.
fn try_deploy(moto: &Moto, extra: &[&str]) -> Output {
    let project = project_dir("iot");
    let mut args = vec!["-f", project.as_str(), "--bucket", "fusion-deploy-test", "--no-build"];
    args.extend_from_slice(extra);
    moto.try_deploy(&std::env::temp_dir(), &args)
}

/// The stdout of a `fusion deploy aws` that must succeed.
fn deploy(moto: &Moto, extra: &[&str]) -> String {
    support::ok(&try_deploy(moto, extra))
}

/// The key-value table as DynamoDB (moto) describes it; None once it is gone.
async fn table(moto: &Moto) -> Option<serde_json::Value> {
    moto.dynamodb("DescribeTable", json!({ "TableName": TABLE })).await.map(|answer| answer["Table"].clone())
}

fn line_of<'a>(stdout: &'a str, function: &str) -> &'a str {
    stdout.lines().find(|l| l.trim_start().starts_with(&format!("{function} "))).unwrap_or_else(|| panic!("no line for {function}:\n{stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_creates_then_changes_only_what_differs_and_destroy_removes_it_all() {
    let _machine = support::shared();
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let tasks = ["I", "CW", "SE", "CT", "CS", "CA", "CSL", "CSA", "DJ", "AS"];

    let first = deploy(&moto, &["--setup", "all-remote"]);
    assert!(first.contains("role fusion-iot-role: created"), "{first}");
    assert!(first.contains(&format!("key-value table {TABLE}: created")), "{first}");
    let kv = table(&moto).await.expect("the key-value table exists");
    assert_eq!(kv["TableStatus"], "ACTIVE", "{kv}");
    assert_eq!(kv["BillingModeSummary"]["BillingMode"], "PAY_PER_REQUEST", "{kv}");
    let mut keys: Vec<_> = kv["KeySchema"].as_array().unwrap().iter().map(|k| (k["AttributeName"].as_str().unwrap(), k["KeyType"].as_str().unwrap())).collect();
    keys.sort();
    assert_eq!(keys, [("key", "RANGE"), ("store", "HASH")], "{kv}");
    for attribute in kv["AttributeDefinitions"].as_array().unwrap() {
        assert_eq!(attribute["AttributeType"], "S", "{kv}");
    }
    // The role may use the table's entries: that table, the four item calls, nothing else of DynamoDB.
    let policy = moto.role_policy("fusion-iot-role", "fusion").await.expect("the role has its policy");
    let statements = policy["Statement"].as_array().unwrap();
    let dynamodb: Vec<_> = statements.iter().filter(|s| s.to_string().contains("dynamodb:")).collect();
    assert_eq!(dynamodb.len(), 1, "{policy}");
    assert_eq!(dynamodb[0]["Resource"], format!("arn:aws:dynamodb:us-east-1:*:table/{TABLE}"), "{policy}");
    assert_eq!(dynamodb[0]["Action"], json!(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"]), "{policy}");
    for task in tasks {
        assert!(line_of(&first, &format!("fusion-iot-{task}")).ends_with("created"), "{first}");
        let config = moto.configuration(&format!("fusion-iot-{task}")).await.expect("the function exists");
        assert_eq!(config["Runtime"], "provided.al2023");
        assert_eq!(config["Handler"], "bootstrap");
        let env = &config["Environment"]["Variables"];
        assert_eq!((env["FUSION_APP"].as_str(), env["FUSION_FUNCTION"].as_str()), (Some("iot"), Some(task)), "{config}");
        assert_eq!(env["FUSION_STORE"], "s3://fusion-deploy-test/fusion/iot");
        assert_eq!(env["FUSION_ARTIFACT_KEY"].as_str().map(str::len), Some(64), "{config}");
        assert_eq!(env["FUSION_KV_TABLE"], TABLE, "{config}");
        assert_eq!(env["FUSION_KV_ENDPOINT"], moto.url.as_str(), "the emulator's DynamoDB: {config}");
    }
    let key = moto.configuration("fusion-iot-I").await.unwrap()["Environment"]["Variables"]["FUSION_ARTIFACT_KEY"].clone();

    // The functions' key-value backend, on the table the deploy made, does what every backend
    // must: the same checks as the embedded SQLite backend's (another app has a table of its own).
    let backend = fusion_lambda::dynamodb::DynamoKv::new(moto.client(), &moto.url, TABLE);
    fusion_test_artifacts::kv::check_operations(backend.as_ref()).await;
    fusion_test_artifacts::kv::check_concurrent_increments(backend, 8, 25).await;

    // Idempotent: nothing differs, nothing changes, the artifact key is kept. The entry function
    // gets a public Function URL, the app's front door, and the permission anyone needs to call it.
    let second = deploy(&moto, &["--url", "none"]);
    assert!(second.contains(&format!("key-value table {TABLE}: unchanged")), "{second}");
    assert_eq!(table(&moto).await.expect("the table is kept")["CreationDateTime"], kv["CreationDateTime"], "the same table");
    for task in tasks {
        assert!(line_of(&second, &format!("fusion-iot-{task}")).ends_with("unchanged"), "{second}");
    }
    let url = moto.lambda_get("/2021-10-31/functions/fusion-iot-I/url").await.expect("the entry function has a URL");
    assert_eq!(url["AuthType"], "NONE", "{url}");
    assert!(second.contains(&format!("front door: {}", url["FunctionUrl"].as_str().unwrap())), "{second}");
    let policy = moto.lambda_get("/2015-03-31/functions/fusion-iot-I/policy").await.expect("a resource policy");
    assert!(policy.to_string().contains("lambda:InvokeFunctionUrl"), "public invoke allowed: {policy}");
    assert!(moto.lambda_get("/2021-10-31/functions/fusion-iot-CW/url").await.is_none(), "only the entry function has a front door");
    assert_eq!(moto.configuration("fusion-iot-I").await.unwrap()["Environment"]["Variables"]["FUSION_ARTIFACT_KEY"], key);

    // A new setup: the functions whose memory it changes are reconfigured, no code is uploaded.
    let setup = dir.path().join("setup.json");
    std::fs::write(&setup, r#"{"app":"iot","functions":{"I":{"inline":["CW","SE"],"memory_mb":512},"CS":{"memory_mb":2048}}}"#).unwrap();
    let third = deploy(&moto, &["--setup", setup.to_str().unwrap()]);
    for task in tasks {
        let expected = if matches!(task, "I" | "CS") { "updated (configuration)" } else { "unchanged" };
        assert!(line_of(&third, &format!("fusion-iot-{task}")).ends_with(expected), "{task}: {third}");
    }
    assert_eq!(moto.configuration("fusion-iot-I").await.unwrap()["MemorySize"], 512);
    assert_eq!(moto.configuration("fusion-iot-CS").await.unwrap()["MemorySize"], 2048);

    // --destroy removes the functions, the table, the role and the store; a second one finds nothing.
    let destroyed = deploy(&moto, &["--destroy"]);
    assert!(destroyed.contains("removed 10 functions, its role, its key-value table"), "{destroyed}");
    assert!(table(&moto).await.is_none(), "the key-value table is gone");
    for task in tasks {
        assert!(moto.configuration(&format!("fusion-iot-{task}")).await.is_none(), "{task} is gone");
    }
    assert!(moto.lambda_get("/2021-10-31/functions/fusion-iot-I/url").await.is_none(), "and the front door with it");
    let again = deploy(&moto, &["--destroy"]);
    assert!(again.contains("removed 0 functions, no role, no key-value table, 0 objects"), "{again}");

    // A table of that name with other keys is not Fusion's: deploy refuses it and says why.
    let foreign = json!({
        "TableName": TABLE,
        "KeySchema": [{ "AttributeName": "id", "KeyType": "HASH" }],
        "AttributeDefinitions": [{ "AttributeName": "id", "AttributeType": "S" }],
        "BillingMode": "PAY_PER_REQUEST",
    });
    moto.dynamodb("CreateTable", foreign).await.expect("a foreign table");
    let refused = support::failed(&try_deploy(&moto, &[]));
    assert!(refused.contains(&format!("the DynamoDB table {TABLE} exists with the key schema")) && refused.contains("partition key `store`"), "{refused}");
    assert!(moto.configuration("fusion-iot-I").await.is_none(), "refused before any function is made");
}

/// Without `--region`, a deploy goes where AWS's own tools would: here the profile's region.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_region_the_deploy_goes_to_the_profiles_region() {
    let _machine = support::shared();
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(&config, "[default]\nregion = eu-west-1\n").unwrap();
    let project = project_dir("tree");
    let args = ["-f", project.as_str(), "--bucket", "region-test", "--no-build", "--setup", "all-local", "--url", "none"];
    let deployed = support::ok(&moto.deploy_command(dir.path(), &args).env("AWS_CONFIG_FILE", &config).output().unwrap());
    assert!(deployed.contains("region eu-west-1"), "the deploy says where it went: {deployed}");
    let function = "/2015-03-31/functions/fusion-tree-A";
    let deployed = moto.lambda_get_in("eu-west-1", function).await.expect("the function is in the profile's region");
    assert!(deployed["Configuration"]["FunctionArn"].as_str().unwrap().contains(":eu-west-1:"), "{deployed}");
    assert!(moto.lambda_get(function).await.is_none(), "and not in us-east-1");
}

/// A deploy after a code change, without `--setup`: the setup that was current stays (its
/// functions and memory sizes), as a new version pinned to the new component; without a change,
/// no new version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_code_is_deployed_in_the_setup_that_was_current() {
    let _machine = support::shared();
    let moto = Moto::start();
    // A copy of IoT, built, whose components the test can change.
    let copy = tempfile::tempdir().unwrap();
    let components = copy.path().join(".fusion/components");
    std::fs::create_dir_all(&components).unwrap();
    let iot = project_dir("iot");
    std::fs::copy(format!("{iot}/fusion.toml"), copy.path().join("fusion.toml")).unwrap();
    for entry in std::fs::read_dir(format!("{iot}/.fusion/components")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "wasm") {
            std::fs::copy(&path, components.join(path.file_name().unwrap())).unwrap();
        }
    }
    let project = copy.path().to_str().unwrap();
    let deploy = |extra: &[&str]| {
        let mut args = vec!["-f", project, "--bucket", "fusion-redeploy-test", "--no-build"];
        args.extend_from_slice(extra);
        moto.deploy(copy.path(), &args)
    };
    let setup = copy.path().join("setup.json");
    std::fs::write(&setup, r#"{"app":"iot","functions":{"I":{"inline":["CW","SE"],"memory_mb":512}}}"#).unwrap();
    let first = deploy(&["--setup", setup.to_str().unwrap()]);
    assert!(first.contains("setup version 1 ("), "{first}");
    let same = deploy(&[]);
    assert!(same.contains("setup version 1 ("), "no new code, no new version: {same}");

    // CW's code changes (another task's component stands in for its new build).
    std::fs::copy(components.join("AS.wasm"), components.join("CW.wasm")).unwrap();
    let changed = deploy(&[]);
    assert!(changed.contains("setup version 2 ("), "{changed}");
    let mut config = StoreConfig::at("s3://fusion-redeploy-test/fusion/iot", Some(moto.url.clone()), "us-east-1").unwrap();
    config.credentials = Some(("testing".into(), "testing".into()));
    let store = Store::connect(&config).await.unwrap();
    let (before, after) = (store.setup("iot", 1).await.unwrap(), store.setup("iot", 2).await.unwrap());
    assert_eq!(after.functions, before.functions, "the same functions and memory sizes");
    assert_eq!(after.components["CW"], before.components["AS"], "CW runs its new code");
    for (task, digest) in &before.components {
        if task != "CW" {
            assert_eq!(&after.components[task], digest, "{task} is unchanged");
        }
    }
    assert_eq!(store.current_version("iot").await.unwrap(), Some(2));
}
