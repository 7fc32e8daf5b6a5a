{% if auth == "jwt" %}//! The gate in front of every handler: who is calling (authentication), may they reach this
//! kind of endpoint at all (`[auth]` exposure of docs, metrics and health), and have they sent
//! too much (rate limits). A request that passes carries its [`Principal`] in its extensions
//! for the [`Authenticated`](crate::auth::Authenticated) extractor.
{% else %}//! The gate in front of every handler: may the caller reach this kind of endpoint at all
//! (`[auth]` exposure of docs, metrics and health), and have they sent too much (per-IP rate
//! limits). There is no authentication here (`auth=none`, see `auth.rs`).
{% endif %}//!
//! It answers {% if auth == "jwt" %}401, 403, {% endif %}404 and 429 itself, as problems; it must not decide what a principal
//! may do with a resource: that is each use case's check, in the domain.

use std::net::SocketAddr;
{% if auth == "none" %}use std::sync::Arc;
{% endif %}
use anyhow::Context as _;
use axum::extract::{ConnectInfo, Request, State};
{% if auth == "jwt" %}use axum::http::{StatusCode, header};
{% else %}use axum::http::StatusCode;
{% endif %}use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
{% if auth == "jwt" %}use domain::auth::{Permission, Principal};
{% endif %}
use crate::auth::{Access, AuthSettings{% if auth == "jwt" %}, Authenticator{% endif %}};
{% if auth == "jwt" %}use crate::problem::{ApiError, Problem};
{% else %}use crate::problem::Problem;
{% endif %}use crate::rate_limit::{Caller, RateLimitSettings, RateLimits};

/// What the gate needs. Cheap to clone.
#[derive(Clone)]
pub struct AccessGuard {
{% if auth == "jwt" %}    /// Verifies bearer tokens; holds the `[auth]` settings.
    authenticator: Authenticator,
{% else %}    /// The `[auth]` settings: who may reach docs, metrics and health.
    settings: Arc<AuthSettings>,
{% endif %}    /// The {% if auth == "jwt" %}per-principal and {% endif %}per-IP limits.
    pub limits: RateLimits,
}

impl AccessGuard {
    /// The gate for `auth` and `limits`.
    ///
    /// # Errors
    /// When a rate limit is zero or a trusted proxy is not a network{% if auth == "jwt" %}, or the JWKS HTTP client
    /// cannot be built{% endif %}.
    pub fn new(auth: &AuthSettings, limits: &RateLimitSettings) -> anyhow::Result<Self> {
        Ok(Self {
{% if auth == "jwt" %}            authenticator: Authenticator::new(auth)
                .context("auth: cannot build the JWKS client")?,
{% else %}            settings: Arc::new(auth.clone()),
{% endif %}            limits: RateLimits::new(limits).context("rate_limit")?,
        })
    }

    fn settings(&self) -> &AuthSettings {
{% if auth == "jwt" %}        self.authenticator.settings()
{% else %}        &self.settings
{% endif %}    }
}

/// The kinds of endpoint, each with its own rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Zone {
    /// `/api/...`{% if auth == "jwt" %}: always authenticated{% endif %}.
    Api,
    /// `/docs` and the OpenAPI document.
    Docs,
    /// `/metrics`: never rate limited, so monitoring has no gaps when it matters most.
    Metrics,
    /// `/health/*`: never rate limited, so probes see the truth under load.
    Health,
    /// Anything else: unknown routes, answered 404 by the router.
    Other,
}

fn zone(path: &str) -> Zone {
    if path == "/api/v1/openapi.json" || path == "/docs" || path.starts_with("/docs/") {
        Zone::Docs
    } else if path.starts_with("/api/") {
        Zone::Api
    } else if path == "/metrics" {
        Zone::Metrics
    } else if path.starts_with("/health/") {
        Zone::Health
    } else {
        Zone::Other
    }
}

/// The middleware. See the module documentation for the order of the checks.
pub async fn guard(State(guard): State<AccessGuard>, {% if auth == "jwt" %}mut {% endif %}request: Request, next: Next) -> Response {
    let zone = zone(request.uri().path());
    let settings = guard.settings();
    let access = match zone {
{% if auth == "jwt" %}        Zone::Api => Access::Authenticated,
{% else %}        // Whatever stands in front of the service has already decided who may call.
        Zone::Api => Access::Public,
{% endif %}        Zone::Docs => settings.docs,
        Zone::Metrics => settings.metrics,
        Zone::Health => settings.health,
        Zone::Other => Access::Public,
    };
    if access == Access::Off {
        return Problem::from_status(StatusCode::NOT_FOUND).into_response();
    }
{% if auth == "jwt" %}    let authentication = if access == Access::Authenticated {
        Some(
            guard
                .authenticator
                .authenticate(request.headers().get(header::AUTHORIZATION))
                .await,
        )
    } else {
        None
    };
    let caller = match &authentication {
        Some(Ok(principal)) => Caller::of(principal),
        _ => Caller::Address(client_ip(&guard, &request)),
    };
    // Anonymous and failed attempts spend the IP's budget too: guessing tokens is rate limited.
{% else %}    // No principal to tell callers apart: the budget is the client IP's (behind a gateway, list
    // it in `rate_limit.trusted_proxies` so each client gets its own).
    let caller = Caller::Address(client_ip(&guard, &request));
{% endif %}    let decision = if matches!(zone, Zone::Health | Zone::Metrics) {
        None
    } else {
        guard.limits.check(&caller)
    };
    let with_limits = |mut response: Response| {
        if let Some(decision) = decision {
            decision.write_headers(response.headers_mut());
        }
        response
    };
    if decision.is_some_and(|decision| !decision.allowed) {
        let kind = match caller {
            Caller::Principal(_) => "principal",
            Caller::Address(_) => "address",
        };
        metrics::counter!("http_server_rate_limited_total", "caller" => kind).increment(1);
        tracing::info!(?caller, "rate limited");
        let problem = Problem::from_status(StatusCode::TOO_MANY_REQUESTS);
        return with_limits(problem.into_response());
    }
{% if auth == "jwt" %}    match authentication {
        None => {}
        Some(Err(error)) => {
            domain::audit::authentication_failed(error.reason());
            return with_limits(error.into_response());
        }
        Some(Ok(principal)) => {
            if zone != Zone::Api
                && let Err(forbidden) = principal.require(Permission::ReadOperations)
            {
                return with_limits(ApiError::from(forbidden).into_response());
            }
            request.extensions_mut().insert::<Principal>(principal);
        }
    }
{% endif %}    with_limits(next.run(request).await)
}

/// The client's address: the peer, or what a trusted proxy says it forwarded.
fn client_ip(guard: &AccessGuard, request: &Request) -> Option<std::net::IpAddr> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| *address);
    guard.limits.client_ip(peer, request.headers())
}
