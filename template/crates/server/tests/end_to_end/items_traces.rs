//! The example's use case, queries, cache calls and outbound webhook in the trace of the
//! request that caused them (the helpers are in `traces.rs`).

use std::time::Duration;

use crate::support::{TestApp, test_settings, webhook_receiver};
use crate::traces::{CALLER_SPAN, attribute, exporter, spans_of, traceparent};
use adapter_postgres::PostgresPools;
use opentelemetry::trace::{SpanId, SpanKind, TraceId};
use opentelemetry_sdk::trace::SpanData;
use reqwest::StatusCode;
use sqlx::PgPool;

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
