//! Runs the example consumer on its queue: each delivery continues the writer's trace, is
//! parsed, and handed to the domain's `ItemEventConsumer`. Acknowledged after it is applied (or
//! found to be a duplicate); rejected to the dead-letter queue when it can never be handled;
//! requeued when handling failed for a reason that may pass (the database is down). A lost
//! connection is reopened with backoff until told to stop.

use std::time::Duration;

use domain::messaging::{ConsumeError, Handled, ItemEvent, ItemEventConsumer};
use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions, BasicRejectOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use tokio::sync::watch;
use tracing::Instrument;

use crate::{MessagingSettings, declare_consumer_queue, declare_exchanges, open};

/// The example consumer, on RabbitMQ.
pub struct RabbitConsumer {
    settings: MessagingSettings,
    consumer: ItemEventConsumer,
}

impl RabbitConsumer {
    /// A consumer of `settings.consumer_queue`.
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
        let queue = self.settings.consumer_queue.as_str();
        let (connection, channel) = open(&self.settings).await?;
        declare_exchanges(&channel, &self.settings).await?;
        declare_consumer_queue(&channel, &self.settings, queue).await?;
        channel
            .basic_qos(self.settings.prefetch, BasicQosOptions::default())
            .await?;
        let mut deliveries = channel
            .basic_consume(
                queue.into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        tracing::info!(queue, "consumer: consuming");
        loop {
            tokio::select! {
                _ = stop.changed() => {
                    let _ = connection.close(200, "stopping".into()).await;
                    return Ok(());
                }
                next = deliveries.next() => match next {
                    Some(Ok(delivery)) => self.deliver(delivery).await?,
                    Some(Err(error)) => return Err(error.into()),
                    None => anyhow::bail!("the broker cancelled the consumer"),
                },
            }
        }
    }

    async fn deliver(&self, delivery: Delivery) -> anyhow::Result<()> {
        let message_id = delivery
            .properties
            .message_id()
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let span = tracing::info_span!(
            "consume item event",
            otel.kind = "consumer",
            messaging.system = "rabbitmq",
            messaging.destination.name = %self.settings.consumer_queue,
            messaging.message.id = %message_id,
        );
        if let Some(traceparent) = header(&delivery, "traceparent") {
            continue_trace(&span, &traceparent);
        }
        async {
            let outcome = match serde_json::from_slice::<ItemEvent>(&delivery.data) {
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
                Ok(_) => {
                    delivery.ack(BasicAckOptions::default()).await?;
                }
                Err(ConsumeError::Malformed(reason)) => {
                    tracing::warn!(%reason, "consumer: cannot handle this message; dead-lettering it");
                    delivery
                        .reject(BasicRejectOptions { requeue: false })
                        .await?;
                }
                Err(ConsumeError::Unexpected(error)) => {
                    tracing::warn!(error = %format!("{error:#}"), "consumer: handling failed; requeueing");
                    // A pause, so a database outage is not a hot loop of redeliveries.
                    tokio::time::sleep(Duration::from_millis(self.settings.retry_base_ms)).await;
                    delivery
                        .nack(BasicNackOptions {
                            requeue: true,
                            ..BasicNackOptions::default()
                        })
                        .await?;
                }
            }
            Ok::<_, anyhow::Error>(())
        }
        .instrument(span)
        .await
    }
}

fn header(delivery: &Delivery, name: &str) -> Option<String> {
    let headers = delivery.properties.headers().as_ref()?;
    match headers.inner().get(name)? {
        AMQPValue::LongString(value) => {
            Some(String::from_utf8_lossy(value.as_bytes()).into_owned())
        }
        _ => None,
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
