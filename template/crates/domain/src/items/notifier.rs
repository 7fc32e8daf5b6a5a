//! The notification port: tells the outside world that something happened to an item (a
//! webhook, a message broker...). Named by role; `WebhookItemNotifier` is one adapter.
//!
//! Notifying is not part of the write: an item that was created stays created when the
//! notification cannot be sent. Delivery is best effort until events go through an outbox.

use async_trait::async_trait;

use super::Item;

/// Why a notification was not accepted for delivery.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The notifier is saturated (its queue is full) and dropped this one.
    #[error("the notification queue is full")]
    Saturated,
    /// A failure the domain does not model.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Tells others about item events.
#[async_trait]
pub trait ItemNotifier: Send + Sync {
    /// An item was created (called after the creation committed).
    ///
    /// # Errors
    /// [`NotifyError`] when the notification cannot be accepted; the caller logs it and
    /// carries on.
    async fn item_created(&self, item: &Item) -> Result<(), NotifyError>;
}
