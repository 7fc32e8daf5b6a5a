//! Roles and tenants against the example's items, with real tokens over a real socket: a role
//! without the permission is 403 and changes nothing, another tenant's principal finds
//! nothing, and refusals come in a fixed order. The tokens' own checks are in
//! `authentication.rs`.

use crate::authentication::TENANT;
use crate::support::TestApp;
use domain::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

#[sqlx::test(migrations = "../../migrations")]
async fn an_admins_token_grants_exactly_the_example_permissions(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let response = app
        .anonymous
        .get(app.url("/api/v1/me"))
        .header("authorization", app.bearer(TENANT, &[Role::Admin]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = response.json().await.unwrap();
    assert_eq!(
        me["permissions"],
        json!(["ReadTenant", "ReadItems", "WriteItems", "DeleteItems"]),
        "{me}"
    );
    app.stop().await.unwrap();
}

/// A tenant created by the platform admin, and one item in it: (tenant id, item path).
async fn tenant_with_item(app: &TestApp) -> (String, String) {
    let tenant = app.create_tenant("Acme").await;
    let location = app.create_item(&tenant, "lamp").await;
    (tenant, location)
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_role_without_the_permission_is_403_and_nothing_changes(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (tenant, location) = tenant_with_item(&app).await;
    let viewer = app.bearer(&tenant, &[Role::Viewer]);
    let read = app
        .anonymous
        .get(app.url(&location))
        .header("authorization", &viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK, "viewers read");
    let etag = read.headers()["etag"].to_str().unwrap().to_owned();
    let delete = app
        .anonymous
        .delete(app.url(&location))
        .header("authorization", &viewer)
        .header("if-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::FORBIDDEN);
    let body: Value = delete.json().await.unwrap();
    assert_eq!(body["type"], "/problems/forbidden", "{body}");
    let editor = app.bearer(&tenant, &[Role::Editor]);
    let delete = app
        .anonymous
        .delete(app.url(&location))
        .header("authorization", &editor)
        .header("if-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(
        delete.status(),
        StatusCode::FORBIDDEN,
        "editors do not delete"
    );
    assert_eq!(app.get(&location).await.status(), StatusCode::OK);
    // Creating tenants is the platform's job, not a tenant admin's.
    let admin = app.bearer(&tenant, &[Role::Admin]);
    let create = app
        .anonymous
        .post(app.url("/api/v1/tenants"))
        .header("authorization", &admin)
        .json(&json!({"name": "Sneaky"}))
        .send()
        .await
        .unwrap();
    assert_eq!(create.status(), StatusCode::FORBIDDEN);
}

#[sqlx::test(migrations = "../../migrations")]
async fn another_tenants_principal_gets_404_for_everything(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (tenant, location) = tenant_with_item(&app).await;
    // An admin, but of another tenant, using the victim's paths.
    let intruder = app.bearer(TENANT, &[Role::Admin]);
    let items = format!("/api/v1/tenants/{tenant}/items");
    for (method, path) in [
        (reqwest::Method::GET, location.as_str()),
        (reqwest::Method::DELETE, location.as_str()),
        (reqwest::Method::GET, items.as_str()),
        (reqwest::Method::GET, &format!("/api/v1/tenants/{tenant}")),
    ] {
        let response = app
            .anonymous
            .request(method.clone(), app.url(path))
            .header("authorization", &intruder)
            .header("if-match", "\"1\"")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {path}");
    }
    let write = app
        .anonymous
        .post(app.url(&items))
        .header("authorization", &intruder)
        .json(&json!({"name": "planted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get(&location).await.status(), StatusCode::OK);
}

/// Sends `method path` with `token` and, when given, `If-Match` and a JSON body; the status.
async fn status_of(
    app: &TestApp,
    (method, path): (reqwest::Method, &str),
    token: &str,
    if_match: Option<&str>,
    body: Option<Value>,
) -> StatusCode {
    let mut request = app
        .anonymous
        .request(method, app.url(path))
        .header("authorization", token);
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap().status()
}

#[sqlx::test(migrations = "../../migrations")]
async fn refusals_come_in_order_tenant_then_role_then_precondition_then_input(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let (tenant, location) = tenant_with_item(&app).await;
    let items = format!("/api/v1/tenants/{tenant}/items");
    let patch = (reqwest::Method::PATCH, location.as_str());
    let create = (reqwest::Method::POST, items.as_str());
    let bad_body = Some(json!(["not", "an", "object"]));

    // Another tenant's admin: 404, whatever the precondition or the body.
    let intruder = app.bearer(TENANT, &[Role::Admin]);
    for (operation, if_match, body) in [
        (patch.clone(), None, bad_body.clone()),
        (patch.clone(), Some("\"1\""), Some(json!({"name": " "}))),
        (create.clone(), None, bad_body.clone()),
        (create.clone(), None, Some(json!({"name": ""}))),
    ] {
        let status = status_of(&app, operation.clone(), &intruder, if_match, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{operation:?}");
    }
    // The tenant's viewer: 403 before the missing If-Match (428) or the bad body (422).
    let viewer = app.bearer(&tenant, &[Role::Viewer]);
    for (operation, body) in [
        (patch.clone(), bad_body.clone()),
        (create, bad_body.clone()),
    ] {
        let status = status_of(&app, operation.clone(), &viewer, None, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{operation:?}");
    }
    // A tenant admin creating a tenant: 403 before the bad body.
    let admin = app.bearer(&tenant, &[Role::Admin]);
    let tenants = (reqwest::Method::POST, "/api/v1/tenants");
    let status = status_of(&app, tenants, &admin, None, Some(json!({"name": 42}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The admin of the tenant: the precondition (428), then the body (422).
    assert_eq!(
        status_of(&app, patch.clone(), &admin, None, bad_body.clone()).await,
        StatusCode::PRECONDITION_REQUIRED
    );
    assert_eq!(
        status_of(&app, patch, &admin, Some("\"1\""), bad_body).await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}
