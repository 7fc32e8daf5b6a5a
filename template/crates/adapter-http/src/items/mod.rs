//! HTTP for the example resource: one file per endpoint, the bodies they share, and the
//! mapping of the items' domain errors to problems. Copy this folder for a new resource.

mod body;
mod create;
mod delete;
mod errors;
mod get;
mod list;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::router::AppState;

/// The `/items` routes, relative to `/api/v1`.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create::create_item, list::list_items))
        .routes(routes!(get::get_item, delete::delete_item))
}

/// Where an item lives, for `Location` headers and links.
fn item_path(id: impl std::fmt::Display) -> String {
    format!("/api/v1/items/{id}")
}
