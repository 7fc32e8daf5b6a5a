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

/// What `If-Match` admits. A resource maps it onto its own precondition type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: any version of a resource that exists.
    Any,
    /// These versions (from the strong tags that are versions of ours); empty: none.
    Versions(Vec<i64>),
}

/// The versions a write is conditioned on, from `If-Match` (RFC 9110 §13.1.1): `*` (any
/// version of an item that exists), or a list of entity tags compared strongly: `"3"` names
/// version 3, a weak tag (`W/"3"`) or a tag this service never gives out names none.
///
/// # Errors
/// 428 when the header is missing (a blind overwrite would lose someone else's change), 400
/// when it is not an `If-Match` value at all.
pub fn required_match(headers: &HeaderMap) -> Result<IfMatch, ApiError> {
    if !headers.contains_key(header::IF_MATCH) {
        return Err(Problem::new(
            StatusCode::PRECONDITION_REQUIRED,
            "precondition-required",
            "Precondition required",
        )
        .with_detail(
            "Send If-Match with the ETag you read, so a concurrent change is not overwritten.",
        )
        .into());
    }
    optional_match(headers)
}

/// The versions a write is conditioned on, when the client sent `If-Match`; without it, any.
///
/// # Errors
/// 400 when the header is not an `If-Match` value.
pub fn optional_match(headers: &HeaderMap) -> Result<IfMatch, ApiError> {
    let mut values = headers.get_all(header::IF_MATCH).iter().peekable();
    if values.peek().is_none() {
        return Ok(IfMatch::Any);
    }
    let mut versions = Vec::new();
    for value in values {
        let text = value.to_str().map_err(|_| malformed_if_match())?;
        if text.trim() == "*" {
            return Ok(IfMatch::Any);
        }
        for tag in entity_tags(text).ok_or_else(malformed_if_match)? {
            if let Some(version) = tag
                .strip_prefix('"')
                .and_then(|tag| tag.strip_suffix('"'))
                .and_then(|digits| digits.parse().ok())
                .filter(|version: &i64| *version >= 1)
            {
                versions.push(version);
            }
        }
    }
    Ok(IfMatch::Versions(versions))
}

/// The strong entity tags of a list (`#entity-tag`), or `None` when the value breaks the
/// grammar. Weak tags are checked and dropped: the strong comparison `If-Match` uses never
/// matches them. Empty list elements are allowed, as RFC 9110 §5.6.1 says.
fn entity_tags(list: &str) -> Option<Vec<&str>> {
    let (mut tags, mut rest) = (Vec::new(), list);
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return Some(tags);
        }
        let opaque = rest.strip_prefix("W/").unwrap_or(rest);
        let closing = opaque.strip_prefix('"')?.find('"')? + 1;
        let tag = &opaque[..=closing];
        // etagc: %x21 / %x23-7E / obs-text; no DQUOTE, no control characters, no space.
        let inside = &tag[1..tag.len() - 1];
        if !inside
            .bytes()
            .all(|byte| byte == 0x21 || (0x23..=0x7e).contains(&byte) || byte >= 0x80)
        {
            return None;
        }
        if opaque.len() == rest.len() {
            tags.push(tag);
        }
        rest = opaque[tag.len()..].trim_start_matches([' ', '\t']);
        if !(rest.is_empty() || rest.starts_with(',')) {
            return None;
        }
    }
}

fn malformed_if_match() -> ApiError {
    Problem::bad_request("If-Match is malformed.")
        .with_errors(vec![crate::problem::FieldError {
            pointer: "If-Match".to_owned(),
            detail:
                "must be * or a comma-separated list of entity tags, e.g. \"3\" or \"2\", \"3\""
                    .to_owned(),
        }])
        .into()
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
    fn if_match_is_required_for_a_change_and_read_as_rfc_9110_lists_it() {
        let required = |value: &'static str| required_match(&headers(header::IF_MATCH, value));
        assert_eq!(required("\"3\"").unwrap(), IfMatch::Versions(vec![3]));
        assert_eq!(required("*").unwrap(), IfMatch::Any);
        assert_eq!(
            required("\"2\", \"3\" ,,\"4\"").unwrap(),
            IfMatch::Versions(vec![2, 3, 4])
        );
        assert_eq!(
            required("W/\"3\", \"x,y\"").unwrap(),
            IfMatch::Versions(vec![]),
            "strong comparison: a weak tag or a foreign one matches no version"
        );
        for malformed in ["3", "\"3", "\"3\" \"4\"", "W/3", "\"a b\""] {
            assert_eq!(
                required(malformed).unwrap_err().problem().status,
                400,
                "{malformed}"
            );
        }
        assert_eq!(
            required_match(&HeaderMap::new())
                .unwrap_err()
                .problem()
                .status,
            428
        );
        assert_eq!(optional_match(&HeaderMap::new()).unwrap(), IfMatch::Any);
    }
}
