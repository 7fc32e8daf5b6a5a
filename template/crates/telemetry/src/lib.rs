//! Telemetry, set up once by the binary: structured logs, OpenTelemetry traces, Prometheus
//! metrics and the span every HTTP request runs in.
//!
//! Nothing else installs a subscriber or touches the OpenTelemetry globals. Without an OTLP
//! endpoint no span leaves the process, but spans still carry trace ids, so logs and error
//! responses can quote them.

mod exposition;
pub mod http;
mod setup;

pub use exposition::Metrics;

pub use setup::{
    LogFormat, ServiceIdentity, TelemetryError, TelemetryGuard, TelemetrySettings, init,
    init_with_exporter,
};

use opentelemetry::trace::TraceContextExt;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The W3C trace id of the current span, when there is one (32 lowercase hex digits).
pub fn current_trace_id() -> Option<String> {
    let context = tracing::Span::current().context();
    let span = context.span();
    let span_context = span.span_context();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}
