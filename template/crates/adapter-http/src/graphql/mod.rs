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
//!
//! One small document can ask for a great deal, so cost comes before work: `cost.rs` sizes
//! each document (fragments measured once) and refuses one past the limits before the schema
//! walks it, every field that reaches storage costs [`STORAGE_COST`] in the schema's own
//! complexity, and each storage call is charged to the caller's rate limit like a REST request.

mod cost;
mod errors;
{% if example %}mod items;
{% endif %}pub mod settings;
{% if example %}mod tenants;
{% endif %}
pub use settings::GraphqlSettings;

use async_graphql::{EmptySubscription, MergedObject, Object, Schema, SchemaBuilder, SimpleObject};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use domain::auth::Principal;
use uuid::Uuid;

use crate::auth::Authenticated;
use crate::extract::ApiJson;
use crate::me::MeResponse;
use crate::problem::{ApiError, Problem};
use crate::rate_limit;
use crate::state::AppState;

/// The complexity every field that reads or writes storage adds to its selection, so that
/// `{ __typename }` under one is never free. With the default `max_complexity` of 1000, one
/// document reaches storage at most 100 times, and each time is charged to the rate limit.
pub const STORAGE_COST: usize = 10;

/// Whether a field of this name reads or writes storage (a repository call per occurrence).
fn reaches_storage(field: &str) -> bool {
{% if example %}    items::STORAGE_FIELDS.contains(&field) || tenants::STORAGE_FIELDS.contains(&field)
{% else %}    // No resource yet: list each resource's storage fields here as you add them.
    let _ = field;
    false
{% endif %}}

/// The schema this service serves.
pub type ApiSchema = Schema<Query, Mutation, EmptySubscription>;

/// Every query field, one object per resource, merged.
#[derive(MergedObject, Default)]
{% if example -%}
pub struct Query(CallerQuery, tenants::TenantQuery, items::ItemQuery);
{% else -%}
pub struct Query(CallerQuery);
{% endif %}
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
        // "Did you mean ...?" would map the schema as surely as introspection.
        builder.disable_introspection().disable_suggestions()
    }
}

/// The schemas a request may run on: the API's, with every limit, and where introspection is
/// on, one that answers introspection only, without the depth limit (tools ask for types
/// `ofType { ofType { ... } }` deeper than any data query needs; `cost.rs` bounds the size).
#[derive(Clone)]
struct Schemas {
    api: ApiSchema,
    introspection: Option<ApiSchema>,
}

/// The route, at its full path (it is not part of the OpenAPI document).
pub(crate) fn routes(settings: &GraphqlSettings) -> Router<AppState> {
    let introspection = settings.introspection.then(|| {
        Schema::build(Query::default(), Mutation::default(), EmptySubscription)
            .introspection_only()
            .limit_complexity(settings.max_complexity)
            .finish()
    });
    Router::new()
        .route("/api/v1/graphql", post(execute))
        .layer(Extension(Schemas {
            api: schema(settings),
            introspection,
        }))
}

/// Runs one GraphQL request as the authenticated caller. A malformed body is a problem+json
/// answer like any REST body; errors inside a well-formed request come back as GraphQL errors
/// (status 200), each carrying its problem in `extensions`. A document past the limits is
/// refused before anything runs; one the caller's rate limit cannot pay for is a 429 problem.
async fn execute(
    State(state): State<AppState>,
    Extension(schemas): Extension<Schemas>,
    Authenticated(principal): Authenticated,
    ApiJson(mut request): ApiJson<async_graphql::Request>,
) -> Response {
    let cost = match measure(&mut request, &state) {
        Ok(cost) => cost,
        Err(refused) => return answer(errors::refusal(refused)),
    };
    // The access guard charged this request once already.
    let extra_calls = cost.storage_calls.saturating_sub(1);
    if let Some(decision) = state.access.limits.spend(
        &rate_limit::Caller::of(&principal),
        u32::try_from(extra_calls).unwrap_or(u32::MAX),
    ) && !decision.allowed
    {
        let mut response = Problem::from_status(StatusCode::TOO_MANY_REQUESTS).into_response();
        decision.write_headers(response.headers_mut());
        return response;
    }
    {% if example %}let loader = tenants::loader(&state, &principal);
    let request = request.data(state).data(principal).data(loader);
{% else %}let request = request.data(state).data(principal);
{% endif %}    let schema = match &schemas.introspection {
        Some(introspection) if cost.introspection => introspection,
        _ => &schemas.api,
    };
    answer(schema.execute(request).await)
}

/// The document's cost, parsed once (the schema reuses the parse).
fn measure(request: &mut async_graphql::Request, state: &AppState) -> Result<cost::Cost, ApiError> {
    cost::check_nesting(&request.query)?;
    let operation = request.operation_name.clone();
    let document = request
        .parsed_query()
        .map_err(|error| Problem::bad_request(error.message))?;
    cost::measure(
        document,
        operation.as_deref(),
        &state.graphql,
        reaches_storage,
    )
}

/// The answer, its errors counted by status class (`graphql_errors_total`): GraphQL answers
/// 200 whatever failed inside, so the error-ratio alert reads this series beside HTTP's.
fn answer(response: async_graphql::Response) -> Response {
    for class in errors::status_classes(&response) {
        metrics::counter!("graphql_errors_total", "status_class" => class).increment(1);
    }
    Json(response).into_response()
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
