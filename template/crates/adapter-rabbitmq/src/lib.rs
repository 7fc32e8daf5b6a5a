//! The messaging adapter ring: RabbitMQ. [`RabbitPublisher`] implements the domain's
//! `EventPublisher` port for the outbox relay; [`RabbitConsumer`] feeds deliveries to the
//! example `ItemEventConsumer`. Topology, declared by both (declarations are idempotent):
//!
//! - `<exchange>`: a durable topic exchange; routing keys are event types (`item.created`).
//! - `<exchange>.dead-letter`: a fanout exchange, and a queue of the same name bound to it,
//!   where the consumer's queue sends what it cannot handle (malformed or unknown events).
//! - `<consumer_queue>`: the example consumer's durable queue, bound to `item.*`.
//! - `<consumer_queue>.retry`: where a delivery whose handling failed waits out its delay (a
//!   per-message TTL), then expires back into `<consumer_queue>` with its delivery count.
//!
//! It must not decide what to retry or how to apply an event: that is the domain's policy.

mod consumer;
mod publisher;

use std::time::Duration;

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};
use secrets::SecretUrl;
use serde::{Deserialize, Serialize};

pub use consumer::RabbitConsumer;
pub use publisher::RabbitPublisher;

/// The `[messaging]` section of the configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MessagingSettings {
    /// `amqp://user:password@host:5672/vhost` (a secret: redacted when printed). Empty: no
    /// broker; events wait in the outbox and nothing is consumed.
    pub url: SecretUrl,
    /// The topic exchange events are published to.
    pub exchange: String,
    /// The example consumer's queue; empty: this process runs no consumer.
    pub consumer_queue: String,
    /// Unacknowledged deliveries the consumer holds at once.
    pub prefetch: u16,
    /// Deliveries of one message whose handling keeps failing, the first included, before the
    /// consumer dead-letters it; the delay between them doubles from `retry_base_ms` up to
    /// `retry_max_ms`.
    pub max_deliver: u16,
    /// How long connecting, or one publish and its confirm, may take.
    pub publish_timeout_ms: u64,
    /// Events the relay leases per round.
    pub relay_batch: u32,
    /// The relay's pause when the outbox is empty.
    pub relay_interval_ms: u64,
    /// How long a relay's lease on a batch lasts; at least twice `publish_timeout_ms`.
    pub relay_lease_ms: u64,
    /// Refusals by the broker before an event is dead-lettered in the outbox.
    pub relay_max_attempts: u32,
    /// The first wait after a refusal or an unreachable broker; doubled each time.
    pub retry_base_ms: u64,
    /// The longest such wait.
    pub retry_max_ms: u64,
    /// How long published events stay in the outbox and the consumer remembers the event ids
    /// it applied (its deduplication window); an hourly task deletes what is older. A copy of
    /// an event redelivered later than this would be applied again.
    pub retention_hours: u64,
}

impl MessagingSettings {
    /// Checks the settings as loaded for `environment`.
    ///
    /// # Errors
    /// A message naming the setting: production without a broker (events would only pile up
    /// in the outbox), or a count, timeout or name that cannot work.
    pub fn validate(&self, environment: &str) -> Result<(), String> {
        if environment == "production" && self.url.is_empty() {
            return Err("APP_ENV=production needs the broker: set messaging.url \
                 (APP__MESSAGING__URL); without it events pile up in the outbox and nothing \
                 is published"
                .to_owned());
        }
        let (names, counts) = ("exchange", "max_deliver, ");
        if self.exchange.is_empty()
            || self.max_deliver == 0
            || self.prefetch == 0
            || self.publish_timeout_ms == 0
            || self.relay_batch == 0
            || self.relay_interval_ms == 0
            || self.relay_max_attempts == 0
            || self.retry_base_ms == 0
            || self.retry_max_ms < self.retry_base_ms
            || self.retention_hours == 0
        {
            return Err(format!(
                "messaging: {names} must be set; {counts}prefetch, publish_timeout_ms, \
                 relay_batch, relay_interval_ms, relay_max_attempts, retry_base_ms and \
                 retention_hours at least 1; retry_max_ms at least retry_base_ms"
            ));
        }
        if self.relay_lease_ms < self.publish_timeout_ms.saturating_mul(2) {
            return Err(format!(
                "messaging.relay_lease_ms ({}) must be at least twice messaging.publish_timeout_ms \
                 ({}): a relay publishes only while its lease has room for one more publish, and \
                 a lease that ends mid-publish lets another relay publish the same event again",
                self.relay_lease_ms, self.publish_timeout_ms
            ));
        }
        Ok(())
    }

    /// Whether this process runs the example consumer (a queue is named).
    #[must_use]
    pub fn consumes(&self) -> bool {
        !self.consumer_queue.is_empty()
    }

    /// How long published events and applied event ids are kept.
    #[must_use]
    pub fn retention(&self) -> Duration {
        Duration::from_secs(self.retention_hours.saturating_mul(3600))
    }

    /// The consumer's redelivery policy these settings describe.
    #[must_use]
    pub fn redelivery_policy(&self) -> domain::messaging::RedeliveryPolicy {
        domain::messaging::RedeliveryPolicy {
            max_deliveries: u32::from(self.max_deliver),
            delay_base: Duration::from_millis(self.retry_base_ms),
            delay_max: Duration::from_millis(self.retry_max_ms),
        }
    }

    /// The relay policy these settings describe.
    #[must_use]
    pub fn relay_policy(&self) -> domain::messaging::RelayPolicy {
        domain::messaging::RelayPolicy {
            batch: self.relay_batch,
            lease: Duration::from_millis(self.relay_lease_ms),
            publish_timeout: self.timeout(),
            max_attempts: self.relay_max_attempts,
            backoff_base: Duration::from_millis(self.retry_base_ms),
            backoff_max: Duration::from_millis(self.retry_max_ms),
        }
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(self.publish_timeout_ms)
    }

    fn dead_letter_exchange(&self) -> String {
        format!("{}.dead-letter", self.exchange)
    }

    /// Where the consumer parks a delivery until its retry delay has passed.
    fn retry_queue(&self) -> String {
        format!("{}.retry", self.consumer_queue)
    }
}

/// Opens a connection and a channel, within the publish timeout.
async fn open(settings: &MessagingSettings) -> anyhow::Result<(Connection, Channel)> {
    let connect = async {
        let connection =
            Connection::connect(settings.url.expose(), ConnectionProperties::default()).await?;
        let channel = connection.create_channel().await?;
        Ok::<_, lapin::Error>((connection, channel))
    };
    match tokio::time::timeout(settings.timeout(), connect).await {
        Ok(opened) => Ok(opened?),
        Err(_) => anyhow::bail!("no answer from the broker within {:?}", settings.timeout()),
    }
}

/// Declares the exchanges and the dead-letter queue, idempotently (what the publisher and the
/// consumer do on connecting; tests call it to watch an exchange before anything is published).
///
/// # Errors
/// When the broker refuses a declaration.
pub async fn declare_exchanges(
    channel: &Channel,
    settings: &MessagingSettings,
) -> lapin::Result<()> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    channel
        .exchange_declare(
            settings.exchange.as_str().into(),
            ExchangeKind::Topic,
            durable,
            FieldTable::default(),
        )
        .await?;
    let dead_letter = settings.dead_letter_exchange();
    channel
        .exchange_declare(
            dead_letter.as_str().into(),
            ExchangeKind::Fanout,
            durable,
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_declare(
            dead_letter.as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_bind(
            dead_letter.as_str().into(),
            dead_letter.as_str().into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
}

/// Declares `queue`, bound to every item event, dead-lettering what its consumer rejects.
async fn declare_consumer_queue(
    channel: &Channel,
    settings: &MessagingSettings,
    queue: &str,
) -> lapin::Result<()> {
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString(settings.dead_letter_exchange().into()),
    );
    channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            arguments,
        )
        .await?;
    channel
        .queue_bind(
            queue.into(),
            settings.exchange.as_str().into(),
            "item.*".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    // Expired messages go back to the consumer's queue through the default exchange. One
    // queue for every delay: RabbitMQ expires messages from its head only, so a short delay
    // behind a long one waits for it; delays only stretch, nothing is lost.
    let mut retry = FieldTable::default();
    retry.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString("".into()),
    );
    retry.insert(
        "x-dead-letter-routing-key".into(),
        AMQPValue::LongString(queue.into()),
    );
    channel
        .queue_declare(
            settings.retry_queue().as_str().into(),
            QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            },
            retry,
        )
        .await
        .map(|_| ())
}

/// Deletes what [`RabbitPublisher`] and [`RabbitConsumer`] declared for these settings, as far
/// as it exists: for tests, which each use exchanges of their own, and for tearing down an
/// environment.
///
/// # Errors
/// When the broker cannot be reached.
pub async fn delete_topology(settings: &MessagingSettings) -> anyhow::Result<()> {
    use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
    let (connection, _) = open(settings).await?;
    let dead_letter = settings.dead_letter_exchange();
    // A channel per deletion: deleting what does not exist closes the channel it was tried on.
    let retry = settings.retry_queue();
    let retry = if settings.consumer_queue.is_empty() {
        ""
    } else {
        retry.as_str()
    };
    for queue in [
        settings.consumer_queue.as_str(),
        retry,
        dead_letter.as_str(),
    ] {
        if let (false, Ok(channel)) = (queue.is_empty(), connection.create_channel().await) {
            let _ = channel
                .queue_delete(queue.into(), QueueDeleteOptions::default())
                .await;
        }
    }
    for exchange in [settings.exchange.as_str(), dead_letter.as_str()] {
        if let Ok(channel) = connection.create_channel().await {
            let _ = channel
                .exchange_delete(exchange.into(), ExchangeDeleteOptions::default())
                .await;
        }
    }
    // The deletions are done; a channel still closing may make the goodbye itself fail.
    let _ = connection.close(200, "done".into()).await;
    Ok(())
}
