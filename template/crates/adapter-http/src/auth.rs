//! Authentication is off: this service was generated with `auth=none`, for a deployment where
//! something in front of it (an API gateway, a service mesh with mTLS, a private network)
//! already decides who may call. Every `/api` request acts as one `anonymous` principal
//! holding every role, for the tenant named in its path; tenant scoping still holds in every
//! use case and query, so a request about one tenant never reads another's rows.
//!
//! This module must not be the only gate of a service reachable from the internet: anyone who
//! reaches the port can do anything. To add bearer tokens later, generate a service with
//! `auth=jwt` and copy its `auth/` module, its `[auth]` settings and ADR 0006.

use std::convert::Infallible;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use domain::auth::{Principal, Role};
use serde::Deserialize;
use uuid::Uuid;

/// The subject every request acts as, in logs and the audit trail.
pub const ANONYMOUS: &str = "anonymous";

/// The path parameter that names the tenant a request is about.
const TENANT_PARAMETER: &str = "tenantId";

/// Who may reach an operational endpoint (docs, metrics, health).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Anyone who can reach the port.
    Public,
    /// Not served: 404, as if the route did not exist.
    Off,
}

/// The `[auth]` section of the configuration: with no tokens, only the exposure of the
/// operational endpoints is left to decide.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Who may read `/docs` and `/api/v1/openapi.json`.
    pub docs: Access,
    /// Who may read `/metrics`.
    pub metrics: Access,
    /// Who may read `/health/*`. Keep `public` where an orchestrator probes it.
    pub health: Access,
}

/// The principal of this request: `anonymous`, with every role, acting for the tenant in the
/// path (the nil UUID on routes without one, such as `POST /tenants`). Handlers under
/// `/api/v1` take it as an argument and hand it to the use case, exactly as with tokens.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // A malformed tenant id acts for no tenant; the handler's own path extractor then
        // answers 400 naming the parameter.
        let tenant = RawPathParams::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|params| {
                params
                    .iter()
                    .find(|(name, _)| *name == TENANT_PARAMETER)
                    .and_then(|(_, value)| Uuid::parse_str(value).ok())
            })
            .unwrap_or(Uuid::nil());
        Ok(Self(Principal::new(ANONYMOUS, tenant, Role::ALL)))
    }
}
