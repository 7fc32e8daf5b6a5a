//! `PATCH /api/v1/tenants/{tenantId}/items/{itemId}`: change an item you have read, never
//! overwriting a change you have not seen (`If-Match` required).

use super::body::{ItemResponse, UpdateItemBody};
use super::{ItemPath, expected_version};
use crate::auth::Authenticated;
use crate::conditional::{etag, required_match};
use crate::extract::{ApiPath, JsonBody};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};

/// Applies a JSON merge patch to an item at the version named by `If-Match`.
#[utoipa::path(
    patch,
    path = "/tenants/{tenantId}/items/{itemId}",
    tag = "items",
    params(
        ("tenantId" = Uuid, Path, description = "The owning tenant"),
        ("itemId" = Uuid, Path, description = "The item"),
        ("If-Match" = String, Header, pattern = r#"^(?:[ \t]*\*[ \t]*|[ \t,]*(?:(?:W/)?"[!#-~]*"[ \t]*(?:,[ \t,]*|$))*)$"#,
            description = "The ETag of the version you read, a list of ETags, or `*` (any version); compared strongly (RFC 9110): a weak tag matches nothing"),
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
    body: JsonBody<UpdateItemBody>,
) -> Result<(HeaderMap, Json<ItemResponse>), ApiError> {
    let (tenant_id, id) = (path.tenant_id.into(), path.item_id.into());
    // Who may, then the precondition, then the body: see `JsonBody`.
    state.items.authorize_update(&principal, tenant_id, id)?;
    let expected = expected_version(required_match(&headers)?);
    let changes = body.parse()?.into_domain()?;
    let item = state
        .items
        .update_matching(&principal, tenant_id, id, expected, changes)
        .await?;
    let mut response_headers = HeaderMap::new();
    response_headers.insert(header::ETAG, etag(item.version));
    Ok((response_headers, Json(ItemResponse::from(item))))
}
