//! The item cache against real Redis and PostgreSQL: reads are served from Redis, writes never
//! leave a stale copy behind, and when Redis goes away (cut for real, through a TCP proxy) every
//! request still succeeds, the circuit breaker opens, and it closes again when Redis is back.

use std::time::Duration;

use crate::support::{TcpProxy, TestApp, test_settings};
use redis::AsyncCommands;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

async fn redis() -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(redis_url()).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

/// Settings with a key prefix of this test's own, so tests sharing one Redis cannot meet.
fn isolated_settings() -> (service::config::Settings, String) {
    let mut settings = test_settings();
    let prefix = format!("test-{}", uuid::Uuid::new_v4());
    settings.cache.redis.key_prefix.clone_from(&prefix);
    (settings, prefix)
}

/// Creates a tenant and an item; returns the item's URL and its cache key.
async fn item(app: &TestApp, prefix: &str, name: &str) -> (String, String) {
    let tenant = app.create_tenant(&format!("tenant of {name}")).await;
    let location = app.create_item(&tenant, name).await;
    let id = location.rsplit('/').next().unwrap().to_owned();
    (location, format!("{prefix}:items:v1:{tenant}:{id}"))
}

/// Rewrites the cached copy behind the service's back: if a read returns the rewritten name,
/// it was served from Redis, not from PostgreSQL.
async fn tamper(key: &str, from: &str, to: &str) {
    let mut redis = redis().await;
    let entry: String = redis.get(key).await.unwrap();
    let entry = entry.replace(
        &format!("\"name\":\"{from}\""),
        &format!("\"name\":\"{to}\""),
    );
    let _: () = redis
        .set_options(
            key,
            entry,
            redis::SetOptions::default().with_expiration(redis::SetExpiry::KEEPTTL),
        )
        .await
        .unwrap();
}

async fn name_of(app: &TestApp, location: &str) -> String {
    let response = app.get(location).await;
    assert_eq!(response.status(), StatusCode::OK);
    let item: Value = response.json().await.unwrap();
    item["name"].as_str().unwrap().to_owned()
}

#[sqlx::test(migrations = "../../migrations")]
async fn reads_hit_the_cache_and_writes_never_leave_a_stale_copy(pool: PgPool) {
    let (settings, prefix) = isolated_settings();
    let app = TestApp::spawn_with(settings, adapter_postgres::PostgresPools::single(pool)).await;
    let (location, key) = item(&app, &prefix, "lamp").await;

    assert_eq!(name_of(&app, &location).await, "lamp");
    let ttl: i64 = redis().await.pttl(&key).await.unwrap();
    assert!(
        ttl > 0 && ttl <= 330_000,
        "entries expire (300 s ± 10%): {ttl} ms"
    );
    tamper(&key, "lamp", "from the cache").await;
    assert_eq!(
        name_of(&app, &location).await,
        "from the cache",
        "a hit after the first read"
    );

    let patched = app
        .client
        .patch(app.url(&location))
        .header("if-match", "\"1\"")
        .json(&json!({"name": "desk lamp"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    assert_eq!(
        name_of(&app, &location).await,
        "desk lamp",
        "the update replaced the cached copy"
    );

    let deleted = app.client.delete(app.url(&location)).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&location).await.status(),
        StatusCode::NOT_FOUND,
        "the delete retired it"
    );
    app.stop().await.unwrap();
}

async fn readiness(app: &TestApp) -> Value {
    let response = app.get("/health/ready").await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the cache is never critical"
    );
    response.json().await.unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn when_redis_goes_away_requests_succeed_and_the_breaker_opens_then_closes(pool: PgPool) {
    let target = redis_url()
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    let target = tokio::net::lookup_host(target)
        .await
        .unwrap()
        .next()
        .unwrap();
    let proxy = TcpProxy::start(target).await;
    let (mut settings, prefix) = isolated_settings();
    settings.redis.url = secrets::SecretUrl::new(format!("redis://{}", proxy.address));
    settings.cache.redis.breaker.window = 4;
    settings.cache.redis.breaker.open_ms = 500;
    let app = TestApp::spawn_with(settings, adapter_postgres::PostgresPools::single(pool)).await;
    let (location, key) = item(&app, &prefix, "lamp").await;
    assert_eq!(name_of(&app, &location).await, "lamp");

    let errors = r#"cache_requests_total{backend="redis",cache="items",result="error"}"#;
    let hits = r#"cache_requests_total{backend="redis",cache="items",result="hit"}"#;
    let breaker = r#"circuit_breaker_open{breaker="redis"}"#;
    let errors_before = app.metric(errors).await;
    let body = app.get("/metrics").await.text().await.unwrap();
    assert!(
        body.contains(r#"circuit_breaker_open{breaker="redis"} 0"#),
        "the Redis breaker is reported, and closed: {body}"
    );

    proxy.cut();
    for _ in 0..12 {
        assert_eq!(
            name_of(&app, &location).await,
            "lamp",
            "PostgreSQL answers while Redis is away"
        );
    }
    assert_eq!(app.metric(breaker).await, 1.0, "the breaker is open");
    let failed = app.metric(errors).await - errors_before;
    assert!(
        failed >= 12.0,
        "every read during the outage skipped the cache: {failed}"
    );
    eprintln!("redis outage: {failed} cache reads failed or were rejected, breaker open");
    let report = readiness(&app).await;
    assert_eq!(report["status"], "degraded", "{report}");
    let error = report["checks"]["redis"]["error"].as_str().unwrap();
    assert!(error.contains("circuit breaker open"), "{report}");

    proxy.restore();
    let mut closed = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        name_of(&app, &location).await; // trial calls let the half-open breaker close
        if readiness(&app).await["checks"]["redis"]["status"] == "up" {
            closed = true;
            break;
        }
    }
    assert!(closed, "the breaker closes once Redis answers again");
    assert_eq!(app.metric(breaker).await, 0.0, "the breaker is closed");
    assert_eq!(name_of(&app, &location).await, "lamp");
    let hits_before = app.metric(hits).await;
    tamper(&key, "lamp", "from the cache again").await;
    assert_eq!(
        name_of(&app, &location).await,
        "from the cache again",
        "hits resume"
    );
    assert!(app.metric(hits).await >= hits_before + 1.0);
    eprintln!("after recovery: cache hits {}", app.metric(hits).await);
    app.stop().await.unwrap();
}
