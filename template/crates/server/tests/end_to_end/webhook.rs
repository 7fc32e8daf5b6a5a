//! Item events leave the service: creating an item POSTs `item.created` to the configured
//! webhook (a real local HTTP server here), once, with its idempotency key and trace context.

use std::time::Duration;

use crate::support::{TestApp, test_settings, webhook_receiver};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

#[sqlx::test(migrations = "../../migrations")]
async fn creating_an_item_announces_it_once(pool: PgPool) {
    let (received, url) = webhook_receiver().await;
    let mut settings = test_settings();
    settings.webhook.url = secrets::SecretUrl::new(url);
    let app = TestApp::spawn_with(settings, adapter_postgres::PostgresPools::single(pool)).await;
    let tenant = app.create_tenant("acme").await;
    let items = format!("/api/v1/tenants/{tenant}/items");
    let post = || {
        app.client
            .post(app.url(&items))
            .header("idempotency-key", "once")
            .json(&json!({"name": "lamp"}))
            .send()
    };
    let created = post().await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let item: Value = created.json().await.unwrap();
    assert_eq!(
        post().await.unwrap().status(),
        StatusCode::CREATED,
        "a retried request"
    );

    for _ in 0..100 {
        if !received.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "announced once, not once per retry");
    let (headers, event) = &received[0];
    assert_eq!(event["type"], "item.created");
    assert_eq!(event["data"]["id"], item["id"]);
    assert_eq!(
        headers["idempotency-key"],
        format!("item.created:{}", item["id"].as_str().unwrap()).as_str()
    );
    let traceparent = headers["traceparent"].to_str().unwrap();
    assert_eq!(
        traceparent.split('-').count(),
        4,
        "W3C trace context: {traceparent}"
    );
    // The delivery is counted on /metrics, and the receiver's breaker reads closed.
    assert!(
        app.metric(r#"webhook_deliveries_total{outcome="delivered"}"#)
            .await
            >= 1.0
    );
    let body = app.get("/metrics").await.text().await.unwrap();
    assert!(
        body.contains(r#"circuit_breaker_open{breaker="webhook"} 0"#),
        "{body}"
    );
    app.stop().await.unwrap();
}
