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
use std::sync::Arc;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::auth::{Principal, Role};
use serde::Deserialize;
use uuid::Uuid;

use crate::problem::Problem;

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

impl Access {
    /// Whether reaching the endpoint takes a bearer token: never, without tokens.
    #[must_use]
    pub fn asks_for_a_token(self) -> bool {
        false
    }
}

/// Who may reach `/api/...`: whatever stands in front of the service has decided already.
pub const API_ACCESS: Access = Access::Public;

/// The `[auth]` section of the configuration: with no tokens, only the exposure of the
/// operational endpoints is left to decide.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Who may read `/docs` and `/api/v1/openapi.json`.
    pub docs: Access,
    /// Who may read `/metrics`.
    pub metrics: Access,
    /// Who may read `/health/*`. Keep `public` where an orchestrator probes it.
    pub health: Access,
}

impl AuthSettings {
    /// Checks the settings as loaded: each exposure is `public` or `off`, which their type
    /// already guarantees.
    ///
    /// # Errors
    /// None; the signature is the one a service with tokens has.
    pub fn validate(&self, _environment: &str) -> Result<(), String> {
        Ok(())
    }
}

/// The same gate as a service with tokens has, with nothing to verify: the access guard asks
/// it only about endpoints that take a token, and none does here.
#[derive(Debug, Clone)]
pub struct Authenticator {
    settings: Arc<AuthSettings>,
}

/// Why a request is not authenticated: never, without tokens. Kept so the access guard reads
/// the same in every service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A token was asked for; this service checks none (a configuration that cannot load).
    #[error("this service does not check tokens")]
    NotChecked,
}

impl AuthError {
    /// A short, stable label for logs and metrics.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        "not_checked"
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        Problem::from_status(StatusCode::NOT_FOUND).into_response()
    }
}

impl Authenticator {
    /// The gate for `settings`.
    ///
    /// # Errors
    /// None; the signature is the one a service with tokens has.
    pub fn new(settings: &AuthSettings) -> anyhow::Result<Self> {
        Ok(Self {
            settings: Arc::new(settings.clone()),
        })
    }

    /// The settings this gate enforces.
    #[must_use]
    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// Never called (no endpoint asks for a token); answers that no token is checked.
    ///
    /// # Errors
    /// Always [`AuthError::NotChecked`].
    pub async fn identify(&self, _headers: &HeaderMap) -> Result<Principal, AuthError> {
        Err(AuthError::NotChecked)
    }
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

/// What authentication adds to the OpenAPI document: nothing, with `auth=none` (no scheme, no
/// requirement, no refusal of its own). `openapi.rs` asks the same questions of either module.
pub(crate) mod openapi {
    use utoipa::openapi::schema::Type;
    use utoipa::openapi::{Components, SecurityRequirement};

    /// A refusal in the document: status, description, headers (name, type, description).
    pub(crate) type Refusal = (
        &'static str,
        &'static str,
        &'static [(&'static str, Type, &'static str)],
    );

    /// The guard refuses nothing of its own: only the rate limits, which `openapi.rs` declares.
    pub(crate) const REFUSALS: &[Refusal] = &[];

    /// No other reason for a 503 than load shedding and the timeout.
    pub(crate) const ALSO_UNAVAILABLE: Option<&str> = None;

    /// Declares no scheme; no operation carries a requirement.
    pub(crate) fn declare_scheme(_components: &mut Components) -> Option<SecurityRequirement> {
        None
    }
}
