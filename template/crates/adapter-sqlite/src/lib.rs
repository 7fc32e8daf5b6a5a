//! The SQLite adapter ring: the embedded default. A file under `data/` holds what PostgreSQL
//! holds in production, behind the same ports, so a new checkout answers requests with
//! nothing but Rust installed.
//!
//! It translates like `adapter-postgres` does (domain types to SQL parameters, rows back to
//! domain types, driver errors to domain errors) and passes the same storage contract. It must
//! not become a second production database: configuration refuses it with `APP_ENV=production`,
//! because one file cannot be shared by several replicas.

{% if example %}mod items;
mod micros;
{% endif %}mod migrations;
mod probe;
mod store;
{% if example %}mod tenants;
{% endif %}
{% if example %}pub use items::SqliteItemRepository;
{% endif %}pub use migrations::{SqliteMigration, SqliteMigrations};
pub use probe::SqliteProbe;
pub use store::{SqliteSettings, SqliteStore};
{% if example %}pub use tenants::SqliteTenantRepository;
{% endif %}