//! `/metrics` after real traffic: request series by route, method and status class, the
//! connection pool, rate-limit rejections and build info, all in the Prometheus text format.
//! The series the example's traffic adds (cache hits and misses, waits for a connection) are
//! in `items_metrics.rs`, the Redis breaker's in `cache.rs`.

use crate::support::{TestApp, test_settings};
use adapter_postgres::PostgresPools;
use reqwest::StatusCode;
use sqlx::PgPool;

#[sqlx::test(migrations = "../../migrations")]
async fn traffic_shows_up_by_route_method_and_status_class(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let live = r#"http_server_request_duration_seconds_count{http_request_method="GET",http_response_status_class="2xx",http_route="/health/live"}"#;
    let unmatched = r#"http_server_request_duration_seconds_count{http_request_method="GET",http_response_status_class="4xx",http_route="unmatched"}"#;
    let (live_before, unmatched_before) = (app.metric(live).await, app.metric(unmatched).await);
    for _ in 0..3 {
        assert_eq!(app.get("/health/live").await.status(), StatusCode::OK);
    }
    assert_eq!(
        app.get("/no/such/7f3a").await.status(),
        StatusCode::NOT_FOUND
    );

    let response = app.get("/metrics").await;
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(app.metric(live).await >= live_before + 3.0);
    assert!(
        app.metric(unmatched).await >= unmatched_before + 1.0,
        "raw paths never become labels"
    );
    let body = app.get("/metrics").await.text().await.unwrap();
    assert!(
        !body.contains("7f3a"),
        "ids in paths do not leak into series"
    );
    assert!(
        body.contains("http_server_request_duration_seconds_bucket"),
        "a histogram"
    );
    assert!(
        app.metric(r#"db_client_connections_max{pool="primary"}"#)
            .await
            >= 1.0
    );
    assert!(body.contains("service_build_info{"));
    assert!(
        body.contains(r#"http_server_active_requests{http_request_method="GET"}"#),
        "requests in flight, by method: {body}"
    );
    app.stop().await.unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn invented_methods_and_paths_add_no_series(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    for method in ["ANYTHING", "INVENTED-7f3b", "GETT"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = app
            .anonymous
            .request(method, app.url("/nope/7f3b"))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_client_error());
    }
    let body = app.get("/metrics").await.text().await.unwrap();
    for invented in ["ANYTHING", "INVENTED", "GETT", "7f3b", "/nope"] {
        assert!(
            !body.contains(invented),
            "{invented} became a label:\n{body}"
        );
    }
    assert!(
        body.contains(r#"http_request_method="_OTHER""#),
        "unknown methods are counted as _OTHER"
    );
    app.stop().await.unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn pool_and_rate_limit_series_follow_the_traffic(pool: PgPool) {
    // A service of its own with a budget of one request per IP, so that the rest of the test,
    // from the same address, is not limited.
    let mut strict = test_settings();
    strict.rate_limit.per_ip_per_second = 1;
    strict.rate_limit.per_ip_burst = 1;
    let strict = TestApp::spawn_with(strict, PostgresPools::single(pool.clone())).await;
    let limited = r#"http_server_rate_limited_total{caller="address"}"#;
    let limited_before = strict.metric(limited).await;
    for _ in 0..3 {
        strict
            .anonymous
            .get(strict.url("/api/v1/me"))
            .send()
            .await
            .unwrap();
    }
    assert!(
        strict.metric(limited).await >= limited_before + 2.0,
        "anonymous calls past the burst are counted"
    );
    // Not stopped here: stopping closes the pool the two share.
    let app = TestApp::spawn_with(test_settings(), PostgresPools::single(pool)).await;
    let body = app.get("/metrics").await.text().await.unwrap();
    for series in [
        r#"db_client_connections_usage{pool="primary",state="idle"}"#,
        r#"db_client_connections_usage{pool="primary",state="used"}"#,
    ] {
        assert!(body.contains(series), "{series} missing from {body}");
    }
    app.stop().await.unwrap();
}
