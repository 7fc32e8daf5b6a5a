//! `ItemRepository` over PostgreSQL. Rows (`ItemRow`) are a type of their own: the domain's
//! `Item` never derives a database trait, and a row that breaks a domain rule is reported as a
//! corrupt row instead of being passed on. Every statement filters on the tenant, and every
//! query is checked against the schema at compile time (`query_as!`, offline data in `.sqlx/`).
//! The description is sensitive: it is sealed with the [`FieldCipher`] before it leaves this
//! module and opened when a row comes back, so the database never holds it in clear.{% if messaging != "none" %}
//! Every change also writes its event to the outbox, in the same transaction (`outbox.rs`).{% endif %}

use anyhow::Context;
use async_trait::async_trait;
use domain::items::{
    CreateItemError, CreatedItem, DeleteItemError, GetItemError, Idempotency, Item, ItemCursor,
    ItemDescription, ItemId, ItemName, ItemPage, ItemRepository, ItemSort, ItemStatus, ListItems,
    ListItemsError, NewItem, UpdateItem, UpdateItemError,
};
{% if messaging != "none" %}use domain::messaging::{ItemEvent, ItemEventType};
{% endif %}use domain::tenants::TenantId;
use sqlx::{Connection, Postgres, Transaction};
use time::OffsetDateTime;
use tracing::instrument;
use uuid::Uuid;

use crate::errors::{is_foreign_key_violation, is_transient, is_unique_violation};
{% if messaging != "none" %}use crate::outbox;
{% endif %}use crate::{MeteredPool, PostgresPools};
use field_cipher::FieldCipher;

/// How often a transaction that lost a race (deadlock, serialization failure) is run again.
const ATTEMPTS: u32 = 3;

/// Items stored in the `items` table.
#[derive(Debug, Clone)]
pub struct PostgresItemRepository {
    primary: MeteredPool,
    reader: MeteredPool,
    cipher: FieldCipher,
}

impl PostgresItemRepository {
    /// A repository writing to the primary and reading lists from the replica when there is
    /// one. Single reads go to the primary: a client that just wrote must read its write.
    #[must_use]
    pub fn new(pools: &PostgresPools, cipher: FieldCipher) -> Self {
        Self {
            primary: pools.metered_primary(),
            reader: pools.metered_reader(),
            cipher,
        }
    }
}

/// A description sealed for a row: (ciphertext, key id), or (None, None) for no description.
fn seal_description(
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

struct ItemRow {
    id: Uuid,
    tenant_id: Uuid,
    name: String,
    description_ciphertext: Option<Vec<u8>>,
    description_key_id: Option<String>,
    status: String,
    version: i64,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl ItemRow {
    /// The domain's item, with its description opened. A row that breaks a domain rule or
    /// does not decrypt is corrupt: an error, never passed on.
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
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn to_items(rows: Vec<ItemRow>, cipher: &FieldCipher) -> anyhow::Result<Vec<Item>> {
    rows.into_iter().map(|row| row.into_item(cipher)).collect()
}

/// A create's failure inside its transaction, before it is known whether to retry.
enum CreateFailure {
    Retry(sqlx::Error),
    Final(CreateItemError),
}

impl CreateFailure {
    fn from_sqlx(error: sqlx::Error, item: &NewItem) -> Self {
        if is_transient(&error) {
            Self::Retry(error)
        } else if is_unique_violation(&error) {
            Self::Final(CreateItemError::Duplicate(item.name.clone()))
        } else if is_foreign_key_violation(&error) {
            Self::Final(CreateItemError::TenantNotFound(item.tenant_id))
        } else {
            Self::Final(CreateItemError::Unexpected(
                anyhow::Error::new(error).context("creating an item"),
            ))
        }
    }
}

impl PostgresItemRepository {
    /// One attempt at a create, in one transaction: claim the idempotency key (a concurrent
    /// request with the same key waits here for this transaction), then insert the item. Any
    /// error rolls both back.
    async fn try_create(
        &self,
        item: &NewItem,
        idempotency: Option<&Idempotency>,
    ) -> Result<CreatedItem, CreateFailure> {
        let failure = |error| CreateFailure::from_sqlx(error, item);
        let mut connection = self.primary.acquire().await.map_err(failure)?;
        let mut transaction = connection.begin().await.map_err(failure)?;
        if let Some(idempotency) = idempotency {
            let claimed = sqlx::query!(
                "INSERT INTO item_idempotency_keys \
                     (tenant_id, idempotency_key, request_fingerprint, item_id) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, idempotency_key) DO NOTHING",
                item.tenant_id.as_uuid(),
                idempotency.key.as_str(),
                idempotency.fingerprint,
                item.id.as_uuid(),
            )
            .execute(&mut *transaction)
            .await
            .map_err(failure)?
            .rows_affected();
            if claimed == 0 {
                return replay(&mut transaction, item.tenant_id, idempotency, &self.cipher).await;
            }
        }
        let (ciphertext, key_id) = seal_description(
            &self.cipher,
            item.tenant_id,
            item.id,
            item.description.as_ref(),
        )
        .map_err(|error| CreateFailure::Final(error.into()))?;
        let row = sqlx::query_as!(
            ItemRow,
            "INSERT INTO items (id, tenant_id, name, description_ciphertext, description_key_id) \
             VALUES ($1, $2, $3, $4, $5) \
             RETURNING id, tenant_id, name, description_ciphertext, description_key_id, status, \
                       version, created_at, updated_at",
            item.id.as_uuid(),
            item.tenant_id.as_uuid(),
            item.name.as_str(),
            ciphertext,
            key_id,
        )
        .fetch_one(&mut *transaction)
        .await
        .map_err(failure)?;
        let item = row
            .into_item(&self.cipher)
            .map_err(|error| CreateFailure::Final(error.into()))?;
{% if messaging != "none" %}        let event = ItemEvent::written(ItemEventType::Created, &item);
        outbox::record(&mut transaction, &event)
            .await
            .map_err(failure)?;
{% endif %}        transaction.commit().await.map_err(failure)?;
        Ok(CreatedItem {
            item,
            replayed: false,
        })
    }
}

/// Answers a retried request from what the first one created, if it really is the same
/// request.
async fn replay(
    transaction: &mut Transaction<'_, Postgres>,
    tenant_id: TenantId,
    idempotency: &Idempotency,
    cipher: &FieldCipher,
) -> Result<CreatedItem, CreateFailure> {
    let unexpected =
        |error: anyhow::Error| CreateFailure::Final(CreateItemError::Unexpected(error));
    let first = sqlx::query!(
        "SELECT request_fingerprint, item_id FROM item_idempotency_keys \
         WHERE tenant_id = $1 AND idempotency_key = $2",
        tenant_id.as_uuid(),
        idempotency.key.as_str(),
    )
    .fetch_one(&mut **transaction)
    .await
    .context("reading an idempotency key")
    .map_err(unexpected)?;
    if first.request_fingerprint != idempotency.fingerprint {
        return Err(CreateFailure::Final(CreateItemError::IdempotencyKeyReused(
            idempotency.key.clone(),
        )));
    }
    let row = sqlx::query_as!(
        ItemRow,
        "SELECT id, tenant_id, name, description_ciphertext, description_key_id, status, \
                version, created_at, updated_at \
         FROM items WHERE id = $1",
        first.item_id,
    )
    .fetch_one(&mut **transaction)
    .await
    .context("reading the item of an idempotency key")
    .map_err(unexpected)?;
    let item = row.into_item(cipher).map_err(unexpected)?;
    Ok(CreatedItem {
        item,
        replayed: true,
    })
}

#[async_trait]
impl ItemRepository for PostgresItemRepository {
    #[instrument(skip_all, fields(db.system.name = "postgresql", item.id = %item.id), err(level = "debug"))]
    async fn create(
        &self,
        item: &NewItem,
        idempotency: Option<&Idempotency>,
    ) -> Result<CreatedItem, CreateItemError> {
        let mut attempt = 1;
        loop {
            match self.try_create(item, idempotency).await {
                Ok(created) => return Ok(created),
                Err(CreateFailure::Final(error)) => return Err(error),
                Err(CreateFailure::Retry(error)) if attempt >= ATTEMPTS => {
                    return Err(CreateItemError::Unexpected(
                        anyhow::Error::new(error).context("creating an item: retries exhausted"),
                    ));
                }
                Err(CreateFailure::Retry(error)) => {
                    tracing::warn!(%error, attempt, "transaction lost a race; running it again");
                    attempt += 1;
                }
            }
        }
    }

    #[instrument(skip(self), fields(db.system.name = "postgresql"), err(level = "debug"))]
    async fn get(&self, tenant_id: TenantId, id: ItemId) -> Result<Item, GetItemError> {
        let mut connection = self.primary.acquire().await.context("reading an item")?;
        let row = sqlx::query_as!(
            ItemRow,
            "SELECT id, tenant_id, name, description_ciphertext, description_key_id, status, \
                version, created_at, updated_at \
             FROM items WHERE tenant_id = $1 AND id = $2",
            tenant_id.as_uuid(),
            id.as_uuid(),
        )
        .fetch_optional(&mut *connection)
        .await
        .context("reading an item")?;
        match row {
            Some(row) => Ok(row.into_item(&self.cipher)?),
            None => Err(GetItemError::NotFound(id)),
        }
    }

    #[instrument(skip_all, fields(db.system.name = "postgresql", sort = ?query.sort), err(level = "debug"))]
    async fn list(&self, query: &ListItems) -> Result<ItemPage, ListItemsError> {
        let tenant = query.tenant_id.as_uuid();
        let status = query.status.map(ItemStatus::as_str);
        // One row more than asked tells whether a next page exists without a COUNT(*).
        let limit = i64::from(query.limit.get()) + 1;
        let (created_at, id) = match &query.after {
            Some(ItemCursor::Created { created_at, id }) => (Some(*created_at), Some(id.as_uuid())),
            _ => (None, None),
        };
        let name = match &query.after {
            Some(ItemCursor::Name(name)) => Some(name.as_str()),
            _ => None,
        };
        let mut connection = self.reader.acquire().await.context("listing items")?;
        let rows = match (query.sort, name) {
            (ItemSort::CreatedAscending, _) => {
                sqlx::query_file_as!(
                    ItemRow,
                    "queries/list_items_created_ascending.sql",
                    tenant,
                    status,
                    created_at,
                    id,
                    limit
                )
                .fetch_all(&mut *connection)
                .await
            }
            (ItemSort::CreatedDescending, _) => {
                sqlx::query_file_as!(
                    ItemRow,
                    "queries/list_items_created_descending.sql",
                    tenant,
                    status,
                    created_at,
                    id,
                    limit
                )
                .fetch_all(&mut *connection)
                .await
            }
            (ItemSort::NameAscending, name) => {
                sqlx::query_file_as!(
                    ItemRow,
                    "queries/list_items_name_ascending.sql",
                    tenant,
                    status,
                    name,
                    limit
                )
                .fetch_all(&mut *connection)
                .await
            }
            (ItemSort::NameDescending, Some(name)) => {
                sqlx::query_file_as!(
                    ItemRow,
                    "queries/list_items_name_descending.sql",
                    tenant,
                    status,
                    name,
                    limit
                )
                .fetch_all(&mut *connection)
                .await
            }
            (ItemSort::NameDescending, None) => {
                sqlx::query_file_as!(
                    ItemRow,
                    "queries/list_items_name_descending_first.sql",
                    tenant,
                    status,
                    limit
                )
                .fetch_all(&mut *connection)
                .await
            }
        }
        .context("listing items")?;
        let mut items = to_items(rows, &self.cipher)?;
        let next = if items.len() as i64 >= limit {
            items.pop();
            items.last().map(|item| ItemCursor::after(item, query.sort))
        } else {
            None
        };
        Ok(ItemPage { items, next })
    }

    #[instrument(skip_all, fields(db.system.name = "postgresql", item.id = %update.id), err(level = "debug"))]
    async fn update(&self, update: &UpdateItem) -> Result<Item, UpdateItemError> {
        let changes = &update.changes;
        let mut connection = self.primary.acquire().await.context("updating an item")?;
        // A transaction even for one statement: what else a change writes (its event, with
        // messaging) commits or rolls back with it, and a cancelled call rolls back cleanly.
        let mut transaction = connection.begin().await.context("updating an item")?;
        let (ciphertext, key_id) = seal_description(
            &self.cipher,
            update.tenant_id,
            update.id,
            changes
                .description
                .as_ref()
                .and_then(|description| description.as_ref()),
        )?;
        let row = sqlx::query_as!(
            ItemRow,
            "UPDATE items SET \
                 name = COALESCE($4, name), \
                 description_ciphertext = CASE WHEN $5 THEN $6 ELSE description_ciphertext END, \
                 description_key_id = CASE WHEN $5 THEN $7 ELSE description_key_id END, \
                 status = COALESCE($8, status), \
                 version = version + 1, \
                 updated_at = now() \
             WHERE tenant_id = $1 AND id = $2 AND version = $3 \
             RETURNING id, tenant_id, name, description_ciphertext, description_key_id, status, \
                       version, created_at, updated_at",
            update.tenant_id.as_uuid(),
            update.id.as_uuid(),
            update.expected_version,
            changes.name.as_ref().map(ItemName::as_str),
            changes.description.is_some(),
            ciphertext,
            key_id,
            changes.status.map(ItemStatus::as_str),
        )
        .fetch_optional(&mut *transaction)
        .await
        .map_err(|error| {
            if is_unique_violation(&error) {
                let name = changes.name.clone();
                name.map_or_else(
                    || UpdateItemError::Unexpected(error.into()),
                    UpdateItemError::Duplicate,
                )
            } else {
                UpdateItemError::Unexpected(anyhow::Error::new(error).context("updating an item"))
            }
        })?;
        let item = row.map(|row| row.into_item(&self.cipher)).transpose()?;
{% if messaging != "none" %}        if let Some(item) = &item {
            let event = ItemEvent::written(ItemEventType::Updated, item);
            outbox::record(&mut transaction, &event)
                .await
                .context("updating an item: recording its event")?;
        }
{% endif %}        transaction.commit().await.context("updating an item")?;
        // Back to the pool before the follow-up query takes one.
        drop(connection);
        if let Some(item) = item {
            return Ok(item);
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

    #[instrument(skip(self), fields(db.system.name = "postgresql"), err(level = "debug"))]
    async fn delete(
        &self,
        tenant_id: TenantId,
        id: ItemId,
        expected_version: Option<i64>,
    ) -> Result<i64, DeleteItemError> {
        let mut connection = self.primary.acquire().await.context("deleting an item")?;
        let mut transaction = connection.begin().await.context("deleting an item")?;
        let deleted = sqlx::query_scalar!(
            "DELETE FROM items WHERE tenant_id = $1 AND id = $2 \
             AND ($3::bigint IS NULL OR version = $3) RETURNING version",
            tenant_id.as_uuid(),
            id.as_uuid(),
            expected_version,
        )
        .fetch_optional(&mut *transaction)
        .await
        .context("deleting an item")?;
{% if messaging != "none" %}        if let Some(version) = deleted {
            let event = ItemEvent::deleted(tenant_id.as_uuid(), id.as_uuid(), version);
            outbox::record(&mut transaction, &event)
                .await
                .context("deleting an item: recording its event")?;
        }
{% endif %}        transaction.commit().await.context("deleting an item")?;
        drop(connection);
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

impl PostgresItemRepository {
    /// The item's version, if the tenant has it.
    async fn current_version(
        &self,
        tenant_id: TenantId,
        id: ItemId,
    ) -> anyhow::Result<Option<i64>> {
        let mut connection = self
            .primary
            .acquire()
            .await
            .context("reading an item's version")?;
        sqlx::query_scalar!(
            "SELECT version FROM items WHERE tenant_id = $1 AND id = $2",
            tenant_id.as_uuid(),
            id.as_uuid(),
        )
        .fetch_optional(&mut *connection)
        .await
        .context("reading an item's version")
    }
}
