//! `GET /api/v1/tenants/{tenantId}/items`: one page of a tenant's items with a link to the
//! next. Filters and sort orders are whitelisted; the cursor is sealed (see `cursor.rs`) and
//! only continues the query it was made for.

use axum::Json;
use axum::extract::{OriginalUri, State};
use domain::items::{ItemCursor, ItemSort, ItemStatus, ListItems, PageSize};
use domain::tenants::TenantId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::IntoParams;
use uuid::Uuid;

use super::body::{ItemPageResponse, ItemResponse, PageLinks};
use super::{TenantPath, collection_path};
use crate::auth::Authenticated;
use crate::cursor::CursorCodec;
use crate::extract::{ApiPath, ApiQuery};
use crate::problem::{ApiError, FieldError, Problem};
use crate::router::AppState;

/// The accepted query parameters; any other is refused with 400 naming it.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListItemsQuery {
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// Order: `createdAt` (default), `-createdAt`, `name` or `-name` (`-` for descending).
    #[param(example = "-createdAt")]
    sort: Option<String>,
    /// Only items with this status: `active` or `archived`.
    #[param(example = "active")]
    status: Option<String>,
    /// Continue from here: the `cursor` in the previous page's `links.next`, unmodified.
    cursor: Option<String>,
}

/// What a cursor seals: the query it belongs to, and where the next page starts.
#[derive(Debug, Serialize, Deserialize)]
struct SealedCursor {
    tenant: Uuid,
    sort: String,
    status: Option<String>,
    after: SealedPosition,
}

#[derive(Debug, Serialize, Deserialize)]
enum SealedPosition {
    Created(#[serde(with = "time::serde::rfc3339")] OffsetDateTime, Uuid),
    Name(String),
}

fn parameter_problem(parameter: &str, detail: impl Into<String>) -> ApiError {
    Problem::bad_request("A query parameter is invalid.")
        .with_errors(vec![FieldError {
            pointer: parameter.to_owned(),
            detail: detail.into(),
        }])
        .into()
}

fn parse_sort(sort: Option<&str>) -> Result<ItemSort, ApiError> {
    match sort.unwrap_or("createdAt") {
        "createdAt" => Ok(ItemSort::CreatedAscending),
        "-createdAt" => Ok(ItemSort::CreatedDescending),
        "name" => Ok(ItemSort::NameAscending),
        "-name" => Ok(ItemSort::NameDescending),
        other => Err(parameter_problem(
            "sort",
            format!("{other:?} is not one of createdAt, -createdAt, name, -name"),
        )),
    }
}

/// Lists a tenant's items.
#[utoipa::path(
    get,
    path = "/tenants/{tenantId}/items",
    tag = "items",
    params(("tenantId" = Uuid, Path, description = "The owning tenant"), ListItemsQuery),
    responses(
        (status = 200, description = "One page of items", body = ItemPageResponse),
        (status = 400, description = "Unknown or invalid parameter, or a cursor that is not valid here", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such tenant (or not the caller's)", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Unexpected failure", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_items(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(path): ApiPath<TenantPath>,
    OriginalUri(uri): OriginalUri,
    ApiQuery(query): ApiQuery<ListItemsQuery>,
) -> Result<Json<ItemPageResponse>, ApiError> {
    let tenant_id = TenantId::from(path.tenant_id);
    let sort_text = query.sort.clone().unwrap_or_else(|| "createdAt".to_owned());
    let sort = parse_sort(Some(&sort_text))?;
    let status = query
        .status
        .as_deref()
        .map(ItemStatus::parse)
        .transpose()
        .map_err(|error| parameter_problem("status", error.to_string()))?;
    let limit = match query.limit {
        None => PageSize::DEFAULT,
        Some(requested) => PageSize::new(requested)
            .map_err(|error| parameter_problem("limit", error.to_string()))?,
    };
    let codec = CursorCodec::new(state.settings.cursor_secret.as_bytes());
    let after = match &query.cursor {
        None => None,
        Some(cursor) => Some(open_cursor(
            &codec,
            cursor,
            path.tenant_id,
            &sort_text,
            query.status.as_deref(),
        )?),
    };
    let request = ListItems {
        tenant_id,
        limit,
        sort,
        status,
        after,
    };
    let page = state.items.list(&principal, request).await?;

    let next = page.next.map(|position| {
        let sealed = SealedCursor {
            tenant: path.tenant_id,
            sort: sort_text.clone(),
            status: query.status.clone(),
            after: match position {
                ItemCursor::Created { created_at, id } => {
                    SealedPosition::Created(created_at, id.as_uuid())
                }
                ItemCursor::Name(name) => SealedPosition::Name(name),
            },
        };
        let mut link = format!(
            "{}?limit={}&sort={sort_text}",
            collection_path(path.tenant_id),
            limit.get()
        );
        if let Some(status) = &query.status {
            link.push_str(&format!("&status={status}"));
        }
        link.push_str(&format!("&cursor={}", codec.seal(&sealed)));
        link
    });
    let this = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), ToString::to_string);
    Ok(Json(ItemPageResponse {
        items: page.items.into_iter().map(ItemResponse::from).collect(),
        links: PageLinks { this, next },
    }))
}

/// Opens a cursor and checks it continues this very query (same tenant, sort and filter).
fn open_cursor(
    codec: &CursorCodec,
    cursor: &str,
    tenant: Uuid,
    sort: &str,
    status: Option<&str>,
) -> Result<ItemCursor, ApiError> {
    let refused = |detail: String| parameter_problem("cursor", detail);
    let sealed: SealedCursor = codec
        .open(cursor)
        .map_err(|error| refused(error.to_string()))?;
    if sealed.tenant != tenant || sealed.sort != sort || sealed.status.as_deref() != status {
        return Err(refused(
            "the cursor belongs to another query; keep sort and status as they were".to_owned(),
        ));
    }
    Ok(match sealed.after {
        SealedPosition::Created(created_at, id) => ItemCursor::Created {
            created_at,
            id: id.into(),
        },
        SealedPosition::Name(name) => ItemCursor::Name(name),
    })
}
