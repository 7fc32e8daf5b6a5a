//! What bearer authentication adds to the OpenAPI document (`openapi.rs` applies it to every
//! `/api/v1` operation): the scheme, the requirement, and the answers the access guard can give
//! whatever the handler. It must not decide anything: the guard in `mod.rs` does.

use utoipa::openapi::schema::Type;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Components, SecurityRequirement};

/// A refusal in the document: status, description, headers (name, type, description).
pub(crate) type Refusal = (
    &'static str,
    &'static str,
    &'static [(&'static str, Type, &'static str)],
);

/// The guard's own refusals: no valid token (401, with its challenge), or a role that does not
/// grant the operation (403).
pub(crate) const REFUSALS: &[Refusal] = &[
    (
        "401",
        "No valid bearer token",
        &[(
            "WWW-Authenticate",
            Type::String,
            "`Bearer` with the error, per RFC 6750",
        )],
    ),
    ("403", "The token's roles do not grant this operation", &[]),
];

/// Why else a request may be answered 503: the keys that verify tokens cannot be fetched.
pub(crate) const ALSO_UNAVAILABLE: Option<&str> =
    Some("the identity provider's keys cannot be fetched");

/// Declares the bearer-JWT scheme; returns the requirement every `/api/v1` operation carries.
pub(crate) fn declare_scheme(components: &mut Components) -> Option<SecurityRequirement> {
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            Http::builder()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "A JWT from the identity provider (`token` mints one in development).",
                ))
                .build(),
        ),
    );
    Some(SecurityRequirement::new("bearer", Vec::<String>::new()))
}
