//! Tenant scoping of the example's items with `auth=none`: every caller is anonymous, and a
//! tenant still sees only its own items.

use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

#[sqlx::test(migrations = "../../migrations")]
async fn a_tenant_still_sees_only_its_own_items(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let acme = app.create_tenant("acme").await;
    let globex = app.create_tenant("globex").await;
    let location = app.create_item(&acme, "lamp").await;
    assert_eq!(app.get(&location).await.status(), StatusCode::OK);

    // The same item asked for under another tenant's path is not found, and changes nothing.
    let elsewhere = location.replace(&acme, &globex);
    assert_eq!(app.get(&elsewhere).await.status(), StatusCode::NOT_FOUND);
    let deleted = app.client.delete(app.url(&elsewhere)).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NOT_FOUND);
    let listed: Value = app
        .get(&format!("/api/v1/tenants/{globex}/items"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"], json!([]), "{listed}");
    assert_eq!(app.get(&location).await.status(), StatusCode::OK);
}
