//! Messaging against the real servers: PostgreSQL keeps the outbox, the broker carries the
//! events. Each test uses broker names of its own and watches them through a "tap"
//! (`messaging/<broker>.rs`), so what the tap counts is exactly what the broker received.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::broker::{self, Consumer, MessagingSettings, Publisher, Tap, delete_topology};
use crate::support::{TcpProxy, TestApp, test_settings};
use adapter_postgres::PostgresPools;
use adapter_postgres::outbox::{PostgresInbox, PostgresOutbox, record};
use async_trait::async_trait;
use domain::messaging::{
    EventPublisher, Inbox, ItemEvent, ItemEventConsumer, ItemEventType, OutboxMessage, OutboxStore,
    PublishError, Redrive, Relay, RelayPolicy, Settled,
};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

async fn wait_until<F, Fut>(within: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < within {
        if condition().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn pending(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL AND dead_at IS NULL")
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn created_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT COALESCE(sum(created), 0)::bigint FROM item_event_counts")
        .fetch_one(pool)
        .await
        .unwrap()
}

pub(crate) fn event(item: Uuid, version: i64) -> ItemEvent {
    ItemEvent {
        id: Uuid::now_v7(),
        event_type: if version == 1 {
            ItemEventType::Created
        } else {
            ItemEventType::Updated
        },
        schema_version: domain::messaging::SCHEMA_VERSION,
        occurred_at: time::OffsetDateTime::now_utc(),
        tenant_id: Uuid::now_v7(),
        item_id: item,
        item_version: version,
        data: Some(domain::messaging::ItemEventData {
            name: format!("item {item}"),
            status: "active".to_owned(),
        }),
    }
}

/// Writes versions 1 to `versions` of `items` new items, one transaction per version, as a busy
/// service would: each item's events in order.
async fn record_versions(pool: &PgPool, items: usize, versions: i64) {
    let items: Vec<Uuid> = (0..items).map(|_| Uuid::now_v7()).collect();
    for version in 1..=versions {
        let mut transaction = pool.begin().await.unwrap();
        for item in &items {
            record(&mut transaction, &event(*item, version))
                .await
                .unwrap();
        }
        transaction.commit().await.unwrap();
    }
}

/// A relay from the test's outbox to the real broker, under `policy`.
pub(crate) fn relay_to_broker(
    pool: &PgPool,
    settings: &MessagingSettings,
    policy: RelayPolicy,
) -> Relay {
    Relay::new(
        Arc::new(PostgresOutbox::new(&PostgresPools::single(pool.clone()))),
        Arc::new(Publisher::new(settings.clone())),
        policy,
    )
}

/// Runs `relay` until the outbox is empty; the task returns how many events it published.
fn drain(relay: Relay) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let mut published = 0;
        loop {
            let round = relay.run_once().await.unwrap();
            published += round.published;
            if round.published == 0 && relay.pending().await.unwrap() == 0 {
                return published;
            }
        }
    })
}

/// Each item's versions, in the order the broker received them.
fn versions_by_item(seen: &[broker::Seen]) -> BTreeMap<String, Vec<i64>> {
    let mut versions: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for message in seen {
        versions
            .entry(message.event["itemId"].as_str().unwrap().to_owned())
            .or_default()
            .push(message.event["itemVersion"].as_i64().unwrap());
    }
    versions
}

async fn app_with(pool: PgPool, settings: &MessagingSettings) -> TestApp {
    let mut config = test_settings();
    config.messaging = settings.clone();
    TestApp::spawn_with(config, PostgresPools::single(pool)).await
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_event_is_published_once_its_transaction_commits_and_never_after_a_rollback(
    pool: PgPool,
) {
    let settings = broker::settings(&broker::url());
    let tap = Tap::on(&settings).await;
    let app = app_with(pool.clone(), &settings).await;

    // Written but not committed: the relay cannot see it.
    let committed = event(Uuid::now_v7(), 1);
    let mut transaction = pool.begin().await.unwrap();
    record(&mut transaction, &committed).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(tap.take().await.is_empty(), "nothing before the commit");
    transaction.commit().await.unwrap();
    let seen = tap.collect(1, Duration::from_secs(10)).await;
    assert_eq!(seen.len(), 1, "published after the commit");
    assert_eq!(seen[0].id, committed.id.to_string());
    assert_eq!(seen[0].event["type"], "item.created");

    // Rolled back: the event never existed.
    let rolled_back = event(Uuid::now_v7(), 1);
    let mut transaction = pool.begin().await.unwrap();
    record(&mut transaction, &rolled_back).await.unwrap();
    transaction.rollback().await.unwrap();

    // Through the API: the item and its event commit together.
    let tenant = app.create_tenant("Acme").await;
    app.create_item(&tenant, "Desk lamp").await;
    let seen = tap.collect(1, Duration::from_secs(10)).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].event["tenantId"], tenant);
    assert_eq!(seen[0].event["data"]["name"], "Desk lamp");
    assert!(seen[0].event["data"].get("description").is_none());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        tap.take().await.is_empty(),
        "the rolled-back event never went out"
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE id = $1")
        .bind(rolled_back.id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    app.stop().await.unwrap();
    delete_topology(&settings).await.unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_writers_trace_context_travels_in_the_message_headers(pool: PgPool) {
    use tracing_opentelemetry_ext::with_remote_parent;
    let settings = broker::settings(&broker::url());
    let tap = Tap::on(&settings).await;
    let app = app_with(pool.clone(), &settings).await;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let traced = event(Uuid::now_v7(), 1);
    with_remote_parent(traceparent, async {
        let mut transaction = pool.begin().await.unwrap();
        record(&mut transaction, &traced).await.unwrap();
        transaction.commit().await.unwrap();
    })
    .await;
    let seen = tap.collect(1, Duration::from_secs(10)).await;
    assert_eq!(seen.len(), 1);
    let header = seen[0].traceparent.as_deref().unwrap_or_default();
    assert!(
        header.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "the consumer continues the writer's trace: {header:?}"
    );
    app.stop().await.unwrap();
    delete_topology(&settings).await.unwrap();
}

/// Runs `work` in a span whose parent is the remote `traceparent`.
mod tracing_opentelemetry_ext {
    use tracing::Instrument;
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    pub async fn with_remote_parent(
        traceparent: &str,
        work: impl std::future::Future<Output = ()>,
    ) {
        let carrier =
            std::collections::HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
        let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.extract(&carrier)
        });
        let span = tracing::info_span!("request");
        let _ = span.set_parent(parent);
        work.instrument(span).await;
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn with_the_broker_down_events_wait_in_the_outbox_and_arrive_once_each_when_it_returns(
    pool: PgPool,
) {
    let proxy = TcpProxy::start(broker::address()).await;
    proxy.cut();
    let settings = broker::settings(&broker::url_via(proxy.address));
    let tap = Tap::on(&settings).await;
    let app = app_with(pool.clone(), &settings).await;

    let tenant = app.create_tenant("Acme").await;
    let written = 25;
    for number in 0..written {
        app.create_item(&tenant, &format!("item {number}")).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        pending(&pool).await,
        written,
        "every event waits in the outbox"
    );
    assert!(tap.take().await.is_empty(), "nothing reached the broker");
    assert_eq!(created_count(&pool).await, 0, "nothing was consumed");

    proxy.restore();
    let seen = tap
        .collect(usize::try_from(written).unwrap(), Duration::from_secs(30))
        .await;
    assert!(
        wait_until(Duration::from_secs(30), || async {
            created_count(&pool).await == written
        })
        .await,
        "the consumer applied every event"
    );
    // Anything published twice would arrive meanwhile.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut seen = seen;
    seen.extend(tap.take().await);
    let distinct: HashSet<&str> = seen.iter().map(|message| message.id.as_str()).collect();
    let processed: i64 = sqlx::query_scalar("SELECT count(*) FROM processed_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    println!(
        "broker down: events written {written}, delivered {}, distinct {}, duplicates {}, \
         applied by the consumer {}, still pending {}",
        seen.len(),
        distinct.len(),
        seen.len() - distinct.len(),
        processed,
        pending(&pool).await
    );
    assert_eq!(seen.len(), distinct.len(), "no event published twice");
    assert_eq!(i64::try_from(distinct.len()).unwrap(), written, "none lost");
    assert_eq!(processed, written);
    assert_eq!(pending(&pool).await, 0);
    app.stop().await.unwrap();
    delete_topology(&settings).await.unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn two_relays_share_the_outbox_without_publishing_an_event_twice(pool: PgPool) {
    let settings = broker::settings(&broker::url());
    let tap = Tap::on(&settings).await;
    // 30 items with 10 versions each: 300 events, in order per item.
    record_versions(&pool, 30, 10).await;
    let pools = PostgresPools::single(pool.clone());
    let relay = || {
        Relay::new(
            Arc::new(PostgresOutbox::new(&pools)),
            Arc::new(Publisher::new(settings.clone())),
            RelayPolicy {
                batch: 7,
                ..settings.relay_policy()
            },
        )
    };
    let (first, second) = (drain(relay()), drain(relay()));
    let (first, second) = (first.await.unwrap(), second.await.unwrap());

    let seen = tap.collect(300, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut seen = seen;
    seen.extend(tap.take().await);
    let distinct: HashSet<&str> = seen.iter().map(|message| message.id.as_str()).collect();
    println!(
        "two relays: first published {first}, second {second}; the broker received {} ({} distinct)",
        seen.len(),
        distinct.len()
    );
    assert_eq!(first + second, 300);
    assert_eq!(seen.len(), 300, "every event once");
    assert_eq!(distinct.len(), 300, "no event twice");
    for (item, order) in &versions_by_item(&seen) {
        assert_eq!(
            order,
            &(1..=10).collect::<Vec<_>>(),
            "item {item} out of order"
        );
    }
    delete_topology(&settings).await.unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_redelivered_event_is_applied_once_and_a_malformed_one_is_dead_lettered(pool: PgPool) {
    let settings = broker::settings(&broker::url());
    let tap = Tap::on(&settings).await;
    let app = app_with(pool.clone(), &settings).await;
    let tenant = app.create_tenant("Acme").await;
    app.create_item(&tenant, "Desk lamp").await;
    assert!(
        wait_until(Duration::from_secs(10), || async {
            created_count(&pool).await == 1
        })
        .await
    );
    let original = tap.collect(1, Duration::from_secs(5)).await;
    assert_eq!(original.len(), 1);

    // The same event again, as a broker redelivery or a second relay would send it.
    let again = serde_json::to_vec(&original[0].event).unwrap();
    tap.publish(&settings, "item.created", &again, &original[0].id)
        .await;
    tap.publish(
        &settings,
        "item.created",
        b"{\"not\": \"an event\"}",
        "junk",
    )
    .await;

    let mut dead = Vec::new();
    let started = Instant::now();
    while dead.is_empty() && started.elapsed() < Duration::from_secs(10) {
        dead.extend(tap.dead_letters(&settings).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        dead.len(),
        1,
        "the malformed message reached the dead-letter queue"
    );
    assert!(dead[0].id.starts_with("junk"), "{dead:?}");
    let processed: i64 = sqlx::query_scalar("SELECT count(*) FROM processed_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(processed, 1, "the redelivery was recognised");
    assert_eq!(created_count(&pool).await, 1, "and applied once");
    app.stop().await.unwrap();
    delete_topology(&settings).await.unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn one_items_events_go_out_back_to_back_not_one_per_relay_interval(pool: PgPool) {
    let settings = broker::settings(&broker::url());
    let tap = Tap::on(&settings).await;
    let item = Uuid::now_v7();
    let mut transaction = pool.begin().await.unwrap();
    for version in 1..=50 {
        record(&mut transaction, &event(item, version))
            .await
            .unwrap();
    }
    transaction.commit().await.unwrap();
    let relay = relay_to_broker(&pool, &settings, settings.relay_policy());
    // Each round can take only the item's oldest waiting event. With an hour between rounds
    // that find nothing to do, a loop that also waited after a round that published one event
    // would send one event and then nothing within this test.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(service::messaging::run_relay(
        relay,
        Duration::from_secs(3600),
        stopped,
    ));
    let seen = tap.collect(50, Duration::from_secs(20)).await;
    stop.send(true).unwrap();
    running.await.unwrap();
    let versions: Vec<i64> = seen
        .iter()
        .map(|message| message.event["itemVersion"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, (1..=50).collect::<Vec<_>>(), "all 50, in order");
    delete_topology(&settings).await.unwrap();
}

#[sqlx::test(migrations = "../../migrations")]
async fn published_events_and_applied_ids_older_than_the_retention_are_pruned_and_nothing_else(
    pool: PgPool,
) {
    let item = Uuid::now_v7();
    let events: Vec<ItemEvent> = (1..=4).map(|version| event(item, version)).collect();
    let mut transaction = pool.begin().await.unwrap();
    for event in &events {
        record(&mut transaction, event).await.unwrap();
    }
    transaction.commit().await.unwrap();
    let (old, recent, dead, waiting) = (events[0].id, events[1].id, events[2].id, events[3].id);
    for (id, statement) in [
        (
            old,
            "UPDATE outbox SET published_at = now() - interval '8 days' WHERE id = $1",
        ),
        (
            recent,
            "UPDATE outbox SET published_at = now() - interval '1 day' WHERE id = $1",
        ),
        (
            dead,
            "UPDATE outbox SET dead_at = now() - interval '30 days' WHERE id = $1",
        ),
        (
            waiting,
            "UPDATE outbox SET created_at = now() - interval '30 days' WHERE id = $1",
        ),
    ] {
        sqlx::query(statement)
            .bind(id)
            .execute(&pool)
            .await
            .unwrap();
    }
    sqlx::query(
        "INSERT INTO processed_events (consumer, event_id, processed_at) VALUES \
         ('counts', $1, now() - interval '8 days'), ('counts', $2, now() - interval '1 day')",
    )
    .bind(old)
    .bind(recent)
    .execute(&pool)
    .await
    .unwrap();

    let pools = PostgresPools::single(pool.clone());
    let week = Duration::from_secs(7 * 24 * 3600);
    let deleted = service::messaging::prune_once(
        &PostgresOutbox::new(&pools),
        &PostgresInbox::new(&pools),
        week,
    )
    .await;
    assert_eq!(
        deleted,
        (1, 1),
        "one published event and one applied id past a week"
    );
    let kept: HashSet<Uuid> = sqlx::query_scalar("SELECT id FROM outbox")
        .fetch_all(&pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(
        kept,
        HashSet::from([recent, dead, waiting]),
        "recent, dead and waiting events stay, however old"
    );
    let remembered: Vec<Uuid> = sqlx::query_scalar("SELECT event_id FROM processed_events")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(remembered, [recent]);
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_relay_whose_lease_was_taken_over_settles_nothing(pool: PgPool) {
    let event = event(Uuid::now_v7(), 1);
    let mut transaction = pool.begin().await.unwrap();
    record(&mut transaction, &event).await.unwrap();
    transaction.commit().await.unwrap();
    let outbox = PostgresOutbox::new(&PostgresPools::single(pool.clone()));
    let late = outbox.claim(10, Duration::from_millis(1)).await.unwrap();
    assert_eq!(late.len(), 1);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let current = outbox.claim(10, Duration::from_secs(30)).await.unwrap();
    assert_eq!(
        current.len(),
        1,
        "the lease ran out: another relay takes the event over"
    );
    assert_ne!(late[0].lease, current[0].lease);
    assert_eq!(
        outbox.delivered(&late[0]).await.unwrap(),
        Settled::LeaseLost
    );
    assert_eq!(
        outbox.dead(&late[0], "late").await.unwrap(),
        Settled::LeaseLost
    );
    assert_eq!(
        outbox
            .retry_later(&late[0], Duration::ZERO, "late", true)
            .await
            .unwrap(),
        Settled::LeaseLost
    );
    assert_eq!(
        pending(&pool).await,
        1,
        "still waiting, under the new lease"
    );
    let attempts: i32 = sqlx::query_scalar("SELECT attempts FROM outbox WHERE id = $1")
        .bind(event.id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(attempts, 0, "the late relay counted nothing");
    assert_eq!(outbox.delivered(&current[0]).await.unwrap(), Settled::Done);
    assert_eq!(pending(&pool).await, 0);
}

/// A broker slower than the relay's lease: each publish waits, then goes to the real broker.
struct Slow {
    delay: Duration,
    inner: Publisher,
}

#[async_trait]
impl EventPublisher for Slow {
    async fn publish(&self, message: &OutboxMessage) -> Result<(), PublishError> {
        tokio::time::sleep(self.delay).await;
        self.inner.publish(message).await
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn two_relays_with_a_publisher_slower_than_the_lease_keep_each_items_order(pool: PgPool) {
    let settings = broker::settings(&broker::url());
    let tap = Tap::on(&settings).await;
    // 40 items with 2 versions each: 80 events. A claim takes one event per item, so a batch
    // of 40 is 40 publishes.
    record_versions(&pool, 40, 2).await;
    let pools = PostgresPools::single(pool.clone());
    // A batch of 40 publishes of 100 ms each needs 4 s; the lease lasts 3 s. A relay that
    // kept publishing past its lease would race the relay that took the events over.
    let relay = || {
        Relay::new(
            Arc::new(PostgresOutbox::new(&pools)),
            Arc::new(Slow {
                delay: Duration::from_millis(100),
                inner: Publisher::new(settings.clone()),
            }),
            RelayPolicy {
                batch: 40,
                lease: Duration::from_secs(3),
                publish_timeout: Duration::from_millis(300),
                ..settings.relay_policy()
            },
        )
    };
    let (first, second) = (drain(relay()), drain(relay()));
    tokio::time::timeout(Duration::from_secs(60), async {
        first.await.unwrap();
        second.await.unwrap();
    })
    .await
    .expect("the relays drained the outbox within a minute");

    let mut seen = tap.collect(80, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    seen.extend(tap.take().await);
    let versions = versions_by_item(&seen);
    println!(
        "slow publisher, two relays: the broker received {} messages for 80 events",
        seen.len()
    );
    assert_eq!(versions.len(), 40, "every item's events arrived");
    for (item, order) in &versions {
        assert!(
            order.windows(2).all(|pair| pair[0] <= pair[1]),
            "item {item} went backwards on the wire: {order:?}"
        );
        let mut distinct = order.clone();
        distinct.dedup();
        assert_eq!(distinct, [1, 2], "item {item}: every version, in order");
    }
    // Each relay stops publishing before its lease can run out, so no event is taken over
    // while still being published: nothing reaches the broker twice.
    assert_eq!(seen.len(), 80, "no event published twice");
    assert_eq!(pending(&pool).await, 0);
    delete_topology(&settings).await.unwrap();
}

/// A broker that refuses one event and takes every other (the publisher port's `Rejected`).
struct Refusing {
    refused: Uuid,
    inner: Publisher,
    refusals: AtomicUsize,
}

#[async_trait]
impl EventPublisher for Refusing {
    async fn publish(&self, message: &OutboxMessage) -> Result<(), PublishError> {
        if message.id == self.refused {
            self.refusals.fetch_add(1, Ordering::SeqCst);
            return Err(PublishError::Rejected(anyhow::anyhow!(
                "refused for the test"
            )));
        }
        self.inner.publish(message).await
    }
}

#[sqlx::test(migrations = "../../migrations")]
async fn an_event_refused_max_attempts_times_is_dead_lettered_and_no_longer_holds_back_its_item(
    pool: PgPool,
) {
    let settings = broker::settings(&broker::url());
    let tap = Tap::on(&settings).await;
    let item = Uuid::now_v7();
    let (first, second) = (event(item, 1), event(item, 2));
    let mut transaction = pool.begin().await.unwrap();
    record(&mut transaction, &first).await.unwrap();
    record(&mut transaction, &second).await.unwrap();
    transaction.commit().await.unwrap();
    let publisher = Arc::new(Refusing {
        refused: first.id,
        inner: Publisher::new(settings.clone()),
        refusals: AtomicUsize::new(0),
    });
    let relay = Relay::new(
        Arc::new(PostgresOutbox::new(&PostgresPools::single(pool.clone()))),
        publisher.clone(),
        RelayPolicy {
            backoff_base: Duration::from_millis(1),
            backoff_max: Duration::from_millis(1),
            ..settings.relay_policy()
        },
    );
    let mut rounds = 0;
    while relay.pending().await.unwrap() > 0 && rounds < 50 {
        relay.run_once().await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        rounds += 1;
        // While the first event is retried, the second must wait: order per item.
        if publisher.refusals.load(Ordering::SeqCst) < 3 {
            assert!(
                tap.take().await.is_empty(),
                "the second event overtook the first"
            );
        }
    }
    assert_eq!(
        publisher.refusals.load(Ordering::SeqCst),
        3,
        "max_attempts = 3"
    );
    let (attempts, dead): (i32, bool) =
        sqlx::query_as("SELECT attempts, dead_at IS NOT NULL FROM outbox WHERE id = $1")
            .bind(first.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((attempts, dead), (3, true));
    let seen = tap.collect(1, Duration::from_secs(10)).await;
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].id,
        second.id.to_string(),
        "the item's next event went out"
    );
    assert_eq!(json!(seen[0].event["itemVersion"]), json!(2));

    // An operator finds it, fixes the cause, and re-drives it.
    let outbox = PostgresOutbox::new(&PostgresPools::single(pool.clone()));
    let listed = outbox.dead_letters(10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].id, listed[0].attempts), (first.id, 3));
    assert!(
        listed[0].last_error.contains("refused for the test"),
        "{listed:?}"
    );
    assert_eq!(relay.backlog().await.unwrap().dead, 1);
    assert_eq!(
        outbox.redrive(Redrive::Only(&[second.id])).await.unwrap(),
        0,
        "not dead"
    );
    assert_eq!(outbox.redrive(Redrive::Only(&[first.id])).await.unwrap(), 1);
    let relay = relay_to_broker(&pool, &settings, settings.relay_policy());
    assert_eq!(
        drain(relay.clone()).await.unwrap(),
        1,
        "published once re-driven"
    );
    let seen = tap.collect(1, Duration::from_secs(10)).await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].id, first.id.to_string());
    assert_eq!(
        relay.backlog().await.unwrap(),
        domain::messaging::Backlog::default()
    );
    delete_topology(&settings).await.unwrap();
}

/// The operator's side of dead events: `outbox dead-letters` lists them with the broker's last
/// refusal, `outbox redrive` makes them wait again with their attempts reset, and a redrive
/// naming nothing is a usage error that changes nothing.
#[sqlx::test(migrations = "../../migrations")]
async fn outbox_dead_letters_lists_dead_events_and_redrive_makes_them_wait_again(pool: PgPool) {
    let dead = event(Uuid::now_v7(), 1);
    let mut transaction = pool.begin().await.unwrap();
    record(&mut transaction, &dead).await.unwrap();
    transaction.commit().await.unwrap();
    sqlx::query(
        "UPDATE outbox SET dead_at = now(), attempts = 8, \
             last_error = 'message size 200000000 is larger than configured max size' \
         WHERE id = $1",
    )
    .bind(dead.id)
    .execute(&pool)
    .await
    .unwrap();
    let url = crate::support::database_url(pool.connect_options().get_database().unwrap(), None);
    let outbox = |args: &[&str]| {
        let mut all = vec!["outbox"];
        all.extend_from_slice(args);
        let mut command = crate::cli::command(&all);
        command.env("APP__DATABASE__URL", &url);
        tokio::task::spawn_blocking(move || crate::support::run(&mut command))
    };

    let (output, listed, stderr) = outbox(&["dead-letters"]).await.unwrap();
    assert!(output.status.success(), "{stderr}");
    let line = listed
        .lines()
        .find(|line| line.starts_with(&dead.id.to_string()))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(
        line.contains("item.created") && line.contains("attempts 8"),
        "{line}"
    );
    assert!(line.contains("larger than configured max size"), "{line}");

    let (output, _, stderr) = outbox(&["redrive"]).await.unwrap();
    assert_eq!(output.status.code(), Some(2), "names nothing: {stderr}");
    assert!(
        stderr.contains("--all") || stderr.contains("--id"),
        "{stderr}"
    );
    assert_eq!(pending(&pool).await, 0, "nothing changed");

    let id = dead.id.to_string();
    let (output, said, stderr) = outbox(&["redrive", "--id", &id]).await.unwrap();
    assert!(output.status.success(), "{stderr}");
    assert!(said.contains("re-drove 1 "), "{said}");
    let (attempts, waiting): (i32, bool) = sqlx::query_as(
        "SELECT attempts, dead_at IS NULL AND published_at IS NULL FROM outbox WHERE id = $1",
    )
    .bind(dead.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((attempts, waiting), (0, true));
    let (_, listed, _) = outbox(&["dead-letters"]).await.unwrap();
    assert!(listed.contains("0 dead event(s) listed"), "{listed}");
}

/// A broker that refuses every message for a while (RabbitMQ nacking, a JetStream stream at its
/// limits) is the broker's trouble, not the events': the relay used to count each refusal
/// against the event and dead-letter every pending event after `max_attempts` rounds, and
/// later events of the same items then went out without them.
#[sqlx::test(migrations = "../../migrations")]
async fn a_broker_refusing_every_message_dead_letters_nothing_and_order_holds_after_it_recovers(
    pool: PgPool,
) {
    let settings = broker::settings(&broker::url());
    let tap = Tap::on(&settings).await;
    record_versions(&pool, 4, 3).await;
    let refusal = broker::refuse_everything(&settings).await;
    let relay = relay_to_broker(
        &pool,
        &settings,
        RelayPolicy {
            backoff_base: Duration::from_millis(1),
            backoff_max: Duration::from_millis(1),
            ..settings.relay_policy()
        },
    );
    // Ten times max_attempts (3) rounds against the refusing broker.
    let mut refused = 0;
    for _ in 0..30 {
        let round = relay.run_once().await.unwrap();
        assert_eq!((round.published, round.dead), (0, 0), "{round:?}");
        // RabbitMQ's nack is about a queue: that event waits like an unroutable one.
        refused += usize::from(round.broker_down || round.unroutable > 0);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(refused, 30, "every round met a broker that takes nothing");
    let (dead, attempts): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE dead_at IS NOT NULL), COALESCE(sum(attempts), 0)::bigint \
         FROM outbox",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (dead, attempts),
        (0, 0),
        "no event dead-lettered, no attempt counted"
    );

    refusal.end().await;
    // What RabbitMQ routed to the tap beside its nacks was never published.
    tap.take().await;
    assert_eq!(drain(relay).await.unwrap(), 12);
    let seen = tap.collect(12, Duration::from_secs(10)).await;
    assert_eq!(seen.len(), 12);
    for (item, versions) in versions_by_item(&seen) {
        assert_eq!(versions, [1, 2, 3], "item {item} in order");
    }
    delete_topology(&settings).await.unwrap();
}

/// Event ids are UUID v7, stamped by the writing replica's clock. A replica a minute behind
/// gives an item's second event the smaller id; the relay used to publish by id, so the
/// second change went out before the first.
#[sqlx::test(migrations = "../../migrations")]
async fn an_items_events_go_out_in_commit_order_whatever_the_writers_clocks_say(pool: PgPool) {
    let settings = broker::settings(&broker::url());
    let tap = Tap::on(&settings).await;
    let item = Uuid::now_v7();
    let first = event(item, 1);
    let mut second = event(item, 2);
    let a_minute_ago = time::OffsetDateTime::now_utc().unix_timestamp() - 60;
    second.id = Uuid::new_v7(uuid::Timestamp::from_unix(
        uuid::NoContext,
        u64::try_from(a_minute_ago).unwrap(),
        0,
    ));
    assert!(second.id < first.id, "the second writer's clock is behind");
    for written in [&first, &second] {
        let mut transaction = pool.begin().await.unwrap();
        record(&mut transaction, written).await.unwrap();
        transaction.commit().await.unwrap();
    }
    let relay = relay_to_broker(&pool, &settings, settings.relay_policy());
    assert_eq!(drain(relay).await.unwrap(), 2);
    let seen = tap.collect(2, Duration::from_secs(10)).await;
    let ids: Vec<&str> = seen.iter().map(|message| message.id.as_str()).collect();
    assert_eq!(
        ids,
        [first.id.to_string(), second.id.to_string()],
        "commit order, not id order"
    );
    delete_topology(&settings).await.unwrap();
}

/// Upgrading numbers the events already in the outbox in id order, the order the relay used
/// before `position` existed, whatever their order on disk (an identity column added straight
/// away numbered them in disk order, where an item's first waiting event, rewritten by every
/// claim, can sit after its later ones).
#[sqlx::test(migrations = "../../migrations")]
async fn the_migration_to_commit_order_numbers_existing_events_in_id_order(pool: PgPool) {
    const UP: &str =
        include_str!("../../../../migrations/20250101000005_outbox_commit_order.up.sql");
    const DOWN: &str =
        include_str!("../../../../migrations/20250101000005_outbox_commit_order.down.sql");
    sqlx::raw_sql(DOWN).execute(&pool).await.unwrap();
    // One item's events, written to disk last first.
    let item = Uuid::now_v7();
    let ids: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
    for id in ids.iter().rev() {
        sqlx::query(
            "INSERT INTO outbox (id, aggregate_id, event_type, payload) \
             VALUES ($1, $2, 'item.updated', '{}')",
        )
        .bind(id)
        .bind(item)
        .execute(&pool)
        .await
        .unwrap();
    }
    sqlx::raw_sql(UP).execute(&pool).await.unwrap();
    let numbered: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM outbox ORDER BY position")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(numbered, ids, "positions follow the ids");
    let next: i64 = sqlx::query_scalar(
        "INSERT INTO outbox (id, aggregate_id, event_type, payload) \
         VALUES (gen_random_uuid(), $1, 'item.updated', '{}') RETURNING position",
    )
    .bind(item)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(next, 6, "new events come after them");
}

/// The claim must not read the published rows, however many the retention keeps: with a
/// million of them and a few thousand waiting, its plan walks the partial indexes on waiting
/// rows in order and stops at the batch, with no sequential scan and no sort.
#[sqlx::test(migrations = "../../migrations")]
async fn the_claims_plan_reads_waiting_rows_only_beside_a_million_published(pool: PgPool) {
    sqlx::query(
        "INSERT INTO outbox (id, aggregate_id, event_type, payload, published_at) \
         SELECT gen_random_uuid(), gen_random_uuid(), 'item.created', '{}'::jsonb, now() \
         FROM generate_series(1, 1000000)",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO outbox (id, aggregate_id, event_type, payload) \
         SELECT gen_random_uuid(), gen_random_uuid(), 'item.created', '{}'::jsonb \
         FROM generate_series(1, 5000)",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE outbox").execute(&pool).await.unwrap();
    let plan: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "EXPLAIN {}",
        adapter_postgres::outbox::CLAIM
    )))
    .bind(100_i64)
    .bind(30_000_i64)
    .fetch_all(&pool)
    .await
    .unwrap();
    let plan = plan.join("\n");
    assert!(!plan.contains("Seq Scan"), "{plan}");
    assert!(!plan.contains("Sort"), "{plan}");
    assert!(plan.contains("outbox_waiting_order_idx"), "{plan}");
}

/// An inbox whose database fails the first `failures` calls at once, then works; it notes when
/// each call came.
struct FailingInbox {
    inner: PostgresInbox,
    failures: AtomicUsize,
    calls: std::sync::Mutex<Vec<Instant>>,
}

impl FailingInbox {
    fn new(pool: &PgPool, failures: usize) -> Arc<Self> {
        Arc::new(Self {
            inner: PostgresInbox::new(&PostgresPools::single(pool.clone())),
            failures: AtomicUsize::new(failures),
            calls: std::sync::Mutex::new(Vec::new()),
        })
    }

    fn calls(&self) -> Vec<Instant> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl Inbox for FailingInbox {
    async fn apply_once(&self, consumer: &str, event: &ItemEvent) -> anyhow::Result<bool> {
        self.calls.lock().unwrap().push(Instant::now());
        let failing = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        if failing {
            anyhow::bail!("the database is unreachable (a test)");
        }
        self.inner.apply_once(consumer, event).await
    }

    async fn forget_applied(&self, age: Duration) -> anyhow::Result<u64> {
        self.inner.forget_applied(age).await
    }
}

/// Publishes one item.created event through the relay (which also declares the consumer's
/// queue, on RabbitMQ) and starts the example consumer over `inbox`.
async fn consume_one_event(
    pool: &PgPool,
    settings: &MessagingSettings,
    inbox: Arc<FailingInbox>,
) -> (
    ItemEvent,
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
) {
    let created = event(Uuid::now_v7(), 1);
    let mut transaction = pool.begin().await.unwrap();
    record(&mut transaction, &created).await.unwrap();
    transaction.commit().await.unwrap();
    let relay = relay_to_broker(pool, settings, settings.relay_policy());
    assert_eq!(drain(relay).await.unwrap(), 1);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let consumer = Consumer::new(
        settings.clone(),
        ItemEventConsumer::new(inbox, "test-consumer"),
    );
    (created, stop, tokio::spawn(consumer.run(stopped)))
}

/// A database failing fast must cost deliveries slowly: each redelivery waits twice as long as
/// the one before (the consumer used to wait a fixed `retry_base_ms`, so ten deliveries went in
/// a few seconds of outage and the event was gone), and within `max_deliver` the event is
/// applied once the database answers.
#[sqlx::test(migrations = "../../migrations")]
async fn fifteen_fast_inbox_failures_cost_growing_delays_and_the_event_is_still_applied(
    pool: PgPool,
) {
    let settings = MessagingSettings {
        max_deliver: 20,
        retry_base_ms: 10,
        retry_max_ms: 200,
        ..broker::settings(&broker::url())
    };
    let tap = Tap::on(&settings).await;
    let inbox = FailingInbox::new(&pool, 15);
    let (_created, stop, consumer) = consume_one_event(&pool, &settings, inbox.clone()).await;
    assert!(
        wait_until(Duration::from_secs(30), || async {
            created_count(&pool).await == 1
        })
        .await,
        "the event was applied after {} calls",
        inbox.calls().len()
    );
    let calls = inbox.calls();
    assert_eq!(calls.len(), 16, "fifteen failures, then applied");
    let gaps: Vec<Duration> = calls.windows(2).map(|pair| pair[1] - pair[0]).collect();
    assert!(
        gaps[0] < Duration::from_millis(150) && gaps[gaps.len() - 1] >= Duration::from_millis(180),
        "delays grow from retry_base_ms (10) to retry_max_ms (200): {gaps:?}"
    );
    assert!(tap.dead_letters(&settings).await.is_empty());
    stop.send(true).unwrap();
    consumer.await.unwrap();
    delete_topology(&settings).await.unwrap();
}

/// A message whose handling always fails (a poison message, or a database down for longer
/// than the redeliveries last) is dead-lettered after `max_deliver` deliveries and then left
/// alone: RabbitMQ used to requeue it for ever, and JetStream dropped it without a trace.
#[sqlx::test(migrations = "../../migrations")]
async fn a_message_whose_handling_always_fails_is_dead_lettered_after_max_deliver_tries(
    pool: PgPool,
) {
    let settings = MessagingSettings {
        max_deliver: 4,
        retry_base_ms: 10,
        retry_max_ms: 50,
        ..broker::settings(&broker::url())
    };
    let tap = Tap::on(&settings).await;
    let inbox = FailingInbox::new(&pool, usize::MAX);
    let (created, stop, consumer) = consume_one_event(&pool, &settings, inbox.clone()).await;
    let mut dead = Vec::new();
    let started = Instant::now();
    while dead.is_empty() && started.elapsed() < Duration::from_secs(20) {
        dead.extend(tap.dead_letters(&settings).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(dead.len(), 1, "dead-lettered once");
    assert_eq!(dead[0].id, created.id.to_string());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(inbox.calls().len(), 4, "four deliveries, then no more");
    assert!(
        tap.dead_letters(&settings).await.is_empty(),
        "and one dead letter"
    );
    assert_eq!(created_count(&pool).await, 0);
    stop.send(true).unwrap();
    consumer.await.unwrap();
    delete_topology(&settings).await.unwrap();
}

#[test]
fn every_event_written_is_what_the_published_schema_describes() {
    let schema: Value = serde_json::from_str(include_str!(
        "../../../../docs/events/item-event.v1.schema.json"
    ))
    .unwrap();
    let documented = schema["properties"].as_object().unwrap();
    let item = Uuid::now_v7();
    let events = [
        event(item, 1),
        event(item, 2),
        ItemEvent::deleted(Uuid::now_v7(), item, 2),
    ];
    for event in events {
        let written = serde_json::to_value(&event).unwrap();
        let fields = written.as_object().unwrap();
        for required in schema["required"].as_array().unwrap() {
            assert!(
                fields.contains_key(required.as_str().unwrap()),
                "{required} is required by the schema but not written: {written}"
            );
        }
        for (name, value) in fields {
            let property = documented
                .get(name)
                .unwrap_or_else(|| panic!("{name} is written but not in the schema"));
            if let Some(allowed) = property["enum"].as_array() {
                assert!(
                    allowed.contains(value),
                    "{name} = {value} is not in {allowed:?}"
                );
            }
            if let Some(constant) = property.get("const") {
                assert_eq!(value, constant, "{name}");
            }
        }
        let data = &written["data"];
        let shape = &documented["data"]["oneOf"][1];
        if data.is_null() {
            assert_eq!(written["type"], "item.deleted");
        } else {
            for required in shape["required"].as_array().unwrap() {
                assert!(
                    data.get(required.as_str().unwrap()).is_some(),
                    "data.{required}"
                );
            }
            for name in data.as_object().unwrap().keys() {
                assert!(
                    shape["properties"].get(name).is_some(),
                    "data.{name} is written but not in the schema"
                );
            }
            let statuses = shape["properties"]["status"]["enum"].as_array().unwrap();
            assert!(statuses.contains(&data["status"]));
        }
    }
}
