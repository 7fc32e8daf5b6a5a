//! The tenant port and use cases.

use std::sync::Arc;

use async_trait::async_trait;
use tracing::instrument;

use super::{CreateTenantError, GetTenantError, NewTenant, Tenant, TenantId};
use crate::audit;
use crate::auth::{Permission, Principal};
use crate::detach::{self, Spawn};

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

/// Runs the tenant use cases. A create runs to completion once started (see
/// `crate::detach`), so a tenant never exists without its audit line.
#[derive(Clone)]
pub struct TenantService {
    repository: Arc<dyn TenantRepository>,
    spawner: Arc<dyn Spawn>,
}

impl TenantService {
    /// A service over the given repository; creates run on `spawner`.
    pub fn new(repository: Arc<dyn TenantRepository>, spawner: Arc<dyn Spawn>) -> Self {
        Self {
            repository,
            spawner,
        }
    }

    /// What [`TenantService::create`] checks first: a way in calls it before it parses the
    /// request, so a caller without the role learns nothing from how its input is judged.
    ///
    /// # Errors
    /// [`CreateTenantError::Forbidden`] without the permission.
    pub fn authorize_create(&self, principal: &Principal) -> Result<(), CreateTenantError> {
        principal.require(Permission::CreateTenants)?;
        Ok(())
    }

    /// Creates a tenant.
    ///
    /// # Errors
    /// See [`CreateTenantError`].
    #[instrument(skip_all, fields(tenant.id = %tenant.id), err(level = "debug"))]
    pub async fn create(
        &self,
        principal: &Principal,
        tenant: NewTenant,
    ) -> Result<Tenant, CreateTenantError> {
        self.authorize_create(principal)?;
        let (repository, principal) = (Arc::clone(&self.repository), principal.clone());
        detach::to_completion(self.spawner.as_ref(), async move {
            let created = repository.create(&tenant).await?;
            audit::write(
                principal.actor(),
                "tenant.create",
                &format!("tenant/{}", created.id),
            );
            Ok(created)
        })
        .await
        .map_err(anyhow::Error::from)?
    }

    /// Reads a tenant: only the principal's own; any other answers "not found" (before the
    /// role is checked, so existence does not leak).
    ///
    /// # Errors
    /// See [`GetTenantError`].
    #[instrument(skip(self, principal), fields(tenant.id = %id), err(level = "debug"))]
    pub async fn get(&self, principal: &Principal, id: TenantId) -> Result<Tenant, GetTenantError> {
        if !principal.acts_for(id.as_uuid()) {
            return Err(GetTenantError::NotFound(id));
        }
        principal.require(Permission::ReadTenant)?;
        self.repository.get(id).await
    }
}
