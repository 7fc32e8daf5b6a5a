//! What `auth=none` promises, against the running service over a real socket: no credentials
//! are asked for or checked, every request acts as the `anonymous` principal for the tenant in
//! its path, and tenant scoping still holds.

use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

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
