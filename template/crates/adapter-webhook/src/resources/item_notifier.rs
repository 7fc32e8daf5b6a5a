//! `ItemNotifier` over webhooks: an `item.created` event per new item.

use async_trait::async_trait;
use domain::items::{Item, ItemNotifier, NotifyError};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Webhook;

/// Announces item events to the configured webhook.
#[derive(Debug, Clone)]
pub struct WebhookItemNotifier {
    webhook: Webhook,
}

impl WebhookItemNotifier {
    /// A notifier that queues on `webhook`.
    #[must_use]
    pub fn new(webhook: Webhook) -> Self {
        Self { webhook }
    }
}

#[async_trait]
impl ItemNotifier for WebhookItemNotifier {
    async fn item_created(&self, item: &Item) -> Result<(), NotifyError> {
        // Derived from the item, so the same event always has the same id.
        let event_id = format!("item.created:{}", item.id);
        let occurred_at = item.created_at.format(&Rfc3339).unwrap_or_else(|_| {
            OffsetDateTime::now_utc()
                .format(&Rfc3339)
                .unwrap_or_default()
        });
        let body = json!({
            "type": "item.created",
            "id": event_id,
            "occurredAt": occurred_at,
            "data": {
                "id": item.id.as_uuid(),
                "tenantId": item.tenant_id.as_uuid(),
                "name": item.name.as_str(),
                "status": item.status.as_str(),
                "version": item.version,
            },
        });
        self.webhook
            .enqueue(event_id, "item.created", body)
            .map_err(|_| NotifyError::Saturated)
    }
}
