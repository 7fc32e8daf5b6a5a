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
