//! The example resource: `items`. It exists to be copied: a new resource follows the same four
//! files (model, errors, port, use cases) and the matching files in `adapter-postgres` and
//! `adapter-http`. Deleting the example means deleting those files and the wiring lines that
//! name `items` (see the generated README).
//!
//! Nothing here knows HTTP or SQL; the types below are the vocabulary the adapters translate to.

mod errors;
#[cfg(any(test, feature = "in-memory"))]
mod in_memory;
mod model;
mod repository;
mod service;

pub use errors::{CreateItemError, DeleteItemError, GetItemError, ListItemsError, UpdateItemError};
#[cfg(any(test, feature = "in-memory"))]
pub use in_memory::InMemoryItemRepository;
pub use model::{
    CreatedItem, Idempotency, IdempotencyKey, InvalidItem, Item, ItemChanges, ItemCursor,
    ItemDescription, ItemId, ItemName, ItemPage, ItemSort, ItemStatus, ListItems, NewItem,
    PageSize, UpdateItem,
};
pub use repository::ItemRepository;
pub use service::ItemService;
