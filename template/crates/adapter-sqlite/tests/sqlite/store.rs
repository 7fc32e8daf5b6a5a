//! The database file itself: created with its folder on first open, migrated up, down and up
//! again, and reported by the readiness probe until every migration is applied.

use adapter_sqlite::{SqliteMigrations, SqliteProbe, SqliteStore};
use domain::health::DependencyProbe;

/// Every table and index of the file, as SQLite records their definitions.
async fn schema(store: &SqliteStore) -> Vec<(String, Option<String>)> {
    sqlx::query_as(
        "SELECT name, sql FROM sqlite_master \
         WHERE name NOT LIKE 'sqlite_%' AND name != '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(store.reader())
    .await
    .unwrap()
}

#[tokio::test]
async fn the_file_and_its_folder_are_created_on_first_open() {
    let settings = crate::support::fresh_settings();
    let path = std::path::Path::new(&settings.path);
    assert!(!path.parent().unwrap().exists());
    let store = SqliteStore::open(&settings).await.unwrap();
    assert!(path.is_file(), "{} was not created", settings.path);
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.writer())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(store.writer())
        .await
        .unwrap();
    assert_eq!(foreign_keys, 1, "foreign keys are enforced");
    store.close().await;
}

#[tokio::test]
async fn readiness_waits_for_every_migration_and_they_go_down_and_up_again() {
    let store = crate::support::fresh_store().await;
    let probe = SqliteProbe::new(store.clone());
    let status = SqliteMigrations::status(&store).await.unwrap();
    assert!(status.iter().all(|migration| !migration.applied));
    if !status.is_empty() {
        let failure = probe.check().await.unwrap_err();
        assert!(
            failure.to_string().contains("migrations not applied"),
            "{failure}"
        );
    }

    SqliteMigrations::up(&store).await.unwrap();
    probe.check().await.unwrap();
    let migrated = schema(&store).await;
    let reverted = SqliteMigrations::down(&store, status.len()).await.unwrap();
    let mut versions: Vec<i64> = status.iter().map(|migration| migration.version).collect();
    versions.reverse();
    assert_eq!(reverted, versions, "newest first");
    assert!(
        schema(&store).await.is_empty(),
        "down removes everything up made"
    );
    SqliteMigrations::up(&store).await.unwrap();
    assert_eq!(
        schema(&store).await,
        migrated,
        "up again gives the same schema"
    );
    store.close().await;
}
