//! Who the load test acts as, in a service that checks no credentials (`auth = none`: a gateway
//! in front authenticates): nobody in particular. Every request goes without `Authorization`,
//! as the service expects behind its gateway. This module must not know what traffic is sent.

use uuid::Uuid;

/// No credentials at all.
pub struct Credentials;

impl Credentials {
    /// Nothing to read: the service checks no tokens.
    ///
    /// # Errors
    /// Never; the signature matches the one of a service that checks tokens.
    pub fn from_environment() -> Result<Self, std::convert::Infallible> {
        Ok(Self)
    }

    /// Tenants are always created by the run.
    pub fn given_tenants(&self) -> Option<Vec<Uuid>> {
        None
    }

    /// No `Authorization` header.
    ///
    /// # Errors
    /// Never.
    pub fn platform_admin(&self) -> Result<Option<String>, String> {
        Ok(None)
    }

    /// No `Authorization` header.
    ///
    /// # Errors
    /// Never.
    pub fn principal(&self, _tenant: Uuid, _subject: &str) -> Result<Option<String>, String> {
        Ok(None)
    }
}
