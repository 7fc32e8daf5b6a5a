//! The span each HTTP request runs in, for tower-http's `TraceLayer`.
//!
//! The span is named by the matched route (`GET /api/v1/items/{id}`), never the raw path, so
//! traces and metrics group by endpoint and ids do not explode cardinality. Its parent is the
//! caller's W3C `traceparent`, when there is one, so our spans join the caller's trace. It
//! carries the request id, the trace id and its own span id as fields, so every JSON log line
//! of the request names all three (in its `spans` list) and leads straight to the trace.

use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::{HeaderMap, HeaderName, Method, Request, Response, header};
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::TraceContextExt;
use tower_http::trace::{MakeSpan, OnResponse};
use tracing::{Span, field};
use tracing_opentelemetry::OpenTelemetrySpanExt;

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
        let method = method_label(request.method());
        // OTel: a method outside HTTP's own is `_OTHER`, named `HTTP` in the span name, and
        // kept as sent in `http.request.method_original`.
        let (name_method, original) = match method {
            "_OTHER" => ("HTTP", request.method().as_str()),
            known => (known, ""),
        };
        let span = tracing::info_span!(
            "request",
            otel.name = format!("{name_method} {route}"),
            otel.kind = "server",
            otel.status_code = field::Empty,
            http.request.method = method,
            http.request.method_original = field::Empty,
            http.route = route,
            url.path = request.uri().path(),
            url.scheme = request.uri().scheme_str().unwrap_or("http"),
            network.protocol.version = protocol_version(request.version()),
            user_agent.original = request
                .headers()
                .get(header::USER_AGENT)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default(),
            request_id,
            trace_id = field::Empty,
            span_id = field::Empty,
            http.response.status_code = field::Empty,
        );
        if !original.is_empty() {
            span.record("http.request.method_original", original);
        }
        let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.extract(&HeaderExtractor(request.headers()))
        });
        // Fails only when no OpenTelemetry layer is installed (some unit tests): then there is
        // no trace to join anyway.
        let _ = span.set_parent(parent);
        let context = span.context();
        let otel_span = context.span();
        let ids = otel_span.span_context();
        if ids.is_valid() {
            span.record("trace_id", field::display(ids.trace_id()));
            span.record("span_id", field::display(ids.span_id()));
        }
        span
    }
}

/// The method as a label of metrics and spans: one of HTTP's own, or `_OTHER` (OpenTelemetry's
/// HTTP conventions), so a client cannot add a series by inventing a method.
#[must_use]
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::PATCH => "PATCH",
        _ => "_OTHER",
    }
}

/// `network.protocol.version` as OTel spells it.
fn protocol_version(version: axum::http::Version) -> &'static str {
    match version {
        axum::http::Version::HTTP_09 => "0.9",
        axum::http::Version::HTTP_10 => "1.0",
        axum::http::Version::HTTP_2 => "2",
        axum::http::Version::HTTP_3 => "3",
        _ => "1.1",
    }
}

/// Reads propagation headers (`traceparent`, `tracestate`) from a request.
struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

impl<B> OnResponse<B> for RequestSpan {
    fn on_response(self, response: &Response<B>, latency: Duration, span: &Span) {
        let status = response.status().as_u16();
        span.record("http.response.status_code", status);
        let latency_ms = latency.as_secs_f64() * 1000.0;
        if response.status().is_server_error() {
            // OTel: a server span is an error for 5xx only; 4xx are the client's mistakes.
            span.record("otel.status_code", "ERROR");
            tracing::error!(status, latency_ms, "request failed");
        } else {
            tracing::info!(status, latency_ms, "request finished");
        }
    }
}
