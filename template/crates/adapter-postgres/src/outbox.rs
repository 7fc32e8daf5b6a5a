//! The outbox on PostgreSQL: [`record`] writes an event inside the caller's transaction (the
//! item repository calls it next to its own statement), [`PostgresOutbox`] leases and settles
//! events for the relay, and [`PostgresInbox`] gives the example consumer its exactly-once
//! effect. The rules (order, retries, dead letters) are the domain's; this module only makes
//! them safe under concurrency: `FOR UPDATE SKIP LOCKED` lets any number of relays lease
//! disjoint batches without waiting on each other.

use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use domain::messaging::{
    Backlog, DeadLetter, Inbox, ItemEvent, ItemEventType, OutboxMessage, OutboxStore, Redrive,
    Settled,
};
use sqlx::postgres::PgQueryResult;
use sqlx::{PgConnection, Row};

use crate::pool::{MeteredPool, PostgresPools};

/// Writes `event` to the outbox on `connection`, which must be inside the transaction that
/// makes the change: if that transaction rolls back, the event never existed.
///
/// # Errors
/// When the insert fails (the caller's transaction then fails with it).
pub async fn record(connection: &mut PgConnection, event: &ItemEvent) -> sqlx::Result<()> {
    let payload = serde_json::to_value(event).map_err(|error| sqlx::Error::Encode(error.into()))?;
    sqlx::query(
        "INSERT INTO outbox (id, aggregate_id, event_type, payload, traceparent) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(event.id)
    .bind(event.item_id)
    .bind(event.event_type.as_str())
    .bind(payload)
    .bind(current_traceparent())
    .execute(connection)
    .await?;
    Ok(())
}

/// The W3C `traceparent` of the current span: the consumer continues this trace.
fn current_traceparent() -> Option<String> {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let mut carrier = std::collections::HashMap::new();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&tracing::Span::current().context(), &mut carrier);
    });
    carrier.remove("traceparent")
}

/// The claim: the due, unleased, oldest waiting event of each item, first `$1` in commit order,
/// leased for `$2` milliseconds under a new token. Public so a test can `EXPLAIN` the very
/// statement the relay runs.
pub const CLAIM: &str = "WITH due AS ( \
         SELECT o.id FROM outbox o \
         WHERE o.published_at IS NULL AND o.dead_at IS NULL \
           AND o.next_attempt_at <= now() \
           AND (o.locked_until IS NULL OR o.locked_until < now()) \
           AND NOT EXISTS ( \
               SELECT 1 FROM outbox earlier \
               WHERE earlier.aggregate_id = o.aggregate_id \
                 AND earlier.published_at IS NULL AND earlier.dead_at IS NULL \
                 AND earlier.position < o.position) \
         ORDER BY o.position \
         LIMIT $1 \
         FOR UPDATE SKIP LOCKED) \
     UPDATE outbox SET locked_until = now() + make_interval(secs => $2::double precision / 1000), \
         lease_token = gen_random_uuid() \
     FROM due WHERE outbox.id = due.id \
     RETURNING outbox.id, outbox.aggregate_id, outbox.event_type, outbox.payload::text AS payload, \
               outbox.traceparent, outbox.attempts, outbox.lease_token, outbox.position";

/// The relay's view of the outbox table.
#[derive(Clone)]
pub struct PostgresOutbox {
    primary: MeteredPool,
}

impl PostgresOutbox {
    /// The outbox on the primary (leases must be taken where events are written).
    #[must_use]
    pub fn new(pools: &PostgresPools) -> Self {
        Self {
            primary: pools.metered_primary(),
        }
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// A settling statement matched its row only while the relay's lease still held it.
fn settled(result: &PgQueryResult) -> Settled {
    if result.rows_affected() == 1 {
        Settled::Done
    } else {
        Settled::LeaseLost
    }
}

#[async_trait]
impl OutboxStore for PostgresOutbox {
    async fn claim(&self, limit: u32, lease: Duration) -> anyhow::Result<Vec<OutboxMessage>> {
        let mut connection = self.primary.acquire().await.context("outbox: claim")?;
        // Eligible: due, not leased, and the oldest waiting event of its item. Rows another
        // relay is leasing right now are skipped, not waited for; its item's later events are
        // not eligible meanwhile (their predecessor is still waiting), so order holds. "Oldest"
        // is `position` (commit order within an item), never the id: ids carry the writing
        // replica's clock. Both questions are answered from the partial indexes on waiting
        // rows (migration 20250101000005), however many published rows the table keeps.
        let rows = sqlx::query(CLAIM)
            .bind(i64::from(limit))
            .bind(millis(lease))
            .fetch_all(&mut *connection)
            .await
            .context("outbox: claim")?;
        let mut messages = rows
            .into_iter()
            .map(|row| -> anyhow::Result<(i64, OutboxMessage)> {
                let position = row.try_get("position")?;
                let message = OutboxMessage {
                    id: row.try_get("id")?,
                    aggregate_id: row.try_get("aggregate_id")?,
                    event_type: row.try_get("event_type")?,
                    payload: row.try_get::<String, _>("payload")?.into_bytes(),
                    traceparent: row.try_get("traceparent")?,
                    attempts: u32::try_from(row.try_get::<i32, _>("attempts")?).unwrap_or(0),
                    lease: row.try_get("lease_token")?,
                };
                Ok((position, message))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        // RETURNING keeps no order: publish in commit order.
        messages.sort_by_key(|(position, _)| *position);
        Ok(messages.into_iter().map(|(_, message)| message).collect())
    }

    async fn delivered(&self, message: &OutboxMessage) -> anyhow::Result<Settled> {
        let mut connection = self.primary.acquire().await.context("outbox: delivered")?;
        let result = sqlx::query(
            "UPDATE outbox SET published_at = now(), locked_until = NULL, lease_token = NULL, \
                 last_error = NULL \
             WHERE id = $1 AND lease_token = $2",
        )
        .bind(message.id)
        .bind(message.lease)
        .execute(&mut *connection)
        .await
        .context("outbox: delivered")?;
        Ok(settled(&result))
    }

    async fn retry_later(
        &self,
        message: &OutboxMessage,
        after: Duration,
        error: &str,
        counted: bool,
    ) -> anyhow::Result<Settled> {
        let mut connection = self.primary.acquire().await.context("outbox: retry")?;
        let result = sqlx::query(
            "UPDATE outbox SET locked_until = NULL, lease_token = NULL, last_error = $3, \
                 attempts = attempts + CASE WHEN $4 THEN 1 ELSE 0 END, \
                 next_attempt_at = now() + make_interval(secs => $5::double precision / 1000) \
             WHERE id = $1 AND lease_token = $2",
        )
        .bind(message.id)
        .bind(message.lease)
        .bind(error)
        .bind(counted)
        .bind(millis(after))
        .execute(&mut *connection)
        .await
        .context("outbox: retry")?;
        Ok(settled(&result))
    }

    async fn dead(&self, message: &OutboxMessage, error: &str) -> anyhow::Result<Settled> {
        let mut connection = self.primary.acquire().await.context("outbox: dead")?;
        let result = sqlx::query(
            "UPDATE outbox SET dead_at = now(), locked_until = NULL, lease_token = NULL, \
                 last_error = $3, attempts = attempts + 1 \
             WHERE id = $1 AND lease_token = $2",
        )
        .bind(message.id)
        .bind(message.lease)
        .bind(error)
        .execute(&mut *connection)
        .await
        .context("outbox: dead")?;
        Ok(settled(&result))
    }

    async fn prune_published(&self, age: Duration) -> anyhow::Result<u64> {
        // In slices, so a large backlog of old rows never holds one long transaction.
        let statement = "DELETE FROM outbox WHERE id IN ( \
                 SELECT id FROM outbox \
                 WHERE published_at < now() - make_interval(secs => $1::double precision / 1000) \
                 LIMIT $2 FOR UPDATE SKIP LOCKED)";
        delete_in_slices(&self.primary, statement, age, "outbox: prune").await
    }

    async fn backlog(&self) -> anyhow::Result<Backlog> {
        let mut connection = self.primary.acquire().await.context("outbox: backlog")?;
        // Two partial-index counts: neither reads a published row.
        let (waiting, dead): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL AND dead_at IS NULL), \
                    (SELECT count(*) FROM outbox WHERE dead_at IS NOT NULL)",
        )
        .fetch_one(&mut *connection)
        .await
        .context("outbox: backlog")?;
        Ok(Backlog {
            waiting: u64::try_from(waiting).unwrap_or(0),
            dead: u64::try_from(dead).unwrap_or(0),
        })
    }

    async fn dead_letters(&self, limit: u32) -> anyhow::Result<Vec<DeadLetter>> {
        let mut connection = self
            .primary
            .acquire()
            .await
            .context("outbox: dead letters")?;
        let rows = sqlx::query(
            "SELECT id, aggregate_id, event_type, attempts, last_error, dead_at FROM outbox \
             WHERE dead_at IS NOT NULL ORDER BY dead_at, position LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&mut *connection)
        .await
        .context("outbox: dead letters")?;
        rows.into_iter()
            .map(|row| -> anyhow::Result<DeadLetter> {
                Ok(DeadLetter {
                    id: row.try_get("id")?,
                    aggregate_id: row.try_get("aggregate_id")?,
                    event_type: row.try_get("event_type")?,
                    attempts: u32::try_from(row.try_get::<i32, _>("attempts")?).unwrap_or(0),
                    last_error: row
                        .try_get::<Option<String>, _>("last_error")?
                        .unwrap_or_default(),
                    dead_at: row.try_get("dead_at")?,
                })
            })
            .collect()
    }

    async fn redrive(&self, which: Redrive<'_>) -> anyhow::Result<u64> {
        let mut connection = self.primary.acquire().await.context("outbox: redrive")?;
        // Dead again means waiting again, with its attempts reset: the relay takes it in its
        // item's order (by position) like any waiting event.
        let statement = "UPDATE outbox SET dead_at = NULL, attempts = 0, next_attempt_at = now(), \
                 locked_until = NULL, lease_token = NULL \
             WHERE dead_at IS NOT NULL AND ($1 OR id = ANY($2))";
        let (every, ids): (bool, Vec<uuid::Uuid>) = match which {
            Redrive::All => (true, Vec::new()),
            Redrive::Only(ids) => (false, ids.to_vec()),
        };
        let result = sqlx::query(statement)
            .bind(every)
            .bind(ids)
            .execute(&mut *connection)
            .await
            .context("outbox: redrive")?;
        Ok(result.rows_affected())
    }
}

/// Runs `statement` (a DELETE of at most `$2` rows older than `$1` milliseconds) until it
/// deletes fewer than a slice; returns the rows deleted.
async fn delete_in_slices(
    pool: &MeteredPool,
    statement: &'static str,
    age: Duration,
    context: &'static str,
) -> anyhow::Result<u64> {
    const SLICE: i64 = 5_000;
    let mut deleted = 0;
    loop {
        let mut connection = pool.acquire().await.context(context)?;
        let slice = sqlx::query(statement)
            .bind(millis(age))
            .bind(SLICE)
            .execute(&mut *connection)
            .await
            .context(context)?
            .rows_affected();
        deleted += slice;
        if slice < u64::try_from(SLICE).unwrap_or(u64::MAX) {
            return Ok(deleted);
        }
    }
}

/// The example consumer's inbox: the event id and the projection change commit together.
#[derive(Clone)]
pub struct PostgresInbox {
    primary: MeteredPool,
}

impl PostgresInbox {
    /// The inbox on the primary.
    #[must_use]
    pub fn new(pools: &PostgresPools) -> Self {
        Self {
            primary: pools.metered_primary(),
        }
    }
}

#[async_trait]
impl Inbox for PostgresInbox {
    async fn apply_once(&self, consumer: &str, event: &ItemEvent) -> anyhow::Result<bool> {
        let mut connection = self.primary.acquire().await.context("inbox")?;
        let mut transaction = sqlx::Connection::begin(&mut *connection)
            .await
            .context("inbox")?;
        let first_time = sqlx::query(
            "INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(consumer)
        .bind(event.id)
        .execute(&mut *transaction)
        .await
        .context("inbox: recording the event id")?
        .rows_affected()
            == 1;
        if !first_time {
            return Ok(false);
        }
        let (created, updated, deleted) = match event.event_type {
            ItemEventType::Created => (1_i64, 0_i64, 0_i64),
            ItemEventType::Updated => (0, 1, 0),
            ItemEventType::Deleted => (0, 0, 1),
        };
        sqlx::query(
            "INSERT INTO item_event_counts (tenant_id, created, updated, deleted) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id) DO UPDATE SET \
                 created = item_event_counts.created + EXCLUDED.created, \
                 updated = item_event_counts.updated + EXCLUDED.updated, \
                 deleted = item_event_counts.deleted + EXCLUDED.deleted",
        )
        .bind(event.tenant_id)
        .bind(created)
        .bind(updated)
        .bind(deleted)
        .execute(&mut *transaction)
        .await
        .context("inbox: applying the event")?;
        transaction.commit().await.context("inbox: commit")?;
        Ok(true)
    }

    async fn forget_applied(&self, age: Duration) -> anyhow::Result<u64> {
        let statement = "DELETE FROM processed_events WHERE (consumer, event_id) IN ( \
                 SELECT consumer, event_id FROM processed_events \
                 WHERE processed_at < now() - make_interval(secs => $1::double precision / 1000) \
                 LIMIT $2 FOR UPDATE SKIP LOCKED)";
        delete_in_slices(&self.primary, statement, age, "inbox: forget").await
    }
}
