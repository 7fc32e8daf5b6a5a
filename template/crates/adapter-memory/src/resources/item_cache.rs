//! `ItemCache` in process memory, on moka: bounded size, time-to-live, and the domain's version
//! rule ([`Cached::replaces`]: an older copy never replaces a newer one or a deletion), applied
//! atomically per key.

use std::time::Duration;

use async_trait::async_trait;
use domain::cache::{CacheError, Cached};
use domain::items::{Item, ItemCache, ItemId};
use domain::tenants::TenantId;
use moka::future::Cache;
use moka::ops::compute::Op;
use tracing::instrument;

use crate::MemoryCacheSettings;

/// Items cached in this process.
#[derive(Debug, Clone)]
pub struct MemoryItemCache {
    entries: Cache<(TenantId, ItemId), Cached<Item>>,
}

impl MemoryItemCache {
    /// A cache sized and timed by `settings`.
    #[must_use]
    pub fn new(settings: &MemoryCacheSettings) -> Self {
        Self::with(settings.capacity, Duration::from_secs(settings.ttl_secs))
    }

    /// A cache of at most `capacity` entries, each living `ttl`.
    #[must_use]
    pub fn with(capacity: u64, ttl: Duration) -> Self {
        Self {
            entries: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
        }
    }

    async fn store(&self, key: (TenantId, ItemId), entry: Cached<Item>) {
        self.entries
            .entry(key)
            .and_compute_with(|current| async move {
                if entry.replaces(current.as_ref().map(|held| held.value())) {
                    Op::Put(entry)
                } else {
                    Op::Nop
                }
            })
            .await;
    }
}

#[async_trait]
impl ItemCache for MemoryItemCache {
    #[instrument(skip(self), fields(cache.backend = "memory"))]
    async fn get(&self, tenant_id: TenantId, id: ItemId) -> Result<Option<Item>, CacheError> {
        let found = self
            .entries
            .get(&(tenant_id, id))
            .await
            .and_then(|entry| entry.record().cloned());
        let outcome = if found.is_some() { "hit" } else { "miss" };
        metrics::counter!("cache_requests_total", "cache" => "items", "backend" => "memory", "result" => outcome)
            .increment(1);
        Ok(found)
    }

    #[instrument(skip_all, fields(cache.backend = "memory", item.id = %item.id))]
    async fn put(&self, item: &Item) -> Result<(), CacheError> {
        let entry = Cached::Present {
            record: item.clone(),
            version: item.version,
        };
        self.store((item.tenant_id, item.id), entry).await;
        Ok(())
    }

    #[instrument(skip(self), fields(cache.backend = "memory"))]
    async fn forget(
        &self,
        tenant_id: TenantId,
        id: ItemId,
        version: i64,
    ) -> Result<(), CacheError> {
        self.store((tenant_id, id), Cached::deleted(version)).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use domain::items::{ItemName, ItemStatus};
    use time::OffsetDateTime;

    use super::*;

    fn item(version: i64) -> Item {
        Item {
            id: ItemId::from(uuid::Uuid::from_u128(1)),
            tenant_id: TenantId::from(uuid::Uuid::from_u128(2)),
            name: ItemName::parse("lamp").unwrap(),
            description: None,
            status: ItemStatus::Active,
            version,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[tokio::test]
    async fn newer_versions_win_and_deletions_stand() {
        let cache = MemoryItemCache::with(100, Duration::from_secs(60));
        let (old, new) = (item(1), item(2));
        cache.put(&new).await.unwrap();
        cache.put(&old).await.unwrap();
        assert_eq!(
            cache
                .get(new.tenant_id, new.id)
                .await
                .unwrap()
                .unwrap()
                .version,
            2
        );
        cache.forget(new.tenant_id, new.id, 2).await.unwrap();
        cache.put(&new).await.unwrap();
        assert!(cache.get(new.tenant_id, new.id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn entries_expire() {
        let cache = MemoryItemCache::with(100, Duration::from_millis(50));
        let item = item(1);
        cache.put(&item).await.unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert!(cache.get(item.tenant_id, item.id).await.unwrap().is_none());
    }
}
