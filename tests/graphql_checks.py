"""Schemathesis checks for the GraphQL endpoint, loaded by schemathesis-graphql.toml."""

import schemathesis


@schemathesis.check
def no_server_failure_in_a_graphql_answer(ctx, response, case):
    """A GraphQL answer is 200 whatever failed inside: fail on a transport 5xx, on an error whose
    problem (`extensions.status`) is a 5xx, and on an error raised by a resolver (it has a
    `path`) that carries no problem, which would mean a failure escaped the service's one way
    of reporting errors."""
    if response.status_code >= 500:
        raise AssertionError(f"transport status {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        return None
    if not isinstance(answer, dict):
        return None
    for error in answer.get("errors") or []:
        extensions = error.get("extensions") or {}
        status = extensions.get("status")
        if isinstance(status, int) and status >= 500:
            raise AssertionError(f"a {status} problem inside the answer: {error.get('message')}")
        if error.get("path") and "type" not in extensions:
            raise AssertionError(f"a resolver error without a problem: {error.get('message')}")
    return None
