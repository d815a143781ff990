//! The options every host command shares: where the app, its components and setup come from
//! (files, or a store the host follows), and the platform it emulates.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use fusion_host::kv::KvBackend;
use fusion_host::kv::sqlite::SqliteKv;
use fusion_host::listener::ConnectionLimits;
use fusion_host::platform::Platform;
use fusion_host::{AppManifest, FusionSetup, Preset, RuntimeConfig};

/// The app from files.
#[derive(Args)]
pub struct AppArgs {
    /// The application manifest (app.json).
    #[arg(long)]
    pub(crate) app: Option<PathBuf>,
    /// Directory with the components (`<stem>.wasm`) the manifest names.
    #[arg(long)]
    pub(crate) components: Option<PathBuf>,
    /// A fusion setup JSON file (default: all-local for `run`, all-remote for `serve`).
    #[arg(long)]
    pub(crate) setup: Option<PathBuf>,
    /// Where precompiled artifacts are cached.
    #[arg(long, default_value = ".fusion/artifacts")]
    pub(crate) artifacts: PathBuf,
    /// Platform overheads to emulate: raw (none) or lambda (hop delays, runtime init).
    #[arg(long, default_value = "raw")]
    pub(crate) platform: Platform,
    /// Run guests at full speed instead of pacing them to their function's CPU share.
    #[arg(long)]
    pub(crate) no_cpu_pacing: bool,
    /// MiB of each pool slot's linear memory kept mapped between uses. More makes a Python or
    /// JavaScript task's calls faster (16: about twice as fast) at that much resident memory per
    /// slot the process has used.
    #[arg(long, value_name = "MIB", default_value_t = (fusion_host::engine::KEEP_RESIDENT >> 20) as u64, value_parser = clap::value_parser!(u64).range(..=1024))]
    pub(crate) keep_resident_mb: u64,
    /// The app's key-value stores: a SQLite file that every host of the app opens at once
    /// (without it, a task's store operations are `unavailable`).
    #[arg(long, value_name = "FILE")]
    pub(crate) kv: Option<PathBuf>,
}

/// The app from a store.
#[derive(Args)]
pub struct StoreArgs {
    /// Follow the application's current setup in this S3 store: `s3://BUCKET[/PREFIX]`.
    /// Credentials come from the standard AWS chain (e.g. AWS_ACCESS_KEY_ID).
    #[arg(long, conflicts_with_all = ["app", "components", "setup"], requires = "app_name")]
    pub(crate) store: Option<String>,
    /// The application's name in the store.
    #[arg(long)]
    pub(crate) app_name: Option<String>,
    /// An S3-compatible endpoint instead of AWS (e.g. the embedded store of `fusion up`).
    #[arg(long)]
    pub(crate) store_endpoint: Option<String>,
    /// The store's AWS region, which its requests are signed for.
    /// Default: `AWS_REGION`, or `AWS_DEFAULT_REGION`, or the profile's region, else us-east-1.
    #[arg(long)]
    pub(crate) store_region: Option<String>,
    /// How often to look for a new current setup, in milliseconds (a signed
    /// POST /v1/admin/refresh makes the host look at once).
    #[arg(long, default_value_t = 1000)]
    pub(crate) poll_ms: u64,
    /// Environment variable holding the key that seals precompiled artifacts in the store;
    /// without it, artifacts in the store are neither used nor published.
    #[arg(long, default_value = "FUSION_ARTIFACT_KEY")]
    pub(crate) artifact_key_env: String,
}

/// What a serving host allows each of its listeners' clients (defaults: [`ConnectionLimits`]).
#[derive(Args)]
pub struct ConnectionArgs {
    /// Milliseconds a request's head may take to arrive (also how long an idle kept-alive
    /// connection stays open); then the connection is closed.
    #[arg(long, default_value_t = ConnectionLimits::default().header_read_timeout.as_millis() as u64, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) header_timeout_ms: u64,
    /// Milliseconds a request's whole body may take to arrive after its head; then it is refused
    /// with a typed 408.
    #[arg(long, default_value_t = ConnectionLimits::default().body_read_timeout.as_millis() as u64, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) body_timeout_ms: u64,
    /// Connections each listener holds at once; beyond them, new ones wait to be accepted.
    #[arg(long, default_value_t = ConnectionLimits::default().max_connections)]
    pub(crate) max_connections: NonZeroUsize,
}

impl ConnectionArgs {
    pub(crate) fn limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            header_read_timeout: Duration::from_millis(self.header_timeout_ms),
            body_read_timeout: Duration::from_millis(self.body_timeout_ms),
            max_connections: self.max_connections,
        }
    }
}

impl AppArgs {
    pub(crate) fn files(&self) -> Result<(&PathBuf, &PathBuf)> {
        match (&self.app, &self.components) {
            (Some(app), Some(components)) => Ok((app, components)),
            _ => anyhow::bail!("--app and --components are required (or, to serve, --store and --app-name)"),
        }
    }

    pub(crate) fn load(&self, default: Preset) -> Result<(AppManifest, FusionSetup)> {
        let manifest = AppManifest::load(self.files()?.0)?;
        let setup = match &self.setup {
            Some(path) => FusionSetup::load(path)?,
            None => FusionSetup::preset(default, &manifest.app, &manifest.task_names(), &manifest.entry),
        };
        setup.validate(&manifest.app, &manifest.task_names())?;
        Ok((manifest, setup))
    }

    /// The key-value backend of `app`, when `--kv` names one.
    pub(crate) fn kv_backend(&self, app: &str) -> Result<Option<Arc<dyn KvBackend>>> {
        let Some(path) = &self.kv else { return Ok(None) };
        Ok(Some(SqliteKv::open(path, app)?))
    }

    pub(crate) fn runtime_config(&self) -> RuntimeConfig {
        RuntimeConfig { platform: self.platform, pace_cpu: !self.no_cpu_pacing, keep_resident: (self.keep_resident_mb as usize) << 20, ..RuntimeConfig::default() }
    }
}

