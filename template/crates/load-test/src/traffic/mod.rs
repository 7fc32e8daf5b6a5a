//! The traffic of the example resource: what many tenants' users do with their items.
//!
//! Before the users start, the run creates its tenants (or takes those `LOAD_TEST_TOKENS` names)
//! and gives each some items to read. Each user then acts for one tenant, with a token of its
//! own, and, pausing between actions as a person or a client would, does:
//! - 75%: reads one item (`GET item`);
//! - 15%: reads a page of the list, in one of its orders (`GET items page`);
//! - 10%: writes: half creations (`POST item`), half changes of an item it created before,
//!   read first for its ETag and sent back with `If-Match` (`GET item`, then `PATCH item`), so
//!   two users never race for one version.
//!
//! A response other than the one the API promises (201, 200) is a failed request. [`SLAS`]
//! says which SLA of `TODO_backend-architect.md` holds each kind of request.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use goose::goose::GooseResponse;
use goose::prelude::*;
use uuid::Uuid;

use domain::auth::Role;

use crate::credentials::Credentials;
use crate::slas::Sla;

/// The SLAs this traffic is held to (`slas.rs` turns them into thresholds).
pub const SLAS: [Sla; 4] = [
    Sla {
        request: "GET item",
        class: "single reads",
        p95_ms: 50,
        p99_ms: 100,
    },
    Sla {
        request: "GET items page",
        class: "list pages",
        p95_ms: 125,
        p99_ms: 250,
    },
    Sla {
        request: "POST item",
        class: "writes",
        p95_ms: 125,
        p99_ms: 250,
    },
    Sla {
        request: "PATCH item",
        class: "writes",
        p95_ms: 125,
        p99_ms: 250,
    },
];

/// Tenants the run creates when none are given.
const TENANTS: usize = 4;
/// Items each tenant starts with, for the reads.
const ITEMS_PER_TENANT: usize = 25;

/// One tenant of the run and the items every one of its users may read.
struct Tenant {
    id: Uuid,
    items: Vec<String>,
}

/// What the run shares: who it acts as, and its tenants once they exist.
struct Run {
    credentials: Credentials,
    tenants: OnceLock<Vec<Arc<Tenant>>>,
    failure: OnceLock<String>,
}

static RUN: OnceLock<Run> = OnceLock::new();

/// One simulated user: its tenant, its token and the items it created.
#[derive(Clone)]
struct Session {
    tenant: Arc<Tenant>,
    authorization: Option<String>,
    own: Vec<String>,
    made: usize,
}

/// The run's transactions, weighted, with the think time between them.
///
/// # Errors
/// Never for these constants; goose checks weights and times.
pub fn scenario(credentials: Credentials) -> Result<(Transaction, Scenario), GooseError> {
    let _ = RUN.set(Run {
        credentials,
        tenants: OnceLock::new(),
        failure: OnceLock::new(),
    });
    let scenario = scenario!("tenant user")
        .set_wait_time(Duration::from_millis(50), Duration::from_millis(400))?
        .register_transaction(transaction!(sign_in).set_on_start())
        .register_transaction(transaction!(read_item).set_weight(75)?)
        .register_transaction(transaction!(read_page).set_weight(15)?)
        .register_transaction(transaction!(create_item).set_weight(5)?)
        .register_transaction(transaction!(change_item).set_weight(5)?);
    Ok((transaction!(prepare), scenario))
}

fn run() -> Result<&'static Run, Box<TransactionError>> {
    RUN.get()
        .ok_or_else(|| "the traffic was not set up".to_owned().into())
}

/// Sends `builder` (with `authorization`) as the request named `name`, expecting `status`.
async fn send(
    user: &mut GooseUser,
    name: &str,
    builder: reqwest::RequestBuilder,
    authorization: Option<&str>,
    status: u16,
) -> Result<GooseResponse, Box<TransactionError>> {
    let builder = match authorization {
        Some(value) => builder.header("authorization", value),
        None => builder,
    };
    let request = GooseRequest::builder()
        .set_request_builder(builder)
        .name(name)
        .expect_status_code(status)
        .build();
    user.request(request).await
}

/// A JSON body's field, as text.
async fn field(response: GooseResponse, name: &str) -> Result<String, Box<TransactionError>> {
    let body: serde_json::Value = response.response?.json().await?;
    body[name]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("the response has no {name:?}: {body}").into())
}

/// Creates one item named `name` in `tenant`; returns its path.
async fn create(
    user: &mut GooseUser,
    request_name: &str,
    tenant: Uuid,
    authorization: Option<&str>,
    name: String,
) -> Result<String, Box<TransactionError>> {
    let builder = user
        .get_request_builder(
            &GooseMethod::Post,
            &format!("/api/v1/tenants/{tenant}/items"),
        )?
        .json(&serde_json::json!({
            "name": name,
            "description": "made by the load test, a realistic few words long",
        }));
    let response = send(user, request_name, builder, authorization, 201).await?;
    let id = field(response, "id").await?;
    Ok(format!("/api/v1/tenants/{tenant}/items/{id}"))
}

/// Why the preparation failed, if it did (goose does not stop the run for it).
pub fn preparation_failure() -> Option<String> {
    RUN.get()?.failure.get().cloned()
}

/// Before any user starts: the tenants and their items. A failure is kept for `main`, which
/// exits with it.
async fn prepare(user: &mut GooseUser) -> TransactionResult {
    let outcome = create_tenants_and_items(user).await;
    if let Err(error) = &outcome
        && let Some(run) = RUN.get()
    {
        let _ = run.failure.set(format!("{error}"));
    }
    outcome
}

async fn create_tenants_and_items(user: &mut GooseUser) -> TransactionResult {
    let run = run()?;
    let ids = match run.credentials.given_tenants() {
        Some(given) => given,
        None => {
            let admin = run.credentials.authorization(
                Uuid::nil(),
                "load-test-platform",
                Role::PlatformAdmin,
            )?;
            let mut created = Vec::new();
            for n in 0..TENANTS {
                let builder = user
                    .get_request_builder(&GooseMethod::Post, "/api/v1/tenants")?
                    .json(&serde_json::json!({ "name": format!("load {n} {}", Uuid::new_v4()) }));
                let response = send(user, "setup tenant", builder, admin.as_deref(), 201).await?;
                created.push(
                    Uuid::parse_str(&field(response, "id").await?).map_err(|error| {
                        Box::new(TransactionError::Custom(format!("a tenant id: {error}")))
                    })?,
                );
            }
            created
        }
    };
    let mut tenants = Vec::new();
    for id in ids {
        let authorization = run
            .credentials
            .authorization(id, "load-test-setup", Role::Editor)?;
        let mut items = Vec::new();
        for n in 0..ITEMS_PER_TENANT {
            let name = format!("seed {n} {}", Uuid::new_v4());
            items.push(create(user, "setup item", id, authorization.as_deref(), name).await?);
        }
        tenants.push(Arc::new(Tenant { id, items }));
    }
    let _ = run.tenants.set(tenants);
    Ok(())
}

/// A user's first step: its tenant (users spread over them) and its own token.
async fn sign_in(user: &mut GooseUser) -> TransactionResult {
    let run = run()?;
    let tenants = run
        .tenants
        .get()
        .filter(|tenants| !tenants.is_empty())
        .ok_or_else(|| "no tenant was prepared".to_owned())?;
    let index = user.weighted_users_index;
    let tenant = Arc::clone(&tenants[index % tenants.len()]);
    let subject = format!("load-test-user-{index}");
    let authorization = run
        .credentials
        .authorization(tenant.id, &subject, Role::Editor)?;
    user.set_session_data(Session {
        tenant,
        authorization,
        own: Vec::new(),
        made: 0,
    });
    Ok(())
}

fn session(user: &GooseUser) -> Result<&Session, Box<TransactionError>> {
    user.get_session_data::<Session>()
        .ok_or_else(|| "the user has not signed in".to_owned().into())
}

/// Reads one item: one of the tenant's, or one of the user's own.
async fn read_item(user: &mut GooseUser) -> TransactionResult {
    let (path, authorization) = {
        let session = session(user)?;
        let shared = &session.tenant.items;
        let pick = fastrand::usize(..shared.len() + session.own.len());
        let path = shared
            .get(pick)
            .or_else(|| session.own.get(pick - shared.len()))
            .cloned()
            .ok_or_else(|| "no item to read".to_owned())?;
        (path, session.authorization.clone())
    };
    let builder = user.get_request_builder(&GooseMethod::Get, &path)?;
    send(user, "item", builder, authorization.as_deref(), 200).await?;
    Ok(())
}

/// Reads the first page of the tenant's list, in one of the orders a client would ask for.
async fn read_page(user: &mut GooseUser) -> TransactionResult {
    let (tenant, authorization) = {
        let session = session(user)?;
        (session.tenant.id, session.authorization.clone())
    };
    let order = ["", "&sort=-createdAt", "&sort=name"][fastrand::usize(..3)];
    let path = format!("/api/v1/tenants/{tenant}/items?limit=20{order}");
    let builder = user.get_request_builder(&GooseMethod::Get, &path)?;
    send(user, "items page", builder, authorization.as_deref(), 200).await?;
    Ok(())
}

/// Creates an item of the user's own.
async fn create_item(user: &mut GooseUser) -> TransactionResult {
    let (tenant, authorization, name) = {
        let session = session(user)?;
        let name = format!(
            "user {} item {} {}",
            user.weighted_users_index,
            session.made,
            Uuid::new_v4()
        );
        (session.tenant.id, session.authorization.clone(), name)
    };
    let path = create(user, "item", tenant, authorization.as_deref(), name).await?;
    let session = user
        .get_session_data_mut::<Session>()
        .ok_or_else(|| "the user has not signed in".to_owned())?;
    session.own.push(path);
    session.made += 1;
    Ok(())
}

/// Changes one of the user's own items as a client should: read it, then send the change with
/// the version read in `If-Match`. A user without items yet creates one instead.
async fn change_item(user: &mut GooseUser) -> TransactionResult {
    let (path, authorization) = {
        let session = session(user)?;
        if session.own.is_empty() {
            return create_item(user).await;
        }
        let path = session.own[fastrand::usize(..session.own.len())].clone();
        (path, session.authorization.clone())
    };
    let builder = user.get_request_builder(&GooseMethod::Get, &path)?;
    let read = send(user, "item", builder, authorization.as_deref(), 200).await?;
    let response = read.response?;
    let etag = response
        .headers()
        .get("etag")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| "a read item has no ETag".to_owned())?;
    let builder = user
        .get_request_builder(&GooseMethod::Patch, &path)?
        .header("if-match", etag)
        .header("content-type", "application/merge-patch+json")
        .body(
            serde_json::json!({ "description": format!("changed by the load test {}", Uuid::new_v4()) })
                .to_string(),
        );
    send(user, "item", builder, authorization.as_deref(), 200).await?;
    Ok(())
}
