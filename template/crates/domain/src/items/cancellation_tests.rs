//! The item use cases when the request running them is dropped at an await, as a client that
//! disconnects or a timeout does: what a committed change promised (a fresh cache, its audit
//! line, its announcement) still happens, and a read that starts after a write sees the write.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;

use super::*;
use crate::auth::{Principal, Role};
use crate::tenants::{TenantId, TenantRepository};

/// A cache whose writes wait while the gate is shut: the slow cache write a request can be
/// cancelled in.
struct SlowCacheWrites {
    inner: InMemoryItemCache,
    open: watch::Receiver<bool>,
}

impl SlowCacheWrites {
    async fn wait(&self) {
        let _ = self.open.clone().wait_for(|open| *open).await;
    }
}

#[async_trait]
impl ItemCache for SlowCacheWrites {
    async fn get(&self, tenant_id: TenantId, id: ItemId) -> Result<Option<Item>, CacheError> {
        self.inner.get(tenant_id, id).await
    }

    async fn put(&self, item: &Item) -> Result<(), CacheError> {
        self.wait().await;
        self.inner.put(item).await
    }

    async fn forget(
        &self,
        tenant_id: TenantId,
        id: ItemId,
        version: i64,
    ) -> Result<(), CacheError> {
        self.wait().await;
        self.inner.forget(tenant_id, id, version).await
    }
}

/// A repository whose single reads see the row when called but answer only when the gate is
/// open: the slow query that has already read an old version.
struct SlowReads {
    inner: InMemoryItemRepository,
    open: watch::Receiver<bool>,
    reads: AtomicUsize,
}

#[async_trait]
impl ItemRepository for SlowReads {
    async fn create(
        &self,
        item: &NewItem,
        idempotency: Option<&Idempotency>,
    ) -> Result<CreatedItem, CreateItemError> {
        self.inner.create(item, idempotency).await
    }

    async fn get(&self, tenant_id: TenantId, id: ItemId) -> Result<Item, GetItemError> {
        let read = self.inner.get(tenant_id, id).await;
        self.reads.fetch_add(1, Ordering::SeqCst);
        let _ = self.open.clone().wait_for(|open| *open).await;
        read
    }

    async fn list(&self, query: &ListItems) -> Result<ItemPage, ListItemsError> {
        self.inner.list(query).await
    }

    async fn update(&self, update: &UpdateItem) -> Result<Item, UpdateItemError> {
        self.inner.update(update).await
    }

    async fn delete(
        &self,
        tenant_id: TenantId,
        id: ItemId,
        expected_version: Option<i64>,
    ) -> Result<i64, DeleteItemError> {
        self.inner.delete(tenant_id, id, expected_version).await
    }
}

fn service_over(
    repository: Arc<dyn ItemRepository>,
    cache: Arc<dyn ItemCache>,
    notifier: Arc<dyn ItemNotifier>,
) -> ItemService {
    ItemService::new(
        repository,
        cache,
        notifier,
        Arc::new(crate::flags::AllOff),
        Arc::new(crate::detach::OnTokio),
    )
}

fn admin(tenant: TenantId) -> Principal {
    Principal::new("tester", tenant.as_uuid(), [Role::Admin])
}

fn rename(tenant_id: TenantId, id: ItemId, expected_version: i64, name: &str) -> UpdateItem {
    UpdateItem {
        tenant_id,
        id,
        expected_version,
        changes: ItemChanges {
            name: Some(ItemName::parse(name).unwrap()),
            ..ItemChanges::default()
        },
    }
}

/// Waits (up to a generous bound, so a loaded machine does not fail it) until `condition` holds.
async fn eventually<F: Future<Output = bool>>(mut condition: impl FnMut() -> F) -> bool {
    for _ in 0..400 {
        if condition().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    false
}

/// A use case running in a task of its own, as a request is, so the test can cancel it.
fn request<T: Send + 'static>(
    work: impl Future<Output = T> + Send + 'static,
) -> tokio::task::JoinHandle<T> {
    tokio::spawn(work)
}

/// Every log line this test binary writes, from every thread, as text. Installed once, as the
/// global subscriber: a per-test one would miss events of callsites another test registered.
fn log_lines() -> &'static Mutex<Vec<u8>> {
    static LINES: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LINES.get_or_init(|| {
        #[derive(Clone)]
        struct Lines(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Lines {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                let mut lines = self.0.lock().unwrap_or_else(PoisonError::into_inner);
                lines.extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let lines = Lines(Arc::default());
        let captured = Arc::clone(&lines.0);
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || lines.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        captured
    })
}

/// Whether an audit line records `action` on the item `id`.
fn audited(action: &str, id: ItemId) -> bool {
    let lines = log_lines().lock().unwrap_or_else(PoisonError::into_inner);
    String::from_utf8_lossy(&lines)
        .lines()
        .any(|line| line.contains(action) && line.contains(&format!("item/{id}")))
}

#[tokio::test]
async fn an_update_cancelled_after_its_commit_still_refreshes_the_cache() {
    let (open, gate) = watch::channel(true);
    let repository = Arc::new(InMemoryItemRepository::default());
    let cache = Arc::new(SlowCacheWrites {
        inner: InMemoryItemCache::default(),
        open: gate,
    });
    let service = service_over(
        repository.clone(),
        cache,
        Arc::new(RecordingItemNotifier::default()),
    );
    let tenant = TenantId::generate();
    let new = NewItem::new(tenant, ItemName::parse("lamp").unwrap(), None);
    let id = service
        .create(&admin(tenant), new, None)
        .await
        .unwrap()
        .item
        .id;
    assert_eq!(
        service
            .get(&admin(tenant), tenant, id)
            .await
            .unwrap()
            .version,
        1
    );

    open.send_replace(false);
    let update = request({
        let service = service.clone();
        async move {
            service
                .update(&admin(tenant), rename(tenant, id, 1, "desk lamp"))
                .await
        }
    });
    assert!(
        eventually(|| async { repository.get(tenant, id).await.unwrap().version == 2 }).await,
        "the update commits"
    );
    update.abort();
    open.send_replace(true);

    assert!(
        eventually(|| async {
            service
                .get(&admin(tenant), tenant, id)
                .await
                .unwrap()
                .version
                == 2
        })
        .await,
        "a committed update is what later reads see, even though its request was cancelled"
    );
}

#[tokio::test]
async fn a_delete_cancelled_after_its_commit_still_retires_the_cached_copy() {
    let (open, gate) = watch::channel(true);
    let cache = Arc::new(SlowCacheWrites {
        inner: InMemoryItemCache::default(),
        open: gate,
    });
    let repository = Arc::new(InMemoryItemRepository::default());
    let service = service_over(
        repository.clone(),
        cache,
        Arc::new(RecordingItemNotifier::default()),
    );
    let tenant = TenantId::generate();
    let new = NewItem::new(tenant, ItemName::parse("lamp").unwrap(), None);
    let id = service
        .create(&admin(tenant), new, None)
        .await
        .unwrap()
        .item
        .id;

    open.send_replace(false);
    let delete = request({
        let service = service.clone();
        async move {
            service
                .delete(&admin(tenant), tenant, id, ExpectedVersion::Any)
                .await
        }
    });
    assert!(
        eventually(|| async { repository.get(tenant, id).await.is_err() }).await,
        "the delete commits"
    );
    delete.abort();
    open.send_replace(true);

    assert!(
        eventually(|| async {
            matches!(
                service.get(&admin(tenant), tenant, id).await,
                Err(GetItemError::NotFound(_))
            )
        })
        .await,
        "a deleted item is not served from the cache"
    );
}

#[tokio::test]
async fn a_create_cancelled_after_its_commit_is_still_audited_and_announced() {
    log_lines();
    let (open, gate) = watch::channel(false);
    let repository = Arc::new(InMemoryItemRepository::default());
    let notifier = Arc::new(RecordingItemNotifier::default());
    let service = service_over(
        repository.clone(),
        Arc::new(SlowCacheWrites {
            inner: InMemoryItemCache::default(),
            open: gate,
        }),
        notifier.clone(),
    );
    let tenant = TenantId::generate();
    let new = NewItem::new(tenant, ItemName::parse("lamp").unwrap(), None);
    let id = new.id;
    let create = request({
        let service = service.clone();
        async move { service.create(&admin(tenant), new, None).await }
    });
    assert!(
        eventually(|| async { repository.get(tenant, id).await.is_ok() }).await,
        "the create commits"
    );
    create.abort();
    open.send_replace(true);

    assert!(
        eventually(|| async { notifier.created() == [id] }).await,
        "the creation is announced"
    );
    assert!(
        eventually(|| async { audited("item.create", id) }).await,
        "the creation is audited"
    );
}

#[tokio::test]
async fn a_read_that_starts_after_a_write_never_joins_a_load_from_before_it() {
    let (open, gate) = watch::channel(true);
    let repository = Arc::new(SlowReads {
        inner: InMemoryItemRepository::default(),
        open: gate,
        reads: AtomicUsize::new(0),
    });
    let cache = Arc::new(InMemoryItemCache::default());
    // Every read goes to the repository.
    cache.set_down(true);
    let service = service_over(
        repository.clone(),
        cache,
        Arc::new(RecordingItemNotifier::default()),
    );
    let tenant = TenantId::generate();
    let new = NewItem::new(tenant, ItemName::parse("lamp").unwrap(), None);
    let id = service
        .create(&admin(tenant), new, None)
        .await
        .unwrap()
        .item
        .id;

    open.send_replace(false);
    let before = request({
        let service = service.clone();
        async move { service.get(&admin(tenant), tenant, id).await }
    });
    assert!(eventually(|| async { repository.reads.load(Ordering::SeqCst) == 1 }).await);
    service
        .update(&admin(tenant), rename(tenant, id, 1, "desk lamp"))
        .await
        .unwrap();
    let after = request({
        let service = service.clone();
        async move { service.get(&admin(tenant), tenant, id).await }
    });
    assert!(eventually(|| async { repository.reads.load(Ordering::SeqCst) >= 2 }).await);
    open.send_replace(true);

    assert_eq!(
        before.await.unwrap().unwrap().version,
        1,
        "it began before the write"
    );
    assert_eq!(
        after.await.unwrap().unwrap().version,
        2,
        "a read that began after the write sees it"
    );
}

/// A tenant repository whose creates commit, then wait while the gate is shut: the moment
/// between a commit and its answer, where a request can be cancelled.
struct SlowCreateAnswers {
    inner: crate::tenants::InMemoryTenantRepository,
    open: watch::Receiver<bool>,
}

#[async_trait]
impl crate::tenants::TenantRepository for SlowCreateAnswers {
    async fn create(
        &self,
        tenant: &crate::tenants::NewTenant,
    ) -> Result<crate::tenants::Tenant, crate::tenants::CreateTenantError> {
        let created = self.inner.create(tenant).await;
        let _ = self.open.clone().wait_for(|open| *open).await;
        created
    }

    async fn get(
        &self,
        id: TenantId,
    ) -> Result<crate::tenants::Tenant, crate::tenants::GetTenantError> {
        self.inner.get(id).await
    }
}

#[tokio::test]
async fn a_tenant_created_by_a_cancelled_request_is_still_audited() {
    log_lines();
    let (open, gate) = watch::channel(false);
    let repository = Arc::new(SlowCreateAnswers {
        inner: crate::tenants::InMemoryTenantRepository::default(),
        open: gate,
    });
    let tenants =
        crate::tenants::TenantService::new(repository.clone(), Arc::new(crate::detach::OnTokio));
    let platform = Principal::new("operator", uuid::Uuid::nil(), [Role::PlatformAdmin]);
    let new = crate::tenants::NewTenant::new(crate::tenants::TenantName::parse("Acme").unwrap());
    let id = new.id;
    let create = request(async move { tenants.create(&platform, new).await });
    assert!(
        eventually(|| async { repository.inner.get(id).await.is_ok() }).await,
        "the create commits"
    );
    create.abort();
    open.send_replace(true);

    let audited = || {
        let lines = log_lines().lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&lines).contains(&format!("tenant/{id}"))
    };
    assert!(
        eventually(|| async { audited() }).await,
        "the creation is audited"
    );
}
