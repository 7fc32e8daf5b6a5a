//! Wrapped extractors. axum's own extractors answer bad input with plain-text bodies; these
//! wrappers turn every rejection into the same problem+json shape as the rest of the API, with
//! the offending part named and no internals.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::problem::{ApiError, FieldError, Problem};

/// A JSON body. Malformed JSON is 400, a body of the wrong shape 422, a missing or wrong
/// `Content-Type` 415, and a body over the limit 413.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_problem(&rejection).into()),
        }
    }
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
