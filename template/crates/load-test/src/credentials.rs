//! Who the load test acts as, in a service that checks no credentials (`auth = none`: a gateway
//! in front authenticates): nobody in particular. Every request goes without `Authorization`,
//! as the service expects behind its gateway. This module must not know what traffic is sent.

use domain::auth::Role;
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

    /// No tokens were issued for given tenants: the traffic creates or picks its own.
    pub fn given_tenants(&self) -> Option<Vec<Uuid>> {
        None
    }

    /// No `Authorization` header: the gateway would have checked who calls.
    ///
    /// # Errors
    /// Never; the signature matches the one of a service that checks tokens.
    pub fn authorization(
        &self,
        _tenant: Uuid,
        _subject: &str,
        _role: Role,
    ) -> Result<Option<String>, String> {
        Ok(None)
    }
}
