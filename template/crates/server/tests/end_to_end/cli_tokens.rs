//! The binary with `auth=jwt`, run as a user or a container runtime would run it: the `token`
//! subcommand's refusals, a drain that waits for a request stalled on the identity provider,
//! and the audit line of a refused token. The shared helpers are in `cli.rs`.

use std::time::Duration;

use crate::cli::{command, serve};
use crate::support::run;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::net::TcpListener;

#[sqlx::test(migrations = "../../migrations")]
async fn sigterm_lets_the_request_in_flight_finish_then_exits_0(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    // An identity provider that accepts connections and never answers: a request bearing a
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

    let rest = terminated.await.unwrap();
    assert!(
        rest.iter().any(|line| line.contains("SIGTERM received")),
        "{rest:?}"
    );
    assert!(
        rest.iter().any(|line| line.contains("\"stopped\"")),
        "{rest:?}"
    );
    // Every line logged while handling the request (the JWKS failure, the audit event, the
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
    assert!(
        reqwest::get(format!("http://{address}/health/live"))
            .await
            .is_err()
    );
}

#[test]
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
pub(crate) fn mint(tenant: &str, roles: &[&str]) -> String {
    let mut args = vec!["token", "--tenant", tenant, "--subject", "dev-alice"];
    for role in roles {
        args.extend(["--role", role]);
    }
    let (output, stdout, stderr) = run(&mut command(&args));
    assert!(output.status.success(), "{stderr}");
    stdout.trim().to_owned()
}

/// The `audit` event of `action` for the request `request_id`, among the JSON `lines` of the
/// service's log.
pub(crate) fn audit_event(lines: &[String], action: &str, request_id: &str) -> serde_json::Value {
    let audit: Vec<serde_json::Value> = lines
        .iter()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["target"] == "audit")
        .collect();
    audit
        .iter()
        .find(|event| event["audit.action"] == action && event.to_string().contains(request_id))
        .unwrap_or_else(|| panic!("no {action} audit event for {request_id}: {audit:#?}"))
        .clone()
}

#[sqlx::test(migrations = "../../migrations")]
async fn a_refused_token_is_audited_with_the_request_id_and_never_logged(
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
    let metrics = client
        .get(format!("{base}/metrics"))
        .bearer_auth(&viewer)
        .send()
        .await
        .unwrap();
    // Metrics are public by default: a good token on them is nothing to audit.
    assert_eq!(metrics.status(), 200);
    let lines = served.terminate().await;
    let failure = audit_event(&lines, "authenticate", "audit-authn-1");
    assert_eq!(failure["audit.outcome"], "failure");
    assert_eq!(failure["audit.reason"], "bad_signature");
    assert!(!lines.iter().any(|line| line.contains(bad_token)));
    assert!(!lines.iter().any(|line| line.contains(&viewer)));
}
