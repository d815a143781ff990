//! The store against the real embedded S3 server, through the signed S3 calls the store makes to AWS too.

use fusion_host::FusionSetup;
use fusion_store::embedded::{EMBEDDED_REGION, EmbeddedS3};
use fusion_store::{Store, StoreConfig};

const KEY: &str = "fusion-test";
const SECRET: &str = "fusion-test-secret";

async fn server(root: &std::path::Path) -> EmbeddedS3 {
    EmbeddedS3::start(root, "127.0.0.1:0", KEY, SECRET, EMBEDDED_REGION).await.expect("embedded S3 starts")
}

fn config(s3: &EmbeddedS3, secret: &str) -> StoreConfig {
    StoreConfig {
        endpoint: Some(s3.endpoint.clone()),
        bucket: "fusion".into(),
        prefix: "apps/".into(),
        region: EMBEDDED_REGION.into(),
        credentials: Some((KEY.into(), secret.into())),
    }
}

fn setup(json: &str) -> FusionSetup {
    FusionSetup::from_json(json).unwrap()
}

#[tokio::test]
async fn components_are_stored_once_under_their_digest_and_verified_on_the_way_back() {
    let dir = tempfile::tempdir().unwrap();
    let s3 = server(dir.path()).await;
    let store = Store::connect(&config(&s3, SECRET)).await.unwrap();
    let bytes = b"\0asm\x0d\0\x01\0 pretend component".to_vec();
    let (digest, uploaded) = store.put_component(&bytes).await.unwrap();
    assert!(uploaded && digest.starts_with("sha256:"));
    let (again, uploaded) = store.put_component(&bytes).await.unwrap();
    assert_eq!((again.as_str(), uploaded), (digest.as_str(), false), "an unchanged component is not uploaded again");
    assert_eq!(store.get_component(&digest).await.unwrap(), bytes);

    // Bit rot on the server's disk: the bytes no longer match their name.
    let object = dir.path().join("fusion/apps/components").join(format!("{}.wasm", digest.trim_start_matches("sha256:")));
    std::fs::write(&object, b"\0asm\x0d\0\x01\0 something else").unwrap();
    let err = format!("{:#}", store.get_component(&digest).await.unwrap_err());
    assert!(err.contains("corrupt"), "{err}");

    let missing = format!("sha256:{}", "0".repeat(64));
    let err = store.get_component(&missing).await.unwrap_err().to_string();
    assert!(err.contains("no component"), "{err}");
}

#[tokio::test]
async fn setups_keep_their_history_and_roll_back() {
    let dir = tempfile::tempdir().unwrap();
    let s3 = server(dir.path()).await;
    let store = Store::connect(&config(&s3, SECRET)).await.unwrap();
    assert!(store.current_setup("tree").await.unwrap().is_none());
    let remote = store.apply_setup(setup(r#"{"app":"tree","functions":{}}"#)).await.unwrap();
    let fused = store.apply_setup(setup(r#"{"app":"tree","functions":{"A":{"inline":["B","D","E"]}}}"#)).await.unwrap();
    assert_eq!((remote.version, remote.parent), (1, None));
    assert_eq!((fused.version, fused.parent), (2, Some(1)));
    assert_eq!(store.current_setup("tree").await.unwrap(), Some(fused.clone()));

    let back = store.rollback("tree").await.unwrap();
    assert_eq!(back, remote);
    assert_eq!(store.current_setup("tree").await.unwrap(), Some(remote.clone()));
    let history: Vec<u64> = store.history("tree").await.unwrap().iter().map(|s| s.version).collect();
    assert_eq!(history, [1, 2], "a rollback rewrites no history");
    assert!(store.rollback("tree").await.is_err(), "version 1 has nothing before it");

    // Applying after a rollback branches from the current setup.
    let next = store.apply_setup(setup(r#"{"app":"tree","functions":{"C":{"memory_mb":1024}}}"#)).await.unwrap();
    assert_eq!((next.version, next.parent), (3, Some(1)));
    assert!(store.history("iot").await.unwrap().is_empty(), "apps do not share setups");
}

#[tokio::test]
async fn wrong_credentials_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s3 = server(dir.path()).await;
    let err = Store::connect(&config(&s3, "not-the-secret")).await.err().expect("refused").to_string();
    assert!(err.contains("S3"), "{err}");
}

/// As a bucket on AWS does, the server refuses requests signed for another region than its own,
/// saying which it expects.
#[tokio::test]
async fn requests_signed_for_another_region_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s3 = EmbeddedS3::start(dir.path(), "127.0.0.1:0", KEY, SECRET, "eu-west-1").await.unwrap();
    let err = format!("{:#}", Store::connect(&config(&s3, SECRET)).await.err().expect("refused"));
    assert!(err.contains("AuthorizationHeaderMalformed") && err.contains("expecting 'eu-west-1'"), "{err}");
    let store = Store::connect(&StoreConfig { region: "eu-west-1".into(), ..config(&s3, SECRET) }).await.expect("signed for its region");
    assert!(store.component_index("tree").await.unwrap().is_none(), "an empty store");
}
