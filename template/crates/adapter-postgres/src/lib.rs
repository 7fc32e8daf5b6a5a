//! The PostgreSQL adapter ring: connection pool, schema migrations, the readiness probe and the
//! repositories that implement the domain's ports.
//!
//! It translates in both directions: domain types to SQL parameters and rows back to domain
//! types, and sqlx errors to domain errors. No HTTP type and no business rule lives here.

pub mod errors;
{% if example %}mod items;
{% endif %}mod migrations;
{% if messaging != "none" %}pub mod outbox;
{% endif %}mod pool;
mod probe;
{% if example %}mod tenants;
{% endif %}
{% if example %}pub use items::PostgresItemRepository;
{% endif %}pub use migrations::{AppliedMigration, MigrationStatus, Migrations};
pub use pool::{MeteredPool, PostgresPools, PostgresSettings};
pub use probe::PostgresProbe;
{% if example %}pub use tenants::PostgresTenantRepository;
{% endif %}