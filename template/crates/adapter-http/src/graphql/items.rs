//! Items in GraphQL: the queries and mutations of the example resource, over the same use cases,
//! parsing, cursors and idempotency rules as the REST endpoints in `crate::items`.
//!
//! Lists are Relay connections (`first`/`after`, forward only, like the REST pages); their
//! cursors are the REST cursors, sealed for the same query, so neither side can forge them.

use async_graphql::connection::{Connection, Edge};
use async_graphql::dataloader::DataLoader;
use async_graphql::{
    ComplexObject, Context, Enum, InputObject, MaybeUndefined, Object, SimpleObject,
};
use domain::auth::Principal;
use domain::items::{ExpectedVersion, Item, ItemStatus, UpdateItem};
use time::OffsetDateTime;
use uuid::Uuid;

use super::STORAGE_COST;
use super::errors::field_error;
use super::tenants::{Lookup, TenantLoader, TenantNode};
use crate::items::body::{CreateItemBody, UpdateItemBody};
use crate::items::create::idempotency;
use crate::items::list::{PageRequest, page_of};
use crate::problem::ApiError;
use crate::state::AppState;

/// The fields of this module that read or write storage (see `super::reaches_storage`).
pub(crate) const STORAGE_FIELDS: [&str; 5] =
    ["item", "items", "createItem", "updateItem", "deleteItem"];

/// An item of a tenant.
#[derive(SimpleObject, Clone)]
#[graphql(name = "Item", complex)]
pub struct ItemNode {
    /// Identity (UUID v7, time-ordered).
    id: Uuid,
    /// The owning tenant's id.
    tenant_id: Uuid,
    /// Name, unique within the tenant.
    name: String,
    /// Free text, when given.
    description: Option<String>,
    /// Whether the item is in use.
    status: ItemState,
    /// Incremented on every change; pass it back as `expectedVersion` to change the item.
    version: i64,
    /// When the item was created.
    created_at: OffsetDateTime,
    /// When the item last changed.
    updated_at: OffsetDateTime,
}

#[ComplexObject]
impl ItemNode {
    /// The owning tenant, read once per request however many items ask for it; absent when
    /// the caller may not see it.
    async fn tenant(&self, context: &Context<'_>) -> async_graphql::Result<Option<TenantNode>> {
        let loader = context.data_unchecked::<DataLoader<TenantLoader>>();
        let found = loader
            .load_one(self.tenant_id)
            .await
            .map_err(|error| async_graphql::Error::clone(&error))?;
        Ok(match found {
            Some(Lookup::Found(tenant)) => Some(tenant),
            Some(Lookup::Refused(_)) | None => None,
        })
    }
}

impl From<Item> for ItemNode {
    fn from(item: Item) -> Self {
        Self {
            id: item.id.as_uuid(),
            tenant_id: item.tenant_id.as_uuid(),
            name: item.name.as_str().to_owned(),
            description: item
                .description
                .map(|description| description.as_str().to_owned()),
            status: item.status.into(),
            version: item.version,
            created_at: item.created_at,
            updated_at: item.updated_at,
        }
    }
}

/// Whether an item is in use.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "ItemStatus")]
pub enum ItemState {
    /// In use.
    Active,
    /// Kept for the record; out of the default view.
    Archived,
}

impl From<ItemStatus> for ItemState {
    fn from(status: ItemStatus) -> Self {
        match status {
            ItemStatus::Active => Self::Active,
            ItemStatus::Archived => Self::Archived,
        }
    }
}

impl ItemState {
    /// The REST spelling, which the shared parsing accepts.
    fn as_str(self) -> &'static str {
        match self {
            Self::Active => ItemStatus::Active.as_str(),
            Self::Archived => ItemStatus::Archived.as_str(),
        }
    }
}

/// The order of a listing.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ItemOrder {
    /// Oldest first (the default where the `items_newest_first` feature flag is off).
    CreatedAscending,
    /// Newest first.
    CreatedDescending,
    /// By name, A to Z.
    NameAscending,
    /// By name, Z to A.
    NameDescending,
}

impl ItemOrder {
    /// The REST `sort` parameter with the same meaning.
    fn as_sort(self) -> &'static str {
        match self {
            Self::CreatedAscending => "createdAt",
            Self::CreatedDescending => "-createdAt",
            Self::NameAscending => "name",
            Self::NameDescending => "-name",
        }
    }
}

/// The input of `createItem`.
#[derive(InputObject)]
pub struct CreateItemInput {
    /// Name, unique within the tenant: 1 to 100 characters after trimming.
    name: String,
    /// Optional free text, at most 1000 characters.
    description: Option<String>,
}

/// The input of `updateItem`: omitted fields stay as they are; `description: null` removes it.
#[derive(InputObject)]
pub struct UpdateItemInput {
    /// A new name.
    name: Option<String>,
    /// A new description, or `null` to remove it.
    description: MaybeUndefined<String>,
    /// A new status.
    status: Option<ItemState>,
}

#[derive(Default)]
pub struct ItemQuery;

#[Object]
impl ItemQuery {
    /// One item of a tenant.
    #[graphql(complexity = "STORAGE_COST + child_complexity")]
    async fn item(
        &self,
        context: &Context<'_>,
        tenant_id: Uuid,
        id: Uuid,
    ) -> async_graphql::Result<ItemNode> {
        let state = context.data_unchecked::<AppState>();
        let principal = context.data_unchecked::<Principal>();
        let item = state
            .items
            .get(principal, tenant_id.into(), id.into())
            .await
            .map_err(field_error)?;
        Ok(item.into())
    }

    /// A tenant's items, one page at a time: pass the last `endCursor` as `after`.
    #[graphql(
        complexity = "usize::try_from(first.unwrap_or(20)).unwrap_or(0).saturating_mul(child_complexity + 1).saturating_add(STORAGE_COST)"
    )]
    async fn items(
        &self,
        context: &Context<'_>,
        tenant_id: Uuid,
        #[graphql(desc = "Page size, 1 to 100 (default 20).")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page, unmodified.")] after: Option<
            String,
        >,
        #[graphql(
            desc = "Order (default: oldest first, or newest first where the `items_newest_first` feature flag is on; with `after`, the order of the page it continues)."
        )]
        order: Option<ItemOrder>,
        #[graphql(desc = "Only items with this status.")] status: Option<ItemState>,
    ) -> async_graphql::Result<Connection<String, ItemNode>> {
        let state = context.data_unchecked::<AppState>();
        let principal = context.data_unchecked::<Principal>();
        let request = PageRequest {
            tenant: tenant_id,
            // A negative size is refused like 0, by the shared check.
            limit: first.map(|first| u32::try_from(first).unwrap_or(0)),
            sort: order.map(ItemOrder::as_sort),
            status: status.map(ItemState::as_str),
            cursor: after.as_deref(),
        };
        let page = page_of(state, principal, &request)
            .await
            .map_err(|error| field_error(argument_names(error)))?;
        let mut connection = Connection::new(after.is_some(), page.has_next);
        connection.edges = page
            .items
            .iter()
            .map(|item| Edge::new(page.cursor_after(item), ItemNode::from(item.clone())))
            .collect();
        Ok(connection)
    }
}

/// The shared listing names REST's parameters; here they are GraphQL arguments.
fn argument_names(error: ApiError) -> ApiError {
    let mut problem = error.problem().clone();
    for field in &mut problem.errors {
        field.pointer = match field.pointer.as_str() {
            "limit" => "first".to_owned(),
            "cursor" => "after".to_owned(),
            "sort" => "order".to_owned(),
            other => other.to_owned(),
        };
    }
    problem.into()
}

#[derive(Default)]
pub struct ItemMutation;

#[Object]
impl ItemMutation {
    /// Creates an item. With an `idempotencyKey`, a retry of the same request returns the same
    /// item and creates nothing.
    #[graphql(complexity = "STORAGE_COST + child_complexity")]
    async fn create_item(
        &self,
        context: &Context<'_>,
        tenant_id: Uuid,
        input: CreateItemInput,
        #[graphql(
            desc = "1-255 visible ASCII characters; retries with the same key and input create nothing new."
        )]
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<ItemNode> {
        let state = context.data_unchecked::<AppState>();
        let principal = context.data_unchecked::<Principal>();
        // Who may, then the input, as over REST.
        state
            .items
            .authorize_create(principal, tenant_id.into())
            .map_err(field_error)?;
        let body = CreateItemBody {
            name: input.name,
            description: input.description,
        };
        let idempotency = idempotency(idempotency_key.as_deref().map(str::as_bytes), &body)
            .map_err(field_error)?;
        let new_item = body.into_domain(tenant_id.into()).map_err(field_error)?;
        let created = state
            .items
            .create(principal, new_item, idempotency)
            .await
            .map_err(field_error)?;
        Ok(created.item.into())
    }

    /// Changes an item the caller has seen at `expectedVersion`; a stale version is refused
    /// (`extensions.status` 412) and nothing changes.
    #[graphql(complexity = "STORAGE_COST + child_complexity")]
    async fn update_item(
        &self,
        context: &Context<'_>,
        tenant_id: Uuid,
        id: Uuid,
        expected_version: i64,
        input: UpdateItemInput,
    ) -> async_graphql::Result<ItemNode> {
        let state = context.data_unchecked::<AppState>();
        let principal = context.data_unchecked::<Principal>();
        // Who may, then the input, as over REST.
        state
            .items
            .authorize_update(principal, tenant_id.into(), id.into())
            .map_err(field_error)?;
        let body = UpdateItemBody {
            name: input.name.map(Some),
            description: match input.description {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(description) => Some(Some(description)),
            },
            status: input.status.map(|status| Some(status.as_str().to_owned())),
        };
        let update = UpdateItem {
            tenant_id: tenant_id.into(),
            id: id.into(),
            expected_version,
            changes: body.into_domain().map_err(field_error)?,
        };
        let item = state
            .items
            .update(principal, update)
            .await
            .map_err(field_error)?;
        Ok(item.into())
    }

    /// Deletes an item (only at `expectedVersion`, when given). Returns its id.
    #[graphql(complexity = "STORAGE_COST + child_complexity")]
    async fn delete_item(
        &self,
        context: &Context<'_>,
        tenant_id: Uuid,
        id: Uuid,
        expected_version: Option<i64>,
    ) -> async_graphql::Result<Uuid> {
        let state = context.data_unchecked::<AppState>();
        let principal = context.data_unchecked::<Principal>();
        let expected = expected_version.map_or(ExpectedVersion::Any, ExpectedVersion::exactly);
        state
            .items
            .delete(principal, tenant_id.into(), id.into(), expected)
            .await
            .map_err(field_error)?;
        Ok(id)
    }
}
