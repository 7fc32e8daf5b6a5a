//! The storage contract: what every adapter of the storage ports must do, written once against
//! the ports and run against each adapter (`adapter-postgres` and `adapter-sqlite` both call
//! [`storage_contract!`](crate::storage_contract) from their tests). An adapter that passes it
//! can replace another without the use cases or the API noticing.
//!
//! Each case creates its own tenants, so cases never depend on each other's rows. The cases
//! observe only what the ports return: a "nothing was written" check reads back through the
//! ports instead of counting rows. Compiled only with the `contract` feature, which only
//! adapters' dev-dependencies turn on; it must not assume anything about SQL or a server.

// Contract cases are tests: a failed unwrap is a failed assertion, with the value shown.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

use std::sync::Arc;

use futures_util::future::join_all;

use crate::items::{
    CreateItemError, DeleteItemError, GetItemError, Idempotency, IdempotencyKey, ItemChanges,
    ItemCursor, ItemDescription, ItemId, ItemName, ItemRepository, ItemSort, ItemStatus, ListItems,
    NewItem, PageSize, UpdateItem, UpdateItemError,
};
use crate::tenants::{
    CreateTenantError, GetTenantError, NewTenant, TenantId, TenantName, TenantRepository,
};

/// The adapters under test: both repositories over one store.
#[derive(Clone)]
pub struct Storage {
    /// The tenant repository of the adapter.
    pub tenants: Arc<dyn TenantRepository>,
    /// The item repository of the same adapter and store.
    pub items: Arc<dyn ItemRepository>,
}

/// Runs `$adapter!(case, case, ...)` with every case of the contract. The adapter's test file
/// defines a macro that turns each case name into a test of its own (`#[sqlx::test]`,
/// `#[tokio::test]`...) calling `domain::contract::<case>(&storage).await`. A case added here
/// runs against every adapter, without touching their test files.
#[macro_export]
macro_rules! storage_contract {
    ($adapter:ident) => {
        $adapter!(
            a_tenant_reads_back_and_its_name_is_unique,
            a_created_item_reads_back_identical_for_its_tenant_only,
            a_duplicate_name_is_a_conflict_in_its_tenant_only,
            an_unknown_tenant_is_reported_not_raised,
            an_idempotent_create_writes_once_and_a_refused_one_leaves_nothing,
            concurrent_retries_with_one_key_create_one_item,
            updates_check_the_version_and_deletes_may,
            renaming_onto_a_taken_name_is_a_conflict,
            pages_walk_every_item_once_in_every_order_and_filter,
        );
    };
}

/// A tenant with a name no other case uses.
async fn tenant(storage: &Storage, name: &str) -> TenantId {
    let unique = format!("{name} {}", uuid::Uuid::new_v4().simple());
    storage
        .tenants
        .create(&NewTenant::new(TenantName::parse(&unique).unwrap()))
        .await
        .unwrap()
        .id
}

fn new_item(tenant_id: TenantId, name: &str) -> NewItem {
    NewItem::new(
        tenant_id,
        ItemName::parse(name).unwrap(),
        Some(ItemDescription::parse("about it").unwrap()),
    )
}

fn key(key: &str, fingerprint: &str) -> Idempotency {
    Idempotency {
        key: IdempotencyKey::parse(key).unwrap(),
        fingerprint: fingerprint.to_owned(),
    }
}

/// Every item name of the tenant, walking pages of three in `sort` order.
async fn walk(
    storage: &Storage,
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
        let page = storage.items.list(&query).await.unwrap();
        assert!(page.items.len() <= 3, "a page holds at most its limit");
        names.extend(page.items.iter().map(|item| item.name.as_str().to_owned()));
        match page.next {
            Some(next) => after = Some(next),
            None => return names,
        }
    }
}

/// Tenants read back as created; a second tenant with the same name is refused; an unknown id
/// is `NotFound`.
pub async fn a_tenant_reads_back_and_its_name_is_unique(storage: &Storage) {
    let name = TenantName::parse(&format!("acme {}", uuid::Uuid::new_v4().simple())).unwrap();
    let created = storage
        .tenants
        .create(&NewTenant::new(name.clone()))
        .await
        .unwrap();
    assert_eq!(created.name, name);
    assert_eq!(storage.tenants.get(created.id).await.unwrap(), created);
    let twin = storage.tenants.create(&NewTenant::new(name)).await;
    assert!(
        matches!(twin, Err(CreateTenantError::Duplicate(_))),
        "{twin:?}"
    );
    let ghost = TenantId::generate();
    assert!(matches!(
        storage.tenants.get(ghost).await,
        Err(GetTenantError::NotFound(id)) if id == ghost
    ));
}

/// A created item (version 1, active, description kept) reads back equal, and only for its
/// own tenant.
pub async fn a_created_item_reads_back_identical_for_its_tenant_only(storage: &Storage) {
    let (acme, globex) = (
        tenant(storage, "acme").await,
        tenant(storage, "globex").await,
    );
    let created = storage
        .items
        .create(&new_item(acme, "lamp"), None)
        .await
        .unwrap();
    assert!(!created.replayed);
    let item = created.item;
    assert_eq!((item.version, item.status), (1, ItemStatus::Active));
    assert_eq!(item.description.as_ref().unwrap().as_str(), "about it");
    assert_eq!(item.created_at, item.updated_at);
    assert_eq!(storage.items.get(acme, item.id).await.unwrap(), item);
    assert!(matches!(
        storage.items.get(globex, item.id).await,
        Err(GetItemError::NotFound(_))
    ));
}

/// Names are unique per tenant: the second "lamp" of a tenant is refused, another tenant's
/// "lamp" is not.
pub async fn a_duplicate_name_is_a_conflict_in_its_tenant_only(storage: &Storage) {
    let (acme, globex) = (
        tenant(storage, "acme").await,
        tenant(storage, "globex").await,
    );
    storage
        .items
        .create(&new_item(acme, "lamp"), None)
        .await
        .unwrap();
    let error = storage
        .items
        .create(&new_item(acme, "lamp"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, CreateItemError::Duplicate(name) if name.as_str() == "lamp"),
        "{error:?}"
    );
    storage
        .items
        .create(&new_item(globex, "lamp"), None)
        .await
        .unwrap();
    assert_eq!(
        walk(storage, acme, ItemSort::NameAscending, None).await,
        ["lamp"]
    );
}

/// An item for a tenant that does not exist is `TenantNotFound`, not an unexpected failure.
pub async fn an_unknown_tenant_is_reported_not_raised(storage: &Storage) {
    let ghost = TenantId::generate();
    for idempotency in [None, Some(key("ghost-1", "f"))] {
        let error = storage
            .items
            .create(&new_item(ghost, "lamp"), idempotency.as_ref())
            .await
            .unwrap_err();
        assert!(
            matches!(error, CreateItemError::TenantNotFound(id) if id == ghost),
            "{error:?}"
        );
    }
}

/// The same key and fingerprint answer the first item without writing; the key with another
/// fingerprint is refused; a create refused for a duplicate name leaves its key unclaimed.
pub async fn an_idempotent_create_writes_once_and_a_refused_one_leaves_nothing(storage: &Storage) {
    let acme = tenant(storage, "acme").await;
    let first = storage
        .items
        .create(&new_item(acme, "lamp"), Some(&key("retry-1", "a")))
        .await
        .unwrap();
    let again = storage
        .items
        .create(&new_item(acme, "lamp"), Some(&key("retry-1", "a")))
        .await
        .unwrap();
    assert!(!first.replayed && again.replayed);
    assert_eq!(first.item, again.item);
    let reused = storage
        .items
        .create(&new_item(acme, "desk"), Some(&key("retry-1", "b")))
        .await
        .unwrap_err();
    assert!(
        matches!(reused, CreateItemError::IdempotencyKeyReused(_)),
        "{reused:?}"
    );

    // Refused for its name: neither the item nor the key it claimed first may remain.
    let duplicate = storage
        .items
        .create(&new_item(acme, "lamp"), Some(&key("retry-2", "c")))
        .await
        .unwrap_err();
    assert!(
        matches!(duplicate, CreateItemError::Duplicate(_)),
        "{duplicate:?}"
    );
    let fresh = storage
        .items
        .create(&new_item(acme, "chair"), Some(&key("retry-2", "d")))
        .await
        .unwrap();
    assert!(
        !fresh.replayed,
        "the refused create's key was rolled back, so it is free"
    );
    assert_eq!(
        walk(storage, acme, ItemSort::NameAscending, None).await,
        ["chair", "lamp"]
    );
}

/// Eight retries of one request at the same time create one item; all of them answer it.
pub async fn concurrent_retries_with_one_key_create_one_item(storage: &Storage) {
    let acme = tenant(storage, "acme").await;
    let item = new_item(acme, "lamp");
    let idempotency = key("race", "f");
    let attempts = (0..8).map(|_| storage.items.create(&item, Some(&idempotency)));
    let outcomes = join_all(attempts).await;
    let mut ids: Vec<ItemId> = outcomes
        .into_iter()
        .map(|outcome| outcome.unwrap().item.id)
        .collect();
    ids.dedup();
    assert_eq!(ids, [item.id], "every retry answers the same item");
    assert_eq!(
        walk(storage, acme, ItemSort::CreatedAscending, None).await,
        ["lamp"]
    );
}

/// Updates need the current version and increment it; a stale version changes nothing; a
/// description can be replaced and cleared; deletes check the version when given one.
pub async fn updates_check_the_version_and_deletes_may(storage: &Storage) {
    let acme = tenant(storage, "acme").await;
    let item = storage
        .items
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
    let describe = ItemChanges {
        description: Some(Some(ItemDescription::parse("brass, 40 cm").unwrap())),
        ..ItemChanges::default()
    };
    let described = storage.items.update(&update(1, describe)).await.unwrap();
    assert_eq!(described.version, 2);
    assert_eq!(
        described.description.as_ref().unwrap().as_str(),
        "brass, 40 cm"
    );
    assert_eq!(
        (described.name, described.status),
        (item.name.clone(), item.status)
    );
    assert_eq!(described.created_at, item.created_at);
    assert!(described.updated_at >= item.updated_at);

    let archive = ItemChanges {
        status: Some(ItemStatus::Archived),
        description: Some(None),
        ..ItemChanges::default()
    };
    let archived = storage
        .items
        .update(&update(2, archive.clone()))
        .await
        .unwrap();
    assert_eq!(
        (
            archived.version,
            archived.status,
            archived.description.clone()
        ),
        (3, ItemStatus::Archived, None)
    );
    let stale = storage.items.update(&update(1, archive)).await.unwrap_err();
    assert!(
        matches!(
            stale,
            UpdateItemError::VersionMismatch {
                current: 3,
                expected: 1,
                ..
            }
        ),
        "{stale:?}"
    );
    assert_eq!(storage.items.get(acme, item.id).await.unwrap(), archived);

    let missing = UpdateItem {
        id: ItemId::generate(),
        ..update(1, ItemChanges::default())
    };
    assert!(matches!(
        storage.items.update(&missing).await,
        Err(UpdateItemError::NotFound(_))
    ));

    let stale_delete = storage
        .items
        .delete(acme, item.id, Some(1))
        .await
        .unwrap_err();
    assert!(
        matches!(
            stale_delete,
            DeleteItemError::VersionMismatch { current: 3, .. }
        ),
        "{stale_delete:?}"
    );
    assert_eq!(
        storage.items.delete(acme, item.id, Some(3)).await.unwrap(),
        3
    );
    assert!(matches!(
        storage.items.delete(acme, item.id, None).await,
        Err(DeleteItemError::NotFound(_))
    ));
    assert!(matches!(
        storage.items.get(acme, item.id).await,
        Err(GetItemError::NotFound(_))
    ));
}

/// Renaming onto a name the tenant already uses is `Duplicate`, and changes nothing.
pub async fn renaming_onto_a_taken_name_is_a_conflict(storage: &Storage) {
    let acme = tenant(storage, "acme").await;
    storage
        .items
        .create(&new_item(acme, "lamp"), None)
        .await
        .unwrap();
    let desk = storage
        .items
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
        storage.items.update(&rename).await,
        Err(UpdateItemError::Duplicate(_))
    ));
    assert_eq!(storage.items.get(acme, desk.id).await.unwrap(), desk);
}

/// Keyset pages return every item of the tenant exactly once, in each of the four orders,
/// with and without a status filter, and never another tenant's.
pub async fn pages_walk_every_item_once_in_every_order_and_filter(storage: &Storage) {
    let (acme, globex) = (
        tenant(storage, "acme").await,
        tenant(storage, "globex").await,
    );
    let order = ["b", "g", "a", "f", "c", "e", "d"];
    let mut created = Vec::new();
    for name in order {
        created.push(
            storage
                .items
                .create(&new_item(acme, name), None)
                .await
                .unwrap()
                .item,
        );
    }
    storage
        .items
        .create(&new_item(globex, "not acme's"), None)
        .await
        .unwrap();
    assert_eq!(
        walk(storage, acme, ItemSort::CreatedAscending, None).await,
        order
    );
    let reversed: Vec<&str> = order.iter().rev().copied().collect();
    assert_eq!(
        walk(storage, acme, ItemSort::CreatedDescending, None).await,
        reversed
    );
    assert_eq!(
        walk(storage, acme, ItemSort::NameAscending, None).await,
        ["a", "b", "c", "d", "e", "f", "g"]
    );
    assert_eq!(
        walk(storage, acme, ItemSort::NameDescending, None).await,
        ["g", "f", "e", "d", "c", "b", "a"]
    );
    // Archive "f" and "c": the filter keeps exactly them, in order, and the rest without them.
    for item in created
        .iter()
        .filter(|item| ["f", "c"].contains(&item.name.as_str()))
    {
        let archive = UpdateItem {
            tenant_id: acme,
            id: item.id,
            expected_version: 1,
            changes: ItemChanges {
                status: Some(ItemStatus::Archived),
                ..ItemChanges::default()
            },
        };
        storage.items.update(&archive).await.unwrap();
    }
    assert_eq!(
        walk(
            storage,
            acme,
            ItemSort::NameAscending,
            Some(ItemStatus::Archived)
        )
        .await,
        ["c", "f"]
    );
    assert_eq!(
        walk(
            storage,
            acme,
            ItemSort::CreatedDescending,
            Some(ItemStatus::Active)
        )
        .await,
        ["d", "e", "a", "g", "b"]
    );
}
