//! Tenants in GraphQL: read one, create one, and the loader that lets many items name their
//! tenant with one read per distinct tenant instead of one per item (the N+1 problem).

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, InputObject, Object, SimpleObject};
use domain::auth::Principal;
use domain::tenants::{GetTenantError, Tenant, TenantService};
use time::OffsetDateTime;
use uuid::Uuid;

use super::errors::field_error;
use crate::router::AppState;
use crate::tenants::CreateTenantBody;

/// A tenant: the owner of items.
#[derive(SimpleObject, Clone)]
#[graphql(name = "Tenant")]
pub struct TenantNode {
    /// Identity.
    id: Uuid,
    /// Unique name.
    name: String,
    /// When it was created.
    created_at: OffsetDateTime,
}

impl From<Tenant> for TenantNode {
    fn from(tenant: Tenant) -> Self {
        Self {
            id: tenant.id.as_uuid(),
            name: tenant.name.as_str().to_owned(),
            created_at: tenant.created_at,
        }
    }
}

/// The input of `createTenant`.
#[derive(InputObject)]
pub struct CreateTenantInput {
    /// Unique name, 1 to 100 characters after trimming.
    name: String,
}

#[derive(Default)]
pub struct TenantQuery;

#[Object]
impl TenantQuery {
    /// One tenant, if the caller may see it.
    async fn tenant(&self, context: &Context<'_>, id: Uuid) -> async_graphql::Result<TenantNode> {
        let state = context.data_unchecked::<AppState>();
        let principal = context.data_unchecked::<Principal>();
        let tenant = state
            .tenants
            .get(principal, id.into())
            .await
            .map_err(field_error)?;
        Ok(tenant.into())
    }
}

#[derive(Default)]
pub struct TenantMutation;

#[Object]
impl TenantMutation {
    /// Creates a tenant (platform administrators only).
    async fn create_tenant(
        &self,
        context: &Context<'_>,
        input: CreateTenantInput,
    ) -> async_graphql::Result<TenantNode> {
        let state = context.data_unchecked::<AppState>();
        let principal = context.data_unchecked::<Principal>();
        let body = CreateTenantBody { name: input.name };
        let new_tenant = body.into_domain().map_err(field_error)?;
        let tenant = state
            .tenants
            .create(principal, new_tenant)
            .await
            .map_err(field_error)?;
        Ok(tenant.into())
    }
}

/// Reads tenants for one request, as that request's caller. Within one batch, each tenant is
/// read once however many items name it; a tenant the caller may not see is simply absent.
pub(crate) struct TenantLoader {
    tenants: TenantService,
    principal: Principal,
}

/// A loader for one request: it reads as that request's caller, and caches nothing across
/// requests (authorization is checked again every time).
pub(crate) fn loader(state: &AppState, principal: &Principal) -> DataLoader<TenantLoader> {
    let loader = TenantLoader {
        tenants: state.tenants.clone(),
        principal: principal.clone(),
    };
    DataLoader::new(loader, tokio::spawn)
}

impl Loader<Uuid> for TenantLoader {
    type Value = TenantNode;
    type Error = Arc<async_graphql::Error>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, TenantNode>, Self::Error> {
        let mut found = HashMap::with_capacity(keys.len());
        // The keys are distinct, and the items of one query share a tenant: one read, usually.
        for id in keys {
            match self.tenants.get(&self.principal, (*id).into()).await {
                Ok(tenant) => {
                    found.insert(*id, TenantNode::from(tenant));
                }
                Err(GetTenantError::NotFound(_) | GetTenantError::Forbidden(_)) => {}
                Err(error) => return Err(Arc::new(field_error(error))),
            }
        }
        Ok(found)
    }
}
