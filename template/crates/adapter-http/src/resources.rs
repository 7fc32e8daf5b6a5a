//! The resources this API serves, attached in one place: their routes (each with its part of
//! the OpenAPI document) and the OpenAPI tags their operations are grouped under. None yet: a
//! resource adds itself to both lists below (a service generated with the example shows
//! `items` and `tenants`), and `openapi.rs` and the router stay as they are. Handlers live in
//! one module per resource; this module only lists them and must not hold a handler or a rule.

use utoipa::openapi::tag::Tag;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Every resource's routes, nested under `/api/v1` by `openapi.rs`.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}

/// The resources' OpenAPI tags, in the order `/docs` lists them (after the service's own).
pub(crate) fn tags() -> Vec<Tag> {
    Vec::new()
}
