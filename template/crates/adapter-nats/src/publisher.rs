//! Publishes outbox events to JetStream: the relay marks an event published only after the
//! stream has stored it (its acknowledgement). Each message carries the event id as
//! `Nats-Msg-Id`, which the stream uses to drop a second copy, and the writer's `traceparent`.

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
        let context = self.context().await.map_err(PublishError::Unavailable)?;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", message.id.to_string().as_str());
        headers.insert("Content-Type", "application/json");
        if let Some(traceparent) = &message.traceparent {
            headers.insert("traceparent", traceparent.as_str());
        }
        let subject = self.settings.subject(&message.event_type);
        let publish = async {
            context
                .publish_with_headers(subject, headers, message.payload.clone().into())
                .await?
                .await
        };
        match tokio::time::timeout(self.settings.timeout(), publish).await {
            Ok(Ok(_acknowledged)) => Ok(()),
            Ok(Err(error)) => match error.kind() {
                // The connection, or a stream deleted under us: reconnect and declare again.
                PublishErrorKind::StreamNotFound
                | PublishErrorKind::TimedOut
                | PublishErrorKind::BrokenPipe => {
                    self.forget().await;
                    Err(PublishError::Unavailable(error.into()))
                }
                _ => Err(PublishError::Rejected(error.into())),
            },
            Err(_) => Err(PublishError::Unavailable(anyhow::anyhow!(
                "no acknowledgement from the stream within {:?}",
                self.settings.timeout()
            ))),
        }
    }
}
