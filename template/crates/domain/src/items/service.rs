//! The item use cases: the one place that decides what creating, reading, listing and deleting
//! an item means. Adapters call these, never the repository directly, so rules added here
//! (authorization, caching, events) apply to every way in.

use std::sync::Arc;

use tracing::instrument;

use super::{
    CreateItemError, DeleteItemError, GetItemError, Item, ItemId, ItemPage, ItemRepository,
    ListItems, ListItemsError, NewItem,
};

/// Runs the item use cases against whatever repository the composition root gives it.
#[derive(Clone)]
pub struct ItemService {
    repository: Arc<dyn ItemRepository>,
}

impl ItemService {
    /// A service over the given repository.
    pub fn new(repository: Arc<dyn ItemRepository>) -> Self {
        Self { repository }
    }

    /// Creates an item.
    ///
    /// # Errors
    /// See [`CreateItemError`].
    #[instrument(skip_all, fields(item.id = %item.id), err)]
    pub async fn create(&self, item: NewItem) -> Result<Item, CreateItemError> {
        self.repository.create(&item).await
    }

    /// Reads one item.
    ///
    /// # Errors
    /// See [`GetItemError`].
    #[instrument(skip(self), fields(item.id = %id), err)]
    pub async fn get(&self, id: ItemId) -> Result<Item, GetItemError> {
        self.repository.get(id).await
    }

    /// Reads one page of items.
    ///
    /// # Errors
    /// See [`ListItemsError`].
    #[instrument(skip(self), fields(limit = query.limit.get()), err)]
    pub async fn list(&self, query: ListItems) -> Result<ItemPage, ListItemsError> {
        self.repository.list(query).await
    }

    /// Deletes one item.
    ///
    /// # Errors
    /// See [`DeleteItemError`].
    #[instrument(skip(self), fields(item.id = %id), err)]
    pub async fn delete(&self, id: ItemId) -> Result<(), DeleteItemError> {
        self.repository.delete(id).await
    }
}

#[cfg(test)]
mod tests {
    //! The use cases against the in-memory twin of the port: fast, and proof that the domain
    //! runs without any infrastructure.
    use super::*;
    use crate::items::{InMemoryItemRepository, ItemName};

    fn service() -> ItemService {
        ItemService::new(Arc::new(InMemoryItemRepository::default()))
    }

    fn new_item(name: &str) -> NewItem {
        NewItem::new(ItemName::parse(name).unwrap(), None)
    }

    #[tokio::test]
    async fn created_item_can_be_read_back() {
        let service = service();
        let created = service.create(new_item("lamp")).await.unwrap();
        assert_eq!(service.get(created.id).await.unwrap(), created);
        assert_eq!(created.version, 1);
    }

    #[tokio::test]
    async fn duplicate_names_are_refused() {
        let service = service();
        service.create(new_item("lamp")).await.unwrap();
        let error = service.create(new_item("lamp")).await.unwrap_err();
        assert!(matches!(error, CreateItemError::Duplicate(name) if name.as_str() == "lamp"));
    }

    #[tokio::test]
    async fn deleting_twice_reports_not_found() {
        let service = service();
        let created = service.create(new_item("lamp")).await.unwrap();
        service.delete(created.id).await.unwrap();
        assert!(matches!(
            service.delete(created.id).await,
            Err(DeleteItemError::NotFound(_))
        ));
        assert!(matches!(
            service.get(created.id).await,
            Err(GetItemError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn pages_follow_each_other_without_gaps() {
        let service = service();
        for n in 0..5 {
            service
                .create(new_item(&format!("item {n}")))
                .await
                .unwrap();
        }
        let limit = crate::items::PageSize::new(2).unwrap();
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = service.list(ListItems { limit, after }).await.unwrap();
            seen.extend(page.items.iter().map(|item| item.name.as_str().to_owned()));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, ["item 0", "item 1", "item 2", "item 3", "item 4"]);
    }
}
