//! The composition of the HTTP side: routes and the middleware stack (the state handlers share
//! is `state.rs`).
//!
//! Read the stack top to bottom as the path of a request: it gets a request id, its credentials
//! are marked sensitive (never logged), it enters a tracing span named by its route, its
//! response gets the security headers, it is counted and timed, every error below is rendered
//! as problem+json, CORS preflights are answered, the access guard authenticates and rate
//! limits it (`access.rs`), excess load is shed, panics become 500s, the body is size-limited
//! and the handler is time-limited.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa_swagger_ui::SwaggerUi;

use crate::access::guard;
use crate::openapi;
use crate::problem::{PROBLEM_JSON, Problem};
use crate::request_id::{self, REQUEST_ID};
use crate::security::{cors, security_headers};
use crate::state::AppState;

/// The whole HTTP application: `/health/*`, `/api/v1/*`, `/docs`, with the middleware stack.
pub fn router(state: AppState) -> Router {
    let (routes, api) = openapi::split();
    let settings = Arc::clone(&state.settings);
    let in_flight = Arc::new(Semaphore::new(settings.max_in_flight));
    // The origins were checked when the configuration was loaded.
    let cors = cors(&settings.cors_allowed_origins).ok().flatten();
    let access = state.access.clone();
{% if graphql %}    let routes = routes.merge(crate::graphql::routes(&state.graphql));
{% endif %}    routes
        .route("/metrics", axum::routing::get(scrape))
        .merge(
            SwaggerUi::new("/docs")
                .url("/api/v1/openapi.json", api)
                // The validator badge would send the document to an outside host.
                .config(utoipa_swagger_ui::Config::default().validator_url("none")),
        )
        .fallback(unknown_route)
        .layer(
            ServiceBuilder::new()
                .layer(middleware::map_request(request_id::drop_unusable))
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(SetSensitiveHeadersLayer::new([
                    header::AUTHORIZATION,
                    header::COOKIE,
                    header::SET_COOKIE,
                ]))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(telemetry::http::RequestSpan::new(REQUEST_ID))
                        .on_response(telemetry::http::RequestSpan::new(REQUEST_ID)),
                )
                .layer(middleware::from_fn(security_headers))
                .layer(middleware::from_fn(record_metrics))
                .layer(middleware::from_fn(render_problems))
                .option_layer(cors)
                .layer(middleware::from_fn_with_state(access, guard))
                .layer(middleware::from_fn_with_state(in_flight, shed_load))
                .layer(CatchPanicLayer::new())
                .layer(DefaultBodyLimit::max(settings.body_limit_bytes))
                .layer(RequestBodyLimitLayer::new(settings.body_limit_bytes))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Duration::from_millis(settings.request_timeout_ms),
                )),
        )
        .with_state(state)
}

/// Load shedding: past `max_in_flight` concurrent API requests, answer 503 with `Retry-After`
/// immediately. Queueing would only add latency to every request and memory to the process.
async fn shed_load(
    State(in_flight): State<Arc<Semaphore>>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path().starts_with("/health/") {
        // Orchestrators must see the truth even under load; a shed liveness probe would get
        // a busy pod restarted.
        return next.run(request).await;
    }
    let Ok(_permit) = in_flight.try_acquire() else {
        let mut response =
            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", "Overloaded")
                .with_detail("The service is at capacity; retry after the delay in Retry-After.")
                .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    };
    next.run(request).await
}

/// `GET /metrics`, in the Prometheus text format.
async fn scrape(State(state): State<AppState>) -> impl IntoResponse {
    for collect in state.metrics.collectors.iter() {
        collect();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.metrics.render(),
    )
}

/// Request count, duration and concurrency by route, method and status class (OTel's
/// `http.server.request.duration` and `http.server.active_requests`). Labelled by the matched
/// route, never the raw path, so ids do not explode the number of series.
async fn record_metrics(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = telemetry::http::method_label(request.method());
    let in_flight = InFlight::enter(metrics::gauge!(
        "http_server_active_requests",
        "http_request_method" => method
    ));
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    drop(in_flight);
    let status_class = format!("{}xx", response.status().as_u16() / 100);
    metrics::histogram!(
        "http_server_request_duration_seconds",
        "http_request_method" => method,
        "http_route" => route,
        "http_response_status_class" => status_class,
    )
    .record(started.elapsed().as_secs_f64());
    response
}

/// One request counted in `http_server_active_requests` until it ends, however it ends: a
/// request whose client went away is dropped at an await, and must not stay counted for ever.
struct InFlight(metrics::Gauge);

impl InFlight {
    fn enter(gauge: metrics::Gauge) -> Self {
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

async fn unknown_route() -> Problem {
    Problem::from_status(StatusCode::NOT_FOUND)
}

/// The single place where errors are written out. A handler's [`Problem`] gets the request
/// id, trace id and instance; an error response produced elsewhere (router, limits, timeout,
/// panic) is replaced by the problem for its status, keeping headers such as `Allow`.
async fn render_problems(request: Request, next: Next) -> Response {
    let instance = request.uri().path().to_owned();
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    // A deliberate JSON error body (the readiness report) is part of its endpoint's contract.
    if response.extensions().get::<Problem>().is_none() && is_json(&response) {
        return response;
    }
    let (mut parts, _discarded) = response.into_parts();
    let mut problem = parts
        .extensions
        .remove::<Problem>()
        .unwrap_or_else(|| Problem::from_status(status));
    problem.instance = Some(instance);
    problem.request_id = request_id;
    problem.trace_id = telemetry::current_trace_id();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    let body = axum::body::Body::from(problem.to_body());
    parts.extensions.insert(problem);
    Response::from_parts(parts, body)
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use tower::ServiceExt;

    use super::*;

    fn get(path: &str) -> Request {
        Request::get(path).body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn past_the_limit_api_requests_are_shed_at_once_and_health_never_is() {
        let in_flight = Arc::new(Semaphore::new(1));
        let app = Router::new()
            .route("/api/v1/anything", axum::routing::get(|| async { "ok" }))
            .route("/health/live", axum::routing::get(|| async { "ok" }))
            .layer(middleware::from_fn_with_state(
                Arc::clone(&in_flight),
                shed_load,
            ));
        // The one permit is taken, as by a request still running.
        let running = Arc::clone(&in_flight).try_acquire_owned().unwrap();

        let shed = app.clone().oneshot(get("/api/v1/anything")).await.unwrap();
        assert_eq!(shed.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(shed.headers()[header::RETRY_AFTER], "1");
        assert_eq!(shed.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        let live = app.clone().oneshot(get("/health/live")).await.unwrap();
        assert_eq!(live.status(), StatusCode::OK, "health is never shed");

        drop(running);
        let served = app.oneshot(get("/api/v1/anything")).await.unwrap();
        assert_eq!(served.status(), StatusCode::OK, "room again, served again");
    }

    /// A request whose client goes away is dropped at an await; it must not stay counted in
    /// `http_server_active_requests` for ever.
    #[test]
    fn a_request_dropped_in_flight_is_no_longer_counted_as_active() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let exposition = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap();
            runtime.block_on(async {
                let app = Router::new()
                    .route("/hangs", axum::routing::get(std::future::pending::<()>))
                    .layer(middleware::from_fn(record_metrics));
                let request = app.oneshot(get("/hangs"));
                let gave_up = tokio::time::timeout(Duration::from_millis(20), request).await;
                assert!(gave_up.is_err(), "the request was still in flight");
            });
        });
        let active = exposition
            .render()
            .lines()
            .find(|line| line.starts_with("http_server_active_requests{"))
            .map(str::to_owned);
        assert_eq!(
            active.as_deref(),
            Some(r#"http_server_active_requests{http_request_method="GET"} 0"#)
        );
    }
}
