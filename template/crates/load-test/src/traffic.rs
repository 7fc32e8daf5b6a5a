//! The traffic of a service with no resource yet: each user reads who it is (`GET me`), the one
//! endpoint of `/api/v1` every service has. When you add a resource, add its reads, pages and
//! writes here with their weights, as the example service's `traffic/mod.rs` does (generate a
//! service with `example=true` to see it), and the SLA each is held to in [`SLAS`].

use std::time::Duration;

use goose::prelude::*;
use uuid::Uuid;

use domain::auth::Role;

use crate::credentials::Credentials;
use crate::slas::Sla;

/// The SLAs this traffic is held to (`slas.rs` turns them into thresholds).
pub const SLAS: [Sla; 1] = [Sla {
    request: "GET me",
    class: "single reads",
    p95_ms: 50,
    p99_ms: 100,
}];

static CREDENTIALS: std::sync::OnceLock<Credentials> = std::sync::OnceLock::new();

/// One simulated user: its `Authorization`, in a tenant of its own.
#[derive(Clone)]
struct Session {
    authorization: Option<String>,
}

/// The run's transactions, weighted, with the think time between them.
///
/// # Errors
/// Never for these constants; goose checks weights and times.
pub fn scenario(credentials: Credentials) -> Result<(Transaction, Scenario), GooseError> {
    let _ = CREDENTIALS.set(credentials);
    let scenario = scenario!("principal")
        .set_wait_time(Duration::from_millis(50), Duration::from_millis(400))?
        .register_transaction(transaction!(sign_in).set_on_start())
        .register_transaction(transaction!(read_me));
    Ok((transaction!(prepare), scenario))
}

/// Nothing to create before the users start.
async fn prepare(_user: &mut GooseUser) -> TransactionResult {
    Ok(())
}

/// Why the preparation failed: it cannot.
pub fn preparation_failure() -> Option<String> {
    None
}

/// A user's first step: a token of its own, for a tenant of its own (or, with issued tokens,
/// one of the tenants they were issued for).
async fn sign_in(user: &mut GooseUser) -> TransactionResult {
    let credentials = CREDENTIALS
        .get()
        .ok_or_else(|| "the traffic was not set up".to_owned())?;
    let index = user.weighted_users_index;
    let tenant = credentials
        .given_tenants()
        .filter(|given| !given.is_empty())
        .map_or_else(Uuid::new_v4, |given| given[index % given.len()]);
    let subject = format!("load-test-user-{index}");
    let authorization = credentials.authorization(tenant, &subject, Role::Viewer)?;
    user.set_session_data(Session { authorization });
    Ok(())
}

/// Reads the principal's own view.
async fn read_me(user: &mut GooseUser) -> TransactionResult {
    let authorization = user
        .get_session_data::<Session>()
        .ok_or_else(|| "the user has not signed in".to_owned())?
        .authorization
        .clone();
    let mut builder = user.get_request_builder(&GooseMethod::Get, "/api/v1/me")?;
    if let Some(value) = authorization {
        builder = builder.header("authorization", value);
    }
    let request = GooseRequest::builder()
        .set_request_builder(builder)
        .name("me")
        .expect_status_code(200)
        .build();
    user.request(request).await?;
    Ok(())
}
