//! Traces as an OTLP collector would receive them: the spans the service exports, read from
//! the SDK's in-memory exporter installed in place of the OTLP one. A request joins the
//! caller's trace (W3C `traceparent`), carries the OTel HTTP attributes, and its use case,
//! queries, cache calls and outbound webhook hang below it in one tree.

{% if example %}use std::time::Duration;

{% endif -%}
{% if example %}use crate::support::webhook_receiver;
{% endif %}use crate::support::{TestApp, test_settings};
use adapter_postgres::PostgresPools;
use opentelemetry::trace::{SpanId, SpanKind, TraceId};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData};
use reqwest::StatusCode;
use sqlx::PgPool;

/// The caller's span: the parent id a client (or gateway) sends in `traceparent`.
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// The spans this test binary's applications exported (see `support::exported_spans`).
fn exporter() -> &'static InMemorySpanExporter {
    crate::support::exported_spans()
}

/// The finished spans of `trace`.
fn spans_of(trace: TraceId) -> Vec<SpanData> {
    exporter()
        .get_finished_spans()
        .unwrap()
        .into_iter()
        .filter(|span| span.span_context.trace_id() == trace)
        .collect()
}

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|attribute| attribute.key.as_str() == key)
        .map(|attribute| attribute.value.to_string())
}

fn traceparent(trace: &str) -> String {
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
{% if example %}
#[sqlx::test(migrations = "../../migrations")]
async fn use_case_query_cache_and_webhook_spans_hang_below_the_request(pool: PgPool) {
    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    exporter();
    let (received, url) = webhook_receiver().await;
    let mut settings = test_settings();
    settings.webhook.url = secrets::SecretUrl::new(url);
    let app = TestApp::spawn_with(settings, PostgresPools::single(pool)).await;
    let tenant = app.create_tenant("traced").await;
    let created = app
        .client
        .post(app.url(&format!("/api/v1/tenants/{tenant}/items")))
        .header("traceparent", traceparent(TRACE))
        .json(&serde_json::json!({"name": "lamp"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);

    // The webhook leaves after the response, from the delivery queue.
    let mut delivery = None;
    for _ in 0..100 {
        let spans = spans_of(TraceId::from_hex(TRACE).unwrap());
        delivery = spans
            .into_iter()
            .find(|span| span.name == "webhook delivery");
        if delivery.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let delivery = delivery.expect("the webhook delivery span was exported");
    let spans = spans_of(TraceId::from_hex(TRACE).unwrap());
    let find = |predicate: &dyn Fn(&SpanData) -> bool, what: &str| -> SpanData {
        spans
            .iter()
            .find(|span| predicate(span))
            .unwrap_or_else(|| panic!("no {what} span in {spans:#?}"))
            .clone()
    };
    let server = find(&|span| span.span_kind == SpanKind::Server, "server");
    assert_eq!(server.name, "POST /api/v1/tenants/{tenantId}/items");
    assert_eq!(
        server.parent_span_id,
        SpanId::from_hex(CALLER_SPAN).unwrap()
    );
    let server_id = server.span_context.span_id();
    let use_case = find(
        &|span| span.name == "create" && span.parent_span_id == server_id,
        "use case (ItemService::create)",
    );
    let use_case_id = use_case.span_context.span_id();
    let query = find(
        &|span| attribute(span, "db.system.name").as_deref() == Some("postgresql"),
        "database",
    );
    assert_eq!(
        query.parent_span_id, use_case_id,
        "the query runs in the use case"
    );
    let cache = find(&|span| attribute(span, "cache.backend").is_some(), "cache");
    assert_eq!(cache.parent_span_id, use_case_id, "the cache call too");
    assert_eq!(delivery.span_kind, SpanKind::Client);
    assert_eq!(delivery.parent_span_id, use_case_id);
    assert_eq!(
        attribute(&delivery, "outcome").as_deref(),
        Some("delivered")
    );

    // Across the wire: the receiver's traceparent names our trace and the delivery span.
    let received = received.lock().unwrap().clone();
    let (headers, _) = received.first().expect("the webhook arrived");
    let sent = headers["traceparent"].to_str().unwrap();
    assert_eq!(
        sent,
        format!("00-{TRACE}-{}-01", delivery.span_context.span_id()),
        "the outbound call continues the same trace"
    );
}
{% endif %}