#!/usr/bin/env bash
# Installs the pinned Python linters into a virtual environment kept between runs, and prints
# its bin folder. Reinstalls only when ci/python-tools.txt changed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv=${HARNESS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/rust-service-template/venv}
requirements="$here/python-tools.txt"
stamp="$venv/.requirements"
if [[ ! -x "$venv/bin/python" ]] || ! cmp -s "$requirements" "$stamp"; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
    cp "$requirements" "$stamp"
fi
echo "$venv/bin"
