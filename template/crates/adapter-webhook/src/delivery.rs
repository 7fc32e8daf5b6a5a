//! Sends webhook deliveries from a bounded queue: one worker, bounded retries with backoff and
//! jitter, one circuit breaker for the receiver, the trace context carried along, and each
//! attempt signed (Standard Webhooks, `signature.rs`) so a receiver can tell it from a forgery.

use std::collections::HashMap;
use std::time::Duration;

use recloser::{AsyncRecloser, Recloser};
use secrets::{Secret, SecretUrl};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tracing::{Instrument, Span, field};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::signature::{
    ID_HEADER, InvalidKey, SIGNATURE_HEADER, SigningKey, TIMESTAMP_HEADER, signature_header,
};

/// Webhook settings, the `[webhook]` section of the configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Where to POST events; empty turns webhooks off.
    pub url: SecretUrl,
    /// Standard Webhooks secrets (`whsec_<base64>`, 24 to 64 bytes), comma-separated, each
    /// signing every attempt: the current one, and during a rotation the old one beside it.
    /// One string, so it can come from a mounted file like any secret. Production refuses a
    /// URL without one.
    pub signing_secrets: Secret,
    /// How long one attempt may take.
    pub timeout_ms: u64,
    /// Attempts per delivery, the first included.
    pub max_attempts: u32,
    /// The first retry waits about this long; each next one twice as long.
    pub backoff_base_ms: u64,
    /// No wait between attempts is longer than this.
    pub backoff_max_ms: u64,
    /// Deliveries waiting to be sent; past it, new ones are dropped (and logged).
    pub queue_capacity: usize,
    /// Share of failed attempts (0.0 to 1.0) over `breaker_window` that opens the breaker.
    pub breaker_failure_rate: f32,
    /// How many recent attempts the failure rate is computed over.
    pub breaker_window: usize,
    /// How long the breaker stays open before it lets a trial attempt through.
    pub breaker_open_ms: u64,
}

impl WebhookSettings {
    /// Checks the settings as loaded, for `environment` (`APP_ENV`).
    ///
    /// # Errors
    /// A message when an attempt count, timeout or breaker window is 0, when a signing secret
    /// is not a Standard Webhooks secret, or when production would send unsigned webhooks
    /// (anyone who learnt the receiver's URL could post events it would believe).
    pub fn validate(&self, environment: &str) -> Result<(), String> {
        if self.max_attempts == 0 || self.timeout_ms == 0 || self.breaker_window == 0 {
            return Err(
                "webhook: max_attempts, timeout_ms and breaker_window must be at least 1"
                    .to_owned(),
            );
        }
        self.signing_keys()
            .map_err(|error| format!("webhook.signing_secrets: {error}"))?;
        let unsigned = self.signing_secrets.expose().trim().is_empty();
        if environment == "production" && !self.url.is_empty() && unsigned {
            return Err(
                "APP_ENV=production signs every webhook: set webhook.signing_secrets \
                 (APP__WEBHOOK__SIGNING_SECRETS, whsec_ secrets, comma-separated)"
                    .to_owned(),
            );
        }
        Ok(())
    }

    /// The signing keys, in the configured order (none when the setting is empty).
    ///
    /// # Errors
    /// [`InvalidKey`] for the first secret that is not one.
    pub fn signing_keys(&self) -> Result<Vec<SigningKey>, InvalidKey> {
        self.signing_secrets
            .expose()
            .split(',')
            .map(str::trim)
            .filter(|secret| !secret.is_empty())
            .map(SigningKey::parse)
            .collect()
    }
}

/// One event to deliver.
#[derive(Debug)]
pub struct Delivery {
    /// Stable per event: sent as `Idempotency-Key`, so receivers can drop repeats.
    pub event_id: String,
    /// Sent as `X-Event-Type` (`item.created`).
    pub event_type: &'static str,
    /// The JSON body.
    pub body: serde_json::Value,
    /// The trace the event belongs to.
    parent: opentelemetry::Context,
}

/// The queue in front of the delivery worker. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Webhook {
    sender: Option<mpsc::Sender<Delivery>>,
}

/// The delivery queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

/// Why an attempt failed.
#[derive(Debug)]
enum Failure {
    /// Worth another attempt: timeouts, connection errors, 408, 429, 5xx.
    Transient(String),
    /// Another attempt would fail the same way: other 4xx.
    Permanent(String),
}

impl Webhook {
    /// Starts the delivery worker (on the current Tokio runtime), or a disabled webhook when
    /// no URL is configured.
    ///
    /// # Errors
    /// When a signing secret is not one (`validate` says so first) or the HTTP client cannot
    /// be built.
    pub fn start(settings: &WebhookSettings) -> anyhow::Result<Self> {
        if settings.url.is_empty() {
            return Ok(Self { sender: None });
        }
        let keys = settings.signing_keys()?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.timeout_ms))
            .build()?;
        let breaker = Recloser::custom()
            .error_rate(settings.breaker_failure_rate)
            .closed_len(settings.breaker_window)
            .half_open_len((settings.breaker_window / 4).max(1))
            .open_wait(Duration::from_millis(settings.breaker_open_ms))
            .build();
        let (sender, queue) = mpsc::channel(settings.queue_capacity.max(1));
        let worker = Worker {
            client,
            breaker: breaker.into(),
            keys,
            settings: settings.clone(),
        };
        tokio::spawn(worker.run(queue));
        Ok(Self {
            sender: Some(sender),
        })
    }

    /// Queues an event for delivery, in the trace of the current span.
    ///
    /// # Errors
    /// [`QueueFull`] when the queue is full: the event is dropped.
    pub fn enqueue(
        &self,
        event_id: String,
        event_type: &'static str,
        body: serde_json::Value,
    ) -> Result<(), QueueFull> {
        let Some(sender) = &self.sender else {
            return Ok(());
        };
        let delivery = Delivery {
            event_id,
            event_type,
            body,
            parent: Span::current().context(),
        };
        sender.try_send(delivery).map_err(|_| QueueFull)
    }
}

struct Worker {
    client: reqwest::Client,
    breaker: AsyncRecloser,
    /// Every attempt is signed with each of them; none: unsigned (development only).
    keys: Vec<SigningKey>,
    settings: WebhookSettings,
}

impl Worker {
    async fn run(self, mut queue: mpsc::Receiver<Delivery>) {
        // Ends when every sender is gone (the service is shutting down) and the queue is empty.
        while let Some(delivery) = queue.recv().await {
            self.deliver(delivery).await;
        }
    }

    async fn deliver(&self, delivery: Delivery) {
        let span = tracing::info_span!(
            "webhook delivery",
            otel.kind = "client",
            event.id = %delivery.event_id,
            event.type = delivery.event_type,
            attempts = field::Empty,
            outcome = field::Empty,
        );
        // The delivery is a child of the request that caused it, even though it runs later.
        let _ = span.set_parent(delivery.parent.clone());
        async {
            let outcome = self.attempts(&delivery).await;
            Span::current().record("outcome", outcome);
            metrics::counter!("webhook_deliveries_total", "outcome" => outcome).increment(1);
        }
        .instrument(span)
        .await;
    }

    async fn attempts(&self, delivery: &Delivery) -> &'static str {
        // The bytes signed are the bytes sent: serialised once, never re-encoded per attempt.
        let body = match serde_json::to_vec(&delivery.body) {
            Ok(body) => body,
            Err(error) => {
                tracing::warn!(%error, "webhook body cannot be serialised; not sent");
                return "refused";
            }
        };
        let counts = |failure: &Failure| matches!(failure, Failure::Transient(_));
        for attempt in 1..=self.settings.max_attempts {
            Span::current().record("attempts", attempt);
            let result = self
                .breaker
                .call_with(counts, self.send(delivery, &body))
                .await;
            let rejected = matches!(result, Err(recloser::Error::Rejected));
            metrics::gauge!("circuit_breaker_open", "breaker" => "webhook").set(if rejected {
                1.0
            } else {
                0.0
            });
            match result {
                Ok(()) => return "delivered",
                Err(recloser::Error::Rejected) => {
                    tracing::warn!("webhook receiver circuit open; delivery dropped");
                    return "rejected";
                }
                Err(recloser::Error::Inner(Failure::Permanent(reason))) => {
                    tracing::warn!(%reason, "webhook refused; not retried");
                    return "refused";
                }
                Err(recloser::Error::Inner(Failure::Transient(reason))) => {
                    if attempt == self.settings.max_attempts {
                        tracing::warn!(%reason, attempt, "webhook failed; giving up");
                        return "failed";
                    }
                    tracing::info!(%reason, attempt, "webhook failed; retrying");
                    tokio::time::sleep(self.backoff(attempt)).await;
                }
            }
        }
        "failed"
    }

    /// Exponential backoff with "equal jitter": half fixed, half random, so retries from many
    /// deliveries spread out instead of hitting the receiver together.
    fn backoff(&self, attempt: u32) -> Duration {
        let exponential = self
            .settings
            .backoff_base_ms
            .saturating_mul(1 << (attempt - 1).min(16));
        let capped = exponential.min(self.settings.backoff_max_ms);
        Duration::from_millis(capped / 2 + fastrand::u64(0..=capped / 2))
    }

    async fn send(&self, delivery: &Delivery, body: &[u8]) -> Result<(), Failure> {
        let mut trace_headers = HashMap::new();
        opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.inject_context(&Span::current().context(), &mut trace_headers);
        });
        // The attempt's own time: a retry is signed anew, so a receiver's tolerance applies to
        // when it was sent, not to when the event happened.
        let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
        // The specification keeps dots out of the id, as they delimit the signed content.
        let webhook_id = delivery.event_id.replace('.', "_");
        let mut request = self
            .client
            .post(self.settings.url.expose())
            .header("idempotency-key", &delivery.event_id)
            .header("x-event-type", delivery.event_type)
            .header(ID_HEADER, &webhook_id)
            .header(TIMESTAMP_HEADER, timestamp)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        if !self.keys.is_empty() {
            let signature = signature_header(&self.keys, &webhook_id, timestamp, body);
            request = request.header(SIGNATURE_HEADER, signature);
        }
        for (name, value) in trace_headers {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(transport_failure)?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
            Err(Failure::Transient(format!("answered {status}")))
        } else {
            Err(Failure::Permanent(format!("answered {status}")))
        }
    }
}

/// A request that got no answer (refused, reset, timed out), as it may be logged: without the
/// receiver's URL, whose query can carry the receiver's token.
fn transport_failure(error: reqwest::Error) -> Failure {
    Failure::Transient(error.without_url().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failure_to_reach_the_receiver_is_reported_without_its_url() {
        // Port 1 on the loopback refuses at once: a transport error that names its URL.
        let error = reqwest::Client::new()
            .post("http://127.0.0.1:1/hook?token=s3cret")
            .send()
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("s3cret"),
            "reqwest names the URL"
        );
        let Failure::Transient(reason) = transport_failure(error) else {
            panic!("a transport error is worth another attempt");
        };
        assert!(!reason.contains("s3cret"), "{reason}");
    }
}
