//! How the items' domain errors look over HTTP. The only place that decides it: handlers just
//! use `?`. An item of another tenant is "not found", never "forbidden": existence must not leak.

use axum::http::StatusCode;
use domain::items::{
    CreateItemError, DeleteItemError, GetItemError, ListItemsError, UpdateItemError,
};

use crate::conditional::stale;
use crate::problem::{ApiError, Problem};

fn item_not_found(id: impl std::fmt::Display) -> Problem {
    Problem::not_found(format!("Item {id} does not exist."))
}

fn duplicate(name: &str) -> Problem {
    Problem::conflict(format!(
        "An item named {name:?} already exists in this tenant."
    ))
}

impl From<CreateItemError> for ApiError {
    fn from(error: CreateItemError) -> Self {
        let problem = match error {
            CreateItemError::Duplicate(name) => duplicate(name.as_str()),
            CreateItemError::TenantNotFound(id) => {
                Problem::not_found(format!("Tenant {id} does not exist."))
            }
            CreateItemError::IdempotencyKeyReused(key) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency key reused",
            )
            .with_detail(format!(
                "Idempotency-Key {:?} was already used with a different body; use a new key for a new request.",
                key.as_str()
            )),
            CreateItemError::Forbidden(forbidden) => return forbidden.into(),
            CreateItemError::Unexpected(cause) => Problem::unexpected(cause.as_ref()),
        };
        problem.into()
    }
}

impl From<GetItemError> for ApiError {
    fn from(error: GetItemError) -> Self {
        let problem = match error {
            GetItemError::NotFound(id) => item_not_found(id),
            GetItemError::Forbidden(forbidden) => return forbidden.into(),
            GetItemError::Unexpected(cause) => Problem::unexpected(cause.as_ref()),
        };
        problem.into()
    }
}

impl From<ListItemsError> for ApiError {
    fn from(error: ListItemsError) -> Self {
        let problem = match error {
            ListItemsError::TenantNotFound(id) => {
                Problem::not_found(format!("Tenant {id} does not exist."))
            }
            ListItemsError::Forbidden(forbidden) => return forbidden.into(),
            ListItemsError::Unexpected(cause) => Problem::unexpected(cause.as_ref()),
        };
        problem.into()
    }
}

impl From<UpdateItemError> for ApiError {
    fn from(error: UpdateItemError) -> Self {
        let problem = match error {
            UpdateItemError::NotFound(id) => item_not_found(id),
            UpdateItemError::VersionMismatch { current, .. } => stale(current),
            UpdateItemError::Duplicate(name) => duplicate(name.as_str()),
            UpdateItemError::Forbidden(forbidden) => return forbidden.into(),
            UpdateItemError::Unexpected(cause) => Problem::unexpected(cause.as_ref()),
        };
        problem.into()
    }
}

impl From<DeleteItemError> for ApiError {
    fn from(error: DeleteItemError) -> Self {
        let problem = match error {
            DeleteItemError::NotFound(id) => item_not_found(id),
            DeleteItemError::VersionMismatch { current, .. } => stale(current),
            DeleteItemError::Forbidden(forbidden) => return forbidden.into(),
            DeleteItemError::Unexpected(cause) => Problem::unexpected(cause.as_ref()),
        };
        problem.into()
    }
}
