//! The resources this API serves, attached in one place: their routes (each with its part of
//! the OpenAPI document) and the OpenAPI tags their operations are grouped under. A new
//! resource adds itself to both lists below; `openapi.rs` and the router stay as they are. The
//! handlers live in one module per resource (`items/`, `tenants/`); this module only lists
//! them and must not hold a handler or a rule.

use utoipa::openapi::tag::{Tag, TagBuilder};
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;
use crate::{items, tenants};

/// Every resource's routes, nested under `/api/v1` by `openapi.rs`.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    tenants::routes().merge(items::routes())
}

/// The resources' OpenAPI tags, in the order `/docs` lists them (after the service's own).
pub(crate) fn tags() -> Vec<Tag> {
    vec![
        tag("tenants", "Owners of the example items"),
        tag(
            "items",
            "The example resource: copy its pattern, then delete it",
        ),
    ]
}

fn tag(name: &str, description: &str) -> Tag {
    TagBuilder::new()
        .name(name)
        .description(Some(description))
        .build()
}
