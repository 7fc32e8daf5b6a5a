//! `/metrics` after real traffic: request series by route, method and status class, the
//! connection pool, build info, all in the Prometheus text format.

// A failed unwrap in a test is a failed assertion, with the value in the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::StatusCode;
use sqlx::PgPool;
use support::TestApp;

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
    app.stop().await.unwrap();
}
