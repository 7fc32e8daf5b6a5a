//! The JSON shapes of tenants on the wire.

use domain::tenants::{NewTenant, Tenant, TenantName};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::problem::{ApiError, FieldError, Problem};

/// The body of `POST /api/v1/tenants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTenantBody {
    /// Unique name, 1 to 100 characters after trimming.
    #[schema(example = "Acme", min_length = 1, max_length = 100)]
    pub name: String,
}

impl CreateTenantBody {
    /// Parses the body into the domain's command.
    pub fn into_domain(self) -> Result<NewTenant, ApiError> {
        let name = TenantName::parse(&self.name).map_err(|error| {
            Problem::validation(vec![FieldError {
                pointer: "/name".to_owned(),
                detail: error.to_string(),
            }])
        })?;
        Ok(NewTenant::new(name))
    }
}

/// A tenant as clients see it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantResponse {
    /// Identity.
    pub id: Uuid,
    /// Unique name.
    pub name: String,
    /// When it was created (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<Tenant> for TenantResponse {
    fn from(tenant: Tenant) -> Self {
        Self {
            id: tenant.id.as_uuid(),
            name: tenant.name.as_str().to_owned(),
            created_at: tenant.created_at,
        }
    }
}
