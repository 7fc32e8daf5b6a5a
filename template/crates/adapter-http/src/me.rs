//! `GET /api/v1/me`: who the service thinks you are. The first call to make with a new token:
//! it shows the tenant and roles the token carries and the permissions they grant here.

use axum::Json;
use domain::auth::Principal;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Authenticated;
use crate::problem::Problem;

/// The caller, as authenticated.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MeResponse {
    /// The token's subject.
    pub(crate) subject: String,
    /// The tenant the caller acts for.
    pub(crate) tenant_id: Uuid,
    /// The roles this service recognised in the token (others are ignored).
    pub(crate) roles: Vec<String>,
    /// What those roles grant.
    pub(crate) permissions: Vec<String>,
}

impl MeResponse {
    /// The caller as the service sees it (every way in answers the same).
    pub(crate) fn of(principal: &Principal) -> Self {
        Self {
            subject: principal.subject().to_owned(),
            tenant_id: principal.tenant(),
            roles: principal
                .roles()
                .map(|role| role.as_str().to_owned())
                .collect(),
            permissions: principal
                .permissions()
                .into_iter()
                .map(|permission| permission.to_string())
                .collect(),
        }
    }
}

/// Describes the caller as the service sees it.
#[utoipa::path(
    get,
    path = "/me",
    tag = "auth",
    responses(
        (status = 200, description = "The caller", body = MeResponse),
        (status = 500, description = "Unexpected failure", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn me(Authenticated(principal): Authenticated) -> Json<MeResponse> {
    Json(MeResponse::of(&principal))
}

/// The route, relative to `/api/v1`.
pub(crate) fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(me))
}
