//! `fusion deploy aws` against moto in server mode, a local emulator of AWS's APIs (S3, IAM and
//! the Lambda control plane), run as a user runs it: created once, unchanged on a second run, a
//! new setup changes only the memory it names, and `--destroy` removes everything.
//!
//! moto stores functions but does not run them, so the package holds a stand-in `bootstrap`;
//! that unmodified hosts serve and call each other in Lambda mode is `lambda.rs`'s part.

mod support;

use fusion_test_artifacts::project_dir;
use support::moto::Moto;

/// `fusion deploy aws` of the reference IoT app, already built.
fn deploy(moto: &Moto, extra: &[&str]) -> String {
    let project = project_dir("iot");
    let mut args = vec!["-f", project.as_str(), "--bucket", "fusion-deploy-test", "--no-build"];
    args.extend_from_slice(extra);
    moto.deploy(&std::env::temp_dir(), &args)
}

fn line_of<'a>(stdout: &'a str, function: &str) -> &'a str {
    stdout.lines().find(|l| l.trim_start().starts_with(&format!("{function} "))).unwrap_or_else(|| panic!("no line for {function}:\n{stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_creates_then_changes_only_what_differs_and_destroy_removes_it_all() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let tasks = ["I", "CW", "SE", "CT", "CS", "CA", "CSL", "CSA", "DJ", "AS"];

    let first = deploy(&moto, &["--setup", "all-remote"]);
    assert!(first.contains("role fusion-iot-role: created"), "{first}");
    for task in tasks {
        assert!(line_of(&first, &format!("fusion-iot-{task}")).ends_with("created"), "{first}");
        let config = moto.configuration(&format!("fusion-iot-{task}")).await.expect("the function exists");
        assert_eq!(config["Runtime"], "provided.al2023");
        assert_eq!(config["Handler"], "bootstrap");
        let env = &config["Environment"]["Variables"];
        assert_eq!((env["FUSION_APP"].as_str(), env["FUSION_FUNCTION"].as_str()), (Some("iot"), Some(task)), "{config}");
        assert_eq!(env["FUSION_STORE"], "s3://fusion-deploy-test/fusion/iot");
        assert_eq!(env["FUSION_ARTIFACT_KEY"].as_str().map(str::len), Some(64), "{config}");
    }
    let key = moto.configuration("fusion-iot-I").await.unwrap()["Environment"]["Variables"]["FUSION_ARTIFACT_KEY"].clone();

    // Idempotent: nothing differs, nothing changes, the artifact key is kept. The entry function
    // gets a public Function URL, the app's front door, and the permission anyone needs to call it.
    let second = deploy(&moto, &["--url", "none"]);
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

    // --destroy removes the functions, the role and the store; a second one finds nothing.
    let destroyed = deploy(&moto, &["--destroy"]);
    assert!(destroyed.contains("removed 10 functions, its role"), "{destroyed}");
    for task in tasks {
        assert!(moto.configuration(&format!("fusion-iot-{task}")).await.is_none(), "{task} is gone");
    }
    assert!(moto.lambda_get("/2021-10-31/functions/fusion-iot-I/url").await.is_none(), "and the front door with it");
    let again = deploy(&moto, &["--destroy"]);
    assert!(again.contains("removed 0 functions, no role, 0 objects"), "{again}");
}
