//! An in-memory twin of [`ItemCache`] for the use cases' tests: it keeps the version rule
//! (an older copy never overwrites a newer one or a deletion) and can be switched off to play
//! a cache that is down. No expiry. Compiled only with the `in-memory` feature or in tests.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use super::{CacheError, Item, ItemCache, ItemId};
use crate::tenants::TenantId;

/// An entry: the item at a version, or the version at which it was deleted.
#[derive(Debug, Clone)]
enum Entry {
    Present(Item),
    Deleted(i64),
}

impl Entry {
    fn version(&self) -> i64 {
        match self {
            Self::Present(item) => item.version,
            Self::Deleted(version) => *version,
        }
    }
}

type Entries = HashMap<(TenantId, ItemId), Entry>;

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

    fn store(&self, key: (TenantId, ItemId), entry: Entry) -> Result<(), CacheError> {
        let mut entries = self.entries()?;
        if entries
            .get(&key)
            .is_none_or(|current| current.version() < entry.version())
        {
            entries.insert(key, entry);
        }
        Ok(())
    }
}

#[async_trait]
impl ItemCache for InMemoryItemCache {
    async fn get(&self, tenant_id: TenantId, id: ItemId) -> Result<Option<Item>, CacheError> {
        let found = match self.entries()?.get(&(tenant_id, id)) {
            Some(Entry::Present(item)) => Some(item.clone()),
            _ => None,
        };
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::SeqCst);
        Ok(found)
    }

    async fn put(&self, item: &Item) -> Result<(), CacheError> {
        self.store((item.tenant_id, item.id), Entry::Present(item.clone()))
    }

    async fn forget(
        &self,
        tenant_id: TenantId,
        id: ItemId,
        version: i64,
    ) -> Result<(), CacheError> {
        // A deletion outranks the copy of the same version it removed.
        self.store((tenant_id, id), Entry::Deleted(version + 1))
    }
}
