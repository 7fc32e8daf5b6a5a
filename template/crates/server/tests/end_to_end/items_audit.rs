//! Audit events of the example API with `auth=jwt`, from the binary's own log: who created a
//! tenant and an item, who was denied, with the request id, and never a token or an item's
//! content. The shared helpers are in `cli.rs` and `cli_tokens.rs`.

use crate::cli::serve;
use crate::cli_tokens::{audit_event, mint};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

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
    let viewer = mint(tenant, &["viewer"]);
    let platform = mint("0190f5d2-7e1c-7000-8000-0000000000ff", &["platform-admin"]);
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

    let lines = served.terminate().await;
    let tenant_created = audit_event(&lines, "tenant.create", "audit-tenant-1");
    assert_eq!(tenant_created["audit.actor"], "dev-alice");
    let write = audit_event(&lines, "item.create", "audit-write-1");
    assert_eq!(write["audit.outcome"], "success");
    assert_eq!(write["audit.tenant"], new_tenant);
    assert!(
        write["audit.resource"]
            .as_str()
            .unwrap()
            .starts_with("item/"),
        "{write}"
    );
    let denial = audit_event(&lines, "authorize", "audit-denied-1");
    assert_eq!(denial["audit.outcome"], "denied");
    assert_eq!(denial["audit.tenant"], tenant);
    assert_eq!(denial["audit.resource"], "WriteItems");
    // Neither the tokens nor the item's content reach the logs.
    for secret in [&platform, &admin, &viewer] {
        assert!(!lines.iter().any(|line| line.contains(secret.as_str())));
    }
    assert!(!lines.iter().any(|line| line.contains("secret plans")));
}
