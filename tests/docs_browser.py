#!/usr/bin/env python3
"""Opens a running service's `/docs` in headless Chromium, as a stranger's browser would, with
every host name but the service's refused, and fails unless

- every operation of `/api/v1/openapi.json` is rendered by Swagger UI, and
- no request left the service's origin (Chromium's own network log is the witness), and
- the page logged no Content-Security-Policy violation (a blocked call to another host).

Usage: docs_browser.py <base URL>, e.g. http://127.0.0.1:8080. Needs Debian's `chromium`.
"""

import json
import pathlib
import shutil
import subprocess
import sys
import tempfile
import urllib.request

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def page_requests(net_log, base):
    """The URLs the page asked for, from Chromium's network log: the navigation, and every
    request whose initiator is a document (the browser's own background calls, such as its
    time service, have none and are not the page's doing)."""
    if not net_log.exists():
        return set()
    log = json.loads(net_log.read_text(errors="replace"))
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    requested = set()
    for event in log.get("events", []):
        params = event.get("params") or {}
        if event.get("type") != start_job or "url" not in params:
            continue
        initiator = params.get("initiator", "not an origin")
        if initiator != "not an origin" or params["url"].startswith(f"{base}/docs"):
            requested.add(params["url"])
    return requested


def main():
    service = sys.argv[1].rstrip("/")
    # Swagger UI treats localhost specially (its validator badge, for one, stays quiet there):
    # browse under another host name, mapped to the service, as a user of a deployment would.
    port = service.rsplit(":", 1)[1]
    base = f"http://docs.service.test:{port}"
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    with urllib.request.urlopen(f"{service}/api/v1/openapi.json", timeout=10) as response:
        document = json.load(response)
    operations = sum(1 for item in document["paths"].values() for method in item
                     if method in METHODS)
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="docs-browser-"))
    net_log = scratch / "net-log.json"
    try:
        result = subprocess.run(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--disable-default-apps", "--disable-extensions",
             f"--user-data-dir={scratch / 'profile'}",
             # The network is the service and nothing else: any other host fails to resolve.
             "--host-resolver-rules=MAP docs.service.test 127.0.0.1, MAP * ~NOTFOUND",
             f"--log-net-log={net_log}", "--enable-logging=stderr", "--v=0",
             "--virtual-time-budget=20000", "--dump-dom", f"{base}/docs/"],
            capture_output=True, text=True, timeout=120)
        dom, console = result.stdout, result.stderr
        # Swagger UI gives each operation block an id `operations-<tag>-<operationId>`, and each
        # tag section `operations-tag-<tag>`.
        rendered = dom.count('id="operations-') - dom.count('id="operations-tag-')
        requested = page_requests(net_log, base)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    problems = []
    if rendered != operations:
        problems.append(f"Swagger UI rendered {rendered} of the document's {operations} operations")
    outside = sorted(url for url in requested if not url.startswith(base))
    if outside:
        problems.append(f"requests left the service's origin: {outside}")
    if not any(url.startswith(f"{base}/api/v1/openapi.json") for url in requested):
        problems.append("the network log shows no request for the document: nothing was watched")
    violations = [line for line in console.splitlines() if "Content Security Policy" in line]
    if violations:
        problems.append(f"CSP violations: {violations[:3]}")
    print(f"docs: {rendered}/{operations} operations rendered, {len(requested)} requests, "
          f"{len(outside)} outside the origin")
    for problem in problems:
        print(f"FAIL: {problem}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
