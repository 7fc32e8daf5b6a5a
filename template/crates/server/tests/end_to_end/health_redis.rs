//! Redis as a dependency: Redis is a cache, never the system of record, so an unreachable Redis
//! degrades the readiness report but the service stays ready; production still insists on
//! one, because replicas without a shared cache would each serve their own copies.

use crate::cli::command;
use crate::support::{PRODUCTION_REQUIRED, TestApp, run, test_settings};
use adapter_postgres::PostgresPools;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;

#[sqlx::test(migrations = "../../migrations")]
async fn readiness_reports_a_reachable_redis_up(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let body: Value = app.get("/health/ready").await.json().await.unwrap();
    assert_eq!(body["checks"]["redis"]["status"], "up", "{body}");
    app.stop().await.unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_unreachable_redis_degrades_readiness_but_keeps_it_200(pool: PgPool) {
    let mut settings = test_settings();
    settings.redis.url = secrets::SecretUrl::new("redis://127.0.0.1:1".to_owned());
    let app = TestApp::spawn_with(settings, PostgresPools::single(pool)).await;
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), StatusCode::OK);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "degraded", "{body}");
    assert_eq!(body["checks"]["redis"]["status"], "down");
    app.stop().await.unwrap();
}

#[test]
fn production_refuses_to_start_without_redis() {
    let mut command = command(&["serve"]);
    command
        .env("APP_ENV", "production")
        .env("APP__DATABASE__URL", "postgres://app@db.internal:5432/app")
        // Empty: not configured (the shipped `default.toml` points at a local Redis).
        .env("APP__REDIS__URL", "");
    for (name, value) in PRODUCTION_REQUIRED {
        command.env(name, value);
    }
    let (output, _, stderr) = run(&mut command);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("redis.url"), "{stderr}");
}
