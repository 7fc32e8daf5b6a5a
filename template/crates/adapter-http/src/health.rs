//! Liveness and readiness, for orchestrators and load balancers.
//!
//! Liveness never touches a dependency: a database outage must not make Kubernetes restart
//! healthy pods. Readiness runs every probe concurrently, each bounded by a timeout, and
//! answers 503 only when a critical dependency is down.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use domain::health::{DependencyProbe, ProbeFailure};
use serde::Serialize;
use tokio::task::JoinSet;
use utoipa::ToSchema;

use crate::state::AppState;

/// The liveness answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Liveness {
    /// Always `up` when the process can answer at all.
    status: &'static str,
}

/// The process is running and can answer HTTP.
#[utoipa::path(
    get,
    path = "/health/live",
    tag = "health",
    responses((status = 200, description = "The process is up", body = Liveness))
)]
pub async fn live() -> Json<Liveness> {
    Json(Liveness { status: "up" })
}

/// Overall readiness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReadyStatus {
    /// Every dependency is up.
    Ready,
    /// A non-critical dependency is down; the service still serves traffic.
    Degraded,
    /// A critical dependency is down; the service must not get traffic.
    Unavailable,
}

/// The state of one dependency.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DependencyReport {
    /// `up` or `down`.
    status: &'static str,
    /// Whether the service is unready without it.
    critical: bool,
    /// How long the check took, in milliseconds.
    latency_ms: f64,
    /// Why it is down, for operators.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The readiness answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// The overall verdict.
    status: ReadyStatus,
    /// Each dependency by name.
    checks: BTreeMap<String, DependencyReport>,
}

/// Whether the service can take traffic: each critical dependency (the database: reachable,
/// every migration applied) answers its probe; others (a cache) are reported but not required.
/// `checks` names what this service really depends on.
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "health",
    responses(
        (status = 200, description = "Ready (possibly degraded)", body = Readiness),
        (status = 503, description = "A critical dependency is down", body = Readiness),
    )
)]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let readiness = check_all(&state.probes, state.settings.probe_timeout()).await;
    let status = match readiness.status {
        ReadyStatus::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ReadyStatus::Ready | ReadyStatus::Degraded => StatusCode::OK,
    };
    (status, Json(readiness))
}

async fn check_all(probes: &[Arc<dyn DependencyProbe>], timeout: Duration) -> Readiness {
    let mut running = JoinSet::new();
    for probe in probes {
        let probe = Arc::clone(probe);
        running.spawn(async move {
            let started = Instant::now();
            let outcome = match tokio::time::timeout(timeout, probe.check()).await {
                Ok(outcome) => outcome,
                Err(_) => Err(ProbeFailure::new(format!("no answer within {timeout:?}"))),
            };
            (
                probe.name(),
                probe.is_critical(),
                started.elapsed(),
                outcome,
            )
        });
    }
    let mut checks = BTreeMap::new();
    let mut status = ReadyStatus::Ready;
    while let Some(joined) = running.join_next().await {
        let Ok((name, critical, elapsed, outcome)) = joined else {
            // A probe that panicked tells us nothing; count it as a critical failure.
            status = ReadyStatus::Unavailable;
            continue;
        };
        if let Err(failure) = &outcome {
            tracing::warn!(dependency = name, error = %failure, "dependency check failed");
            status = match (status, critical) {
                (_, true) | (ReadyStatus::Unavailable, false) => ReadyStatus::Unavailable,
                (_, false) => ReadyStatus::Degraded,
            };
        }
        checks.insert(
            name.to_owned(),
            DependencyReport {
                status: if outcome.is_ok() { "up" } else { "down" },
                critical,
                latency_ms: elapsed.as_secs_f64() * 1000.0,
                error: outcome.err().map(|failure| failure.to_string()),
            },
        );
    }
    Readiness { status, checks }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;

    use super::*;

    struct Fixed(&'static str, bool, Result<(), ProbeFailure>);

    #[async_trait]
    impl DependencyProbe for Fixed {
        fn name(&self) -> &'static str {
            self.0
        }
        fn is_critical(&self) -> bool {
            self.1
        }
        async fn check(&self) -> Result<(), ProbeFailure> {
            self.2.clone()
        }
    }

    struct Hangs;

    #[async_trait]
    impl DependencyProbe for Hangs {
        fn name(&self) -> &'static str {
            "slow"
        }
        fn is_critical(&self) -> bool {
            true
        }
        async fn check(&self) -> Result<(), ProbeFailure> {
            std::future::pending().await
        }
    }

    fn down() -> Result<(), ProbeFailure> {
        Err(ProbeFailure::new("refused"))
    }

    async fn verdict(probes: Vec<Arc<dyn DependencyProbe>>) -> Readiness {
        check_all(&probes, Duration::from_millis(50)).await
    }

    #[tokio::test]
    async fn all_up_is_ready() {
        let readiness = verdict(vec![
            Arc::new(Fixed("db", true, Ok(()))),
            Arc::new(Fixed("cache", false, Ok(()))),
        ])
        .await;
        assert_eq!(readiness.status, ReadyStatus::Ready);
        assert_eq!(readiness.checks["db"].status, "up");
    }

    #[tokio::test]
    async fn non_critical_down_is_degraded() {
        let readiness = verdict(vec![
            Arc::new(Fixed("db", true, Ok(()))),
            Arc::new(Fixed("cache", false, down())),
        ])
        .await;
        assert_eq!(readiness.status, ReadyStatus::Degraded);
        assert_eq!(readiness.checks["cache"].error.as_deref(), Some("refused"));
    }

    #[tokio::test]
    async fn critical_down_is_unavailable_whatever_the_order() {
        let readiness = verdict(vec![
            Arc::new(Fixed("db", true, down())),
            Arc::new(Fixed("cache", false, down())),
        ])
        .await;
        assert_eq!(readiness.status, ReadyStatus::Unavailable);
    }

    #[tokio::test]
    async fn a_hanging_probe_times_out_as_down() {
        let readiness = verdict(vec![Arc::new(Hangs)]).await;
        assert_eq!(readiness.status, ReadyStatus::Unavailable);
        assert_eq!(readiness.checks["slow"].status, "down");
    }
}
