//! The HTTP adapter ring: where a request enters the service.
//!
//! A request goes through the middleware stack (`router.rs`), is parsed by a wrapped extractor
//! (`extract.rs`) into domain types, runs one use case, and comes back as JSON or as an RFC 9457
//! problem (`problem.rs`). This crate must not import sqlx or redis: it only knows the domain's
//! use cases and ports.

mod access;
pub mod auth;
pub mod conditional;
pub mod cursor;
pub mod extract;
{% if graphql %}pub mod graphql;
{% endif %}mod health;
{% if example %}mod items;
{% endif %}mod me;
mod openapi;
mod problem;
pub mod rate_limit;
mod request_id;
mod resources;
mod router;
pub mod security;
mod state;
{% if example %}mod tenants;
{% endif %}
pub use access::AccessGuard;
pub use openapi::openapi_document;
pub use problem::{ApiError, FieldError, Problem};
pub use router::router;
pub use state::{AppState, HttpSettings, MetricsEndpoint};
