//! The example resource end to end: HTTP over a real socket, the use cases, and a real
//! database. Each status code the items API promises is produced here by the real stack at
//! least once. Where the service has the embedded default, every test runs twice: on
//! PostgreSQL (`postgres::`) and on the SQLite file (`sqlite::`), so the API a new checkout
//! shows is the API production serves.

use std::time::Duration;

use crate::support::{TestApp, TestStore, on_every_database};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn tenant(app: &TestApp, name: &str) -> String {
    let tenant = app.create_tenant(name).await;
    format!("/api/v1/tenants/{tenant}/items")
}

on_every_database!(
    an_item_goes_through_its_whole_life,
    tenants_cannot_see_each_others_items,
    a_retried_post_creates_once_and_a_refused_one_writes_nothing,
    a_tampered_cursor_is_400_naming_the_parameter,
    every_client_error_is_problem_json_and_writes_nothing,
    a_long_list_is_walked_page_by_page_through_its_links,
    past_the_concurrency_limit_requests_are_shed_with_retry_after,
    reads_cut_off_by_their_clients_leave_nothing_behind_and_later_reads_see_the_latest_write,
    an_abort_storm_leaves_the_pool_idle_readiness_200_and_every_read_fresh,
    a_body_that_is_not_a_json_object_is_422_and_changes_nothing,
    if_match_takes_a_list_of_etags_or_a_star_and_compares_strongly,
    a_patch_refuses_null_for_a_name_and_an_empty_patch,
);

async fn an_item_goes_through_its_whole_life(store: TestStore) {
    let app = store.spawn().await;
    let items = tenant(&app, "acme").await;

    let created = app
        .client
        .post(app.url(&items))
        .json(&json!({"name": "Desk lamp"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let item: Value = created.json().await.unwrap();
    assert_eq!(
        location,
        format!("{items}/{}", item["id"].as_str().unwrap())
    );

    let read = app.get(&location).await;
    assert_eq!(read.status(), StatusCode::OK);
    let etag = read.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(read.json::<Value>().await.unwrap(), item);
    let cached = app
        .client
        .get(app.url(&location))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);

    let patch = |if_match: Option<&str>| {
        let request = app
            .client
            .patch(app.url(&location))
            .json(&json!({"status": "archived"}));
        match if_match {
            Some(tag) => request.header("if-match", tag.to_owned()),
            None => request,
        }
        .send()
    };
    assert_eq!(
        patch(None).await.unwrap().status(),
        StatusCode::PRECONDITION_REQUIRED
    );
    let updated = patch(Some(&etag)).await.unwrap();
    assert_eq!(updated.status(), StatusCode::OK);
    assert_eq!(updated.headers()["etag"], "\"2\"");
    assert_eq!(
        patch(Some(&etag)).await.unwrap().status(),
        StatusCode::PRECONDITION_FAILED
    );

    let list: Value = app
        .get(&format!("{items}?status=archived"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["links"]["next"].is_null());

    let deleted = app.client.delete(app.url(&location)).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get(&location).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(store.count("items").await, 0);
    app.stop().await.unwrap();
}

async fn tenants_cannot_see_each_others_items(store: TestStore) {
    let app = store.spawn().await;
    let (acme, globex) = (tenant(&app, "acme").await, tenant(&app, "globex").await);
    let item: Value = app
        .client
        .post(app.url(&acme))
        .json(&json!({"name": "lamp"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let foreign = format!("{globex}/{}", item["id"].as_str().unwrap());
    assert_eq!(app.get(&foreign).await.status(), StatusCode::NOT_FOUND);
    let delete = app.client.delete(app.url(&foreign)).send().await.unwrap();
    assert_eq!(delete.status(), StatusCode::NOT_FOUND);
    let list: Value = app.get(&globex).await.json().await.unwrap();
    assert!(list["items"].as_array().unwrap().is_empty());
    app.stop().await.unwrap();
}

async fn a_retried_post_creates_once_and_a_refused_one_writes_nothing(store: TestStore) {
    let app = store.spawn().await;
    let items = tenant(&app, "acme").await;
    let post = |key: &'static str, name: &'static str| {
        app.client
            .post(app.url(&items))
            .header("idempotency-key", key)
            .json(&json!({"name": name}))
            .send()
    };
    let first = post("k1", "lamp").await.unwrap();
    let retry = post("k1", "lamp").await.unwrap();
    assert_eq!(
        (first.status(), retry.status()),
        (StatusCode::CREATED, StatusCode::CREATED)
    );
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(store.count("items").await, 1);

    let conflict = post("k2", "lamp").await.unwrap();
    assert_eq!(conflict.status(), StatusCode::CONFLICT);
    assert_eq!(
        store.count("item_idempotency_keys").await,
        1,
        "the refused create left no key"
    );

    let reused = post("k1", "desk").await.unwrap();
    assert_eq!(
        reused.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a key reused with another body is refused"
    );
    assert_eq!(reused.headers()["content-type"], "application/problem+json");
    assert_eq!(store.count("items").await, 1, "and creates nothing");
    app.stop().await.unwrap();
}

async fn a_tampered_cursor_is_400_naming_the_parameter(store: TestStore) {
    let app = store.spawn().await;
    let tenant = app.create_tenant("acme").await;
    for name in ["a", "b", "c"] {
        app.create_item(&tenant, name).await;
    }
    let items = format!("/api/v1/tenants/{tenant}/items");
    let page: Value = app
        .get(&format!("{items}?limit=1"))
        .await
        .json()
        .await
        .unwrap();
    let next = page["links"]["next"].as_str().unwrap();
    let (before, cursor) = next.split_once("cursor=").unwrap();
    let cursor = cursor.split('&').next().unwrap();
    // Flip one character of the sealed cursor: its MAC no longer matches.
    let flipped = if cursor.starts_with('A') { "B" } else { "A" };
    let tampered = format!("{before}cursor={flipped}{}", &cursor[1..]);
    let response = app.get(&tampered).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = response.json().await.unwrap();
    assert!(
        problem.to_string().contains("cursor"),
        "the problem names the parameter: {problem}"
    );
    app.stop().await.unwrap();
}

async fn every_client_error_is_problem_json_and_writes_nothing(store: TestStore) {
    let app = store.spawn().await;
    let items = tenant(&app, "acme").await;
    let ghost = "/api/v1/tenants/0190f5d2-7e1c-7000-8000-000000000000/items";
    let cases = [
        (
            app.client
                .post(app.url(&items))
                .header("content-type", "application/json")
                .body("{"),
            StatusCode::BAD_REQUEST,
        ),
        (
            app.client
                .post(app.url(&items))
                .header("content-type", "text/plain")
                .body("lamp"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            app.client.post(app.url(&items)).json(&json!({"name": " "})),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            app.client
                .post(app.url(&items))
                .json(&json!({"name": "x".repeat(70_000)})),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            app.client
                .post(app.url(ghost))
                .json(&json!({"name": "lamp"})),
            StatusCode::NOT_FOUND,
        ),
        (
            app.client.get(app.url(&format!("{items}?sort=price"))),
            StatusCode::BAD_REQUEST,
        ),
        (
            app.client.get(app.url(&format!("{items}/not-a-uuid"))),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (request, expected) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), expected);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["status"], expected.as_u16());
        assert!(
            problem["requestId"].is_string() && problem["traceId"].is_string(),
            "{problem}"
        );
    }
    assert_eq!(store.count("items").await, 0);
    app.stop().await.unwrap();
}

async fn a_long_list_is_walked_page_by_page_through_its_links(store: TestStore) {
    let app = store.spawn().await;
    let items = tenant(&app, "acme").await;
    for n in 0..25 {
        let name = format!("item {n:02}");
        app.client
            .post(app.url(&items))
            .json(&json!({"name": name}))
            .send()
            .await
            .unwrap();
    }
    let (mut names, mut next, mut pages) =
        (Vec::new(), Some(format!("{items}?limit=10&sort=-name")), 0);
    while let Some(link) = next {
        let page: Value = app.get(&link).await.json().await.unwrap();
        names.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| item["name"].as_str().unwrap().to_owned()),
        );
        next = page["links"]["next"].as_str().map(str::to_owned);
        pages += 1;
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..25).rev().map(|n| format!("item {n:02}")).collect();
    assert_eq!(names, expected);
    app.stop().await.unwrap();
}

async fn past_the_concurrency_limit_requests_are_shed_with_retry_after(store: TestStore) {
    // A client that sends its headers and only part of its body keeps one request in flight
    // (the handler waits for the rest); with room for one request, the next one is shed at once.
    let mut settings = crate::support::test_settings();
    settings.http.max_in_flight = 1;
    let app = TestApp::spawn_with(settings, store.storage()).await;
    let tenant = app.create_tenant("busy").await;
    let items = format!("/api/v1/tenants/{tenant}/items");
    let address = app.base_url.trim_start_matches("http://").to_owned();
    let body = r#"{"name": "slow lamp"}"#;
    // The head carries the headers the test client would send (credentials, where the
    // service checks them), so the request is admitted and then waits for its body.
    let credentials = app.client.post(app.url(&items)).build().unwrap();
    let mut head = format!(
        "POST {items} HTTP/1.1\r\nhost: {address}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in credentials.headers() {
        head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    head.push_str("\r\n");
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(&body.as_bytes()[..5]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let shed = app.get(&items).await;
    assert_eq!(shed.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(shed.headers()["retry-after"], "1");
    assert_eq!(shed.headers()["content-type"], "application/problem+json");
    let problem: Value = shed.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/overloaded");
    assert_eq!(
        app.get("/health/live").await.status(),
        StatusCode::OK,
        "health is never shed"
    );

    slow.write_all(&body.as_bytes()[5..]).await.unwrap();
    let mut response = vec![0; 512];
    let read = slow.read(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response[..read]);
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "the request in flight still succeeds: {response}"
    );
    assert_eq!(
        app.get(&items).await.status(),
        StatusCode::OK,
        "once it is done, requests are served again"
    );
    app.stop().await.unwrap();
}

/// The item's `ETag` and name, read over a connection the test keeps.
async fn read(app: &TestApp, location: &str) -> (String, String) {
    let response = app.get(location).await;
    assert_eq!(response.status(), StatusCode::OK);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let item: Value = response.json().await.unwrap();
    (etag, item["name"].as_str().unwrap().to_owned())
}

async fn rename(app: &TestApp, location: &str, etag: &str, name: &str) {
    let renamed = app
        .client
        .patch(app.url(location))
        .header("if-match", etag)
        .json(&json!({ "name": name }))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), StatusCode::OK);
}

/// What must hold once every client is gone: every connection back in the pool, and the
/// service ready.
async fn nothing_left_behind(app: &TestApp, store: &TestStore) {
    assert!(store.idle().await, "every connection is back in the pool");
    assert_eq!(app.get("/health/ready").await.status(), StatusCode::OK);
}

/// Long enough for a request sent on a local socket to reach what it waits for, or for the
/// service to notice a connection its client cut. The assertions below hold whether or not
/// it was long enough; only a run before the fix needs it, to show the fault.
const MOMENT: Duration = Duration::from_millis(300);

async fn reads_cut_off_by_their_clients_leave_nothing_behind_and_later_reads_see_the_latest_write(
    store: TestStore,
) {
    let app = store.spawn_with(crate::support::forgetful_settings()).await;
    let tenant = app.create_tenant("acme").await;
    let location = app.create_item(&tenant, "Desk lamp").await;
    tokio::time::sleep(crate::support::CACHE_FORGETS).await;

    // With the database busy, a first reader starts loading the item and a second one waits
    // for that load; then the first gives up.
    let held = store.hold_reads().await;
    let first = app.start_get(&location).await;
    tokio::time::sleep(MOMENT).await;
    let second = tokio::spawn(app.client.get(app.url(&location)).send());
    tokio::time::sleep(MOMENT).await;
    crate::support::cut(first);
    tokio::time::sleep(MOMENT).await;
    drop(held);
    let second = second.await.unwrap().unwrap();
    assert_eq!(
        second.status(),
        StatusCode::OK,
        "the reader that waited is served"
    );
    let etag = second.headers()["etag"].to_str().unwrap().to_owned();

    rename(&app, &location, &etag, "Desk lamp, renamed").await;
    tokio::time::sleep(crate::support::CACHE_FORGETS).await;
    assert_eq!(
        read(&app, &location).await.1,
        "Desk lamp, renamed",
        "a read after a committed write returns the write, not the abandoned load's answer"
    );
    nothing_left_behind(&app, &store).await;
    app.stop().await.unwrap();
}

async fn an_abort_storm_leaves_the_pool_idle_readiness_200_and_every_read_fresh(store: TestStore) {
    const ITEMS: usize = 40;
    let app = std::sync::Arc::new(store.spawn_with(crate::support::forgetful_settings()).await);
    let tenant = app.create_tenant("storm").await;
    let mut locations = Vec::new();
    for n in 0..ITEMS {
        locations.push(app.create_item(&tenant, &format!("item {n:02}")).await);
    }
    tokio::time::sleep(crate::support::CACHE_FORGETS).await;

    // Every item gets a reader that leads its load and gives up, and one that waits for it.
    let held = store.hold_reads().await;
    let mut abandoned = Vec::new();
    for location in &locations {
        abandoned.push(app.start_get(location).await);
    }
    tokio::time::sleep(MOMENT).await;
    let mut waiting = tokio::task::JoinSet::new();
    for location in &locations {
        waiting.spawn(app.client.get(app.url(location)).send());
    }
    tokio::time::sleep(MOMENT).await;
    abandoned.into_iter().for_each(crate::support::cut);
    tokio::time::sleep(MOMENT).await;
    drop(held);
    while let Some(response) = waiting.join_next().await {
        assert_eq!(response.unwrap().unwrap().status(), StatusCode::OK);
    }
    // Then clients that give up at any moment, many at once, over every item.
    let mut storm = tokio::task::JoinSet::new();
    for round in 0..10 * ITEMS {
        let (app, location) = (
            std::sync::Arc::clone(&app),
            locations[round % ITEMS].clone(),
        );
        storm.spawn(async move {
            let request = app.start_get(&location).await;
            // Spread over the first 3 ms: before, during and after the read.
            let after = (round as u64 * 7919) % 3000;
            tokio::time::sleep(Duration::from_micros(after)).await;
            crate::support::cut(request);
        });
    }
    while storm.join_next().await.is_some() {}

    for location in &locations {
        let (etag, name) = read(&app, location).await;
        rename(&app, location, &etag, &format!("{name}, fresh")).await;
    }
    tokio::time::sleep(crate::support::CACHE_FORGETS).await;
    for location in &locations {
        let (_, name) = read(&app, location).await;
        assert!(name.ends_with(", fresh"), "{location} read as {name:?}");
    }
    nothing_left_behind(&app, &store).await;
    std::sync::Arc::into_inner(app)
        .unwrap()
        .stop()
        .await
        .unwrap();
}

async fn a_body_that_is_not_a_json_object_is_422_and_changes_nothing(store: TestStore) {
    let app = store.spawn().await;
    let tenant = app.create_tenant("acme").await;
    let items = format!("/api/v1/tenants/{tenant}/items");
    let location = app.create_item(&tenant, "Desk lamp").await;
    for body in [
        json!(["name", "description"]),
        json!("Desk lamp"),
        json!(42),
        json!(null),
    ] {
        let created = app
            .client
            .post(app.url(&items))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let problem: Value = created.json().await.unwrap();
        assert_eq!(problem["errors"][0]["pointer"], "/", "{problem}");
        let patched = app
            .client
            .patch(app.url(&location))
            .header("if-match", "\"1\"")
            .json(&json!(["renamed", null, "archived"]))
            .send()
            .await
            .unwrap();
        assert_eq!(patched.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (etag, name) = read(&app, &location).await;
    assert_eq!((etag.as_str(), name.as_str()), ("\"1\"", "Desk lamp"));
    assert_eq!(store.count("items").await, 1);
    app.stop().await.unwrap();
}

async fn if_match_takes_a_list_of_etags_or_a_star_and_compares_strongly(store: TestStore) {
    let app = store.spawn().await;
    let tenant = app.create_tenant("acme").await;
    let location = app.create_item(&tenant, "Desk lamp").await;
    let patch = |if_match: &'static str, name: &'static str| {
        app.client
            .patch(app.url(&location))
            .header("if-match", if_match)
            .json(&json!({ "name": name }))
            .send()
    };
    assert_eq!(
        patch("\"7\", \"1\"", "one").await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(patch("*", "two").await.unwrap().status(), StatusCode::OK);
    for stale in ["W/\"3\"", "\"1\", \"2\"", "\"not-ours\""] {
        assert_eq!(
            patch(stale, "never").await.unwrap().status(),
            StatusCode::PRECONDITION_FAILED,
            "{stale}"
        );
    }
    assert_eq!(
        patch("3", "never").await.unwrap().status(),
        StatusCode::BAD_REQUEST,
        "not an entity tag at all"
    );
    assert_eq!(
        read(&app, &location).await,
        ("\"3\"".to_owned(), "two".to_owned())
    );
    let deleted = app
        .client
        .delete(app.url(&location))
        .header("if-match", "\"2\", \"3\"")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    app.stop().await.unwrap();
}

async fn a_patch_refuses_null_for_a_name_and_an_empty_patch(store: TestStore) {
    let app = store.spawn().await;
    let tenant = app.create_tenant("acme").await;
    let location = app.create_item(&tenant, "Desk lamp").await;
    // A null beside a valid change must not be dropped silently while the change goes through.
    for body in [
        json!({ "name": null, "description": "warm white" }),
        json!({ "status": null, "name": "Floor lamp" }),
        json!({}),
    ] {
        let patched = app
            .client
            .patch(app.url(&location))
            .header("if-match", "\"1\"")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(patched.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    assert_eq!(
        read(&app, &location).await,
        ("\"1\"".to_owned(), "Desk lamp".to_owned())
    );
    app.stop().await.unwrap();
}
