//! GraphQL at `POST /api/v1/graphql`: a second way in, over the very use cases REST calls.
//!
//! It exists for clients that want to choose their fields or fetch related objects in one round
//! trip. It sits behind the same middleware stack as REST (authentication, rate limits, body
//! limit, timeout), runs the same use cases with the same principal, and reports the same
//! problems (inside each error's `extensions`, see `errors.rs`). It must not reach a repository
//! or cache itself, nor decide who may do what: the use cases do, for both ways in.
//!
//! The schema is written out to `docs/schema.graphql`; a test fails when the code and that
//! file disagree, so a schema change shows up in review like an OpenAPI change.

{% if example %}mod errors;
mod items;
mod tenants;

{% endif %}use async_graphql::{EmptySubscription, MergedObject, Object, Schema, SchemaBuilder, SimpleObject};
use axum::extract::State;
use axum::routing::post;
use axum::{Extension, Json, Router};
use domain::auth::Principal;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::Authenticated;
use crate::extract::ApiJson;
use crate::me::MeResponse;
use crate::router::AppState;

/// The `[graphql]` section of the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphqlSettings {
    /// Deepest nesting of selections a query may have; deeper ones are refused before they run.
    pub max_depth: usize,
    /// Most fields (connections count their page size) a query may select.
    pub max_complexity: usize,
    /// Whether `__schema` and `__type` answer. Off in production: the committed
    /// `docs/schema.graphql` is the contract, and a live map of it only helps an attacker.
    pub introspection: bool,
}

/// The schema this service serves.
pub type ApiSchema = Schema<Query, Mutation, EmptySubscription>;

/// Every query field, one object per resource, merged.
#[derive(MergedObject, Default)]
pub struct Query(CallerQuery{% if example %}, tenants::TenantQuery, items::ItemQuery{% endif %});

{% if example %}/// Every mutation, one object per resource, merged.
#[derive(MergedObject, Default)]
pub struct Mutation(tenants::TenantMutation, items::ItemMutation);
{% else %}/// No mutations yet: add one object per resource and merge them here, as the queries are.
pub type Mutation = async_graphql::EmptyMutation;
{% endif %}
/// The schema with its limits, ready to serve.
pub fn schema(settings: &GraphqlSettings) -> ApiSchema {
    builder(settings).finish()
}

/// The schema in SDL, as committed in `docs/schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .finish()
        .sdl()
}

fn builder(settings: &GraphqlSettings) -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    let builder = Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .limit_depth(settings.max_depth)
        .limit_complexity(settings.max_complexity);
    if settings.introspection {
        builder
    } else {
        builder.disable_introspection()
    }
}

/// The route, at its full path (it is not part of the OpenAPI document).
pub(crate) fn routes(settings: &GraphqlSettings) -> Router<AppState> {
    Router::new()
        .route("/api/v1/graphql", post(execute))
        .layer(Extension(schema(settings)))
}

/// Runs one GraphQL request as the authenticated caller. A malformed body is a problem+json
/// answer like any REST body; errors inside a well-formed request come back as GraphQL errors
/// (status 200), each carrying its problem in `extensions`.
async fn execute(
    State(state): State<AppState>,
    Extension(schema): Extension<ApiSchema>,
    Authenticated(principal): Authenticated,
    ApiJson(request): ApiJson<async_graphql::Request>,
) -> Json<async_graphql::Response> {
    {% if example %}let loader = tenants::loader(&state, &principal);
    let request = request.data(state).data(principal).data(loader);
{% else %}let request = request.data(state).data(principal);
{% endif %}    Json(schema.execute(request).await)
}

/// Who the caller is, as `GET /api/v1/me` answers it.
#[derive(Default)]
pub struct CallerQuery;

#[Object]
impl CallerQuery {
    /// The authenticated caller: subject, tenant, roles and what they grant.
    async fn me(&self, context: &async_graphql::Context<'_>) -> Caller {
        let me = MeResponse::of(context.data_unchecked::<Principal>());
        Caller {
            subject: me.subject,
            tenant_id: me.tenant_id,
            roles: me.roles,
            permissions: me.permissions,
        }
    }
}

/// The caller, as authenticated.
#[derive(SimpleObject)]
pub struct Caller {
    /// The token's subject.
    subject: String,
    /// The tenant the caller acts for.
    tenant_id: Uuid,
    /// The roles this service recognised in the token (others are ignored).
    roles: Vec<String>,
    /// What those roles grant.
    permissions: Vec<String>,
}
