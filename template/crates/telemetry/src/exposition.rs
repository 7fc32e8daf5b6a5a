//! Prometheus metrics: one recorder for the process, rendered at `GET /metrics`.
//!
//! Code everywhere records through the `metrics` facade (`metrics::counter!`...), as it logs
//! through `tracing`; only this module knows the exporter. Names follow the OpenTelemetry
//! semantic conventions, in Prometheus spelling (`http.server.request.duration` becomes
//! `http_server_request_duration_seconds`).

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Request durations, in seconds (OTel's recommended buckets for HTTP servers).
const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Renders the current values of every metric.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// The process-wide recorder, installed on first use (tests start many applications in one
    /// process; they share it, as the facade allows only one).
    pub fn global(service: &'static str, version: &'static str) -> Self {
        static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
        let handle = HANDLE.get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("duration_seconds".to_owned()),
                    DURATION_BUCKETS,
                )
                .map(PrometheusBuilder::build_recorder)
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            // Fails only if another recorder was installed first; the handle still renders ours.
            let _ = metrics::set_global_recorder(recorder);
            metrics::gauge!("service_build_info", "service" => service, "version" => version)
                .set(1.0);
            handle
        });
        Self {
            handle: handle.clone(),
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}
