#!/usr/bin/env python3
"""Validates the custom resources in Kubernetes manifests against vendored schemas, offline.

kubernetes-validate knows the core kinds only: it warns about a custom resource and passes it.
This reads every YAML document in the given files (a multi-document stream, as `kubectl
kustomize` prints, or one manifest per file), and for each document whose API group is not a
core one:
- refuses it when no schema for its apiVersion and kind is vendored in tests/schemas (say
  which: a new kind needs its published schema, never a pass);
- checks the root the converted schemas leave open: only apiVersion, kind, metadata and spec,
  and a metadata.name;
- validates it against the schema, which refuses unknown fields below the root.

Usage: crd_validate.py <schema dir> <manifest file or - for stdin>... Prints one line per
custom resource; exits non-zero on any problem.
"""

import json
import pathlib
import sys

import jsonschema
import yaml

# apiVersion, kind -> vendored schema file (tests/schemas/README.md says where each came from).
SCHEMAS = {
    ("kyverno.io/v1", "ClusterPolicy"): "kyverno.io_clusterpolicy_v1.json",
    ("argoproj.io/v1alpha1", "Rollout"): "argoproj.io_rollout_v1alpha1.json",
    ("argoproj.io/v1alpha1", "AnalysisTemplate"): "argoproj.io_analysistemplate_v1alpha1.json",
}
# Groups kubernetes-validate checks itself: core ("v1") and the built-in API groups.
BUILT_IN_SUFFIXES = (".k8s.io",)
BUILT_IN_GROUPS = {"apps", "batch", "autoscaling", "policy"}


def built_in(api_version: str) -> bool:
    if "/" not in api_version:
        return True
    group = api_version.split("/", 1)[0]
    return group in BUILT_IN_GROUPS or group.endswith(BUILT_IN_SUFFIXES)


def main() -> int:
    schema_dir = pathlib.Path(sys.argv[1])
    problems, checked = [], 0
    for name in sys.argv[2:]:
        text = sys.stdin.read() if name == "-" else pathlib.Path(name).read_text(encoding="utf-8")
        for index, document in enumerate(yaml.safe_load_all(text)):
            if not document:
                continue
            where = f"{name}[{index}]"
            api_version, kind = document.get("apiVersion", ""), document.get("kind", "")
            if built_in(api_version):
                continue
            schema_file = SCHEMAS.get((api_version, kind))
            if schema_file is None:
                problems.append(f"{where}: no schema vendored for {api_version} {kind}")
                continue
            label = f"{where} {kind}/{document.get('metadata', {}).get('name', '?')}"
            before = len(problems)
            extra = set(document) - {"apiVersion", "kind", "metadata", "spec"}
            if extra:
                problems.append(f"{label}: unknown top-level fields {sorted(extra)}")
            if not isinstance(document.get("metadata"), dict) or not document["metadata"].get("name"):
                problems.append(f"{label}: metadata.name is missing")
            schema = json.loads((schema_dir / schema_file).read_text(encoding="utf-8"))
            validator = jsonschema.Draft202012Validator(schema)
            errors = sorted(validator.iter_errors(document), key=lambda error: list(error.path))
            for error in errors:
                path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
                problems.append(f"{label}: {path}: {error.message}")
            checked += 1
            if len(problems) == before:
                print(f"ok {label} ({schema_file})")
    for problem in problems:
        print(problem)
    print(f"{checked} custom resources checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
