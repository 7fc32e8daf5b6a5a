//! Tenants in GraphQL: read one, create one, and the loader that lets many items name their
//! tenant with one read per distinct tenant instead of one per item (the N+1 problem).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, InputObject, Object, SimpleObject};
use domain::auth::Principal;
use domain::tenants::{GetTenantError, Tenant, TenantService};
use time::OffsetDateTime;
use tokio::task::AbortHandle;
use tracing::Instrument;
use uuid::Uuid;

use super::STORAGE_COST;
use super::errors::field_error;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;
use crate::tenants::body::CreateTenantBody;

/// The fields of this module that read or write storage (see `super::reaches_storage`).
pub(crate) const STORAGE_FIELDS: [&str; 2] = ["tenant", "createTenant"];

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
    /// One tenant, if the caller may see it. Read through the request's loader, so however
    /// many aliases ask for the same tenant, it is read once.
    #[graphql(complexity = "STORAGE_COST + child_complexity")]
    async fn tenant(&self, context: &Context<'_>, id: Uuid) -> async_graphql::Result<TenantNode> {
        let loader = context.data_unchecked::<DataLoader<TenantLoader>>();
        let found = loader
            .load_one(id)
            .await
            .map_err(|error| async_graphql::Error::clone(&error))?;
        match found {
            Some(Lookup::Found(tenant)) => Ok(tenant),
            Some(Lookup::Refused(problem)) => Err(field_error(ApiError::from(problem))),
            None => Err(field_error(ApiError::from(Problem::not_found(format!(
                "tenant {id} does not exist"
            ))))),
        }
    }
}

#[derive(Default)]
pub struct TenantMutation;

#[Object]
impl TenantMutation {
    /// Creates a tenant (platform administrators only).
    #[graphql(complexity = "STORAGE_COST + child_complexity")]
    async fn create_tenant(
        &self,
        context: &Context<'_>,
        input: CreateTenantInput,
    ) -> async_graphql::Result<TenantNode> {
        let state = context.data_unchecked::<AppState>();
        let principal = context.data_unchecked::<Principal>();
        // Who may, then the input, as over REST.
        state
            .tenants
            .authorize_create(principal)
            .map_err(field_error)?;
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
/// read once however many fields name it; a tenant the caller may not see is a refusal the
/// asking field decides about (the root `tenant` reports it, `Item.tenant` is absent).
pub(crate) struct TenantLoader {
    tenants: TenantService,
    principal: Principal,
}

/// What the loader found for one id.
#[derive(Clone)]
pub(crate) enum Lookup {
    /// The tenant, visible to the caller.
    Found(TenantNode),
    /// Not found, or not the caller's: the problem REST would answer.
    Refused(Problem),
}

/// A loader for one request: it reads as that request's caller, and caches nothing across
/// requests (authorization is checked again every time). Its batches are the request's work:
/// they run in the request's trace, and end with it.
pub(crate) fn loader(state: &AppState, principal: &Principal) -> DataLoader<TenantLoader> {
    let loader = TenantLoader {
        tenants: state.tenants.clone(),
        principal: principal.clone(),
    };
    let (batches, span) = (RequestBatches::default(), tracing::Span::current());
    DataLoader::new(loader, move |batch| {
        batches.spawn(batch.instrument(span.clone()));
    })
}

/// The batches a request's loader started. The loader (and this with it) is dropped when the
/// request ends, answered or cancelled; a batch still running then is aborted, since nobody
/// waits for it any more.
#[derive(Default)]
struct RequestBatches(Mutex<Vec<AbortHandle>>);

impl RequestBatches {
    fn spawn(&self, batch: impl Future<Output = ()> + Send + 'static) {
        let task = tokio::spawn(batch).abort_handle();
        let mut running = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        running.retain(|task| !task.is_finished());
        running.push(task);
    }
}

impl Drop for RequestBatches {
    fn drop(&mut self) {
        let running = self.0.get_mut().unwrap_or_else(PoisonError::into_inner);
        for task in running.drain(..) {
            task.abort();
        }
    }
}

impl Loader<Uuid> for TenantLoader {
    type Value = Lookup;
    type Error = Arc<async_graphql::Error>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Lookup>, Self::Error> {
        let mut found = HashMap::with_capacity(keys.len());
        // The keys are distinct, and the items of one query share a tenant: one read, usually.
        for id in keys {
            let lookup = match self.tenants.get(&self.principal, (*id).into()).await {
                Ok(tenant) => Lookup::Found(TenantNode::from(tenant)),
                Err(refused @ (GetTenantError::NotFound(_) | GetTenantError::Forbidden(_))) => {
                    Lookup::Refused(ApiError::from(refused).problem().clone())
                }
                Err(error) => return Err(Arc::new(field_error(error))),
            };
            found.insert(*id, lookup);
        }
        Ok(found)
    }
}
