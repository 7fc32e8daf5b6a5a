//! The binary's subcommands, run as a user or a container runtime would run them.

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
{% if auth == "jwt" or example %}use std::time::Duration;
{% endif %}
use crate::support::{TestApp, database_url, run};
{% if auth == "jwt" %}use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
{% endif %}use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
{% if auth == "none" and example %}use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
{% else %}use tokio::net::TcpListener;
{% endif %}
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
{% if cache == "redis" %}    command.env(
        "APP__REDIS__URL",
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned()),
    );
{% endif %}    command
}

/// A `serve` child with JSON logs on stdout, the lines not read yet, and its address.
struct Served {
    child: Child,
    logs: Lines<BufReader<ChildStdout>>,
    address: String,
}

/// Starts `serve` (with `APP__DATABASE__URL` for `database` and info-level JSON logs) and reads
/// its log until it says where it listens.
fn serve(database: &str, extra: &[(&str, &str)]) -> Served {
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
    async fn terminate(self) -> Vec<String> {
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

{% if auth == "jwt" or example %}#[sqlx::test(migrations = "../../migrations")]
async fn sigterm_lets_the_request_in_flight_finish_then_exits_0(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
{% if auth == "jwt" %}    // An identity provider that accepts connections and never answers: a request bearing a
    // token signed with a key the service has not seen waits for the key set for the whole
    // JWKS timeout, long enough to send SIGTERM in the middle of it.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_address = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });

    let jwks = format!("http://{silent_address}/jwks.json");
    let served = serve(
        connect.get_database().unwrap(),
        &[
            ("APP__AUTH__MODE", "jwks"),
            ("APP__AUTH__JWKS_URL", jwks.as_str()),
            ("APP__AUTH__JWKS_TIMEOUT_MS", "1500"),
        ],
    );
    let address = served.address.clone();

    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT","kid":"unseen"}"#);
    let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"drain"}"#);
    let request = reqwest::Client::new()
        .get(format!("http://{address}/api/v1/me"))
        .bearer_auth(format!("{header}.{payload}.c2lnbmF0dXJl"))
        .header("x-request-id", "drain-test-request");
    let in_flight = tokio::spawn(request.send());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let terminated = tokio::spawn(served.terminate());

    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered, not cut");
    // No key set could be fetched, so the answer is 503; what matters is that it came.
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["x-request-id"], "drain-test-request");

{% else %}    // A client that sends its headers and only part of its body keeps a request in flight (the
    // handler waits for the rest). SIGTERM arrives in the middle; the rest of the body follows,
    // and the request must still be served.
    let served = serve(connect.get_database().unwrap(), &[]);
    let address = served.address.clone();
    let body = r#"{"name": "Drained"}"#;
    let head = format!(
        "POST /api/v1/tenants HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n\
         x-request-id: drain-test-request\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    );
    let mut slow = TcpStream::connect(&address).await.unwrap();
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(&body.as_bytes()[..5]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let terminated = tokio::spawn(served.terminate());
    tokio::time::sleep(Duration::from_millis(300)).await;
    slow.write_all(&body.as_bytes()[5..]).await.unwrap();
    let mut response = String::new();
    slow.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert!(
        response.contains("x-request-id: drain-test-request"),
        "{response}"
    );

{% endif %}    let rest = terminated.await.unwrap();
    assert!(
        rest.iter().any(|line| line.contains("SIGTERM received")),
        "{rest:?}"
    );
    assert!(
        rest.iter().any(|line| line.contains("\"stopped\"")),
        "{rest:?}"
    );
{% if auth == "jwt" %}    // Every line logged while handling the request (the JWKS failure, the audit event, the
    // failed response) carries its request id.
    let of_request: Vec<&String> = rest
        .iter()
        .filter(|line| line.contains("\"spans\":["))
        .collect();
    assert!(
        of_request
            .iter()
            .any(|line| line.contains("cannot fetch the JWKS")),
        "{rest:?}"
    );
    assert!(of_request.len() >= 3, "{rest:?}");
    assert!(
        of_request
            .iter()
            .all(|line| line.contains("\"request_id\":\"drain-test-request\"")),
        "{of_request:?}"
    );
{% endif %}    assert!(
        reqwest::get(format!("http://{address}/health/live"))
            .await
            .is_err()
    );
}

{% endif -%}
{% if auth == "jwt" %}#[test]
fn token_refuses_to_mint_in_production() {
    let (output, stdout, stderr) = run(command(&[
        "token",
        "--tenant",
        "0190f5d2-7e1c-7000-8000-00000000000a",
        "--role",
        "admin",
    ])
    .env("APP_ENV", "production"));
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("refusing to mint"), "{stderr}");
    assert!(stdout.is_empty(), "no token printed: {stdout}");
}

#[test]
fn token_refuses_unknown_roles_and_names_the_known_ones() {
    let (output, _, stderr) = run(&mut command(&[
        "token",
        "--tenant",
        "0190f5d2-7e1c-7000-8000-00000000000a",
        "--role",
        "root",
    ]));
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("platform-admin"), "{stderr}");
}

/// Mints a token with the `token` subcommand, as a developer would.
fn mint(tenant: &str, roles: &[&str]) -> String {
    let mut args = vec!["token", "--tenant", tenant, "--subject", "dev-alice"];
    for role in roles {
        args.extend(["--role", role]);
    }
    let (output, stdout, stderr) = run(&mut command(&args));
    assert!(output.status.success(), "{stderr}");
    stdout.trim().to_owned()
}

#[sqlx::test(migrations = "../../migrations")]
async fn audit_events_say_who_did_what_with_the_request_id_and_never_the_token(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let served = serve(connect.get_database().unwrap(), &[]);
    let address = served.address.clone();
    let base = format!("http://{address}");
    let client = reqwest::Client::new();
    let tenant = "0190f5d2-7e1c-7000-8000-00000000000a";
    let bad_token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2lnbmF0dXJl";
    let refused = client
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(bad_token)
        .header("x-request-id", "audit-authn-1")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let viewer = mint(tenant, &["viewer"]);
{% if example %}    let platform = mint("0190f5d2-7e1c-7000-8000-0000000000ff", &["platform-admin"]);
    let created: serde_json::Value = client
        .post(format!("{base}/api/v1/tenants"))
        .bearer_auth(&platform)
        .header("x-request-id", "audit-tenant-1")
        .json(&serde_json::json!({"name": "Audited"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_tenant = created["id"].as_str().unwrap().to_owned();
    let admin = mint(&new_tenant, &["admin"]);
    let item = client
        .post(format!("{base}/api/v1/tenants/{new_tenant}/items"))
        .bearer_auth(&admin)
        .header("x-request-id", "audit-write-1")
        .json(&serde_json::json!({"name": "lamp", "description": "secret plans"}))
        .send()
        .await
        .unwrap();
    assert_eq!(item.status(), 201);
    let denied = client
        .post(format!("{base}/api/v1/tenants/{tenant}/items"))
        .bearer_auth(&viewer)
        .header("x-request-id", "audit-denied-1")
        .json(&serde_json::json!({"name": "lamp"}))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
{% else %}    let denied = client
        .get(format!("{base}/metrics"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    // Metrics are public by default: no denial to audit without the example.
    assert_eq!(denied.status(), 200);
{% endif %}
    let lines = served.terminate().await;
    let audit: Vec<serde_json::Value> = lines
        .iter()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["target"] == "audit")
        .collect();
    let find = |action: &str, request_id: &str| {
        audit
            .iter()
            .find(|event| event["audit.action"] == action && event.to_string().contains(request_id))
            .unwrap_or_else(|| panic!("no {action} audit event for {request_id}: {audit:#?}"))
            .clone()
    };
    let failure = find("authenticate", "audit-authn-1");
    assert_eq!(failure["audit.outcome"], "failure");
    assert_eq!(failure["audit.reason"], "bad_signature");
{% if example %}    let tenant_created = find("tenant.create", "audit-tenant-1");
    assert_eq!(tenant_created["audit.actor"], "dev-alice");
    let write = find("item.create", "audit-write-1");
    assert_eq!(write["audit.outcome"], "success");
    assert_eq!(write["audit.tenant"], new_tenant);
    assert!(
        write["audit.resource"]
            .as_str()
            .unwrap()
            .starts_with("item/"),
        "{write}"
    );
    let denial = find("authorize", "audit-denied-1");
    assert_eq!(denial["audit.outcome"], "denied");
    assert_eq!(denial["audit.tenant"], tenant);
    assert_eq!(denial["audit.resource"], "WriteItems");
    // Neither the tokens nor the item's content reach the logs.
    for secret in [&platform, &admin, &viewer] {
        assert!(!lines.iter().any(|line| line.contains(secret.as_str())));
    }
    assert!(!lines.iter().any(|line| line.contains("secret plans")));
{% endif %}    assert!(!lines.iter().any(|line| line.contains(bad_token)));
    assert!(!lines.iter().any(|line| line.contains(&viewer)));
}

{% endif %}#[sqlx::test(migrations = "../../migrations")]
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
