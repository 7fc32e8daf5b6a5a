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
    /// Unique name, by the rules of an item's name: 1 to 100 characters once leading and
    /// trailing white space is trimmed, at least one of them visible, no control characters.
    #[schema(
        example = "Acme",
        pattern = r"^[\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^ \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\u0000-\u001F\u007F-\u009F](?:[^\u0000-\u001F\u007F-\u009F]{0,98}[^ \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\u0000-\u001F\u007F-\u009F])?[\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
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
