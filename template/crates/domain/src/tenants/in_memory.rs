//! An in-memory twin of [`TenantRepository`] for tests that should not need a database.
//! Compiled only with the `in-memory` feature or in this crate's tests.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{CreateTenantError, GetTenantError, NewTenant, Tenant, TenantId, TenantRepository};

/// Tenants in a map.
#[derive(Debug, Default)]
pub struct InMemoryTenantRepository {
    tenants: Mutex<HashMap<TenantId, Tenant>>,
}

#[async_trait]
impl TenantRepository for InMemoryTenantRepository {
    async fn create(&self, tenant: &NewTenant) -> Result<Tenant, CreateTenantError> {
        let mut tenants = self.tenants.lock().unwrap_or_else(PoisonError::into_inner);
        if tenants
            .values()
            .any(|existing| existing.name == tenant.name)
        {
            return Err(CreateTenantError::Duplicate(tenant.name.clone()));
        }
        let stored = Tenant {
            id: tenant.id,
            name: tenant.name.clone(),
            created_at: OffsetDateTime::now_utc(),
        };
        tenants.insert(tenant.id, stored.clone());
        Ok(stored)
    }

    async fn get(&self, id: TenantId) -> Result<Tenant, GetTenantError> {
        let tenants = self.tenants.lock().unwrap_or_else(PoisonError::into_inner);
        tenants
            .get(&id)
            .cloned()
            .ok_or(GetTenantError::NotFound(id))
    }
}
