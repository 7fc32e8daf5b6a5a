//! The storage port for items, named by role. Adapters (`PostgresItemRepository`) implement it
//! and translate their own errors (a unique violation becomes `Duplicate`) so nothing
//! technology-specific crosses into the domain. Every method takes the tenant: an
//! implementation must never read or change another tenant's rows.

use async_trait::async_trait;

use super::{
    CreateItemError, CreatedItem, DeleteItemError, GetItemError, Idempotency, Item, ItemId,
    ItemPage, ListItems, ListItemsError, NewItem, UpdateItem, UpdateItemError,
};
use crate::tenants::TenantId;

/// Where items live.
#[async_trait]
pub trait ItemRepository: Send + Sync {
    /// Stores a new item (version 1). With `idempotency`, the key is recorded in the same
    /// transaction; a later call with the same key and fingerprint returns the item the first
    /// call created, with `replayed: true`, and writes nothing.
    ///
    /// # Errors
    /// `Duplicate` when the tenant already has an item with the name, `TenantNotFound`,
    /// `IdempotencyKeyReused` when the key came with another fingerprint, `Unexpected`
    /// otherwise. On any error nothing is written.
    async fn create(
        &self,
        item: &NewItem,
        idempotency: Option<&Idempotency>,
    ) -> Result<CreatedItem, CreateItemError>;

    /// Reads one of the tenant's items.
    ///
    /// # Errors
    /// [`GetItemError::NotFound`] when the tenant has no such item; `Unexpected` otherwise.
    async fn get(&self, tenant_id: TenantId, id: ItemId) -> Result<Item, GetItemError>;

    /// Reads one page of the tenant's items.
    ///
    /// # Errors
    /// `Unexpected` when the store fails.
    async fn list(&self, query: &ListItems) -> Result<ItemPage, ListItemsError>;

    /// Applies the changes if the item still has the expected version, and increments it.
    ///
    /// # Errors
    /// `NotFound`, `VersionMismatch` (nothing written), `Duplicate` for a taken name,
    /// `Unexpected` otherwise.
    async fn update(&self, update: &UpdateItem) -> Result<Item, UpdateItemError>;

    /// Deletes one of the tenant's items, if it still has `expected_version` when one is given.
    /// Returns the version it had, so caches can refuse older copies.
    ///
    /// # Errors
    /// `NotFound`, `VersionMismatch`, `Unexpected` otherwise.
    async fn delete(
        &self,
        tenant_id: TenantId,
        id: ItemId,
        expected_version: Option<i64>,
    ) -> Result<i64, DeleteItemError>;
}
