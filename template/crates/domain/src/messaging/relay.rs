//! The relay: moves stored events to the broker, at least once, in order per item.
//!
//! Each round leases a batch from the outbox (only the oldest undelivered event of each item,
//! so an item's events never overtake each other, even with several relays), publishes it, and
//! records the outcome.
//!
//! A lease is only as good as its holder's clock. The relay stops publishing a batch while the
//! lease still has room for the longest a publish may take (its timeout, or twice the slowest
//! publish-and-settle so far if that is longer), and settles an event only under the lease it
//! claimed it with. So a relay that lost its lease (to a pause longer than the lease) cannot
//! mark done an event another relay now holds, which would let the item's next event go out
//! before that second publish (E1, E2, E1 on the wire).
//!
//! Two kinds of failure are kept apart, because mixing them loses events. A broker that cannot
//! take messages just now (unreachable, out of storage, over its limits, electing a leader,
//! answering with nacks) is nobody's fault: the events go back untouched, no attempt is
//! counted, and the caller backs off and raises the alarm; however long it lasts, nothing is
//! dead-lettered and each item's order holds. Only a refusal of this one message (too large for
//! the broker, say) counts an attempt against it; after `max_attempts` it is dead-lettered so
//! the item's later events are not held back for ever, and an operator re-drives it once the
//! cause is fixed ([`OutboxStore::redrive`]). The adapters decide which kind a broker's answer
//! is; this policy must not depend on any broker or database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use uuid::Uuid;

/// One stored event, as the relay hands it to the publisher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// The event id; also the message id consumers deduplicate on.
    pub id: Uuid,
    /// The item the event is about: events of one item are published in order.
    pub aggregate_id: Uuid,
    /// `item.created`, ...: the routing key.
    pub event_type: String,
    /// The event's JSON.
    pub payload: Vec<u8>,
    /// The W3C `traceparent` of the request that wrote the event.
    pub traceparent: Option<String>,
    /// Refusals so far.
    pub attempts: u32,
    /// The claim that holds the event: settling it needs this lease, so a relay whose lease ran
    /// out and was taken over settles nothing.
    pub lease: Uuid,
}

/// Whether settling an event took effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// The event was still held under this lease, and is settled.
    Done,
    /// The lease ran out and another relay claimed the event since: it settles it.
    LeaseLost,
}

/// Where events wait until published (the outbox table, for PostgreSQL).
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Leases up to `limit` due events for `lease`, each under a new lease id
    /// ([`OutboxMessage::lease`]): for each item, only its oldest undelivered event, and none
    /// another relay holds. A lease that expires (a relay that died) makes its events due again.
    async fn claim(&self, limit: u32, lease: Duration) -> anyhow::Result<Vec<OutboxMessage>>;

    /// Marks an event published, if `message.lease` still holds it.
    async fn delivered(&self, message: &OutboxMessage) -> anyhow::Result<Settled>;

    /// Ends the lease, due again after `after`; `counted` adds one to its attempts. Only if
    /// `message.lease` still holds it.
    async fn retry_later(
        &self,
        message: &OutboxMessage,
        after: Duration,
        error: &str,
        counted: bool,
    ) -> anyhow::Result<Settled>;

    /// Gives up on an event: it stays in the store, marked dead, for an operator. Only if
    /// `message.lease` still holds it.
    async fn dead(&self, message: &OutboxMessage, error: &str) -> anyhow::Result<Settled>;

    /// Events waiting (not yet published nor dead) and dead: the relay's backlog gauges.
    async fn backlog(&self) -> anyhow::Result<Backlog>;

    /// The oldest `limit` dead events, for an operator deciding what to re-drive.
    async fn dead_letters(&self, limit: u32) -> anyhow::Result<Vec<DeadLetter>>;

    /// Makes dead events wait again with their attempts reset; returns how many. They go out
    /// in their item's order, but after any later event of the item that went out while they
    /// were dead: a consumer sees them late, not lost.
    async fn redrive(&self, which: Redrive<'_>) -> anyhow::Result<u64>;

    /// Deletes events published longer than `age` ago; returns how many. Waiting and dead
    /// events are never deleted.
    async fn prune_published(&self, age: Duration) -> anyhow::Result<u64>;
}

/// The outbox's backlog.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Events not yet published nor dead.
    pub waiting: u64,
    /// Events given up on, waiting for an operator.
    pub dead: u64,
}

/// A dead event, as an operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The event id.
    pub id: Uuid,
    /// The item it is about.
    pub aggregate_id: Uuid,
    /// `item.created`, ...
    pub event_type: String,
    /// Refusals counted against it.
    pub attempts: u32,
    /// The broker's last refusal.
    pub last_error: String,
    /// When it was given up on.
    pub dead_at: time::OffsetDateTime,
}

/// Which dead events to re-drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redrive<'ids> {
    /// Every dead event.
    All,
    /// These events, if dead.
    Only(&'ids [Uuid]),
}

/// Why a publish failed. Which kind an answer is decides whether events are lost in an outage:
/// an adapter reports `Rejected` only for what is wrong with this one message.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The broker cannot take messages just now: unreachable, no confirm in time, or refusing
    /// every message (out of storage, over a limit, without a leader). Retry everything later;
    /// count nothing against the events, however long it lasts.
    #[error("the broker cannot take messages: {0:#}")]
    Unavailable(anyhow::Error),
    /// The broker refused this message for what it is (too large, say): an attempt counted
    /// against it, and after `max_attempts` it is dead-lettered.
    #[error("the broker refused the message: {0:#}")]
    Rejected(anyhow::Error),
    /// The broker has nowhere to put this event just now (no queue bound for its type, or a
    /// queue bound for it is full and refuses it): it waits, uncounted, and the rest of the
    /// batch goes on, so one such route holds back only its own item.
    #[error("the broker has nowhere to put the message: {0:#}")]
    Unroutable(anyhow::Error),
}

/// Carries events to the broker. `Ok` means the broker has taken responsibility (a publisher
/// confirm, a stream acknowledgement), not merely that bytes were written to a socket.
#[async_trait]
pub trait EventPublisher: Send + Sync {
    /// Publishes one event.
    async fn publish(&self, message: &OutboxMessage) -> Result<(), PublishError>;
}

/// The relay's knobs (`[messaging]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayPolicy {
    /// Events leased per round.
    pub batch: u32,
    /// How long a lease lasts; several publishes long. A round publishes while the lease has
    /// room for one more publish and its settling, and hands the rest back.
    pub lease: Duration,
    /// The longest one publish may take (the publisher's timeout): the room a round keeps.
    pub publish_timeout: Duration,
    /// Refusals before an event is dead-lettered.
    pub max_attempts: u32,
    /// The wait after the first refusal; doubled after each one.
    pub backoff_base: Duration,
    /// The longest wait between attempts.
    pub backoff_max: Duration,
}

impl RelayPolicy {
    /// The wait after the `attempts`-th refusal: base, 2 x base, 4 x base, ..., at most max.
    #[must_use]
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(20);
        self.backoff_base
            .saturating_mul(1 << doublings)
            .min(self.backoff_max)
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayRound {
    /// Events the broker confirmed.
    pub published: usize,
    /// Events refused, to be tried again later.
    pub retried: usize,
    /// Events refused for the last time.
    pub dead: usize,
    /// Events the broker had nowhere to put, to be tried again after `backoff_max`.
    pub unroutable: usize,
    /// Events handed back unpublished because the lease had no room left for them. They are
    /// due again at once, but a round that did nothing else should be followed by a pause: its
    /// claim alone outlasted the lease, and claiming again at once would load a slow database.
    pub handed_back: usize,
    /// Events whose lease ran out and another relay claimed while this one published them:
    /// published by this relay, settled (and perhaps published again) by the other.
    pub lease_lost: usize,
    /// Whether the broker could not take messages (the caller should back off).
    pub broker_down: bool,
}

/// Moves events from the store to the publisher. Any number may run at once.
#[derive(Clone)]
pub struct Relay {
    store: Arc<dyn OutboxStore>,
    publisher: Arc<dyn EventPublisher>,
    policy: RelayPolicy,
}

impl Relay {
    /// A relay over these ports.
    pub fn new(
        store: Arc<dyn OutboxStore>,
        publisher: Arc<dyn EventPublisher>,
        policy: RelayPolicy,
    ) -> Self {
        Self {
            store,
            publisher,
            policy,
        }
    }

    /// The policy in force.
    #[must_use]
    pub fn policy(&self) -> RelayPolicy {
        self.policy
    }

    /// Events waiting to be published (see [`OutboxStore::backlog`]).
    ///
    /// # Errors
    /// When the store cannot be read.
    pub async fn pending(&self) -> anyhow::Result<u64> {
        Ok(self.store.backlog().await?.waiting)
    }

    /// Waiting and dead events (see [`OutboxStore::backlog`]).
    ///
    /// # Errors
    /// When the store cannot be read.
    pub async fn backlog(&self) -> anyhow::Result<Backlog> {
        self.store.backlog().await
    }

    /// One round: lease a batch, publish it while the lease has room, record each outcome.
    ///
    /// # Errors
    /// When the store cannot be read or written (the leases then expire on their own).
    pub async fn run_once(&self) -> anyhow::Result<RelayRound> {
        // Measured from before the claim: the lease may start later, never earlier.
        let claimed_at = Instant::now();
        let batch = self
            .store
            .claim(self.policy.batch, self.policy.lease)
            .await?;
        let mut round = RelayRound::default();
        let mut slowest = Duration::ZERO;
        for (index, message) in batch.iter().enumerate() {
            // Publish only while the lease surely outlives the publish and its settling: the
            // publisher's timeout, or twice the slowest publish-and-settle so far if that is
            // longer. Past that, another relay may claim the event mid-publish.
            let room = self.policy.publish_timeout.max(slowest.saturating_mul(2));
            if claimed_at.elapsed() + room >= self.policy.lease {
                let waiting = &batch[index..];
                self.hand_back(waiting, "the lease had no room left for this publish")
                    .await?;
                round.handed_back += waiting.len();
                break;
            }
            let publishing = Instant::now();
            let outcome = self.publisher.publish(message).await;
            let settled = match outcome {
                Ok(()) => {
                    round.published += 1;
                    self.store.delivered(message).await?
                }
                Err(PublishError::Unavailable(error)) => {
                    // Not these events' fault: hand the rest back as they were. Logged each
                    // time; the caller's backoff spaces the rounds out.
                    let reason = format!("{error:#}");
                    tracing::warn!(error = %reason, waiting = batch.len() - index, "relay: the broker cannot take messages; events wait, uncounted");
                    self.hand_back(&batch[index..], &reason).await?;
                    round.broker_down = true;
                    break;
                }
                Err(PublishError::Unroutable(error)) => {
                    let reason = format!("{error:#}");
                    tracing::warn!(event.id = %message.id, event.type = %message.event_type, error = %reason, "event unroutable; it waits until the broker has somewhere to put it");
                    round.unroutable += 1;
                    self.store
                        .retry_later(message, self.policy.backoff_max, &reason, false)
                        .await?
                }
                Err(PublishError::Rejected(error)) => {
                    let reason = format!("{error:#}");
                    let attempts = message.attempts + 1;
                    if attempts >= self.policy.max_attempts {
                        tracing::error!(event.id = %message.id, attempts, error = %reason, "event dead-lettered");
                        round.dead += 1;
                        self.store.dead(message, &reason).await?
                    } else {
                        let wait = self.policy.backoff(attempts);
                        tracing::warn!(event.id = %message.id, attempts, error = %reason, "event refused; retrying later");
                        round.retried += 1;
                        self.store.retry_later(message, wait, &reason, true).await?
                    }
                }
            };
            slowest = slowest.max(publishing.elapsed());
            if settled == Settled::LeaseLost {
                tracing::warn!(event.id = %message.id, lease_ms = self.policy.lease.as_millis(), "relay: the lease ran out and another relay took the event over; it settles it (make messaging.relay_lease_ms several publishes long)");
                round.lease_lost += 1;
            }
        }
        Ok(round)
    }

    /// Ends the leases of `messages` unpublished and uncounted: due again at once. Events
    /// whose lease was lost are another relay's already.
    async fn hand_back(&self, messages: &[OutboxMessage], reason: &str) -> anyhow::Result<()> {
        for message in messages {
            self.store
                .retry_later(message, Duration::ZERO, reason, false)
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap() {
        let policy = RelayPolicy {
            batch: 10,
            lease: Duration::from_secs(30),
            publish_timeout: Duration::from_secs(5),
            max_attempts: 8,
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(1),
        };
        let waits: Vec<u128> = (1..=6)
            .map(|attempt| policy.backoff(attempt).as_millis())
            .collect();
        assert_eq!(waits, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(policy.backoff(u32::MAX), Duration::from_secs(1));
    }
}
