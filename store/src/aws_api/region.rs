//! The AWS region a command works in when it is not told one: the one AWS's own tools would take
//! (`AWS_REGION`, `AWS_DEFAULT_REGION`, then the selected profile's `region` in `~/.aws/config`),
//! else us-east-1. Not the instance metadata: off EC2, asking it would hold every command for
//! its timeouts.

use aws_config::environment::region::EnvironmentVariableRegionProvider;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::region::ProfileFileRegionProvider;

/// The region when the configuration names none.
pub const FALLBACK: &str = "us-east-1";

/// `given` (a command's `--region`), else the configured region, else [`FALLBACK`].
pub async fn or_configured(given: Option<String>) -> String {
    if let Some(region) = given {
        return region;
    }
    let configured = RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new()).or_else(ProfileFileRegionProvider::new());
    configured.region().await.map_or_else(|| FALLBACK.to_string(), |region| region.to_string())
}
