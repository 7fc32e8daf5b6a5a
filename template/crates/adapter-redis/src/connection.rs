//! Opens the Redis connection lazily: the service starts, and reports Redis as degraded, even
//! when Redis is not up yet; the first command after Redis arrives connects, and a dropped
//! connection reconnects by itself.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisResult};
use secrets::SecretUrl;
use serde::{Deserialize, Serialize};

/// Redis settings, the `[redis]` section of the configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// Connection URL (`redis://`). May hold a password: redacted when printed.
    pub url: SecretUrl,
    /// How long one command may take before it fails; keeps a slow Redis from slowing requests.
    pub command_timeout_ms: u64,
    /// How long opening a connection may take.
    pub connect_timeout_ms: u64,
}

impl RedisSettings {
    /// Checks the settings as loaded (whether a URL is needed at all is the composition root's
    /// to say: without one, the service caches in its own memory outside production).
    ///
    /// # Errors
    /// A message naming the timeout that is 0.
    pub fn validate(&self) -> Result<(), String> {
        for (key, value) in [
            ("redis.command_timeout_ms", self.command_timeout_ms),
            ("redis.connect_timeout_ms", self.connect_timeout_ms),
        ] {
            if value == 0 {
                return Err(format!("{key} must be greater than 0"));
            }
        }
        Ok(())
    }
}

/// A shared handle on Redis. Cloning is cheap; all clones share one multiplexed connection.
#[derive(Clone)]
pub struct RedisConnection {
    manager: ConnectionManager,
}

impl std::fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connection knows the URL, password included: never print it.
        f.debug_struct("RedisConnection").finish_non_exhaustive()
    }
}

impl RedisConnection {
    /// Prepares the connection without opening it (no I/O happens here).
    ///
    /// # Errors
    /// When the URL cannot be parsed.
    pub fn connect_lazy(settings: &RedisSettings) -> RedisResult<Self> {
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(Duration::from_millis(settings.command_timeout_ms)))
            .set_connection_timeout(Some(Duration::from_millis(settings.connect_timeout_ms)))
            // Reconnection is retried in the background; a request never waits through a
            // long retry loop.
            .set_number_of_retries(1);
        let manager = Client::open(settings.url.expose())?.get_connection_manager_lazy(config)?;
        Ok(Self { manager })
    }

    /// A handle to send commands on (a cheap clone of the shared connection).
    #[must_use]
    pub fn manager(&self) -> ConnectionManager {
        self.manager.clone()
    }
}
