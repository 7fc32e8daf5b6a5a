//! An in-memory twin of [`ItemRepository`], for tests of the use cases and of the HTTP adapter
//! that should not need a database. It follows the same contract as the PostgreSQL adapter
//! (tenant isolation, unique names per tenant, versions, idempotency keys, keyset pages) but
//! keeps nothing across restarts and knows no tenants table (any tenant id exists): never wire
//! it into a running service. Compiled only with the `in-memory` feature or in this crate's tests.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{
    CreateItemError, CreatedItem, DeleteItemError, GetItemError, Idempotency, IdempotencyKey, Item,
    ItemCursor, ItemId, ItemPage, ItemRepository, ItemSort, ListItems, ListItemsError, NewItem,
    UpdateItem, UpdateItemError,
};
use crate::tenants::TenantId;

#[derive(Debug, Default)]
struct State {
    items: HashMap<ItemId, Item>,
    keys: HashMap<(TenantId, IdempotencyKey), (String, ItemId)>,
}

/// Items in a map.
#[derive(Debug, Default)]
pub struct InMemoryItemRepository {
    state: Mutex<State>,
}

impl InMemoryItemRepository {
    fn state(&self) -> MutexGuard<'_, State> {
        // Every change below is complete before the guard drops, so a poisoned lock still
        // guards consistent data.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn owned(state: &State, tenant_id: TenantId, id: ItemId) -> Option<&Item> {
    state
        .items
        .get(&id)
        .filter(|item| item.tenant_id == tenant_id)
}

fn name_taken(state: &State, item: &Item) -> bool {
    state.items.values().any(|other| {
        other.tenant_id == item.tenant_id && other.name == item.name && other.id != item.id
    })
}

/// Whether `item` comes strictly after `cursor` in `sort` order.
fn is_after(item: &Item, cursor: &ItemCursor, sort: ItemSort) -> bool {
    match (cursor, sort) {
        (ItemCursor::Created { created_at, id }, ItemSort::CreatedAscending) => {
            (item.created_at, item.id) > (*created_at, *id)
        }
        (ItemCursor::Created { created_at, id }, ItemSort::CreatedDescending) => {
            (item.created_at, item.id) < (*created_at, *id)
        }
        (ItemCursor::Name(name), ItemSort::NameAscending) => item.name.as_str() > name.as_str(),
        (ItemCursor::Name(name), ItemSort::NameDescending) => item.name.as_str() < name.as_str(),
        _ => false,
    }
}

#[async_trait]
impl ItemRepository for InMemoryItemRepository {
    async fn create(
        &self,
        item: &NewItem,
        idempotency: Option<&Idempotency>,
    ) -> Result<CreatedItem, CreateItemError> {
        let mut state = self.state();
        if let Some(idempotency) = idempotency {
            let slot = (item.tenant_id, idempotency.key.clone());
            if let Some((fingerprint, id)) = state.keys.get(&slot) {
                if *fingerprint != idempotency.fingerprint {
                    return Err(CreateItemError::IdempotencyKeyReused(
                        idempotency.key.clone(),
                    ));
                }
                // Deleting an item drops its keys, so the item is always there; say so
                // rather than panic if that ever changes.
                let item = state.items.get(id).cloned().ok_or_else(|| {
                    CreateItemError::Unexpected(anyhow::anyhow!("idempotency key without item"))
                })?;
                return Ok(CreatedItem {
                    item,
                    replayed: true,
                });
            }
        }
        let now = OffsetDateTime::now_utc();
        let stored = Item {
            id: item.id,
            tenant_id: item.tenant_id,
            name: item.name.clone(),
            description: item.description.clone(),
            status: super::ItemStatus::Active,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        if name_taken(&state, &stored) {
            return Err(CreateItemError::Duplicate(item.name.clone()));
        }
        state.items.insert(item.id, stored.clone());
        if let Some(idempotency) = idempotency {
            let slot = (item.tenant_id, idempotency.key.clone());
            state
                .keys
                .insert(slot, (idempotency.fingerprint.clone(), item.id));
        }
        Ok(CreatedItem {
            item: stored,
            replayed: false,
        })
    }

    async fn get(&self, tenant_id: TenantId, id: ItemId) -> Result<Item, GetItemError> {
        owned(&self.state(), tenant_id, id)
            .cloned()
            .ok_or(GetItemError::NotFound(id))
    }

    async fn list(&self, query: &ListItems) -> Result<ItemPage, ListItemsError> {
        let state = self.state();
        let mut items: Vec<Item> = state
            .items
            .values()
            .filter(|item| item.tenant_id == query.tenant_id)
            .filter(|item| query.status.is_none_or(|status| item.status == status))
            .filter(|item| {
                query
                    .after
                    .as_ref()
                    .is_none_or(|after| is_after(item, after, query.sort))
            })
            .cloned()
            .collect();
        items.sort_by(|a, b| match query.sort {
            ItemSort::CreatedAscending => (a.created_at, a.id).cmp(&(b.created_at, b.id)),
            ItemSort::CreatedDescending => (b.created_at, b.id).cmp(&(a.created_at, a.id)),
            ItemSort::NameAscending => a.name.as_str().cmp(b.name.as_str()),
            ItemSort::NameDescending => b.name.as_str().cmp(a.name.as_str()),
        });
        let limit = query.limit.get() as usize;
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|item| ItemCursor::after(item, query.sort))
        } else {
            None
        };
        Ok(ItemPage { items, next })
    }

    async fn update(&self, update: &UpdateItem) -> Result<Item, UpdateItemError> {
        let mut state = self.state();
        let current = owned(&state, update.tenant_id, update.id)
            .cloned()
            .ok_or(UpdateItemError::NotFound(update.id))?;
        if current.version != update.expected_version {
            return Err(UpdateItemError::VersionMismatch {
                id: update.id,
                expected: update.expected_version,
                current: current.version,
            });
        }
        let mut changed = current;
        update.changes.apply_to(&mut changed);
        if name_taken(&state, &changed) {
            return Err(UpdateItemError::Duplicate(changed.name));
        }
        changed.version += 1;
        changed.updated_at = OffsetDateTime::now_utc();
        state.items.insert(changed.id, changed.clone());
        Ok(changed)
    }

    async fn delete(
        &self,
        tenant_id: TenantId,
        id: ItemId,
        expected_version: Option<i64>,
    ) -> Result<i64, DeleteItemError> {
        let mut state = self.state();
        let current = owned(&state, tenant_id, id).ok_or(DeleteItemError::NotFound(id))?;
        if let Some(expected) = expected_version.filter(|expected| *expected != current.version) {
            return Err(DeleteItemError::VersionMismatch {
                id,
                expected,
                current: current.version,
            });
        }
        let version = current.version;
        state.items.remove(&id);
        state.keys.retain(|_, (_, item_id)| *item_id != id);
        Ok(version)
    }
}
