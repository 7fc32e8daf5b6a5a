//! One error enum per operation, so each caller matches exactly the failures that operation
//! can have. Anything the domain cannot name goes into `Unexpected`, which keeps the cause
//! chain for the logs; the HTTP adapter turns it into an opaque 500.

use super::{IdempotencyKey, ItemId, ItemName};
use crate::auth::Forbidden;
use crate::tenants::TenantId;

/// Why an item could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateItemError {
    /// Another item of the tenant already has this name.
    #[error("an item named {name:?} already exists", name = .0.as_str())]
    Duplicate(ItemName),
    /// The tenant does not exist, or is not the principal's.
    #[error("tenant {0} does not exist")]
    TenantNotFound(TenantId),
    /// The idempotency key was already used for a different request.
    #[error("idempotency key {key:?} was used for a different request", key = .0.as_str())]
    IdempotencyKeyReused(IdempotencyKey),
    /// The principal lacks the permission this operation needs.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// A failure the domain does not model (the store is down, a bug...).
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why an item could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GetItemError {
    /// The tenant has no item with this id (whether another tenant has one is not said).
    #[error("item {0} does not exist")]
    NotFound(ItemId),
    /// The principal lacks the permission this operation needs.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// A failure the domain does not model.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why a page of items could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ListItemsError {
    /// The tenant is not the principal's (whether it exists is not said).
    #[error("tenant {0} does not exist")]
    TenantNotFound(TenantId),
    /// The principal lacks the permission this operation needs.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// A failure the domain does not model.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why an item could not be updated.
#[derive(Debug, thiserror::Error)]
pub enum UpdateItemError {
    /// The tenant has no item with this id.
    #[error("item {0} does not exist")]
    NotFound(ItemId),
    /// Someone changed the item since the client read it.
    #[error("item {id} is at version {current}, not {expected}")]
    VersionMismatch {
        /// The item.
        id: ItemId,
        /// The version the client expected.
        expected: i64,
        /// The version it has.
        current: i64,
    },
    /// Another item of the tenant already has the new name.
    #[error("an item named {name:?} already exists", name = .0.as_str())]
    Duplicate(ItemName),
    /// The principal lacks the permission this operation needs.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// A failure the domain does not model.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why an item could not be deleted.
#[derive(Debug, thiserror::Error)]
pub enum DeleteItemError {
    /// The tenant has no item with this id.
    #[error("item {0} does not exist")]
    NotFound(ItemId),
    /// Someone changed the item since the client read it.
    #[error("item {id} is at version {current}, not {expected}")]
    VersionMismatch {
        /// The item.
        id: ItemId,
        /// The version the client expected.
        expected: i64,
        /// The version it has.
        current: i64,
    },
    /// The principal lacks the permission this operation needs.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// A failure the domain does not model.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}
