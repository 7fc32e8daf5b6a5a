//! The Redis probe against a real Redis (`REDIS_URL`, default the local server) and against a
//! port where nothing listens.

// A failed unwrap in a test is a failed assertion, with the value in the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use adapter_redis::{RedisConnection, RedisProbe, RedisSettings};
use domain::health::DependencyProbe;

fn settings(url: &str) -> RedisSettings {
    RedisSettings {
        url: secrets::SecretUrl::new(url),
        command_timeout_ms: 250,
        connect_timeout_ms: 250,
    }
}

#[tokio::test]
async fn a_running_redis_is_up() {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let connection = RedisConnection::connect_lazy(&settings(&url)).unwrap();
    let probe = RedisProbe::new(connection, Duration::from_secs(1));
    probe.check().await.unwrap();
    assert!(
        !probe.is_critical(),
        "the cache must never make the service unready"
    );
}

#[tokio::test]
async fn an_unreachable_redis_is_down_within_the_timeout() {
    let connection = RedisConnection::connect_lazy(&settings("redis://127.0.0.1:1")).unwrap();
    let probe = RedisProbe::new(connection, Duration::from_millis(500));
    let started = Instant::now();
    assert!(probe.check().await.is_err());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}
