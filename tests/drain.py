#!/usr/bin/env python3
"""Zero-downtime check for the release binary, run the way the Dockerfile runs it.

The service starts as uid 65532 (when we are root) in a read-only working directory, with the
project's `config/` copied beside the binary as the image ships it (`APP_ENV=production`, so
`config/production.toml` applies) and secrets from environment variables, as a Kubernetes
Secret would provide them. Client threads keep requests coming; then, as Kubernetes does,
traffic stops arriving (endpoint removal during preStop) and SIGTERM follows while slow
requests are still in flight. Every request must succeed and the process must exit 0 within
its drain timeout.

Usage: drain.py <binary> <the project's config dir>. Needs PostgreSQL at DATABASE_URL's server. Prints the counts and
"drain: N passed, N failed".
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import shutil

# As in the image: the binary in a directory anyone may read, outside the build tree.
image = tempfile.mkdtemp()
os.chmod(image, 0o755)
BINARY = shutil.copy(sys.argv[1], os.path.join(image, "service"))
os.chmod(BINARY, 0o755)
CONFIG = shutil.copytree(sys.argv[2], os.path.join(image, "config"))
for folder, _, files in os.walk(image):
    os.chmod(folder, 0o755)
    for name in files:
        os.chmod(os.path.join(folder, name), 0o755 if name == "service" else 0o644)
PORT = 18_000 + os.getpid() % 1000
BASE = f"http://127.0.0.1:{PORT}"
DATABASE = os.environ.get("DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/postgres")
DATABASE = DATABASE.rsplit("/", 1)[0] + "/harness_drain"

# A "Redis" that accepts connections and never answers: every readiness check then waits for
# its full probe timeout, so requests are really in flight when SIGTERM arrives.
silent = socket.socket()
silent.bind(("127.0.0.1", 0))
silent.listen(64)
held = []
threading.Thread(target=lambda: [held.append(silent.accept()) for _ in iter(int, 1)], daemon=True).start()

workdir = tempfile.mkdtemp()
os.chmod(workdir, 0o555)
env = {
    "PATH": "/usr/bin:/bin",
    "APP_ENV": "production",
    "APP_CONFIG_DIR": CONFIG,
    "APP__HTTP__HOST": "127.0.0.1",
    "APP__HTTP__PORT": str(PORT),
    "APP__HTTP__PROBE_TIMEOUT_MS": "800",
    "APP__HTTP__SHUTDOWN_TIMEOUT_MS": "5000",
    "APP__HTTP__CURSOR_SECRET": "drain-test-cursor-secret-0123456789abcdef",
    # production.toml verifies tokens against an identity provider's keys; this test only
    # calls the health endpoints, so the key set is never fetched.
    "APP__AUTH__JWKS_URL": "http://127.0.0.1:9/jwks.json",
    "APP__DATABASE__ENCRYPTION_KEYS": "drain:ZHJhaW4tdGVzdC1rZXktMzItYnl0ZXMtbG9uZyEhISE=",
    "APP__DATABASE__URL": DATABASE,
    "APP__DATABASE__CREATE_DATABASE": "true",
    "APP__DATABASE__MIGRATE_ON_START": "true",
    "APP__REDIS__URL": f"redis://127.0.0.1:{silent.getsockname()[1]}",
    "APP__TELEMETRY__LOG_FILTER": "error",
}


def drop_privileges():
    if os.getuid() == 0:
        os.setgid(65532)
        os.setuid(65532)


service = subprocess.Popen([BINARY, "serve"], cwd=workdir, env=env, preexec_fn=drop_privileges)


def get(path, timeout=10):
    with urllib.request.urlopen(BASE + path, timeout=timeout) as response:
        return response.status


for _ in range(100):
    try:
        if get("/health/live", timeout=1) == 200:
            break
    except (urllib.error.URLError, ConnectionError, OSError):
        time.sleep(0.1)
else:
    service.kill()
    sys.exit("the service did not start")

sending = threading.Event()
sending.set()
lock = threading.Lock()
results = {"ok": 0, "failed": 0, "errors": [], "finished_at": []}


def client(path):
    while sending.is_set():
        try:
            status = get(path)
            outcome = "ok" if status == 200 else "failed"
        except Exception as error:  # any failure of a request that was sent counts
            outcome = "failed"
            results["errors"].append(f"{path}: {error!r}")
        with lock:
            results[outcome] += 1
            results["finished_at"].append(time.monotonic())


threads = [threading.Thread(target=client, args=("/health/ready",)) for _ in range(6)]
threads += [threading.Thread(target=client, args=("/health/live",)) for _ in range(4)]
for thread in threads:
    thread.start()
time.sleep(2.0)
sending.clear()            # endpoint removed: no new requests (Kubernetes preStop)
time.sleep(0.05)
service.send_signal(signal.SIGTERM)   # slow readiness requests are still in flight
sent_at = time.monotonic()
for thread in threads:
    thread.join()
code = service.wait(timeout=15)
drained = time.monotonic() - sent_at
subprocess.run(["psql", DATABASE.rsplit("/", 1)[0] + "/postgres", "-qc", "DROP DATABASE IF EXISTS harness_drain"],
               capture_output=True)

in_flight = sum(1 for finished in results["finished_at"] if finished > sent_at)
print(f"requests ok: {results['ok']}, failed: {results['failed']}, in flight at SIGTERM: {in_flight}; "
      f"exit code {code}; "
      f"drained in {drained:.2f} s; uid 65532: {os.getuid() == 0}; read-only cwd: True")
for error in results["errors"][:5]:
    print("  " + error)
# A run where nothing was in flight at SIGTERM proves nothing: count it as a failure.
failed = results["failed"] + (0 if code == 0 else 1) + (0 if in_flight > 0 else 1)
print(f"drain: {results['ok']} passed, {failed} failed")
sys.exit(0 if failed == 0 and results["ok"] > 0 else 1)
