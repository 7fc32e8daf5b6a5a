//! Conditional requests (RFC 9110 §13): versions as ETags, `If-None-Match` for cheap
//! re-reads (304) and `If-Match` for safe writes (412 when stale, 428 when missing). A resource
//! exposes its optimistic-locking version here; nothing else in the service parses these
//! headers.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::problem::{ApiError, Problem};

/// The strong ETag of a resource at `version`: `"7"`.
pub fn etag(version: i64) -> HeaderValue {
    // Digits and quotes only: always a valid header value.
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// Whether `If-None-Match` already names `version` (the client's copy is current: answer 304).
pub fn none_match(headers: &HeaderMap, version: i64) -> bool {
    let current = format!("\"{version}\"");
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| {
            value.split(',').map(str::trim).any(|tag| {
                // If-None-Match compares weakly: W/"7" matches "7".
                tag == "*" || tag.trim_start_matches("W/") == current
            })
        })
}

/// The version a write is conditioned on, from `If-Match`.
///
/// # Errors
/// 428 when the header is missing (a blind overwrite would lose someone else's change), 400
/// when it does not name one version.
pub fn required_version(headers: &HeaderMap) -> Result<i64, ApiError> {
    let value = headers.get(header::IF_MATCH).ok_or_else(|| -> ApiError {
        Problem::new(
            StatusCode::PRECONDITION_REQUIRED,
            "precondition-required",
            "Precondition required",
        )
        .with_detail(
            "Send If-Match with the ETag you read, so a concurrent change is not overwritten.",
        )
        .into()
    })?;
    parse_version(value)
}

/// The version a write is conditioned on, when the client sent `If-Match` at all.
///
/// # Errors
/// 400 when the header does not name one version.
pub fn optional_version(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    headers.get(header::IF_MATCH).map(parse_version).transpose()
}

fn parse_version(value: &HeaderValue) -> Result<i64, ApiError> {
    value
        .to_str()
        .ok()
        .and_then(|text| {
            text.trim()
                .strip_prefix('"')?
                .strip_suffix('"')?
                .parse()
                .ok()
        })
        .ok_or_else(|| {
            Problem::bad_request("If-Match must be one ETag as returned by this API, e.g. \"3\".")
                .into()
        })
}

/// 412: the resource changed since the client read it.
pub fn stale(current: i64) -> Problem {
    Problem::new(StatusCode::PRECONDITION_FAILED, "precondition-failed", "Precondition failed")
        .with_detail(format!(
            "The resource changed since you read it (it is now at ETag \"{current}\"); read it again and retry."
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: header::HeaderName, value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn if_none_match_matches_listed_weak_and_wildcard_tags() {
        assert!(none_match(
            &headers(header::IF_NONE_MATCH, "\"1\", \"7\""),
            7
        ));
        assert!(none_match(&headers(header::IF_NONE_MATCH, "W/\"7\""), 7));
        assert!(none_match(&headers(header::IF_NONE_MATCH, "*"), 7));
        assert!(!none_match(&headers(header::IF_NONE_MATCH, "\"6\""), 7));
        assert!(!none_match(&HeaderMap::new(), 7));
    }

    #[test]
    fn if_match_must_be_present_and_name_one_version() {
        assert_eq!(
            required_version(&headers(header::IF_MATCH, "\"3\"")).unwrap(),
            3
        );
        assert_eq!(
            required_version(&HeaderMap::new())
                .unwrap_err()
                .problem()
                .status,
            428
        );
        assert_eq!(
            required_version(&headers(header::IF_MATCH, "*"))
                .unwrap_err()
                .problem()
                .status,
            400
        );
        assert_eq!(
            required_version(&headers(header::IF_MATCH, "3"))
                .unwrap_err()
                .problem()
                .status,
            400
        );
        assert_eq!(optional_version(&HeaderMap::new()).unwrap(), None);
    }
}
