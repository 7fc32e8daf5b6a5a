//! The document of a service that checks bearer tokens: the scheme is declared, and every
//! operation under `/api/v1` names it and the refusals the access guard can give.

#[test]
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

/// What the document declares for a missing token is what the router answers: the 401 problem
/// with the `Bearer` challenge of RFC 6750, on every operation under `/api/v1`.
#[tokio::test]
async fn without_a_token_every_api_operation_answers_the_declared_401() {
    let router = crate::support::TestRouter::default().anonymous();
    let document = serde_json::to_value(adapter_http::openapi_document()).unwrap();
    let tenant = "0190f5d2-7e1c-7000-8000-000000000001";
    let item = "0190f5d2-7e1c-7000-8000-000000000002";
    let mut operations = 0;
    for (path, item_doc) in document["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        let uri = path.replace("{tenantId}", tenant).replace("{itemId}", item);
        for method in item_doc.as_object().unwrap().keys() {
            let method = axum::http::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            operations += 1;
            let response = router.send(method.clone(), &uri, None).await;
            assert_eq!(
                response.status,
                axum::http::StatusCode::UNAUTHORIZED,
                "{method} {uri}"
            );
            response.assert_problem("/problems/unauthorized");
            assert_eq!(
                response.header("www-authenticate"),
                "Bearer realm=\"api\"",
                "{method} {uri}"
            );
        }
    }
    assert!(operations >= 1, "no operation under /api/v1");
}
