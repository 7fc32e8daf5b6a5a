//! The OpenAPI 3.1 document, generated from the handlers' annotations so it cannot drift from
//! the code. Served at `/api/v1/openapi.json`, browsable at `/docs` (assets bundled in the
//! binary: no CDN), and committed as `docs/openapi.json` (a test keeps the copy current).

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Ref, RefOr, Response, ResponseBuilder};

use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::problem::{FieldError, Problem};
use crate::state::AppState;
use crate::{health, me, resources};

#[derive(OpenApi)]
#[openapi(
    info(title = "{{project-name}}", description = "{{description}}"),
    tags(
        (name = "health", description = "Liveness and readiness for orchestrators"),
        (name = "auth", description = "The caller, as the service sees it"),
    ),
    components(schemas(Problem, FieldError))
)]
struct ApiDoc;

/// Every documented route, with its part of the OpenAPI document.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    let mut document = ApiDoc::openapi();
    // utoipa copies `license` from Cargo.toml; the service declares none, so say nothing
    // rather than publish an empty license name.
    document.info.license = None;
    document
        .tags
        .get_or_insert_with(Vec::new)
        .extend(resources::tags());
    OpenApiRouter::with_openapi(document)
        .routes(routes!(health::live))
        .routes(routes!(health::ready))
        .nest("/api/v1", me::routes().merge(resources::routes()))
}

/// A response header in the document: name, type, description.
type HeaderDoc<'a> = (&'a str, Type, &'a str);

/// Declares on every `/api/v1` operation the answers the middleware can give whatever the
/// handler, with their headers: the access guard's refusals and security scheme (from
/// `auth::openapi`, which knows how this service authenticates), 429 from the rate limits, 503
/// from load shedding and the request timeout. Added here, once, so no handler can forget.
struct GuardAnswers;

impl Modify for GuardAnswers {
    fn modify(&self, document: &mut utoipa::openapi::OpenApi) {
        let requirement = crate::auth::openapi::declare_scheme(
            document.components.get_or_insert_with(Default::default),
        );
        let unavailable = match crate::auth::openapi::ALSO_UNAVAILABLE {
            Some(reason) => format!(
                "Overloaded (load shedding: see Retry-After), the request timed out, or {reason}"
            ),
            None => {
                "Overloaded (load shedding: see Retry-After) or the request timed out".to_owned()
            }
        };
        let problem = |description: &str, headers: &[HeaderDoc]| -> RefOr<Response> {
            let mut response = ResponseBuilder::new().description(description).content(
                crate::problem::PROBLEM_JSON,
                utoipa::openapi::content::ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            );
            for (name, kind, about) in headers {
                response = response.header(
                    *name,
                    HeaderBuilder::new()
                        .schema(Some(ObjectBuilder::new().schema_type(kind.clone())))
                        .description(Some(*about))
                        .build(),
                );
            }
            RefOr::T(response.build())
        };
        let retry_after = || {
            (
                "Retry-After",
                Type::Integer,
                "Seconds to wait before retrying",
            )
        };
        for (path, item) in document.paths.paths.iter_mut() {
            if !path.starts_with("/api/v1/") {
                continue;
            }
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                if let Some(requirement) = &requirement {
                    operation.security = Some(vec![requirement.clone()]);
                }
                let responses = &mut operation.responses.responses;
                let limits: &[(&str, &str, &[HeaderDoc])] = &[
                    (
                        "429",
                        "Rate limit exceeded",
                        &[
                            retry_after(),
                            (
                                "RateLimit-Limit",
                                Type::Integer,
                                "Requests allowed per window",
                            ),
                            ("RateLimit-Remaining", Type::Integer, "Requests left"),
                            (
                                "RateLimit-Reset",
                                Type::Integer,
                                "Seconds until the budget refills",
                            ),
                        ],
                    ),
                    ("503", &unavailable, &[retry_after()]),
                ];
                let answers = crate::auth::openapi::REFUSALS.iter().chain(limits);
                for &(status, description, headers) in answers {
                    responses
                        .entry(status.to_owned())
                        .or_insert_with(|| problem(description, headers));
                }
            }
        }
    }
}

/// The routes, and the document describing them with the security requirements applied.
pub(crate) fn split() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut document) = routes().split_for_parts();
    GuardAnswers.modify(&mut document);
    (router, document)
}

/// The OpenAPI document as the service serves it.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    split().1
}
