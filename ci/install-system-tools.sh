#!/usr/bin/env bash
# Installs the non-Python tools the harness needs, pinned where the registry allows:
# the linter shellcheck (Debian; actionlint runs it on workflow scripts), promtool (Debian's
# prometheus package; checks and unit-tests the alert rules), chromium (Debian; opens /docs
# headless), cargo-deny (crates.io) and the compiler generated services pin.
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

# The compiler generated services pin (template/rust-toolchain.toml): every cargo command the
# harness runs inside one resolves that name through rustup, and rustup must not have to
# download it mid-run. When the installed stable is that very release, the name points at it
# (the same files, nothing fetched); otherwise rustup installs it from static.rust-lang.org.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
channel=$(sed -n 's/^channel = "\(.*\)"$/\1/p' "$here/../template/rust-toolchain.toml")
[[ -n $channel ]] || { echo "template/rust-toolchain.toml names no channel" >&2; exit 1; }
host=$(rustc -vV | sed -n 's/^host: //p')
if ! rustup toolchain list | grep -q "^$channel-$host"; then
    toolchains=${RUSTUP_HOME:-$HOME/.rustup}/toolchains
    if [[ $(rustc +stable --version 2>/dev/null) == "rustc $channel "* && -d "$toolchains/stable-$host" ]]; then
        echo "toolchain $channel: the installed stable is that release, naming it"
        ln -s "stable-$host" "$toolchains/$channel-$host"
    else
        echo "installing toolchain $channel with rustfmt and clippy (static.rust-lang.org)"
        rustup toolchain install "$channel" --profile minimal --component rustfmt,clippy
    fi
fi
rustup run "$channel" cargo clippy --version
rustup run "$channel" rustfmt --version
