//! The embedded default, as a new user meets it: the binary started in an empty folder with
//! the shipped `config/`, no database URL and no Redis URL, no PostgreSQL or Redis needed. It
//! creates `data/`, migrates the SQLite file, and `APP_ENV=production` refuses to start that
//! way. The example API on the file, across a restart, is in `items_embedded.rs`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::support::{PRODUCTION_REQUIRED, run};
use serde_json::Value;
const BINARY: &str = env!("CARGO_BIN_EXE_{{project-name}}");
const CONFIG_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config");

/// An empty working folder, as after `cargo generate` (no `data/` yet).
pub(crate) fn empty_folder() -> PathBuf {
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("embedded-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&folder).unwrap();
    folder
}

/// The binary in `folder` with the shipped configuration of a developer's machine
/// (`APP_ENV=local`) and nothing else: no URL of any server is set.
pub(crate) fn command(folder: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .args(args)
        .current_dir(folder)
        .env_clear()
        .env("APP_ENV", "local")
        .env("APP_CONFIG_DIR", CONFIG_DIR);
    command
}

/// `serve` on a free port; returns the child and its base URL once it listens.
pub(crate) fn serve(folder: &Path) -> (Child, String) {
    let mut child = command(folder, &["serve"])
        .env("APP__HTTP__HOST", "127.0.0.1")
        .env("APP__HTTP__PORT", "0")
        .env("APP__TELEMETRY__LOG_FORMAT", "json")
        .env("APP__TELEMETRY__LOG_FILTER", "info")
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
        let line: Value = serde_json::from_str(&line).unwrap();
        if line["message"] == "listening" {
            break line["address"].as_str().unwrap().to_owned();
        }
    };
    // Keep draining the log so the child never blocks on a full pipe.
    std::thread::spawn(move || logs.for_each(drop));
    (child, format!("http://{address}"))
}

pub(crate) fn terminate(mut child: Child) {
    crate::support::sigterm(&child);
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status}");
}

#[tokio::test]
async fn a_new_checkout_runs_on_sqlite_and_memory_with_no_server_configured() {
    let folder = empty_folder();
    // Inspecting a database that does not exist yet reports it, and creates nothing.
    let (output, _, stderr) = run(&mut command(&folder, &["migrate", "status"]));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("migrate up"), "{stderr}");
    assert!(!folder.join("data").exists());

    let (child, base) = serve(&folder);
    let database = folder.join("data/{{crate_name}}.db");
    assert!(database.is_file(), "{} was not created", database.display());
    let client = reqwest::Client::new();

    let ready = client
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["checks"]["sqlite"]["status"], "up", "{ready}");
    let checks: Vec<&String> = ready["checks"].as_object().unwrap().keys().collect();
    assert_eq!(checks, ["sqlite"], "no server is probed: {ready}");
    terminate(child);

    // `migrate` works on the embedded file as on PostgreSQL: down one, then up again.
    let migrate = |args: &[&str]| {
        let (output, stdout, stderr) = run(&mut command(&folder, args));
        assert!(output.status.success(), "{args:?}: {stderr}");
        stdout
    };
    let status = migrate(&["migrate", "status"]);
    assert!(!status.contains("pending"), "{status}");
    if let Some(newest) = status.lines().last() {
        let version = newest.split_whitespace().next().unwrap();
        let reverted = migrate(&["migrate", "down", "--steps", "1"]);
        assert_eq!(reverted.trim(), format!("reverted {version}"));
        assert!(migrate(&["migrate", "status"]).contains("pending"));
        migrate(&["migrate", "up"]);
        assert_eq!(migrate(&["migrate", "status"]), status);
    }
}

#[test]
fn production_refuses_to_start_without_postgres() {
    let folder = empty_folder();
    let mut command = command(&folder, &["serve"]);
    command.env("APP_ENV", "production");
    for (name, value) in PRODUCTION_REQUIRED {
        command.env(name, value);
    }
    let (output, _, stderr) = run(&mut command);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("database.url"), "{stderr}");
    assert!(
        !folder.join("data").exists(),
        "a refused start creates no database file"
    );
}
