#!/usr/bin/env python3
"""Tries a generated service from outside, as a stranger's fuzzer and browser would.

Starts the service's debug binary from its project folder (the test configuration, a database
of its own, rate limits off so the fuzzer is served), then:

- runs schemathesis over `/api/v1/openapi.json` with every check it has, stateful links where
  the document has them, a fixed seed and a bounded number of examples, authenticated with a
  token from the service's own `token` subcommand, and fails on any finding; the only
  exclusions are in tests/schemathesis.toml, each with its reason;
- with GraphQL, runs schemathesis over `/api/v1/graphql` too, then the hostile documents of
  tests/graphql_hostile.py;
- opens `/docs` in headless Chromium with every host but the service's refused, and fails
  unless each operation of the document is rendered and no request left the service's origin.

Prints the number of cases schemathesis ran. Usage: api_fuzz.py <project dir> <binary>
<python tools bin> <variant>. Exits non-zero on any finding.
"""

import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
SEED = "20261201"
MAX_EXAMPLES = os.environ.get("FUZZ_MAX_EXAMPLES", "50")
PLATFORM_TENANT = "0190f5d2-7e1c-7000-8000-0000000000ff"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def request(url, method="GET", body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    call = urllib.request.Request(url, data=data, method=method)
    if body is not None:
        call.add_header("content-type", "application/json")
    if token:
        call.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(call, timeout=10) as response:
        return response.status, json.loads(response.read() or b"null")


class Service:
    """The service under test, on a port and a database of its own."""

    def __init__(self, project, binary, variant):
        self.project, self.binary = project, binary
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.scratch = tempfile.mkdtemp(prefix="fuzz-")
        self.jwt = (project / "crates/adapter-http/src/auth").is_dir()
        env = dict(os.environ, APP_ENV="test", APP__HTTP__HOST="127.0.0.1",
                   APP__HTTP__PORT=str(self.port), APP__RATE_LIMIT__ENABLED="false",
                   APP__TELEMETRY__LOG_FILTER="error")
        self.database = None
        if (project / "crates/adapter-sqlite").is_dir():
            env["APP__DATABASE__URL"] = ""
            env["APP__SQLITE__PATH"] = f"{self.scratch}/fuzz.db"
        else:
            server = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
            self.database = f"{server}/harness_fuzz_{variant.replace('-', '_')}"
            env["APP__DATABASE__URL"] = self.database
            env["APP__DATABASE__CREATE_DATABASE"] = "true"
        self.env = env
        self.log = open(f"{self.scratch}/service.log", "w")
        self.process = subprocess.Popen([binary, "serve"], cwd=project, env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_ready()

    def wait_ready(self):
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if request(f"{self.base}/health/ready")[0] == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        print(open(f"{self.scratch}/service.log").read()[-4000:])
        raise SystemExit("the service did not get ready")

    def token(self, tenant, *roles):
        if not self.jwt:
            return None
        arguments = [self.binary, "token", "--tenant", tenant]
        for role in roles:
            arguments += ["--role", role]
        return subprocess.run(arguments, cwd=self.project, env=self.env, check=True,
                              capture_output=True, text=True).stdout.strip()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()
        if self.database:
            subprocess.run(["cargo", "sqlx", "database", "drop", "-y", "-D", self.database],
                           capture_output=True, check=False)
        shutil.rmtree(self.scratch, ignore_errors=True)


def schemathesis(tools, target, token, tenant, report, config="schemathesis.toml"):
    """Runs schemathesis on `target`; returns (passed, cases)."""
    # No --checks on the command line: every check is on by default, and the config file is
    # where an exception is written down with its reason (a --checks option would override it).
    command = [f"{tools}/st", "--config-file", str(HERE / config), "run", target,
               "--seed", SEED, "--max-examples", MAX_EXAMPLES,
               "--workers", "2", "--report", "json", "--report-json-path", report,
               "--no-color", "--wait-for-schema", "30"]
    if token:
        command += ["--header", f"Authorization: Bearer {token}"]
    env = dict(os.environ, FUZZ_TENANT=tenant, PYTHONPATH=str(HERE))
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    output = result.stdout + result.stderr
    print(output[-12000:] if result.returncode else output[-3000:])
    cases = None
    for pattern in (r"(\d+) test cases? generated", r"(\d+) generated"):
        found = re.search(pattern, output)
        if found:
            cases = int(found.group(1))
            break
    return result.returncode == 0, cases


def main():
    project, binary, tools, variant = (pathlib.Path(sys.argv[1]).resolve(), sys.argv[2],
                                       sys.argv[3], sys.argv[4])
    service = Service(project, binary, variant)
    failures = []
    try:
        platform = service.token(PLATFORM_TENANT, "platform-admin")
        status, tenant = request(f"{service.base}/api/v1/tenants", "POST",
                                 {"name": f"fuzz {variant}"}, platform)
        tenant = tenant["id"]
        # One token for the whole API surface: the tenant's admin, who may also create tenants
        # and read the operational endpoints.
        token = service.token(tenant, "admin", "platform-admin", "operator")
        passed, cases = schemathesis(tools, f"{service.base}/api/v1/openapi.json", token,
                                     tenant, f"{service.scratch}/rest.json")
        print(f"schemathesis REST: {cases} cases, {'no findings' if passed else 'FINDINGS'}")
        if not passed:
            failures.append("schemathesis found problems in the REST API")
        if (project / "crates/adapter-http/src/graphql").is_dir():
            passed, cases = schemathesis(tools, f"{service.base}/api/v1/graphql", token, tenant,
                                         f"{service.scratch}/graphql.json",
                                         "schemathesis-graphql.toml")
            print(f"schemathesis GraphQL: {cases} cases, "
                  f"{'no findings' if passed else 'FINDINGS'}")
            if not passed:
                failures.append("schemathesis found problems in the GraphQL API")
            hostile = subprocess.run([sys.executable, str(HERE / "graphql_hostile.py"),
                                      service.base, token or "", tenant])
            if hostile.returncode:
                failures.append("a hostile GraphQL document was not refused cheaply")
        browser = subprocess.run([sys.executable, str(HERE / "docs_browser.py"), service.base])
        if browser.returncode:
            failures.append("/docs in Chromium")
        if service.process.poll() is not None:
            failures.append("the service died during the run")
    finally:
        service.stop()
    for failure in failures:
        print(f"FAIL: {failure}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
