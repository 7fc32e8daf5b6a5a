//! Which database the service runs on, chosen once from configuration: PostgreSQL when
//! `database.url` is set, otherwise (where the service was generated with the embedded default)
//! the SQLite file at `sqlite.path`, so a new checkout has nothing to install. Both implement the
//! same ports and pass the same storage contract, so nothing past this module knows which one
//! it got.
//!
//! This is the one place that matches on the choice; it must not grow business logic.

use std::sync::Arc;

use adapter_postgres::{Migrations, PostgresPools, PostgresProbe};
{% if example %}use adapter_postgres::{PostgresItemRepository, PostgresTenantRepository};
{% endif -%}
{% if database == "postgres+sqlite" -%}
{% if example %}use adapter_sqlite::{SqliteItemRepository, SqliteTenantRepository};
{% endif %}use adapter_sqlite::{SqliteMigrations, SqliteProbe, SqliteStore};
{% endif %}use anyhow::Context;
use domain::health::DependencyProbe;
{% if example %}use domain::items::ItemRepository;
use domain::tenants::TenantRepository;
use field_cipher::FieldCipher;
{% endif %}
use crate::config::Settings;
use crate::identity::SERVICE_NAME;

/// The open database.
#[derive(Debug, Clone)]
pub enum Storage {
    /// PostgreSQL: the primary and, when configured, a read replica.
    Postgres(PostgresPools),
{% if database == "postgres+sqlite" %}    /// The embedded SQLite file (development only; production refuses it).
    Sqlite(SqliteStore),
{% endif %}}

impl From<PostgresPools> for Storage {
    fn from(pools: PostgresPools) -> Self {
        Self::Postgres(pools)
    }
}
{% if database == "postgres+sqlite" %}
impl From<SqliteStore> for Storage {
    fn from(store: SqliteStore) -> Self {
        Self::Sqlite(store)
    }
}
{% endif %}
/// One migration, whichever database it is for: (version, description, applied).
pub type MigrationState = (i64, String, bool);

impl Storage {
    /// Opens the configured database. PostgreSQL pools connect lazily (the service can start,
    /// not ready, while the server comes up); a SQLite file is created when missing. With
    /// `create_missing` and `database.create_database`, a missing PostgreSQL database is
    /// created first; without `create_missing`, a missing SQLite file is an error.
    ///
    /// # Errors
    /// When a URL is malformed, or the database cannot be created or opened.
    pub async fn open(settings: &Settings, create_missing: bool) -> anyhow::Result<Self> {
        let database = &settings.database;
{% if database == "postgres+sqlite" %}        if database.url.is_empty() {
            if !create_missing && !std::path::Path::new(&settings.sqlite.path).exists() {
                anyhow::bail!(
                    "no SQLite database at {} yet: `migrate up` or `serve` creates it",
                    settings.sqlite.path
                );
            }
            let store = SqliteStore::open(&settings.sqlite)
                .await
                .with_context(|| format!("opening the SQLite database {}", settings.sqlite.path))?;
            tracing::info!(path = %settings.sqlite.path, "no database.url: using the embedded SQLite database");
            return Ok(Self::Sqlite(store));
        }
{% endif %}        if create_missing
            && database.create_database
            && Migrations::create_database_if_missing(database.url.expose())
                .await
                .context("creating the database (is PostgreSQL running? `docker compose up -d postgres`)")?
        {
            tracing::info!("created the database");
        }
        let pools = PostgresPools::connect_lazy(database, SERVICE_NAME)
            .context("database.url is not a valid PostgreSQL URL")?;
        Ok(Self::Postgres(pools))
    }

    /// Applies every pending migration.
    ///
    /// # Errors
    /// When a migration fails or the database cannot be reached.
    pub async fn migrate_up(&self) -> anyhow::Result<()> {
        match self {
            Self::Postgres(pools) => Migrations::up(&pools.primary).await.context(
                "applying migrations (is PostgreSQL running? `docker compose up -d postgres`)",
            ),
{% if database == "postgres+sqlite" %}            Self::Sqlite(store) => SqliteMigrations::up(store)
                .await
                .context("applying the SQLite migrations"),
{% endif %}        }
    }

    /// Reverts the newest `steps` applied migrations; returns their versions, newest first.
    ///
    /// # Errors
    /// When a down migration fails or the database cannot be reached.
    pub async fn migrate_down(&self, steps: usize) -> anyhow::Result<Vec<i64>> {
        Ok(match self {
            Self::Postgres(pools) => Migrations::down(&pools.primary, steps).await?,
{% if database == "postgres+sqlite" %}            Self::Sqlite(store) => SqliteMigrations::down(store, steps).await?,
{% endif %}        })
    }

    /// Every migration the binary knows, in order, with whether the database applied it.
    ///
    /// # Errors
    /// When the database cannot be reached.
    pub async fn migration_status(&self) -> anyhow::Result<Vec<MigrationState>> {
        Ok(match self {
            Self::Postgres(pools) => Migrations::status(&pools.primary)
                .await?
                .0
                .into_iter()
                .map(|m| (m.version, m.description, m.applied))
                .collect(),
{% if database == "postgres+sqlite" %}            Self::Sqlite(store) => SqliteMigrations::status(store)
                .await?
                .into_iter()
                .map(|m| (m.version, m.description, m.applied))
                .collect(),
{% endif %}        })
    }

    /// The readiness probe of this database (critical: no database, no traffic).
    #[must_use]
    pub fn probe(&self) -> Arc<dyn DependencyProbe> {
        match self {
            Self::Postgres(pools) => Arc::new(PostgresProbe::new(pools.primary.clone())),
{% if database == "postgres+sqlite" %}            Self::Sqlite(store) => Arc::new(SqliteProbe::new(store.clone())),
{% endif %}        }
    }

    /// Sets the connection-pool gauges for `/metrics` (PostgreSQL; the SQLite file has none
    /// worth watching).
    pub fn record_metrics(&self) {
        match self {
            Self::Postgres(pools) => pools.record_metrics(),
{% if database == "postgres+sqlite" %}            Self::Sqlite(_) => {}
{% endif %}        }
    }
{% if example %}
    /// The tenant repository over this database.
    #[must_use]
    pub fn tenants(&self) -> Arc<dyn TenantRepository> {
        match self {
            Self::Postgres(pools) => Arc::new(PostgresTenantRepository::new(pools)),
{% if database == "postgres+sqlite" %}            Self::Sqlite(store) => Arc::new(SqliteTenantRepository::new(store)),
{% endif %}        }
    }

    /// The item repository over this database, sealing descriptions with `cipher`.
    #[must_use]
    pub fn items(&self, cipher: FieldCipher) -> Arc<dyn ItemRepository> {
        match self {
            Self::Postgres(pools) => Arc::new(PostgresItemRepository::new(pools, cipher)),
{% if database == "postgres+sqlite" %}            Self::Sqlite(store) => Arc::new(SqliteItemRepository::new(store, cipher)),
{% endif %}        }
    }
{% endif %}
    /// Closes the pools, waiting for checked-out connections to come back.
    pub async fn close(&self) {
        match self {
            Self::Postgres(pools) => pools.close().await,
{% if database == "postgres+sqlite" %}            Self::Sqlite(store) => store.close().await,
{% endif %}        }
    }
}
