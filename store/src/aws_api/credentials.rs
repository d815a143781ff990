//! AWS's standard credential chain (the environment, the shared config and credentials files, a
//! profile's `credential_process`, web identity, the container and instance metadata endpoints),
//! resolved by `aws-config` over the reqwest client Fusion already has, and kept until shortly
//! before they expire. `aws-config`'s own HTTPS client would add a second HTTP client stack (~40
//! CPU-seconds of a clean build on two cores) for the few requests a credential provider makes.

use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{self, ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

/// How long before they expire credentials are fetched again.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

/// The credentials of the standard chain for `region`. They are resolved when the first request
/// is signed (so a missing or broken source shows there, naming it) and kept until
/// five minutes before they expire.
pub async fn standard_chain(region: &str) -> Result<SharedCredentialsProvider> {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .http_client(SharedHttpClient::new(Reqwest(reqwest::Client::new())))
        .load()
        .await;
    let chain = config.credentials_provider().context("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile, or run with a role")?;
    Ok(SharedCredentialsProvider::new(Kept::new(chain)))
}

/// A provider's credentials, fetched once and kept while they are fresh. The chain's providers
/// fetch on every call (the SDK's clients cache in front of them; Fusion's signed client has no
/// such layer): without it every signed request would ask the metadata endpoint or STS again.
#[derive(Debug)]
struct Kept {
    source: SharedCredentialsProvider,
    /// One fetch at a time: callers that find the credentials stale wait for the one fetching.
    held: tokio::sync::Mutex<Option<Credentials>>,
}

impl Kept {
    fn new(source: SharedCredentialsProvider) -> Kept {
        Kept { source, held: tokio::sync::Mutex::new(None) }
    }
}

impl ProvideCredentials for Kept {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(async move {
            let mut held = self.held.lock().await;
            if let Some(credentials) = held.as_ref().filter(|credentials| fresh(credentials, SystemTime::now())) {
                return Ok(credentials.clone());
            }
            let credentials = self.source.provide_credentials().await?;
            *held = Some(credentials.clone());
            Ok(credentials)
        })
    }
}

/// Whether `credentials` may still be used at `now`: they do not expire (keys), or not within
/// [`REFRESH_BEFORE_EXPIRY`].
fn fresh(credentials: &Credentials, now: SystemTime) -> bool {
    credentials.expiry().is_none_or(|expiry| expiry.duration_since(now).is_ok_and(|left| left > REFRESH_BEFORE_EXPIRY))
}

/// `aws-config`'s HTTP client: one reqwest client (its connection pool) for every provider.
#[derive(Debug, Clone)]
struct Reqwest(reqwest::Client);

impl HttpClient for Reqwest {
    fn http_connector(&self, settings: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        // The providers set short connect and read timeouts (the instance metadata endpoint is
        // not there off EC2): their sum bounds each request.
        let timeout = match (settings.connect_timeout(), settings.read_timeout()) {
            (None, None) => None,
            (connect, read) => Some(connect.unwrap_or_default() + read.unwrap_or_default()),
        };
        SharedHttpConnector::new(Connector { client: self.0.clone(), timeout })
    }
}

#[derive(Debug)]
struct Connector {
    client: reqwest::Client,
    timeout: Option<Duration>,
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (client, timeout) = (self.client.clone(), self.timeout);
        HttpConnectorFuture::new(async move {
            // A provider's requests carry small bodies held in memory (STS's form, a token).
            let body = request.body().bytes().map(<[u8]>::to_vec).ok_or_else(|| ConnectorError::user("a streaming request body".into()))?;
            let method = reqwest::Method::from_bytes(request.method().as_bytes()).map_err(|e| ConnectorError::user(e.into()))?;
            let mut outgoing = client.request(method, request.uri()).body(body);
            for (name, value) in request.headers() {
                outgoing = outgoing.header(name, value);
            }
            if let Some(timeout) = timeout {
                outgoing = outgoing.timeout(timeout);
            }
            let failed = |e: reqwest::Error| if e.is_timeout() { ConnectorError::timeout(e.into()) } else { ConnectorError::io(e.into()) };
            let response = outgoing.send().await.map_err(failed)?;
            let status = StatusCode::try_from(response.status().as_u16()).map_err(|e| ConnectorError::other(e.into(), None))?;
            let headers = response.headers().clone();
            let body = response.bytes().await.map_err(failed)?;
            let mut answer = HttpResponse::new(status, SdkBody::from(body));
            for (name, value) in &headers {
                answer.headers_mut().append(name.clone(), value.clone());
            }
            Ok(answer)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aws_credential_types::provider::future;

    use super::*;

    /// Counts its fetches; its credentials expire `lifetime` after each.
    #[derive(Debug)]
    struct Counting {
        fetches: Arc<AtomicUsize>,
        lifetime: Option<Duration>,
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            let expiry = self.lifetime.map(|lifetime| SystemTime::now() + lifetime);
            future::ProvideCredentials::ready(Ok(Credentials::new("key", "secret", None, expiry, "counting")))
        }
    }

    async fn fetches_for_three_requests(lifetime: Option<Duration>) -> usize {
        let fetches = Arc::new(AtomicUsize::new(0));
        let kept = Kept::new(SharedCredentialsProvider::new(Counting { fetches: fetches.clone(), lifetime }));
        for _ in 0..3 {
            assert_eq!(kept.provide_credentials().await.unwrap().access_key_id(), "key");
        }
        fetches.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn credentials_are_fetched_again_only_when_they_are_about_to_expire() {
        assert_eq!(fetches_for_three_requests(None).await, 1, "keys that do not expire");
        assert_eq!(fetches_for_three_requests(Some(Duration::from_secs(3600))).await, 1, "a session of an hour");
        assert_eq!(fetches_for_three_requests(Some(Duration::from_secs(60))).await, 3, "a session within the refresh margin");
    }
}
