//! The Redis adapter ring: one multiplexed, self-reconnecting connection (`ConnectionManager`)
//! shared by everything that talks to Redis, and the readiness probe.
//!
//! Redis is a cache here, never the system of record: nothing in this crate may be the only
//! copy of data, and the service must keep working when Redis is away.

mod connection;
mod probe;

pub use connection::{RedisConnection, RedisSettings};
pub use probe::RedisProbe;
