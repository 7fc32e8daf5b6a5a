//! The OpenAPI document committed in `docs/openapi.json` is the one the code serves. Client
//! generators and reviewers read the file; this test keeps it honest.
//! Refresh it with `UPDATE_OPENAPI=1 cargo test -p adapter-http --test http_adapter openapi`.

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
         `UPDATE_OPENAPI=1 cargo test -p adapter-http --test http_adapter openapi` and commit the result"
    );
}
