//! `PostgresItemRepository` and `PostgresTenantRepository` against real PostgreSQL, a fresh
//! migrated database per test: first the storage contract every storage adapter passes, then
//! what only PostgreSQL has (a read replica, query plans, constraints, what sits on disk).

use std::sync::Arc;

use adapter_postgres::{PostgresItemRepository, PostgresPools, PostgresTenantRepository};
use domain::contract::Storage;
use domain::items::{
    GetItemError, ItemDescription, ItemId, ItemName, ItemRepository, ItemSort, ListItems, NewItem,
    PageSize,
};
use domain::tenants::{NewTenant, TenantId, TenantName, TenantRepository};
use field_cipher::FieldCipher;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

async fn tenant(pool: &PgPool, name: &str) -> TenantId {
    let tenants = PostgresTenantRepository::new(&PostgresPools::single(pool.clone()));
    tenants
        .create(&NewTenant::new(TenantName::parse(name).unwrap()))
        .await
        .unwrap()
        .id
}

const KEY_1: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_2: &str = "k2:HxweHRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE=";

fn cipher() -> FieldCipher {
    FieldCipher::from_config(KEY_1).unwrap()
}

fn repository(pool: &PgPool) -> PostgresItemRepository {
    PostgresItemRepository::new(&PostgresPools::single(pool.clone()), cipher())
}

fn new_item(tenant_id: TenantId, name: &str) -> NewItem {
    NewItem::new(
        tenant_id,
        ItemName::parse(name).unwrap(),
        Some(ItemDescription::parse("about it").unwrap()),
    )
}

/// Both repositories over one test database.
fn storage(pool: &PgPool) -> Storage {
    let pools = PostgresPools::single(pool.clone());
    Storage {
        tenants: Arc::new(PostgresTenantRepository::new(&pools)),
        items: Arc::new(PostgresItemRepository::new(&pools, cipher())),
    }
}

/// The storage contract (`domain::contract`), each case a test with a fresh database.
macro_rules! on_postgres {
    ($($case:ident),* $(,)?) => {$(
        #[sqlx::test(migrations = "../../migrations")]
        async fn $case(pool: PgPool) {
            domain::contract::$case(&storage(&pool)).await;
        }
    )*};
}

domain::storage_contract!(on_postgres);

#[sqlx::test(migrations = "../../migrations")]
async fn reads_go_to_the_replica_and_writes_to_the_primary(pool: PgPool) {
    // A "replica" that cannot be reached: if a list used the primary, it would succeed.
    let acme = tenant(&pool, "acme").await;
    let replica = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_millis(300))
        .connect_lazy("postgres://nobody@127.0.0.1:1/none")
        .unwrap();
    let pools = PostgresPools {
        primary: pool.clone(),
        replica: Some(replica),
    };
    let items = PostgresItemRepository::new(&pools, cipher());
    let created = items
        .create(&new_item(acme, "lamp"), None)
        .await
        .unwrap()
        .item;
    assert_eq!(
        items.get(acme, created.id).await.unwrap(),
        created,
        "single reads stay on the primary"
    );
    let page = ListItems {
        tenant_id: acme,
        limit: PageSize::DEFAULT,
        sort: ItemSort::NameAscending,
        status: None,
        after: None,
    };
    assert!(items.list(&page).await.is_err(), "lists go to the replica");
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_row_that_breaks_domain_rules_is_an_error_not_a_panic(pool: PgPool) {
    let acme = tenant(&pool, "acme").await;
    let id = ItemId::generate();
    // Written behind the service's back: passes the CHECK, fails the domain's trim rule.
    sqlx::query("INSERT INTO items (id, tenant_id, name) VALUES ($1, $2, '   ')")
        .bind(id.as_uuid())
        .bind(acme.as_uuid())
        .execute(&pool)
        .await
        .unwrap();
    let error = repository(&pool).get(acme, id).await.unwrap_err();
    assert!(matches!(error, GetItemError::Unexpected(_)), "{error:?}");
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_database_refuses_what_the_domain_refuses(pool: PgPool) {
    let acme = tenant(&pool, "acme").await;
    for (name, status) in [("x".repeat(101), "active"), ("ok".to_owned(), "deleted")] {
        let result = sqlx::query("INSERT INTO items (id, tenant_id, name, status) VALUES (gen_random_uuid(), $1, $2, $3)")
            .bind(acme.as_uuid())
            .bind(name)
            .bind(status)
            .execute(&pool)
            .await;
        assert!(
            result.is_err(),
            "CHECK constraints hold for writers that bypass the domain"
        );
    }
}

/// The node types of a plan from `EXPLAIN (FORMAT JSON)`, the whole tree.
fn node_types(plan: &serde_json::Value, into: &mut Vec<String>) {
    if let Some(kind) = plan.get("Node Type").and_then(serde_json::Value::as_str) {
        into.push(kind.to_owned());
    }
    for child in plan
        .get("Plans")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
    {
        node_types(child, into);
    }
}

fn assert_uses_an_index(name: &str, rows: &[PgRow]) {
    // EXPLAIN answers `json`; its text form is the document itself.
    let text: String = rows[0].try_get_unchecked(0).unwrap();
    let document: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut nodes = Vec::new();
    node_types(&document[0]["Plan"], &mut nodes);
    assert!(
        !nodes.iter().any(|node| node == "Seq Scan"),
        "{name} scans the table: {nodes:?}\n{text}"
    );
    assert!(
        nodes.iter().any(|node| node.contains("Index")),
        "{name} uses no index: {nodes:?}\n{text}"
    );
}

/// `EXPLAIN (FORMAT JSON)` of one of the adapter's own query files: the very text it runs.
fn explain(sql: &str) -> sqlx::query::Query<'static, sqlx::Postgres, sqlx::postgres::PgArguments> {
    sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN (FORMAT JSON) {sql}")))
}

#[sqlx::test(migrations = "../../migrations")]
async fn every_list_query_uses_an_index_not_a_sequential_scan(pool: PgPool) {
    let acme = tenant(&pool, "acme").await;
    for other in ["globex", "initech", "umbrella"] {
        let id = tenant(&pool, other).await;
        seed(&pool, id, 2_000).await;
    }
    seed(&pool, acme, 2_000).await;
    sqlx::query("ANALYZE items").execute(&pool).await.unwrap();
    let (tenant, limit) = (acme.as_uuid(), 21_i64);
    let middle = time::OffsetDateTime::now_utc() - time::Duration::minutes(1_000);
    let no_status = None::<String>;

    let first_page = explain(include_str!(
        "../../queries/list_items_created_ascending.sql"
    ))
    .bind(tenant)
    .bind(&no_status)
    .bind(None::<time::OffsetDateTime>)
    .bind(None::<uuid::Uuid>)
    .bind(limit);
    assert_uses_an_index(
        "created ascending",
        &first_page.fetch_all(&pool).await.unwrap(),
    );
    let later_page = explain(include_str!(
        "../../queries/list_items_created_descending.sql"
    ))
    .bind(tenant)
    .bind(Some("active"))
    .bind(Some(middle))
    .bind(Some(uuid::Uuid::max()))
    .bind(limit);
    assert_uses_an_index(
        "created descending",
        &later_page.fetch_all(&pool).await.unwrap(),
    );
    let by_name = explain(include_str!("../../queries/list_items_name_ascending.sql"))
        .bind(tenant)
        .bind(&no_status)
        .bind(Some("item 0500"))
        .bind(limit);
    assert_uses_an_index("name ascending", &by_name.fetch_all(&pool).await.unwrap());
    let by_name_down = explain(include_str!("../../queries/list_items_name_descending.sql"))
        .bind(tenant)
        .bind(&no_status)
        .bind("item 0500")
        .bind(limit);
    assert_uses_an_index(
        "name descending",
        &by_name_down.fetch_all(&pool).await.unwrap(),
    );
    let first_by_name_down = explain(include_str!(
        "../../queries/list_items_name_descending_first.sql"
    ))
    .bind(tenant)
    .bind(&no_status)
    .bind(limit);
    assert_uses_an_index(
        "name descending, first page",
        &first_by_name_down.fetch_all(&pool).await.unwrap(),
    );
}

async fn seed(pool: &PgPool, tenant_id: TenantId, rows: i32) {
    sqlx::query(
        "INSERT INTO items (id, tenant_id, name, created_at) \
         SELECT gen_random_uuid(), $1, 'item ' || lpad(n::text, 4, '0'), now() - n * interval '1 minute' \
         FROM generate_series(1, $2) AS n",
    )
    .bind(tenant_id.as_uuid())
    .bind(rows)
    .execute(pool)
    .await
    .unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_database_holds_no_plaintext_description_and_rotated_keys_still_read(pool: PgPool) {
    let acme = tenant(&pool, "acme").await;
    let secret = "the combination is 12-34-56";
    let before_rotation = repository(&pool);
    let old = before_rotation
        .create(
            &NewItem::new(
                acme,
                ItemName::parse("safe").unwrap(),
                Some(ItemDescription::parse(secret).unwrap()),
            ),
            None,
        )
        .await
        .unwrap()
        .item;
    // Every column of every row, as text, the way a dump or a stolen backup would show it.
    let dump: Vec<String> = sqlx::query_scalar("SELECT items::text FROM items")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(dump.len(), 1);
    assert!(!dump[0].contains("combination"), "{}", dump[0]);
    let hex_secret: String = secret.bytes().map(|byte| format!("{byte:02x}")).collect();
    assert!(
        !dump[0].contains(&hex_secret),
        "not even as bytea hex: {}",
        dump[0]
    );
    let key_id: String = sqlx::query_scalar("SELECT description_key_id FROM items")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(key_id, "k1");

    // Rotation: k2 seals new values, k1 still opens the old row.
    let rotated = PostgresItemRepository::new(
        &PostgresPools::single(pool.clone()),
        FieldCipher::from_config(&format!("{KEY_2},{KEY_1}")).unwrap(),
    );
    assert_eq!(rotated.get(acme, old.id).await.unwrap(), old);
    let newer = rotated
        .create(&new_item(acme, "lamp"), None)
        .await
        .unwrap()
        .item;
    let key_id: String = sqlx::query_scalar("SELECT description_key_id FROM items WHERE id = $1")
        .bind(newer.id.as_uuid())
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(key_id, "k2");

    // A ciphertext moved to another row does not decrypt there: the read fails loudly
    // instead of showing one item's description on another.
    sqlx::query(
        "UPDATE items SET description_ciphertext = \
         (SELECT description_ciphertext FROM items WHERE id = $1), description_key_id = 'k1' \
         WHERE id = $2",
    )
    .bind(old.id.as_uuid())
    .bind(newer.id.as_uuid())
    .execute(&pool)
    .await
    .unwrap();
    assert!(rotated.get(acme, newer.id).await.is_err());
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_create_dropped_inside_its_transaction_leaves_neither_item_nor_key_behind(pool: PgPool) {
    let tenant_id = tenant(&pool, "acme").await;
    let repository = repository(&pool);
    let item = new_item(tenant_id, "lamp");
    let idempotency = domain::items::Idempotency {
        key: domain::items::IdempotencyKey::parse("first-lamp").unwrap(),
        fingerprint: "the body".to_owned(),
    };
    // Another transaction locks the items table, so the create claims its idempotency key and
    // then waits at its INSERT; there it is dropped, as a cancelled request's would be.
    let mut blocker = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE items IN EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let dropped = tokio::time::timeout(
        std::time::Duration::from_millis(500),
        repository.create(&item, Some(&idempotency)),
    )
    .await;
    assert!(
        dropped.is_err(),
        "the create was still waiting when dropped"
    );
    blocker.commit().await.unwrap();

    let count = |table: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
                "SELECT count(*) FROM {table}"
            )))
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(count("items").await, 0, "no half-written item");
    assert_eq!(
        count("item_idempotency_keys").await,
        0,
        "the key's claim was rolled back with it"
    );
    let again = repository.create(&item, Some(&idempotency)).await.unwrap();
    assert!(
        !again.replayed,
        "the retry creates: nothing was left to replay"
    );
}
