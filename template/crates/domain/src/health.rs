//! The readiness port: how the service asks "can I take traffic?" without knowing what a
//! database or a cache is.
//!
//! Adapters implement [`DependencyProbe`] for the infrastructure they own; the HTTP adapter runs
//! every probe for `GET /health/ready`. This module must not know any concrete technology.

use async_trait::async_trait;

/// Why a dependency is not usable right now. The message is for operators (logs and the
/// readiness body), never for end users of the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProbeFailure(pub String);

impl ProbeFailure {
    /// A failure described in words an operator can act on.
    pub fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

/// One external dependency whose health decides, or informs, readiness.
#[async_trait]
pub trait DependencyProbe: Send + Sync {
    /// Short stable name used as the key in the readiness body (`postgres`, `redis`).
    fn name(&self) -> &'static str;

    /// Whether the service can serve requests without this dependency. A critical dependency
    /// that fails makes the service not ready (503); a non-critical one is reported as degraded.
    fn is_critical(&self) -> bool;

    /// Checks the dependency once.
    ///
    /// # Errors
    /// Returns [`ProbeFailure`] when the dependency cannot be reached or is not in the state
    /// the service needs (for example, migrations not applied).
    async fn check(&self) -> Result<(), ProbeFailure>;
}
