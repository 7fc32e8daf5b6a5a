//! `GET /api/v1/tenants/{tenantId}/items/{itemId}`: read one item, or learn cheaply that the
//! copy you have is current (`If-None-Match` -> 304).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::ItemPath;
use super::body::ItemResponse;
use crate::auth::Authenticated;
use crate::conditional::{etag, none_match};
use crate::extract::ApiPath;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// Reads one item.
#[utoipa::path(
    get,
    path = "/tenants/{tenantId}/items/{itemId}",
    tag = "items",
    params(
        ("tenantId" = Uuid, Path, description = "The owning tenant"),
        ("itemId" = Uuid, Path, description = "The item"),
        ("If-None-Match" = Option<String>, Header, nullable = false, description = "ETag of the copy you have"),
    ),
    responses(
        (status = 200, description = "The item", body = ItemResponse,
            headers(("etag" = String, description = "The item's version"))),
        (status = 304, description = "Your copy is current",
            headers(("etag" = String, description = "The item's version"))),
        (status = 400, description = "An id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such item in this tenant", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Unexpected failure", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_item(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(path): ApiPath<ItemPath>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let item = state
        .items
        .get(&principal, path.tenant_id.into(), path.item_id.into())
        .await?;
    let tag = etag(item.version);
    if none_match(&headers, item.version) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    Ok(([(header::ETAG, tag)], Json(ItemResponse::from(item))).into_response())
}
