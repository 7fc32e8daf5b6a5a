//! Runs the example consumer on its durable pull consumer: each message continues the writer's
//! trace, is parsed, and handed to the domain's `ItemEventConsumer`. Acknowledged after it is
//! applied (or found to be a duplicate); copied to the dead-letter subject and terminated when
//! it can never be handled; negatively acknowledged with a delay when handling failed for a
//! reason that may pass (JetStream redelivers it, up to `max_deliver` times). A lost connection
//! is reopened with backoff until told to stop.

use std::time::Duration;

use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::{AckPolicy, pull};
use domain::messaging::{ConsumeError, Handled, ItemEvent, ItemEventConsumer};
use futures_util::StreamExt;
use tokio::sync::watch;
use tracing::Instrument;

use crate::{MessagingSettings, declare_stream, open};

/// The example consumer, on NATS JetStream.
pub struct NatsConsumer {
    settings: MessagingSettings,
    consumer: ItemEventConsumer,
}

impl NatsConsumer {
    /// A consumer named `settings.consumer`.
    #[must_use]
    pub fn new(settings: MessagingSettings, consumer: ItemEventConsumer) -> Self {
        Self { settings, consumer }
    }

    /// Consumes until `stop` turns true, reconnecting after any failure.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let base = Duration::from_millis(self.settings.retry_base_ms.max(1));
        let mut wait = base;
        while !*stop.borrow() {
            match self.consume(&mut stop).await {
                Ok(()) => return,
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), retry_in_ms = wait.as_millis(), "consumer: broker unreachable");
                }
            }
            tokio::select! {
                _ = stop.changed() => return,
                () = tokio::time::sleep(wait) => {}
            }
            wait = (wait * 2).min(Duration::from_millis(self.settings.retry_max_ms));
        }
    }

    /// One connection's life: returns `Ok` when stopped, `Err` when the connection failed.
    async fn consume(&self, stop: &mut watch::Receiver<bool>) -> anyhow::Result<()> {
        let context = open(&self.settings).await?;
        declare_stream(&context, &self.settings).await?;
        let stream = context.get_stream(&self.settings.stream).await?;
        let consumer = stream
            .get_or_create_consumer(
                &self.settings.consumer,
                pull::Config {
                    durable_name: Some(self.settings.consumer.clone()),
                    filter_subject: self.settings.subject("item.*"),
                    ack_policy: AckPolicy::Explicit,
                    ack_wait: Duration::from_secs(30),
                    max_deliver: i64::from(self.settings.max_deliver),
                    max_ack_pending: i64::from(self.settings.prefetch),
                    ..pull::Config::default()
                },
            )
            .await?;
        let mut messages = consumer.messages().await?;
        tracing::info!(consumer = %self.settings.consumer, "consumer: consuming");
        loop {
            tokio::select! {
                _ = stop.changed() => return Ok(()),
                next = messages.next() => match next {
                    Some(Ok(message)) => self.deliver(&context, message).await?,
                    Some(Err(error)) => return Err(error.into()),
                    None => anyhow::bail!("the message stream ended"),
                },
            }
        }
    }

    async fn deliver(
        &self,
        context: &async_nats::jetstream::Context,
        message: async_nats::jetstream::Message,
    ) -> anyhow::Result<()> {
        let header = |name: &str| {
            message
                .headers
                .as_ref()
                .and_then(|headers| headers.get(name))
                .map(|value| value.as_str().to_owned())
        };
        let message_id = header("Nats-Msg-Id").unwrap_or_default();
        let span = tracing::info_span!(
            "consume item event",
            otel.kind = "consumer",
            messaging.system = "nats",
            messaging.destination.name = %message.subject,
            messaging.message.id = %message_id,
        );
        if let Some(traceparent) = header("traceparent") {
            continue_trace(&span, &traceparent);
        }
        async {
            let outcome = match serde_json::from_slice::<ItemEvent>(&message.payload) {
                Ok(event) => self.consumer.handle(&event).await,
                Err(error) => Err(ConsumeError::Malformed(error.to_string())),
            };
            let label = match &outcome {
                Ok(Handled::Applied) => "applied",
                Ok(Handled::Duplicate) => "duplicate",
                Err(ConsumeError::Malformed(_)) => "dead-lettered",
                Err(ConsumeError::Unexpected(_)) => "requeued",
            };
            metrics::counter!("messaging_consumer_deliveries_total", "outcome" => label)
                .increment(1);
            match outcome {
                Ok(_) => message.ack().await.map_err(anyhow::Error::msg)?,
                Err(ConsumeError::Malformed(reason)) => {
                    tracing::warn!(%reason, "consumer: cannot handle this message; dead-lettering it");
                    // A message id of its own: the stream would drop a second `Nats-Msg-Id`.
                    let mut headers = async_nats::HeaderMap::new();
                    headers.insert("Nats-Msg-Id", format!("{message_id}.dead-letter").as_str());
                    headers.insert("Original-Msg-Id", message_id.as_str());
                    headers.insert("Original-Subject", message.subject.as_str());
                    headers.insert("Dead-Letter-Reason", reason.as_str());
                    if let Some(traceparent) = header("traceparent") {
                        headers.insert("traceparent", traceparent.as_str());
                    }
                    context
                        .publish_with_headers(
                            self.settings.dead_letter_subject(),
                            headers,
                            message.payload.clone(),
                        )
                        .await?
                        .await?;
                    message
                        .ack_with(AckKind::Term)
                        .await
                        .map_err(anyhow::Error::msg)?;
                }
                Err(ConsumeError::Unexpected(error)) => {
                    tracing::warn!(error = %format!("{error:#}"), "consumer: handling failed; redelivery later");
                    let delay = Duration::from_millis(self.settings.retry_base_ms);
                    message
                        .ack_with(AckKind::Nak(Some(delay)))
                        .await
                        .map_err(anyhow::Error::msg)?;
                }
            }
            Ok::<_, anyhow::Error>(())
        }
        .instrument(span)
        .await
    }
}

/// Makes `span` part of the producer's trace.
fn continue_trace(span: &tracing::Span, traceparent: &str) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let carrier =
        std::collections::HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let parent =
        opentelemetry::global::get_text_map_propagator(|propagator| propagator.extract(&carrier));
    if let Err(error) = span.set_parent(parent) {
        tracing::debug!(%error, "consumer: cannot attach the message's trace context");
    }
}
