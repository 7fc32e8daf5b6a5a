//! A router over in-memory twins of the ports, and a small response type for assertions.

use std::sync::Arc;

{% if auth == "jwt" %}use std::time::Duration;

use adapter_http::auth::{Access, AuthMode, AuthSettings, DevelopmentToken};
{% else %}use adapter_http::auth::{Access, AuthSettings};
{% endif %}
use adapter_http::rate_limit::RateLimitSettings;
use adapter_http::{AccessGuard, AppState, HttpSettings, router};
use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
{% if auth == "jwt" %}use domain::auth::Role;
{% endif %}use domain::health::{DependencyProbe, ProbeFailure};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// A probe with a fixed answer.
pub struct FakeProbe {
    critical: bool,
    healthy: bool,
}

#[async_trait]
impl DependencyProbe for FakeProbe {
    fn name(&self) -> &'static str {
        "fake"
    }
    fn is_critical(&self) -> bool {
        self.critical
    }
    async fn check(&self) -> Result<(), ProbeFailure> {
        if self.healthy {
            Ok(())
        } else {
            Err(ProbeFailure::new("connection refused"))
        }
    }
}

pub fn failing_probe(critical: bool) -> Arc<dyn DependencyProbe> {
    Arc::new(FakeProbe {
        critical,
        healthy: false,
    })
}

pub fn settings() -> HttpSettings {
    HttpSettings {
        host: "127.0.0.1".to_owned(),
        port: 0,
        request_timeout_ms: 2_000,
        body_limit_bytes: 2_048,
        probe_timeout_ms: 200,
        shutdown_timeout_ms: 1_000,
        max_in_flight: 64,
        cursor_secret: secrets::Secret::new("test-cursor-secret-at-least-32-characters"),
        cors_allowed_origins: vec!["https://app.example.com".to_owned()],
    }
}

pub fn auth_settings() -> AuthSettings {
    AuthSettings {
{% if auth == "jwt" %}        mode: AuthMode::Hs256,
        hs256_secret: secrets::Secret::new("test-jwt-secret-at-least-32-characters-long"),
        jwks_url: String::new(),
        algorithms: vec![],
        issuer: "test-issuer".to_owned(),
        audience: "test-audience".to_owned(),
        leeway_secs: 0,
        tenant_claim: "tenant_id".to_owned(),
        roles_claim: "roles".to_owned(),
        jwks_max_age_secs: 60,
        jwks_min_refetch_interval_ms: 100,
        jwks_timeout_ms: 500,
{% endif %}        docs: Access::Public,
        metrics: Access::Public,
        health: Access::Public,
    }
}

/// The state the test router serves: in-memory twins of every port.
pub fn state(
    probes: Vec<Arc<dyn DependencyProbe>>,
    auth: AuthSettings,
    limits: RateLimitSettings,
) -> AppState {
    AppState {
        settings: Arc::new(settings()),
        cursors: adapter_http::cursor::CursorCodec::new(
            settings().cursor_secret.expose().as_bytes(),
        ),
        access: AccessGuard::new(&auth, &limits).unwrap(),
{% if graphql %}        graphql: graphql_settings(),
{% endif %}        probes: probes.into(),
        metrics: adapter_http::MetricsEndpoint {
            metrics: telemetry::Metrics::global("test", "0"),
            collectors: Arc::new([]),
        },
{% if example %}        items: domain::items::ItemService::new(
            Arc::new(domain::items::InMemoryItemRepository::default()),
            Arc::new(domain::items::InMemoryItemCache::default()),
            Arc::new(domain::items::RecordingItemNotifier::default()),
            Arc::new(domain::flags::AllOff),
            Arc::new(OnTokio),
        ),
        tenants: domain::tenants::TenantService::new(
            Arc::new(domain::tenants::InMemoryTenantRepository::default()),
            Arc::new(OnTokio),
        ),
{% endif %}    }
}

{% if example %}/// Runs the use cases' detached writes on the test's runtime, as the service does.
pub struct OnTokio;

impl domain::detach::Spawn for OnTokio {
    fn spawn(&self, work: std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'static>>) {
        drop(tokio::spawn(work));
    }
}

{% endif %}/// The state of [`TestRouter::default`], for a test to adjust before building the router.
pub fn default_state() -> AppState {
    state(healthy_probes(), auth_settings(), rate_limit_settings())
}

/// A healthy critical probe, as most tests need.
pub fn healthy_probes() -> Vec<Arc<dyn DependencyProbe>> {
    vec![Arc::new(FakeProbe {
        critical: true,
        healthy: true,
    })]
}
{% if graphql %}
/// GraphQL limits as in `config/default.toml`.
pub fn graphql_settings() -> adapter_http::graphql::GraphqlSettings {
    adapter_http::graphql::GraphqlSettings {
        max_depth: 8,
        max_complexity: 1000,
        max_mutations: 10,
        introspection: true,
    }
}
{% endif %}
pub fn rate_limit_settings() -> RateLimitSettings {
    RateLimitSettings {
        enabled: true,
        per_principal_per_second: 10_000,
        per_principal_burst: 10_000,
        per_ip_per_second: 10_000,
        per_ip_burst: 10_000,
        trusted_proxies: vec![],
    }
}

{% if auth == "jwt" %}/// `Bearer <token>` for `tenant` with `roles`, signed as the test router expects.
pub fn bearer(tenant: &str, roles: &[Role]) -> String {
    let token = DevelopmentToken {
        subject: "tester".to_owned(),
        tenant: tenant.parse().unwrap(),
        roles: roles.to_vec(),
        lifetime: Duration::from_secs(300),
    }
    .mint(&auth_settings())
    .unwrap();
    format!("Bearer {token}")
}

/// The tenant a path is about (`/api/v1/tenants/{id}/...`), if any.
fn tenant_in(path: &str) -> Option<&str> {
    let rest = path.split("/tenants/").nth(1)?;
    let id = rest.split(['/', '?']).next()?;
    id.parse::<uuid::Uuid>().ok().map(|_| id)
}

/// The token a well-behaved client would send: an admin of the tenant in the path, or a
/// platform admin (who creates tenants) elsewhere.
fn default_bearer(path: &str) -> String {
    match tenant_in(path) {
        Some(tenant) => bearer(tenant, &[Role::Admin]),
        None => bearer(
            "0190f5d2-7e1c-7000-8000-0000000000ff",
            &[Role::PlatformAdmin, Role::Operator],
        ),
    }
}

{% endif %}pub struct TestRouter {
    router: axum::Router,
{% if auth == "jwt" %}    /// Whether requests without an `Authorization` header get one (see `default_bearer`).
    authenticate: bool,
{% endif %}}

impl Default for TestRouter {
    fn default() -> Self {
        Self::from_state(default_state())
    }
}

impl TestRouter {
    pub fn with_probes(probes: Vec<Arc<dyn DependencyProbe>>) -> Self {
        Self::from_state(state(probes, auth_settings(), rate_limit_settings()))
    }

    /// A router over a state the test has adjusted (see [`state`]).
    pub fn from_state(state: AppState) -> Self {
        Self {
            router: router(state),
{% if auth == "jwt" %}            authenticate: true,
{% endif %}        }
    }
{% if auth == "jwt" %}
    /// Sends requests as they are, without adding a token.
    pub fn anonymous(mut self) -> Self {
        self.authenticate = false;
        self
    }
{% endif %}
    pub async fn send(&self, method: Method, uri: &str, json: Option<Value>) -> TestResponse {
        self.send_with(method, uri, json, &[]).await
    }

    pub async fn send_with(
        &self,
        method: Method,
        uri: &str,
        json: Option<Value>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut request = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = match json {
            Some(json) => request
                .header("content-type", "application/json")
                .body(Body::from(json.to_string())),
            None => request.body(Body::empty()),
        };
        self.send_request(request.unwrap()).await
    }

{% if auth == "jwt" %}    pub async fn send_request(&self, mut request: Request<Body>) -> TestResponse {
        if self.authenticate && !request.headers().contains_key("authorization") {
            let token = default_bearer(request.uri().path());
            request
                .headers_mut()
                .insert("authorization", token.parse().unwrap());
        }
{% else %}    pub async fn send_request(&self, request: Request<Body>) -> TestResponse {
{% endif %}        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        TestResponse {
            status,
            headers,
            body,
        }
    }
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
            .to_owned()
    }

    /// Checks the RFC 9457 shape: media type, members, status echoed, ids present.
    pub fn assert_problem(&self, problem_type: &str) {
        assert_eq!(
            self.header("content-type"),
            "application/problem+json",
            "{}",
            self.text()
        );
        let body = self.json();
        assert_eq!(body["type"], problem_type, "{body}");
        assert_eq!(body["status"], self.status.as_u16(), "{body}");
        assert!(body["title"].is_string(), "{body}");
        assert!(body["requestId"].is_string(), "{body}");
        assert!(body["instance"].is_string(), "{body}");
    }
}
