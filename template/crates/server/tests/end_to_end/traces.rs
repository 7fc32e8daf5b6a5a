//! Traces as an OTLP collector would receive them: the spans the service exports, read from
//! the SDK's in-memory exporter installed in place of the OTLP one. A request joins the
//! caller's trace (W3C `traceparent`), carries the OTel HTTP attributes, and its use case,
//! queries, cache calls and outbound webhook hang below it in one tree.

use crate::support::{TestApp, test_settings};
use adapter_postgres::PostgresPools;
use opentelemetry::trace::{SpanId, SpanKind, TraceId};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use reqwest::StatusCode;
use sqlx::PgPool;

/// The caller's span: the parent id a client (or gateway) sends in `traceparent`.
pub(crate) const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// The spans this test binary's applications exported (see `support::exported_spans`).
pub(crate) fn exporter() -> &'static InMemorySpanExporter {
    crate::support::exported_spans()
}

/// The finished spans of `trace`.
pub(crate) fn spans_of(trace: TraceId) -> Vec<SpanData> {
    exporter()
        .get_finished_spans()
        .unwrap()
        .into_iter()
        .filter(|span| span.span_context.trace_id() == trace)
        .collect()
}

pub(crate) fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|attribute| attribute.key.as_str() == key)
        .map(|attribute| attribute.value.to_string())
}

pub(crate) fn traceparent(trace: &str) -> String {
    format!("00-{trace}-{CALLER_SPAN}-01")
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_request_joins_the_callers_trace_with_the_http_attributes(pool: PgPool) {
    exporter();
    let trace = "0af7651916cd43dd8448eb211c80319c";
    let app = TestApp::spawn_with(test_settings(), PostgresPools::single(pool)).await;
    let response = app
        .client
        .get(app.url("/api/v1/me"))
        .header("traceparent", traceparent(trace))
        .header("user-agent", "tracing-test/1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let spans = spans_of(TraceId::from_hex(trace).unwrap());
    let server = spans
        .iter()
        .find(|span| span.span_kind == SpanKind::Server)
        .unwrap_or_else(|| panic!("no server span in {spans:#?}"));
    assert_eq!(server.name, "GET /api/v1/me");
    assert_eq!(
        server.parent_span_id,
        SpanId::from_hex(CALLER_SPAN).unwrap(),
        "the caller's span is the parent"
    );
    for (key, value) in [
        ("http.request.method", "GET"),
        ("http.route", "/api/v1/me"),
        ("url.path", "/api/v1/me"),
        ("url.scheme", "http"),
        ("network.protocol.version", "1.1"),
        ("user_agent.original", "tracing-test/1.0"),
        ("http.response.status_code", "200"),
    ] {
        assert_eq!(
            attribute(server, key).as_deref(),
            Some(value),
            "{key} in {:?}",
            server.attributes
        );
    }
    assert!(
        server.parent_span_is_remote,
        "the parent came over the wire"
    );
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_request_without_traceparent_starts_a_trace_and_reports_it_in_errors(pool: PgPool) {
    exporter();
    let app = TestApp::spawn_with(test_settings(), PostgresPools::single(pool)).await;
    let response = app.get("/api/v1/no-such-route").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let problem: serde_json::Value = response.json().await.unwrap();
    let trace = problem["traceId"].as_str().unwrap().to_owned();
    let spans = spans_of(TraceId::from_hex(&trace).unwrap());
    let server = spans
        .iter()
        .find(|span| span.span_kind == SpanKind::Server)
        .unwrap_or_else(|| panic!("the problem's traceId {trace} names no exported trace"));
    assert_eq!(server.parent_span_id, SpanId::INVALID, "a new root");
    assert_eq!(
        attribute(server, "http.response.status_code").as_deref(),
        Some("404")
    );
}
