//! `TenantRepository` over SQLite.

use anyhow::Context;
use async_trait::async_trait;
use domain::tenants::{
    CreateTenantError, GetTenantError, NewTenant, Tenant, TenantId, TenantName, TenantRepository,
};
use tracing::instrument;
use uuid::Uuid;

use crate::SqliteStore;
use crate::items::is_unique_violation;
use crate::micros;

/// Tenants stored in the `tenants` table of the database file.
#[derive(Debug, Clone)]
pub struct SqliteTenantRepository {
    store: SqliteStore,
}

impl SqliteTenantRepository {
    /// A repository over the store.
    #[must_use]
    pub fn new(store: &SqliteStore) -> Self {
        Self {
            store: store.clone(),
        }
    }
}

#[derive(sqlx::FromRow)]
struct TenantRow {
    id: Uuid,
    name: String,
    created_at: i64,
}

impl TryFrom<TenantRow> for Tenant {
    type Error = anyhow::Error;

    fn try_from(row: TenantRow) -> Result<Self, Self::Error> {
        let corrupt = |field: &str| format!("corrupt {field} in tenant {}", row.id);
        Ok(Tenant {
            id: TenantId::from(row.id),
            name: TenantName::parse(&row.name).with_context(|| corrupt("name"))?,
            created_at: micros::to_time(row.created_at).with_context(|| corrupt("created_at"))?,
        })
    }
}

#[async_trait]
impl TenantRepository for SqliteTenantRepository {
    #[instrument(skip_all, fields(db.system.name = "sqlite", tenant.id = %tenant.id), err(level = "debug"))]
    async fn create(&self, tenant: &NewTenant) -> Result<Tenant, CreateTenantError> {
        let row: TenantRow = sqlx::query_as(
            "INSERT INTO tenants (id, name, created_at) VALUES (?1, ?2, ?3) \
             RETURNING id, name, created_at",
        )
        .bind(tenant.id.as_uuid())
        .bind(tenant.name.as_str())
        .bind(micros::now())
        .fetch_one(self.store.writer())
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

    #[instrument(skip(self), fields(db.system.name = "sqlite"), err(level = "debug"))]
    async fn get(&self, id: TenantId) -> Result<Tenant, GetTenantError> {
        let row: Option<TenantRow> =
            sqlx::query_as("SELECT id, name, created_at FROM tenants WHERE id = ?1")
                .bind(id.as_uuid())
                .fetch_optional(self.store.reader())
                .await
                .context("reading a tenant")?;
        match row {
            Some(row) => Ok(Tenant::try_from(row)?),
            None => Err(GetTenantError::NotFound(id)),
        }
    }
}
