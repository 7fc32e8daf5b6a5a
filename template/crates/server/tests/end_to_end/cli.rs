//! The binary's subcommands, run as a user or a container runtime would run them.

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};

use crate::support::{TestApp, database_url, run, with_dependencies};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::net::TcpListener;

const BINARY: &str = env!("CARGO_BIN_EXE_{{project-name}}");
const CONFIG_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config");

/// The binary with the test configuration and nothing inherited that could change it.
pub fn command(args: &[&str]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .args(args)
        .env_clear()
        .env("APP_ENV", "test")
        .env("APP_CONFIG_DIR", CONFIG_DIR);
    with_dependencies(&mut command);
    command
}

/// A `serve` child with JSON logs on stdout, the lines not read yet, and its address.
pub(crate) struct Served {
    child: Child,
    logs: Lines<BufReader<ChildStdout>>,
    pub(crate) address: String,
}

/// Starts `serve` (with `APP__DATABASE__URL` for `database` and info-level JSON logs) and reads
/// its log until it says where it listens.
pub(crate) fn serve(database: &str, extra: &[(&str, &str)]) -> Served {
    let mut command = command(&["serve"]);
    command
        .env("APP__DATABASE__URL", database_url(database, None))
        .env("APP__TELEMETRY__LOG_FILTER", "info")
        .env("APP__TELEMETRY__LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (name, value) in extra {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let mut logs = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = loop {
        let line = logs
            .next()
            .expect("the service logs before it exits")
            .unwrap();
        let line: serde_json::Value = serde_json::from_str(&line).unwrap();
        if line["message"] == "listening" {
            break line["address"]
                .as_str()
                .unwrap()
                .replace("0.0.0.0", "127.0.0.1");
        }
    };
    Served {
        child,
        logs,
        address,
    }
}

impl Served {
    /// Sends SIGTERM, checks the exit is clean, and returns the rest of the log.
    pub(crate) async fn terminate(self) -> Vec<String> {
        let Self {
            mut child, logs, ..
        } = self;
        crate::support::sigterm(&child);
        let status = tokio::task::spawn_blocking(move || child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success(), "exit status {status}");
        logs.map_while(Result::ok).collect()
    }
}

#[test]
fn config_prints_the_effective_configuration_without_secrets() {
    let (output, stdout, stderr) = run(command(&["config"])
        .env(
            "APP__DATABASE__URL",
            "postgres://app:hunter2-secret@db.internal:5432/app",
        )
        .env("APP__HTTP__PORT", "9123"));
    assert!(output.status.success(), "{stderr}");
    let printed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(printed["http"]["port"], 9123);
    assert_eq!(
        printed["database"]["url"],
        "postgres://app:***@db.internal:5432/app"
    );
    assert!(!stdout.contains("hunter2-secret"));
}

#[test]
fn invalid_configuration_exits_2_naming_the_key() {
    let (output, _, stderr) = run(command(&["config"]).env("APP__HTTP__PORT", "eighty"));
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.to_lowercase().contains("http.port"), "{stderr}");

    let (output, _, stderr) = run(command(&["config"]).env("APP__DATABASE__POOL_SIZE", "5"));
    assert_eq!(
        output.status.code(),
        Some(2),
        "unknown keys are refused too: {stderr}"
    );
    assert!(stderr.contains("pool_size"), "{stderr}");
}

#[sqlx::test(migrations = false)]
async fn migrate_up_status_and_down_round_trip(_options: PgPoolOptions, connect: PgConnectOptions) {
    let url = database_url(connect.get_database().unwrap(), None);
    let migrate = |args: &[&str]| {
        let mut all = vec!["migrate"];
        all.extend_from_slice(args);
        run(command(&all).env("APP__DATABASE__URL", &url))
    };
    let (output, before, stderr) = migrate(&["status"]);
    assert!(output.status.success(), "{stderr}");
    assert!(!before.contains("applied"), "{before}");

    let (output, _, stderr) = migrate(&["up"]);
    assert!(output.status.success(), "{stderr}");
    let (_, after, _) = migrate(&["status"]);
    assert!(!after.contains("pending"), "{after}");

    let migrations = after.lines().count();
    let (output, reverted, stderr) = migrate(&["down", "--steps", &migrations.to_string()]);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        reverted
            .lines()
            .filter(|line| line.starts_with("reverted"))
            .count(),
        migrations
    );
    let (_, again, _) = migrate(&["status"]);
    assert_eq!(again, before, "down undid every up");
}

#[sqlx::test(migrations = "../../migrations")]
async fn healthcheck_exits_0_only_when_the_service_is_ready(pool: sqlx::PgPool) {
    let app = TestApp::spawn(pool).await;
    let port = app.base_url.rsplit(':').next().unwrap().to_owned();
    let check = move || {
        run(command(&["healthcheck", "--timeout-ms", "3000"]).env("APP__HTTP__PORT", &port))
    };
    let (output, _, stderr) = tokio::task::spawn_blocking(check.clone()).await.unwrap();
    assert!(output.status.success(), "{stderr}");

    app.stop().await.unwrap();
    let (output, _, stderr) = tokio::task::spawn_blocking(check).await.unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot reach"), "{stderr}");
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_requests_log_lines_carry_its_trace_id_span_id_and_request_id(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let served = serve(connect.get_database().unwrap(), &[]);
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = reqwest::Client::new()
        .get(format!("http://{}/api/v1/nothing-here", served.address))
        .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
        .header("x-request-id", "log-correlation-1")
        .send()
        .await
        .unwrap();
    // Under /api a request is authenticated before it is routed (401 without a token); without
    // tokens to check it goes straight to the router (404). Either way, a problem in the trace.
    assert!(
        [
            reqwest::StatusCode::UNAUTHORIZED,
            reqwest::StatusCode::NOT_FOUND
        ]
        .contains(&response.status()),
        "{}",
        response.status()
    );
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        problem["traceId"], trace,
        "the client sees the trace id too"
    );
    let lines = served.terminate().await;
    let finished: serde_json::Value = lines
        .iter()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| line["message"] == "request finished")
        .unwrap_or_else(|| panic!("no request log line in {lines:#?}"));
    let request = finished["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|span| span["name"] == "request")
        .unwrap_or_else(|| panic!("no request span on {finished}"));
    assert_eq!(request["trace_id"], trace, "{finished}");
    assert_eq!(request["request_id"], "log-correlation-1", "{finished}");
    let span_id = request["span_id"].as_str().unwrap();
    assert!(
        span_id.len() == 16 && span_id != "00f067aa0ba902b7",
        "our own span, not the caller's: {finished}"
    );
}

/// What a stand-in OTLP receiver got: each export's content type and body.
type Exports = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

#[sqlx::test(migrations = "../../migrations")]
async fn traces_reach_an_otlp_http_receiver_and_are_flushed_on_shutdown(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    // A stand-in OTLP/HTTP receiver: records each export's content type and body.
    let exports: Exports = Arc::default();
    let record = Arc::clone(&exports);
    let receiver = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let content_type = headers
                    .get("content-type")
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                record.lock().unwrap().push((content_type, body.to_vec()));
                async {}
            },
        ),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });

    let served = serve(
        connect.get_database().unwrap(),
        &[("APP__TELEMETRY__OTLP_ENDPOINT", endpoint.as_str())],
    );
    let response = reqwest::get(format!("http://{}/health/live", served.address))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // The batch is still buffered; SIGTERM must flush it before the process exits.
    served.terminate().await;

    let exports = exports.lock().unwrap().clone();
    assert!(!exports.is_empty(), "no export reached the receiver");
    assert!(
        exports
            .iter()
            .all(|(content_type, _)| content_type == "application/x-protobuf"),
        "OTLP over HTTP with protobuf bodies"
    );
    // Protobuf keeps strings as UTF-8: the span name and the resource attributes are readable.
    let bodies: Vec<u8> = exports.into_iter().flat_map(|(_, body)| body).collect();
    let text = String::from_utf8_lossy(&bodies);
    for expected in [
        "GET /health/live",
        "{{project-name}}",
        "service.version",
        "deployment.environment.name",
    ] {
        assert!(text.contains(expected), "{expected:?} not exported");
    }
}
