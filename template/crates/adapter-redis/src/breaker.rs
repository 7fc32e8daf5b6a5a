//! The circuit breaker in front of Redis: after enough failures it stops sending commands for
//! a while, so a Redis that is down or slow costs requests nothing (not even the timeout)
//! instead of the timeout on every call. `recloser` does the state machine; this wrapper adds
//! a per-call timeout and remembers what the breaker last did, for readiness reports.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use domain::cache::CacheError;
use recloser::{AsyncRecloser, Recloser};
use serde::{Deserialize, Serialize};

/// Circuit-breaker settings, the `[cache.breaker]` section.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerSettings {
    /// Share of failed calls (0.0 to 1.0) that opens the breaker.
    pub failure_rate: f32,
    /// How many recent calls the failure rate is computed over.
    pub window: usize,
    /// How long the breaker stays open before it lets trial calls through.
    pub open_ms: u64,
}

/// A breaker plus the per-call timeout.
#[derive(Debug, Clone)]
pub struct Breaker {
    recloser: AsyncRecloser,
    timeout: Duration,
    rejecting: Arc<AtomicBool>,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(settings: &BreakerSettings, timeout: Duration) -> Self {
        let recloser = Recloser::custom()
            .error_rate(settings.failure_rate)
            .closed_len(settings.window)
            .half_open_len((settings.window / 4).max(1))
            .open_wait(Duration::from_millis(settings.open_ms))
            .build();
        Self {
            recloser: recloser.into(),
            timeout,
            rejecting: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether the last call found the breaker open.
    pub fn is_open(&self) -> bool {
        self.rejecting.load(Ordering::Relaxed)
    }

    /// Runs `call` through the breaker, bounded by the timeout.
    ///
    /// # Errors
    /// [`CacheError::Unavailable`] when the breaker is open, [`CacheError::Failed`] when the
    /// call failed or timed out (which counts against the breaker).
    pub async fn call<T, E, F>(&self, call: F) -> Result<T, CacheError>
    where
        F: Future<Output = Result<T, E>>,
        E: Into<anyhow::Error>,
    {
        let timeout = self.timeout;
        let bounded = async move {
            match tokio::time::timeout(timeout, call).await {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(error)) => Err(error.into()),
                Err(_) => Err(anyhow::anyhow!("no answer within {timeout:?}")),
            }
        };
        match self.recloser.call(bounded).await {
            Ok(value) => {
                self.note(false);
                Ok(value)
            }
            Err(recloser::Error::Inner(error)) => {
                self.note(false);
                Err(CacheError::Failed(error))
            }
            Err(recloser::Error::Rejected) => {
                self.note(true);
                Err(CacheError::Unavailable)
            }
        }
    }

    fn note(&self, rejected: bool) {
        metrics::gauge!("circuit_breaker_open", "breaker" => "redis").set(if rejected {
            1.0
        } else {
            0.0
        });
        if rejected {
            metrics::counter!("circuit_breaker_rejections_total", "breaker" => "redis")
                .increment(1);
        }
        if self.rejecting.swap(rejected, Ordering::Relaxed) != rejected {
            if rejected {
                tracing::warn!("redis circuit breaker open: the cache is bypassed");
            } else {
                tracing::info!("redis circuit breaker letting calls through again");
            }
        }
    }
}
