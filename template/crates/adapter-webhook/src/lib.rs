//! The outbound HTTP adapter ring: webhooks. It shows the whole pattern for calling another
//! service: a timeout on every call, retries with exponential backoff and jitter (only because
//! each delivery carries an idempotency key, so a receiver can drop repeats), a circuit
//! breaker so a dead receiver costs nothing, the W3C trace context in `traceparent`, and a
//! Standard Webhooks signature on every attempt (`signature.rs`, which also verifies them).
//!
//! Deliveries go through a bounded queue and a background worker, so a slow receiver never
//! slows the request that caused the event. This crate must not know HTTP routes or SQL.

mod delivery;
pub mod resources;
pub mod signature;

pub use delivery::{Delivery, QueueFull, Webhook, WebhookSettings};
