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
# The API groups Kubernetes itself serves, which kubernetes-validate checks: core ("v1") and
# these, listed one by one because custom groups can end in `.k8s.io` too (Gateway API's
# `gateway.networking.k8s.io`, `snapshot.storage.k8s.io`).
BUILT_IN_GROUPS = {
    "admissionregistration.k8s.io", "apiextensions.k8s.io", "apps", "autoscaling", "batch",
    "certificates.k8s.io", "coordination.k8s.io", "discovery.k8s.io", "events.k8s.io",
    "flowcontrol.apiserver.k8s.io", "networking.k8s.io", "node.k8s.io", "policy",
    "rbac.authorization.k8s.io", "resource.k8s.io", "scheduling.k8s.io", "storage.k8s.io",
}


def built_in(api_version: str) -> bool:
    return "/" not in api_version or api_version.split("/", 1)[0] in BUILT_IN_GROUPS


def main() -> int:
    schema_dir = pathlib.Path(sys.argv[1])
    problems, checked = [], 0
    for name in sys.argv[2:]:
        text = sys.stdin.read() if name == "-" else pathlib.Path(name).read_text(encoding="utf-8")
        for index, document in enumerate(yaml.safe_load_all(text)):
            if document is None:
                continue
            where = f"{name}[{index}]"
            if not isinstance(document, dict) or not isinstance(document.get("apiVersion"), str):
                problems.append(f"{where}: not a Kubernetes object (a mapping with an apiVersion)")
                continue
            api_version, kind = document["apiVersion"], document.get("kind", "")
            if built_in(api_version):
                continue
            schema_file = SCHEMAS.get((api_version, kind))
            if schema_file is None:
                problems.append(f"{where}: no schema vendored for {api_version} {kind}")
                continue
            metadata = document.get("metadata")
            name_of = metadata.get("name", "?") if isinstance(metadata, dict) else "?"
            label = f"{where} {kind}/{name_of}"
            before = len(problems)
            extra = set(document) - {"apiVersion", "kind", "metadata", "spec"}
            if extra:
                problems.append(f"{label}: unknown top-level fields {sorted(extra)}")
            if not isinstance(metadata, dict) or not metadata.get("name"):
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
