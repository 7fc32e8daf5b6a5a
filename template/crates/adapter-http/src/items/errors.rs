//! How the items' domain errors look over HTTP. The only place that decides it: handlers just
//! use `?`.

use domain::items::{CreateItemError, DeleteItemError, GetItemError, ListItemsError};

use crate::problem::{ApiError, Problem};

impl From<CreateItemError> for ApiError {
    fn from(error: CreateItemError) -> Self {
        let problem = match error {
            CreateItemError::Duplicate(name) => {
                Problem::conflict(format!("An item named {:?} already exists.", name.as_str()))
            }
            CreateItemError::Unexpected(cause) => Problem::unexpected(cause.as_ref()),
        };
        problem.into()
    }
}

impl From<GetItemError> for ApiError {
    fn from(error: GetItemError) -> Self {
        let problem = match error {
            GetItemError::NotFound(id) => Problem::not_found(format!("Item {id} does not exist.")),
            GetItemError::Unexpected(cause) => Problem::unexpected(cause.as_ref()),
        };
        problem.into()
    }
}

impl From<ListItemsError> for ApiError {
    fn from(error: ListItemsError) -> Self {
        let problem = match error {
            ListItemsError::Unexpected(cause) => Problem::unexpected(cause.as_ref()),
        };
        problem.into()
    }
}

impl From<DeleteItemError> for ApiError {
    fn from(error: DeleteItemError) -> Self {
        let problem = match error {
            DeleteItemError::NotFound(id) => {
                Problem::not_found(format!("Item {id} does not exist."))
            }
            DeleteItemError::Unexpected(cause) => Problem::unexpected(cause.as_ref()),
        };
        problem.into()
    }
}
