//! A fresh database file per test, under Cargo's scratch folder for integration tests.

use adapter_sqlite::{SqliteSettings, SqliteStore};

/// Settings for a new file in a new folder (the folder does not exist yet).
pub fn fresh_settings() -> SqliteSettings {
    let folder = format!(
        "{}/sqlite-{}",
        env!("CARGO_TARGET_TMPDIR"),
        uuid::Uuid::new_v4().simple()
    );
    SqliteSettings {
        path: format!("{folder}/data/service.db"),
        max_readers: 4,
        busy_timeout_ms: 5_000,
        acquire_timeout_ms: 5_000,
    }
}

/// An opened store over a fresh file, not migrated.
pub async fn fresh_store() -> SqliteStore {
    SqliteStore::open(&fresh_settings()).await.unwrap()
}
