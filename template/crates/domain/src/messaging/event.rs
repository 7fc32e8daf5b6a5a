//! The item event as other services receive it: a versioned envelope whose JSON shape is the
//! contract published in `docs/events/item-event.v1.schema.json` (a test checks they agree).
//! The domain only describes the shape (serde derives); the adapters write and read the bytes.
//! Additive changes (a new optional field) keep the version; anything else is a new version,
//! published beside the old one until every consumer has moved.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::items::Item;

/// The version of the envelope and of its `data`.
pub const SCHEMA_VERSION: u32 = 1;

/// What happened to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ItemEventType {
    /// An item was created.
    #[serde(rename = "item.created")]
    Created,
    /// An item changed (name, description or status).
    #[serde(rename = "item.updated")]
    Updated,
    /// An item was deleted.
    #[serde(rename = "item.deleted")]
    Deleted,
}

impl ItemEventType {
    /// The wire name, also the routing key (`item.created`, ...).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "item.created",
            Self::Updated => "item.updated",
            Self::Deleted => "item.deleted",
        }
    }
}

/// One item event. Consumers deduplicate on `id`: delivery is at least once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemEvent {
    /// The event's identity (UUID v7, time-ordered).
    pub id: Uuid,
    /// What happened.
    #[serde(rename = "type")]
    pub event_type: ItemEventType,
    /// [`SCHEMA_VERSION`] when the event was written.
    pub schema_version: u32,
    /// When the change committed (the transaction's time).
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// The tenant that owns the item.
    pub tenant_id: Uuid,
    /// The item (the aggregate: events of one item are published in order).
    pub item_id: Uuid,
    /// The item's version after the change (for a deletion: the version deleted).
    pub item_version: i64,
    /// The item after the change; absent for a deletion. The description is left out: it is
    /// sensitive (sealed at rest), and a consumer that needs it reads it through the API.
    pub data: Option<ItemEventData>,
}

/// The item's state carried by created and updated events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemEventData {
    /// The item's name.
    pub name: String,
    /// `active` or `archived`.
    pub status: String,
}

impl ItemEvent {
    /// The event for an item just written (`Created` or `Updated`).
    #[must_use]
    pub fn written(event_type: ItemEventType, item: &Item) -> Self {
        Self {
            id: Uuid::now_v7(),
            event_type,
            schema_version: SCHEMA_VERSION,
            occurred_at: item.updated_at,
            tenant_id: item.tenant_id.as_uuid(),
            item_id: item.id.as_uuid(),
            item_version: item.version,
            data: Some(ItemEventData {
                name: item.name.as_str().to_owned(),
                status: item.status.as_str().to_owned(),
            }),
        }
    }

    /// The event for an item just deleted at `version`.
    #[must_use]
    pub fn deleted(tenant_id: Uuid, item_id: Uuid, version: i64) -> Self {
        Self {
            id: Uuid::now_v7(),
            event_type: ItemEventType::Deleted,
            schema_version: SCHEMA_VERSION,
            occurred_at: OffsetDateTime::now_utc(),
            tenant_id,
            item_id,
            item_version: version,
            data: None,
        }
    }
}
