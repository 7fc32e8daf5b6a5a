//! Authentication: turning a bearer JWT into the domain's [`Principal`], or refusing it.
//!
//! Two modes, chosen in `[auth]`: a shared HS256 secret (development and tests; `token` mints
//! one) and an OIDC issuer's JWKS (RS256/ES256 keys, cached and refreshed on an unknown `kid`).
//! Either way the issuer, audience, lifetime and algorithm are checked before any claim is
//! believed. This module proves identity only; what a principal may do is the domain's
//! business (`domain::auth`), and it must never log a token.

mod jwks;
pub(crate) mod openapi;
mod token;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::auth::{Principal, Role};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrets::Secret;
use serde::Deserialize;
use uuid::Uuid;

pub use jwks::JwksKeys;
pub use token::{DevelopmentToken, MintError};

use crate::problem::Problem;

/// How tokens are verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// One shared HS256 secret: development and tests.
    Hs256,
    /// Asymmetric keys (RS256, ES256...) published by the identity provider at `jwks_url`.
    Jwks,
}

/// Who may reach an operational endpoint (docs, metrics, health).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Anyone who can reach the port.
    Public,
    /// A bearer token whose roles grant `ReadOperations` (the `operator` role).
    Authenticated,
    /// Not served: 404, as if the route did not exist.
    Off,
}

impl Access {
    /// Whether reaching the endpoint takes a bearer token.
    #[must_use]
    pub fn asks_for_a_token(self) -> bool {
        self == Self::Authenticated
    }
}

/// Who may reach `/api/...`: a caller with a valid token.
pub const API_ACCESS: Access = Access::Authenticated;

/// The `[auth]` section of the configuration.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// `hs256` or `jwks`.
    pub mode: AuthMode,
    /// The HS256 signing secret (mode `hs256`). A secret: redacted when printed; production
    /// refuses the development default.
    pub hs256_secret: Secret,
    /// The identity provider's JWKS document (mode `jwks`).
    pub jwks_url: String,
    /// The algorithms accepted in mode `jwks` (`RS256`, `ES256`...); HMAC ones are refused there.
    pub algorithms: Vec<Algorithm>,
    /// The required `iss` claim.
    pub issuer: String,
    /// The required `aud` claim (this service).
    pub audience: String,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub leeway_secs: u64,
    /// The claim holding the tenant id (a UUID).
    pub tenant_claim: String,
    /// The claim holding the roles: a list of strings; dots walk into objects
    /// (`realm_access.roles` for Keycloak).
    pub roles_claim: String,
    /// How long a fetched key set is trusted before it is fetched again, in seconds.
    pub jwks_max_age_secs: u64,
    /// An unknown `kid` triggers a refetch at most this often, so forged `kid`s cannot turn the
    /// service into a load generator against the identity provider.
    pub jwks_min_refetch_interval_ms: u64,
    /// Timeout of one JWKS fetch.
    pub jwks_timeout_ms: u64,
    /// Who may read `/docs` and `/api/v1/openapi.json`.
    pub docs: Access,
    /// Who may read `/metrics`.
    pub metrics: Access,
    /// Who may read `/health/*`. Keep `public` where an orchestrator probes it: kubelets send
    /// no tokens.
    pub health: Access,
}

/// The `auth.hs256_secret` shipped in `config/default.toml`: refused in production, where
/// anyone reading this repository could mint an admin token with it.
pub const DEVELOPMENT_HS256_SECRET: &str = "development-only-jwt-secret-change-me-0123456789";

impl AuthSettings {
    /// Checks the settings as loaded for `environment`.
    ///
    /// # Errors
    /// A message naming the setting and what to do about it.
    pub fn validate(&self, environment: &str) -> Result<(), String> {
        match self.mode {
            AuthMode::Hs256 => {
                if environment == "production"
                    && self.hs256_secret.expose() == DEVELOPMENT_HS256_SECRET
                {
                    return Err("auth.hs256_secret still has the development value; set \
                         APP__AUTH__HS256_SECRET(_FILE) or use auth.mode = \"jwks\""
                        .to_owned());
                }
                if self.hs256_secret.expose().len() < 32 {
                    return Err("auth.hs256_secret must be at least 32 characters".to_owned());
                }
            }
            AuthMode::Jwks => {
                if !self.jwks_url.starts_with("https://") && !self.jwks_url.starts_with("http://") {
                    return Err("auth.jwks_url must be an http(s) URL in mode jwks".to_owned());
                }
                if self.algorithms.is_empty()
                    || self.algorithms.iter().any(|algorithm| is_hmac(*algorithm))
                {
                    return Err(
                        "auth.algorithms must list asymmetric algorithms (RS256, ES256...) \
                         in mode jwks; HMAC there would let a public key sign tokens"
                            .to_owned(),
                    );
                }
            }
        }
        if self.issuer.is_empty() || self.audience.is_empty() {
            return Err("auth.issuer and auth.audience must be set".to_owned());
        }
        if self.tenant_claim.is_empty() || self.roles_claim.is_empty() {
            return Err("auth.tenant_claim and auth.roles_claim must be set".to_owned());
        }
        Ok(())
    }
}

/// Why a request is not authenticated. The text goes into the 401's detail and the
/// `WWW-Authenticate` header's `error_description`, so it names the check, never the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("no bearer token; send Authorization: Bearer <token>")]
    Missing,
    /// A header that is not a bearer token, or a token that is not a JWT.
    #[error("the token is malformed")]
    Malformed,
    /// `exp` is in the past.
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iat` is in the future: the token claims to be issued later than now.
    #[error("the token claims to be issued in the future")]
    IssuedInTheFuture,
    /// `iss` is not the configured issuer.
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    /// `aud` does not name this service.
    #[error("the token is meant for another audience")]
    WrongAudience,
    /// The algorithm is not accepted (`none`, HMAC in JWKS mode, or not configured).
    #[error("the token's algorithm is not accepted")]
    AlgorithmRejected,
    /// The signature does not verify: the token was changed or signed with another key.
    #[error("the token's signature is invalid")]
    BadSignature,
    /// No key with the token's `kid` (after refetching the key set).
    #[error("the token was signed with an unknown key")]
    UnknownKey,
    /// A required claim is absent or of the wrong type.
    #[error("the token lacks a valid {0} claim")]
    MissingClaim(String),
    /// The identity provider's keys cannot be fetched right now.
    #[error("the signing keys are unavailable; retry later")]
    KeysUnavailable,
}

impl AuthError {
    /// A short, stable label for logs and metrics.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Malformed => "malformed",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::IssuedInTheFuture => "issued_in_the_future",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::AlgorithmRejected => "algorithm_rejected",
            Self::BadSignature => "bad_signature",
            Self::UnknownKey => "unknown_key",
            Self::MissingClaim(_) => "missing_claim",
            Self::KeysUnavailable => "keys_unavailable",
        }
    }

    fn from_jwt(error: &jsonwebtoken::errors::Error) -> Self {
        match error.kind() {
            ErrorKind::ExpiredSignature => Self::Expired,
            ErrorKind::ImmatureSignature => Self::NotYetValid,
            ErrorKind::InvalidIssuer => Self::WrongIssuer,
            ErrorKind::InvalidAudience => Self::WrongAudience,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                Self::AlgorithmRejected
            }
            ErrorKind::InvalidSignature => Self::BadSignature,
            ErrorKind::MissingRequiredClaim(claim) => Self::MissingClaim(claim.clone()),
            _ => Self::Malformed,
        }
    }
}

impl IntoResponse for AuthError {
    /// 401 problem+json with an RFC 6750 challenge. A missing token gets the bare challenge;
    /// a bad one says `invalid_token` and why. Unavailable keys are our fault: 503.
    fn into_response(self) -> Response {
        if self == Self::KeysUnavailable {
            return Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "keys-unavailable",
                "Signing keys unavailable",
            )
            .with_detail(self.to_string())
            .into_response();
        }
        let challenge = match self {
            Self::Missing => "Bearer realm=\"api\"".to_owned(),
            _ => format!(
                "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"{self}\""
            ),
        };
        let mut response = Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized")
            .with_detail(self.to_string())
            .into_response();
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// Verifies bearer tokens according to [`AuthSettings`]. Cheap to clone.
#[derive(Clone)]
pub struct Authenticator {
    settings: Arc<AuthSettings>,
    keys: Keys,
}

#[derive(Clone)]
enum Keys {
    Shared(Arc<DecodingKey>),
    Published(JwksKeys),
}

impl Authenticator {
    /// An authenticator for `settings`; in JWKS mode the keys are fetched on first use.
    ///
    /// # Errors
    /// When the JWKS HTTP client cannot be built.
    pub fn new(settings: &AuthSettings) -> anyhow::Result<Self> {
        let keys = match settings.mode {
            AuthMode::Hs256 => Keys::Shared(Arc::new(DecodingKey::from_secret(
                settings.hs256_secret.expose().as_bytes(),
            ))),
            AuthMode::Jwks => Keys::Published(JwksKeys::new(settings)?),
        };
        Ok(Self {
            settings: Arc::new(settings.clone()),
            keys,
        })
    }

    /// The settings this authenticator enforces.
    #[must_use]
    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// The principal the request's `Authorization` header proves.
    ///
    /// # Errors
    /// [`AuthError`] naming the first check that failed.
    pub async fn identify(&self, headers: &HeaderMap) -> Result<Principal, AuthError> {
        self.authenticate(headers.get(header::AUTHORIZATION)).await
    }

    /// The principal an `Authorization` header value proves.
    ///
    /// # Errors
    /// [`AuthError`] naming the first check that failed.
    pub async fn authenticate(
        &self,
        authorization: Option<&HeaderValue>,
    ) -> Result<Principal, AuthError> {
        let value = authorization.ok_or(AuthError::Missing)?;
        let token = value
            .to_str()
            .ok()
            .and_then(|value| {
                let (scheme, token) = value.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|token| !token.is_empty())
            .ok_or(AuthError::Malformed)?;
        // `alg: none` and unknown algorithms fail here, before any key is chosen.
        let header = jsonwebtoken::decode_header(token).map_err(|_| header_error(token))?;
        let key = match &self.keys {
            Keys::Shared(key) => {
                if header.alg != Algorithm::HS256 {
                    return Err(AuthError::AlgorithmRejected);
                }
                Arc::clone(key)
            }
            Keys::Published(keys) => {
                // HMAC here would be algorithm confusion: the public key used as a secret.
                if !self.settings.algorithms.contains(&header.alg) || is_hmac(header.alg) {
                    return Err(AuthError::AlgorithmRejected);
                }
                let kid = header.kid.as_deref().ok_or(AuthError::UnknownKey)?;
                keys.key(kid, header.alg).await?
            }
        };
        // Exactly the token's algorithm, now that it is known to be accepted: jsonwebtoken
        // refuses a validation listing algorithms of another family than the key's.
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.settings.leeway_secs;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[&self.settings.audience]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        let claims = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &key,
            &validation,
        )
        .map_err(|error| AuthError::from_jwt(&error))?
        .claims;
        self.principal(&claims)
    }

    fn principal(
        &self,
        claims: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Principal, AuthError> {
        self.issued_in_the_past(claims)?;
        let subject = claims
            .get("sub")
            .and_then(serde_json::Value::as_str)
            .filter(|subject| !subject.is_empty())
            .ok_or_else(|| AuthError::MissingClaim("sub".to_owned()))?;
        let tenant_claim = &self.settings.tenant_claim;
        let tenant = claims
            .get(tenant_claim)
            .and_then(serde_json::Value::as_str)
            .and_then(|tenant| Uuid::parse_str(tenant).ok())
            .ok_or_else(|| AuthError::MissingClaim(tenant_claim.clone()))?;
        let roles: BTreeSet<Role> = claim_at(claims, &self.settings.roles_claim)
            .and_then(serde_json::Value::as_array)
            .map(|roles| {
                roles
                    .iter()
                    .filter_map(serde_json::Value::as_str)
                    .filter_map(Role::parse)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Principal::new(subject, tenant, roles))
    }

    /// `iat`, when the token has one, must not lie in the future beyond the leeway: such a
    /// token was minted by a clock that is wrong, or by someone stockpiling tokens for later.
    fn issued_in_the_past(
        &self,
        claims: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), AuthError> {
        let Some(issued_at) = claims.get("iat") else {
            return Ok(());
        };
        let issued_at = issued_at
            .as_u64()
            .or_else(|| {
                issued_at
                    .as_f64()
                    .filter(|seconds| *seconds >= 0.0)
                    .map(|seconds| seconds as u64)
            })
            .ok_or_else(|| AuthError::MissingClaim("iat".to_owned()))?;
        let now = jsonwebtoken::get_current_timestamp();
        if issued_at > now.saturating_add(self.settings.leeway_secs) {
            return Err(AuthError::IssuedInTheFuture);
        }
        Ok(())
    }
}

/// Why a token's header did not parse: a well-formed header naming an algorithm we do not
/// know (`none` above all) is an algorithm refusal, anything else is malformed.
fn header_error(token: &str) -> AuthError {
    use base64::Engine as _;
    let alg = token
        .split('.')
        .next()
        .and_then(|header| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(header.trim_end_matches('='))
                .ok()
        })
        .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
        .and_then(|header| {
            header
                .get("alg")
                .and_then(|alg| alg.as_str().map(str::to_owned))
        });
    if alg.is_some() {
        AuthError::AlgorithmRejected
    } else {
        AuthError::Malformed
    }
}

fn is_hmac(algorithm: Algorithm) -> bool {
    matches!(
        algorithm,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    )
}

/// The value at a dotted claim path (`realm_access.roles`).
fn claim_at<'a>(
    claims: &'a serde_json::Map<String, serde_json::Value>,
    path: &str,
) -> Option<&'a serde_json::Value> {
    let mut parts = path.split('.');
    let first = claims.get(parts.next()?)?;
    parts.try_fold(first, |value, part| value.get(part))
}

/// The authenticated principal of this request, put there by the access guard (`access.rs`).
/// Handlers under `/api/v1` take it as an argument and hand it to the use case.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Only reachable without a principal if a route is mounted outside the guard.
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Self)
            .ok_or(AuthError::Missing)
    }
}
