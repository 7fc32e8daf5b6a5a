//! The service end to end, one test binary (one link) for every area: the real application
//! on port 0 (or the real binary, for the command line), a database of each test's own, real
//! Redis and brokers, talked to over real sockets. `support` holds what every area shares.

// A failed unwrap in a test is a failed assertion, with the value in the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

{% if auth == "none" -%}
mod anonymous;
{% endif -%}
mod api;
{% if auth == "jwt" -%}
mod authentication;
{% endif -%}
{% if messaging == "rabbitmq" -%}
#[path = "messaging/rabbitmq.rs"]
mod broker;
{% endif -%}
{% if messaging == "nats" -%}
#[path = "messaging/nats.rs"]
mod broker;
{% endif -%}
{% if example and cache == "redis" -%}
mod cache;
{% endif -%}
mod cli;
{% if auth == "jwt" -%}
mod cli_tokens;
{% endif -%}
{% if database == "postgres+sqlite" -%}
mod embedded;
{% endif -%}
{% if graphql -%}
mod graphql;
{% endif -%}
{% if cache == "redis" -%}
mod health_redis;
{% endif -%}
{% if example -%}
mod items;
{% endif -%}
{% if example and auth == "none" -%}
mod items_anonymous;
mod items_drain;
{% endif -%}
{% if example and auth == "jwt" -%}
mod items_audit;
mod items_authentication;
{% endif -%}
{% if example and database == "postgres+sqlite" -%}
mod items_embedded;
{% endif -%}
{% if example -%}
mod items_flags;
{% endif -%}
{% if example and graphql -%}
mod items_graphql;
{% endif -%}
{% if example -%}
mod items_metrics;
mod items_seed;
mod items_traces;
{% endif -%}
{% if messaging != "none" -%}
mod messaging;
{% endif -%}
mod metrics;
mod security;
mod traces;
{% if example -%}
mod webhook;
{% endif -%}
