//! The example's items through GraphQL end to end: what one way in writes, the other reads,
//! from the same tables. The helper and the schema's own checks are in `graphql.rs`.

use crate::graphql::graphql;
use crate::support::TestApp;
use domain::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

#[sqlx::test(migrations = "../../migrations")]
async fn what_graphql_writes_rest_reads_from_the_same_tables(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let tenant = app.create_tenant("Acme").await;
    let admin = app.bearer(&tenant, &[Role::Admin]);
    let created = graphql(
        &app,
        &admin,
        "mutation($tenant: UUID!) {
            createItem(tenantId: $tenant, input: { name: \"Desk lamp\", description: \"Warm white\" }) {
                id version tenant { name }
            }
        }",
        json!({ "tenant": tenant }),
    )
    .await;
    let item = &created["data"]["createItem"];
    assert_eq!(item["tenant"]["name"], "Acme", "{created}");
    let id = item["id"].as_str().unwrap();

    let rest = app
        .get(&format!("/api/v1/tenants/{tenant}/items/{id}"))
        .await;
    assert_eq!(rest.status(), StatusCode::OK);
    let body: Value = rest.json().await.unwrap();
    assert_eq!(body["name"], "Desk lamp");
    assert_eq!(body["description"], "Warm white");

    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM items WHERE tenant_id = $1")
        .bind(uuid::Uuid::parse_str(&tenant).unwrap())
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 1);

    // A refused write over GraphQL leaves nothing behind.
    let viewer = app.bearer(&tenant, &[Role::Viewer]);
    let refused = graphql(
        &app,
        &viewer,
        "mutation($tenant: UUID!) { createItem(tenantId: $tenant, input: { name: \"Chair\" }) { id } }",
        json!({ "tenant": tenant }),
    )
    .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["status"], 403,
        "{refused}"
    );
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM items")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 1);
    app.stop().await.unwrap();
}
