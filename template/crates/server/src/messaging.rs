//! Runs the outbox relay and the example consumer beside the HTTP server, and stops them with
//! it. The relay's rules are the domain's (`domain::messaging::Relay`); this loop only decides
//! when to run the next round: at once while there is a backlog, after `relay_interval_ms`
//! when the outbox is empty, and with a doubling pause while the broker is unreachable.

use std::sync::Arc;
use std::time::Duration;

{% if messaging == "nats" %}use adapter_nats::{MessagingSettings, NatsConsumer as Consumer, NatsPublisher as Publisher};
{% endif %}use adapter_postgres::PostgresPools;
use adapter_postgres::outbox::{PostgresInbox, PostgresOutbox};
{% if messaging == "rabbitmq" %}use adapter_rabbitmq::{
    MessagingSettings, RabbitConsumer as Consumer, RabbitPublisher as Publisher,
};
{% endif %}
use domain::messaging::{ItemEventConsumer, Relay};
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
        if settings.consumes() {
            let consumer =
                ItemEventConsumer::new(Arc::new(PostgresInbox::new(pools)), consumer.to_owned());
            let consumer = Consumer::new(settings.clone(), consumer);
            tasks.push(tokio::spawn(consumer.run(stopped)));
        }
        Self { stop, tasks }
    }

    /// Stops the relay (after its current round) and the consumer, waiting up to `timeout`.
    pub async fn stop(self, timeout: Duration) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if tokio::time::timeout(timeout, task).await.is_err() {
                tracing::warn!("a messaging task did not stop in time");
            }
        }
    }
}

/// Runs relay rounds until `stop` turns true.
pub async fn run_relay(relay: Relay, idle: Duration, mut stop: watch::Receiver<bool>) {
    let policy = relay.policy();
    let mut failures: u32 = 0;
    while !*stop.borrow() {
        let pause = match relay.run_once().await {
            Ok(round) => {
                count("published", round.published);
                count("retried", round.retried);
                count("dead", round.dead);
                if round.broker_down {
                    failures += 1;
                    policy.backoff(failures)
                } else {
                    failures = 0;
                    let busy = round.published + round.retried + round.dead;
                    if u32::try_from(busy).unwrap_or(u32::MAX) >= policy.batch {
                        Duration::ZERO
                    } else {
                        idle
                    }
                }
            }
            Err(error) => {
                failures += 1;
                tracing::warn!(error = %format!("{error:#}"), "relay: the outbox cannot be read");
                policy.backoff(failures)
            }
        };
        if let Ok(pending) = relay.pending().await {
            #[allow(clippy::cast_precision_loss)] // a gauge: exact to 2^53 events
            metrics::gauge!("messaging_outbox_pending").set(pending as f64);
        }
        if pause.is_zero() {
            continue;
        }
        tokio::select! {
            _ = stop.changed() => {}
            () = tokio::time::sleep(pause) => {}
        }
    }
}

fn count(outcome: &'static str, events: usize) {
    if events > 0 {
        metrics::counter!("messaging_relay_events_total", "outcome" => outcome)
            .increment(u64::try_from(events).unwrap_or(u64::MAX));
    }
}
