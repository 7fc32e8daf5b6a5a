//! The gate in front of every handler: who is calling (authentication), may they reach this
//! kind of endpoint at all (`[auth]` exposure of docs, metrics and health), and have they sent
//! too much (rate limits). A request that passes carries its [`Principal`] in its extensions
//! for the [`Authenticated`](crate::auth::Authenticated) extractor.
//!
//! It answers 401, 403, 404 and 429 itself, as problems; it must not decide what a principal
//! may do with a resource: that is each use case's check, in the domain.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::auth::{Permission, Principal};

use crate::auth::{Access, Authenticator};
use crate::problem::{ApiError, Problem};
use crate::rate_limit::{Caller, RateLimits};

/// What the gate needs. Cheap to clone.
#[derive(Clone)]
pub struct AccessGuard {
    /// Verifies bearer tokens.
    pub authenticator: Authenticator,
    /// The per-principal and per-IP limits.
    pub limits: RateLimits,
}

/// The kinds of endpoint, each with its own rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Zone {
    /// `/api/...`: always authenticated.
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
        Zone::Api => Access::Authenticated,
        Zone::Docs => settings.docs,
        Zone::Metrics => settings.metrics,
        Zone::Health => settings.health,
        Zone::Other => Access::Public,
    };
    if access == Access::Off {
        return Problem::from_status(StatusCode::NOT_FOUND).into_response();
    }
    let authentication = if access == Access::Authenticated {
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
        Some(Ok(principal)) => {
            Caller::Principal(format!("{}/{}", principal.tenant(), principal.subject()))
        }
        _ => {
            let peer = request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(address)| *address);
            Caller::Address(guard.limits.client_ip(peer, request.headers()))
        }
    };
    // Anonymous and failed attempts spend the IP's budget too: guessing tokens is rate limited.
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
    match authentication {
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
