//! Readiness for Redis. Redis is not critical (the cache can be bypassed), so a failure here
//! marks the service degraded, not unready.

use std::time::Duration;

use async_trait::async_trait;
use domain::health::{DependencyProbe, ProbeFailure};

use crate::{Breaker, RedisConnection};

/// Sends `PING` over the shared connection, and reports the cache's circuit breaker.
#[derive(Debug, Clone)]
pub struct RedisProbe {
    connection: RedisConnection,
    timeout: Duration,
    breaker: Option<Breaker>,
}

impl RedisProbe {
    /// A probe that gives Redis `timeout` to answer.
    #[must_use]
    pub fn new(connection: RedisConnection, timeout: Duration) -> Self {
        Self {
            connection,
            timeout,
            breaker: None,
        }
    }

    /// Also reports this breaker: while it is open the cache is bypassed even if Redis answers.
    #[must_use]
    pub fn with_breaker(mut self, breaker: Breaker) -> Self {
        self.breaker = Some(breaker);
        self
    }

    async fn ping(&self) -> Result<(), ProbeFailure> {
        let mut manager = self.connection.manager();
        let answer: String = redis::cmd("PING")
            .query_async(&mut manager)
            .await
            .map_err(|error| ProbeFailure::new(format!("PING failed: {error}")))?;
        if answer == "PONG" {
            Ok(())
        } else {
            Err(ProbeFailure::new(format!(
                "unexpected PING answer {answer:?}"
            )))
        }
    }
}

#[async_trait]
impl DependencyProbe for RedisProbe {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn is_critical(&self) -> bool {
        false
    }

    async fn check(&self) -> Result<(), ProbeFailure> {
        let pinged = match tokio::time::timeout(self.timeout, self.ping()).await {
            Ok(result) => result,
            Err(_) => Err(ProbeFailure::new(format!(
                "no answer within {:?}",
                self.timeout
            ))),
        };
        let breaker_open = self.breaker.as_ref().is_some_and(Breaker::is_open);
        match (pinged, breaker_open) {
            (Ok(()), false) => Ok(()),
            (Ok(()), true) => Err(ProbeFailure::new(
                "answers again; circuit breaker still open, cache bypassed until it closes",
            )),
            (Err(failure), true) => Err(ProbeFailure::new(format!(
                "{failure}; circuit breaker open, cache bypassed"
            ))),
            (Err(failure), false) => Err(failure),
        }
    }
}
