//! An in-memory twin of [`ItemRepository`], for tests of the use cases and of the HTTP adapter
//! that should not need a database. It follows the same contract as the PostgreSQL adapter
//! (unique names, oldest-first keyset pages), but keeps nothing across restarts: never wire it
//! into a running service. Compiled only with the `in-memory` feature or in this crate's tests.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{
    CreateItemError, DeleteItemError, GetItemError, Item, ItemId, ItemPage, ItemRepository,
    ListItems, ListItemsError, NewItem,
};

/// Items in a map, ordered by id (ids are time-ordered, so this is creation order).
#[derive(Debug, Default)]
pub struct InMemoryItemRepository {
    items: Mutex<BTreeMap<ItemId, Item>>,
}

impl InMemoryItemRepository {
    fn items(&self) -> MutexGuard<'_, BTreeMap<ItemId, Item>> {
        // A panic while holding the lock cannot leave the map half-updated (every change is a
        // single insert or remove), so a poisoned lock is still safe to use.
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl ItemRepository for InMemoryItemRepository {
    async fn create(&self, item: &NewItem) -> Result<Item, CreateItemError> {
        let mut items = self.items();
        if items.values().any(|existing| existing.name == item.name) {
            return Err(CreateItemError::Duplicate(item.name.clone()));
        }
        let now = OffsetDateTime::now_utc();
        let stored = Item {
            id: item.id,
            name: item.name.clone(),
            description: item.description.clone(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        items.insert(item.id, stored.clone());
        Ok(stored)
    }

    async fn get(&self, id: ItemId) -> Result<Item, GetItemError> {
        self.items()
            .get(&id)
            .cloned()
            .ok_or(GetItemError::NotFound(id))
    }

    async fn list(&self, query: ListItems) -> Result<ItemPage, ListItemsError> {
        let limit = query.limit.get() as usize;
        let mut items: Vec<Item> = self
            .items()
            .values()
            .filter(|item| query.after.is_none_or(|after| item.id > after))
            .take(limit + 1)
            .cloned()
            .collect();
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|item| item.id)
        } else {
            None
        };
        Ok(ItemPage { items, next })
    }

    async fn delete(&self, id: ItemId) -> Result<(), DeleteItemError> {
        match self.items().remove(&id) {
            Some(_) => Ok(()),
            None => Err(DeleteItemError::NotFound(id)),
        }
    }
}
