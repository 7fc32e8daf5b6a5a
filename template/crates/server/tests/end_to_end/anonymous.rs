//! What `auth=none` promises, against the running service over a real socket: no credentials
//! are asked for or checked, every request acts as the `anonymous` principal for the tenant in
//! its path, and tenant scoping still holds.

use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::Value;
{% if example %}use serde_json::json;
{% endif %}use sqlx::PgPool;

#[sqlx::test(migrations = "../../migrations")]
async fn every_caller_is_the_anonymous_principal_with_every_role(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    // Credentials are neither required nor looked at: a header that is not even a token is
    // ignored rather than refused.
    for authorization in [None, Some("Bearer not-a-token")] {
        let mut request = app.anonymous.get(app.url("/api/v1/me"));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{authorization:?}");
        assert!(!response.headers().contains_key("www-authenticate"));
        let me: Value = response.json().await.unwrap();
        assert_eq!(me["subject"], "anonymous", "{me}");
        // No tenant in the path: the principal acts for none.
        assert_eq!(
            me["tenantId"], "00000000-0000-0000-0000-000000000000",
            "{me}"
        );
        let roles: Vec<&str> = me["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|role| role.as_str().unwrap())
            .collect();
        assert_eq!(
            roles,
            ["viewer", "editor", "admin", "platform-admin", "operator"],
            "{me}"
        );
    }
}
{% if example %}
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
{% endif %}