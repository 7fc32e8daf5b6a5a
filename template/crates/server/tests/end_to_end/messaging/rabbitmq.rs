//! The RabbitMQ side of the messaging tests (`AMQP_URL`, default the local broker): settings
//! with exchange and queue names of the test's own, and a tap: a queue bound to every routing key
//! of the test's exchange, so what it holds is exactly what the broker received.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use adapter_rabbitmq::declare_exchanges;
pub use adapter_rabbitmq::{
    MessagingSettings, RabbitConsumer as Consumer, RabbitPublisher as Publisher, delete_topology,
};
use lapin::options::{BasicGetOptions, BasicPublishOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use serde_json::Value;
use uuid::Uuid;

pub fn url() -> String {
    std::env::var("AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// `url()`, through `proxy` instead of straight to the broker.
pub fn url_via(proxy: SocketAddr) -> String {
    let url = url();
    url.replace(&address().to_string(), &proxy.to_string())
        .replace("localhost:", "127.0.0.1:")
}

/// Where AMQP_URL points (`amqp://user:password@host:port/vhost`).
pub fn address() -> SocketAddr {
    let url = url();
    let authority = url.split("://").nth(1).unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host_port = host_port.split('/').next().unwrap_or_default();
    std::net::ToSocketAddrs::to_socket_addrs(host_port)
        .ok()
        .and_then(|mut addresses| addresses.next())
        .unwrap_or_else(|| panic!("AMQP_URL has no host:port: {url}"))
}

/// Messaging settings with names of this test's own, and short pauses.
pub fn settings(url: &str) -> MessagingSettings {
    let tag = Uuid::now_v7();
    MessagingSettings {
        url: secrets::SecretUrl::new(url),
        exchange: format!("test-{tag}.events"),
        consumer_queue: format!("test-{tag}.item-counts"),
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
    }
}

/// A message as the tap saw it.
#[derive(Debug)]
pub struct Seen {
    pub id: String,
    pub traceparent: Option<String>,
    pub event: Value,
}

/// A queue bound to every routing key of the test's exchange: what the broker received.
pub struct Tap {
    _connection: Connection,
    channel: Channel,
    queue: String,
}

impl Tap {
    pub async fn on(settings: &MessagingSettings) -> Self {
        Self::on_key(settings, "#").await
    }

    /// A tap bound for one routing key pattern only.
    pub async fn on_key(settings: &MessagingSettings, binding: &str) -> Self {
        let connection = Connection::connect(&url(), ConnectionProperties::default())
            .await
            .expect("RabbitMQ at AMQP_URL (default amqp://guest:guest@127.0.0.1:5672/%2f)");
        let channel = connection.create_channel().await.unwrap();
        declare_exchanges(&channel, settings).await.unwrap();
        let queue = channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap()
            .name()
            .to_string();
        channel
            .queue_bind(
                queue.as_str().into(),
                settings.exchange.as_str().into(),
                binding.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        Self {
            _connection: connection,
            channel,
            queue,
        }
    }

    /// Takes every message waiting in `queue` (the tap's own by default).
    async fn take_from(&self, queue: &str) -> Vec<Seen> {
        let mut seen = Vec::new();
        while let Some(message) = self
            .channel
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap()
        {
            let delivery = message.delivery;
            let traceparent = delivery.properties.headers().as_ref().and_then(|headers| {
                match headers.inner().get("traceparent") {
                    Some(AMQPValue::LongString(value)) => {
                        Some(String::from_utf8_lossy(value.as_bytes()).into_owned())
                    }
                    _ => None,
                }
            });
            seen.push(Seen {
                id: delivery
                    .properties
                    .message_id()
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                traceparent,
                event: serde_json::from_slice(&delivery.data).unwrap_or(Value::Null),
            });
        }
        seen
    }

    pub async fn take(&self) -> Vec<Seen> {
        let queue = self.queue.clone();
        self.take_from(&queue).await
    }

    /// Collects from the tap until `count` messages arrived or `within` passed.
    pub async fn collect(&self, count: usize, within: Duration) -> Vec<Seen> {
        let started = Instant::now();
        let mut seen = Vec::new();
        while seen.len() < count && started.elapsed() < within {
            seen.extend(self.take().await);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        seen
    }

    /// Takes what the example consumer dead-lettered.
    pub async fn dead_letters(&self, settings: &MessagingSettings) -> Vec<Seen> {
        self.take_from(&format!("{}.dead-letter", settings.exchange))
            .await
    }

    /// Publishes `payload` as `event_type` with message id `id`, as a producer would.
    pub async fn publish(
        &self,
        settings: &MessagingSettings,
        event_type: &str,
        payload: &[u8],
        id: &str,
    ) {
        self.channel
            .basic_publish(
                settings.exchange.as_str().into(),
                event_type.into(),
                BasicPublishOptions::default(),
                payload,
                BasicProperties::default().with_message_id(id.into()),
            )
            .await
            .unwrap()
            .await
            .unwrap();
    }
}

/// Makes RabbitMQ refuse every message published to the test's exchange, as a full queue bound
/// for every event does: a queue bound to every routing key, at its length limit (0) with
/// `reject-publish`, makes RabbitMQ answer each publish with a nack.
pub struct Refusal {
    connection: Connection,
    queue: String,
}

pub async fn refuse_everything(settings: &MessagingSettings) -> Refusal {
    let connection = Connection::connect(&url(), ConnectionProperties::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    declare_exchanges(&channel, settings).await.unwrap();
    let queue = format!("{}.full", settings.exchange);
    let mut arguments = FieldTable::default();
    arguments.insert("x-max-length".into(), AMQPValue::LongInt(0));
    arguments.insert(
        "x-overflow".into(),
        AMQPValue::LongString("reject-publish".into()),
    );
    channel
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions::default(),
            arguments,
        )
        .await
        .unwrap();
    channel
        .queue_bind(
            queue.as_str().into(),
            settings.exchange.as_str().into(),
            "#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    Refusal { connection, queue }
}

impl Refusal {
    /// The broker takes messages again.
    pub async fn end(self) {
        let channel = self.connection.create_channel().await.unwrap();
        channel
            .queue_delete(
                self.queue.as_str().into(),
                lapin::options::QueueDeleteOptions::default(),
            )
            .await
            .unwrap();
        let _ = self.connection.close(200, "done".into()).await;
    }
}

/// With `mandatory`, RabbitMQ returns a message no queue is bound for instead of dropping it
/// after its confirm: the relay must not mark such an event published. It waits in the
/// outbox, with no attempt counted, until a queue is bound; another item's event goes on.
#[sqlx::test(migrations = "../../migrations")]
async fn an_event_no_queue_is_bound_for_waits_in_the_outbox_until_one_is(pool: sqlx::PgPool) {
    use adapter_postgres::outbox::record;

    // No consumer queue: the publisher declares the exchange and nothing bound to it.
    let settings = MessagingSettings {
        consumer_queue: String::new(),
        ..settings(&url())
    };
    // `item.created` has no queue; `item.updated` has one.
    let event = crate::messaging::event(Uuid::now_v7(), 1);
    let other = crate::messaging::event(Uuid::now_v7(), 2);
    let mut transaction = pool.begin().await.unwrap();
    record(&mut transaction, &event).await.unwrap();
    record(&mut transaction, &other).await.unwrap();
    transaction.commit().await.unwrap();
    let updates = Tap::on_key(&settings, "item.updated").await;
    let relay = crate::messaging::relay_to_broker(&pool, &settings, settings.relay_policy());
    let round = relay.run_once().await.unwrap();
    assert_eq!(
        round.unroutable, 1,
        "the item.created event is not published"
    );
    assert!(!round.broker_down, "the broker is fine");
    assert_eq!(
        round.published, 1,
        "and another item's item.updated event goes on"
    );
    let seen = updates.collect(1, Duration::from_secs(10)).await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].id, other.id.to_string());
    let attempts: i32 = sqlx::query_scalar("SELECT attempts FROM outbox WHERE id = $1")
        .bind(event.id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(relay.pending().await.unwrap(), 1, "it waits in the outbox");
    assert_eq!(attempts, 0, "with no attempt counted against it");

    let tap = Tap::on(&settings).await;
    // Tried again after retry_max_ms (400 ms in these settings).
    let mut published = 0;
    for _ in 0..50 {
        published += relay.run_once().await.unwrap().published;
        if published > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(published, 1, "a queue is bound now");
    let seen = tap.collect(1, Duration::from_secs(10)).await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].id, event.id.to_string());
    delete_topology(&settings).await.unwrap();
}
