//! `POST /api/v1/items`: create an item.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};

use super::body::{CreateItemBody, ItemResponse};
use super::item_path;
use crate::extract::ApiJson;
use crate::problem::{ApiError, Problem};
use crate::router::AppState;

/// Creates an item. Answers 201 with the item and its URL in `Location`.
#[utoipa::path(
    post,
    path = "/items",
    tag = "items",
    request_body = CreateItemBody,
    responses(
        (status = 201, description = "Created", body = ItemResponse,
            headers(("location" = String, description = "URL of the new item"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Name already taken", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Unexpected failure", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_item(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateItemBody>,
) -> Result<(StatusCode, HeaderMap, Json<ItemResponse>), ApiError> {
    let item = state.items.create(body.into_domain()?).await?;
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&item_path(item.id)) {
        headers.insert(header::LOCATION, location);
    }
    Ok((StatusCode::CREATED, headers, Json(ItemResponse::from(item))))
}
