//! An in-memory twin of [`ItemCache`] for the use cases' tests: it keeps the version rule
//! (an older copy never overwrites a newer one or a deletion) and can be switched off to play
//! a cache that is down. No expiry. Compiled only with the `in-memory` feature or in tests.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use super::{CacheError, Item, ItemCache, ItemId};
use crate::cache::Cached;
use crate::tenants::TenantId;

type Entries = HashMap<(TenantId, ItemId), Cached<Item>>;

/// Items in a map, with counters a test can read.
#[derive(Debug, Default)]
pub struct InMemoryItemCache {
    entries: Mutex<Entries>,
    down: AtomicBool,
    /// Reads answered from the cache.
    pub hits: AtomicUsize,
    /// Reads the cache could not answer.
    pub misses: AtomicUsize,
}

impl InMemoryItemCache {
    /// Makes every call fail (`true`) or work again (`false`).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn entries(&self) -> Result<MutexGuard<'_, Entries>, CacheError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(CacheError::Unavailable);
        }
        Ok(self.entries.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn store(&self, key: (TenantId, ItemId), entry: Cached<Item>) -> Result<(), CacheError> {
        let mut entries = self.entries()?;
        if entry.replaces(entries.get(&key)) {
            entries.insert(key, entry);
        }
        Ok(())
    }
}

#[async_trait]
impl ItemCache for InMemoryItemCache {
    async fn get(&self, tenant_id: TenantId, id: ItemId) -> Result<Option<Item>, CacheError> {
        let found = self
            .entries()?
            .get(&(tenant_id, id))
            .and_then(Cached::record)
            .cloned();
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::SeqCst);
        Ok(found)
    }

    async fn put(&self, item: &Item) -> Result<(), CacheError> {
        let entry = Cached::Present {
            record: item.clone(),
            version: item.version,
        };
        self.store((item.tenant_id, item.id), entry)
    }

    async fn forget(
        &self,
        tenant_id: TenantId,
        id: ItemId,
        version: i64,
    ) -> Result<(), CacheError> {
        self.store((tenant_id, id), Cached::deleted(version))
    }
}
