#!/usr/bin/env bash
# Tests ci/upgrade.sh from the outside, as a team would meet it:
#   - a scratch copy of the template, tagged at its version, and a service generated from it and
#     committed;
#   - every refusal (not a repository, uncommitted change, untracked file, no record, unknown
#     recorded version, unknown target, an existing update branch) exits 1 and leaves the
#     service exactly as it was (HEAD, branches, status, diff, .env);
#   - the service changes things (a new field in the example's domain, a README section, a
#     runbook deleted, another deleted, a config default), the template moves on (a commit that
#     changes a Rust source, a config default and a workflow; one that only changes docs; a
#     release), and the upgrade to the new tag applies the template's changes, keeps the
#     service's, reports the overlapping config edit and the changed-but-deleted runbook as
#     conflicts, and leaves the service's own branch and .env alone;
#   - with the conflicts resolved, the upgraded service builds with no warning and passes its
#     tests.
#
# Usage: bash tests/upgrade.sh TEMPLATE_REPO SCRATCH_DIR
set -euo pipefail

repo=$1
scratch=$2
rm -rf "$scratch"
mkdir -p "$scratch"
checks=0
fail() {
    echo "FAIL: $*"
    exit 1
}
ok() {
    checks=$((checks + 1))
    echo "ok: $*"
}
commit_all() {
    git -C "$1" add -A
    git -C "$1" -c user.name=test -c user.email=test@example.invalid commit -q -m "$2"
}
# edit FILE PYTHON_EXPRESSION_OVER_text: rewrites FILE; fails when the edit changes nothing.
edit() {
    python3 - "$1" "$2" <<'PY'
import sys
path, expression = sys.argv[1], sys.argv[2]
text = open(path).read()
new = eval(expression, {"text": text})
if new == text:
    sys.exit(f"the edit of {path} changed nothing")
open(path, "w").write(new)
PY
}

# --- the template at its version, as a tagged repository -----------------------------------------
template="$scratch/template"
mkdir -p "$template"
tar -C "$repo" --exclude=.git --exclude=target --exclude=__pycache__ -cf - . | tar -C "$template" -xf -
git -C "$template" init -q
commit_all "$template" "Template as tested"
# The template's copy holds Liquid, so it is not TOML yet: read the version line itself.
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$template/template/.template.toml")
newest=$(sed -n 's/^## \([0-9][^ ]*\) .*/\1/p' "$repo/CHANGELOG.md" | head -n 1)
[[ $version == "$newest" ]] ||
    fail "template/.template.toml says version $version, the newest CHANGELOG.md heading $newest"
ok "template/.template.toml and CHANGELOG.md agree on version $version"
git -C "$template" tag "v$version"

# --- a service generated from it -------------------------------------------------------------
options=(--define auth=none --define kubernetes=false)
(cd "$scratch" && cargo generate --path "$template" --name upgrade-svc --silent --vcs none "${options[@]}")
service="$scratch/upgrade-svc"
grep -q "^version = \"$version\"" "$service/.template.toml" || fail ".template.toml does not record version $version"
grep -q '^auth = "none"' "$service/.template.toml" || fail ".template.toml does not record auth = \"none\""
grep -q '^kubernetes = false' "$service/.template.toml" || fail ".template.toml does not record kubernetes = false"
ok ".template.toml records the version and the answers"
git -C "$service" init -q -b main
commit_all "$service" "Generated service"
# A line of this checkout's own in .env (valid dotenv: the sqlx macros read the file): the
# upgrade must leave it as it is.
echo "THIS_CHECKOUT_ONLY=kept-by-the-upgrade" >>"$service/.env"

snapshot() {
    {
        git -C "$service" rev-parse HEAD
        git -C "$service" for-each-ref --format='%(refname) %(objectname)'
        git -C "$service" status --porcelain=v1 --untracked-files=all
        git -C "$service" diff HEAD
        cat "$service/.env"
    } | sha256sum
}

# refused <what> <expected message part> <upgrade arguments...>: exits 1, says why, changes nothing.
refused() {
    local what=$1 expected=$2 before after output status=0
    shift 2
    before=$(snapshot)
    output=$(bash "$template/ci/upgrade.sh" "$@" 2>&1) || status=$?
    after=$(snapshot)
    [[ $status -eq 1 ]] || fail "$what: exit status $status, expected 1: $output"
    grep -qF -- "$expected" <<<"$output" || fail "$what: the message does not say \"$expected\": $output"
    grep -qF "nothing was changed" <<<"$output" || fail "$what: the message does not say nothing was changed"
    [[ $before == "$after" ]] || fail "$what: the service changed"
    ok "refused, service unchanged: $what"
}

mkdir "$scratch/not-a-repository"
cp "$service/.template.toml" "$scratch/not-a-repository/"
refused "not a git repository" "is not a git repository" "$scratch/not-a-repository"
echo "work in progress" >>"$service/README.md"
refused "an uncommitted change" "uncommitted changes" "$service"
git -C "$service" checkout -q README.md
touch "$service/notes.txt"
refused "an untracked file" "notes.txt" "$service"
rm "$service/notes.txt"
refused "an unknown target" "unknown target v0.0.0-missing" "$service" --to v0.0.0-missing

git -C "$service" switch -q -c no-record
git -C "$service" rm -q .template.toml
commit_all "$service" "Lose the record"
refused "no .template.toml" "no committed .template.toml" "$service"
git -C "$service" switch -q main
git -C "$service" branch -q -D no-record

git -C "$service" switch -q -c unknown-version
edit "$service/.template.toml" "text.replace('version = \"$version\"', 'version = \"0.0.1\"')"
commit_all "$service" "Claim a version that was never released"
refused "an unknown recorded version" "unknown recorded version 0.0.1" "$service"
git -C "$service" switch -q main
git -C "$service" branch -q -D unknown-version

output=$(bash "$template/ci/upgrade.sh" "$service" --to "v$version")
grep -q "already at" <<<"$output" || fail "an upgrade to its own version did not say it is already there: $output"
ok "an upgrade to the recorded version does nothing"

# --- the service's own work ------------------------------------------------------------------------
model=crates/domain/src/items/model.rs
edit "$service/$model" "text.replace('''    /// Where the next page starts; \`None\` on the last page.
    pub next: Option<ItemCursor>,
}''', '''    /// Where the next page starts; \`None\` on the last page.
    pub next: Option<ItemCursor>,
    /// How many items this page holds (a field the service added).
    pub count: usize,
}''')"
for adapter in crates/domain/src/items/in_memory.rs crates/adapter-sqlite/src/items.rs crates/adapter-postgres/src/items.rs; do
    edit "$service/$adapter" "text.replace('Ok(ItemPage { items, next })', 'Ok(ItemPage {\\n            count: items.len(),\\n            items,\\n            next,\\n        })')"
done
edit "$service/README.md" "text.replace('\n', '\n\nThe service team wrote this paragraph.\n', 1)"
edit "$service/config/default.toml" "text.replace('max_in_flight = 512', 'max_in_flight = 1024')"
git -C "$service" rm -q docs/runbooks/rollback.md docs/runbooks/deploy.md
commit_all "$service" "The service's own changes"
service_head=$(git -C "$service" rev-parse HEAD)
env_before=$(sha256sum <"$service/.env")

# --- the template moves on ---------------------------------------------------------------------------
edit "$template/template/$model" "text.replace('\n', '\n//! (A line the template added in its next version.)\n', 1)"
edit "$template/template/config/default.toml" "text.replace('max_in_flight = 512', 'max_in_flight = 384')"
edit "$template/template/.github/workflows/ci.yml" "text.replace('- name: Format\n', '- name: Format (rustfmt)\n')"
printf '# Restore drill\n\nA runbook the template added.\n' >"$template/template/docs/runbooks/restore-drill.md"
commit_all "$template" "A Rust source, a config default, a workflow and a new runbook"
echo "A line the template added to the architecture notes." >>"$template/template/docs/architecture.md"
echo "A line the template added to the rollback runbook." >>"$template/template/docs/runbooks/rollback.md"
commit_all "$template" "Docs only"
edit "$template/template/.template.toml" "text.replace('version = \"$version\"', 'version = \"99.0.0\"')"
edit "$template/CHANGELOG.md" "text.replace('\n## ', '\n## 99.0.0 — upgrade test\n\n**Upgrade note:** nothing to do by hand.\n\n## ', 1)"
commit_all "$template" "Release 99.0.0"
git -C "$template" tag v99.0.0

# --- refusals that need the new version ----------------------------------------------------------
# An ignored file of the service's own where the update writes one would be overwritten.
echo "/docs/runbooks/restore-drill.md" >>"$service/.gitignore"
commit_all "$service" "Keep a local drill out of git"
echo "our own local drill notes" >"$service/docs/runbooks/restore-drill.md"
refused "an ignored local file where the update writes one" "docs/runbooks/restore-drill.md" "$service"
grep -q "our own local drill notes" "$service/docs/runbooks/restore-drill.md" || fail "the ignored local file changed"
rm "$service/docs/runbooks/restore-drill.md"
git -C "$service" -c user.name=test -c user.email=test@example.invalid revert --no-edit HEAD >/dev/null
service_head=$(git -C "$service" rev-parse HEAD)

# --- the upgrade ---------------------------------------------------------------------------------------
# With a global git configuration that ignores every Markdown file and signs every commit with
# a key that does not exist: the scratch repository must not see either.
printf '*.md\n' >"$scratch/global-excludes"
printf '[core]\n\texcludesFile = %s\n[commit]\n\tgpgSign = true\n[user]\n\tsigningKey = no-such-key\n' \
    "$scratch/global-excludes" >"$scratch/global-gitconfig"
began=$(date +%s.%N)
status=0
GIT_CONFIG_GLOBAL="$scratch/global-gitconfig" bash "$template/ci/upgrade.sh" "$service" >"$scratch/upgrade.out" 2>&1 || status=$?
took=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$began" "$(date +%s.%N)")
cat "$scratch/upgrade.out"
echo "upgrade took ${took} s"
[[ $status -eq 3 ]] || fail "the upgrade exited $status, expected 3 (conflicts to resolve)"
[[ $(git -C "$service" symbolic-ref --short HEAD) == template-update/v99.0.0 ]] || fail "not on the update branch"
[[ $(git -C "$service" rev-parse main) == "$service_head" ]] || fail "the service's own branch moved"
[[ $(sha256sum <"$service/.env") == "$env_before" ]] || fail ".env was written over"
ok "the update is on template-update/v99.0.0; main and .env untouched"
grep -q "both changed (conflict markers in the file): config/default.toml" "$scratch/upgrade.out" || fail "the overlapping config edit is not listed"
grep -q "you deleted, template changed: docs/runbooks/rollback.md" "$scratch/upgrade.out" || fail "the changed runbook the service deleted is not listed"
grep -q '^<<<<<<<' "$service/config/default.toml" || fail "config/default.toml has no conflict markers"
ok "the overlapping edit and the deleted-but-changed runbook are listed as conflicts"
grep -qF "(A line the template added in its next version.)" "$service/$model" || fail "the template's Rust change is missing"
grep -qF "pub count: usize," "$service/$model" || fail "the service's new field is gone"
grep -qF -- "- name: Format (rustfmt)" "$service/.github/workflows/ci.yml" || fail "the template's workflow change is missing"
grep -qF "A line the template added to the architecture notes." "$service/docs/architecture.md" || fail "the template's docs change is missing (a global excludes file hid it?)"
grep -qF "A runbook the template added." "$service/docs/runbooks/restore-drill.md" || fail "the template's new runbook is missing"
grep -qF "The service team wrote this paragraph." "$service/README.md" || fail "the service's README edit is gone"
[[ ! -e $service/docs/runbooks/deploy.md ]] || fail "the runbook the service deleted came back"
grep -q '^version = "99.0.0"' "$service/.template.toml" || fail ".template.toml does not record 99.0.0"
grep -q 'Upgrade note:\*\* nothing to do by hand' "$scratch/upgrade.out" || fail "the CHANGELOG's upgrade note is not shown"
ok "template changes taken (Rust, workflow, docs, record), service changes kept (field, README, deletion)"

# --- resolved, it builds and passes its tests ------------------------------------------------------
git -C "$service" checkout -q --ours config/default.toml
git -C "$service" add config/default.toml
git -C "$service" rm -q docs/runbooks/rollback.md
git -C "$service" -c user.name=test -c user.email=test@example.invalid commit -q --no-edit
grep -q "max_in_flight = 1024" "$service/config/default.toml" || fail "the resolution lost the service's value"
[[ -z $(git -C "$service" status --porcelain) ]] || fail "the work tree is not clean after the resolution"
ok "conflicts resolved and committed"

# --- the next version merges cleanly: one commit on its branch, exit 0 -----------------------------
git -C "$service" switch -q main
git -C "$service" merge -q --ff-only template-update/v99.0.0
echo "A line the template added to the observability notes." >>"$template/template/docs/observability.md"
edit "$template/template/.template.toml" "text.replace('version = \"99.0.0\"', 'version = \"99.1.0\"')"
edit "$template/CHANGELOG.md" "text.replace('\n## ', '\n## 99.1.0 — upgrade test\n\n## ', 1)"
commit_all "$template" "Release 99.1.0"
git -C "$template" tag v99.1.0
# The service's commit fails (no identity, or signing with a key that does not exist) after the update branch
# exists: the branch goes, the service is back as it was.
before=$(snapshot)
status=0
GIT_CONFIG_GLOBAL="$scratch/global-gitconfig" bash "$template/ci/upgrade.sh" "$service" >"$scratch/upgrade-unsigned.out" 2>&1 || status=$?
[[ $status -eq 1 ]] || { cat "$scratch/upgrade-unsigned.out"; fail "a failing commit: exit $status, expected 1"; }
grep -q "nothing was changed" "$scratch/upgrade-unsigned.out" || fail "a failing commit: the message does not say nothing was changed"
[[ $(snapshot) == "$before" ]] || fail "a failing commit left the service changed"
ok "a failure after the update branch exists restores the service (branch removed, tree as before)"
bash "$template/ci/upgrade.sh" "$service" >"$scratch/upgrade-clean.out" 2>&1 ||
    { cat "$scratch/upgrade-clean.out"; fail "the clean upgrade to v99.1.0 did not exit 0"; }
[[ $(git -C "$service" rev-list --count main..template-update/v99.1.0) -eq 1 ]] || fail "the clean upgrade is not one commit"
grep -qF "observability notes" "$service/docs/observability.md" || fail "the clean upgrade lost the template's change"
grep -q '^version = "99.1.0"' "$service/.template.toml" || fail ".template.toml does not record 99.1.0"
git -C "$service" switch -q main
git -C "$service" merge -q --ff-only template-update/v99.1.0
ok "the next version (the newest tag by default) merges cleanly: one commit, exit 0"
refused "an older target" "is not a later version" "$service" --to "v$version"
cd "$service"
cargo fmt --all -- --check
cargo build --all-targets --locked >"$scratch/build.log" 2>&1 || { tail -n 40 "$scratch/build.log"; fail "the upgraded service does not build"; }
if grep -E '^warning' "$scratch/build.log"; then fail "the upgraded service builds with warnings"; fi
ok "the upgraded service builds with no warning"
cargo test --locked 2>&1 | tee "$scratch/test.log" | grep -E '^test result:' || true
grep -q '^test result: FAILED' "$scratch/test.log" && fail "the upgraded service's tests fail (see $scratch/test.log)"
grep -q '^error' "$scratch/test.log" && fail "the upgraded service's tests did not build (see $scratch/test.log)"
tests=$(awk '/^test result:/ {p += $4} END {print p}' "$scratch/test.log")
ok "the upgraded service passes its $tests tests"
echo "upgrade: $checks checks passed, upgrade in ${took} s, $tests tests after it"
