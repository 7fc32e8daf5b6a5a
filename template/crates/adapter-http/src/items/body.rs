//! The JSON shapes of items on the wire. They are HTTP types, separate from the domain's
//! `Item`: the API can evolve (rename, add links) without touching the domain, and the reverse.

use domain::items::{
    InvalidItem, Item, ItemChanges, ItemDescription, ItemName, ItemStatus, NewItem,
};
use domain::tenants::TenantId;
use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::problem::{ApiError, FieldError, Problem};

/// The body of `POST /api/v1/tenants/{tenantId}/items`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateItemBody {
    /// Name, unique within the tenant: 1 to 100 characters once leading and trailing white
    /// space is trimmed, at least one of them visible, and no control characters.
    #[schema(
        example = "Desk lamp",
        pattern = r"^[\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^ \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\u0000-\u001F\u007F-\u009F](?:[^\u0000-\u001F\u007F-\u009F]{0,98}[^ \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\u0000-\u001F\u007F-\u009F])?[\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$"
    )]
    pub name: String,
    /// Optional free text, at most 1000 characters; no control characters but line breaks
    /// and tabs.
    #[serde(default)]
    #[schema(
        example = "Warm white, 40 cm",
        max_length = 1000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]{0,1000}$"
    )]
    pub description: Option<String>,
}

impl CreateItemBody {
    /// Parses the body into the domain's command, reporting every invalid field at once.
    pub fn into_domain(self, tenant_id: TenantId) -> Result<NewItem, ApiError> {
        let mut errors = Vec::new();
        let name = collect(&mut errors, "/name", ItemName::parse(&self.name));
        let description = self
            .description
            .as_deref()
            .map(ItemDescription::parse)
            .transpose();
        let description = collect(&mut errors, "/description", description);
        match (name, description) {
            (Some(name), Some(description)) if errors.is_empty() => {
                Ok(NewItem::new(tenant_id, name, description))
            }
            _ => Err(Problem::validation(errors).into()),
        }
    }
}

/// The body of `PATCH /api/v1/tenants/{tenantId}/items/{itemId}` (JSON merge patch): absent
/// fields stay as they are; `"description": null` removes the description. At least one member;
/// `name` and `status` cannot be removed, so `null` is refused for them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct UpdateItemBody {
    /// A new name, by the rules of `CreateItemBody.name`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, example = "Floor lamp", pattern = r"^[\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*[^ \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\u0000-\u001F\u007F-\u009F](?:[^\u0000-\u001F\u007F-\u009F]{0,98}[^ \u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\u0000-\u001F\u007F-\u009F])?[\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*$")]
    pub name: Option<Option<String>>,
    /// A new description, or `null` to remove it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 1000, pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]{0,1000}$")]
    pub description: Option<Option<String>>,
    /// A new status.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = StatusName, example = "archived")]
    pub status: Option<Option<String>>,
}

/// The statuses of an item, as the wire spells them.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = ItemStatus)]
pub enum StatusName {
    /// In use.
    Active,
    /// Kept for the record; out of the default view.
    Archived,
}

/// Marks a field that was sent, even as `null`, so `null` can mean "remove".
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

impl UpdateItemBody {
    /// Parses the patch into domain changes, reporting every invalid field at once.
    pub fn into_domain(self) -> Result<ItemChanges, ApiError> {
        let mut errors = Vec::new();
        let name = required(&mut errors, "/name", self.name);
        let name = name.as_deref().map(ItemName::parse).transpose();
        let name = collect(&mut errors, "/name", name).flatten();
        let description = self
            .description
            .map(|description| {
                description
                    .as_deref()
                    .map(ItemDescription::parse)
                    .transpose()
            })
            .transpose();
        let description = collect(&mut errors, "/description", description).flatten();
        let status = required(&mut errors, "/status", self.status);
        let status = status.as_deref().map(ItemStatus::parse).transpose();
        let status = collect(&mut errors, "/status", status).flatten();
        if !errors.is_empty() {
            return Err(Problem::validation(errors).into());
        }
        let changes = ItemChanges {
            name,
            description,
            status,
        };
        if changes == ItemChanges::default() {
            let nothing = FieldError {
                pointer: "/".to_owned(),
                detail: "name at least one field to change".to_owned(),
            };
            return Err(Problem::validation(vec![nothing]).into());
        }
        Ok(changes)
    }
}

/// A member that may be left out but not set to `null` (it cannot be removed): its value, or
/// `None` when absent; a `null` is recorded as refused under `pointer`.
fn required(
    errors: &mut Vec<FieldError>,
    pointer: &str,
    member: Option<Option<String>>,
) -> Option<String> {
    match member {
        Some(Some(value)) => Some(value),
        Some(None) => {
            errors.push(FieldError {
                pointer: pointer.to_owned(),
                detail: "cannot be null: leave the member out to keep the current value".to_owned(),
            });
            None
        }
        None => None,
    }
}

/// Keeps a parsed value, or records why it was refused under `pointer`.
fn collect<T>(
    errors: &mut Vec<FieldError>,
    pointer: &str,
    parsed: Result<T, InvalidItem>,
) -> Option<T> {
    parsed
        .map_err(|error| {
            errors.push(FieldError {
                pointer: pointer.to_owned(),
                detail: error.to_string(),
            })
        })
        .ok()
}

/// An item as clients see it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemResponse {
    /// Identity (UUID v7, time-ordered).
    pub id: Uuid,
    /// The owning tenant.
    pub tenant_id: Uuid,
    /// Name, unique within the tenant.
    pub name: String,
    /// Free text, when given.
    pub description: Option<String>,
    /// Whether the item is in use.
    #[schema(value_type = StatusName, example = "active")]
    pub status: String,
    /// Incremented on every change; also the ETag.
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
            tenant_id: item.tenant_id.as_uuid(),
            name: item.name.as_str().to_owned(),
            description: item
                .description
                .map(|description| description.as_str().to_owned()),
            status: item.status.as_str().to_owned(),
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
    /// The items, in the requested order.
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
        let error = body.into_domain(TenantId::generate()).unwrap_err();
        let pointers: Vec<&str> = error
            .problem()
            .errors
            .iter()
            .map(|error| error.pointer.as_str())
            .collect();
        assert_eq!(pointers, ["/name", "/description"]);
    }

    #[test]
    fn a_patch_tells_null_from_absent() {
        let clear: UpdateItemBody = serde_json::from_str(r#"{"description": null}"#).unwrap();
        assert_eq!(clear.into_domain().unwrap().description, Some(None));
        let keep: UpdateItemBody = serde_json::from_str(r#"{"status": "archived"}"#).unwrap();
        assert_eq!(keep.into_domain().unwrap().description, None);
    }

    #[test]
    fn a_patch_refuses_null_for_members_that_cannot_be_removed() {
        for body in [r#"{"name": null}"#, r#"{"status": null, "name": "lamp"}"#] {
            let patch: UpdateItemBody = serde_json::from_str(body).unwrap();
            assert_eq!(
                patch.into_domain().unwrap_err().problem().status,
                422,
                "{body}"
            );
        }
    }

    #[test]
    fn an_empty_patch_is_refused() {
        let empty: UpdateItemBody = serde_json::from_str("{}").unwrap();
        assert_eq!(empty.into_domain().unwrap_err().problem().status, 422);
    }
}
