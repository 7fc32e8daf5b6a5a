//! The binary's subcommands, run as a user or a container runtime would run them.

// A failed unwrap in a test is a failed assertion, with the value in the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use support::{TestApp, database_url};
use tokio::net::TcpListener;

const BINARY: &str = env!("CARGO_BIN_EXE_{{project-name}}");

/// The binary with the test configuration and nothing inherited that could change it.
fn command(args: &[&str]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .args(args)
        .env_clear()
        .env("APP_ENV", "test")
        .env(
            "APP_CONFIG_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../config"),
        )
        .env(
            "APP__REDIS__URL",
            std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned()),
        );
    command
}

fn run(command: &mut Command) -> (Output, String, String) {
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
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
async fn sigterm_lets_the_request_in_flight_finish_then_exits_0(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    // A "Redis" that accepts connections and never answers: the readiness request stays in
    // flight for the whole probe timeout, long enough to send SIGTERM in the middle of it.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_address = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });

    let mut child = command(&["serve"])
        .env(
            "APP__DATABASE__URL",
            database_url(connect.get_database().unwrap(), None),
        )
        .env("APP__REDIS__URL", format!("redis://{silent_address}"))
        .env("APP__HTTP__PROBE_TIMEOUT_MS", "1500")
        .env("APP__TELEMETRY__LOG_FILTER", "info")
        .env("APP__TELEMETRY__LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
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

    let request = reqwest::Client::new()
        .get(format!("http://{address}/health/ready"))
        .header("x-request-id", "drain-test-request");
    let in_flight = tokio::spawn(request.send());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );

    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered, not cut");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["checks"]["redis"]["status"], "down", "{body}");

    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit status {status}");
    let rest: Vec<String> = logs.map_while(Result::ok).collect();
    assert!(
        rest.iter().any(|line| line.contains("SIGTERM received")),
        "{rest:?}"
    );
    assert!(
        rest.iter().any(|line| line.contains("\"stopped\"")),
        "{rest:?}"
    );
    // Every line logged while handling the request carries its request id.
    let of_request: Vec<&String> = rest
        .iter()
        .filter(|line| {
            line.contains("dependency check failed") || line.contains("request finished")
        })
        .collect();
    assert_eq!(of_request.len(), 2, "{rest:?}");
    assert!(
        of_request
            .iter()
            .all(|line| line.contains("\"request_id\":\"drain-test-request\"")),
        "{of_request:?}"
    );
    assert!(
        reqwest::get(format!("http://{address}/health/live"))
            .await
            .is_err()
    );
}
