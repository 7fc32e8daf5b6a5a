//! The OpenAPI 3.1 document, generated from the handlers' annotations so it cannot drift from
//! the code. Served at `/api/v1/openapi.json`, browsable at `/docs` (assets bundled in the
//! binary: no CDN), and committed as `docs/openapi.json` (a test keeps the copy current).

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::health;
use crate::problem::{FieldError, Problem};
use crate::router::AppState;
{% if example %}use crate::{items, tenants};
{% endif %}
#[derive(OpenApi)]
#[openapi(
    info(title = "{{project-name}}", description = "{{description}}"),
    tags(
        (name = "health", description = "Liveness and readiness for orchestrators"),
{% if example %}        (name = "tenants", description = "Owners of the example items"),
        (name = "items", description = "The example resource: copy its pattern, then delete it"),
{% endif %}    ),
    components(schemas(Problem, FieldError))
)]
struct ApiDoc;

/// Every documented route, with its part of the OpenAPI document.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    let mut document = ApiDoc::openapi();
    // utoipa copies `license` from Cargo.toml; the service declares none, so say nothing
    // rather than publish an empty license name.
    document.info.license = None;
    OpenApiRouter::with_openapi(document)
        .routes(routes!(health::live))
        .routes(routes!(health::ready))
{% if example %}        .nest("/api/v1", tenants::routes().merge(items::routes()))
{% endif %}}

/// The OpenAPI document as the service serves it.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}
