//! What every handler can reach, and the `[http]` settings it starts from. A leaf of this crate:
//! handlers, the router and the OpenAPI document all import it, so it must import none of them
//! (only the access guard and the settings of the ways in it carries).

use std::sync::Arc;
use std::time::Duration;

use domain::health::DependencyProbe;
{% if example %}use domain::items::ItemService;
use domain::tenants::TenantService;
{% endif %}use secrets::Secret;
use serde::{Deserialize, Serialize};

use crate::access::AccessGuard;
use crate::cursor::CursorCodec;
{% if graphql %}use crate::graphql::settings::GraphqlSettings;
{% endif %}
/// The `http.cursor_secret` shipped in `config/default.toml`: fine on a laptop, refused in
/// production, where anyone reading this repository could forge cursors with it.
pub const DEVELOPMENT_CURSOR_SECRET: &str = "development-only-cursor-secret-change-me";

/// HTTP settings, the `[http]` section of the configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Interface to bind (`0.0.0.0` in containers, `127.0.0.1` to stay local).
    pub host: String,
    /// Port to bind; 0 picks a free one (tests).
    pub port: u16,
    /// A request still running after this long is answered 503 and dropped.
    pub request_timeout_ms: u64,
    /// Largest accepted request body, in bytes; larger ones get 413.
    pub body_limit_bytes: usize,
    /// How long each readiness probe may take.
    pub probe_timeout_ms: u64,
    /// On SIGTERM, how long in-flight requests may take to finish before the process exits.
    /// Keep it below the orchestrator's grace period.
    pub shutdown_timeout_ms: u64,
    /// Requests under `/api` handled at once; past it, new ones get 503 with `Retry-After`
    /// at once instead of queueing without bound. Health endpoints are never shed.
    pub max_in_flight: usize,
    /// Key that signs pagination cursors, so clients cannot forge or edit them. A secret:
    /// redacted when printed; production refuses the development default.
    pub cursor_secret: Secret,
    /// Browser origins (`https://app.example.com`) allowed to call the API; empty: none.
    pub cors_allowed_origins: Vec<String>,
}

impl HttpSettings {
    /// Checks the settings as loaded for `environment`.
    ///
    /// # Errors
    /// A message naming the setting: the development cursor secret in production, a secret
    /// too short to sign with, a zero limit or timeout, an allowed origin that is not an origin.
    pub fn validate(&self, environment: &str) -> Result<(), String> {
        if environment == "production" && self.cursor_secret.expose() == DEVELOPMENT_CURSOR_SECRET {
            return Err("http.cursor_secret still has the development value; set \
                 APP__HTTP__CURSOR_SECRET"
                .to_owned());
        }
        if self.cursor_secret.expose().len() < 32 {
            return Err("http.cursor_secret must be at least 32 characters".to_owned());
        }
        for (key, value) in [
            ("http.request_timeout_ms", self.request_timeout_ms),
            ("http.probe_timeout_ms", self.probe_timeout_ms),
        ] {
            if value == 0 {
                return Err(format!("{key} must be greater than 0"));
            }
        }
        if self.max_in_flight == 0 {
            return Err("http.max_in_flight must be at least 1".to_owned());
        }
        if self.body_limit_bytes == 0 {
            return Err("http.body_limit_bytes must be greater than 0".to_owned());
        }
        crate::security::cors(&self.cors_allowed_origins)
            .map(|_| ())
            .map_err(|error| error.to_string())
    }

    /// The readiness probe timeout.
    pub fn probe_timeout(&self) -> Duration {
        Duration::from_millis(self.probe_timeout_ms)
    }
}

/// What every handler can reach. Cheap to clone: everything inside is shared.
#[derive(Clone)]
pub struct AppState {
    /// The HTTP settings.
    pub settings: Arc<HttpSettings>,
    /// Seals and opens pagination cursors with `http.cursor_secret`: keyed once, here.
    pub cursors: CursorCodec,
    /// Readiness probes, one per dependency.
    pub probes: Arc<[Arc<dyn DependencyProbe>]>,
    /// The metrics exposition, and gauges to refresh just before each scrape.
    pub metrics: MetricsEndpoint,
    /// Authentication and rate limits, applied before any handler runs.
    pub access: AccessGuard,
{% if graphql %}    /// Limits of `/api/v1/graphql`.
    pub graphql: GraphqlSettings,
{% endif -%}
{% if example %}    /// The example resource's use cases.
    pub items: ItemService,
    /// The use cases of the tenants that own the items.
    pub tenants: TenantService,
{% endif %}}

/// What `GET /metrics` serves: the process's metrics, after running `collectors` (which set
/// gauges that are cheaper to read on demand, like connection-pool sizes).
#[derive(Clone)]
pub struct MetricsEndpoint {
    /// The exposition.
    pub metrics: telemetry::Metrics,
    /// Run before every scrape.
    pub collectors: Arc<[Arc<dyn Fn() + Send + Sync>]>,
}
