//! Webhook deliveries against a real local HTTP server that fails on purpose: retries with the
//! same idempotency key until it answers, no retry for a refusal, the breaker stops hammering a
//! dead receiver, and the trace context travels in `traceparent`.

// A failed unwrap in a test is a failed assertion, with the value in the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use adapter_webhook::{Webhook, WebhookSettings};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::json;

#[derive(Clone, Default)]
struct Receiver {
    /// Statuses to answer, in order; 200 once it runs out.
    script: Arc<Mutex<VecDeque<u16>>>,
    /// Headers of every request received.
    received: Arc<Mutex<Vec<HeaderMap>>>,
}

impl Receiver {
    async fn start(script: &[u16]) -> (Self, String) {
        let receiver = Self {
            script: Arc::new(Mutex::new(script.iter().copied().collect())),
            ..Self::default()
        };
        let app = Router::new()
            .route("/hook", post(answer))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, url)
    }

    fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    async fn wait_for(&self, requests: usize) {
        for _ in 0..200 {
            if self.count() >= requests {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("expected {requests} requests, got {}", self.count());
    }
}

async fn answer(State(receiver): State<Receiver>, headers: HeaderMap) -> StatusCode {
    receiver.received.lock().unwrap().push(headers);
    let status = receiver.script.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}

fn settings(url: &str) -> WebhookSettings {
    WebhookSettings {
        url: secrets::SecretUrl::new(url),
        timeout_ms: 1_000,
        max_attempts: 4,
        backoff_base_ms: 10,
        backoff_max_ms: 40,
        queue_capacity: 16,
        breaker_failure_rate: 0.5,
        breaker_window: 4,
        breaker_open_ms: 60_000,
    }
}

fn install_telemetry() {
    static GUARD: OnceLock<Option<telemetry::TelemetryGuard>> = OnceLock::new();
    GUARD.get_or_init(|| {
        let settings = telemetry::TelemetrySettings {
            log_format: telemetry::LogFormat::Json,
            log_filter: "warn".to_owned(),
            otlp_endpoint: String::new(),
            sampling_ratio: 1.0,
        };
        let identity = telemetry::ServiceIdentity {
            name: "test",
            version: "0",
            environment: "test".to_owned(),
        };
        telemetry::init(&settings, &identity).ok()
    });
}

#[tokio::test]
async fn failures_are_retried_with_the_same_key_until_delivered() {
    install_telemetry();
    let (receiver, url) = Receiver::start(&[500, 503]).await;
    let webhook = Webhook::start(&settings(&url)).unwrap();
    let request = tracing::info_span!("request");
    let trace_id = {
        let _entered = request.enter();
        webhook
            .enqueue(
                "item.created:1".to_owned(),
                "item.created",
                json!({"id": 1}),
            )
            .unwrap();
        telemetry::current_trace_id().unwrap()
    };
    receiver.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        receiver.count(),
        3,
        "two failures, then delivered, then nothing more"
    );
    let received = receiver.received.lock().unwrap().clone();
    assert!(
        received
            .iter()
            .all(|headers| headers["idempotency-key"] == "item.created:1")
    );
    assert!(
        received
            .iter()
            .all(|headers| headers["x-event-type"] == "item.created")
    );
    let traceparent = received[0]["traceparent"].to_str().unwrap();
    assert!(
        traceparent.contains(&trace_id),
        "{traceparent} continues trace {trace_id}"
    );
}

#[tokio::test]
async fn a_refusal_is_not_retried() {
    let (receiver, url) = Receiver::start(&[400]).await;
    let webhook = Webhook::start(&settings(&url)).unwrap();
    webhook
        .enqueue("e-1".to_owned(), "item.created", json!({}))
        .unwrap();
    webhook
        .enqueue("e-2".to_owned(), "item.created", json!({}))
        .unwrap();
    receiver.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let keys: Vec<_> = receiver
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|h| h["idempotency-key"].clone())
        .collect();
    assert_eq!(
        keys,
        ["e-1", "e-2"],
        "the 400 was given up at once; the next event went through"
    );
}

#[tokio::test]
async fn a_dead_receiver_trips_the_breaker_and_is_left_alone() {
    let (receiver, url) = Receiver::start(&[500; 100]).await;
    let webhook = Webhook::start(&settings(&url)).unwrap();
    for n in 0..5 {
        webhook
            .enqueue(format!("e-{n}"), "item.created", json!({}))
            .unwrap();
    }
    receiver.wait_for(4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Without a breaker: 5 deliveries x 4 attempts = 20 requests. The breaker (window 4, 50%)
    // opens once its window is full of failures and rejects the rest without a request.
    let requests = receiver.count();
    assert!(
        (4..=5).contains(&requests),
        "the breaker stopped the calls after {requests}"
    );
}

#[tokio::test]
async fn a_full_queue_drops_instead_of_blocking() {
    let (_receiver, url) = Receiver::start(&[]).await;
    let mut small = settings(&url);
    small.queue_capacity = 1;
    // No runtime turn between the sends: the worker cannot drain the queue meanwhile.
    let webhook = Webhook::start(&small).unwrap();
    webhook
        .enqueue("e-1".to_owned(), "item.created", json!({}))
        .unwrap();
    assert!(
        webhook
            .enqueue("e-2".to_owned(), "item.created", json!({}))
            .is_err()
    );
}
