//! The gate in front of every handler: who is calling (when the service checks tokens), may
//! they reach this kind of endpoint at all (`[auth]` exposure of docs, metrics and health), and
//! have they sent too much (rate limits). A request that passes carries its [`Principal`] in
//! its extensions for the `Authenticated` extractor. What "who is calling" means is
//! `crate::auth`'s to say: bearer tokens, or, generated with `auth=none`, nothing to check.
//!
//! It answers 401 and 403 (when it checks tokens), 404 and 429 itself, as problems; it must not
//! decide what a principal may do with a resource: that is each use case's check, in the domain.

use std::net::SocketAddr;

use anyhow::Context as _;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::auth::{Permission, Principal};

use crate::auth::{API_ACCESS, Access, AuthSettings, Authenticator};
use crate::problem::{ApiError, Problem};
use crate::rate_limit::{Caller, RateLimitSettings, RateLimits};

/// What the gate needs. Cheap to clone.
#[derive(Clone)]
pub struct AccessGuard {
    /// Tells who is calling; holds the `[auth]` settings.
    authenticator: Authenticator,
    /// The per-principal and per-IP limits.
    pub limits: RateLimits,
}

impl AccessGuard {
    /// The gate for `auth` and `limits`.
    ///
    /// # Errors
    /// When a rate limit is zero or a trusted proxy is not a network, or the authenticator
    /// cannot be built (its JWKS HTTP client, with tokens).
    pub fn new(auth: &AuthSettings, limits: &RateLimitSettings) -> anyhow::Result<Self> {
        Ok(Self {
            authenticator: Authenticator::new(auth).context("auth")?,
            limits: RateLimits::new(limits).context("rate_limit")?,
        })
    }
}

/// The kinds of endpoint, each with its own rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Zone {
    /// `/api/...`: [`API_ACCESS`].
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
pub async fn guard(State(guard): State<AccessGuard>, mut request: Request, next: Next) -> Response {
    let zone = zone(request.uri().path());
    let settings = guard.authenticator.settings();
    let access = match zone {
        Zone::Api => API_ACCESS,
        Zone::Docs => settings.docs,
        Zone::Metrics => settings.metrics,
        Zone::Health => settings.health,
        Zone::Other => Access::Public,
    };
    if access == Access::Off {
        return Problem::from_status(StatusCode::NOT_FOUND).into_response();
    }
    let identified = if access.asks_for_a_token() {
        Some(guard.authenticator.identify(request.headers()).await)
    } else {
        None
    };
    // Anonymous and failed attempts spend the client IP's budget: guessing tokens is rate
    // limited too. (Behind a gateway, list it in `rate_limit.trusted_proxies` so each client
    // gets its own budget.)
    let caller = match &identified {
        Some(Ok(principal)) => Caller::of(principal),
        _ => Caller::Address(client_ip(&guard, &request)),
    };
    let decision = if matches!(zone, Zone::Health | Zone::Metrics) {
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
    match identified {
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
    with_limits(next.run(request).await)
}

/// The client's address: the peer, or what a trusted proxy says it forwarded.
fn client_ip(guard: &AccessGuard, request: &Request) -> Option<std::net::IpAddr> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| *address);
    guard.limits.client_ip(peer, request.headers())
}
