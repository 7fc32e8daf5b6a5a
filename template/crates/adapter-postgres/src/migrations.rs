//! The schema, embedded in the binary: `migrate up|down|status` and the readiness probe all read
//! the same list, so the running code and the schema it expects cannot drift apart.
//!
//! Migrations are reversible (`<version>_<name>.up.sql` / `.down.sql`); a test runs them up,
//! down and up again and compares the schema.

use sqlx::PgPool;
use sqlx::migrate::{MigrateDatabase, MigrateError, Migrator};
use sqlx::postgres::Postgres;

static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

/// One migration as the database records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    /// The version prefix of the file name.
    pub version: i64,
    /// The rest of the file name.
    pub description: String,
    /// Whether the database has applied it.
    pub applied: bool,
}

/// Every known migration, in order, with whether it is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus(pub Vec<AppliedMigration>);

impl MigrationStatus {
    /// Migrations the binary knows but the database has not applied.
    pub fn pending(&self) -> impl Iterator<Item = &AppliedMigration> {
        self.0.iter().filter(|migration| !migration.applied)
    }
}

/// Runs and inspects the embedded migrations.
#[derive(Debug, Clone, Copy)]
pub struct Migrations;

impl Migrations {
    /// Creates the database named in `url` when it does not exist yet.
    ///
    /// # Errors
    /// When the server cannot be reached or refuses to create the database.
    pub async fn create_database_if_missing(url: &str) -> Result<bool, sqlx::Error> {
        if Postgres::database_exists(url).await? {
            return Ok(false);
        }
        Postgres::create_database(url).await?;
        Ok(true)
    }

    /// Applies every pending migration, each in its own transaction.
    ///
    /// # Errors
    /// When a migration fails (it is rolled back) or an applied one was edited afterwards.
    pub async fn up(pool: &PgPool) -> Result<(), MigrateError> {
        MIGRATOR.run(pool).await
    }

    /// Reverts the most recent `steps` applied migrations, newest first.
    ///
    /// # Errors
    /// When a down migration fails or the applied history cannot be read.
    pub async fn down(pool: &PgPool, steps: usize) -> Result<Vec<i64>, MigrateError> {
        let applied: Vec<i64> = Self::status(pool)
            .await?
            .0
            .into_iter()
            .filter(|migration| migration.applied)
            .map(|migration| migration.version)
            .collect();
        let keep = applied.len().saturating_sub(steps);
        let target = if keep == 0 { 0 } else { applied[keep - 1] };
        MIGRATOR.undo(pool, target).await?;
        Ok(applied[keep..].iter().rev().copied().collect())
    }

    /// Lists every embedded migration with whether the database has applied it.
    ///
    /// # Errors
    /// When the database cannot be queried.
    pub async fn status(pool: &PgPool) -> Result<MigrationStatus, MigrateError> {
        let applied = applied_versions(pool).await?;
        let migrations = MIGRATOR
            .iter()
            .filter(|migration| migration.migration_type.is_up_migration())
            .map(|migration| AppliedMigration {
                version: migration.version,
                description: migration.description.to_string(),
                applied: applied.contains(&migration.version),
            })
            .collect();
        Ok(MigrationStatus(migrations))
    }
}

async fn applied_versions(pool: &PgPool) -> Result<Vec<i64>, sqlx::Error> {
    // Before the first migration the bookkeeping table does not exist: nothing is applied.
    let table: Option<String> = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
        .fetch_one(pool)
        .await?;
    if table.is_none() {
        return Ok(Vec::new());
    }
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(pool)
        .await
}
