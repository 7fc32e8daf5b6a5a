//! Domain events that leave the service, and the rules for getting them out exactly as they
//! happened: the event envelope other services rely on, the ports that keep (`OutboxStore`) and
//! carry (`EventPublisher`) them, the relay policy (order per item, retries with backoff, dead
//! letters) and an idempotent consumer.
//!
//! The transactional outbox: a storage adapter writes an [`ItemEvent`] in the same transaction
//! as the change it describes, so an event exists if and only if the change committed. The
//! [`Relay`] then publishes what is stored, at least once. This module must not know which
//! database keeps the outbox or which broker carries the messages: both are behind ports.

mod consumer;
mod event;
mod relay;

pub use consumer::{ConsumeError, Handled, Inbox, ItemEventConsumer, Redeliver, RedeliveryPolicy};
pub use event::{ItemEvent, ItemEventData, ItemEventType, SCHEMA_VERSION};
pub use relay::{
    Backlog, DeadLetter, EventPublisher, OutboxMessage, OutboxStore, PublishError, Redrive, Relay,
    RelayPolicy, RelayRound, Settled,
};
