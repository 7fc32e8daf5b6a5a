#!/usr/bin/env python3
"""Sends hostile GraphQL documents to a running service and fails unless each one is answered
quickly with a refusal (a GraphQL error or a 4xx problem, never a 5xx), while `/health/live`
keeps answering. Each is small: what matters is what the document would cost once expanded.

Usage: graphql_hostile.py <base URL> <bearer token> <tenant id>. Prints one line per document
with its status and time.
"""

import json
import sys
import threading
import time
import urllib.error
import urllib.request

# Generous: a refusal takes milliseconds; an expanded fragment bomb takes minutes.
ANSWER_WITHIN_S = 2.0


def doubling_fragments(levels):
    """Fragments each spreading the next twice: 2^levels fields once expanded, ~35 B a level."""
    parts = ["{ me { ...F0 } }"]
    for level in range(levels):
        parts.append(f"fragment F{level} on Caller {{ subject ...F{level + 1} ...F{level + 1} }}")
    parts.append(f"fragment F{levels} on Caller {{ subject }}")
    return " ".join(parts)


def aliased(count, selection):
    return " ".join(f"a{n}: {selection}" for n in range(count))


def documents(tenant):
    item = "00000000-0000-7000-8000-000000000000"
    lists = aliased(50, 'items(tenantId: "%s") { __typename }' % tenant)
    reads = aliased(100, 'item(tenantId: "%s", id: "%s") { __typename }' % (tenant, item))
    creates = aliased(50, 'createItem(tenantId: "%s", input: { name: "x" }) { id }' % tenant)
    page = '{ items(tenantId: "%s", first: 2147483647) { edges { node { id } } } }' % tenant
    return {
        "fragments spreading the next twice, 30 deep": {"query": doubling_fragments(30)},
        "a fragment cycle": {"query": "{ me { ...A } } fragment A on Caller { ...B } "
                                      "fragment B on Caller { ...A }"},
        "brackets nested 3000 deep": {"query": "{ me " * 3000 + "}" * 3000},
        "50 aliased lists of typenames": {"query": "{ %s }" % lists},
        # Within the complexity limit, so it runs: each read spends the rate limit (off here)
        # and answers 404 for an item that does not exist.
        "100 aliased single reads": {"query": "{ %s }" % reads},
        "50 aliased creates": {"query": "mutation { %s }" % creates},
        "a page of two billion": {"query": page},
        # No type of this schema nests that deep; the depth is refused before validation.
        "selections nested past the depth limit": {
            "query": "{ me { a { b { c { d { e { f { g { h { i } } } } } } } } } }"},
        "a thousand directives": {"query": "{ me " + "@include(if: true) " * 1000 + "{ subject } }"},
        "a batch (an array, not a request)": [{"query": "{ me { subject } }"}] * 50,
        "an unknown operation name": {"query": "query A { me { subject } }", "operationName": "B"},
    }


# Documents that are legitimate, only large: answered (fast, no 5xx), not necessarily refused.
SERVED = {
    # Introspection is on outside production: bounded by its size, not by the depth limit.
    "introspection nested deep": {
        "query": "{ __schema { types { fields { type { ofType { ofType { ofType "
                 "{ ofType { ofType { name } } } } } } } } } }"},
    "a variable bomb": {"query": "query($v: String) { me { subject } }",
                        "variables": {"v": "x" * 60_000}},
}


def post(url, token, body):
    data = json.dumps(body).encode()
    call = urllib.request.Request(url, data=data, method="POST")
    call.add_header("content-type", "application/json")
    if token:
        call.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(call, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class Liveness(threading.Thread):
    """Asks `/health/live` every 100 ms; remembers the slowest answer."""

    def __init__(self, base):
        super().__init__(daemon=True)
        self.base, self.slowest, self.failures, self.running = base, 0.0, 0, True

    def run(self):
        while self.running:
            started = time.monotonic()
            try:
                with urllib.request.urlopen(f"{self.base}/health/live", timeout=5) as response:
                    if response.status != 200:
                        self.failures += 1
            except OSError:
                self.failures += 1
            self.slowest = max(self.slowest, time.monotonic() - started)
            time.sleep(0.1)


def main():
    base, token, tenant = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    liveness = Liveness(base)
    liveness.start()
    problems = []
    for name, body in list(documents(tenant).items()) + list(SERVED.items()):
        started = time.monotonic()
        status, answer = post(f"{base}/api/v1/graphql", token, body)
        took = time.monotonic() - started
        refused = status >= 400 or b'"errors"' in answer
        print(f"graphql hostile: {name}: {status} in {took * 1000:.0f} ms")
        if status >= 500:
            problems.append(f"{name}: {status}")
        elif not refused and name not in SERVED:
            problems.append(f"{name}: answered without an error: {answer[:200]!r}")
        if took > ANSWER_WITHIN_S:
            problems.append(f"{name}: took {took:.1f} s")
    liveness.running = False
    liveness.join()
    print(f"graphql hostile: /health/live slowest answer {liveness.slowest * 1000:.0f} ms, "
          f"{liveness.failures} failures")
    if liveness.failures or liveness.slowest > ANSWER_WITHIN_S:
        problems.append("liveness suffered")
    for problem in problems:
        print(f"FAIL: {problem}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
