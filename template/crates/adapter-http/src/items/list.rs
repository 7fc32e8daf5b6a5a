//! `GET /api/v1/tenants/{tenantId}/items`: one page of a tenant's items with a link to the
//! next. Filters and sort orders are whitelisted; the cursor is sealed (see `cursor.rs`) and
//! only continues the query it was made for.

use axum::Json;
use axum::extract::{OriginalUri, State};
use domain::auth::Principal;
use domain::items::{Item, ItemCursor, ItemSort, ItemStatus, ListItems, PageSize};
use domain::tenants::TenantId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::body::{ItemPageResponse, ItemResponse, PageLinks, StatusName};
use super::{TenantPath, collection_path};
use crate::auth::Authenticated;
use crate::cursor::CursorCodec;
use crate::extract::{ApiPath, query_of};
use crate::problem::{ApiError, FieldError, Problem};
use crate::state::AppState;

/// The accepted query parameters; any other is refused with 400 naming it.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListItemsQuery {
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// Order: `createdAt`, `-createdAt`, `name` or `-name` (`-` for descending). Without it,
    /// the cursor's order, or `createdAt` (`-createdAt` where the `items_newest_first` feature
    /// flag is on).
    #[param(inline, value_type = Option<SortName>, example = "-createdAt")]
    sort: Option<String>,
    /// Only items with this status.
    #[param(inline, value_type = Option<StatusName>, example = "active")]
    status: Option<String>,
    /// Continue from here: the `cursor` in the previous page's `links.next`, unmodified (a
    /// sealed token: any other value is refused).
    #[param(min_length = 1)]
    cursor: Option<String>,
}

/// The orders a listing accepts, as the `sort` parameter spells them.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub enum SortName {
    /// Oldest first (the default where the `items_newest_first` feature flag is off).
    #[serde(rename = "createdAt")]
    CreatedAscending,
    /// Newest first.
    #[serde(rename = "-createdAt")]
    CreatedDescending,
    /// By name, A to Z.
    #[serde(rename = "name")]
    NameAscending,
    /// By name, Z to A.
    #[serde(rename = "-name")]
    NameDescending,
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

/// How the `sort` parameter spells `sort` (the inverse of `parse_sort`).
fn sort_name(sort: ItemSort) -> &'static str {
    match sort {
        ItemSort::CreatedAscending => "createdAt",
        ItemSort::CreatedDescending => "-createdAt",
        ItemSort::NameAscending => "name",
        ItemSort::NameDescending => "-name",
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
) -> Result<Json<ItemPageResponse>, ApiError> {
    // Who may, then the parameters: see `crate::extract::JsonBody`.
    state
        .items
        .authorize_list(&principal, path.tenant_id.into())?;
    let query: ListItemsQuery = query_of(&uri)?;
    let request = PageRequest {
        tenant: path.tenant_id,
        limit: query.limit,
        sort: query.sort.as_deref(),
        status: query.status.as_deref(),
        cursor: query.cursor.as_deref(),
    };
    let page = page_of(&state, &principal, &request).await?;
    let last = page.items.last().filter(|_| page.has_next);
    let next = last.map(|last| {
        let mut link = format!(
            "{}?limit={}&sort={}",
            collection_path(path.tenant_id),
            page.limit.get(),
            page.query.sort
        );
        if let Some(status) = &page.query.status {
            link.push_str(&format!("&status={status}"));
        }
        link.push_str(&format!("&cursor={}", page.cursor_after(last)));
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

/// A listing as a client asked for it, still unchecked. Both ways in (the REST query string
/// and the GraphQL arguments) end here, so they accept the same values and the same cursors.
pub(crate) struct PageRequest<'a> {
    /// The tenant whose items to list.
    pub tenant: Uuid,
    /// Page size; `None` for the default.
    pub limit: Option<u32>,
    /// `createdAt`, `-createdAt`, `name` or `-name`; `None` for the cursor's, or without a
    /// cursor the caller's default (the use case's, which a feature flag decides).
    pub sort: Option<&'a str>,
    /// `active` or `archived`; `None` for both.
    pub status: Option<&'a str>,
    /// A cursor sealed for this same query.
    pub cursor: Option<&'a str>,
}

/// One page of items, and what it takes to seal cursors that continue its query.
pub(crate) struct PageOf {
    /// The items, in the requested order.
    pub items: Vec<Item>,
    /// Whether more items follow the last one.
    pub has_next: bool,
    /// The page size used.
    pub limit: PageSize,
    sort: ItemSort,
    query: SealedQuery,
    codec: CursorCodec,
}

impl PageOf {
    /// A cursor that continues this query right after `item`.
    pub fn cursor_after(&self, item: &Item) -> String {
        self.codec.seal(&SealedCursor {
            tenant: self.query.tenant,
            sort: self.query.sort.clone(),
            status: self.query.status.clone(),
            after: match ItemCursor::after(item, self.sort) {
                ItemCursor::Created { created_at, id } => {
                    SealedPosition::Created(created_at, id.as_uuid())
                }
                ItemCursor::Name(name) => SealedPosition::Name(name),
            },
        })
    }
}

/// Checks a listing request, runs the use case, and returns the page.
///
/// # Errors
/// 400 for an invalid parameter or a cursor of another query (naming it: `limit`, `sort`,
/// `status` or `cursor`), and whatever the use case refuses.
pub(crate) async fn page_of(
    state: &AppState,
    principal: &Principal,
    request: &PageRequest<'_>,
) -> Result<PageOf, ApiError> {
    // No order named: the cursor's, when there is one (the flag deciding the default may have
    // changed since the first page, and a GraphQL client sends the same arguments again), or
    // else the caller's default. A cursor that does not open is refused below.
    let sealed_sort = request
        .cursor
        .and_then(|cursor| state.cursors.open::<SealedCursor>(cursor).ok())
        .map(|sealed| sealed.sort);
    let sort = match (request.sort, sealed_sort) {
        (Some(sort), _) => sort.to_owned(),
        (None, Some(sealed)) => sealed,
        (None, None) => sort_name(state.items.default_sort(principal).await).to_owned(),
    };
    let query = SealedQuery {
        tenant: request.tenant,
        sort,
        status: request.status.map(str::to_owned),
    };
    let sort = parse_sort(Some(&query.sort))?;
    let status = request
        .status
        .map(ItemStatus::parse)
        .transpose()
        .map_err(|error| parameter_problem("status", error.to_string()))?;
    let limit = match request.limit {
        None => PageSize::DEFAULT,
        Some(requested) => PageSize::new(requested)
            .map_err(|error| parameter_problem("limit", error.to_string()))?,
    };
    let codec = state.cursors.clone();
    let after = match request.cursor {
        None => None,
        Some(cursor) => Some(open_cursor(&codec, cursor, &query)?),
    };
    let listing = ListItems {
        tenant_id: TenantId::from(request.tenant),
        limit,
        sort,
        status,
        after,
    };
    let page = state.items.list(principal, listing).await?;
    Ok(PageOf {
        items: page.items,
        has_next: page.next.is_some(),
        limit,
        sort,
        query,
        codec,
    })
}

/// The query a cursor continues: the same tenant, order and filter, or the cursor is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SealedQuery {
    tenant: Uuid,
    sort: String,
    status: Option<String>,
}

/// Opens a cursor and checks it continues this very query (same tenant, sort and filter).
fn open_cursor(
    codec: &CursorCodec,
    cursor: &str,
    query: &SealedQuery,
) -> Result<ItemCursor, ApiError> {
    let refused = |detail: String| parameter_problem("cursor", detail);
    let sealed: SealedCursor = codec
        .open(cursor)
        .map_err(|error| refused(error.to_string()))?;
    if sealed.tenant != query.tenant || sealed.sort != query.sort || sealed.status != query.status {
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
