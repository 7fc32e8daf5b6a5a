//! A notifier twin that records what it was told, for the use cases' tests. Compiled only with
//! the `in-memory` feature or in tests.

use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;

use super::{Item, ItemId, ItemNotifier, NotifyError};

/// Remembers the ids of the items it was told about.
#[derive(Debug, Default)]
pub struct RecordingItemNotifier {
    created: Mutex<Vec<ItemId>>,
}

impl RecordingItemNotifier {
    /// The items announced as created, in order.
    pub fn created(&self) -> Vec<ItemId> {
        self.created
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl ItemNotifier for RecordingItemNotifier {
    async fn item_created(&self, item: &Item) -> Result<(), NotifyError> {
        self.created
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(item.id);
        Ok(())
    }
}
