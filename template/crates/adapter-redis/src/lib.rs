//! The Redis adapter ring: one multiplexed, self-reconnecting connection (`ConnectionManager`)
//! shared by everything that talks to Redis, and the readiness probe.
//!
//! Redis is a cache here, never the system of record: nothing in this crate may be the only
//! copy of data, and the service must keep working when Redis is away.

mod breaker;
mod connection;
mod probe;
pub mod resources;

pub use breaker::{Breaker, BreakerSettings};
pub use connection::{RedisConnection, RedisSettings};
pub use probe::RedisProbe;

use serde::{Deserialize, Serialize};

/// Redis cache settings, the `[cache.redis]` section of the configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RedisCacheSettings {
    /// Prefix of every key, so services sharing a Redis cannot collide.
    pub key_prefix: String,
    /// How long an entry lives.
    pub ttl_secs: u64,
    /// Spread of the TTL (0.1: ±10%), so entries written together do not expire together.
    pub ttl_jitter: f64,
    /// The circuit breaker in front of Redis.
    pub breaker: BreakerSettings,
}

impl RedisCacheSettings {
    /// Checks the settings as loaded.
    ///
    /// # Errors
    /// A message when the breaker's failure rate is not a share, its window is 0, or the TTL
    /// jitter is not below 1.
    pub fn validate(&self) -> Result<(), String> {
        let breaker = &self.breaker;
        if !(0.0..=1.0).contains(&breaker.failure_rate) || breaker.window == 0 {
            return Err(
                "cache.redis.breaker: failure_rate must be 0.0 to 1.0 and window at least 1"
                    .to_owned(),
            );
        }
        if !(0.0..1.0).contains(&self.ttl_jitter) {
            return Err("cache.redis.ttl_jitter must be at least 0.0 and below 1.0".to_owned());
        }
        Ok(())
    }
}
