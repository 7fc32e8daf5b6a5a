//! `GET /api/v1/tenants/{tenantId}`: read a tenant.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use uuid::Uuid;

use super::body::TenantResponse;
use crate::auth::Authenticated;
use crate::extract::ApiPath;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TenantPath {
    tenant_id: Uuid,
}

/// Reads a tenant.
#[utoipa::path(
    get,
    path = "/tenants/{tenantId}",
    tag = "tenants",
    params(("tenantId" = Uuid, Path, description = "The tenant")),
    responses(
        (status = 200, description = "The tenant", body = TenantResponse),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Unexpected failure", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_tenant(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(path): ApiPath<TenantPath>,
) -> Result<Json<TenantResponse>, ApiError> {
    let tenant = state.tenants.get(&principal, path.tenant_id.into()).await?;
    Ok(Json(TenantResponse::from(tenant)))
}
