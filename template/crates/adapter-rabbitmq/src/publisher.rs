//! Publishes outbox events with publisher confirms: the relay marks an event published only
//! after RabbitMQ has taken it (persisted, for a durable queue). Messages are persistent and
//! carry the event id as `message_id` (consumers deduplicate on it) and the writer's
//! `traceparent` header. A lost connection is reopened on the next publish.
//!
//! Messages are published `mandatory`: RabbitMQ confirms a message no queue is bound for and
//! drops it, unless it is mandatory, when it returns it first. A returned event is not
//! published: it waits in the outbox (no queue wants its type yet, which is nobody's fault, so
//! nothing is counted against it) and is tried again after `retry_max_ms`; other items' events
//! go on meanwhile. The backlog gauge shows it.
//!
//! Which failures are whose. A nack says a queue the message was routed to refused it (a
//! queue at its length limit with `reject-publish`): like a return, it is about this event's
//! route, not the broker, and the event waits the same way, uncounted, while other items'
//! events go on (the other queues bound for it took a copy, which their consumers deduplicate;
//! it is offered again every `retry_max_ms` until the full queue takes it). A lost connection,
//! or no confirm in time (a broker under a memory or disk alarm blocks publishers), is the
//! broker's trouble: `Unavailable`, which counts nothing and backs the relay off. Only a
//! message larger than the broker's `max_message_size` is refused for itself (`Rejected`, and
//! dead-lettered after `relay_max_attempts`). Connecting and declaring run inside the publish
//! timeout too.

use std::collections::BTreeMap;

use async_trait::async_trait;
use domain::messaging::{EventPublisher, OutboxMessage, PublishError};
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Confirmation, Connection};
use tokio::sync::Mutex;

use crate::{MessagingSettings, declare_consumer_queue, declare_exchanges, open};

/// The `EventPublisher` over RabbitMQ.
pub struct RabbitPublisher {
    settings: MessagingSettings,
    link: Mutex<Option<(Connection, Channel)>>,
}

impl RabbitPublisher {
    /// A publisher that connects on first use (an unreachable broker at start-up is not an
    /// error: events wait in the outbox).
    #[must_use]
    pub fn new(settings: MessagingSettings) -> Self {
        Self {
            settings,
            link: Mutex::new(None),
        }
    }

    /// The open channel, or a new one with confirms on and the exchanges declared.
    async fn channel(&self) -> anyhow::Result<Channel> {
        let mut link = self.link.lock().await;
        if let Some((_, channel)) = link.as_ref()
            && channel.status().connected()
        {
            return Ok(channel.clone());
        }
        *link = None;
        let (connection, channel) = open(&self.settings).await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        declare_exchanges(&channel, &self.settings).await?;
        // This service's own consumer queue too: an event published before the consumer first
        // connected must wait in its queue, not be dropped as unroutable.
        let queue = self.settings.consumer_queue.as_str();
        if !queue.is_empty() {
            declare_consumer_queue(&channel, &self.settings, queue).await?;
        }
        *link = Some((connection, channel.clone()));
        Ok(channel)
    }

    async fn forget_channel(&self) {
        *self.link.lock().await = None;
    }
}

fn properties(message: &OutboxMessage) -> BasicProperties {
    let mut headers = BTreeMap::new();
    if let Some(traceparent) = &message.traceparent {
        headers.insert(
            ShortString::from("traceparent"),
            AMQPValue::LongString(traceparent.as_str().into()),
        );
    }
    BasicProperties::default()
        .with_message_id(message.id.to_string().into())
        .with_type(message.event_type.as_str().into())
        .with_content_type("application/json".into())
        // 2: persistent, so a broker restart does not lose what it confirmed.
        .with_delivery_mode(2)
        .with_headers(FieldTable::from(headers))
}

#[async_trait]
impl EventPublisher for RabbitPublisher {
    async fn publish(&self, message: &OutboxMessage) -> Result<(), PublishError> {
        // One budget for connecting, declaring, publishing and the confirm: a broker that
        // accepts the connection and then hangs holds the relay no longer than this.
        let publish = async {
            let channel = self.channel().await?;
            let confirmation = channel
                .basic_publish(
                    self.settings.exchange.as_str().into(),
                    message.event_type.as_str().into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..BasicPublishOptions::default()
                    },
                    &message.payload,
                    properties(message),
                )
                .await?
                .await?;
            Ok::<_, anyhow::Error>(confirmation)
        };
        match tokio::time::timeout(self.settings.timeout(), publish).await {
            Ok(Ok(confirmation)) if confirmation.is_nack() => {
                Err(PublishError::Unroutable(anyhow::anyhow!(
                    "a queue bound for routing key {} refused the event (a nack: a queue at its \
                     length limit with reject-publish); it waits in the outbox until the queue \
                     takes it",
                    message.event_type
                )))
            }
            Ok(Ok(Confirmation::Ack(Some(returned)))) => {
                Err(PublishError::Unroutable(anyhow::anyhow!(
                    "no queue is bound for routing key {} on exchange {}: RabbitMQ returned the \
                     event ({} {}); it waits in the outbox until a queue is bound",
                    message.event_type,
                    self.settings.exchange,
                    returned.reply_code,
                    returned.reply_text
                )))
            }
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => {
                // The channel is closed after any error: open a new one next time.
                self.forget_channel().await;
                if too_large(&format!("{error:#}")) {
                    Err(PublishError::Rejected(error))
                } else {
                    Err(PublishError::Unavailable(error))
                }
            }
            Err(_) => {
                self.forget_channel().await;
                Err(PublishError::Unavailable(anyhow::anyhow!(
                    "no publisher confirm within {:?}",
                    self.settings.timeout()
                )))
            }
        }
    }
}

/// Whether RabbitMQ closed the channel because this message is larger than its
/// `max_message_size` (a 406 PRECONDITION_FAILED whose text says so). Matched on the text; an
/// answer not recognised here counts as the broker refusing everything, which delays but
/// never loses.
fn too_large(error: &str) -> bool {
    error.contains("larger than configured max size")
}

#[cfg(test)]
mod tests {
    use super::too_large;

    #[test]
    fn only_a_message_over_the_size_limit_is_refused_for_itself() {
        assert!(too_large(
            "PRECONDITION_FAILED - message size 200000000 is larger than configured max size 134217728"
        ));
        assert!(!too_large("NOT_FOUND - no exchange 'events' in vhost '/'"));
        assert!(!too_large("connection reset by peer"));
    }
}
