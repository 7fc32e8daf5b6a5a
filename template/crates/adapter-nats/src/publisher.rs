//! Publishes outbox events to JetStream: the relay marks an event published only after the
//! stream has stored it (its acknowledgement). Each message carries the event id as
//! `Nats-Msg-Id`, which the stream uses to drop a second copy, and the writer's `traceparent`.
//!
//! Which failures are whose: JetStream refuses a message for what it is only when it is too
//! large (the server's `max_payload`, the stream's `max_msg_size`); that is `Rejected`, and
//! counts against the event. Everything else (no connection, no stream, out of storage, over
//! the stream's limits, no leader, no acknowledgement in time) refuses every message alike:
//! `Unavailable`, which counts nothing, so an outage of any length dead-letters nothing.
//! Connecting and declaring the stream run inside the publish timeout too.

use async_nats::jetstream::Context;
use async_nats::jetstream::context::PublishErrorKind;
use async_trait::async_trait;
use domain::messaging::{EventPublisher, OutboxMessage, PublishError};
use tokio::sync::Mutex;

use crate::{MessagingSettings, declare_stream, open};

/// The `EventPublisher` over NATS JetStream.
pub struct NatsPublisher {
    settings: MessagingSettings,
    link: Mutex<Option<Context>>,
}

impl NatsPublisher {
    /// A publisher that connects on first use (an unreachable broker at start-up is not an
    /// error: events wait in the outbox).
    #[must_use]
    pub fn new(settings: MessagingSettings) -> Self {
        Self {
            settings,
            link: Mutex::new(None),
        }
    }

    /// The JetStream context, connecting and declaring the stream the first time.
    async fn context(&self) -> anyhow::Result<Context> {
        let mut link = self.link.lock().await;
        if let Some(context) = link.as_ref() {
            return Ok(context.clone());
        }
        let context = open(&self.settings).await?;
        declare_stream(&context, &self.settings).await?;
        *link = Some(context.clone());
        Ok(context)
    }

    async fn forget(&self) {
        *self.link.lock().await = None;
    }
}

#[async_trait]
impl EventPublisher for NatsPublisher {
    async fn publish(&self, message: &OutboxMessage) -> Result<(), PublishError> {
        // One budget for connecting, declaring, publishing and the acknowledgement: a broker
        // that accepts the connection and then hangs holds the relay no longer than this.
        let publish = async {
            let context = self.context().await.map_err(PublishError::Unavailable)?;
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", message.id.to_string().as_str());
            headers.insert("Content-Type", "application/json");
            if let Some(traceparent) = &message.traceparent {
                headers.insert("traceparent", traceparent.as_str());
            }
            let subject = self.settings.subject(&message.event_type);
            let acknowledged = async {
                context
                    .publish_with_headers(subject, headers, message.payload.clone().into())
                    .await?
                    .await
            };
            match acknowledged.await {
                Ok(_acknowledgement) => Ok(()),
                Err(error) if refuses_this_message(&error) => {
                    Err(PublishError::Rejected(error.into()))
                }
                Err(error) => {
                    // A stream deleted under us or a broken connection: start afresh. A
                    // server answering with a refusal keeps the connection.
                    if matches!(
                        error.kind(),
                        PublishErrorKind::StreamNotFound
                            | PublishErrorKind::TimedOut
                            | PublishErrorKind::BrokenPipe
                    ) {
                        self.forget().await;
                    }
                    Err(PublishError::Unavailable(error.into()))
                }
            }
        };
        match tokio::time::timeout(self.settings.timeout(), publish).await {
            Ok(outcome) => outcome,
            Err(_) => {
                self.forget().await;
                Err(PublishError::Unavailable(anyhow::anyhow!(
                    "no acknowledgement from the stream within {:?}",
                    self.settings.timeout()
                )))
            }
        }
    }
}

/// Whether JetStream refused this message for what it is: larger than the server's
/// `max_payload` (the client checks before sending) or the stream's `max_msg_size` (JetStream
/// error 10054). Every other failure refuses any message alike, and delays without losing.
fn refuses_this_message(error: &async_nats::jetstream::context::PublishError) -> bool {
    use async_nats::jetstream::{Error as JetStreamError, ErrorCode};
    match error.kind() {
        PublishErrorKind::MaxPayloadExceeded => true,
        PublishErrorKind::Other => std::error::Error::source(error)
            .and_then(|source| source.downcast_ref::<JetStreamError>())
            .is_some_and(|refusal| {
                refusal.error_code() == ErrorCode::STREAM_MESSAGE_EXCEEDS_MAXIMUM
            }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use async_nats::jetstream::context::{PublishError, PublishErrorKind};

    use super::refuses_this_message;

    #[test]
    fn only_a_message_too_large_is_refused_for_itself() {
        assert!(refuses_this_message(&PublishError::new(
            PublishErrorKind::MaxPayloadExceeded
        )));
        for everyones in [
            PublishErrorKind::StreamNotFound,
            PublishErrorKind::TimedOut,
            PublishErrorKind::BrokenPipe,
            PublishErrorKind::MaxAckPending,
            PublishErrorKind::Other,
        ] {
            assert!(
                !refuses_this_message(&PublishError::new(everyones)),
                "{everyones:?}"
            );
        }
    }
}
