//! The items endpoints' HTTP contract, over the in-memory repository: every status code the
//! API promises, and the problem+json shape of each error.

// A failed unwrap in a test is a failed assertion, with the value in the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;
use support::TestRouter;

#[tokio::test]
async fn create_answers_201_with_location_and_the_item() {
    let app = TestRouter::default();
    let response = app
        .send(
            Method::POST,
            "/api/v1/items",
            Some(json!({"name": " Desk lamp "})),
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let item = response.json();
    assert_eq!(item["name"], "Desk lamp");
    assert_eq!(item["version"], 1);
    assert_eq!(
        response.header("location"),
        format!("/api/v1/items/{}", item["id"].as_str().unwrap())
    );

    let read = app
        .send(Method::GET, &response.header("location"), None)
        .await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json(), item);
}

#[tokio::test]
async fn duplicate_names_are_409() {
    let app = TestRouter::default();
    app.send(Method::POST, "/api/v1/items", Some(json!({"name": "lamp"})))
        .await;
    let response = app
        .send(Method::POST, "/api/v1/items", Some(json!({"name": "lamp"})))
        .await;
    assert_eq!(response.status, StatusCode::CONFLICT);
    response.assert_problem("/problems/conflict");
}

#[tokio::test]
async fn invalid_fields_are_422_listing_each_field() {
    let app = TestRouter::default();
    let body = json!({"name": "", "description": "x".repeat(1001)});
    let response = app.send(Method::POST, "/api/v1/items", Some(body)).await;
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
    let response = app
        .send(Method::POST, "/api/v1/items", Some(json!({"name": 42})))
        .await;
    assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
    response.assert_problem("/problems/validation-error");
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = TestRouter::default();
    let request = Request::post("/api/v1/items")
        .header("content-type", "application/json")
        .body(Body::from("{\"name\": "))
        .unwrap();
    let response = app.send_request(request).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    response.assert_problem("/problems/malformed-request");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let app = TestRouter::default();
    let request = Request::post("/api/v1/items")
        .header("content-type", "text/plain")
        .body(Body::from("name=lamp"))
        .unwrap();
    let response = app.send_request(request).await;
    assert_eq!(response.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    response.assert_problem("/problems/unsupported-media-type");
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = TestRouter::default();
    // The test router accepts 2 KiB.
    let body = json!({"name": "lamp", "description": "x".repeat(4_000)});
    let response = app.send(Method::POST, "/api/v1/items", Some(body)).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    response.assert_problem("/problems/payload-too-large");
}

#[tokio::test]
async fn unknown_ids_are_404_and_malformed_ids_400() {
    let app = TestRouter::default();
    let missing = "/api/v1/items/0190f5d2-7e1c-7000-8000-000000000000";
    let response = app.send(Method::GET, missing, None).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    response.assert_problem("/problems/not-found");
    let response = app.send(Method::DELETE, missing, None).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);

    let response = app
        .send(Method::GET, "/api/v1/items/not-a-uuid", None)
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    response.assert_problem("/problems/malformed-request");
}

#[tokio::test]
async fn delete_answers_204_then_the_item_is_gone() {
    let app = TestRouter::default();
    let created = app
        .send(Method::POST, "/api/v1/items", Some(json!({"name": "lamp"})))
        .await;
    let location = created.header("location");
    let response = app.send(Method::DELETE, &location, None).await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert!(response.body.is_empty());
    assert_eq!(
        app.send(Method::GET, &location, None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn lists_are_paged_with_a_next_link_until_the_end() {
    let app = TestRouter::default();
    for n in 0..5 {
        app.send(
            Method::POST,
            "/api/v1/items",
            Some(json!({"name": format!("item {n}")})),
        )
        .await;
    }
    let mut names = Vec::new();
    let mut next = Some("/api/v1/items?limit=2".to_owned());
    let mut pages = 0;
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
    assert_eq!(pages, 3);
    assert_eq!(names, ["item 0", "item 1", "item 2", "item 3", "item 4"]);
}

#[tokio::test]
async fn unknown_or_out_of_range_list_parameters_are_400_naming_them() {
    let app = TestRouter::default();
    let response = app
        .send(Method::GET, "/api/v1/items?colour=red", None)
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    response.assert_problem("/problems/malformed-request");
    assert!(
        response.json()["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("colour")
    );

    let response = app
        .send(Method::GET, "/api/v1/items?limit=1000", None)
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.json()["errors"][0]["pointer"], "limit");
}
