//! The document of a service generated with `auth=none`: no security scheme, and no operation
//! promises a 401 or 403 it never answers.

#[test]
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
