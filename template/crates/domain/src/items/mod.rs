//! The example resource: `items`. It exists to be copied: a new resource follows the same
//! files (model, errors, ports, use cases) and the matching files in `adapter-postgres` and
//! `adapter-http`. Deleting the example means deleting those files and the wiring lines that
//! name `items` (see the generated README).
//!
//! Nothing here knows HTTP or SQL; the types below are the vocabulary the adapters translate to.

mod cache;
#[cfg(test)]
mod cancellation_tests;
mod errors;
#[cfg(any(test, feature = "in-memory"))]
mod in_memory;
#[cfg(any(test, feature = "in-memory"))]
mod in_memory_cache;
#[cfg(any(test, feature = "in-memory"))]
mod in_memory_notifier;
mod model;
mod notifier;
mod repository;
mod service;

pub use crate::cache::CacheError;
pub use crate::idempotency::{Idempotency, IdempotencyKey};
pub use crate::paging::PageSize;
pub use cache::ItemCache;
pub use errors::{CreateItemError, DeleteItemError, GetItemError, ListItemsError, UpdateItemError};
#[cfg(any(test, feature = "in-memory"))]
pub use in_memory::InMemoryItemRepository;
#[cfg(any(test, feature = "in-memory"))]
pub use in_memory_cache::InMemoryItemCache;
#[cfg(any(test, feature = "in-memory"))]
pub use in_memory_notifier::RecordingItemNotifier;
pub use model::{
    CreatedItem, ExpectedVersion, InvalidItem, Item, ItemChanges, ItemCursor, ItemDescription,
    ItemId, ItemName, ItemPage, ItemSort, ItemStatus, ListItems, NewItem, UpdateItem,
};
pub use notifier::{ItemNotifier, NotifyError};
pub use repository::ItemRepository;
pub use service::{ItemService, NEWEST_FIRST};
