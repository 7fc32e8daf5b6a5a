//! `PATCH /api/v1/tenants/{tenantId}/items/{itemId}`: change an item you have read, never
//! overwriting a change you have not seen (`If-Match` required).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use domain::items::UpdateItem;

use super::ItemPath;
use super::body::{ItemResponse, UpdateItemBody};
use crate::auth::Authenticated;
use crate::conditional::{etag, required_version};
use crate::extract::{ApiJson, ApiPath};
use crate::problem::{ApiError, Problem};
use crate::router::AppState;

/// Applies a JSON merge patch to an item at the version named by `If-Match`.
#[utoipa::path(
    patch,
    path = "/tenants/{tenantId}/items/{itemId}",
    tag = "items",
    params(
        ("tenantId" = Uuid, Path, description = "The owning tenant"),
        ("itemId" = Uuid, Path, description = "The item"),
        ("If-Match" = String, Header, description = "ETag of the version you read"),
    ),
    request_body(content = UpdateItemBody, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed item", body = ItemResponse,
            headers(("etag" = String, description = "The new version"))),
        (status = 400, description = "Malformed JSON, id or If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such item in this tenant", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "New name already taken", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The item changed since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match is missing", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Unexpected failure", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update_item(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(path): ApiPath<ItemPath>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<UpdateItemBody>,
) -> Result<(HeaderMap, Json<ItemResponse>), ApiError> {
    let expected_version = required_version(&headers)?;
    let update = UpdateItem {
        tenant_id: path.tenant_id.into(),
        id: path.item_id.into(),
        expected_version,
        changes: body.into_domain()?,
    };
    let item = state.items.update(&principal, update).await?;
    let mut response_headers = HeaderMap::new();
    response_headers.insert(header::ETAG, etag(item.version));
    Ok((response_headers, Json(ItemResponse::from(item))))
}
