//! An idempotent consumer of item events: the pattern a service follows to react to events,
//! here keeping per-tenant counts of what happened to items (a stand-in for a search index, a
//! notification, a report). Delivery is at least once, so the same event may arrive twice;
//! the consumer applies it once, because recording the event id and applying its effect happen
//! in one transaction (the [`Inbox`] port). It must not know the broker it reads from.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::event::{ItemEvent, SCHEMA_VERSION};

/// Applies an event and remembers its id, atomically.
#[async_trait]
pub trait Inbox: Send + Sync {
    /// Applies `event` for `consumer` unless its id was applied before. Returns whether it
    /// was applied now.
    async fn apply_once(&self, consumer: &str, event: &ItemEvent) -> anyhow::Result<bool>;

    /// Forgets the ids of events applied longer than `age` ago (the deduplication window);
    /// returns how many.
    async fn forget_applied(&self, age: Duration) -> anyhow::Result<u64>;
}

/// What became of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// Applied now.
    Applied,
    /// Applied before (a redelivery): acknowledged, nothing changed.
    Duplicate,
}

/// Why a delivery could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    /// Not an item event this consumer understands: retrying cannot help (dead-letter it).
    #[error("not an item event of version {SCHEMA_VERSION}: {0}")]
    Malformed(String),
    /// Anything else (the database is down, ...): retry later.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// How a delivery that failed for a reason that may pass (the database is down) is retried:
/// after a delay that doubles from `delay_base` up to `delay_max`, at most `max_deliveries`
/// times in all, then dead-lettered (with an alert) rather than retried for ever or dropped.
/// Growing delays let a short outage of the database cost a few deliveries, not the event:
/// with 200 ms doubling to 30 s and 20 deliveries, an event survives about six minutes of
/// failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedeliveryPolicy {
    /// Deliveries of one message, the first included, before it is dead-lettered.
    pub max_deliveries: u32,
    /// The delay after the first failed delivery.
    pub delay_base: Duration,
    /// The longest delay.
    pub delay_max: Duration,
}

/// What to do with a delivery whose handling failed for a reason that may pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redeliver {
    /// Deliver it again after this delay.
    After(Duration),
    /// It had its deliveries: put it where an operator sees it.
    DeadLetter,
}

impl RedeliveryPolicy {
    /// The decision after the `delivery`-th delivery (1 for the first) failed.
    #[must_use]
    pub fn after_failure(&self, delivery: u32) -> Redeliver {
        if delivery >= self.max_deliveries {
            return Redeliver::DeadLetter;
        }
        let doublings = delivery.saturating_sub(1).min(20);
        Redeliver::After(
            self.delay_base
                .saturating_mul(1 << doublings)
                .min(self.delay_max),
        )
    }
}

/// The consumer use case.
#[derive(Clone)]
pub struct ItemEventConsumer {
    inbox: Arc<dyn Inbox>,
    name: String,
}

impl ItemEventConsumer {
    /// A consumer named `name` (its deduplication records are its own).
    pub fn new(inbox: Arc<dyn Inbox>, name: impl Into<String>) -> Self {
        Self {
            inbox,
            name: name.into(),
        }
    }

    /// Handles one delivered event (the adapter has parsed it; a payload it cannot parse is
    /// [`ConsumeError::Malformed`] there).
    ///
    /// # Errors
    /// [`ConsumeError::Malformed`] for an event of another schema version; `Unexpected` when
    /// the inbox fails.
    pub async fn handle(&self, event: &ItemEvent) -> Result<Handled, ConsumeError> {
        if event.schema_version != SCHEMA_VERSION {
            return Err(ConsumeError::Malformed(format!(
                "schemaVersion {} is not handled here",
                event.schema_version
            )));
        }
        if self.inbox.apply_once(&self.name, event).await? {
            Ok(Handled::Applied)
        } else {
            Ok(Handled::Duplicate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_deliveries_wait_longer_each_time_then_are_dead_lettered() {
        let policy = RedeliveryPolicy {
            max_deliveries: 6,
            delay_base: Duration::from_millis(200),
            delay_max: Duration::from_secs(2),
        };
        let decisions: Vec<Redeliver> = (1..=7)
            .map(|delivery| policy.after_failure(delivery))
            .collect();
        let after = |millis| Redeliver::After(Duration::from_millis(millis));
        assert_eq!(
            decisions,
            [
                after(200),
                after(400),
                after(800),
                after(1600),
                after(2000),
                Redeliver::DeadLetter,
                Redeliver::DeadLetter
            ]
        );
    }
}
