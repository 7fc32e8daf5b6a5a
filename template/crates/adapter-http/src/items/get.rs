//! `GET /api/v1/items/{id}`: read one item.

use axum::Json;
use axum::extract::State;
use uuid::Uuid;

use super::body::ItemResponse;
use crate::extract::ApiPath;
use crate::problem::{ApiError, Problem};
use crate::router::AppState;

/// Reads one item.
#[utoipa::path(
    get,
    path = "/items/{id}",
    tag = "items",
    params(("id" = Uuid, Path, description = "The item's id")),
    responses(
        (status = 200, description = "The item", body = ItemResponse),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such item", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Unexpected failure", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_item(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ItemResponse>, ApiError> {
    let item = state.items.get(id.into()).await?;
    Ok(Json(ItemResponse::from(item)))
}
