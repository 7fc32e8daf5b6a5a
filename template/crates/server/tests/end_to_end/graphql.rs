//! GraphQL end to end: a real socket, the whole middleware stack, real PostgreSQL. What one way
//! in writes, the other reads: both run the same use cases over the same adapters.

use crate::support::TestApp;
use domain::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

const TENANT: &str = "0190f5d2-7e1c-7000-8000-000000000001";

pub(crate) async fn graphql(app: &TestApp, token: &str, query: &str, variables: Value) -> Value {
    let response = app
        .anonymous
        .post(app.url("/api/v1/graphql"))
        .header(reqwest::header::AUTHORIZATION, token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers().contains_key("x-request-id"),
        "the same middleware stack as REST"
    );
    response.json().await.unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn graphql_answers_over_the_socket_and_refuses_a_caller_without_a_token(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let token = app.bearer(TENANT, &[Role::Editor]);
    let answer = graphql(&app, &token, "{ me { tenantId roles } }", json!({})).await;
    assert_eq!(answer["data"]["me"]["tenantId"], TENANT, "{answer}");
    assert_eq!(answer["data"]["me"]["roles"], json!(["editor"]));

    let refused = app
        .anonymous
        .post(app.url("/api/v1/graphql"))
        .json(&json!({ "query": "{ me { subject } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    app.stop().await.unwrap();
}
#[sqlx::test(migrations = "../../migrations")]
async fn a_kilobyte_of_fragments_that_would_expand_to_billions_is_refused_and_the_service_stays_live(
    pool: PgPool,
) {
    let app = TestApp::spawn(pool).await;
    let token = app.bearer(TENANT, &[Role::Viewer]);
    // Thirty fragments, each spreading the next twice: 2^31 fields once expanded.
    let mut document = String::from("{ me { ...F0 } }");
    for level in 0..30 {
        let next = level + 1;
        document.push_str(&format!(" fragment F{level} on Caller {}", '{'));
        document.push_str(&format!(" subject ...F{next} ...F{next} {}", '}'));
    }
    document.push_str(" fragment F30 on Caller { subject }");
    let hostile = tokio::spawn({
        let (client, url) = (app.anonymous.clone(), app.url("/api/v1/graphql"));
        let token = token.clone();
        async move {
            client
                .post(url)
                .header(reqwest::header::AUTHORIZATION, token)
                .json(&json!({ "query": document }))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    });
    assert_eq!(app.get("/health/live").await.status(), StatusCode::OK);
    let answer = hostile.await.unwrap();
    assert_eq!(
        answer["errors"][0]["extensions"]["type"], "/problems/query-too-costly",
        "{answer}"
    );
    assert_eq!(app.get("/health/live").await.status(), StatusCode::OK);
    app.stop().await.unwrap();
}
