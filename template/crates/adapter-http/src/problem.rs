//! RFC 9457 problem details: the one shape of every error a client can see.
//!
//! Handlers return [`ApiError`] (a boxed [`Problem`]); the `render_problems` middleware (in `router.rs`) is the single
//! place that writes them out, adding the request id, the trace id and the `instance`, and it
//! also converts error responses that did not come from a handler (unknown route, wrong method,
//! body too large, timeout, panic) so none escapes with another shape. Domain errors become
//! problems here and nowhere else; a 5xx never carries its cause, which is logged instead.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid input field, as reported in a 422 or 400 problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FieldError {
    /// Where the problem is: a JSON pointer into the body (`/name`) or a parameter name.
    pub pointer: String,
    /// What is wrong, in words a developer can act on.
    pub detail: String,
}

/// An RFC 9457 problem, with the request and trace ids that lead to the logs and the trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "type": "/problems/not-found",
    "title": "Resource not found",
    "status": 404,
    "detail": "item 0199... does not exist",
    "instance": "/api/v1/items/0199...",
    "requestId": "5f0c6d0e-2b1f-4c55-9d1b-8c4e1f1e2a3b",
    "traceId": "4bf92f3577b34da6a3ce929d0e0e4736"
}))]
pub struct Problem {
    /// A stable URI naming the kind of problem; clients branch on this, not on `title`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the kind of problem; the same for every occurrence.
    pub title: String,
    /// The HTTP status code, repeated for clients that lose the header.
    pub status: u16,
    /// What went wrong in this occurrence. Never holds internals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The path of the request that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The request id (`x-request-id`), to find the logs of this request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The W3C trace id, to find the trace of this request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// The invalid fields, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl Problem {
    /// A problem of a kind named by `slug` (the catalogue is `docs/errors.md`).
    pub fn new(status: StatusCode, slug: &str, title: &str) -> Self {
        Self {
            problem_type: format!("/problems/{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: None,
            instance: None,
            request_id: None,
            trace_id: None,
            errors: Vec::new(),
        }
    }

    /// The problem for a bare status code, used for errors that no handler produced.
    pub fn from_status(status: StatusCode) -> Self {
        match status {
            StatusCode::BAD_REQUEST => Self::bad_request("The request is malformed."),
            StatusCode::NOT_FOUND => Self::not_found("No resource exists at this path."),
            StatusCode::METHOD_NOT_ALLOWED => {
                Self::new(status, "method-not-allowed", "Method not allowed")
                    .with_detail("This resource does not support the method; see the Allow header.")
            }
            StatusCode::PAYLOAD_TOO_LARGE => {
                Self::new(status, "payload-too-large", "Payload too large")
                    .with_detail("The request body is larger than this service accepts.")
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                Self::new(status, "unsupported-media-type", "Unsupported media type")
                    .with_detail("Send the body as application/json.")
            }
            StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => {
                Self::new(status, "unavailable", "Service unavailable")
                    .with_detail("The service could not answer in time; retry later.")
            }
            StatusCode::TOO_MANY_REQUESTS => Self::new(status, "rate-limited", "Too many requests")
                .with_detail("Slow down; see the Retry-After header."),
            status if status.is_server_error() => Self {
                status: status.as_u16(),
                ..Self::internal()
            },
            status => Self {
                problem_type: "about:blank".to_owned(),
                title: status.canonical_reason().unwrap_or("Error").to_owned(),
                ..Self::new(status, "", "")
            },
        }
    }

    /// 400: the request cannot be parsed.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed-request",
            "Malformed request",
        )
        .with_detail(detail)
    }

    /// 404: the resource does not exist (or the caller may not know that it does).
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Resource not found").with_detail(detail)
    }

    /// 403: the caller is known but its roles do not grant what this operation needs.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden").with_detail(detail)
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", "Conflict").with_detail(detail)
    }

    /// 422: the request is well-formed but its content breaks the rules.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self {
            errors,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation-error",
                "Invalid input",
            )
            .with_detail("One or more fields are invalid; see `errors`.")
        }
    }

    /// 500: something failed that the client cannot fix. Says nothing about the cause.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-error",
            "Internal server error",
        )
        .with_detail(
            "The service failed to handle this request; quote the requestId when reporting it.",
        )
    }

    /// The same problem with a detail for this occurrence.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The same problem listing the fields or parameters at fault.
    #[must_use]
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// Logs an unexpected error once, with its whole cause chain, and returns the opaque 500.
    pub fn unexpected(error: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error = %ErrorChain(error), "request failed unexpectedly");
        Self::internal()
    }

    /// The HTTP status.
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The `application/problem+json` body of this problem, as written out. Only
    /// `render_problems` (in `router.rs`) calls it, once per response.
    pub fn to_body(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// A problem as a response: its status, its media type, and the problem itself in the
/// extensions. The body is written once, by `render_problems`, which adds the request id,
/// trace id and instance only it knows; so a problem is serialised once, never written here
/// and rewritten there.
impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut response = self.status_code().into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response.extensions_mut().insert(self);
        response
    }
}

/// What handlers and extractors return on failure: a boxed [`Problem`], so `Result`s stay
/// small on the happy path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError(Box<Problem>);

impl ApiError {
    /// The problem this error will be written as.
    pub fn problem(&self) -> &Problem {
        &self.0
    }
}

impl From<Problem> for ApiError {
    fn from(problem: Problem) -> Self {
        Self(Box::new(problem))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (*self.0).into_response()
    }
}

impl From<domain::auth::Forbidden> for ApiError {
    fn from(error: domain::auth::Forbidden) -> Self {
        Problem::forbidden(format!(
            "Your roles do not grant the {} permission.",
            error.permission
        ))
        .into()
    }
}

/// Prints an error with all its sources: `outer: middle: root cause`.
struct ErrorChain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_with_rfc_9457_member_names() {
        let problem = Problem::not_found("item 1 does not exist");
        let json = serde_json::to_value(&problem).unwrap();
        assert_eq!(json["type"], "/problems/not-found");
        assert_eq!(json["status"], 404);
        assert_eq!(json["detail"], "item 1 does not exist");
        assert!(json.get("errors").is_none(), "empty lists are left out");
    }

    #[test]
    fn server_errors_say_nothing_about_the_cause() {
        let problem = Problem::from_status(StatusCode::BAD_GATEWAY);
        assert_eq!(problem.status, 502);
        assert_eq!(problem.detail, Problem::internal().detail);
        assert_eq!(problem.problem_type, "/problems/internal-error");
    }

    #[test]
    fn unknown_client_errors_use_about_blank_with_the_reason_phrase() {
        let problem = Problem::from_status(StatusCode::IM_A_TEAPOT);
        assert_eq!(problem.problem_type, "about:blank");
        assert_eq!(problem.title, "I'm a teapot");
        assert_eq!(problem.status, 418);
    }
}
