//! The OpenAPI document committed in `docs/openapi.json` is the one the code serves. Client
//! generators and reviewers read the file; this test keeps it honest.
//! Refresh it with `UPDATE_OPENAPI=1 cargo test -p adapter-http --test openapi`.

// A failed unwrap in a test is a failed assertion, with the value in the message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");

#[test]
fn the_committed_openapi_document_is_current() {
    let served = serde_json::to_string_pretty(&adapter_http::openapi_document()).unwrap() + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(COMMITTED, &served).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == served,
        "docs/openapi.json differs from what the service serves; run \
         `UPDATE_OPENAPI=1 cargo test -p adapter-http --test openapi` and commit the result"
    );
}

{% if auth == "jwt" %}#[test]
fn every_api_operation_declares_the_bearer_scheme_and_its_refusals() {
    let document = serde_json::to_value(adapter_http::openapi_document()).unwrap();
    let scheme = &document["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http", "{scheme}");
    assert_eq!(scheme["scheme"], "bearer", "{scheme}");
    assert_eq!(scheme["bearerFormat"], "JWT", "{scheme}");
    let mut operations = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if !path.starts_with("/api/v1/") {
                continue;
            }
            operations += 1;
            assert_eq!(
                operation["security"],
                serde_json::json!([{"bearer": []}]),
                "{method} {path}"
            );
            for status in ["401", "403", "429", "503"] {
                let response = &operation["responses"][status];
                assert!(
                    response["content"]["application/problem+json"].is_object(),
                    "{method} {path} lacks a {status} problem response"
                );
            }
        }
    }
    assert!(operations >= 1, "no operation under /api/v1");
}
{% else %}#[test]
fn no_operation_promises_a_token_check_that_the_service_does_not_make() {
    let document = serde_json::to_value(adapter_http::openapi_document()).unwrap();
    assert!(
        document["components"]["securitySchemes"].is_null(),
        "auth=none declares no security scheme"
    );
    let mut operations = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if !path.starts_with("/api/v1/") {
                continue;
            }
            operations += 1;
            assert!(operation["security"].is_null(), "{method} {path}");
            for status in ["401", "403"] {
                assert!(
                    operation["responses"][status].is_null(),
                    "{method} {path} documents a {status} it never answers"
                );
            }
            for status in ["429", "503"] {
                let response = &operation["responses"][status];
                assert!(
                    response["content"]["application/problem+json"].is_object(),
                    "{method} {path} lacks a {status} problem response"
                );
            }
        }
    }
    assert!(operations >= 1, "no operation under /api/v1");
}
{% endif %}