//! Runs the example consumer on its durable pull consumer: each message continues the writer's
//! trace, is parsed, and handed to the domain's `ItemEventConsumer`. Acknowledged after it is
//! applied (or found to be a duplicate); copied to the dead-letter subject and terminated when
//! it can never be handled; negatively acknowledged with a growing delay when handling failed
//! for a reason that may pass, and dead-lettered the same way once it has had `max_deliver`
//! deliveries (the domain's `RedeliveryPolicy`). The bound is this consumer's, not
//! JetStream's: JetStream drops a message past its own `max_deliver` with only an advisory,
//! so the durable consumer has none (an older one is updated, or its limit is honoured), and a
//! message delivered more often than the policy allows (its handler hung past `ack_wait`, or
//! the process died) is dead-lettered before it is handled again. A lost connection is
//! reopened with backoff until told to stop; the backoff starts again from its base once a
//! connection has handled a delivery.

use std::time::Duration;

use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::{AckPolicy, pull};
use domain::messaging::{
    ConsumeError, Handled, ItemEvent, ItemEventConsumer, Redeliver, RedeliveryPolicy,
};
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
        let context = open(&self.settings).await?;
        declare_stream(&context, &self.settings).await?;
        let stream = context.get_stream(&self.settings.stream).await?;
        let config = pull::Config {
            durable_name: Some(self.settings.consumer.clone()),
            filter_subject: self.settings.subject("item.*"),
            ack_policy: AckPolicy::Explicit,
            ack_wait: Duration::from_secs(30),
            // Unbounded here: the redelivery policy bounds it, and dead-letters what
            // JetStream would silently drop.
            max_deliver: -1,
            max_ack_pending: i64::from(self.settings.prefetch),
            ..pull::Config::default()
        };
        // Create it, or bring an existing one to this configuration (one created by an older
        // version has JetStream's delivery limit, which drops messages without a trace).
        let consumer = match stream.create_consumer(config).await {
            Ok(consumer) => consumer,
            Err(error) => {
                tracing::warn!(%error, consumer = %self.settings.consumer, "consumer: the durable consumer keeps its old configuration (delete it once to take the new one)");
                stream
                    .get_consumer(&self.settings.consumer)
                    .await
                    .map_err(|error| anyhow::anyhow!(error))?
            }
        };
        // A durable consumer left with JetStream's own limit drops a message past it: dead-letter
        // it on its last delivery instead.
        let mut policy = self.settings.redelivery_policy();
        if let Ok(limit) = u32::try_from(consumer.cached_info().config.max_deliver)
            && limit > 0
        {
            policy.max_deliveries = policy.max_deliveries.min(limit);
        }
        let mut messages = consumer.messages().await?;
        tracing::info!(consumer = %self.settings.consumer, "consumer: consuming");
        loop {
            tokio::select! {
                _ = stop.changed() => return Ok(()),
                next = messages.next() => match next {
                    Some(Ok(message)) => {
                        self.deliver(&context, message, policy).await?;
                        // A connection that handled a delivery worked: a later failure is a
                        // new outage, not the same one going on.
                        *consumed = true;
                    }
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
        policy: RedeliveryPolicy,
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
            let delivery = message
                .info()
                .map(|info| u32::try_from(info.delivered).unwrap_or(u32::MAX))
                .unwrap_or(1);
            if delivery > policy.max_deliveries {
                // Delivered again without a verdict (the handler hung past ack_wait, or the
                // process died): it has had its chances.
                let reason = format!("delivered {delivery} times without being handled");
                count("dead-lettered");
                tracing::error!(%reason, "consumer: dead-lettering a message");
                return self.dead_letter(context, &message, &message_id, &reason).await;
            }
            let outcome = match serde_json::from_slice::<ItemEvent>(&message.payload) {
                Ok(event) => self.consumer.handle(&event).await,
                Err(error) => Err(ConsumeError::Malformed(error.to_string())),
            };
            match outcome {
                Ok(handled) => {
                    count(match handled {
                        Handled::Applied => "applied",
                        Handled::Duplicate => "duplicate",
                    });
                    message.ack().await.map_err(anyhow::Error::msg)?;
                }
                Err(ConsumeError::Malformed(reason)) => {
                    count("dead-lettered");
                    tracing::warn!(%reason, "consumer: cannot handle this message; dead-lettering it");
                    self.dead_letter(context, &message, &message_id, &reason).await?;
                }
                Err(ConsumeError::Unexpected(error)) => match policy.after_failure(delivery) {
                    Redeliver::After(delay) => {
                        count("requeued");
                        tracing::warn!(error = %format!("{error:#}"), delivery, retry_in_ms = delay.as_millis(), "consumer: handling failed; redelivery later");
                        message
                            .ack_with(AckKind::Nak(Some(delay)))
                            .await
                            .map_err(anyhow::Error::msg)?;
                    }
                    Redeliver::DeadLetter => {
                        count("dead-lettered");
                        let reason = format!("handling failed {delivery} times; last: {error:#}");
                        tracing::error!(%reason, "consumer: dead-lettering a message");
                        self.dead_letter(context, &message, &message_id, &reason).await?;
                    }
                },
            }
            Ok::<_, anyhow::Error>(())
        }
        .instrument(span)
        .await
    }

    /// Copies `message` to the dead-letter subject, then terminates it: it is never delivered
    /// again, and an operator finds it, with the reason, on the dead-letter subject.
    async fn dead_letter(
        &self,
        context: &async_nats::jetstream::Context,
        message: &async_nats::jetstream::Message,
        message_id: &str,
        reason: &str,
    ) -> anyhow::Result<()> {
        // A message id of its own: the stream would drop a second `Nats-Msg-Id`.
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", format!("{message_id}.dead-letter").as_str());
        headers.insert("Original-Msg-Id", message_id);
        headers.insert("Original-Subject", message.subject.as_str());
        // Header values are one line.
        headers.insert(
            "Dead-Letter-Reason",
            reason.replace(['\r', '\n'], " ").as_str(),
        );
        if let Some(traceparent) = message
            .headers
            .as_ref()
            .and_then(|headers| headers.get("traceparent"))
        {
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
            .map_err(anyhow::Error::msg)
    }
}

/// The `outcome` labels of `messaging_consumer_deliveries_total`.
const OUTCOMES: [&str; 4] = ["applied", "duplicate", "dead-lettered", "requeued"];

fn count(outcome: &'static str) {
    metrics::counter!("messaging_consumer_deliveries_total", "outcome" => outcome).increment(1);
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
