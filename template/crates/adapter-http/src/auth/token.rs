//! Minting HS256 tokens for development and tests (the `token` subcommand), signed with the
//! same secret and claims the [`Authenticator`](super::Authenticator) checks. Production tokens
//! come from the identity provider; the command line refuses to mint when `APP_ENV=production`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use domain::auth::Role;
use jsonwebtoken::{EncodingKey, Header};
use uuid::Uuid;

use super::{AuthMode, AuthSettings};

/// What a development token asserts.
#[derive(Debug, Clone)]
pub struct DevelopmentToken {
    /// `sub`: who.
    pub subject: String,
    /// The tenant claim.
    pub tenant: Uuid,
    /// The roles claim.
    pub roles: Vec<Role>,
    /// How long the token lives.
    pub lifetime: Duration,
}

/// Why no token was minted.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    /// Tokens are verified against an identity provider's keys; a shared-secret token would
    /// be refused anyway.
    #[error("auth.mode is jwks: get tokens from the identity provider")]
    NotHs256,
    /// Signing failed.
    #[error("cannot sign the token: {0}")]
    Signing(#[from] jsonwebtoken::errors::Error),
}

impl DevelopmentToken {
    /// The signed JWT.
    ///
    /// # Errors
    /// [`MintError`] when the mode is not HS256 or signing fails.
    pub fn mint(&self, settings: &AuthSettings) -> Result<String, MintError> {
        if settings.mode != AuthMode::Hs256 {
            return Err(MintError::NotHs256);
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let roles: Vec<&str> = self.roles.iter().map(|role| role.as_str()).collect();
        let mut claims = serde_json::Map::new();
        claims.insert("sub".to_owned(), self.subject.clone().into());
        claims.insert("iss".to_owned(), settings.issuer.clone().into());
        claims.insert("aud".to_owned(), settings.audience.clone().into());
        claims.insert("iat".to_owned(), now.into());
        claims.insert("nbf".to_owned(), now.into());
        claims.insert(
            "exp".to_owned(),
            now.saturating_add(self.lifetime.as_secs()).into(),
        );
        claims.insert(
            settings.tenant_claim.clone(),
            self.tenant.to_string().into(),
        );
        insert_at(&mut claims, &settings.roles_claim, roles.into());
        let token = jsonwebtoken::encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(settings.hs256_secret.expose().as_bytes()),
        )?;
        Ok(token)
    }
}

/// Puts `value` at a dotted claim path (`realm_access.roles`), creating the objects on the way,
/// so minted tokens have the shape the authenticator reads.
fn insert_at(
    claims: &mut serde_json::Map<String, serde_json::Value>,
    path: &str,
    value: serde_json::Value,
) {
    match path.split_once('.') {
        None => {
            claims.insert(path.to_owned(), value);
        }
        Some((head, rest)) => {
            let entry = claims
                .entry(head.to_owned())
                .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
            if !entry.is_object() {
                *entry = serde_json::Value::Object(serde_json::Map::new());
            }
            if let serde_json::Value::Object(inner) = entry {
                insert_at(inner, rest, value);
            }
        }
    }
}
