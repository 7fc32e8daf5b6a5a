//! `GET /api/v1/items`: one page of items, oldest first, with a link to the next page.

use axum::Json;
use axum::extract::State;
use domain::items::{ListItems, PageSize};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::body::{ItemPageResponse, ItemResponse, PageLinks};
use crate::extract::ApiQuery;
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
    /// Start after this item id (from the previous page's `links.next`).
    after: Option<Uuid>,
}

/// Lists items.
#[utoipa::path(
    get,
    path = "/items",
    tag = "items",
    params(ListItemsQuery),
    responses(
        (status = 200, description = "One page of items", body = ItemPageResponse),
        (status = 400, description = "Unknown or malformed parameter", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Unexpected failure", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_items(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListItemsQuery>,
) -> Result<Json<ItemPageResponse>, ApiError> {
    let limit = match query.limit {
        None => PageSize::DEFAULT,
        Some(requested) => PageSize::new(requested).map_err(|error| {
            Problem::bad_request("A query parameter is invalid.").with_errors(vec![FieldError {
                pointer: "limit".to_owned(),
                detail: error.to_string(),
            }])
        })?,
    };
    let request = ListItems {
        limit,
        after: query.after.map(Into::into),
    };
    let page = state.items.list(request).await?;
    let link = |after: Option<String>| match after {
        Some(after) => format!("/api/v1/items?limit={}&after={after}", limit.get()),
        None => format!("/api/v1/items?limit={}", limit.get()),
    };
    Ok(Json(ItemPageResponse {
        links: PageLinks {
            this: link(query.after.map(|after| after.to_string())),
            next: page.next.map(|next| link(Some(next.to_string()))),
        },
        items: page.items.into_iter().map(ItemResponse::from).collect(),
    }))
}
