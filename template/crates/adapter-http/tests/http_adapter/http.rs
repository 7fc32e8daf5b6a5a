//! The HTTP adapter in process: `router(state).oneshot(request)`, no socket and no database.
//! The dependencies are in-memory twins of the ports, so these tests pin down the HTTP
//! contract (statuses, headers, problem+json) alone; the same routes run against real
//! PostgreSQL in `crates/server/tests`.

use crate::support::{TestRouter, failing_probe};
use axum::http::{Method, StatusCode, header};

#[tokio::test]
async fn liveness_answers_without_touching_dependencies() {
    let app = TestRouter::with_probes(vec![failing_probe(true)]);
    let response = app.send(Method::GET, "/health/live", None).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json()["status"], "up");
}

#[tokio::test]
async fn readiness_is_503_when_a_critical_dependency_is_down() {
    let app = TestRouter::with_probes(vec![failing_probe(true)]);
    let response = app.send(Method::GET, "/health/ready", None).await;
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.json()["status"], "unavailable");
    assert_eq!(response.json()["checks"]["fake"]["status"], "down");
}

#[tokio::test]
async fn readiness_is_200_but_degraded_when_only_a_cache_is_down() {
    let app = TestRouter::with_probes(vec![failing_probe(false)]);
    let response = app.send(Method::GET, "/health/ready", None).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json()["status"], "degraded");
}

#[tokio::test]
async fn unknown_routes_are_problem_json_404_with_the_request_id() {
    let app = TestRouter::default();
    let response = app.send(Method::GET, "/api/v1/does-not-exist", None).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    response.assert_problem("/problems/not-found");
    let body = response.json();
    assert_eq!(body["instance"], "/api/v1/does-not-exist");
    assert_eq!(body["requestId"], response.header("x-request-id"));
}

#[tokio::test]
async fn a_request_id_sent_by_the_client_is_kept() {
    let app = TestRouter::default();
    let response = app
        .send_with(
            Method::GET,
            "/nowhere",
            None,
            &[("x-request-id", "client-chosen-id")],
        )
        .await;
    assert_eq!(response.header("x-request-id"), "client-chosen-id");
    assert_eq!(response.json()["requestId"], "client-chosen-id");
}

#[tokio::test]
async fn wrong_methods_are_problem_json_405_keeping_allow() {
    let app = TestRouter::default();
    let response = app.send(Method::DELETE, "/health/live", None).await;
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    response.assert_problem("/problems/method-not-allowed");
    assert!(response.header("allow").contains("GET"));
}

#[tokio::test]
async fn the_openapi_document_is_served_as_openapi_3_1() {
    let app = TestRouter::default();
    let response = app.send(Method::GET, "/api/v1/openapi.json", None).await;
    assert_eq!(response.status, StatusCode::OK);
    let document = response.json();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(document["paths"]["/health/ready"].is_object());
    assert_eq!(
        document,
        serde_json::to_value(adapter_http::openapi_document()).unwrap()
    );
}

#[tokio::test]
async fn the_api_page_is_bundled_in_the_binary() {
    let app = TestRouter::default();
    let page = app.send(Method::GET, "/docs/", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("swagger-ui"), "{}", page.text());
    // The assets come from the binary, not from a CDN: the page works offline.
    let script = app
        .send(Method::GET, "/docs/swagger-ui-bundle.js", None)
        .await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(script.text().len() > 100_000);
    assert!(!page.text().contains("unpkg.com") && !page.text().contains("cdn."));
}

#[tokio::test]
async fn responses_that_are_not_errors_are_left_alone() {
    let app = TestRouter::default();
    let response = app.send(Method::GET, "/health/live", None).await;
    assert_eq!(
        response.header(header::CONTENT_TYPE.as_str()),
        "application/json"
    );
}
