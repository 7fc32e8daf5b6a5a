#!/usr/bin/env python3
"""Writes docs/benchmarks.md from one run of ci/bench.sh.

Usage: report.py <results.jsonl> <output.md>, with the run's facts as JSON on stdin. The text
under "## Analysis" in an existing output file is kept: it is written by people, from profiles,
and explains the figures of the run above it."""

import json
import sys

results = {}
for line in open(sys.argv[1], encoding="utf-8"):
    row = json.loads(line)
    results[row["scenario"]] = row
facts = json.load(sys.stdin)
output = sys.argv[2]
try:
    previous = open(output, encoding="utf-8").read()
    analysis = previous.split("\n## Analysis\n", 1)[1] if "\n## Analysis\n" in previous else ""
except FileNotFoundError:
    analysis = ""

base = results["baseline"]["rps"]


def secs(value):
    """A duration in seconds, or the reason it was not measured."""
    try:
        return f"{float(value):.1f} s"
    except ValueError:
        return value

names = {
    "baseline": "1. bare axum, same JSON, no middleware",
    "cached": "2. GET one item, from the Redis cache",
    "uncached": "3. GET one item, cache cold (PostgreSQL)",
    "list": "4. GET a page of 20 items (of 1000)",
    "create": "5. POST create an item",
}
lines = [
    "# Benchmarks",
    "",
    "Produced by `bash ci/bench.sh` (do not edit the figures by hand; rerun it). The default",
    "generated service, release build, against the local PostgreSQL and Redis, with",
    "authentication (HS256 bearer token), tracing (spans and JSON logs at `info`) and metrics",
    "on; rate limiting off. Scenario 1 is the ceiling on this machine: axum alone returning the",
    "same bytes.",
    "",
    f"- Run: {facts['date']}",
    f"- Machine: {facts['machine']}",
    f"- Toolchain: {facts['rustc']}",
    f"- Load: {facts['load']}",
    "",
    "## Throughput and latency",
    "",
    "| scenario | requests/s | vs 1 | p50 ms | p99 ms | p99.9 ms | errors | peak RSS MB |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
]
for key in ["baseline", "cached", "uncached", "list", "create"]:
    r = results[key]
    errors = r["non_2xx"] + r["socket_errors"]
    lines.append(
        f"| {names[key]} | {r['rps']:,.0f} | {r['rps'] / base:.2f} | {r['p50_ms']:.2f} | "
        f"{r['p99_ms']:.2f} | {r['p999_ms']:.2f} | {errors} | {r['peak_rss_mb']:.1f} |"
    )
cached, uncached = results["cached"], results["uncached"]
lines += [
    "",
    f"Cache during scenario 2: {facts['cached_hits']:,} hits, {facts['cached_misses']:,} misses. "
    f"During scenario 3: {facts['uncached_hits']:,} hits, {facts['uncached_misses']:,} misses "
    "(an in-process cache of capacity 0, so every read goes to PostgreSQL).",
    "",
    "## Build, start-up and footprint",
    "",
    "| what | value |",
    "| --- | ---: |",
    f"| `cargo generate` (defaults) | {secs(facts['generation_s'])} |",
    f"| cold debug build (`cargo build`, empty target dir) | {secs(facts['cold_build_s'])} |",
    f"| warm build (nothing changed) | {secs(facts['warm_build_s'])} |",
    f"| rebuild after touching one handler (`items/get.rs`) | {secs(facts['incremental_build_s'])} |",
    f"| release binary | {facts['binary_mb']} MB |",
    f"| start-up to ready, migrations already applied | {facts['ready_ms']} ms |",
    f"| start-up to ready, first start (creates the database, migrates) | {facts['first_ready_ms']} ms |",
    f"| idle RSS after start-up | {facts['idle_rss_mb']} MB |",
    "",
    "## Targets",
    "",
    "| target | this run | met |",
    "| --- | --- | --- |",
]
loss = 1 - cached["rps"] / base
ratio = cached["rps"] / uncached["rps"]
targets = [
    ("middleware stack overhead (2 vs 1) under 20% throughput loss", f"{loss:.0%} loss", loss < 0.20),
    ("cached read (2) at least 3x the uncached read (3)", f"{ratio:.1f}x", ratio >= 3),
    (
        "p99 of (2) under 5 ms at 50% of its max throughput",
        f"{facts['half_rate_p99_ms']:.2f} ms at {facts['half_rate_achieved']:,} req/s "
        f"(asked {facts['half_rate_target']:,})",
        facts["half_rate_p99_ms"] < 5,
    ),
    ("idle RSS under 30 MB", f"{facts['idle_rss_mb']} MB", facts["idle_rss_mb"] < 30),
    ("start-up to ready under 1 s (migrations applied)", f"{facts['ready_ms']} ms", facts["ready_ms"] < 1000),
]
for name, value, met in targets:
    lines.append(f"| {name} | {value} | {'yes' if met else '**no**'} |")
text = "\n".join(lines) + "\n\n## Analysis\n" + (analysis or "\n(Not yet written for this run.)\n")
open(output, "w", encoding="utf-8").write(text)
missed = [name for name, _, met in targets if not met]
print(f"targets met: {len(targets) - len(missed)} of {len(targets)}" + (f"; missed: {missed}" if missed else ""))
