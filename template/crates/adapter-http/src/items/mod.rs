//! HTTP for the example resource: one file per endpoint, the bodies they share, and the
//! mapping of the items' domain errors to problems. Copy this folder for a new resource.
//!
//! Items live under their tenant: `/api/v1/tenants/{tenantId}/items/{itemId}`.

// `body`, `create` and `list` are the crate's, not only this module's: GraphQL parses,
// lists and keys its requests with them, so both ways in follow one set of rules.
pub(crate) mod body;
pub(crate) mod create;
mod delete;
mod errors;
mod get;
pub(crate) mod list;
mod update;

use domain::items::ExpectedVersion;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::conditional::IfMatch;
use crate::state::AppState;

/// The item routes, relative to `/api/v1`.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create::create_item, list::list_items))
        .routes(routes!(
            get::get_item,
            update::update_item,
            delete::delete_item
        ))
}

/// `{tenantId}` in a collection path.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TenantPath {
    tenant_id: Uuid,
}

/// `{tenantId}` and `{itemId}` in an item path.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemPath {
    tenant_id: Uuid,
    item_id: Uuid,
}

/// Where a tenant's items live.
fn collection_path(tenant_id: impl std::fmt::Display) -> String {
    format!("/api/v1/tenants/{tenant_id}/items")
}

/// Where an item lives, for `Location` headers and links.
fn item_path(tenant_id: impl std::fmt::Display, item_id: impl std::fmt::Display) -> String {
    format!("/api/v1/tenants/{tenant_id}/items/{item_id}")
}

/// `If-Match` as the items' precondition.
fn expected_version(if_match: IfMatch) -> ExpectedVersion {
    match if_match {
        IfMatch::Any => ExpectedVersion::Any,
        IfMatch::Versions(versions) => ExpectedVersion::OneOf(versions),
    }
}
