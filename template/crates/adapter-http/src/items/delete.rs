//! `DELETE /api/v1/tenants/{tenantId}/items/{itemId}`: delete one item; with `If-Match`, only
//! the version you read.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use super::{ItemPath, expected_version};
use crate::auth::Authenticated;
use crate::conditional::optional_match;
use crate::extract::ApiPath;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// Deletes one item. Answers 204 with no body.
#[utoipa::path(
    delete,
    path = "/tenants/{tenantId}/items/{itemId}",
    tag = "items",
    params(
        ("tenantId" = Uuid, Path, description = "The owning tenant"),
        ("itemId" = Uuid, Path, description = "The item"),
        ("If-Match" = Option<String>, Header, nullable = false, pattern = r#"^(?:[ \t]*\*[ \t]*|[ \t,]*(?:(?:W/)?"[!#-~]*"[ \t]*(?:,[ \t,]*|$))*)$"#,
            description = "Delete only if still at this ETag (or one of these; `*`: any version); compared strongly (RFC 9110)"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "An id or If-Match is malformed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such item in this tenant", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The item changed since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Unexpected failure", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_item(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(path): ApiPath<ItemPath>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let (tenant_id, id) = (path.tenant_id.into(), path.item_id.into());
    state.items.authorize_delete(&principal, tenant_id, id)?;
    let expected = expected_version(optional_match(&headers)?);
    state
        .items
        .delete(&principal, tenant_id, id, expected)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
