#!/usr/bin/env python3
"""The harness's variants cover every value of every option and every pair of values.

Usage: pairwise.py <template/cargo-generate.toml> <name>=<cargo-generate defines>...
e.g. `default=` or `bare=-d example=false -d ci=none`. Options are the placeholders with a
fixed set of values (bool, or `choices`); a variant takes the default of every option it does
not set. Pairs that the pre hook refuses (REFUSED below) are not required. Prints the matrix
and exits non-zero, naming what is missing, when a value or a pair is not covered."""

import itertools
import shlex
import sys
import tomllib

# (option, value, option, value) combinations the pre hook refuses (tests/hooks.sh checks
# each refusal): no variant can have them, so no variant must.
REFUSED: set[tuple[str, str, str, str]] = {
    ("cache", "memory", "kubernetes", "true"),
    ("graphql", "true", "auth", "none"),
    ("messaging", "rabbitmq", "database", "postgres+sqlite"),
    ("messaging", "rabbitmq", "example", "false"),
    ("messaging", "nats", "database", "postgres+sqlite"),
    ("messaging", "nats", "example", "false"),
}

config = tomllib.load(open(sys.argv[1], "rb"))
domains, defaults = {}, {}
for name, spec in config.get("placeholders", {}).items():
    if spec.get("type") == "bool":
        domains[name] = ["true", "false"]
    elif "choices" in spec:
        domains[name] = [str(choice) for choice in spec["choices"]]
    else:
        continue
    defaults[name] = str(spec["default"]).lower() if spec.get("type") == "bool" else str(spec["default"])

variants, problems = {}, []
for argument in sys.argv[2:]:
    label, _, defines = argument.partition("=")
    values = dict(defaults)
    words = shlex.split(defines)
    for flag, assignment in zip(words[::2], words[1::2]):
        key, _, value = assignment.partition("=")
        if flag != "-d" or key not in domains:
            problems.append(f"{label}: '{flag} {assignment}' is not an option with fixed values")
        elif value not in domains[key]:
            problems.append(f"{label}: {key}={value} is not one of {domains[key]}")
        else:
            values[key] = value
    variants[label] = values
    for a, va, b, vb in REFUSED:
        if values[a] == va and values[b] == vb:
            problems.append(f"{label}: {a}={va} with {b}={vb} is refused by the pre hook")

options = sorted(domains)
print("variant        " + "  ".join(f"{o:<11}" for o in options))
for label, values in variants.items():
    print(f"{label:<14} " + "  ".join(f"{values[o]:<11}" for o in options))

covered = 0
for a, b in itertools.combinations(options, 2):
    for va, vb in itertools.product(domains[a], domains[b]):
        if (a, va, b, vb) in REFUSED or (b, vb, a, va) in REFUSED:
            continue
        if any(v[a] == va and v[b] == vb for v in variants.values()):
            covered += 1
        else:
            problems.append(f"no variant has {a}={va} with {b}={vb}")
for option in options:
    for value in domains[option]:
        if not any(v[option] == value for v in variants.values()):
            problems.append(f"no variant has {option}={value}")

print(f"{len(options)} options, {len(variants)} variants, {covered} pairs covered")
for problem in problems:
    print("  missing: " + problem)
sys.exit(1 if problems else 0)
