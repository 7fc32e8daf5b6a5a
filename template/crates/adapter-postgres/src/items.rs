//! `ItemRepository` over PostgreSQL. Rows (`ItemRow`) are a type of their own: the domain's
//! `Item` never derives a database trait, and a row that breaks a domain rule is reported as a
//! corrupt row instead of being passed on.

use anyhow::Context;
use async_trait::async_trait;
use domain::items::{
    CreateItemError, DeleteItemError, GetItemError, Item, ItemDescription, ItemId, ItemName,
    ItemPage, ItemRepository, ListItems, ListItemsError, NewItem,
};
use sqlx::PgPool;
use time::OffsetDateTime;
use tracing::instrument;
use uuid::Uuid;

/// Items stored in the `items` table.
#[derive(Debug, Clone)]
pub struct PostgresItemRepository {
    pool: PgPool,
}

impl PostgresItemRepository {
    /// A repository over the given pool.
    #[must_use]
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[derive(Debug, sqlx::FromRow)]
struct ItemRow {
    id: Uuid,
    name: String,
    description: Option<String>,
    version: i64,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl TryFrom<ItemRow> for Item {
    type Error = anyhow::Error;

    fn try_from(row: ItemRow) -> Result<Self, Self::Error> {
        let id = row.id;
        Ok(Item {
            id: ItemId::from(row.id),
            name: ItemName::parse(&row.name)
                .with_context(|| format!("corrupt name in item {id}"))?,
            description: row
                .description
                .as_deref()
                .map(ItemDescription::parse)
                .transpose()
                .with_context(|| format!("corrupt description in item {id}"))?,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(database) if database.is_unique_violation())
}

#[async_trait]
impl ItemRepository for PostgresItemRepository {
    #[instrument(skip_all, fields(db.system.name = "postgresql", item.id = %item.id), err)]
    async fn create(&self, item: &NewItem) -> Result<Item, CreateItemError> {
        let row: ItemRow = sqlx::query_as(
            "INSERT INTO items (id, name, description) VALUES ($1, $2, $3) \
             RETURNING id, name, description, version, created_at, updated_at",
        )
        .bind(item.id.as_uuid())
        .bind(item.name.as_str())
        .bind(item.description.as_ref().map(ItemDescription::as_str))
        .fetch_one(&self.pool)
        .await
        .map_err(|error| {
            if is_unique_violation(&error) {
                CreateItemError::Duplicate(item.name.clone())
            } else {
                CreateItemError::Unexpected(anyhow::Error::new(error).context("inserting an item"))
            }
        })?;
        Ok(Item::try_from(row)?)
    }

    #[instrument(skip(self), fields(db.system.name = "postgresql"), err)]
    async fn get(&self, id: ItemId) -> Result<Item, GetItemError> {
        let row: Option<ItemRow> = sqlx::query_as(
            "SELECT id, name, description, version, created_at, updated_at FROM items WHERE id = $1",
        )
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .context("reading an item")?;
        match row {
            Some(row) => Ok(Item::try_from(row)?),
            None => Err(GetItemError::NotFound(id)),
        }
    }

    #[instrument(skip(self), fields(db.system.name = "postgresql"), err)]
    async fn list(&self, query: ListItems) -> Result<ItemPage, ListItemsError> {
        let limit = i64::from(query.limit.get());
        // One row more than asked tells whether a next page exists without a COUNT(*).
        let rows: Vec<ItemRow> = sqlx::query_as(
            "SELECT id, name, description, version, created_at, updated_at FROM items \
             WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2",
        )
        .bind(query.after.map(|after| after.as_uuid()))
        .bind(limit + 1)
        .fetch_all(&self.pool)
        .await
        .context("listing items")?;
        let mut items = rows
            .into_iter()
            .map(Item::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if items.len() as i64 > limit {
            items.pop();
            items.last().map(|item| item.id)
        } else {
            None
        };
        Ok(ItemPage { items, next })
    }

    #[instrument(skip(self), fields(db.system.name = "postgresql"), err)]
    async fn delete(&self, id: ItemId) -> Result<(), DeleteItemError> {
        let deleted = sqlx::query("DELETE FROM items WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&self.pool)
            .await
            .context("deleting an item")?
            .rows_affected();
        if deleted == 0 {
            Err(DeleteItemError::NotFound(id))
        } else {
            Ok(())
        }
    }
}
