#!/usr/bin/env bash
# Installs the non-Python tools the harness needs, pinned where the registry allows:
# shellcheck (Debian; actionlint runs it on workflow scripts), promtool (Debian's prometheus
# package; checks and unit-tests the alert rules), chromium (Debian; opens /docs headless) and
# cargo-deny (crates.io).
set -euo pipefail

if ! command -v shellcheck >/dev/null; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "installing shellcheck (Debian)"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null
    else
        echo "shellcheck is missing: install it (apt-get install shellcheck) so actionlint checks run: blocks" >&2
        exit 1
    fi
fi
shellcheck --version | sed -n 2p

if ! command -v promtool >/dev/null; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "installing promtool (Debian package prometheus; its server is not started)"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
    else
        echo "promtool is missing: install it (apt-get install prometheus) to check the alert rules" >&2
        exit 1
    fi
fi
promtool --version | head -1

if ! command -v chromium >/dev/null; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "installing chromium (Debian; the fuzzing step opens /docs in it, headless)"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
    else
        echo "chromium is missing: install it (apt-get install chromium) for the /docs browser check" >&2
        exit 1
    fi
fi
chromium --version 2>/dev/null | head -1

version=0.20.2
root=${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}
if ! installed=$(cargo deny --version 2>/dev/null) || [[ "$installed" != *" $version"* ]]; then
    echo "installing cargo-deny $version into $root (a few minutes, once)"
    cargo install --quiet --locked cargo-deny --version "$version" --root "$root"
fi
cargo deny --version
