//! Wrapped extractors. axum's own extractors answer bad input with plain-text bodies; these
//! wrappers turn every rejection into the same problem+json shape as the rest of the API, with
//! the offending part named and no internals.

use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use crate::problem::{ApiError, FieldError, Problem};

/// A JSON body, parsed at once (for handlers that need it before anything else, like GraphQL's).
/// Malformed JSON is 400, a body that is not a JSON object or of the wrong shape 422, a missing
/// or wrong `Content-Type` 415, and a body over the limit 413.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        JsonBody::<T>::from_request(request, state)
            .await?
            .parse()
            .map(Self)
    }
}

/// A JSON body read but not yet parsed: a handler first settles who may do what (404, 403) and
/// the preconditions (428, 412), then calls [`JsonBody::parse`], so a caller without access
/// learns nothing from how its body would have been judged. `Content-Type` (415) and size (413)
/// are checked on arrival.
#[derive(Debug)]
pub struct JsonBody<T> {
    bytes: Bytes,
    shape: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> JsonBody<T> {
    /// The body as `T`.
    ///
    /// # Errors
    /// 400 for malformed JSON; 422 when it is not a JSON object or not the shape of `T`.
    pub fn parse(self) -> Result<T, ApiError> {
        // Every body of this API is an object; serde would otherwise take `["lamp"]` as a
        // struct written as an array.
        let first = self.bytes.iter().find(|byte| !byte.is_ascii_whitespace());
        if first.is_some_and(|byte| *byte != b'{')
            && serde_json::from_slice::<serde::de::IgnoredAny>(&self.bytes).is_ok()
        {
            return Err(Problem::validation(vec![FieldError {
                pointer: "/".to_owned(),
                detail: "the body must be a JSON object".to_owned(),
            }])
            .into());
        }
        match axum::Json::<T>::from_bytes(&self.bytes) {
            Ok(axum::Json(value)) => Ok(value),
            Err(rejection) => Err(json_problem(&rejection).into()),
        }
    }
}

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers()) {
            return Err(Problem::from_status(StatusCode::UNSUPPORTED_MEDIA_TYPE).into());
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| ApiError::from(Problem::from_status(rejection.status())))?;
        Ok(Self {
            bytes,
            shape: PhantomData,
        })
    }
}

/// Whether `Content-Type` is JSON: `application/json` or `application/<anything>+json`.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence
        .strip_prefix("application/")
        .is_some_and(|subtype| subtype == "json" || subtype.ends_with("+json"))
}

fn json_problem(rejection: &JsonRejection) -> Problem {
    match rejection {
        JsonRejection::JsonDataError(error) => Problem::validation(vec![FieldError {
            pointer: "/".to_owned(),
            // serde's message names the field and the expected type, and holds nothing internal.
            detail: std::error::Error::source(error)
                .map_or_else(|| error.body_text(), ToString::to_string),
        }]),
        JsonRejection::JsonSyntaxError(_) => Problem::bad_request("The body is not valid JSON."),
        JsonRejection::MissingJsonContentType(_) => {
            Problem::from_status(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        }
        other => Problem::from_status(other.status()),
    }
}

/// Path parameters. A parameter of the wrong form (not a UUID, say) is 400 naming it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(path_problem(&rejection).into()),
        }
    }
}

fn path_problem(rejection: &PathRejection) -> Problem {
    match rejection {
        PathRejection::FailedToDeserializePathParams(error) => {
            Problem::bad_request("A path parameter is invalid.").with_errors(vec![FieldError {
                pointer: "path".to_owned(),
                detail: error.body_text(),
            }])
        }
        other => Problem::from_status(other.status()),
    }
}

/// Query parameters. Unknown or malformed parameters are 400 naming the parameter.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(query_problem(&rejection).into()),
        }
    }
}

/// The query parameters of `uri`, parsed when the handler is ready for them: after its first
/// checks (see [`JsonBody`]). Unknown or malformed parameters are 400 naming the parameter.
///
/// # Errors
/// 400 as [`ApiQuery`] would answer.
pub fn query_of<T: DeserializeOwned>(uri: &axum::http::Uri) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(uri)
        .map(|axum::extract::Query(value)| value)
        .map_err(|rejection| query_problem(&rejection).into())
}

fn query_problem(rejection: &QueryRejection) -> Problem {
    match rejection {
        QueryRejection::FailedToDeserializeQueryString(error) => {
            Problem::bad_request("A query parameter is invalid.").with_errors(vec![FieldError {
                pointer: "query".to_owned(),
                detail: std::error::Error::source(error)
                    .map_or_else(|| error.body_text(), ToString::to_string),
            }])
        }
        other => Problem::from_status(other.status()),
    }
}
