//! `PostgresItemRepository` and `PostgresTenantRepository` against real PostgreSQL, a fresh
//! migrated database per test.

// A failed unwrap in a test is a failed assertion, with the value in the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use adapter_postgres::{
    FieldCipher, PostgresItemRepository, PostgresPools, PostgresTenantRepository,
};
use domain::items::{
    CreateItemError, DeleteItemError, GetItemError, Idempotency, IdempotencyKey, ItemChanges,
    ItemCursor, ItemDescription, ItemId, ItemName, ItemRepository, ItemSort, ItemStatus, ListItems,
    NewItem, PageSize, UpdateItem, UpdateItemError,
};
use domain::tenants::{NewTenant, TenantId, TenantName, TenantRepository};
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

async fn count(pool: &PgPool, table: &str) -> i64 {
    let sql = format!("SELECT count(*) FROM {table}");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_created_item_reads_back_identical_for_its_tenant_only(pool: PgPool) {
    let (acme, globex) = (tenant(&pool, "acme").await, tenant(&pool, "globex").await);
    let items = repository(&pool);
    let created = items
        .create(&new_item(acme, "lamp"), None)
        .await
        .unwrap()
        .item;
    assert_eq!((created.version, created.status), (1, ItemStatus::Active));
    assert_eq!(items.get(acme, created.id).await.unwrap(), created);
    assert!(matches!(
        items.get(globex, created.id).await,
        Err(GetItemError::NotFound(_))
    ));
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_duplicate_name_is_a_conflict_in_its_tenant_only(pool: PgPool) {
    let (acme, globex) = (tenant(&pool, "acme").await, tenant(&pool, "globex").await);
    let items = repository(&pool);
    items.create(&new_item(acme, "lamp"), None).await.unwrap();
    let error = items
        .create(&new_item(acme, "lamp"), None)
        .await
        .unwrap_err();
    assert!(matches!(error, CreateItemError::Duplicate(name) if name.as_str() == "lamp"));
    items.create(&new_item(globex, "lamp"), None).await.unwrap();
    assert_eq!(count(&pool, "items").await, 2);
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_unknown_tenant_is_reported_not_raised(pool: PgPool) {
    let ghost = TenantId::generate();
    let error = repository(&pool)
        .create(&new_item(ghost, "lamp"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, CreateItemError::TenantNotFound(id) if id == ghost),
        "{error:?}"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_idempotent_create_writes_once_and_a_failed_one_leaves_nothing(pool: PgPool) {
    let acme = tenant(&pool, "acme").await;
    let items = repository(&pool);
    let key = |fingerprint: &str| Idempotency {
        key: IdempotencyKey::parse("retry-1").unwrap(),
        fingerprint: fingerprint.to_owned(),
    };
    let first = items
        .create(&new_item(acme, "lamp"), Some(&key("a")))
        .await
        .unwrap();
    let again = items
        .create(&new_item(acme, "lamp"), Some(&key("a")))
        .await
        .unwrap();
    assert!(!first.replayed && again.replayed);
    assert_eq!(first.item, again.item);
    assert_eq!(count(&pool, "items").await, 1);
    let reused = items
        .create(&new_item(acme, "desk"), Some(&key("b")))
        .await
        .unwrap_err();
    assert!(matches!(reused, CreateItemError::IdempotencyKeyReused(_)));

    // Two rows per create (key, item) in one transaction: when the item is refused, the key
    // claimed just before it is rolled back with it.
    let other_key = Idempotency {
        key: IdempotencyKey::parse("retry-2").unwrap(),
        fingerprint: "c".to_owned(),
    };
    let duplicate = items
        .create(&new_item(acme, "lamp"), Some(&other_key))
        .await
        .unwrap_err();
    assert!(matches!(duplicate, CreateItemError::Duplicate(_)));
    assert_eq!(
        count(&pool, "item_idempotency_keys").await,
        1,
        "no half-written create"
    );
    assert_eq!(count(&pool, "items").await, 1);
}

#[sqlx::test(migrations = "../../migrations")]
async fn concurrent_retries_with_one_key_create_one_item(pool: PgPool) {
    let acme = tenant(&pool, "acme").await;
    let key = Idempotency {
        key: IdempotencyKey::parse("race").unwrap(),
        fingerprint: "f".to_owned(),
    };
    let attempts = (0..8).map(|_| {
        let (items, key) = (repository(&pool), key.clone());
        tokio::spawn(async move { items.create(&new_item(acme, "lamp"), Some(&key)).await })
    });
    let mut ids = Vec::new();
    for attempt in attempts {
        ids.push(attempt.await.unwrap().unwrap().item.id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every retry answers the same item");
    assert_eq!(count(&pool, "items").await, 1);
}

#[sqlx::test(migrations = "../../migrations")]
async fn updates_check_the_version_and_deletes_may(pool: PgPool) {
    let acme = tenant(&pool, "acme").await;
    let items = repository(&pool);
    let item = items
        .create(&new_item(acme, "lamp"), None)
        .await
        .unwrap()
        .item;
    let update = |expected_version, changes| UpdateItem {
        tenant_id: acme,
        id: item.id,
        expected_version,
        changes,
    };
    let archive = ItemChanges {
        status: Some(ItemStatus::Archived),
        description: Some(None),
        ..ItemChanges::default()
    };

    let updated = items.update(&update(1, archive.clone())).await.unwrap();
    assert_eq!(
        (updated.version, updated.status, updated.description),
        (2, ItemStatus::Archived, None)
    );
    assert!(updated.updated_at >= item.updated_at);
    let stale = items.update(&update(1, archive)).await.unwrap_err();
    assert!(matches!(
        stale,
        UpdateItemError::VersionMismatch {
            current: 2,
            expected: 1,
            ..
        }
    ));

    let missing = UpdateItem {
        id: ItemId::generate(),
        ..update(1, ItemChanges::default())
    };
    assert!(matches!(
        items.update(&missing).await,
        Err(UpdateItemError::NotFound(_))
    ));

    let stale_delete = items.delete(acme, item.id, Some(1)).await.unwrap_err();
    assert!(matches!(
        stale_delete,
        DeleteItemError::VersionMismatch { current: 2, .. }
    ));
    items.delete(acme, item.id, Some(2)).await.unwrap();
    assert!(matches!(
        items.delete(acme, item.id, None).await,
        Err(DeleteItemError::NotFound(_))
    ));
}

#[sqlx::test(migrations = "../../migrations")]
async fn renaming_onto_a_taken_name_is_a_conflict(pool: PgPool) {
    let acme = tenant(&pool, "acme").await;
    let items = repository(&pool);
    items.create(&new_item(acme, "lamp"), None).await.unwrap();
    let desk = items
        .create(&new_item(acme, "desk"), None)
        .await
        .unwrap()
        .item;
    let rename = UpdateItem {
        tenant_id: acme,
        id: desk.id,
        expected_version: 1,
        changes: ItemChanges {
            name: Some(ItemName::parse("lamp").unwrap()),
            ..ItemChanges::default()
        },
    };
    assert!(matches!(
        items.update(&rename).await,
        Err(UpdateItemError::Duplicate(_))
    ));
}

async fn walk(
    items: &PostgresItemRepository,
    tenant_id: TenantId,
    sort: ItemSort,
    status: Option<ItemStatus>,
) -> Vec<String> {
    let (mut names, mut after) = (Vec::new(), None::<ItemCursor>);
    loop {
        let query = ListItems {
            tenant_id,
            limit: PageSize::new(3).unwrap(),
            sort,
            status,
            after,
        };
        let page = items.list(&query).await.unwrap();
        names.extend(page.items.iter().map(|item| item.name.as_str().to_owned()));
        match page.next {
            Some(next) => after = Some(next),
            None => return names,
        }
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn pages_walk_every_item_once_in_every_order_and_filter(pool: PgPool) {
    let (acme, globex) = (tenant(&pool, "acme").await, tenant(&pool, "globex").await);
    let items = repository(&pool);
    for name in ["b", "g", "a", "f", "c", "e", "d"] {
        items.create(&new_item(acme, name), None).await.unwrap();
    }
    items
        .create(&new_item(globex, "not acme's"), None)
        .await
        .unwrap();
    let created: Vec<String> = ["b", "g", "a", "f", "c", "e", "d"]
        .map(String::from)
        .to_vec();
    assert_eq!(
        walk(&items, acme, ItemSort::CreatedAscending, None).await,
        created
    );
    let reversed: Vec<String> = created.iter().rev().cloned().collect();
    assert_eq!(
        walk(&items, acme, ItemSort::CreatedDescending, None).await,
        reversed
    );
    assert_eq!(
        walk(&items, acme, ItemSort::NameAscending, None).await,
        ["a", "b", "c", "d", "e", "f", "g"]
    );
    assert_eq!(
        walk(&items, acme, ItemSort::NameDescending, None).await,
        ["g", "f", "e", "d", "c", "b", "a"]
    );
    assert!(
        walk(
            &items,
            acme,
            ItemSort::NameAscending,
            Some(ItemStatus::Archived)
        )
        .await
        .is_empty()
    );
}

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

    let first_page = explain(include_str!("../queries/list_items_created_ascending.sql"))
        .bind(tenant)
        .bind(&no_status)
        .bind(None::<time::OffsetDateTime>)
        .bind(None::<uuid::Uuid>)
        .bind(limit);
    assert_uses_an_index(
        "created ascending",
        &first_page.fetch_all(&pool).await.unwrap(),
    );
    let later_page = explain(include_str!("../queries/list_items_created_descending.sql"))
        .bind(tenant)
        .bind(Some("active"))
        .bind(Some(middle))
        .bind(Some(uuid::Uuid::max()))
        .bind(limit);
    assert_uses_an_index(
        "created descending",
        &later_page.fetch_all(&pool).await.unwrap(),
    );
    let by_name = explain(include_str!("../queries/list_items_name_ascending.sql"))
        .bind(tenant)
        .bind(&no_status)
        .bind(Some("item 0500"))
        .bind(limit);
    assert_uses_an_index("name ascending", &by_name.fetch_all(&pool).await.unwrap());
    let by_name_down = explain(include_str!("../queries/list_items_name_descending.sql"))
        .bind(tenant)
        .bind(&no_status)
        .bind("item 0500")
        .bind(limit);
    assert_uses_an_index(
        "name descending",
        &by_name_down.fetch_all(&pool).await.unwrap(),
    );
    let first_by_name_down = explain(include_str!(
        "../queries/list_items_name_descending_first.sql"
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
