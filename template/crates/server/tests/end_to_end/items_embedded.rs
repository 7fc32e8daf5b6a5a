//! The example API on the embedded default, as a new user meets it (README, "The two
//! commands"): the binary in an empty folder, no server configured, a tenant and an item
//! created with development credentials, and the item still there after a restart: the file
//! is the database, not a cache. The helpers are in `embedded.rs`.

use crate::embedded::{command, empty_folder, serve, terminate};
use crate::support::development_credentials;
use serde_json::{Value, json};

#[tokio::test]
async fn the_example_api_answers_on_the_file_and_keeps_what_it_stored_across_a_restart() {
    let folder = empty_folder();
    let (child, base) = serve(&folder);
    let client = reqwest::Client::new();
    let platform = development_credentials(
        command(&folder, &[]),
        "0190f5d2-7e1c-7000-8000-0000000000ff",
        "platform-admin",
    );
    let tenant: Value = client
        .post(format!("{base}/api/v1/tenants"))
        .headers(platform)
        .json(&json!({"name": "acme"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tenant = tenant["id"].as_str().unwrap().to_owned();
    let admin = development_credentials(command(&folder, &[]), &tenant, "admin");
    let created = client
        .post(format!("{base}/api/v1/tenants/{tenant}/items"))
        .headers(admin.clone())
        .json(&json!({"name": "Desk lamp", "description": "brass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let item: Value = created.json().await.unwrap();
    terminate(child);

    let (child, base) = serve(&folder);
    let read = client
        .get(format!("{base}{location}"))
        .headers(admin)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    assert_eq!(read.json::<Value>().await.unwrap(), item);
    terminate(child);
}
