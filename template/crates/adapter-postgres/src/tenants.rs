//! `TenantRepository` over PostgreSQL.

use anyhow::Context;
use async_trait::async_trait;
use domain::tenants::{
    CreateTenantError, GetTenantError, NewTenant, Tenant, TenantId, TenantName, TenantRepository,
};
use time::OffsetDateTime;
use tracing::instrument;
use uuid::Uuid;

use crate::errors::is_unique_violation;
use crate::{MeteredPool, PostgresPools};

/// Tenants stored in the `tenants` table.
#[derive(Debug, Clone)]
pub struct PostgresTenantRepository {
    primary: MeteredPool,
    reader: MeteredPool,
}

impl PostgresTenantRepository {
    /// A repository writing to the primary and reading from the replica when there is one.
    #[must_use]
    pub fn new(pools: &PostgresPools) -> Self {
        Self {
            primary: pools.metered_primary(),
            reader: pools.metered_reader(),
        }
    }
}

struct TenantRow {
    id: Uuid,
    name: String,
    created_at: OffsetDateTime,
}

impl TryFrom<TenantRow> for Tenant {
    type Error = anyhow::Error;

    fn try_from(row: TenantRow) -> Result<Self, Self::Error> {
        Ok(Tenant {
            id: TenantId::from(row.id),
            name: TenantName::parse(&row.name)
                .with_context(|| format!("corrupt name in tenant {}", row.id))?,
            created_at: row.created_at,
        })
    }
}

#[async_trait]
impl TenantRepository for PostgresTenantRepository {
    #[instrument(skip_all, fields(db.system.name = "postgresql", tenant.id = %tenant.id), err(level = "debug"))]
    async fn create(&self, tenant: &NewTenant) -> Result<Tenant, CreateTenantError> {
        let mut connection = self.primary.acquire().await.context("inserting a tenant")?;
        let row = sqlx::query_as!(
            TenantRow,
            "INSERT INTO tenants (id, name) VALUES ($1, $2) RETURNING id, name, created_at",
            tenant.id.as_uuid(),
            tenant.name.as_str(),
        )
        .fetch_one(&mut *connection)
        .await
        .map_err(|error| {
            if is_unique_violation(&error) {
                CreateTenantError::Duplicate(tenant.name.clone())
            } else {
                CreateTenantError::Unexpected(
                    anyhow::Error::new(error).context("inserting a tenant"),
                )
            }
        })?;
        Ok(Tenant::try_from(row)?)
    }

    #[instrument(skip(self), fields(db.system.name = "postgresql"), err(level = "debug"))]
    async fn get(&self, id: TenantId) -> Result<Tenant, GetTenantError> {
        let mut connection = self.reader.acquire().await.context("reading a tenant")?;
        let row = sqlx::query_as!(
            TenantRow,
            "SELECT id, name, created_at FROM tenants WHERE id = $1",
            id.as_uuid(),
        )
        .fetch_optional(&mut *connection)
        .await
        .context("reading a tenant")?;
        match row {
            Some(row) => Ok(Tenant::try_from(row)?),
            None => Err(GetTenantError::NotFound(id)),
        }
    }
}
