//! How a failed use case looks in a GraphQL answer: the message is the problem's detail, and
//! `extensions` carries the very problem REST would have answered (`type`, `title`, `status`,
//! `errors`) with the trace id. Clients branch on `extensions.type`, as REST clients do on
//! `type`; nothing here may add internals a REST problem would not show.

use async_graphql::{ErrorExtensions, Value};

use crate::problem::ApiError;

/// A resolver's error, from anything REST would answer as a problem.
pub(crate) fn field_error(error: impl Into<ApiError>) -> async_graphql::Error {
    let error: ApiError = error.into();
    let problem = error.problem().clone();
    let message = problem
        .detail
        .clone()
        .unwrap_or_else(|| problem.title.clone());
    async_graphql::Error::new(message).extend_with(move |_, extensions| {
        extensions.set("type", problem.problem_type.clone());
        extensions.set("title", problem.title.clone());
        extensions.set("status", i32::from(problem.status));
        if let Some(trace_id) = telemetry::current_trace_id() {
            extensions.set("traceId", trace_id);
        }
        if !problem.errors.is_empty() {
            let errors = serde_json::to_value(&problem.errors).unwrap_or_default();
            if let Ok(errors) = Value::from_json(errors) {
                extensions.set("errors", errors);
            }
        }
    })
}

/// A whole document refused before it ran (too costly, unparsable): a GraphQL answer with no
/// data and the one error, its problem in `extensions` like any other.
pub(crate) fn refusal(error: ApiError) -> async_graphql::Response {
    let error = field_error(error).into_server_error(async_graphql::Pos::default());
    async_graphql::Response::from_errors(vec![error])
}

/// The status classes (`4xx`, `5xx`) of an answer's errors, each once. An error without a
/// status (the schema's own validation) is the client's: `4xx`.
pub(crate) fn status_classes(response: &async_graphql::Response) -> Vec<&'static str> {
    let mut classes: Vec<&'static str> = response
        .errors
        .iter()
        .map(|error| {
            let status = error
                .extensions
                .as_ref()
                .and_then(|extensions| extensions.get("status"))
                .and_then(|status| match status {
                    Value::Number(number) => number.as_u64(),
                    _ => None,
                });
            if status.is_some_and(|status| status >= 500) {
                "5xx"
            } else {
                "4xx"
            }
        })
        .collect();
    classes.sort_unstable();
    classes.dedup();
    classes
}
