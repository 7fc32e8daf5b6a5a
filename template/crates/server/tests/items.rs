//! The example resource end to end: HTTP over a real socket, the use cases, and PostgreSQL.

// A failed unwrap in a test is a failed assertion, with the value in the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use support::TestApp;

#[sqlx::test(migrations = "../../migrations")]
async fn an_item_is_created_read_listed_and_deleted(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let created = app
        .client
        .post(app.url("/api/v1/items"))
        .json(&json!({"name": "Desk lamp", "description": "warm white"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let item: Value = created.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/v1/items/{}", item["id"].as_str().unwrap())
    );

    let read = app.get(&location).await;
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(read.json::<Value>().await.unwrap(), item);

    let list: Value = app.get("/api/v1/items").await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["links"]["next"].is_null());

    let deleted = app.client.delete(app.url(&location)).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get(&location).await.status(), StatusCode::NOT_FOUND);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM items")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    app.stop().await.unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_conflict_leaves_the_first_item_untouched(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let post = |name: &'static str, description: &'static str| {
        app.client
            .post(app.url("/api/v1/items"))
            .json(&json!({"name": name, "description": description}))
            .send()
    };
    assert_eq!(
        post("lamp", "first").await.unwrap().status(),
        StatusCode::CREATED
    );
    let conflict = post("lamp", "second").await.unwrap();
    assert_eq!(conflict.status(), StatusCode::CONFLICT);
    assert_eq!(
        conflict.headers()["content-type"],
        "application/problem+json"
    );
    let description: String = sqlx::query_scalar("SELECT description FROM items")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(description, "first");
    app.stop().await.unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn invalid_input_writes_nothing(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let response = app
        .client
        .post(app.url("/api/v1/items"))
        .json(&json!({"name": "   "}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM items")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    app.stop().await.unwrap();
}
