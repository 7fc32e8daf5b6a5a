//! `SqliteItemRepository` and `SqliteTenantRepository` on a fresh database file per test:
//! first the storage contract every storage adapter passes, then what is SQLite's own.

use std::sync::Arc;

use adapter_sqlite::{SqliteItemRepository, SqliteMigrations, SqliteStore, SqliteTenantRepository};
use domain::contract::Storage;
use domain::items::{ItemDescription, ItemName, NewItem};
use domain::tenants::{NewTenant, TenantName};
use field_cipher::FieldCipher;

const KEY: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

async fn migrated_store() -> SqliteStore {
    let store = crate::support::fresh_store().await;
    SqliteMigrations::up(&store).await.unwrap();
    store
}

fn storage(store: &SqliteStore) -> Storage {
    Storage {
        tenants: Arc::new(SqliteTenantRepository::new(store)),
        items: Arc::new(SqliteItemRepository::new(
            store,
            FieldCipher::from_config(KEY).unwrap(),
        )),
    }
}

/// The storage contract (`domain::contract`), each case a test with a fresh file.
macro_rules! on_sqlite {
    ($($case:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $case() {
            let store = migrated_store().await;
            domain::contract::$case(&storage(&store)).await;
            store.close().await;
        }
    )*};
}

domain::storage_contract!(on_sqlite);

#[tokio::test]
async fn the_file_holds_no_plaintext_description() {
    let store = migrated_store().await;
    let storage = storage(&store);
    let tenant = storage
        .tenants
        .create(&NewTenant::new(TenantName::parse("acme").unwrap()))
        .await
        .unwrap();
    let secret = "the combination is 12-34-56";
    storage
        .items
        .create(
            &NewItem::new(
                tenant.id,
                ItemName::parse("safe").unwrap(),
                Some(ItemDescription::parse(secret).unwrap()),
            ),
            None,
        )
        .await
        .unwrap();
    let dump: Vec<String> = sqlx::query_scalar(
        "SELECT name || ' ' || status || ' ' || hex(description_ciphertext) || ' ' || \
         description_key_id FROM items",
    )
    .fetch_all(store.reader())
    .await
    .unwrap();
    let hex_secret: String = secret.bytes().map(|byte| format!("{byte:02X}")).collect();
    assert_eq!(dump.len(), 1);
    assert!(!dump[0].contains(&hex_secret[..20]), "{}", dump[0]);
    assert!(
        dump[0].ends_with(" k1"),
        "the key id is stored: {}",
        dump[0]
    );
    // The bytes on disk (file and write-ahead log) do not hold it either.
    store.close().await;
    let path = std::path::Path::new(store.path());
    for file in [path.to_owned(), path.with_extension("db-wal")] {
        if let Ok(bytes) = std::fs::read(&file) {
            assert!(
                !bytes.windows(11).any(|window| window == b"combination"),
                "{} holds the plaintext",
                file.display()
            );
        }
    }
}

#[tokio::test]
async fn strict_tables_refuse_what_the_domain_refuses() {
    let store = migrated_store().await;
    let tenant = storage(&store)
        .tenants
        .create(&NewTenant::new(TenantName::parse("acme").unwrap()))
        .await
        .unwrap();
    let insert = |name: String, status: &'static str, version: &'static str| {
        let sql = format!(
            "INSERT INTO items (id, tenant_id, name, status, version, created_at, updated_at) \
             VALUES (randomblob(16), ?1, ?2, ?3, {version}, 0, 0)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.id.as_uuid())
            .bind(name)
            .bind(status)
            .execute(store.writer())
    };
    assert!(insert("ok".to_owned(), "active", "1").await.is_ok());
    for (name, status, version) in [
        ("x".repeat(101), "active", "1"),
        ("fine".to_owned(), "deleted", "1"),
        ("typed".to_owned(), "active", "'one'"),
        ("zero".to_owned(), "active", "0"),
    ] {
        assert!(
            insert(name.clone(), status, version).await.is_err(),
            "accepted {name:?} {status} {version}"
        );
    }
}
