//! Webhook deliveries against a real local HTTP server that fails on purpose: retries with the
//! same idempotency key until it answers, no retry for a refusal, the breaker stops hammering a
//! dead receiver, the trace context travels in `traceparent`, and every attempt carries a
//! Standard Webhooks signature that a receiver verifies over the bytes it got, through a secret
//! rotation.

// A failed unwrap in a test is a failed assertion, with the value in the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use adapter_webhook::signature::{DEFAULT_TOLERANCE, Refused, SigningKey, Verifier};
use adapter_webhook::{Webhook, WebhookSettings};
use axum::Router;
use axum::body::Bytes;
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
    /// Body of every request received, byte for byte.
    bodies: Arc<Mutex<Vec<Bytes>>>,
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

async fn answer(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    receiver.received.lock().unwrap().push(headers);
    receiver.bodies.lock().unwrap().push(body);
    let status = receiver.script.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}

fn settings(url: &str) -> WebhookSettings {
    WebhookSettings {
        url: secrets::SecretUrl::new(url),
        signing_secrets: secrets::Secret::default(),
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

/// A fresh Standard Webhooks secret, as an operator would generate one.
fn new_secret() -> String {
    use base64::Engine as _;
    let bytes: Vec<u8> = (0..32).map(|_| fastrand::u8(..)).collect();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn signed_settings(url: &str, secrets: &[&str]) -> WebhookSettings {
    let mut settings = settings(url);
    settings.signing_secrets = secrets::Secret::new(secrets.join(","));
    settings
}

fn verifier(secrets: &[&str]) -> Verifier {
    let keys = secrets
        .iter()
        .map(|secret| SigningKey::parse(secret).unwrap())
        .collect();
    Verifier::new(keys, DEFAULT_TOLERANCE)
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Each received request as `verifier` judges it, on the bytes that arrived.
fn judged(receiver: &Receiver, verifier: &Verifier) -> Vec<Result<String, Refused>> {
    let headers = receiver.received.lock().unwrap().clone();
    let bodies = receiver.bodies.lock().unwrap().clone();
    headers
        .iter()
        .zip(&bodies)
        .map(|(headers, body)| {
            verifier
                .verify(headers, body, now())
                .map(|verified| verified.id)
        })
        .collect()
}

#[tokio::test]
async fn every_attempt_is_signed_anew_over_the_bytes_sent_and_a_retry_still_verifies() {
    let secret = new_secret();
    let (receiver, url) = Receiver::start(&[503]).await;
    let mut settings = signed_settings(&url, &[&secret]);
    // The retry waits at least 1.1 s (half the backoff, then jitter), so it falls in a later
    // second than the first attempt: its timestamp, and so its signature, are its own.
    settings.backoff_base_ms = 2_200;
    settings.backoff_max_ms = 2_200;
    let webhook = Webhook::start(&settings).unwrap();
    webhook
        .enqueue(
            "item.created:7".to_owned(),
            "item.created",
            json!({"id": 7, "name": "lamp"}),
        )
        .unwrap();
    receiver.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    receiver.wait_for(2).await;
    let received = receiver.received.lock().unwrap().clone();
    // The id has no dots (they delimit the signed content); Idempotency-Key keeps the event id.
    assert!(
        received
            .iter()
            .all(|headers| headers["webhook-id"] == "item_created:7")
    );
    assert!(
        received
            .iter()
            .all(|headers| headers["content-type"] == "application/json")
    );
    let timestamps: Vec<i64> = received
        .iter()
        .map(|headers| {
            headers["webhook-timestamp"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(timestamps[1] > timestamps[0], "{timestamps:?}");
    assert_ne!(
        received[0]["webhook-signature"],
        received[1]["webhook-signature"]
    );
    // The first attempt was answered 503, so not handled: its retry passes as well.
    let holder = verifier(&[&secret]);
    assert_eq!(
        judged(&receiver, &holder),
        [
            Ok("item_created:7".to_owned()),
            Ok("item_created:7".to_owned())
        ]
    );
    let body: serde_json::Value =
        serde_json::from_slice(&receiver.bodies.lock().unwrap()[1]).unwrap();
    assert_eq!(body, json!({"id": 7, "name": "lamp"}));
    // Another receiver's secret, or a body changed on the way, does not verify.
    let sent = receiver.bodies.lock().unwrap()[1].clone();
    let mut changed = sent.to_vec();
    changed[sent.len() - 2] ^= 1;
    let stranger = verifier(&[&new_secret()]);
    assert_eq!(
        stranger.verify(&received[1], &sent, now()),
        Err(Refused::NoValidSignature)
    );
    assert_eq!(
        verifier(&[&secret]).verify(&received[1], &changed, now()),
        Err(Refused::NoValidSignature)
    );
}

#[tokio::test]
async fn during_a_rotation_both_secrets_verify_and_after_it_only_the_new_one() {
    let (old, new) = (new_secret(), new_secret());
    let holds_old = verifier(&[&old]);
    let holds_new = verifier(&[&new]);

    // The overlap: the sender signs with both, so receivers holding either accept.
    let (during, url) = Receiver::start(&[]).await;
    let webhook = Webhook::start(&signed_settings(&url, &[&new, &old])).unwrap();
    webhook
        .enqueue("e-during".to_owned(), "item.created", json!({}))
        .unwrap();
    during.wait_for(1).await;
    let signature = during.received.lock().unwrap()[0]["webhook-signature"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(signature.split(' ').count(), 2, "{signature}");
    assert_eq!(judged(&during, &holds_old), [Ok("e-during".to_owned())]);
    assert_eq!(judged(&during, &holds_new), [Ok("e-during".to_owned())]);

    // After it: the old secret is gone from the sender, and a receiver still on it refuses.
    let (after, url) = Receiver::start(&[]).await;
    let webhook = Webhook::start(&signed_settings(&url, &[&new])).unwrap();
    webhook
        .enqueue("e-after".to_owned(), "item.created", json!({}))
        .unwrap();
    after.wait_for(1).await;
    assert_eq!(judged(&after, &holds_old), [Err(Refused::NoValidSignature)]);
    assert_eq!(judged(&after, &holds_new), [Ok("e-after".to_owned())]);
}

#[tokio::test]
async fn without_a_secret_a_delivery_is_unsigned_and_a_verifier_refuses_it() {
    let (receiver, url) = Receiver::start(&[]).await;
    let webhook = Webhook::start(&settings(&url)).unwrap();
    webhook
        .enqueue("e-plain".to_owned(), "item.created", json!({}))
        .unwrap();
    receiver.wait_for(1).await;
    assert_eq!(
        judged(&receiver, &verifier(&[&new_secret()])),
        [Err(Refused::MissingHeader("webhook-signature"))]
    );
}

#[test]
fn production_refuses_unsigned_webhooks_and_any_setting_that_is_not_a_secret() {
    let unsigned = settings("https://receiver.example/hook");
    assert!(unsigned.validate("local").is_ok());
    let refused = unsigned.validate("production").unwrap_err();
    assert!(refused.contains("webhook.signing_secrets"), "{refused}");
    assert!(
        signed_settings("https://receiver.example/hook", &[&new_secret()])
            .validate("production")
            .is_ok()
    );
    let wrong = signed_settings("", &["whsec_c2hvcnQ="]);
    let refused = wrong.validate("local").unwrap_err();
    assert!(refused.contains("24 to 64 bytes"), "{refused}");
    assert!(
        !refused.contains("c2hvcnQ"),
        "the secret is never shown: {refused}"
    );
}
