//! The SQLite schema, embedded in the binary (`crates/adapter-sqlite/migrations/`, the twins of
//! the PostgreSQL migrations). `migrate up|down|status` and the readiness probe read the same
//! list, as they do for PostgreSQL.

use sqlx::migrate::{MigrateError, Migrator};

use crate::SqliteStore;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// One embedded migration and whether the file has applied it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteMigration {
    /// The version prefix of the file name.
    pub version: i64,
    /// The rest of the file name.
    pub description: String,
    /// Whether the database has applied it.
    pub applied: bool,
}

/// Runs and inspects the embedded migrations.
#[derive(Debug, Clone, Copy)]
pub struct SqliteMigrations;

impl SqliteMigrations {
    /// Applies every pending migration.
    ///
    /// # Errors
    /// When a migration fails (it is rolled back) or an applied one was edited afterwards.
    pub async fn up(store: &SqliteStore) -> Result<(), MigrateError> {
        MIGRATOR.run(store.writer()).await
    }

    /// Reverts the most recent `steps` applied migrations, newest first; returns their versions.
    ///
    /// # Errors
    /// When a down migration fails or the applied history cannot be read.
    pub async fn down(store: &SqliteStore, steps: usize) -> Result<Vec<i64>, MigrateError> {
        let applied: Vec<i64> = Self::status(store)
            .await?
            .into_iter()
            .filter(|migration| migration.applied)
            .map(|migration| migration.version)
            .collect();
        let keep = applied.len().saturating_sub(steps);
        let target = if keep == 0 { 0 } else { applied[keep - 1] };
        MIGRATOR.undo(store.writer(), target).await?;
        Ok(applied[keep..].iter().rev().copied().collect())
    }

    /// Every embedded migration, in order, with whether the file has applied it.
    ///
    /// # Errors
    /// When the database cannot be queried.
    pub async fn status(store: &SqliteStore) -> Result<Vec<SqliteMigration>, MigrateError> {
        // Before the first migration the bookkeeping table does not exist: nothing is applied.
        let table: Option<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_optional(store.reader())
        .await?;
        let applied: Vec<i64> = if table.is_some() {
            sqlx::query_scalar(
                "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
            )
            .fetch_all(store.reader())
            .await?
        } else {
            Vec::new()
        };
        Ok(MIGRATOR
            .iter()
            .filter(|migration| migration.migration_type.is_up_migration())
            .map(|migration| SqliteMigration {
                version: migration.version,
                description: migration.description.to_string(),
                applied: applied.contains(&migration.version),
            })
            .collect())
    }
}
