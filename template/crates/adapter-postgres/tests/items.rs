//! `PostgresItemRepository` against real PostgreSQL, a fresh migrated database per test.

// A failed unwrap in a test is a failed assertion, with the value in the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use adapter_postgres::PostgresItemRepository;
use domain::items::{
    CreateItemError, DeleteItemError, GetItemError, ItemDescription, ItemId, ItemName,
    ItemRepository, ListItems, NewItem, PageSize,
};
use sqlx::PgPool;

fn new_item(name: &str) -> NewItem {
    NewItem::new(
        ItemName::parse(name).unwrap(),
        Some(ItemDescription::parse("about it").unwrap()),
    )
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_created_item_reads_back_identical(pool: PgPool) {
    let repository = PostgresItemRepository::new(pool);
    let created = repository.create(&new_item("lamp")).await.unwrap();
    assert_eq!(created.version, 1);
    assert_eq!(
        created.description.as_ref().map(ItemDescription::as_str),
        Some("about it")
    );
    assert_eq!(repository.get(created.id).await.unwrap(), created);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_duplicate_name_is_a_domain_conflict_and_writes_nothing(pool: PgPool) {
    let repository = PostgresItemRepository::new(pool.clone());
    repository.create(&new_item("lamp")).await.unwrap();
    let error = repository.create(&new_item("lamp")).await.unwrap_err();
    assert!(matches!(error, CreateItemError::Duplicate(name) if name.as_str() == "lamp"));
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM items")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);
}

#[sqlx::test(migrations = "../../migrations")]
async fn missing_items_are_not_found(pool: PgPool) {
    let repository = PostgresItemRepository::new(pool);
    let id = ItemId::generate();
    assert!(
        matches!(repository.get(id).await, Err(GetItemError::NotFound(missing)) if missing == id)
    );
    assert!(matches!(
        repository.delete(id).await,
        Err(DeleteItemError::NotFound(_))
    ));
}

#[sqlx::test(migrations = "../../migrations")]
async fn deleted_items_are_gone(pool: PgPool) {
    let repository = PostgresItemRepository::new(pool);
    let created = repository.create(&new_item("lamp")).await.unwrap();
    repository.delete(created.id).await.unwrap();
    assert!(matches!(
        repository.get(created.id).await,
        Err(GetItemError::NotFound(_))
    ));
}

#[sqlx::test(migrations = "../../migrations")]
async fn pages_walk_every_item_once_in_creation_order(pool: PgPool) {
    let repository = PostgresItemRepository::new(pool);
    for n in 0..7 {
        repository
            .create(&new_item(&format!("item {n}")))
            .await
            .unwrap();
    }
    let limit = PageSize::new(3).unwrap();
    let (mut names, mut after, mut pages) = (Vec::new(), None, 0);
    loop {
        let page = repository.list(ListItems { limit, after }).await.unwrap();
        pages += 1;
        names.extend(page.items.iter().map(|item| item.name.as_str().to_owned()));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..7).map(|n| format!("item {n}")).collect();
    assert_eq!(names, expected);
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_database_refuses_what_the_domain_refuses(pool: PgPool) {
    // The CHECK constraints hold even for writers that bypass the domain.
    let too_long = "x".repeat(101);
    let result = sqlx::query("INSERT INTO items (id, name) VALUES (gen_random_uuid(), $1)")
        .bind(too_long)
        .execute(&pool)
        .await;
    assert!(result.is_err());
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_row_that_breaks_domain_rules_is_an_error_not_a_panic(pool: PgPool) {
    // Written behind the service's back: passes the CHECK, fails the domain's trim rule.
    let id = ItemId::generate();
    sqlx::query("INSERT INTO items (id, name) VALUES ($1, '   ')")
        .bind(id.as_uuid())
        .execute(&pool)
        .await
        .unwrap();
    let repository = PostgresItemRepository::new(pool);
    let error = repository.get(id).await.unwrap_err();
    assert!(matches!(error, GetItemError::Unexpected(_)), "{error:?}");
}
