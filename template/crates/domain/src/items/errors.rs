//! One error enum per operation, so each caller matches exactly the failures that operation
//! can have. Anything the domain cannot name goes into `Unexpected`, which keeps the cause
//! chain for the logs; the HTTP adapter turns it into an opaque 500.

use super::{ItemId, ItemName};

/// Why an item could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateItemError {
    /// Another item already has this name.
    #[error("an item named {name:?} already exists", name = .0.as_str())]
    Duplicate(ItemName),
    /// A failure the domain does not model (the store is down, a bug...).
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why an item could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GetItemError {
    /// No item has this id.
    #[error("item {0} does not exist")]
    NotFound(ItemId),
    /// A failure the domain does not model.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why a page of items could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ListItemsError {
    /// A failure the domain does not model.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why an item could not be deleted.
#[derive(Debug, thiserror::Error)]
pub enum DeleteItemError {
    /// No item has this id.
    #[error("item {0} does not exist")]
    NotFound(ItemId),
    /// A failure the domain does not model.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}
