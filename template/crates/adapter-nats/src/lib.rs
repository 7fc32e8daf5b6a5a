//! The messaging adapter ring: NATS JetStream. [`NatsPublisher`] implements the domain's
//! `EventPublisher` port for the outbox relay; [`NatsConsumer`] feeds the example
//! `ItemEventConsumer`. Topology, declared by both (idempotently):
//!
//! - the stream `<stream>`, file storage, holding the subjects `<subject_prefix>.>`; events go
//!   to `<subject_prefix>.item.created` (and `.updated`, `.deleted`). Its duplicate window drops
//!   a second publish of the same event id (`Nats-Msg-Id`), so a relay retrying after a lost
//!   acknowledgement does not store the event twice.
//! - `<subject_prefix>.dead-letter`: where the consumer puts what it can never handle.
//! - `<consumer>`: the example consumer's durable pull consumer on `<subject_prefix>.item.*`.
//!
//! It must not decide what to retry or how to apply an event: that is the domain's policy.

mod consumer;
mod publisher;

use std::time::Duration;

use async_nats::jetstream::{self, Context, stream};
use secrets::SecretUrl;
use serde::{Deserialize, Serialize};

pub use consumer::NatsConsumer;
pub use publisher::NatsPublisher;

/// The `[messaging]` section of the configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MessagingSettings {
    /// `nats://user:password@host:4222` (a secret: redacted when printed). Empty: no broker;
    /// events wait in the outbox and nothing is consumed.
    pub url: SecretUrl,
    /// The JetStream stream holding the events (letters, digits, `-` and `_`).
    pub stream: String,
    /// The subjects' prefix: events go to `<subject_prefix>.item.created`, ...
    pub subject_prefix: String,
    /// The example consumer's durable name; empty: this process runs no consumer.
    pub consumer: String,
    /// Unacknowledged deliveries the consumer holds at once.
    pub prefetch: u16,
    /// Deliveries of one message whose handling keeps failing, the first included, before the
    /// consumer dead-letters it; the delay between them doubles from `retry_base_ms` up to
    /// `retry_max_ms`.
    pub max_deliver: u16,
    /// How long connecting, or one publish and its acknowledgement, may take.
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
    /// The stream's size limit; past it JetStream drops its oldest messages. It also drops
    /// messages older than `retention_hours`.
    pub stream_max_bytes: i64,
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
        let (names, counts) = (
            "stream and subject_prefix",
            "max_deliver, stream_max_bytes, ",
        );
        if self.stream.is_empty()
            || self.subject_prefix.is_empty()
            || self.max_deliver == 0
            || self.stream_max_bytes < 1
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

    /// Whether this process runs the example consumer (a durable consumer is named).
    #[must_use]
    pub fn consumes(&self) -> bool {
        !self.consumer.is_empty()
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

    /// The subject of an event type (`item.created` -> `<prefix>.item.created`).
    #[must_use]
    pub fn subject(&self, event_type: &str) -> String {
        format!("{}.{event_type}", self.subject_prefix)
    }

    /// Where the consumer puts what it can never handle.
    #[must_use]
    pub fn dead_letter_subject(&self) -> String {
        format!("{}.dead-letter", self.subject_prefix)
    }
}

/// Connects and returns a JetStream context whose requests time out with the publish timeout.
async fn open(settings: &MessagingSettings) -> anyhow::Result<Context> {
    let client = async_nats::ConnectOptions::new()
        .connection_timeout(settings.timeout())
        .connect(settings.url.expose())
        .await?;
    let mut context = jetstream::new(client);
    context.set_timeout(settings.timeout());
    Ok(context)
}

/// Creates the stream, or brings an existing one's age and size limits to these settings and
/// leaves the rest of its configuration (replicas, storage, what an operator set) alone. What
/// the publisher and the consumer do on connecting; tests call it to watch a stream before
/// anything is published.
///
/// # Errors
/// When the broker cannot be reached or refuses the stream.
pub async fn declare_stream(context: &Context, settings: &MessagingSettings) -> anyhow::Result<()> {
    let mut stream = context
        .get_or_create_stream(stream::Config {
            name: settings.stream.clone(),
            subjects: vec![format!("{}.>", settings.subject_prefix)],
            storage: stream::StorageType::File,
            duplicate_window: Duration::from_secs(120),
            // Bounded: a stream without limits grows until the server's disk is full. Past
            // either limit JetStream drops the oldest messages, read or not: the retention is
            // also how long a consumer may fall behind (ADR 9).
            max_age: settings.retention(),
            max_bytes: settings.stream_max_bytes,
            ..stream::Config::default()
        })
        .await?;
    let current = stream.info().await?.config.clone();
    if current.max_age != settings.retention() || current.max_bytes != settings.stream_max_bytes {
        context
            .update_stream(stream::Config {
                max_age: settings.retention(),
                max_bytes: settings.stream_max_bytes,
                ..current
            })
            .await?;
    }
    Ok(())
}

/// Deletes the stream (and with it the consumer) these settings name: for tests, which each use
/// a stream of their own, and for tearing down an environment.
///
/// # Errors
/// When the broker cannot be reached.
pub async fn delete_topology(settings: &MessagingSettings) -> anyhow::Result<()> {
    let context = open(settings).await?;
    // Already gone is as good as deleted.
    let _ = context.delete_stream(&settings.stream).await;
    Ok(())
}
