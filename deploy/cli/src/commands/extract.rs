//! `fusion extract`: call graph, latency, cost and cold starts from telemetry.

use std::path::PathBuf;

use anyhow::Result;
use fusion_cluster::ClusterState;
use fusion_measure::extract;
use fusion_project::Project;
use fusion_report::text;
use fusion_store::{Store, StoreConfig};
use fusion_store::aws_api::region;

use crate::options::{PricingArg};

/// `fusion extract`'s options.
#[derive(clap::Args)]
pub struct Args {
    /// A telemetry directory (default: that of the app's last `fusion up`).
    #[arg(long, conflicts_with = "store")]
    telemetry: Option<PathBuf>,
    /// Read the telemetry batches the app's Lambda functions wrote to this store instead,
    /// e.g. s3://BUCKET/fusion/iot (as `fusion deploy aws` made it).
    #[arg(long)]
    store: Option<String>,
    /// An S3-compatible endpoint instead of AWS's, for --store.
    #[arg(long, requires = "store")]
    store_endpoint: Option<String>,
    /// The store's AWS region.
    /// Default: `AWS_REGION`, or `AWS_DEFAULT_REGION`, or the profile's region, else us-east-1.
    #[arg(long)]
    region: Option<String>,
    #[command(flatten)]
    pricing: PricingArg,
}

/// Reads the telemetry and prints every setup version's call graph and request statistics.
pub async fn run(project: &Project, args: Args) -> Result<()> {
    let app = project.name();
    let tasks = fusion_cluster::app_manifest(project).task_names();
    let (records, skipped, source) = match (args.store, args.telemetry) {
        (Some(location), _) => {
            let region = region::or_configured(args.region).await;
            let store = Store::connect(&StoreConfig::at(&location, args.store_endpoint, &region)?).await?;
            let (records, skipped) = extract::parse_lines(&store.telemetry(app).await?, Some(&tasks));
            (records, skipped, location)
        }
        (None, telemetry) => {
            let dir = match telemetry {
                Some(dir) => dir,
                None => ClusterState::last(&project.cluster_dir())?.telemetry,
            };
            let (records, skipped) = extract::read_dir(&dir, Some(&tasks))?;
            (records, skipped, dir.display().to_string())
        }
    };
    if skipped.total() > 0 {
        eprintln!("warning: skipped {} telemetry lines in {source}: {skipped}", skipped.total());
    }
    let versions = extract::extract(&records, args.pricing.pricing, None);
    anyhow::ensure!(!versions.is_empty(), "no complete request in {source}");
    for version in &versions {
        print!("{}", text::version(version));
    }
    Ok(())
}
