//! The cache port for items, named by role. Adapters: `RedisItemCache` (shared by every
//! replica) and `MemoryItemCache` (in-process, for tests and for running without Redis).
//!
//! A cache is never the system of record. Every method may fail and the use cases must carry
//! on without it; entries carry the item's version so an older copy can never overwrite a
//! newer one, whatever order concurrent readers and writers reach the cache in.

use async_trait::async_trait;

use super::{Item, ItemId};
use crate::cache::CacheError;
use crate::tenants::TenantId;

/// A shared, expiring copy of items.
#[async_trait]
pub trait ItemCache: Send + Sync {
    /// The cached item, if there is a live entry for it.
    ///
    /// # Errors
    /// [`CacheError`] when the cache cannot be read.
    async fn get(&self, tenant_id: TenantId, id: ItemId) -> Result<Option<Item>, CacheError>;

    /// Stores `item`, unless the entry already holds the same or a newer version (or a
    /// deletion of one), so a slow reader cannot put back an outdated copy.
    ///
    /// # Errors
    /// [`CacheError`] when the cache cannot be written.
    async fn put(&self, item: &Item) -> Result<(), CacheError>;

    /// Records that the item was deleted at `version`: reads miss, and older copies are
    /// refused by [`ItemCache::put`] until the entry expires.
    ///
    /// # Errors
    /// [`CacheError`] when the cache cannot be written.
    async fn forget(&self, tenant_id: TenantId, id: ItemId, version: i64)
    -> Result<(), CacheError>;
}
