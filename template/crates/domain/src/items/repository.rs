//! The storage port for items, named by role. Adapters (`PostgresItemRepository`) implement it
//! and translate their own errors (a unique violation becomes `Duplicate`) so nothing
//! technology-specific crosses into the domain.

use async_trait::async_trait;

use super::{
    CreateItemError, DeleteItemError, GetItemError, Item, ItemId, ItemPage, ListItems,
    ListItemsError, NewItem,
};

/// Where items live.
#[async_trait]
pub trait ItemRepository: Send + Sync {
    /// Stores a new item and returns it as stored (with timestamps and version 1).
    ///
    /// # Errors
    /// [`CreateItemError::Duplicate`] when the name is taken; `Unexpected` for anything else.
    async fn create(&self, item: &NewItem) -> Result<Item, CreateItemError>;

    /// Reads one item.
    ///
    /// # Errors
    /// [`GetItemError::NotFound`] when no item has this id; `Unexpected` for anything else.
    async fn get(&self, id: ItemId) -> Result<Item, GetItemError>;

    /// Reads one page of items, oldest first.
    ///
    /// # Errors
    /// `Unexpected` when the store fails.
    async fn list(&self, query: ListItems) -> Result<ItemPage, ListItemsError>;

    /// Deletes one item.
    ///
    /// # Errors
    /// [`DeleteItemError::NotFound`] when no item has this id; `Unexpected` for anything else.
    async fn delete(&self, id: ItemId) -> Result<(), DeleteItemError>;
}
