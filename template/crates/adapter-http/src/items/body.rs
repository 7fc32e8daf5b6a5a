//! The JSON shapes of items on the wire. They are HTTP types, separate from the domain's
//! `Item`: the API can evolve (rename, add links) without touching the domain, and the reverse.

use domain::items::{InvalidItem, Item, ItemDescription, ItemName, NewItem};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::problem::{ApiError, FieldError, Problem};

/// The body of `POST /api/v1/items`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateItemBody {
    /// Unique name, 1 to 100 characters after trimming.
    #[schema(example = "Desk lamp", min_length = 1, max_length = 100)]
    pub name: String,
    /// Optional free text, at most 1000 characters.
    #[serde(default)]
    #[schema(example = "Warm white, 40 cm", max_length = 1000)]
    pub description: Option<String>,
}

impl CreateItemBody {
    /// Parses the body into the domain's command, reporting every invalid field at once.
    pub fn into_domain(self) -> Result<NewItem, ApiError> {
        let name = ItemName::parse(&self.name).map_err(|error| field("/name", &error));
        let description = self
            .description
            .as_deref()
            .map(ItemDescription::parse)
            .transpose()
            .map_err(|error| field("/description", &error));
        match (name, description) {
            (Ok(name), Ok(description)) => Ok(NewItem::new(name, description)),
            (name, description) => {
                let errors = [name.err(), description.err()]
                    .into_iter()
                    .flatten()
                    .collect();
                Err(Problem::validation(errors).into())
            }
        }
    }
}

fn field(pointer: &str, error: &InvalidItem) -> FieldError {
    FieldError {
        pointer: pointer.to_owned(),
        detail: error.to_string(),
    }
}

/// An item as clients see it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemResponse {
    /// Identity (UUID v7, time-ordered).
    pub id: Uuid,
    /// Unique name.
    pub name: String,
    /// Free text, when given.
    pub description: Option<String>,
    /// Incremented on every change.
    pub version: i64,
    /// When the item was created (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// When the item last changed (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<Item> for ItemResponse {
    fn from(item: Item) -> Self {
        Self {
            id: item.id.as_uuid(),
            name: item.name.as_str().to_owned(),
            description: item
                .description
                .map(|description| description.as_str().to_owned()),
            version: item.version,
            created_at: item.created_at,
            updated_at: item.updated_at,
        }
    }
}

/// Links that let a client walk a collection without building URLs.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PageLinks {
    /// This page.
    #[serde(rename = "self")]
    pub this: String,
    /// The next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// One page of items.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ItemPageResponse {
    /// The items, oldest first.
    pub items: Vec<ItemResponse>,
    /// Navigation.
    pub links: PageLinks,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_invalid_field_is_reported_at_once() {
        let body = CreateItemBody {
            name: " ".to_owned(),
            description: Some("x".repeat(1001)),
        };
        let error = body.into_domain().unwrap_err();
        let problem = error.problem();
        assert_eq!(problem.status, 422);
        let pointers: Vec<&str> = problem
            .errors
            .iter()
            .map(|error| error.pointer.as_str())
            .collect();
        assert_eq!(pointers, ["/name", "/description"]);
    }
}
