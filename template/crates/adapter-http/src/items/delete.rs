//! `DELETE /api/v1/items/{id}`: delete one item.

use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

use crate::extract::ApiPath;
use crate::problem::{ApiError, Problem};
use crate::router::AppState;

/// Deletes one item. Answers 204 with no body.
#[utoipa::path(
    delete,
    path = "/items/{id}",
    tag = "items",
    params(("id" = Uuid, Path, description = "The item's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such item", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Unexpected failure", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_item(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    state.items.delete(id.into()).await?;
    Ok(StatusCode::NO_CONTENT)
}
