#!/usr/bin/env python3
"""Checks a generated project's TODO_backend-architect.md.

- every checkbox is an item `- [ ] **ID** ...` or `- [x] **ID** ...`, and IDs are unique;
- a checked item cites evidence: backticked paths that exist in the project, and backticked
  test names that exist in its test suite (from `cargo test -- --list`);
- an unchecked item says how to start ("First step:").

Usage: todo_check.py <project dir> <ids output file>. Writes "ID<TAB>title" lines to the
output file so the harness can compare IDs across variants. Prints counts; exits non-zero on
any problem.
"""

import os
import re
import subprocess
import sys

project, ids_out = sys.argv[1], sys.argv[2]
text = open(os.path.join(project, "TODO_backend-architect.md"), encoding="utf-8").read()

# Items run from their checkbox line to the next item or heading.
items = re.findall(r"^- \[( |x)\] \*\*([A-Z0-9.-]+)\*\* (.*?)(?=^- \[|^#|\Z)", text, re.S | re.M)
listed = subprocess.run(["cargo", "test", "--locked", "--quiet", "--", "--list"], cwd=project,
                        capture_output=True, text=True, check=True).stdout
tests = {line.rsplit("::", 1)[-1].removesuffix(": test") for line in listed.splitlines()
         if line.endswith(": test")}

problems, seen, checked = [], {}, 0
# A checkbox the item pattern does not match (no bold ID) would otherwise escape every check.
for line in re.findall(r"^- \[[ xX]\].*$", text, re.M):
    if not re.match(r"^- \[( |x)\] \*\*[A-Z0-9.-]+\*\* ", line):
        problems.append(f"a checkbox without a bold ID: {line[:80]}")
for mark, ident, body in items:
    body = " ".join(body.split())
    title = re.match(r"(\[[^\]]+\] )?[^.]*", body).group(0).strip()
    if not title.startswith("["):
        problems.append(f"{ident}: no [tag] naming what the item is about")
    if ident in seen:
        problems.append(f"{ident}: duplicate ID")
    seen[ident] = title
    if mark == "x":
        checked += 1
        evidence = re.search(r"Evidence: (.*?)(?:; tests: (.*))?$", body)
        if not evidence or not evidence.group(2):
            problems.append(f"{ident}: checked, but cites no evidence and tests")
            continue
        for path in re.findall(r"`([^`]+)`", evidence.group(1)):
            if not os.path.exists(os.path.join(project, path)):
                problems.append(f"{ident}: cites {path}, which does not exist")
        for test in re.findall(r"`([^`]+)`", evidence.group(2)):
            if test not in tests:
                problems.append(f"{ident}: cites test {test}, which is not in the test suite")
    elif "First step:" not in body:
        problems.append(f"{ident}: open, but says no first step")

with open(ids_out, "w", encoding="utf-8") as out:
    for ident, title in seen.items():
        out.write(f"{ident}\t{title}\n")
print(f"{len(items)} items: {checked} checked, {len(items) - checked} open; {len(tests)} tests known")
for problem in problems:
    print("  " + problem)
print(f"todo: {len(items) - len(problems)} passed, {len(problems)} failed")
sys.exit(1 if problems or not items else 0)
