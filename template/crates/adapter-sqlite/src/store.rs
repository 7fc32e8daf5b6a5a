//! Opens the database file: one writer connection and a few readers. SQLite lets one writer
//! at a time change a file; queueing writes in the pool (instead of letting connections race
//! for the lock and fail with "database is locked") keeps every write a plain wait. WAL mode
//! lets readers run while the writer writes.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// The `[sqlite]` section: where the embedded database lives when no `database.url` is set.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SqliteSettings {
    /// The database file, relative to the working directory; created with its folder.
    pub path: String,
    /// Connections for reads (writes always use the one writer connection).
    pub max_readers: u32,
    /// How long a statement waits for a lock held by another process before failing.
    pub busy_timeout_ms: u64,
    /// How long a request waits for a free connection.
    pub acquire_timeout_ms: u64,
}

impl SqliteSettings {
    /// Checks the settings as loaded.
    ///
    /// # Errors
    /// A message when the path is empty or a count or timeout is 0.
    pub fn validate(&self) -> Result<(), String> {
        if self.path.is_empty()
            || self.max_readers == 0
            || self.busy_timeout_ms == 0
            || self.acquire_timeout_ms == 0
        {
            return Err(
                "sqlite: path must be set, max_readers and the timeouts at least 1".to_owned(),
            );
        }
        Ok(())
    }
}

/// The open database: a writer pool of one connection and a pool of readers.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    path: String,
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating when missing) the file and its folder.
    ///
    /// # Errors
    /// When the folder cannot be created or the file cannot be opened as a database.
    pub async fn open(settings: &SqliteSettings) -> Result<Self, sqlx::Error> {
        let path = Path::new(&settings.path);
        if let Some(folder) = path
            .parent()
            .filter(|folder| !folder.as_os_str().is_empty())
        {
            tokio::fs::create_dir_all(folder).await?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL loses no committed data on an application crash, only possibly
            // the last transactions on a power loss: the right trade for a development file.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_millis(settings.busy_timeout_ms));
        let acquire_timeout = Duration::from_millis(settings.acquire_timeout_ms);
        // The writer first: it creates the file and switches it to WAL before readers open it.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(acquire_timeout)
            .connect_with(options.clone())
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(settings.max_readers.max(1))
            .acquire_timeout(acquire_timeout)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self {
            path: settings.path.clone(),
            writer,
            reader,
        })
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The pool of the one writer connection: every change goes through it.
    #[must_use]
    pub fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// The pool of read-only connections.
    #[must_use]
    pub fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    /// Closes both pools, waiting for checked-out connections to come back.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}
