//! `/metrics` after the example's traffic: cache hits and misses of the item reads, and the
//! waits for a connection, measured where the repositories take one.

use crate::support::{CACHE_BACKEND, TestApp};
use reqwest::StatusCode;
use sqlx::PgPool;

/// The item cache's series for `result` (`hit`, `miss`).
fn cache_series(result: &str) -> String {
    [
        r#"cache_requests_total{backend=""#,
        CACHE_BACKEND,
        r#"",cache="items",result=""#,
        result,
        r#""}"#,
    ]
    .concat()
}

#[sqlx::test(migrations = "../../migrations")]
async fn item_reads_show_cache_hits_misses_and_connection_waits(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let tenant = app.create_tenant("metered").await;
    let location = app.create_item(&tenant, "lamp").await;
    let hit = cache_series("hit");
    let hits_before = app.metric(&hit).await;
    for _ in 0..2 {
        assert_eq!(app.get(&location).await.status(), StatusCode::OK);
    }
    assert!(
        app.metric(&hit).await >= hits_before + 1.0,
        "reads hit the cache"
    );
    let miss = cache_series("miss");
    let misses_before = app.metric(&miss).await;
    let absent = format!("/api/v1/tenants/{tenant}/items/0190f5d2-7e1c-7000-8000-00000000abcd");
    assert_eq!(app.get(&absent).await.status(), StatusCode::NOT_FOUND);
    assert!(
        app.metric(&miss).await >= misses_before + 1.0,
        "a read of an item the cache does not hold is a miss"
    );
    let body = app.get("/metrics").await.text().await.unwrap();
    for series in [
        r#"db_client_connection_pending_requests{pool="primary"}"#,
        r#"db_client_connection_wait_time_seconds_count{pool="primary"}"#,
    ] {
        assert!(body.contains(series), "{series} missing from {body}");
    }
    app.stop().await.unwrap();
}
