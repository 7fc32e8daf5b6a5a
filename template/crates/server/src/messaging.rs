//! Runs the outbox relay and the example consumer beside the HTTP server, and stops them with
//! it. The relay's rules are the domain's (`domain::messaging::Relay`); this loop only decides
//! when to run the next round: at once after a round that settled anything (a published event
//! frees its item's next one, which the next claim can take), after `relay_interval_ms` when a
//! round found nothing to do, and with a doubling pause while the broker cannot take messages.
//! The backlog gauges are counted at most once a second, not after every round.
//!
//! What an operator watches: `messaging_outbox_pending` against
//! `messaging_relay_events_total{outcome="published"}` (events wait and none go out: the
//! broker takes none, or has nowhere to put them), `messaging_outbox_dead` (events given up
//! on, re-driven with `outbox redrive`) and
//! `messaging_consumer_deliveries_total{outcome="dead-lettered"}`. With Kubernetes the alert
//! rules in `deploy/kubernetes/base/alerts.yaml` watch exactly these.

use std::sync::Arc;
use std::time::{Duration, Instant};

{% if messaging == "nats" %}use adapter_nats::{MessagingSettings, NatsConsumer as Consumer, NatsPublisher as Publisher};
{% endif %}use adapter_postgres::PostgresPools;
use adapter_postgres::outbox::{PostgresInbox, PostgresOutbox};
{% if messaging == "rabbitmq" %}use adapter_rabbitmq::{
    MessagingSettings, RabbitConsumer as Consumer, RabbitPublisher as Publisher,
};
{% endif %}
use domain::messaging::{Inbox, ItemEventConsumer, OutboxStore, Redrive, Relay};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The background tasks of messaging.
pub struct Messaging {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Messaging {
    /// Starts the relay, and the example consumer when one is named. Without `url` nothing
    /// starts: events wait in the outbox.
    #[must_use]
    pub fn start(settings: &MessagingSettings, pools: &PostgresPools, consumer: &str) -> Self {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        if settings.url.is_empty() {
            tracing::warn!(
                "no messaging.url: item events are kept in the outbox, and nothing is published"
            );
            return Self { stop, tasks };
        }
        let relay = Relay::new(
            Arc::new(PostgresOutbox::new(pools)),
            Arc::new(Publisher::new(settings.clone())),
            settings.relay_policy(),
        );
        tasks.push(tokio::spawn(run_relay(
            relay,
            Duration::from_millis(settings.relay_interval_ms),
            stopped.clone(),
        )));
        tasks.push(tokio::spawn(prune_periodically(
            Arc::new(PostgresOutbox::new(pools)),
            Arc::new(PostgresInbox::new(pools)),
            settings.retention(),
            stopped.clone(),
        )));
        if settings.consumes() {
            let consumer =
                ItemEventConsumer::new(Arc::new(PostgresInbox::new(pools)), consumer.to_owned());
            let consumer = Consumer::new(settings.clone(), consumer);
            tasks.push(tokio::spawn(consumer.run(stopped)));
        }
        Self { stop, tasks }
    }

    /// Stops the relay (after its current round) and the consumer, all within one `budget`
    /// (not one per task: the orchestrator's grace period is one), and aborts a task still
    /// running after it: a relay cut mid-round leaves leases that expire, a consumer cut
    /// mid-message leaves it unacknowledged for redelivery. Nothing is left running detached.
    pub async fn stop(self, budget: Duration) {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + budget;
        for mut task in self.tasks {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                tracing::warn!(
                    budget_ms = budget.as_millis(),
                    "a messaging task did not stop in time: aborted"
                );
                task.abort();
            }
        }
    }
}

/// Runs relay rounds until `stop` turns true.
pub async fn run_relay(relay: Relay, idle: Duration, mut stop: watch::Receiver<bool>) {
    const GAUGE_EVERY: Duration = Duration::from_secs(1);
    let policy = relay.policy();
    let mut failures: u32 = 0;
    let mut gauge_counted: Option<Instant> = None;
    // Every outcome's series exists from the start, at zero: the stall alert reads "no
    // increase of published" and needs the series before the first publish.
    for outcome in ["published", "retried", "dead", "lease_lost", "unroutable"] {
        metrics::counter!("messaging_relay_events_total", "outcome" => outcome).increment(0);
    }
    while !*stop.borrow() {
        let pause = match relay.run_once().await {
            Ok(round) => {
                count("published", round.published);
                count("retried", round.retried);
                count("dead", round.dead);
                count("lease_lost", round.lease_lost);
                count("unroutable", round.unroutable);
                if round.broker_down {
                    failures += 1;
                    policy.backoff(failures)
                } else {
                    failures = 0;
                    // Only the oldest waiting event of an item can be claimed, so settling one
                    // may have made the item's next one due: look again at once. Waiting
                    // `idle` after a partial batch held one item's events to one per interval.
                    // A round that only handed events back (no room in its lease: a slow
                    // claim) or lost them waits, or it would spin on a struggling database.
                    let settled = round.published + round.retried + round.dead + round.unroutable;
                    if settled > 0 { Duration::ZERO } else { idle }
                }
            }
            Err(error) => {
                failures += 1;
                tracing::warn!(error = %format!("{error:#}"), "relay: the outbox cannot be read");
                policy.backoff(failures)
            }
        };
        // count(*) over the backlog costs as much as the backlog is long: not every round.
        if gauge_counted.is_none_or(|at| at.elapsed() >= GAUGE_EVERY) {
            gauge_counted = Some(Instant::now());
            if let Ok(backlog) = relay.backlog().await {
                #[allow(clippy::cast_precision_loss)] // gauges: exact to 2^53 events
                {
                    metrics::gauge!("messaging_outbox_pending").set(backlog.waiting as f64);
                    metrics::gauge!("messaging_outbox_dead").set(backlog.dead as f64);
                }
            }
        }
        if pause.is_zero() {
            continue;
        }
        tokio::select! {
            // A dropped sender is a stop too (or the loop would spin on the error).
            changed = stop.changed() => if changed.is_err() { return },
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// Runs [`prune_once`] at start and then every hour until `stop` turns true. Every replica
/// runs it; two at once delete disjoint slices (`SKIP LOCKED`).
pub async fn prune_periodically(
    outbox: Arc<dyn OutboxStore>,
    inbox: Arc<dyn Inbox>,
    retention: Duration,
    mut stop: watch::Receiver<bool>,
) {
    const EVERY: Duration = Duration::from_secs(3600);
    while !*stop.borrow() {
        prune_once(outbox.as_ref(), inbox.as_ref(), retention).await;
        tokio::select! {
            changed = stop.changed() => if changed.is_err() { return },
            () = tokio::time::sleep(EVERY) => {}
        }
    }
}

/// Deletes published events and the ids of applied events older than `retention`: without
/// it both tables grow for ever. Returns (events, ids) deleted; a failure is logged and
/// retried at the next pass.
pub async fn prune_once(
    outbox: &dyn OutboxStore,
    inbox: &dyn Inbox,
    retention: Duration,
) -> (u64, u64) {
    let events = match outbox.prune_published(retention).await {
        Ok(deleted) => deleted,
        Err(error) => {
            tracing::warn!(error = %format!("{error:#}"), "messaging: pruning published events failed");
            0
        }
    };
    let ids = match inbox.forget_applied(retention).await {
        Ok(deleted) => deleted,
        Err(error) => {
            tracing::warn!(error = %format!("{error:#}"), "messaging: pruning applied event ids failed");
            0
        }
    };
    metrics::counter!("messaging_pruned_rows_total", "table" => "outbox").increment(events);
    metrics::counter!("messaging_pruned_rows_total", "table" => "processed_events").increment(ids);
    (events, ids)
}

/// `outbox dead-letters|redrive`: what an operator does about events the relay gave up on.
#[derive(Debug, clap::Subcommand)]
pub enum OutboxAction {
    /// List the oldest dead events: id, type, item, attempts, since when, and the broker's
    /// last refusal.
    DeadLetters {
        /// How many to list.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Make dead events wait again, attempts reset: the relay publishes them in their item's
    /// order. Fix what refused them first, or they die again.
    Redrive {
        /// Every dead event.
        #[arg(long, conflicts_with = "ids", required_unless_present = "ids")]
        all: bool,
        /// This dead event (repeat for several).
        #[arg(long = "id")]
        ids: Vec<uuid::Uuid>,
    },
}

/// Runs an `outbox` subcommand against the outbox in `pools`.
///
/// # Errors
/// When the outbox cannot be read or written.
pub async fn outbox(pools: &PostgresPools, action: OutboxAction) -> anyhow::Result<()> {
    let outbox = PostgresOutbox::new(pools);
    match action {
        OutboxAction::DeadLetters { limit } => {
            let dead = outbox.dead_letters(limit).await?;
            for letter in &dead {
                println!(
                    "{}  {}  item {}  attempts {}  dead since {}  {}",
                    letter.id,
                    letter.event_type,
                    letter.aggregate_id,
                    letter.attempts,
                    letter.dead_at,
                    letter.last_error
                );
            }
            println!("{} dead event(s) listed", dead.len());
        }
        OutboxAction::Redrive { all, ids } => {
            let which = if all {
                Redrive::All
            } else {
                Redrive::Only(&ids)
            };
            let redriven = outbox.redrive(which).await?;
            println!("re-drove {redriven} dead event(s): they wait for the relay again");
        }
    }
    Ok(())
}

fn count(outcome: &'static str, events: usize) {
    if events > 0 {
        metrics::counter!("messaging_relay_events_total", "outcome" => outcome)
            .increment(u64::try_from(events).unwrap_or(u64::MAX));
    }
}

#[cfg(test)]
mod tests {
    use tokio::task::AbortHandle;

    use super::*;

    /// A task that never looks at the stop signal (a publish stuck on a dead socket).
    fn stuck() -> JoinHandle<()> {
        tokio::spawn(std::future::pending())
    }

    #[tokio::test(start_paused = true)]
    async fn stopping_waits_one_budget_for_every_task_and_aborts_those_that_overrun() {
        let (stop, _stopped) = watch::channel(false);
        let tasks = vec![stuck(), stuck()];
        let handles: Vec<AbortHandle> = tasks.iter().map(JoinHandle::abort_handle).collect();
        let began = tokio::time::Instant::now();
        Messaging { stop, tasks }
            .stop(Duration::from_secs(10))
            .await;
        let took = began.elapsed();
        assert!(
            took >= Duration::from_secs(10) && took < Duration::from_secs(11),
            "one budget for all tasks, not one each: {took:?}"
        );
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(
            handles.iter().all(AbortHandle::is_finished),
            "tasks that overran were aborted, not left running"
        );
    }
}
