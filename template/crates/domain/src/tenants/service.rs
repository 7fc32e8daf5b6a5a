//! The tenant port and use cases.

use std::sync::Arc;

use async_trait::async_trait;
use tracing::instrument;

use super::{CreateTenantError, GetTenantError, NewTenant, Tenant, TenantId};

/// Where tenants live.
#[async_trait]
pub trait TenantRepository: Send + Sync {
    /// Stores a new tenant.
    ///
    /// # Errors
    /// [`CreateTenantError::Duplicate`] when the name is taken; `Unexpected` otherwise.
    async fn create(&self, tenant: &NewTenant) -> Result<Tenant, CreateTenantError>;

    /// Reads one tenant.
    ///
    /// # Errors
    /// [`GetTenantError::NotFound`] when no tenant has this id; `Unexpected` otherwise.
    async fn get(&self, id: TenantId) -> Result<Tenant, GetTenantError>;
}

/// Runs the tenant use cases.
#[derive(Clone)]
pub struct TenantService {
    repository: Arc<dyn TenantRepository>,
}

impl TenantService {
    /// A service over the given repository.
    pub fn new(repository: Arc<dyn TenantRepository>) -> Self {
        Self { repository }
    }

    /// Creates a tenant.
    ///
    /// # Errors
    /// See [`CreateTenantError`].
    #[instrument(skip_all, fields(tenant.id = %tenant.id), err(level = "debug"))]
    pub async fn create(&self, tenant: NewTenant) -> Result<Tenant, CreateTenantError> {
        self.repository.create(&tenant).await
    }

    /// Reads a tenant.
    ///
    /// # Errors
    /// See [`GetTenantError`].
    #[instrument(skip(self), fields(tenant.id = %id), err(level = "debug"))]
    pub async fn get(&self, id: TenantId) -> Result<Tenant, GetTenantError> {
        self.repository.get(id).await
    }
}
