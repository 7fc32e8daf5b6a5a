//! The request id: one header that follows a request through the client's logs and ours. The
//! router sets it (a new UUID unless the client sent a usable one) and echoes it; problems and
//! spans carry it; CORS lets a browser read it. A leaf: it knows headers, nothing of routes.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};

/// The header that carries the request id in and out.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client-sent request id kept.
const REQUEST_ID_MAX_LEN: usize = 128;

/// A client may send its own `x-request-id` to follow a request through its logs and ours, but
/// it is echoed in the response, copied into problems and logged: only a short id of safe
/// characters (`A-Z a-z 0-9 . _ : -`, at most 128) is kept; any other is dropped, and a new one
/// is minted in its place.
pub(crate) async fn drop_unusable(mut request: Request) -> Request {
    let usable = |value: &HeaderValue| {
        let bytes = value.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= REQUEST_ID_MAX_LEN
            && bytes
                .iter()
                .all(|byte| byte.is_ascii_alphanumeric() || b"._:-".contains(byte))
    };
    let headers = request.headers_mut();
    let values = headers.get_all(&REQUEST_ID);
    let mut values = values.iter();
    let keep = matches!((values.next(), values.next()), (Some(value), None) if usable(value));
    if !keep {
        headers.remove(&REQUEST_ID);
    }
    request
}
