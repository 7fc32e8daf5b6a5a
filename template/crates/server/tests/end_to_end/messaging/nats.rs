//! The NATS side of the messaging tests (`NATS_URL`, default the local server): settings with a
//! stream, subjects and consumer names of the test's own, and a tap: a durable consumer reading
//! every item event the stream stored, so what it reads is exactly what the broker received.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use adapter_nats::declare_stream;
pub use adapter_nats::{
    MessagingSettings, NatsConsumer as Consumer, NatsPublisher as Publisher, delete_topology,
};
use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use async_nats::jetstream::{self, Context};
use futures_util::StreamExt;
use serde_json::Value;
use uuid::Uuid;

pub fn url() -> String {
    std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned())
}

/// Where NATS_URL points (`nats://[user:password@]host:port`).
pub fn address() -> SocketAddr {
    let url = url();
    let authority = url.split("://").nth(1).unwrap_or(&url);
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    std::net::ToSocketAddrs::to_socket_addrs(host_port)
        .ok()
        .and_then(|mut addresses| addresses.next())
        .unwrap_or_else(|| panic!("NATS_URL has no host:port: {url}"))
}

/// `url()`, through `proxy` instead of straight to the server.
pub fn url_via(proxy: SocketAddr) -> String {
    format!("nats://{proxy}")
}

/// Messaging settings with names of this test's own, and short pauses.
pub fn settings(url: &str) -> MessagingSettings {
    let tag = Uuid::now_v7().simple();
    MessagingSettings {
        url: secrets::SecretUrl::new(url),
        stream: format!("test_{tag}"),
        subject_prefix: format!("test-{tag}.events"),
        consumer: format!("test_{tag}_counts"),
        prefetch: 16,
        max_deliver: 5,
        publish_timeout_ms: 2_000,
        relay_batch: 50,
        relay_interval_ms: 50,
        relay_lease_ms: 10_000,
        relay_max_attempts: 3,
        retry_base_ms: 50,
        retry_max_ms: 400,
        retention_hours: 168,
        stream_max_bytes: 64 * 1024 * 1024,
    }
}

/// A message as the tap saw it.
#[derive(Debug)]
pub struct Seen {
    pub id: String,
    pub traceparent: Option<String>,
    pub event: Value,
}

/// Durable consumers on the test's stream: one for the item events, one for the dead letters.
pub struct Tap {
    context: Context,
    events: PullConsumer,
    dead_letters: PullConsumer,
    published: std::sync::atomic::AtomicUsize,
}

impl Tap {
    pub async fn on(settings: &MessagingSettings) -> Self {
        let client = async_nats::connect(url())
            .await
            .expect("NATS with JetStream at NATS_URL (default nats://127.0.0.1:4222)");
        let context = jetstream::new(client);
        declare_stream(&context, settings).await.unwrap();
        let stream = context.get_stream(&settings.stream).await.unwrap();
        let tap = |name: &str, subject: String| {
            let stream = stream.clone();
            let name = name.to_owned();
            async move {
                stream
                    .get_or_create_consumer(
                        &name,
                        pull::Config {
                            durable_name: Some(name.clone()),
                            filter_subject: subject,
                            ack_policy: AckPolicy::Explicit,
                            ..pull::Config::default()
                        },
                    )
                    .await
                    .unwrap()
            }
        };
        let events = tap("tap", settings.subject("item.*")).await;
        let dead_letters = tap("tap_dead_letters", settings.dead_letter_subject()).await;
        Self {
            context,
            events,
            dead_letters,
            published: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    async fn take_from(consumer: &PullConsumer) -> Vec<Seen> {
        let mut seen = Vec::new();
        let mut batch = consumer
            .fetch()
            .max_messages(1_000)
            .expires(Duration::from_millis(300))
            .messages()
            .await
            .unwrap();
        while let Some(Ok(message)) = batch.next().await {
            let header = |name: &str| {
                message
                    .headers
                    .as_ref()
                    .and_then(|headers| headers.get(name))
                    .map(|value| value.as_str().to_owned())
            };
            seen.push(Seen {
                id: header("Original-Msg-Id")
                    .or_else(|| header("Nats-Msg-Id"))
                    .unwrap_or_default(),
                traceparent: header("traceparent"),
                event: serde_json::from_slice(&message.payload).unwrap_or(Value::Null),
            });
            message.ack().await.unwrap();
        }
        seen
    }

    pub async fn take(&self) -> Vec<Seen> {
        Self::take_from(&self.events).await
    }

    /// Collects from the tap until `count` messages arrived or `within` passed.
    pub async fn collect(&self, count: usize, within: Duration) -> Vec<Seen> {
        let started = Instant::now();
        let mut seen = Vec::new();
        while seen.len() < count && started.elapsed() < within {
            seen.extend(self.take().await);
        }
        seen
    }

    /// Takes what the example consumer dead-lettered.
    pub async fn dead_letters(&self, _settings: &MessagingSettings) -> Vec<Seen> {
        Self::take_from(&self.dead_letters).await
    }

    /// Publishes `payload` as `event_type` with message id `id`, as a producer would. The
    /// stream's `Nats-Msg-Id` is made unique, so a repeat reaches the consumer (as one would
    /// after the stream's duplicate window) and the consumer's own deduplication is tested.
    pub async fn publish(
        &self,
        settings: &MessagingSettings,
        event_type: &str,
        payload: &[u8],
        id: &str,
    ) {
        let sent = self
            .published
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", format!("{id}/{sent}").as_str());
        headers.insert("Original-Msg-Id", id);
        self.context
            .publish_with_headers(
                settings.subject(event_type),
                headers,
                payload.to_vec().into(),
            )
            .await
            .unwrap()
            .await
            .unwrap();
    }
}

/// Makes JetStream refuse every message to the test's stream, as a stream at its limits does:
/// one message in it (on a subject no test reads), then at most one message, refusing new ones.
pub struct Refusal {
    context: Context,
    stream: String,
}

pub async fn refuse_everything(settings: &MessagingSettings) -> Refusal {
    let context = jetstream::new(async_nats::connect(url()).await.unwrap());
    declare_stream(&context, settings).await.unwrap();
    context
        .publish(
            format!("{}.filler", settings.subject_prefix),
            "filler".into(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    let mut stream = context.get_stream(&settings.stream).await.unwrap();
    let mut config = stream.info().await.unwrap().config.clone();
    config.max_messages = 1;
    config.discard = jetstream::stream::DiscardPolicy::New;
    context.update_stream(&config).await.unwrap();
    Refusal {
        context,
        stream: settings.stream.clone(),
    }
}

impl Refusal {
    /// The stream takes messages again.
    pub async fn end(self) {
        let mut stream = self.context.get_stream(&self.stream).await.unwrap();
        let mut config = stream.info().await.unwrap().config.clone();
        config.max_messages = -1;
        config.discard = jetstream::stream::DiscardPolicy::Old;
        self.context.update_stream(&config).await.unwrap();
    }
}

/// Declares the test's stream as the service does, and returns its configuration as the server
/// holds it (the stream is deleted again).
async fn declared(context: &Context, settings: &MessagingSettings) -> jetstream::stream::Config {
    declare_stream(context, settings).await.unwrap();
    let mut stream = context.get_stream(&settings.stream).await.unwrap();
    let config = stream.info().await.unwrap().config.clone();
    delete_topology(settings).await.unwrap();
    config
}

/// The stream is bounded: messages older than the retention, and bytes past its limit, go.
#[tokio::test]
async fn the_stream_keeps_messages_for_the_retention_and_within_its_byte_limit() {
    let settings = settings(&url());
    let context = jetstream::new(async_nats::connect(url()).await.unwrap());
    let config = declared(&context, &settings).await;
    assert_eq!(config.max_age, Duration::from_secs(168 * 3600));
    assert_eq!(config.max_bytes, 64 * 1024 * 1024);
}

/// An existing stream keeps what an operator set on it; only its age and size limits follow the
/// settings.
#[tokio::test]
async fn declaring_an_existing_stream_updates_its_limits_and_keeps_the_rest() {
    let settings = settings(&url());
    let context = jetstream::new(async_nats::connect(url()).await.unwrap());
    context
        .get_or_create_stream(jetstream::stream::Config {
            name: settings.stream.clone(),
            subjects: vec![format!("{}.>", settings.subject_prefix)],
            description: Some("set by an operator".to_owned()),
            max_age: Duration::from_secs(3600),
            ..jetstream::stream::Config::default()
        })
        .await
        .unwrap();
    let config = declared(&context, &settings).await;
    assert_eq!(config.max_age, Duration::from_secs(168 * 3600));
    assert_eq!(config.max_bytes, 64 * 1024 * 1024);
    assert_eq!(config.description.as_deref(), Some("set by an operator"));
}

/// JetStream refuses a message larger than the server's `max_payload` (1 MiB by default) for
/// what it is: an attempt counted against that event, which is dead-lettered after
/// `relay_max_attempts`, while other items' events go on. Any other refusal stops the round.
#[sqlx::test(migrations = "../../migrations")]
async fn a_message_larger_than_the_servers_max_payload_is_refused_for_itself(pool: sqlx::PgPool) {
    use adapter_postgres::outbox::record;

    let settings = settings(&url());
    let tap = Tap::on(&settings).await;
    let too_large = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO outbox (id, aggregate_id, event_type, payload) \
         VALUES ($1, $2, 'item.created', jsonb_build_object('padding', repeat('x', 2000000)))",
    )
    .bind(too_large)
    .bind(Uuid::now_v7())
    .execute(&pool)
    .await
    .unwrap();
    let fine = crate::messaging::event(Uuid::now_v7(), 1);
    let mut transaction = pool.begin().await.unwrap();
    record(&mut transaction, &fine).await.unwrap();
    transaction.commit().await.unwrap();
    let relay = crate::messaging::relay_to_broker(&pool, &settings, settings.relay_policy());
    let round = relay.run_once().await.unwrap();
    assert!(!round.broker_down, "{round:?}");
    assert_eq!((round.retried, round.published), (1, 1), "{round:?}");
    let (attempts, error): (i32, String) =
        sqlx::query_as("SELECT attempts, last_error FROM outbox WHERE id = $1")
            .bind(too_large)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(attempts, 1);
    assert!(error.contains("payload"), "{error}");
    let seen = tap.collect(1, Duration::from_secs(10)).await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].id, fine.id.to_string());
    delete_topology(&settings).await.unwrap();
}

/// A durable consumer created by an older version carries JetStream's own delivery limit,
/// past which JetStream drops a message without a trace; starting the consumer takes it away
/// (its redelivery policy bounds deliveries and dead-letters instead).
#[sqlx::test(migrations = "../../migrations")]
async fn an_existing_durable_consumer_loses_jetstreams_delivery_limit(pool: sqlx::PgPool) {
    use std::sync::Arc;

    use adapter_postgres::PostgresPools;
    use adapter_postgres::outbox::PostgresInbox;
    use domain::messaging::ItemEventConsumer;

    let settings = settings(&url());
    let context = jetstream::new(async_nats::connect(url()).await.unwrap());
    declare_stream(&context, &settings).await.unwrap();
    let stream = context.get_stream(&settings.stream).await.unwrap();
    stream
        .get_or_create_consumer(
            &settings.consumer,
            pull::Config {
                durable_name: Some(settings.consumer.clone()),
                filter_subject: settings.subject("item.*"),
                ack_policy: AckPolicy::Explicit,
                ack_wait: Duration::from_secs(30),
                max_deliver: 10,
                max_ack_pending: i64::from(settings.prefetch),
                ..pull::Config::default()
            },
        )
        .await
        .unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let inbox = PostgresInbox::new(&PostgresPools::single(pool));
    let consumer = Consumer::new(
        settings.clone(),
        ItemEventConsumer::new(Arc::new(inbox), "test-consumer"),
    );
    let running = tokio::spawn(consumer.run(stopped));
    let mut max_deliver = 10;
    let started = Instant::now();
    while max_deliver != -1 && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut durable: PullConsumer = stream.get_consumer(&settings.consumer).await.unwrap();
        max_deliver = durable.info().await.unwrap().config.max_deliver;
    }
    stop.send(true).unwrap();
    running.await.unwrap();
    assert_eq!(max_deliver, -1);
    delete_topology(&settings).await.unwrap();
}
