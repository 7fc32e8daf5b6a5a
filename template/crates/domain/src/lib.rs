//! The domain ring: what this service *is*, independent of how it is reached or where it stores
//! things.
//!
//! It holds the models (types that cannot be invalid), one error enum per operation, the ports
//! (traits the outside world implements: repositories, caches, probes) and the use cases that
//! drive them. It must not import axum, sqlx, redis or OpenTelemetry; Cargo enforces that,
//! because none of them is a dependency of this crate.
#![warn(missing_docs)]

pub mod audit;
pub mod auth;
pub mod cache;
{% if example %}#[cfg(feature = "contract")]
pub mod contract;
{% endif %}pub mod detach;
pub mod flags;
pub mod health;
pub mod id;
pub mod idempotency;
{% if example %}pub mod items;
{% endif -%}
{% if messaging != "none" %}pub mod messaging;
{% endif %}pub mod paging;
pub mod single_flight;
{% if example %}pub mod tenants;
{% endif %}