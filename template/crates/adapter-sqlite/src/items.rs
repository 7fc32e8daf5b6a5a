//! `ItemRepository` over SQLite: the same contract as `PostgresItemRepository` (tenant
//! isolation in every statement, unique names per tenant, versions, idempotency keys claimed
//! in the item's transaction, keyset pages, sealed descriptions), in SQLite's dialect.
//!
//! Queries are checked at run time, not compile time: sqlx's compile-time checks need one
//! database per crate, and this crate's guarantee is the storage contract its tests run
//! (`domain::contract`), the same suite the PostgreSQL adapter passes.

use anyhow::Context;
use async_trait::async_trait;
use domain::items::{
    CreateItemError, CreatedItem, DeleteItemError, GetItemError, Idempotency, Item, ItemCursor,
    ItemDescription, ItemId, ItemName, ItemPage, ItemRepository, ItemSort, ItemStatus, ListItems,
    ListItemsError, NewItem, UpdateItem, UpdateItemError,
};
use domain::tenants::TenantId;
use field_cipher::FieldCipher;
use sqlx::error::ErrorKind;
use sqlx::{Sqlite, Transaction};
use tracing::instrument;
use uuid::Uuid;

use crate::{SqliteStore, micros};

/// The columns every item query returns, in [`ItemRow`]'s order.
const COLUMNS: &str = "id, tenant_id, name, description_ciphertext, description_key_id, status, \
                       version, created_at, updated_at";

/// A UNIQUE or PRIMARY KEY constraint refused the write.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    kind(error) == Some(ErrorKind::UniqueViolation)
}

/// A FOREIGN KEY constraint refused the write (the referenced row does not exist).
fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
    kind(error) == Some(ErrorKind::ForeignKeyViolation)
}

fn kind(error: &sqlx::Error) -> Option<ErrorKind> {
    match error {
        sqlx::Error::Database(database) => Some(database.kind()),
        _ => None,
    }
}

/// Items stored in the `items` table of the database file.
#[derive(Debug, Clone)]
pub struct SqliteItemRepository {
    store: SqliteStore,
    cipher: FieldCipher,
}

impl SqliteItemRepository {
    /// A repository over the store, sealing descriptions with `cipher`.
    #[must_use]
    pub fn new(store: &SqliteStore, cipher: FieldCipher) -> Self {
        Self {
            store: store.clone(),
            cipher,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    id: Uuid,
    tenant_id: Uuid,
    name: String,
    description_ciphertext: Option<Vec<u8>>,
    description_key_id: Option<String>,
    status: String,
    version: i64,
    created_at: i64,
    updated_at: i64,
}

impl ItemRow {
    /// The domain's item, with its description opened; a row that breaks a domain rule or
    /// does not decrypt is an error, never passed on.
    fn into_item(self, cipher: &FieldCipher) -> anyhow::Result<Item> {
        let id = self.id;
        let corrupt = |field: &str| format!("corrupt {field} in item {id}");
        let description = match (self.description_ciphertext, self.description_key_id) {
            (Some(sealed), Some(key_id)) => {
                let plain = cipher
                    .open_for_row(&sealed, &key_id, self.tenant_id, self.id)
                    .with_context(|| corrupt("description"))?;
                Some(ItemDescription::parse(&plain).with_context(|| corrupt("description"))?)
            }
            (None, None) => None,
            _ => anyhow::bail!(corrupt("description key id")),
        };
        Ok(Item {
            id: ItemId::from(self.id),
            tenant_id: TenantId::from(self.tenant_id),
            name: ItemName::parse(&self.name).with_context(|| corrupt("name"))?,
            description,
            status: ItemStatus::parse(&self.status).with_context(|| corrupt("status"))?,
            version: self.version,
            created_at: micros::to_time(self.created_at).with_context(|| corrupt("created_at"))?,
            updated_at: micros::to_time(self.updated_at).with_context(|| corrupt("updated_at"))?,
        })
    }
}

/// A description sealed for its row: (ciphertext, key id), or (None, None) for none.
fn seal(
    cipher: &FieldCipher,
    tenant_id: TenantId,
    id: ItemId,
    description: Option<&ItemDescription>,
) -> anyhow::Result<(Option<Vec<u8>>, Option<String>)> {
    let Some(description) = description else {
        return Ok((None, None));
    };
    let sealed = cipher.seal_for_row(description.as_str(), tenant_id.as_uuid(), id.as_uuid())?;
    Ok((Some(sealed.bytes), Some(sealed.key_id)))
}

fn create_error(error: sqlx::Error, item: &NewItem) -> CreateItemError {
    if is_unique_violation(&error) {
        CreateItemError::Duplicate(item.name.clone())
    } else if is_foreign_key_violation(&error) {
        CreateItemError::TenantNotFound(item.tenant_id)
    } else {
        CreateItemError::Unexpected(anyhow::Error::new(error).context("creating an item"))
    }
}

/// Answers a retried request from what the first one created, if it is the same request.
async fn replay(
    transaction: &mut Transaction<'_, Sqlite>,
    tenant_id: TenantId,
    idempotency: &Idempotency,
    cipher: &FieldCipher,
) -> Result<CreatedItem, CreateItemError> {
    let (fingerprint, item_id): (String, Uuid) = sqlx::query_as(
        "SELECT request_fingerprint, item_id FROM item_idempotency_keys \
         WHERE tenant_id = ?1 AND idempotency_key = ?2",
    )
    .bind(tenant_id.as_uuid())
    .bind(idempotency.key.as_str())
    .fetch_one(&mut **transaction)
    .await
    .context("reading an idempotency key")?;
    if fingerprint != idempotency.fingerprint {
        return Err(CreateItemError::IdempotencyKeyReused(
            idempotency.key.clone(),
        ));
    }
    let row: ItemRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM items WHERE id = ?1"
    )))
    .bind(item_id)
    .fetch_one(&mut **transaction)
    .await
    .context("reading the item of an idempotency key")?;
    Ok(CreatedItem {
        item: row.into_item(cipher)?,
        replayed: true,
    })
}

#[async_trait]
impl ItemRepository for SqliteItemRepository {
    #[instrument(skip_all, fields(db.system.name = "sqlite", item.id = %item.id), err(level = "debug"))]
    async fn create(
        &self,
        item: &NewItem,
        idempotency: Option<&Idempotency>,
    ) -> Result<CreatedItem, CreateItemError> {
        let failed = |error| create_error(error, item);
        let (ciphertext, key_id) = seal(
            &self.cipher,
            item.tenant_id,
            item.id,
            item.description.as_ref(),
        )?;
        let now = micros::now();
        let mut connection = self.store.writer().acquire().await.map_err(failed)?;
        // IMMEDIATE takes the write lock now: the key check and the insert see one state.
        let mut transaction = sqlx::Connection::begin_with(&mut *connection, "BEGIN IMMEDIATE")
            .await
            .map_err(failed)?;
        if let Some(idempotency) = idempotency {
            let claimed = sqlx::query(
                "INSERT INTO item_idempotency_keys \
                     (tenant_id, idempotency_key, request_fingerprint, item_id, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (tenant_id, idempotency_key) DO NOTHING",
            )
            .bind(item.tenant_id.as_uuid())
            .bind(idempotency.key.as_str())
            .bind(&idempotency.fingerprint)
            .bind(item.id.as_uuid())
            .bind(now)
            .execute(&mut *transaction)
            .await
            .map_err(failed)?
            .rows_affected();
            if claimed == 0 {
                return replay(&mut transaction, item.tenant_id, idempotency, &self.cipher).await;
            }
        }
        let row: ItemRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO items (id, tenant_id, name, description_ciphertext, description_key_id, \
                                created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING {COLUMNS}"
        )))
        .bind(item.id.as_uuid())
        .bind(item.tenant_id.as_uuid())
        .bind(item.name.as_str())
        .bind(ciphertext)
        .bind(key_id)
        .bind(now)
        .fetch_one(&mut *transaction)
        .await
        .map_err(failed)?;
        transaction.commit().await.map_err(failed)?;
        Ok(CreatedItem {
            item: row.into_item(&self.cipher)?,
            replayed: false,
        })
    }

    #[instrument(skip(self), fields(db.system.name = "sqlite"), err(level = "debug"))]
    async fn get(&self, tenant_id: TenantId, id: ItemId) -> Result<Item, GetItemError> {
        let row: Option<ItemRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM items WHERE tenant_id = ?1 AND id = ?2"
        )))
        .bind(tenant_id.as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(self.store.reader())
        .await
        .context("reading an item")?;
        match row {
            Some(row) => Ok(row.into_item(&self.cipher)?),
            None => Err(GetItemError::NotFound(id)),
        }
    }

    #[instrument(skip_all, fields(db.system.name = "sqlite", sort = ?query.sort), err(level = "debug"))]
    async fn list(&self, query: &ListItems) -> Result<ItemPage, ListItemsError> {
        let sql = list_sql(query.sort);
        let (cursor_key, cursor_id) = match &query.after {
            Some(ItemCursor::Created { created_at, id }) => (
                Some(CursorKey::Micros(micros::from_time(*created_at))),
                Some(id.as_uuid()),
            ),
            Some(ItemCursor::Name(name)) => (Some(CursorKey::Name(name.clone())), None),
            None => (None, None),
        };
        // One row more than asked tells whether a next page exists without a COUNT(*).
        let limit = i64::from(query.limit.get()) + 1;
        let bound = sqlx::query_as::<_, ItemRow>(sqlx::AssertSqlSafe(sql))
            .bind(query.tenant_id.as_uuid())
            .bind(query.status.map(ItemStatus::as_str));
        let bound = match cursor_key {
            Some(CursorKey::Micros(micros)) => bound.bind(Some(micros)),
            Some(CursorKey::Name(name)) => bound.bind(Some(name)),
            None => bound.bind(None::<i64>),
        };
        let rows = bound
            .bind(cursor_id)
            .bind(limit)
            .fetch_all(self.store.reader())
            .await
            .context("listing items")?;
        let mut items = rows
            .into_iter()
            .map(|row| row.into_item(&self.cipher))
            .collect::<anyhow::Result<Vec<Item>>>()?;
        let next = if items.len() as i64 >= limit {
            items.pop();
            items.last().map(|item| ItemCursor::after(item, query.sort))
        } else {
            None
        };
        Ok(ItemPage { items, next })
    }

    #[instrument(skip_all, fields(db.system.name = "sqlite", item.id = %update.id), err(level = "debug"))]
    async fn update(&self, update: &UpdateItem) -> Result<Item, UpdateItemError> {
        let changes = &update.changes;
        let (ciphertext, key_id) = seal(
            &self.cipher,
            update.tenant_id,
            update.id,
            changes
                .description
                .as_ref()
                .and_then(|description| description.as_ref()),
        )?;
        let row: Option<ItemRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE items SET \
                 name = COALESCE(?4, name), \
                 description_ciphertext = CASE WHEN ?5 THEN ?6 ELSE description_ciphertext END, \
                 description_key_id = CASE WHEN ?5 THEN ?7 ELSE description_key_id END, \
                 status = COALESCE(?8, status), \
                 version = version + 1, \
                 updated_at = ?9 \
             WHERE tenant_id = ?1 AND id = ?2 AND version = ?3 \
             RETURNING {COLUMNS}"
        )))
        .bind(update.tenant_id.as_uuid())
        .bind(update.id.as_uuid())
        .bind(update.expected_version)
        .bind(changes.name.as_ref().map(ItemName::as_str))
        .bind(changes.description.is_some())
        .bind(ciphertext)
        .bind(key_id)
        .bind(changes.status.map(ItemStatus::as_str))
        .bind(micros::now())
        .fetch_optional(self.store.writer())
        .await
        .map_err(|error| match &changes.name {
            Some(name) if is_unique_violation(&error) => UpdateItemError::Duplicate(name.clone()),
            _ => UpdateItemError::Unexpected(anyhow::Error::new(error).context("updating an item")),
        })?;
        if let Some(row) = row {
            return Ok(row.into_item(&self.cipher)?);
        }
        // Nothing matched: tell a missing item from a stale version.
        match self.current_version(update.tenant_id, update.id).await? {
            None => Err(UpdateItemError::NotFound(update.id)),
            Some(current) => Err(UpdateItemError::VersionMismatch {
                id: update.id,
                expected: update.expected_version,
                current,
            }),
        }
    }

    #[instrument(skip(self), fields(db.system.name = "sqlite"), err(level = "debug"))]
    async fn delete(
        &self,
        tenant_id: TenantId,
        id: ItemId,
        expected_version: Option<i64>,
    ) -> Result<i64, DeleteItemError> {
        let deleted: Option<i64> = sqlx::query_scalar(
            "DELETE FROM items WHERE tenant_id = ?1 AND id = ?2 \
             AND (?3 IS NULL OR version = ?3) RETURNING version",
        )
        .bind(tenant_id.as_uuid())
        .bind(id.as_uuid())
        .bind(expected_version)
        .fetch_optional(self.store.writer())
        .await
        .context("deleting an item")?;
        if let Some(version) = deleted {
            return Ok(version);
        }
        match (self.current_version(tenant_id, id).await?, expected_version) {
            (Some(current), Some(expected)) => Err(DeleteItemError::VersionMismatch {
                id,
                expected,
                current,
            }),
            _ => Err(DeleteItemError::NotFound(id)),
        }
    }
}

/// The list query for `sort`: ?1 tenant, ?2 status or NULL, ?3 and ?4 the cursor or NULL, ?5
/// the limit. Row values compare (created_at, id) as one key, as the index orders them, so
/// the index serves both the filter and the order (a test reads the query plan).
fn list_sql(sort: ItemSort) -> String {
    let (order, after) = match sort {
        ItemSort::CreatedAscending => ("created_at, id", "(created_at, id) > (?3, ?4)"),
        ItemSort::CreatedDescending => ("created_at DESC, id DESC", "(created_at, id) < (?3, ?4)"),
        ItemSort::NameAscending => ("name", "name > ?3"),
        ItemSort::NameDescending => ("name DESC", "name < ?3"),
    };
    format!(
        "SELECT {COLUMNS} FROM items \
         WHERE tenant_id = ?1 AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR {after}) \
         ORDER BY {order} LIMIT ?5"
    )
}

/// The sort key a cursor continues after: a creation instant or a name.
enum CursorKey {
    Micros(i64),
    Name(String),
}

impl SqliteItemRepository {
    /// The item's version, if the tenant has it. Read on the writer: it must see the write
    /// that just failed to match.
    async fn current_version(
        &self,
        tenant_id: TenantId,
        id: ItemId,
    ) -> anyhow::Result<Option<i64>> {
        sqlx::query_scalar("SELECT version FROM items WHERE tenant_id = ?1 AND id = ?2")
            .bind(tenant_id.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(self.store.writer())
            .await
            .context("reading an item's version")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SqliteMigrations, SqliteSettings};

    #[tokio::test]
    async fn every_list_query_is_served_by_an_index_in_its_order() {
        let folder = std::env::temp_dir().join(format!("plan-{}", Uuid::new_v4().simple()));
        let settings = SqliteSettings {
            path: folder.join("plan.db").display().to_string(),
            max_readers: 1,
            busy_timeout_ms: 1_000,
            acquire_timeout_ms: 1_000,
        };
        let store = SqliteStore::open(&settings).await.unwrap();
        SqliteMigrations::up(&store).await.unwrap();
        for sort in [
            ItemSort::CreatedAscending,
            ItemSort::CreatedDescending,
            ItemSort::NameAscending,
            ItemSort::NameDescending,
        ] {
            let explain = format!("EXPLAIN QUERY PLAN {}", list_sql(sort));
            let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(explain))
                .bind(Uuid::nil())
                .bind(Some("active"))
                .bind(None::<i64>)
                .bind(None::<Uuid>)
                .bind(21_i64)
                .fetch_all(store.reader())
                .await
                .unwrap();
            let plan: Vec<&str> = rows.iter().map(|row| row.3.as_str()).collect();
            assert!(
                plan.iter()
                    .any(|step| step.contains("USING INDEX")
                        || step.contains("USING COVERING INDEX")),
                "{sort:?} scans the table: {plan:?}"
            );
            assert!(
                !plan.iter().any(|step| step.contains("TEMP B-TREE")),
                "{sort:?} sorts in memory instead of reading the index in order: {plan:?}"
            );
        }
        store.close().await;
        std::fs::remove_dir_all(folder).unwrap();
    }
}
