//! The service end to end, through a real socket, against real PostgreSQL (and Redis, where the
//! service uses it).

use std::time::Duration;

use crate::support::{TcpProxy, TestApp, database_url, test_settings};
use adapter_postgres::{Migrations, PostgresPools};
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test(migrations = "../../migrations")]
async fn liveness_and_readiness_are_200_with_every_dependency_up(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let live = app.get("/health/live").await;
    assert_eq!(live.status(), StatusCode::OK);
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), StatusCode::OK);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(body["checks"]["postgres"]["status"], "up");
    // Every dependency the service checks (PostgreSQL, and Redis where it uses one) is up.
    for (name, check) in body["checks"].as_object().unwrap() {
        assert_eq!(check["status"], "up", "{name}: {body}");
    }
    assert!(body["checks"]["postgres"]["latencyMs"].as_f64().unwrap() >= 0.0);
    app.stop().await.unwrap();
}

#[sqlx::test(migrations = false)]
async fn readiness_waits_for_every_migration(pool: PgPool) {
    let pending = Migrations::status(&pool).await.unwrap().pending().count();
    let app = TestApp::spawn(pool.clone()).await;
    let expected = if pending > 0 {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    assert_eq!(app.get("/health/ready").await.status(), expected);
    Migrations::up(&pool).await.unwrap();
    assert_eq!(app.get("/health/ready").await.status(), StatusCode::OK);
    app.stop().await.unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn readiness_follows_postgres_away_and_back_without_a_restart(
    _pool_options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    // `connect` points at this test's own database; reach it through a proxy we can cut.
    let target = format!("{}:{}", connect.get_host(), connect.get_port());
    let target = tokio::net::lookup_host(target)
        .await
        .unwrap()
        .next()
        .unwrap();
    let proxy = TcpProxy::start(target).await;
    let mut settings = test_settings();
    settings.database.url = secrets::SecretUrl::new(database_url(
        connect.get_database().unwrap(),
        Some(&proxy.address.to_string()),
    ));
    settings.database.acquire_timeout_ms = 500;
    let pools = PostgresPools::connect_lazy(&settings.database, "test").unwrap();
    let app = TestApp::spawn_with(settings, pools).await;

    assert_eq!(app.get("/health/ready").await.status(), StatusCode::OK);
    proxy.cut();
    let down = app.get("/health/ready").await;
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = down.json().await.unwrap();
    assert_eq!(body["checks"]["postgres"]["status"], "down", "{body}");
    assert_eq!(
        app.get("/health/live").await.status(),
        StatusCode::OK,
        "liveness ignores it"
    );

    proxy.restore();
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..50 {
        status = app.get("/health/ready").await.status();
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        status,
        StatusCode::OK,
        "ready again once PostgreSQL is reachable"
    );
    app.stop().await.unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn unknown_routes_are_problem_json_over_the_wire(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let response = app.get("/api/v1/nothing-here").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["requestId"], request_id);
    assert_eq!(body["traceId"].as_str().map(str::len), Some(32), "{body}");
    app.stop().await.unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_api_page_and_document_are_served(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let page = app.get("/docs/").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("swagger-ui"));
    let initializer = app.get("/docs/swagger-initializer.js").await;
    assert_eq!(initializer.status(), StatusCode::OK);
    assert!(
        initializer
            .text()
            .await
            .unwrap()
            .contains(r#""validatorUrl": "none""#),
        "no validator badge calling an outside host"
    );
    let document: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert_eq!(document["info"]["title"], service::identity::SERVICE_NAME);
    app.stop().await.unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_client_request_id_is_kept_only_when_short_and_plain(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let echoed = |sent: String| {
        let request = app
            .anonymous
            .get(app.url("/api/v1/nothing-here"))
            .header("x-request-id", sent);
        async move {
            let response = request.send().await.unwrap();
            let id = response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned();
            let problem: Value = response.json().await.unwrap();
            assert_eq!(
                problem["requestId"],
                id.as_str(),
                "the problem names the same id"
            );
            id
        }
    };
    let plain = "client-7.trace:42_a".to_owned();
    assert_eq!(echoed(plain.clone()).await, plain);
    for refused in [
        "x".repeat(65_536),
        "x".repeat(129),
        "a b".to_owned(),
        "<script>".to_owned(),
    ] {
        let minted = echoed(refused.clone()).await;
        assert_ne!(minted, refused);
        assert!(
            uuid::Uuid::parse_str(&minted).is_ok(),
            "a fresh id is minted instead: {minted}"
        );
    }
    app.stop().await.unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn stopping_refuses_new_connections_and_returns(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let url = app.url("/health/live");
    app.stop().await.unwrap();
    assert!(
        reqwest::get(url).await.is_err(),
        "nothing listens after shutdown"
    );
    assert!(pool.is_closed(), "the pool is closed on the way out");
}
