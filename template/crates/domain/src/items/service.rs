//! The item use cases: the one place that decides what creating, reading, listing and deleting
//! an item means. Adapters call these, never the repository directly, so rules added here
//! (authorization, caching, events) apply to every way in.
//!
//! Every request can be cancelled at any await. Writes therefore run to completion once they
//! start (`detach::to_completion`): commit, cache, audit and announcement all happen, or none
//! does, whether or not the client is still there. Reads may be abandoned freely: the single
//! flight hands a shared load on to whoever still waits.

use std::sync::Arc;

use tracing::instrument;

use super::{
    CacheError, CreateItemError, CreatedItem, DeleteItemError, ExpectedVersion, GetItemError,
    Idempotency, Item, ItemCache, ItemChanges, ItemId, ItemNotifier, ItemPage, ItemRepository,
    ItemSort, ListItems, ListItemsError, NewItem, UpdateItem, UpdateItemError,
};
use crate::audit;
use crate::auth::{Forbidden, Permission, Principal};
use crate::detach::{self, Spawn};
use crate::flags::{Flag, Flags};
use crate::single_flight::SingleFlight;
use crate::tenants::TenantId;

/// Runs the item use cases against whatever repository and cache the composition root gives
/// it. Every use case takes the [`Principal`] acting and checks, before anything else and in
/// this order: another tenant's items do not exist (404, so existence does not leak), then the
/// role must grant the operation (403). The `authorize_*` methods are those first checks alone:
/// a way in calls its operation's before it parses the rest of the request, so a caller outside
/// the tenant or without the role learns nothing from how its input would have been judged.
/// The repository then filters every query on the tenant as a second wall.
///
/// Single reads are cache-aside: the cache first, the repository on a miss (one load per
/// key at a time), the result cached. Every successful write refreshes or retires the cached
/// copy after the repository has committed it, and detaches any load that began before it.
#[derive(Clone)]
pub struct ItemService {
    repository: Arc<dyn ItemRepository>,
    cache: Arc<dyn ItemCache>,
    notifier: Arc<dyn ItemNotifier>,
    flags: Arc<dyn Flags>,
    spawner: Arc<dyn Spawn>,
    loads: Arc<SingleFlight<(TenantId, ItemId), Item, GetItemError>>,
}

/// The example flag: a list that names no order comes newest first instead of oldest first.
/// A change of default is the kind of change a flag is for: clients that rely on the old order
/// keep it until their tenant is let in, and the kill switch restores it without a deploy.
pub const NEWEST_FIRST: Flag = Flag::new("items_newest_first");

impl ItemService {
    /// A service over the given repository, cache, notifier and flags; writes run on `spawner`.
    pub fn new(
        repository: Arc<dyn ItemRepository>,
        cache: Arc<dyn ItemCache>,
        notifier: Arc<dyn ItemNotifier>,
        flags: Arc<dyn Flags>,
        spawner: Arc<dyn Spawn>,
    ) -> Self {
        Self {
            repository,
            cache,
            notifier,
            flags,
            spawner,
            loads: Arc::new(SingleFlight::default()),
        }
    }

    /// The order of a list that names none: oldest first, or newest first for callers
    /// [`NEWEST_FIRST`] is on for. Every way in (REST, GraphQL) asks here, so they agree.
    pub async fn default_sort(&self, principal: &Principal) -> ItemSort {
        if self.flags.is_enabled(NEWEST_FIRST, principal).await {
            ItemSort::CreatedDescending
        } else {
            ItemSort::CreatedAscending
        }
    }

    /// What [`ItemService::create`] checks first.
    ///
    /// # Errors
    /// `TenantNotFound` for another tenant, then `Forbidden`.
    pub fn authorize_create(
        &self,
        principal: &Principal,
        tenant_id: TenantId,
    ) -> Result<(), CreateItemError> {
        scope(principal, tenant_id, Permission::WriteItems, || {
            CreateItemError::TenantNotFound(tenant_id)
        })
    }

    /// What [`ItemService::get`] checks first.
    ///
    /// # Errors
    /// `NotFound` for another tenant's item, then `Forbidden`.
    pub fn authorize_get(
        &self,
        principal: &Principal,
        tenant_id: TenantId,
        id: ItemId,
    ) -> Result<(), GetItemError> {
        scope(principal, tenant_id, Permission::ReadItems, || {
            GetItemError::NotFound(id)
        })
    }

    /// What [`ItemService::list`] checks first.
    ///
    /// # Errors
    /// `TenantNotFound` for another tenant, then `Forbidden`.
    pub fn authorize_list(
        &self,
        principal: &Principal,
        tenant_id: TenantId,
    ) -> Result<(), ListItemsError> {
        scope(principal, tenant_id, Permission::ReadItems, || {
            ListItemsError::TenantNotFound(tenant_id)
        })
    }

    /// What [`ItemService::update`] checks first.
    ///
    /// # Errors
    /// `NotFound` for another tenant's item, then `Forbidden`.
    pub fn authorize_update(
        &self,
        principal: &Principal,
        tenant_id: TenantId,
        id: ItemId,
    ) -> Result<(), UpdateItemError> {
        scope(principal, tenant_id, Permission::WriteItems, || {
            UpdateItemError::NotFound(id)
        })
    }

    /// What [`ItemService::delete`] checks first.
    ///
    /// # Errors
    /// `NotFound` for another tenant's item, then `Forbidden`.
    pub fn authorize_delete(
        &self,
        principal: &Principal,
        tenant_id: TenantId,
        id: ItemId,
    ) -> Result<(), DeleteItemError> {
        scope(principal, tenant_id, Permission::DeleteItems, || {
            DeleteItemError::NotFound(id)
        })
    }

    /// Creates an item, at most once per idempotency key.
    ///
    /// # Errors
    /// See [`CreateItemError`].
    #[instrument(skip_all, fields(tenant.id = %item.tenant_id, item.id = %item.id), err(level = "debug"))]
    pub async fn create(
        &self,
        principal: &Principal,
        item: NewItem,
        idempotency: Option<Idempotency>,
    ) -> Result<CreatedItem, CreateItemError> {
        self.authorize_create(principal, item.tenant_id)?;
        let (this, principal) = (self.clone(), principal.clone());
        detach::to_completion(self.spawner.as_ref(), async move {
            let created = this.repository.create(&item, idempotency.as_ref()).await?;
            if !created.replayed {
                audit::write(
                    principal.actor(),
                    "item.create",
                    &resource(&created.item.id),
                );
            }
            this.committed(&created.item).await;
            if !created.replayed
                && let Err(error) = this.notifier.item_created(&created.item).await
            {
                tracing::warn!(error = %format!("{error:#}"), "item created, but not announced");
            }
            Ok(created)
        })
        .await
        .map_err(anyhow::Error::from)?
    }

    /// Reads one item, from the cache when it has a live copy.
    ///
    /// # Errors
    /// See [`GetItemError`].
    #[instrument(skip(self, principal), fields(tenant.id = %tenant_id, item.id = %id, cache), err(level = "debug"))]
    pub async fn get(
        &self,
        principal: &Principal,
        tenant_id: TenantId,
        id: ItemId,
    ) -> Result<Item, GetItemError> {
        self.authorize_get(principal, tenant_id, id)?;
        match self.cache.get(tenant_id, id).await {
            Ok(Some(item)) => {
                tracing::Span::current().record("cache", "hit");
                return Ok(item);
            }
            Ok(None) => {
                tracing::Span::current().record("cache", "miss");
            }
            Err(error) => {
                tracing::Span::current().record("cache", "error");
                log_cache_error("read", &error);
            }
        }
        let repository = Arc::clone(&self.repository);
        let loaded = self
            .loads
            .run((tenant_id, id), async move {
                repository.get(tenant_id, id).await
            })
            .await
            .map_err(|shared| match shared.as_ref() {
                GetItemError::NotFound(id) => GetItemError::NotFound(*id),
                GetItemError::Forbidden(forbidden) => GetItemError::Forbidden(forbidden.clone()),
                GetItemError::Unexpected(error) => {
                    GetItemError::Unexpected(anyhow::anyhow!("{error:#}"))
                }
            })?;
        // Cancelled here, the cache just stays cold: a later read loads again.
        self.remember(&loaded).await;
        Ok(loaded)
    }

    /// Reads one page of items (never cached: pages change with every write).
    ///
    /// # Errors
    /// See [`ListItemsError`].
    #[instrument(skip_all, fields(tenant.id = %query.tenant_id, limit = query.limit.get()), err(level = "debug"))]
    pub async fn list(
        &self,
        principal: &Principal,
        query: ListItems,
    ) -> Result<ItemPage, ListItemsError> {
        self.authorize_list(principal, query.tenant_id)?;
        self.repository.list(&query).await
    }

    /// Changes an item the client has seen at `update.expected_version`.
    ///
    /// # Errors
    /// See [`UpdateItemError`].
    #[instrument(skip_all, fields(tenant.id = %update.tenant_id, item.id = %update.id), err(level = "debug"))]
    pub async fn update(
        &self,
        principal: &Principal,
        update: UpdateItem,
    ) -> Result<Item, UpdateItemError> {
        let expected = ExpectedVersion::exactly(update.expected_version);
        self.update_matching(
            principal,
            update.tenant_id,
            update.id,
            expected,
            update.changes,
        )
        .await
    }

    /// Changes an item if its version is one `expected` admits (HTTP `If-Match`).
    ///
    /// # Errors
    /// See [`UpdateItemError`]; `VersionMismatch` when the item is at another version.
    #[instrument(skip_all, fields(tenant.id = %tenant_id, item.id = %id), err(level = "debug"))]
    pub async fn update_matching(
        &self,
        principal: &Principal,
        tenant_id: TenantId,
        id: ItemId,
        expected: ExpectedVersion,
        changes: ItemChanges,
    ) -> Result<Item, UpdateItemError> {
        self.authorize_update(principal, tenant_id, id)?;
        let (this, principal) = (self.clone(), principal.clone());
        detach::to_completion(self.spawner.as_ref(), async move {
            let expected_version = match expected.single() {
                Some(version) => version,
                None => this
                    .current_version(tenant_id, id, &expected)
                    .await
                    .map_err(|refusal| match refusal {
                        Refusal::NotFound => UpdateItemError::NotFound(id),
                        Refusal::Stale { expected, current } => UpdateItemError::VersionMismatch {
                            id,
                            expected,
                            current,
                        },
                        Refusal::Unexpected(error) => UpdateItemError::Unexpected(error),
                    })?,
            };
            let update = UpdateItem {
                tenant_id,
                id,
                expected_version,
                changes,
            };
            let item = this.repository.update(&update).await?;
            audit::write(principal.actor(), "item.update", &resource(&item.id));
            this.committed(&item).await;
            Ok(item)
        })
        .await
        .map_err(anyhow::Error::from)?
    }

    /// Deletes an item if its version is one `expected` admits (`Any`: whatever it is).
    ///
    /// # Errors
    /// See [`DeleteItemError`].
    #[instrument(skip(self, principal, expected), fields(tenant.id = %tenant_id, item.id = %id), err(level = "debug"))]
    pub async fn delete(
        &self,
        principal: &Principal,
        tenant_id: TenantId,
        id: ItemId,
        expected: ExpectedVersion,
    ) -> Result<(), DeleteItemError> {
        self.authorize_delete(principal, tenant_id, id)?;
        let (this, principal) = (self.clone(), principal.clone());
        detach::to_completion(self.spawner.as_ref(), async move {
            let expected_version = match (&expected, expected.single()) {
                (ExpectedVersion::Any, _) => None,
                (_, Some(version)) => Some(version),
                (_, None) => Some(
                    this.current_version(tenant_id, id, &expected)
                        .await
                        .map_err(|refusal| match refusal {
                            Refusal::NotFound => DeleteItemError::NotFound(id),
                            Refusal::Stale { expected, current } => {
                                DeleteItemError::VersionMismatch {
                                    id,
                                    expected,
                                    current,
                                }
                            }
                            Refusal::Unexpected(error) => DeleteItemError::Unexpected(error),
                        })?,
                ),
            };
            let version = this
                .repository
                .delete(tenant_id, id, expected_version)
                .await?;
            audit::write(principal.actor(), "item.delete", &resource(&id));
            this.loads.forget(&(tenant_id, id));
            if let Err(error) = this.cache.forget(tenant_id, id, version).await {
                log_cache_error("invalidation", &error);
            }
            Ok(())
        })
        .await
        .map_err(anyhow::Error::from)?
    }

    /// The item's current version, read from the repository (never the cache), when `expected`
    /// admits it. The change that follows still names that version, so a write in between is
    /// refused as stale rather than overwritten.
    async fn current_version(
        &self,
        tenant_id: TenantId,
        id: ItemId,
        expected: &ExpectedVersion,
    ) -> Result<i64, Refusal> {
        let current = match self.repository.get(tenant_id, id).await {
            Ok(item) => item.version,
            Err(GetItemError::NotFound(_)) => return Err(Refusal::NotFound),
            Err(GetItemError::Forbidden(forbidden)) => {
                return Err(Refusal::Unexpected(forbidden.into()));
            }
            Err(GetItemError::Unexpected(error)) => return Err(Refusal::Unexpected(error)),
        };
        if expected.admits(current) {
            Ok(current)
        } else {
            Err(Refusal::Stale {
                expected: expected.first().unwrap_or(0),
                current,
            })
        }
    }

    /// After a committed write of `item`: reads that start now do not join a load that may
    /// have read the row before the write, and the cache gets the new version (which outranks
    /// any older copy a concurrent reader may still put back).
    async fn committed(&self, item: &Item) {
        self.loads.forget(&(item.tenant_id, item.id));
        self.remember(item).await;
    }

    async fn remember(&self, item: &Item) {
        if let Err(error) = self.cache.put(item).await {
            log_cache_error("write", &error);
        }
    }
}

/// Why a change named versions the item does not have, before the change is tried.
enum Refusal {
    NotFound,
    Stale { expected: i64, current: i64 },
    Unexpected(anyhow::Error),
}

/// The first checks of every item use case, in order: another tenant's items do not exist
/// (`not_found`), then the role must grant `permission`.
fn scope<E: From<Forbidden>>(
    principal: &Principal,
    tenant_id: TenantId,
    permission: Permission,
    not_found: impl FnOnce() -> E,
) -> Result<(), E> {
    if !principal.acts_for(tenant_id.as_uuid()) {
        return Err(not_found());
    }
    principal.require(permission)?;
    Ok(())
}

/// How an item is named in the audit trail.
fn resource(id: &ItemId) -> String {
    format!("item/{id}")
}

/// A cache failure never fails a request; it is logged once, here (quietly when the breaker is open,
/// since the breaker opening was already logged).
fn log_cache_error(operation: &str, error: &CacheError) {
    match error {
        CacheError::Unavailable => tracing::debug!(operation, "cache unavailable; skipped"),
        CacheError::Failed(cause) => {
            tracing::warn!(operation, error = %format!("{cause:#}"), "cache call failed")
        }
    }
}

#[cfg(test)]
mod tests {
    //! The use cases against the in-memory twin of the port: fast, and proof that the domain
    //! runs without any infrastructure.
    use super::*;
    use std::sync::atomic::Ordering;

    use crate::auth::{Forbidden, Role};

    use crate::items::{
        ExpectedVersion, IdempotencyKey, InMemoryItemCache, InMemoryItemRepository, ItemChanges,
        ItemCursor, ItemName, ItemSort, PageSize, RecordingItemNotifier,
    };

    /// A principal with every item permission in `tenant`.
    fn admin(tenant: TenantId) -> Principal {
        Principal::new("tester", tenant.as_uuid(), [Role::Admin])
    }

    fn service() -> ItemService {
        with_cache().0
    }

    fn with_cache() -> (ItemService, Arc<InMemoryItemCache>) {
        let (service, cache, _) = with_twins();
        (service, cache)
    }

    fn with_twins() -> (
        ItemService,
        Arc<InMemoryItemCache>,
        Arc<RecordingItemNotifier>,
    ) {
        let cache = Arc::new(InMemoryItemCache::default());
        let notifier = Arc::new(RecordingItemNotifier::default());
        let repository = Arc::new(InMemoryItemRepository::default());
        let service = ItemService::new(
            repository,
            cache.clone(),
            notifier.clone(),
            Arc::new(crate::flags::AllOff),
            Arc::new(crate::detach::OnTokio),
        );
        (service, cache, notifier)
    }

    /// Flags on for one tenant only, as an allow list would have them.
    struct OnForTenant(TenantId);

    #[async_trait::async_trait]
    impl Flags for OnForTenant {
        async fn is_enabled(&self, flag: Flag, principal: &Principal) -> bool {
            flag == NEWEST_FIRST && principal.tenant() == self.0.as_uuid()
        }
    }

    #[tokio::test]
    async fn a_list_that_names_no_order_is_newest_first_only_where_the_flag_is_on() {
        let (early, others) = (TenantId::generate(), TenantId::generate());
        let service = ItemService::new(
            Arc::new(InMemoryItemRepository::default()),
            Arc::new(InMemoryItemCache::default()),
            Arc::new(RecordingItemNotifier::default()),
            Arc::new(OnForTenant(early)),
            Arc::new(crate::detach::OnTokio),
        );
        assert_eq!(
            service.default_sort(&admin(early)).await,
            ItemSort::CreatedDescending
        );
        assert_eq!(
            service.default_sort(&admin(others)).await,
            ItemSort::CreatedAscending
        );
        assert_eq!(
            with_twins().0.default_sort(&admin(early)).await,
            ItemSort::CreatedAscending,
            "with every flag off, the order from before the flag"
        );
    }

    #[tokio::test]
    async fn a_creation_is_announced_once_even_when_retried() {
        let ((service, _, notifier), tenant) = (with_twins(), TenantId::generate());
        let key = Idempotency {
            key: IdempotencyKey::parse("k").unwrap(),
            fingerprint: "f".to_owned(),
        };
        let item = service
            .create(&admin(tenant), new_item(tenant, "lamp"), Some(key.clone()))
            .await
            .unwrap();
        service
            .create(&admin(tenant), new_item(tenant, "lamp"), Some(key))
            .await
            .unwrap();
        assert_eq!(notifier.created(), [item.item.id]);
    }

    #[tokio::test]
    async fn reads_are_served_from_the_cache_and_writes_refresh_it() {
        let ((service, cache), tenant) = (with_cache(), TenantId::generate());
        let item = service
            .create(&admin(tenant), new_item(tenant, "lamp"), None)
            .await
            .unwrap()
            .item;
        assert_eq!(
            service.get(&admin(tenant), tenant, item.id).await.unwrap(),
            item
        );
        assert_eq!(
            cache.hits.load(Ordering::SeqCst),
            1,
            "create warmed the cache"
        );
        let update = UpdateItem {
            tenant_id: tenant,
            id: item.id,
            expected_version: 1,
            changes: ItemChanges {
                name: Some(ItemName::parse("desk lamp").unwrap()),
                ..ItemChanges::default()
            },
        };
        service.update(&admin(tenant), update).await.unwrap();
        let read = service.get(&admin(tenant), tenant, item.id).await.unwrap();
        assert_eq!(
            (read.version, read.name.as_str()),
            (2, "desk lamp"),
            "never stale after a write"
        );
        service
            .delete(&admin(tenant), tenant, item.id, ExpectedVersion::Any)
            .await
            .unwrap();
        assert!(matches!(
            service.get(&admin(tenant), tenant, item.id).await,
            Err(GetItemError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn an_old_copy_cannot_overwrite_a_newer_one_or_a_deletion() {
        let ((service, cache), tenant) = (with_cache(), TenantId::generate());
        let old = service
            .create(&admin(tenant), new_item(tenant, "lamp"), None)
            .await
            .unwrap()
            .item;
        let mut newer = old.clone();
        newer.version = 2;
        cache.put(&newer).await.unwrap();
        cache.put(&old).await.unwrap();
        assert_eq!(cache.get(tenant, old.id).await.unwrap().unwrap().version, 2);
        cache.forget(tenant, old.id, 2).await.unwrap();
        cache.put(&newer).await.unwrap();
        assert!(
            cache.get(tenant, old.id).await.unwrap().is_none(),
            "the deletion stands"
        );
    }

    #[tokio::test]
    async fn a_cache_that_is_down_costs_nothing_but_the_cache() {
        let ((service, cache), tenant) = (with_cache(), TenantId::generate());
        cache.set_down(true);
        let item = service
            .create(&admin(tenant), new_item(tenant, "lamp"), None)
            .await
            .unwrap()
            .item;
        assert_eq!(
            service.get(&admin(tenant), tenant, item.id).await.unwrap(),
            item
        );
        service
            .delete(&admin(tenant), tenant, item.id, ExpectedVersion::Any)
            .await
            .unwrap();
        cache.set_down(false);
        assert!(matches!(
            service.get(&admin(tenant), tenant, item.id).await,
            Err(GetItemError::NotFound(_))
        ));
    }

    fn new_item(tenant_id: TenantId, name: &str) -> NewItem {
        NewItem::new(tenant_id, ItemName::parse(name).unwrap(), None)
    }

    #[tokio::test]
    async fn created_item_can_be_read_back_by_its_tenant_only() {
        let (service, tenant, other) = (service(), TenantId::generate(), TenantId::generate());
        let created = service
            .create(&admin(tenant), new_item(tenant, "lamp"), None)
            .await
            .unwrap()
            .item;
        assert_eq!(
            service
                .get(&admin(tenant), tenant, created.id)
                .await
                .unwrap(),
            created
        );
        assert!(matches!(
            service.get(&admin(other), other, created.id).await,
            Err(GetItemError::NotFound(_))
        ));
        assert_eq!(created.version, 1);
    }

    #[tokio::test]
    async fn another_tenants_item_is_not_found_even_by_an_admin_and_a_viewer_cannot_write() {
        let (service, tenant, other) = (service(), TenantId::generate(), TenantId::generate());
        let created = service
            .create(&admin(tenant), new_item(tenant, "lamp"), None)
            .await
            .unwrap()
            .item;
        let intruder = admin(other);
        assert!(matches!(
            service.get(&intruder, tenant, created.id).await,
            Err(GetItemError::NotFound(_))
        ));
        assert!(matches!(
            service
                .delete(&intruder, tenant, created.id, ExpectedVersion::Any)
                .await,
            Err(DeleteItemError::NotFound(_))
        ));
        assert!(matches!(
            service
                .create(&intruder, new_item(tenant, "planted"), None)
                .await,
            Err(CreateItemError::TenantNotFound(_))
        ));
        let viewer = Principal::new("reader", tenant.as_uuid(), [Role::Viewer]);
        assert!(service.get(&viewer, tenant, created.id).await.is_ok());
        let refused = service
            .create(&viewer, new_item(tenant, "desk"), None)
            .await
            .unwrap_err();
        assert!(matches!(
            refused,
            CreateItemError::Forbidden(Forbidden {
                permission: Permission::WriteItems,
                ..
            })
        ));
        assert!(matches!(
            service
                .delete(&viewer, tenant, created.id, ExpectedVersion::Any)
                .await,
            Err(DeleteItemError::Forbidden(_))
        ));
    }

    #[tokio::test]
    async fn outside_its_tenant_a_principal_without_the_role_is_told_not_found_not_forbidden() {
        let (service, tenant, other) = (service(), TenantId::generate(), TenantId::generate());
        let created = service
            .create(&admin(tenant), new_item(tenant, "lamp"), None)
            .await
            .unwrap()
            .item;
        let stranger = Principal::new("reader", other.as_uuid(), [Role::Viewer]);
        assert!(matches!(
            service.authorize_create(&stranger, tenant),
            Err(CreateItemError::TenantNotFound(_))
        ));
        assert!(matches!(
            service.authorize_update(&stranger, tenant, created.id),
            Err(UpdateItemError::NotFound(_))
        ));
        assert!(matches!(
            service
                .delete(&stranger, tenant, created.id, ExpectedVersion::Any)
                .await,
            Err(DeleteItemError::NotFound(_))
        ));
        let viewer = Principal::new("reader", tenant.as_uuid(), [Role::Viewer]);
        assert!(matches!(
            service.authorize_update(&viewer, tenant, created.id),
            Err(UpdateItemError::Forbidden(_))
        ));
    }

    #[tokio::test]
    async fn a_change_applies_to_any_listed_version_or_to_whatever_version_with_any() {
        let (service, tenant) = (service(), TenantId::generate());
        let id = service
            .create(&admin(tenant), new_item(tenant, "lamp"), None)
            .await
            .unwrap()
            .item
            .id;
        let rename = |name: &str| ItemChanges {
            name: Some(ItemName::parse(name).unwrap()),
            ..ItemChanges::default()
        };
        let listed = ExpectedVersion::OneOf(vec![7, 1]);
        let changed = service
            .update_matching(&admin(tenant), tenant, id, listed, rename("desk lamp"))
            .await
            .unwrap();
        assert_eq!(changed.version, 2);
        let stale = service
            .update_matching(
                &admin(tenant),
                tenant,
                id,
                ExpectedVersion::OneOf(vec![1, 3]),
                rename("floor lamp"),
            )
            .await;
        assert!(matches!(
            stale,
            Err(UpdateItemError::VersionMismatch { current: 2, .. })
        ));
        let none_of_ours = service
            .update_matching(
                &admin(tenant),
                tenant,
                id,
                ExpectedVersion::OneOf(vec![]),
                rename("floor lamp"),
            )
            .await;
        assert!(matches!(
            none_of_ours,
            Err(UpdateItemError::VersionMismatch { .. })
        ));
        let any = service
            .update_matching(
                &admin(tenant),
                tenant,
                id,
                ExpectedVersion::Any,
                rename("floor lamp"),
            )
            .await
            .unwrap();
        assert_eq!((any.version, any.name.as_str()), (3, "floor lamp"));
        let missing = service
            .update_matching(
                &admin(tenant),
                tenant,
                ItemId::generate(),
                ExpectedVersion::Any,
                rename("ghost"),
            )
            .await;
        assert!(matches!(missing, Err(UpdateItemError::NotFound(_))));
    }

    #[tokio::test]
    async fn names_are_unique_per_tenant_not_globally() {
        let (service, tenant, other) = (service(), TenantId::generate(), TenantId::generate());
        service
            .create(&admin(tenant), new_item(tenant, "lamp"), None)
            .await
            .unwrap();
        let error = service
            .create(&admin(tenant), new_item(tenant, "lamp"), None)
            .await
            .unwrap_err();
        assert!(matches!(error, CreateItemError::Duplicate(name) if name.as_str() == "lamp"));
        assert!(
            service
                .create(&admin(other), new_item(other, "lamp"), None)
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn the_same_idempotency_key_creates_once() {
        let (service, tenant) = (service(), TenantId::generate());
        let key = Idempotency {
            key: IdempotencyKey::parse("k-1").unwrap(),
            fingerprint: "body-a".to_owned(),
        };
        let first = service
            .create(&admin(tenant), new_item(tenant, "lamp"), Some(key.clone()))
            .await
            .unwrap();
        let again = service
            .create(&admin(tenant), new_item(tenant, "lamp"), Some(key.clone()))
            .await
            .unwrap();
        assert!(!first.replayed && again.replayed);
        assert_eq!(first.item, again.item);
        let other_body = Idempotency {
            fingerprint: "body-b".to_owned(),
            ..key
        };
        let error = service
            .create(&admin(tenant), new_item(tenant, "desk"), Some(other_body))
            .await
            .unwrap_err();
        assert!(matches!(error, CreateItemError::IdempotencyKeyReused(_)));
    }

    #[tokio::test]
    async fn a_stale_version_is_refused_and_changes_nothing() {
        let (service, tenant) = (service(), TenantId::generate());
        let item = service
            .create(&admin(tenant), new_item(tenant, "lamp"), None)
            .await
            .unwrap()
            .item;
        let rename = |expected_version, name: &str| UpdateItem {
            tenant_id: tenant,
            id: item.id,
            expected_version,
            changes: ItemChanges {
                name: Some(ItemName::parse(name).unwrap()),
                ..ItemChanges::default()
            },
        };
        let updated = service
            .update(&admin(tenant), rename(1, "desk lamp"))
            .await
            .unwrap();
        assert_eq!((updated.version, updated.name.as_str()), (2, "desk lamp"));
        let error = service
            .update(&admin(tenant), rename(1, "floor lamp"))
            .await
            .unwrap_err();
        assert!(matches!(
            error,
            UpdateItemError::VersionMismatch { current: 2, .. }
        ));
        assert_eq!(
            service
                .get(&admin(tenant), tenant, item.id)
                .await
                .unwrap()
                .name
                .as_str(),
            "desk lamp"
        );
    }

    #[tokio::test]
    async fn deleting_twice_reports_not_found() {
        let (service, tenant) = (service(), TenantId::generate());
        let created = service
            .create(&admin(tenant), new_item(tenant, "lamp"), None)
            .await
            .unwrap()
            .item;
        service
            .delete(&admin(tenant), tenant, created.id, ExpectedVersion::Any)
            .await
            .unwrap();
        let again = service
            .delete(&admin(tenant), tenant, created.id, ExpectedVersion::Any)
            .await;
        assert!(matches!(again, Err(DeleteItemError::NotFound(_))));
    }

    #[tokio::test]
    async fn pages_follow_each_other_without_gaps_in_every_order() {
        let (service, tenant) = (service(), TenantId::generate());
        for name in ["b", "d", "a", "c", "e"] {
            service
                .create(&admin(tenant), new_item(tenant, name), None)
                .await
                .unwrap();
        }
        let walk = |sort| {
            let service = service.clone();
            async move {
                let (mut seen, mut after) = (Vec::new(), None::<ItemCursor>);
                loop {
                    let query = ListItems {
                        tenant_id: tenant,
                        limit: PageSize::new(2).unwrap(),
                        sort,
                        status: None,
                        after,
                    };
                    let page = service.list(&admin(tenant), query).await.unwrap();
                    seen.extend(page.items.iter().map(|item| item.name.as_str().to_owned()));
                    match page.next {
                        Some(next) => after = Some(next),
                        None => return seen,
                    }
                }
            }
        };
        assert_eq!(
            walk(ItemSort::CreatedAscending).await,
            ["b", "d", "a", "c", "e"]
        );
        assert_eq!(
            walk(ItemSort::CreatedDescending).await,
            ["e", "c", "a", "d", "b"]
        );
        assert_eq!(
            walk(ItemSort::NameAscending).await,
            ["a", "b", "c", "d", "e"]
        );
        assert_eq!(
            walk(ItemSort::NameDescending).await,
            ["e", "d", "c", "b", "a"]
        );
    }
}
