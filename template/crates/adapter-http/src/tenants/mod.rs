//! HTTP for tenants, the owners of the example items: create one, read one.

// `body` is the crate's: GraphQL parses its input with the same types.
pub(crate) mod body;
mod create;
mod get;

use domain::tenants::{CreateTenantError, GetTenantError};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// The tenant routes, relative to `/api/v1`.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create::create_tenant))
        .routes(routes!(get::get_tenant))
}

impl From<CreateTenantError> for ApiError {
    fn from(error: CreateTenantError) -> Self {
        let problem = match error {
            CreateTenantError::Duplicate(name) => Problem::conflict(format!(
                "A tenant named {:?} already exists.",
                name.as_str()
            )),
            CreateTenantError::Forbidden(forbidden) => return forbidden.into(),
            CreateTenantError::Unexpected(cause) => Problem::unexpected(cause.as_ref()),
        };
        problem.into()
    }
}

impl From<GetTenantError> for ApiError {
    fn from(error: GetTenantError) -> Self {
        let problem = match error {
            GetTenantError::NotFound(id) => {
                Problem::not_found(format!("Tenant {id} does not exist."))
            }
            GetTenantError::Forbidden(forbidden) => return forbidden.into(),
            GetTenantError::Unexpected(cause) => Problem::unexpected(cause.as_ref()),
        };
        problem.into()
    }
}
