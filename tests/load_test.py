#!/usr/bin/env python3
"""The generated load test, run for a short fixed time against the release service.

Starts the service binary on a free port with a database of its own (PostgreSQL at
DATABASE_URL's server) and Redis at REDIS_URL, as `cargo run -- serve` would with the project's
`config/` (APP_ENV=local), then runs the load-test binary against it with the same environment,
so the tokens it mints are the ones the service accepts. Passes when the load test exits 0 and
its JSON report shows every threshold passed, no failed request, and every kind of request
made. Prints a summary line "load test: ..." for the harness table.

Usage: load_test.py <service binary> <load-test binary> <config dir> <report dir> [seconds]
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

service, load_test, config, reports = sys.argv[1:5]
seconds = sys.argv[5] if len(sys.argv) > 5 else "10"
port = 19_000 + os.getpid() % 1000
base = f"http://127.0.0.1:{port}"
database = os.environ.get("DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/postgres")
env = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "APP_ENV": "local",
    "APP_CONFIG_DIR": os.path.abspath(config),
    "APP__HTTP__HOST": "127.0.0.1",
    "APP__HTTP__PORT": str(port),
    "APP__DATABASE__URL": database.rsplit("/", 1)[0] + "/harness_load_test",
    "APP__DATABASE__CREATE_DATABASE": "true",
    "APP__DATABASE__MIGRATE_ON_START": "true",
    "APP__TELEMETRY__LOG_FORMAT": "json",
    "APP__TELEMETRY__LOG_FILTER": "warn",
}
if os.environ.get("REDIS_URL"):
    env["APP__REDIS__URL"] = os.environ["REDIS_URL"]

# A database of this run's own: the last run's tenants and items would skew the list pages.
subprocess.run(["psql", database, "-q", "-c", "DROP DATABASE IF EXISTS harness_load_test"],
               check=True, capture_output=True)
os.makedirs(reports, exist_ok=True)
log = open(os.path.join(reports, "load-test-service.log"), "w")
server = subprocess.Popen([service, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
try:
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/health/ready", timeout=2) as response:
                if response.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if server.poll() is not None or time.time() > deadline:
            sys.exit(f"load test: the service did not become ready (see {log.name})")
        time.sleep(0.2)

    report = os.path.join(reports, "load-test.json")
    command = [load_test, "--host", base, "--run-time", f"{seconds}s", "--users", "20",
               "--increase-rate", "20", "--report-file", report,
               "--report-file", os.path.join(reports, "load-test.html")]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    print(run.stdout[-6000:])
    print(run.stderr[-3000:], file=sys.stderr)
    if run.returncode != 0:
        sys.exit(f"load test: exited {run.returncode}")

    metrics = json.load(open(report))["raw_metrics"]
    problems = []
    thresholds = metrics["thresholds"]
    if not thresholds:
        problems.append("no thresholds were judged")
    for rule in thresholds:
        print(f"threshold {rule['rule']}: {rule['observed']} {'PASS' if rule['passed'] else 'FAIL'}")
        if not rule["passed"]:
            problems.append(f"{rule['rule']} failed ({rule['observed']})")
    requests = metrics["requests"]
    total = sum(r["success_count"] + r["fail_count"] for r in requests.values())
    failed = sum(r["fail_count"] for r in requests.values())
    for name, request in sorted(requests.items()):
        print(f"request {name}: {request['success_count']} ok, {request['fail_count']} failed")
    wanted = {rule["rule"].split(" for ", 1)[1] for rule in thresholds if " for " in rule["rule"]}
    for name in sorted(wanted - {n for n, r in requests.items() if r["success_count"] > 0}):
        problems.append(f"no successful {name!r} request was made")
    if failed:
        problems.append(f"{failed} requests failed")
    duration = metrics["duration"] or 1
    for problem in problems:
        print(f"load test: {problem}", file=sys.stderr)
    print(f"load test: {total} requests in {duration} s ({total / duration:.0f}/s), {failed} failed, "
          f"{sum(r['passed'] for r in thresholds)}/{len(thresholds)} thresholds met")
    sys.exit(1 if problems else 0)
finally:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
