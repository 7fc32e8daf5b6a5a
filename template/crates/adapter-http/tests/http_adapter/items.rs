//! The items endpoints' HTTP contract, over in-memory repositories: every status code the API
//! promises, and the problem+json shape of each error.

use crate::support::{TestResponse, TestRouter};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};

const TENANT: &str = "0190f5d2-7e1c-7000-8000-00000000000a";
const OTHER_TENANT: &str = "0190f5d2-7e1c-7000-8000-00000000000b";

fn items(tenant: &str) -> String {
    format!("/api/v1/tenants/{tenant}/items")
}

async fn create(app: &TestRouter, body: Value) -> TestResponse {
    app.send(Method::POST, &items(TENANT), Some(body)).await
}

#[tokio::test]
async fn create_answers_201_with_location_etag_and_the_item() {
    let app = TestRouter::default();
    let response = create(&app, json!({"name": " Desk lamp "})).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let item = response.json();
    assert_eq!(item["name"], "Desk lamp");
    assert_eq!(item["status"], "active");
    assert_eq!(item["version"], 1);
    assert_eq!(response.header("etag"), "\"1\"");
    let id = item["id"].as_str().unwrap();
    assert_eq!(
        response.header("location"),
        format!("{}/{id}", items(TENANT))
    );

    let read = app
        .send(Method::GET, &response.header("location"), None)
        .await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.header("etag"), "\"1\"");
    assert_eq!(read.json(), item);
}

#[tokio::test]
async fn if_none_match_with_the_current_etag_is_304_without_a_body() {
    let app = TestRouter::default();
    let location = create(&app, json!({"name": "lamp"}))
        .await
        .header("location");
    let cached = app
        .send_with(Method::GET, &location, None, &[("if-none-match", "\"1\"")])
        .await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED);
    assert!(cached.body.is_empty());
    assert_eq!(cached.header("etag"), "\"1\"");
    let stale = app
        .send_with(Method::GET, &location, None, &[("if-none-match", "\"0\"")])
        .await;
    assert_eq!(stale.status, StatusCode::OK);
}

#[tokio::test]
async fn patch_needs_if_match_and_refuses_a_stale_version() {
    let app = TestRouter::default();
    let location = create(&app, json!({"name": "lamp"}))
        .await
        .header("location");
    let patch = json!({"name": "floor lamp", "description": "tall"});

    let missing = app
        .send(Method::PATCH, &location, Some(patch.clone()))
        .await;
    assert_eq!(missing.status, StatusCode::PRECONDITION_REQUIRED);
    missing.assert_problem("/problems/precondition-required");

    let updated = app
        .send_with(
            Method::PATCH,
            &location,
            Some(patch.clone()),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text());
    assert_eq!(updated.header("etag"), "\"2\"");
    assert_eq!(updated.json()["name"], "floor lamp");

    let stale = app
        .send_with(
            Method::PATCH,
            &location,
            Some(patch),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    stale.assert_problem("/problems/precondition-failed");

    let garbage = app
        .send_with(
            Method::PATCH,
            &location,
            Some(json!({"status": "archived"})),
            &[("if-match", "3")],
        )
        .await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST, "not an entity tag");
}

#[tokio::test]
async fn patch_null_removes_the_description_and_validates_fields() {
    let app = TestRouter::default();
    let location = create(&app, json!({"name": "lamp", "description": "warm"}))
        .await
        .header("location");
    let cleared = app
        .send_with(
            Method::PATCH,
            &location,
            Some(json!({"description": null})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(cleared.status, StatusCode::OK);
    assert!(cleared.json()["description"].is_null());

    let invalid = app
        .send_with(
            Method::PATCH,
            &location,
            Some(json!({"status": "gone"})),
            &[("if-match", "\"2\"")],
        )
        .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid.json()["errors"][0]["pointer"], "/status");
}

#[tokio::test]
async fn duplicate_names_are_409_within_a_tenant_only() {
    let app = TestRouter::default();
    create(&app, json!({"name": "lamp"})).await;
    let response = create(&app, json!({"name": "lamp"})).await;
    assert_eq!(response.status, StatusCode::CONFLICT);
    response.assert_problem("/problems/conflict");
    let elsewhere = app
        .send(
            Method::POST,
            &items(OTHER_TENANT),
            Some(json!({"name": "lamp"})),
        )
        .await;
    assert_eq!(elsewhere.status, StatusCode::CREATED);
}

#[tokio::test]
async fn another_tenants_item_is_404_not_403() {
    let app = TestRouter::default();
    let item = create(&app, json!({"name": "lamp"})).await.json();
    let foreign = format!("{}/{}", items(OTHER_TENANT), item["id"].as_str().unwrap());
    for method in [Method::GET, Method::DELETE] {
        let response = app.send(method, &foreign, None).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND);
        response.assert_problem("/problems/not-found");
    }
}

#[tokio::test]
async fn the_same_idempotency_key_creates_once_and_refuses_another_body() {
    let app = TestRouter::default();
    let key = [("idempotency-key", "create-lamp-1")];
    let first = app
        .send_with(
            Method::POST,
            &items(TENANT),
            Some(json!({"name": "lamp"})),
            &key,
        )
        .await;
    let again = app
        .send_with(
            Method::POST,
            &items(TENANT),
            Some(json!({"name": "lamp"})),
            &key,
        )
        .await;
    assert_eq!(
        (first.status, again.status),
        (StatusCode::CREATED, StatusCode::CREATED)
    );
    assert_eq!(first.json()["id"], again.json()["id"]);
    assert_eq!(again.header("idempotent-replayed"), "true");
    let list = app.send(Method::GET, &items(TENANT), None).await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    let other = app
        .send_with(
            Method::POST,
            &items(TENANT),
            Some(json!({"name": "desk"})),
            &key,
        )
        .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    other.assert_problem("/problems/idempotency-key-reused");

    let bad = app
        .send_with(
            Method::POST,
            &items(TENANT),
            Some(json!({"name": "x"})),
            &[("idempotency-key", "has space")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn invalid_fields_are_422_listing_each_field() {
    let app = TestRouter::default();
    let response = create(&app, json!({"name": "", "description": "x".repeat(1001)})).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response.assert_problem("/problems/validation-error");
    let pointers: Vec<String> = response.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| error["pointer"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(pointers, ["/name", "/description"]);
}

#[tokio::test]
async fn a_body_of_the_wrong_shape_is_422() {
    let app = TestRouter::default();
    let response = create(&app, json!({"name": 42})).await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response.assert_problem("/problems/validation-error");
}

#[tokio::test]
async fn malformed_json_is_400_and_a_non_json_body_415() {
    let app = TestRouter::default();
    let malformed = Request::post(items(TENANT))
        .header("content-type", "application/json")
        .body(Body::from("{\"name\": "))
        .unwrap();
    let response = app.send_request(malformed).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    response.assert_problem("/problems/malformed-request");

    let text = Request::post(items(TENANT))
        .header("content-type", "text/plain")
        .body(Body::from("name=lamp"))
        .unwrap();
    let response = app.send_request(text).await;
    assert_eq!(response.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    response.assert_problem("/problems/unsupported-media-type");
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = TestRouter::default();
    // The test router accepts 2 KiB.
    let response = create(
        &app,
        json!({"name": "lamp", "description": "x".repeat(4_000)}),
    )
    .await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    response.assert_problem("/problems/payload-too-large");
}

#[tokio::test]
async fn unknown_ids_are_404_and_malformed_ids_400() {
    let app = TestRouter::default();
    let missing = format!("{}/0190f5d2-7e1c-7000-8000-000000000000", items(TENANT));
    let response = app.send(Method::GET, &missing, None).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    response.assert_problem("/problems/not-found");

    let response = app
        .send(Method::GET, &format!("{}/not-a-uuid", items(TENANT)), None)
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    response.assert_problem("/problems/malformed-request");
}

#[tokio::test]
async fn delete_answers_204_then_the_item_is_gone_and_honours_if_match() {
    let app = TestRouter::default();
    let location = create(&app, json!({"name": "lamp"}))
        .await
        .header("location");
    let stale = app
        .send_with(Method::DELETE, &location, None, &[("if-match", "\"7\"")])
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let response = app
        .send_with(Method::DELETE, &location, None, &[("if-match", "\"1\"")])
        .await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert!(response.body.is_empty());
    assert_eq!(
        app.send(Method::GET, &location, None).await.status,
        StatusCode::NOT_FOUND
    );
}

/// Follows `links.next` from `first` to the end; returns the names and the number of pages.
async fn walk(app: &TestRouter, first: String) -> (Vec<Value>, usize) {
    let (mut names, mut next, mut pages) = (Vec::new(), Some(first), 0);
    while let Some(url) = next {
        let page = app.send(Method::GET, &url, None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let body = page.json();
        assert_eq!(body["links"]["self"], url);
        names.extend(
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|item| item["name"].clone()),
        );
        next = body["links"]["next"].as_str().map(str::to_owned);
        pages += 1;
    }
    (names, pages)
}

#[tokio::test]
async fn lists_are_paged_in_every_whitelisted_order() {
    let app = TestRouter::default();
    for name in ["b", "d", "a", "c", "e"] {
        create(&app, json!({"name": name})).await;
    }
    let base = items(TENANT);
    let (names, pages) = walk(&app, format!("{base}?limit=2")).await;
    assert_eq!(
        (names, pages),
        (
            vec![json!("b"), json!("d"), json!("a"), json!("c"), json!("e")],
            3
        )
    );
    let (names, _) = walk(&app, format!("{base}?limit=2&sort=-name")).await;
    assert_eq!(names, ["e", "d", "c", "b", "a"]);
    let (names, _) = walk(&app, format!("{base}?limit=3&sort=-createdAt")).await;
    assert_eq!(names, ["e", "c", "a", "d", "b"]);
}

#[tokio::test]
async fn lists_filter_by_status() {
    let app = TestRouter::default();
    let location = create(&app, json!({"name": "old"}))
        .await
        .header("location");
    create(&app, json!({"name": "new"})).await;
    app.send_with(
        Method::PATCH,
        &location,
        Some(json!({"status": "archived"})),
        &[("if-match", "\"1\"")],
    )
    .await;
    let (names, _) = walk(&app, format!("{}?status=archived", items(TENANT))).await;
    assert_eq!(names, ["old"]);
}

#[tokio::test]
async fn unknown_or_invalid_list_parameters_are_400_naming_them() {
    let app = TestRouter::default();
    for (query, parameter) in [
        ("colour=red", "colour"),
        ("limit=1000", "limit"),
        ("sort=price", "sort"),
        ("status=deleted", "status"),
        ("cursor=forged.cursor", "cursor"),
    ] {
        let response = app
            .send(Method::GET, &format!("{}?{query}", items(TENANT)), None)
            .await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{query}");
        response.assert_problem("/problems/malformed-request");
        let error = &response.json()["errors"][0];
        assert!(
            error["pointer"] == parameter || error["detail"].as_str().unwrap().contains(parameter),
            "{query}: {error}"
        );
    }
}

#[tokio::test]
async fn a_cursor_only_continues_its_own_query() {
    let app = TestRouter::default();
    for name in ["a", "b", "c"] {
        create(&app, json!({"name": name})).await;
    }
    let page = app
        .send(
            Method::GET,
            &format!("{}?limit=1&sort=name", items(TENANT)),
            None,
        )
        .await
        .json();
    let next = page["links"]["next"].as_str().unwrap();
    let cursor = next.split("cursor=").nth(1).unwrap();
    for tampered in [
        format!("{}?limit=1&sort=-name&cursor={cursor}", items(TENANT)),
        format!("{}?limit=1&sort=name&cursor={cursor}", items(OTHER_TENANT)),
    ] {
        let response = app.send(Method::GET, &tampered, None).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{tampered}");
        assert_eq!(response.json()["errors"][0]["pointer"], "cursor");
    }
}

#[tokio::test]
async fn tenants_are_created_read_and_unique() {
    let app = TestRouter::default();
    let created = app
        .send(
            Method::POST,
            "/api/v1/tenants",
            Some(json!({"name": "Acme"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let read = app
        .send(Method::GET, &created.header("location"), None)
        .await;
    assert_eq!(read.json()["name"], "Acme");
    let again = app
        .send(
            Method::POST,
            "/api/v1/tenants",
            Some(json!({"name": "Acme"})),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let missing = app
        .send(
            Method::GET,
            &format!("/api/v1/tenants/{OTHER_TENANT}"),
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}
