//! Runs the example consumer on its queue: each delivery continues the writer's trace, is
//! parsed, and handed to the domain's `ItemEventConsumer`. Acknowledged after it is applied (or
//! found to be a duplicate); rejected to the dead-letter queue when it can never be handled.
//! When handling failed for a reason that may pass (the database is down), the domain's
//! `RedeliveryPolicy` decides: a copy carrying its delivery count waits out a growing delay in
//! the retry queue (confirmed before the original is acknowledged: a crash in between delivers
//! it twice, which the inbox absorbs; the copy's way back is RabbitMQ's dead-lettering, which
//! classic queues do without confirms, so a broker failing at that moment can lose it), and after `max_deliver` deliveries it
//! is rejected to the dead-letter queue. Requeueing instead would retry a poison message for
//! ever, in a hot loop. A lost connection is reopened with backoff until told to stop; the
//! backoff starts again from its base once a connection has handled a delivery.

use std::time::Duration;

use domain::messaging::{ConsumeError, Handled, ItemEvent, ItemEventConsumer, Redeliver};
use futures_util::StreamExt;
use lapin::Channel;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, BasicRejectOptions,
    ConfirmSelectOptions,
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
        // Every outcome's series exists from the start, at zero: an alert on the increase of
        // dead letters then sees the first one (a series born at 1 shows no increase).
        for outcome in OUTCOMES {
            metrics::counter!("messaging_consumer_deliveries_total", "outcome" => outcome)
                .increment(0);
        }
        let base = Duration::from_millis(self.settings.retry_base_ms.max(1));
        let mut wait = base;
        while !*stop.borrow() {
            let mut consumed = false;
            match self.consume(&mut stop, &mut consumed).await {
                Ok(()) => return,
                Err(error) => {
                    // A connection that worked and then broke is a new outage: start over.
                    if consumed {
                        wait = base;
                    }
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

    /// One connection's life: returns `Ok` when stopped, `Err` when the connection failed;
    /// `consumed` turns true once it is consuming.
    async fn consume(
        &self,
        stop: &mut watch::Receiver<bool>,
        consumed: &mut bool,
    ) -> anyhow::Result<()> {
        let queue = self.settings.consumer_queue.as_str();
        let (connection, channel) = open(&self.settings).await?;
        declare_exchanges(&channel, &self.settings).await?;
        declare_consumer_queue(&channel, &self.settings, queue).await?;
        channel
            .basic_qos(self.settings.prefetch, BasicQosOptions::default())
            .await?;
        // Retry copies go out on a channel of their own, with confirms.
        let retries = connection.create_channel().await?;
        retries
            .confirm_select(ConfirmSelectOptions::default())
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
                    Some(Ok(delivery)) => {
                        self.deliver(delivery, &retries).await?;
                        // A connection that handled a delivery worked: a later failure is a
                        // new outage, not the same one going on.
                        *consumed = true;
                    }
                    Some(Err(error)) => return Err(error.into()),
                    None => anyhow::bail!("the broker cancelled the consumer"),
                },
            }
        }
    }

    async fn deliver(&self, delivery: Delivery, retries: &Channel) -> anyhow::Result<()> {
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
            match outcome {
                Ok(handled) => {
                    count(match handled {
                        Handled::Applied => "applied",
                        Handled::Duplicate => "duplicate",
                    });
                    delivery.ack(BasicAckOptions::default()).await?;
                }
                Err(ConsumeError::Malformed(reason)) => {
                    count("dead-lettered");
                    tracing::warn!(%reason, "consumer: cannot handle this message; dead-lettering it");
                    delivery
                        .reject(BasicRejectOptions { requeue: false })
                        .await?;
                }
                Err(ConsumeError::Unexpected(error)) => {
                    let deliveries = deliveries(&delivery);
                    match self.settings.redelivery_policy().after_failure(deliveries) {
                        Redeliver::After(delay) => {
                            count("requeued");
                            tracing::warn!(error = %format!("{error:#}"), delivery = deliveries, retry_in_ms = delay.as_millis(), "consumer: handling failed; redelivery later");
                            self.retry_later(&delivery, retries, deliveries, delay)
                                .await?;
                            delivery.ack(BasicAckOptions::default()).await?;
                        }
                        Redeliver::DeadLetter => {
                            count("dead-lettered");
                            tracing::error!(error = %format!("{error:#}"), delivery = deliveries, "consumer: handling kept failing; dead-lettering the message");
                            delivery
                                .reject(BasicRejectOptions { requeue: false })
                                .await?;
                        }
                    }
                }
            }
            Ok::<_, anyhow::Error>(())
        }
        .instrument(span)
        .await
    }

    /// Parks a copy of `delivery` in the retry queue for `delay`, counting this delivery; it
    /// expires back into the consumer's queue. Returns once the broker confirmed the copy.
    async fn retry_later(
        &self,
        delivery: &Delivery,
        retries: &Channel,
        deliveries: u32,
        delay: Duration,
    ) -> anyhow::Result<()> {
        let mut headers = delivery.properties.headers().clone().unwrap_or_default();
        headers.insert(
            DELIVERIES.into(),
            AMQPValue::LongLongInt(i64::from(deliveries)),
        );
        let properties = delivery
            .properties
            .clone()
            .with_headers(headers)
            .with_expiration(delay.as_millis().to_string().into());
        let publish = async {
            retries
                .basic_publish(
                    "".into(),
                    self.settings.retry_queue().as_str().into(),
                    // Mandatory: without the retry queue (deleted by hand, say) RabbitMQ would
                    // confirm the copy and drop it, and the original is acknowledged next.
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    &delivery.data,
                    properties,
                )
                .await?
                .await
        };
        // Bounded: a broker under an alarm blocks publishers instead of refusing them.
        let confirmation = tokio::time::timeout(self.settings.timeout(), publish)
            .await
            .map_err(|_| anyhow::anyhow!("no confirm for the retry copy in time"))??;
        anyhow::ensure!(
            !confirmation.is_nack() && confirmation.take_message().is_none(),
            "the broker refused or returned the retry copy; the delivery is redelivered instead"
        );
        Ok(())
    }
}

/// The header counting failed deliveries across retry copies.
const DELIVERIES: &str = "x-item-event-deliveries";

/// Which delivery of its message this is (1 for the first): one more than the failed
/// deliveries its retry copy carries.
fn deliveries(delivery: &Delivery) -> u32 {
    let before = delivery
        .properties
        .headers()
        .as_ref()
        .and_then(|headers| match headers.inner().get(DELIVERIES) {
            // Written as a 64-bit integer; a broker or a shovel may narrow it.
            Some(AMQPValue::LongLongInt(count)) => u32::try_from(*count).ok(),
            Some(AMQPValue::LongInt(count)) => u32::try_from(*count).ok(),
            Some(AMQPValue::LongUInt(count)) => Some(*count),
            _ => None,
        })
        .unwrap_or(0);
    before.saturating_add(1)
}

/// The `outcome` labels of `messaging_consumer_deliveries_total`.
const OUTCOMES: [&str; 4] = ["applied", "duplicate", "dead-lettered", "requeued"];

fn count(outcome: &'static str) {
    metrics::counter!("messaging_consumer_deliveries_total", "outcome" => outcome).increment(1);
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
