//! Refusals that do not depend on who is calling, against the running service over a real
//! socket: per-IP rate limits, body size, CORS, security headers and the exposure of
//! operational endpoints. Refused tokens, roles and tenants, where the service checks tokens,
//! are in `authentication.rs`.

use crate::support::{ANONYMOUS_ADMITTED, TestApp, test_settings};
use adapter_http::auth::Access;
use adapter_postgres::PostgresPools;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

/// The statuses of anonymous calls, one per `X-Forwarded-For` value, in order.
async fn anonymous_statuses(app: &TestApp, forwarded_for: &[&str]) -> Vec<StatusCode> {
    let mut statuses = Vec::new();
    for address in forwarded_for {
        let response = app
            .anonymous
            .get(app.url("/api/v1/me"))
            .header("x-forwarded-for", *address)
            .send()
            .await
            .unwrap();
        statuses.push(response.status());
    }
    statuses
}

#[sqlx::test(migrations = "../../migrations")]
async fn anonymous_callers_are_limited_per_ip_and_forwarded_for_counts_only_from_a_trusted_proxy(
    pool: PgPool,
) {
    let mut settings = test_settings();
    settings.rate_limit.per_ip_per_second = 1;
    settings.rate_limit.per_ip_burst = 2;
    let untrusting =
        TestApp::spawn_with(settings.clone(), PostgresPools::single(pool.clone())).await;
    // How the service answers a caller without credentials when it is not limited (see
    // `support::ANONYMOUS_ADMITTED`); X-Forwarded-For cannot buy a fresh budget.
    let (admitted, limited) = (ANONYMOUS_ADMITTED, StatusCode::TOO_MANY_REQUESTS);
    let from = ["198.51.100.1", "198.51.100.2", "198.51.100.3"];
    assert_eq!(
        anonymous_statuses(&untrusting, &from).await,
        [admitted, admitted, limited],
        "a client cannot pick a fresh IP per request"
    );

    // Behind a trusted proxy (here: loopback), each forwarded client has its own budget.
    settings.rate_limit.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    let proxied = TestApp::spawn_with(settings, PostgresPools::single(pool)).await;
    let from = [
        "198.51.100.1",
        "198.51.100.1",
        "198.51.100.1",
        "198.51.100.2",
    ];
    assert_eq!(
        anonymous_statuses(&proxied, &from).await,
        [admitted, admitted, limited, admitted]
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_oversized_body_is_413_problem_json(pool: PgPool) {
    let settings = test_settings();
    let limit = settings.http.body_limit_bytes;
    let app = TestApp::spawn_with(settings, PostgresPools::single(pool)).await;
    let body = json!({ "name": "x".repeat(limit + 1) });
    // Refused on its declared length, before any route, credential or handler sees it.
    let response = app
        .client
        .post(app.url("/api/v1/me"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "/problems/payload-too-large", "{body}");
}

/// The origin a CORS preflight from `origin` is allowed for, if any.
async fn preflight(app: &TestApp, origin: &str) -> Option<String> {
    let response = app
        .anonymous
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/me"))
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    let allowed = response.headers().get("access-control-allow-origin")?;
    Some(allowed.to_str().unwrap().to_owned())
}

#[sqlx::test(migrations = "../../migrations")]
async fn cors_answers_only_the_allowed_origins(pool: PgPool) {
    let by_default = TestApp::spawn(pool.clone()).await;
    assert_eq!(
        preflight(&by_default, "https://app.example.com").await,
        None,
        "no CORS at all unless origins are listed"
    );

    let mut settings = test_settings();
    settings.http.cors_allowed_origins = vec!["https://app.example.com".to_owned()];
    let app = TestApp::spawn_with(settings, PostgresPools::single(pool)).await;
    assert_eq!(
        preflight(&app, "https://app.example.com").await.as_deref(),
        Some("https://app.example.com")
    );
    assert_eq!(preflight(&app, "https://evil.example.net").await, None);
    // A simple request from elsewhere is served, but the browser may not read the answer.
    let simple = app
        .client
        .get(app.url("/api/v1/me"))
        .header("origin", "https://evil.example.net")
        .send()
        .await
        .unwrap();
    assert_eq!(simple.status(), StatusCode::OK);
    assert!(!simple.headers().contains_key("access-control-allow-origin"));
}

#[sqlx::test(migrations = "../../migrations")]
async fn every_response_carries_the_security_headers(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    // Error or not, API answers carry them.
    let api = app
        .anonymous
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap();
    let docs = app.get("/docs/").await;
    for response in [&api, &docs] {
        let headers = response.headers();
        assert!(
            headers["strict-transport-security"]
                .to_str()
                .unwrap()
                .contains("max-age=")
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert!(headers.contains_key("content-security-policy"));
    }
    let api_policy = api.headers()["content-security-policy"].to_str().unwrap();
    assert!(api_policy.starts_with("default-src 'none'"), "{api_policy}");
    // The docs page's own scripts may run; nothing from elsewhere.
    let docs_policy = docs.headers()["content-security-policy"].to_str().unwrap();
    assert!(docs_policy.contains("script-src 'self'"), "{docs_policy}");
    assert!(!docs_policy.contains("*"), "{docs_policy}");
}

#[sqlx::test(migrations = "../../migrations")]
async fn operational_endpoints_follow_their_exposure_setting(pool: PgPool) {
    let mut settings = test_settings();
    settings.auth.docs = Access::Off;
    settings.auth.metrics = Access::Off;
    let app = TestApp::spawn_with(settings, PostgresPools::single(pool)).await;
    for path in ["/docs/", "/api/v1/openapi.json", "/metrics"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
    }
    // Probes stay public: kubelets send no tokens.
    assert_eq!(
        app.anonymous
            .get(app.url("/health/ready"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(app.get("/api/v1/me").await.status(), StatusCode::OK);
}
