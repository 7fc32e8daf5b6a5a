//! The HTTP adapter over in-memory twins of every port, one test binary for all: the
//! router called with `oneshot` (no socket), the committed OpenAPI document and GraphQL schema.

// A failed unwrap in a test is a failed assertion, with the value in the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

{% if graphql -%}
mod graphql;
{% endif -%}
mod http;
{% if example -%}
mod items;
{% endif -%}
{% if example and graphql -%}
mod items_graphql;
{% endif -%}
mod openapi;
{% if auth == "jwt" -%}
mod openapi_bearer;
{% else -%}
mod openapi_anonymous;
{% endif -%}
{% if example -%}
mod openapi_rules;
{% endif -%}
