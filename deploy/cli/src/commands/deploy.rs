//! `fusion deploy aws`: the app on AWS Lambda, or `--destroy` to remove it.

use std::path::PathBuf;

use anyhow::Result;
use fusion_aws::package::Arch;
use fusion_aws::{Change, Target, UrlAuth};
use fusion_project::Project;
use fusion_store::aws_api::region;

use crate::options::{BuildArg};
use crate::output::Terminal;

/// The clouds Fusion deploys to.
#[derive(clap::Subcommand)]
pub enum Command {
    /// One Lambda function per task (provided.al2023), an IAM role, a DynamoDB table for the
    /// key-value stores, the components and setup in S3. Idempotent: a second run changes only
    /// what differs. --destroy removes it all.
    Aws(AwsArgs),
}

/// `fusion deploy aws`'s options.
#[derive(clap::Args)]
pub struct AwsArgs {
    /// The S3 bucket of the app's store (created if missing); the app uses s3://BUCKET/fusion/APP.
    #[arg(long)]
    bucket: String,
    /// The AWS region.
    /// Default: `AWS_REGION`, or `AWS_DEFAULT_REGION`, or the profile's region, else us-east-1.
    #[arg(long)]
    region: Option<String>,
    /// Make this setup current (all-remote, all-local, a shipped setup or a file); memory
    /// sizes follow it without a code upload. Default: keep the store's current setup (applied
    /// again on the new components when the code changed).
    #[arg(long)]
    setup: Option<String>,
    /// The functions' instruction set: x86_64 or arm64.
    #[arg(long, default_value = "x86_64")]
    arch: Arch,
    /// A fusion-host binary already built for Lambda, instead of building one.
    #[arg(long)]
    host_binary: Option<PathBuf>,
    /// One endpoint for S3, IAM, Lambda and DynamoDB instead of AWS's (an emulator such as moto).
    #[arg(long)]
    endpoint: Option<String>,
    /// Give the entry function a Lambda Function URL, the app's front door: none (anyone may
    /// call it) or aws-iam (callers sign with SigV4).
    #[arg(long, value_name = "none|aws-iam")]
    url: Option<UrlAuth>,
    /// Remove the app's functions, key-value table (with its entries), role and store instead.
    #[arg(long)]
    destroy: bool,
    #[command(flatten)]
    build: BuildArg,
}

/// Deploys or destroys, and prints what changed.
pub async fn run(project: &Project, command: Command) -> Result<()> {
    let Command::Aws(args) = command;
    let target = Target { app: project.name().to_string(), bucket: args.bucket, region: region::or_configured(args.region).await, arch: args.arch, host_binary: args.host_binary, endpoint: args.endpoint, url: args.url };
    if args.destroy {
        let gone = fusion_aws::destroy(project, &target).await?;
        let (role, table) = (if gone.role { "its" } else { "no" }, if gone.table { "its" } else { "no" });
        println!("{}: removed {} functions, {role} role, {table} key-value table, {} objects of {}, region {}", target.app, gone.functions, gone.objects, target.store_location(), target.region);
        return Ok(());
    }
    super::build::unless_skipped(project, args.build).await?;
    let deployed = fusion_aws::deploy(project, &target, args.setup.as_deref(), &Terminal::Progress).await?;
    // Named, as it may have come from the configuration rather than --region.
    println!("{}: setup version {} ({}) is current in {}, region {}", target.app, deployed.setup.version, deployed.setup.describe(), target.store_location(), target.region);
    println!("role {}: {}", target.role_name(), if deployed.role_created { "created" } else { "policy updated" });
    println!("key-value table {}: {}", target.table_name(), if deployed.table_created { "created" } else { "unchanged" });
    for (name, change) in &deployed.functions {
        let what = match change {
            Change::Created => "created".to_string(),
            Change::Unchanged => "unchanged".to_string(),
            Change::Updated { code, configuration } => {
                let parts: Vec<&str> = [(*code, "code"), (*configuration, "configuration")].iter().filter(|(c, _)| *c).map(|(_, p)| *p).collect();
                format!("updated ({})", parts.join(", "))
            }
        };
        println!("  {name:<28} {what}");
    }
    if let Some(url) = &deployed.url {
        println!("front door: {url}  (POST a JSON request: it runs {})", project.manifest.entry);
    }
    Ok(())
}
