//! GraphQL over the in-memory ports: the committed schema is current, the same rules as REST
//! hold (roles, tenant isolation, validation, optimistic locking, cursors), the limits refuse
//! expensive queries before they run, and related objects are loaded without N+1 reads.

use crate::support::{TestRouter, bearer, default_state};
use axum::http::{Method, StatusCode};
use domain::auth::Role;
use serde_json::{Value, json};

const TENANT: &str = "0190f5d2-7e1c-7000-8000-000000000001";

/// `{ inner }`, written without two braces in a row (the template engine's marker).
pub(crate) fn block(inner: &str) -> String {
    format!("{} {inner} {}", '{', '}')
}

/// Posts a GraphQL request as `authorization` and returns the whole answer.
pub(crate) async fn graphql(
    router: &TestRouter,
    authorization: &str,
    query: &str,
    variables: Value,
) -> Value {
    let response = router
        .send_with(
            Method::POST,
            "/api/v1/graphql",
            Some(json!({ "query": query, "variables": variables })),
            &[("authorization", authorization)],
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

#[test]
fn the_committed_schema_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/schema.graphql");
    let current = adapter_http::graphql::sdl();
    if std::env::var_os("UPDATE_GRAPHQL_SCHEMA").is_some() {
        std::fs::write(&path, &current).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == current,
        "docs/schema.graphql is not the schema the code serves; review the change, then run \
         `UPDATE_GRAPHQL_SCHEMA=1 cargo test -p adapter-http --test http_adapter graphql` and commit the file"
    );
}

#[tokio::test]
async fn me_answers_the_caller_from_the_token() {
    let router = TestRouter::default();
    let answer = graphql(
        &router,
        &bearer(TENANT, &[Role::Viewer]),
        "{ me { subject tenantId roles permissions } }",
        json!({}),
    )
    .await;
    assert_eq!(answer["data"]["me"]["tenantId"], TENANT, "{answer}");
    assert_eq!(answer["data"]["me"]["roles"], json!(["viewer"]), "{answer}");
}

#[tokio::test]
async fn without_a_token_the_answer_is_the_401_problem_rest_gives() {
    let router = TestRouter::default().anonymous();
    let response = router
        .send(
            Method::POST,
            "/api/v1/graphql",
            Some(json!({ "query": "{ me { subject } }" })),
        )
        .await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    response.assert_problem("/problems/unauthorized");
}

#[tokio::test]
async fn a_body_that_is_not_a_graphql_request_is_a_problem_not_a_panic() {
    let router = TestRouter::default();
    let response = router
        .send(
            Method::POST,
            "/api/v1/graphql",
            Some(json!({ "query": 42 })),
        )
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response.assert_problem("/problems/validation-error");
}

#[tokio::test]
async fn queries_past_the_depth_or_complexity_limit_are_refused_before_running() {
    let mut deep = default_state();
    deep.graphql.max_depth = 1;
    let shallow = TestRouter::from_state(deep);
    let token = bearer(TENANT, &[Role::Viewer]);
    let answer = graphql(&shallow, &token, "{ me { subject } }", json!({})).await;
    assert!(answer["data"].is_null(), "{answer}");
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nested too deep"),
        "{answer}"
    );

    let mut costly = default_state();
    costly.graphql.max_complexity = 3;
    let cheap = TestRouter::from_state(costly);
    let answer = graphql(
        &cheap,
        &token,
        "{ me { subject tenantId roles } }",
        json!({}),
    )
    .await;
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("too complex"),
        "{answer}"
    );
    let answer = graphql(&cheap, &token, "{ me { subject } }", json!({})).await;
    assert!(answer["errors"].is_null(), "within the limit: {answer}");
}

#[tokio::test]
async fn introspection_answers_only_where_it_is_enabled() {
    let token = bearer(TENANT, &[Role::Viewer]);
    let query = "{ __schema { queryType { name } } }";
    let open = TestRouter::default();
    let answer = graphql(&open, &token, query, json!({})).await;
    assert_eq!(answer["data"]["__schema"]["queryType"]["name"], "Query");
    // Tools ask for types nested deeper than the depth limit of data queries.
    let tooling = "{ __schema { types { name fields { name type { name ofType { name ofType { name ofType { name ofType { name } } } } } } } } }";
    let answer = graphql(&open, &token, tooling, json!({})).await;
    assert!(answer["data"]["__schema"]["types"].is_array(), "{answer}");

    let mut closed = default_state();
    closed.graphql.introspection = false;
    let answer = graphql(&TestRouter::from_state(closed), &token, query, json!({})).await;
    assert!(
        answer["data"]["__schema"].is_null(),
        "introspection is off: {answer}"
    );
}
#[tokio::test]
async fn with_introspection_off_a_misspelt_field_gets_no_suggestion() {
    let token = bearer(TENANT, &[Role::Viewer]);
    let misspelt = "{ me { subjet } }";
    let message = |answer: &Value| {
        answer["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let open = graphql(&TestRouter::default(), &token, misspelt, json!({})).await;
    assert!(
        message(&open).contains("Did you mean"),
        "in development the schema helps: {open}"
    );
    let mut closed = default_state();
    closed.graphql.introspection = false;
    let answer = graphql(&TestRouter::from_state(closed), &token, misspelt, json!({})).await;
    assert!(message(&answer).contains("subjet"), "{answer}");
    assert!(
        !message(&answer).contains("Did you mean"),
        "no map of the schema: {answer}"
    );
}

#[tokio::test]
async fn fragments_spreading_each_other_twice_are_refused_at_once_not_expanded() {
    // Twenty fragments, each spreading the next twice: a million fields once expanded, in a
    // document well under a kilobyte.
    let mut document = String::from("{ me { ...F0 } }");
    for level in 0..20 {
        let next = level + 1;
        document.push_str(&format!(
            " fragment F{level} on Caller {}",
            block(&format!("subject ...F{next} ...F{next}"))
        ));
    }
    document.push_str(" fragment F20 on Caller { subject }");
    assert!(document.len() < 2_048);
    let answer = graphql(
        &TestRouter::default(),
        &bearer(TENANT, &[Role::Viewer]),
        &document,
        json!({}),
    )
    .await;
    assert!(answer["data"].is_null(), "{answer}");
    assert_eq!(
        answer["errors"][0]["extensions"]["type"], "/problems/query-too-costly",
        "{answer}"
    );
}

#[tokio::test]
async fn brackets_nested_thousands_deep_are_refused_before_parsing() {
    // Three hundred levels: within the test router's 2 KB body limit, far past any query.
    let document = format!("{}{}", "{ me ".repeat(300), "}".repeat(300));
    let answer = graphql(
        &TestRouter::default(),
        &bearer(TENANT, &[Role::Viewer]),
        &document,
        json!({}),
    )
    .await;
    assert_eq!(
        answer["errors"][0]["extensions"]["type"], "/problems/query-too-costly",
        "{answer}"
    );
}
