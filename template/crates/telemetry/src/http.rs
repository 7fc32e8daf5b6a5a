//! The span each HTTP request runs in, for tower-http's `TraceLayer`.
//!
//! The span is named by the matched route (`GET /api/v1/items/{id}`), never the raw path, so
//! traces and metrics group by endpoint and ids do not explode cardinality. It carries the
//! request id, so every log line of the request can be found by it.

use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::{HeaderName, Request, Response};
use tower_http::trace::{MakeSpan, OnResponse};
use tracing::{Span, field};

/// Makes the request span and records the outcome on it.
#[derive(Debug, Clone)]
pub struct RequestSpan {
    request_id_header: HeaderName,
}

impl RequestSpan {
    /// Spans that read the request id from `request_id_header`.
    #[must_use]
    pub fn new(request_id_header: HeaderName) -> Self {
        Self { request_id_header }
    }
}

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or("unmatched", MatchedPath::as_str);
        let request_id = request
            .headers()
            .get(&self.request_id_header)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        tracing::info_span!(
            "request",
            otel.name = format!("{} {route}", request.method()),
            otel.kind = "server",
            http.request.method = %request.method(),
            http.route = route,
            url.path = request.uri().path(),
            request_id,
            http.response.status_code = field::Empty,
        )
    }
}

impl<B> OnResponse<B> for RequestSpan {
    fn on_response(self, response: &Response<B>, latency: Duration, span: &Span) {
        let status = response.status().as_u16();
        span.record("http.response.status_code", status);
        let latency_ms = latency.as_secs_f64() * 1000.0;
        if response.status().is_server_error() {
            tracing::error!(status, latency_ms, "request failed");
        } else {
            tracing::info!(status, latency_ms, "request finished");
        }
    }
}
